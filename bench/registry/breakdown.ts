import type { ImageContents, Ran } from './image.js';
import type { SeenRequest } from './proxy.js';

/**
 * Where a push's bytes and time went, from what the counting proxy saw: each request is
 * given a role by the blob or manifest it carries, and the time until the next request began.
 */

export interface Share {
  readonly bytes: number;
  readonly ms: number;
  readonly requests: number;
}

const SHORT: Record<string, string> = {
  'application/vnd.ingot.measurement.v1+json': 'measurement',
  'application/spdx+json': 'SBOM',
  'application/vnd.dev.sigstore.bundle.v0.3+json': 'signature bundle',
};

function roles(image: ImageContents, changed: ReadonlySet<string>): Map<string, string> {
  const role = new Map<string, string>([[image.config.digest, 'image config']]);
  for (const l of image.layers)
    role.set(l.digest, changed.has(l.digest) ? 'changed part(s)' : 'unchanged part(s)');
  for (const a of image.attachments)
    for (const b of a.blobs)
      if (!role.has(b.digest))
        role.set(
          b.digest,
          b.size <= 2 ? 'empty config' : (SHORT[a.artifactType] ?? a.artifactType),
        );
  return role;
}

function roleOf(q: SeenRequest, role: ReadonlyMap<string, string>): string {
  if (q.bodyBytes === 0) return 'requests without a body (HEAD, POST, GET)';
  if (q.path.includes('/manifests/')) return 'manifests and index';
  const digest = /digest=(sha256:[0-9a-f]{64})/.exec(decodeURIComponent(q.path))?.[1];
  return role.get(digest ?? '') ?? 'other';
}

/** Bytes (request heads included) and time by role, in the order roles first appear. */
export function breakdown(
  requests: readonly SeenRequest[],
  image: ImageContents,
  changed: ReadonlySet<string>,
  ran: Ran,
): Map<string, Share> {
  const role = roles(image, changed);
  const end = ran.startedAt + ran.ms;
  const out = new Map<string, Share>();
  const add = (k: string, bytes: number, ms: number) => {
    const s = out.get(k) ?? { bytes: 0, ms: 0, requests: 0 };
    out.set(k, {
      bytes: s.bytes + bytes,
      ms: s.ms + ms,
      requests: s.requests + (bytes > 0 ? 1 : 0),
    });
  };
  add('start-up (spawn → first request)', 0, (requests[0]?.at ?? end) - ran.startedAt);
  requests.forEach((q, i) => {
    const next = requests[i + 1];
    const k = next ? roleOf(q, role) : 'last request, then exit';
    add(k, q.headBytes + q.bodyBytes, (next?.at ?? end) - q.at);
  });
  return out;
}
