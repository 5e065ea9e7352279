import { useEffect, useState } from 'preact/hooks';
import {
  verifyEntryProof,
  webCrypto,
  type ProofVerdict,
  type SubtleLike,
} from '../core/ui/proof-verify.js';
import {
  getCheckpoints,
  getEntries,
  getLedgerKey,
  getProof,
  type EntryProof,
  type UiCheckpoint,
  type UiEntriesPage,
  type UiEntry,
} from './api.js';
import { shortDigest } from './format.js';
import { Failure, useLoad } from './load.js';

/**
 * The ledger: its entries (newest first, a page at a time) and its latest checkpoints. Pick
 * an entry and THIS PAGE fetches its inclusion proof and the signed checkpoint and checks
 * both with the browser's WebCrypto against the verifier key shown (and editable: paste the
 * key you hold to check against that instead of the server's word). Every field here comes
 * from the log (actors, fleet names, details): text children only, never HTML.
 */
export function LedgerView() {
  const [before, setBefore] = useState<number | undefined>(undefined);
  const page = useLoad<UiEntriesPage>(() => getEntries(before), [before]);
  const checkpoints = useLoad(() => getCheckpoints(), []);
  const [picked, setPicked] = useState<number | null>(null);
  return (
    <div class="evidence ledger">
      <h2>Ledger</h2>
      <section aria-labelledby="entries-h">
        <h3 id="entries-h">Entries</h3>
        {page.error && <Failure error={page.error} />}
        {page.value && (
          <>
            <p class="help">
              {page.value.size} entries in the log. Pick one to check its inclusion proof here, in
              this browser.
            </p>
            <Entries list={page.value.entries} picked={picked} onPick={setPicked} />
            <div class="pager">
              <button
                type="button"
                disabled={before === undefined}
                onClick={() => setBefore(undefined)}
              >
                Newest
              </button>
              <button
                type="button"
                disabled={page.value.next === null}
                onClick={() => setBefore(page.value?.next ?? undefined)}
              >
                Older
              </button>
            </div>
          </>
        )}
      </section>
      {picked !== null && <ProofPanel key={picked} seq={picked} />}
      <section aria-labelledby="checkpoints-h">
        <h3 id="checkpoints-h">Checkpoints</h3>
        {checkpoints.error && <Failure error={checkpoints.error} />}
        {checkpoints.value && <Checkpoints list={checkpoints.value.checkpoints} />}
      </section>
    </div>
  );
}

function subjectOf(e: UiEntry): string {
  if (e.instance !== null) return `instance ${e.instance}`;
  if (e.fleet !== null) return `fleet ${e.fleet}`;
  return e.subjects.length > 0 ? shortDigest(e.subjects[0]!) : '—';
}

function Entries(props: {
  list: readonly UiEntry[];
  picked: number | null;
  onPick: (seq: number) => void;
}) {
  if (props.list.length === 0) return <p class="empty">No entries.</p>;
  return (
    <table class="grid entries">
      <caption class="visually-hidden">Ledger entries, newest first</caption>
      <thead>
        <tr>
          <th scope="col">#</th>
          <th scope="col">Time</th>
          <th scope="col">Kind</th>
          <th scope="col">Subject</th>
          <th scope="col">Actor</th>
          <th scope="col">Proof</th>
        </tr>
      </thead>
      <tbody>
        {props.list.map((e) => (
          <tr
            key={e.seq}
            data-seq={e.seq}
            aria-current={props.picked === e.seq ? 'true' : undefined}
          >
            <td class="mono">{e.seq}</td>
            <td>
              <time dateTime={e.time}>{e.time.replace('T', ' ').replace(/\.\d+Z$/, 'Z')}</time>
            </td>
            <td>{e.kind}</td>
            <td class="mono">{subjectOf(e)}</td>
            <td>{e.actor}</td>
            <td>
              <button
                type="button"
                onClick={() => props.onPick(e.seq)}
                aria-label={`Verify entry ${e.seq}`}
              >
                Verify
              </button>
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

type Check =
  | { state: 'checking' }
  | { state: 'done'; proof: EntryProof; verdict: ProofVerdict }
  | { state: 'error'; error: unknown };

/** One entry's proof, fetched and checked in this page; re-checked when the key is edited. */
function ProofPanel({ seq }: { seq: number }) {
  const [vkey, setVkey] = useState<string | null>(null);
  const [draft, setDraft] = useState<string | null>(null);
  // Whose key the verdict rests on: the server's own says only that its answers agree with
  // each other; a key the person pasted says the log they trust signed it.
  const [fromServer, setFromServer] = useState(true);
  const [check, setCheck] = useState<Check>({ state: 'checking' });
  useEffect(() => {
    getLedgerKey().then(
      (k) => setVkey(k.vkey),
      (error: unknown) => setCheck({ state: 'error', error }),
    );
  }, []);
  useEffect(() => {
    if (vkey === null) return;
    let live = true;
    setCheck({ state: 'checking' });
    getProof(seq)
      .then(async (proof) => {
        const verdict = await verifyEntryProof(
          proof,
          vkey,
          webCrypto(crypto.subtle as unknown as SubtleLike),
          seq,
        );
        if (live) setCheck({ state: 'done', proof, verdict });
      })
      .catch((error: unknown) => live && setCheck({ state: 'error', error }));
    return () => {
      live = false;
    };
  }, [seq, vkey]);
  return (
    <section class="proof" aria-labelledby="proof-h">
      <h3 id="proof-h">Entry {seq}: inclusion proof, checked in this browser</h3>
      <Verdict check={check} fromServer={fromServer} />
      {draft !== null && draft !== vkey && (
        <p role="status" class="stale">
          The key was edited: press Enter to check against it. The verdict above is for the key
          before.
        </p>
      )}
      <label class="vkey">
        Verifier key (compare it with <span class="mono">keys/ledger.vkey</span> in the server's
        home, or paste the one you hold)
        <input
          class="mono"
          // What is typed lives in state of its own: the page re-renders every second (clocks,
          // the live stream), and a controlled input would be reset to the key in use each time.
          value={draft ?? vkey ?? ''}
          spellcheck={false}
          onInput={(e) => setDraft((e.target as HTMLInputElement).value)}
          onChange={(e) => {
            setFromServer(false);
            setVkey((e.target as HTMLInputElement).value);
          }}
        />
      </label>
      {check.state === 'done' && <ProofFacts proof={check.proof} />}
    </section>
  );
}

function Verdict({ check, fromServer }: { check: Check; fromServer: boolean }) {
  if (check.state === 'checking')
    return (
      <p role="status" class="verdict" data-verdict="checking">
        Checking…
      </p>
    );
  if (check.state === 'error') return <Failure error={check.error} />;
  const v = check.verdict;
  if (!v.ok && v.step === 'browser')
    return (
      <p role="status" class="verdict error" data-verdict="unchecked">
        ? Not checked: {v.reason}
      </p>
    );
  return v.ok ? (
    <p role="status" class="verdict ok" data-verdict="verified">
      ✔ Verified: this entry is leaf {check.proof.seq} of the {v.size} entries whose root the log
      key{' '}
      <span class="mono">
        {v.origin}+{v.keyId}
      </span>{' '}
      signed (SHA-256 and Ed25519 by this browser's WebCrypto).{' '}
      {fromServer
        ? 'That key is the one this server sent: it shows the answers agree with each other. To know the log you trust signed it, paste your own keys/ledger.vkey below.'
        : 'That key is the one you gave.'}
    </p>
  ) : (
    <p role="status" class="verdict error" data-verdict="failed" data-step={v.step}>
      ✘ Failed ({v.step}): {v.reason}
    </p>
  );
}

function ProofFacts({ proof }: { proof: EntryProof }) {
  let pretty = proof.body;
  try {
    pretty = JSON.stringify(JSON.parse(proof.body), null, 2);
  } catch {
    // shown as it came: the verdict above says what is wrong with it
  }
  return (
    <>
      <h4>The entry, as hashed</h4>
      <pre class="mono body">{pretty}</pre>
      <h4>Proof ({proof.proof.length} hashes, leaf to root)</h4>
      <ol class="mono hashes">
        {proof.proof.map((h, i) => (
          <li key={i}>{h}</li>
        ))}
      </ol>
      <h4>Signed checkpoint</h4>
      <pre class="mono note">{proof.checkpoint}</pre>
    </>
  );
}

function Checkpoints({ list }: { list: readonly UiCheckpoint[] }) {
  if (list.length === 0) return <p class="empty">No checkpoint signed yet.</p>;
  return (
    <table class="grid checkpoints">
      <caption class="visually-hidden">Latest signed checkpoints</caption>
      <thead>
        <tr>
          <th scope="col">Entries</th>
          <th scope="col">Signed</th>
          <th scope="col">Root hash</th>
        </tr>
      </thead>
      <tbody>
        {list.map((c) => (
          <tr key={c.size}>
            <td class="mono">{c.size}</td>
            <td>
              <time dateTime={c.time}>{c.time}</time>
            </td>
            <td class="mono">{c.note.split('\n')[2] ?? ''}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
