/** How the page words what it shows. Pure: tested beside it. */

/** A digest as people compare them: the algorithm and the first 12 hex digits. */
export function shortDigest(digest: string): string {
  const m = /^sha256:([0-9a-f]{12})[0-9a-f]*$/.exec(digest);
  return m ? `sha256:${m[1]}` : digest;
}

/** "42 s", "3 min 5 s", "2 h 1 min": how long from `now` until `at` (0 once past). */
export function timeLeft(at: number, now: number): string {
  const s = Math.max(0, Math.ceil((at - now) / 1000));
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${s % 60} s`;
  return `${Math.floor(m / 60)} h ${m % 60} min`;
}

/** "step 2 of 3", or null for a fleet without steps. */
export function stepText(step: number, count: number): string | null {
  if (count === 0) return null;
  return step >= count
    ? `final (after ${count} step${count === 1 ? '' : 's'})`
    : `step ${step + 1} of ${count}`;
}

/** "1 instance", "3 instances". */
export const instances = (n: number): string => `${n} instance${n === 1 ? '' : 's'}`;

/** "45 s", "3 min", "2 h 5 min", "3 d 4 h": how long ago `since` (ms) was at `now`. */
export function age(since: number, now: number): string {
  const s = Math.max(0, Math.floor((now - since) / 1000));
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min`;
  const h = Math.floor(m / 60);
  if (h < 24) return `${h} h ${m % 60} min`;
  return `${Math.floor(h / 24)} d ${h % 24} h`;
}

/** An RFC 3339 time as people here read it (the page's locale); the text itself if invalid. */
export function when(iso: string): string {
  const t = Date.parse(iso);
  return Number.isNaN(t) ? iso : new Date(t).toLocaleString();
}

/** Where an instance listens: "10.0.0.2:8080, 10.0.0.2:9090", or its bare address. */
export function endpoints(
  address: string | undefined,
  ports: readonly number[] | undefined,
): string {
  if (address === undefined) return '—';
  if (ports === undefined || ports.length === 0) return address;
  return ports.map((p) => `${address}:${p}`).join(', ');
}
