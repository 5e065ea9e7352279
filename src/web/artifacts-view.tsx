import { useEffect, useState } from 'preact/hooks';
import {
  getArtifact,
  getArtifacts,
  getMeasurement,
  type ArtifactEvidence,
  type ArtifactListed,
} from './api.js';
import { shortDigest } from './format.js';
import { Failure, useLoad } from './load.js';

/**
 * The artifacts: the images fleets run (then the rest of the store), and for the one picked
 * who built it from which commit and base (its signed SLSA provenance), its signatures and
 * admission's decision (the deploy's own check and codes), its SBOM's packages and its
 * measurement. SBOM fields, remotes, tags and paths are whatever the image's builder wrote:
 * text children only, never HTML.
 */
export function ArtifactsView() {
  const list = useLoad(() => getArtifacts(), []);
  const [picked, setPicked] = useState<string | null>(null);
  const artifacts = list.value?.artifacts ?? [];
  const current = picked ?? artifacts[0]?.digest ?? null;
  return (
    <div class="evidence artifacts">
      <h2>Artifacts</h2>
      {list.error && <Failure error={list.error} />}
      {list.value && artifacts.length === 0 && <p class="empty">No images in the store.</p>}
      {artifacts.length > 0 && (
        <ArtifactList list={artifacts} current={current} onPick={setPicked} />
      )}
      {current !== null && <ArtifactPanel key={current} digest={current} />}
    </div>
  );
}

function ArtifactList(props: {
  list: readonly ArtifactListed[];
  current: string | null;
  onPick: (d: string) => void;
}) {
  return (
    <table class="grid">
      <caption class="visually-hidden">Images in the store, those fleets run first</caption>
      <thead>
        <tr>
          <th scope="col">Image</th>
          <th scope="col">Digest</th>
          <th scope="col">Tags</th>
          <th scope="col">Run by</th>
          <th scope="col">Evidence</th>
        </tr>
      </thead>
      <tbody>
        {props.list.map((a) => (
          <tr key={a.digest} aria-current={a.digest === props.current ? 'true' : undefined}>
            <td>{[a.name, a.version].filter((x) => x !== null).join(' ') || '—'}</td>
            <td class="mono" title={a.digest}>
              {shortDigest(a.digest)}
            </td>
            <td class="mono">{a.tags.join(', ') || '—'}</td>
            <td>{a.fleets.join(', ') || '—'}</td>
            <td>
              <button
                type="button"
                onClick={() => props.onPick(a.digest)}
                aria-label={`Show the evidence of ${shortDigest(a.digest)}`}
              >
                Show
              </button>
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function ArtifactPanel({ digest }: { digest: string }) {
  const evidence = useLoad(() => getArtifact(digest), [digest]);
  if (evidence.error) return <Failure error={evidence.error} />;
  if (evidence.value === null) return <p aria-busy="true">Reading the evidence…</p>;
  const a = evidence.value;
  return (
    <section class="artifact" aria-labelledby="artifact-h" data-digest={a.digest}>
      <h3 id="artifact-h">
        {a.name ?? 'image'} {a.version ?? ''} <span class="mono">{shortDigest(a.digest)}</span>
      </h3>
      <Provenance a={a} />
      <Admission a={a} />
      <Sbom a={a} />
      <Measurement digest={a.digest} a={a} />
    </section>
  );
}

function Provenance({ a }: { a: ArtifactEvidence }) {
  const p = a.provenance;
  return (
    <div class="provenance">
      <h4>Built</h4>
      {p === null ? (
        <p class="error">No provenance signed by a trusted key.</p>
      ) : (
        <dl class="facts">
          <dt>Builder</dt>
          <dd class="mono builder">{p.builderId}</dd>
          <dt>Commit</dt>
          <dd class="mono commit">
            {p.git === null
              ? 'not built from git'
              : `${p.git.commit}${p.git.dirty ? ' (with uncommitted changes)' : ''}`}
          </dd>
          {p.git !== null && p.git.remote !== null && (
            <>
              <dt>Remote</dt>
              <dd class="mono remote">{p.git.remote}</dd>
            </>
          )}
          <dt>Baseline</dt>
          <dd class="mono">{p.baseline?.path ?? '—'}</dd>
          <dt>Base</dt>
          <dd class="mono base">
            {p.base === null ? 'scratch (no base image)' : `${p.baseName ?? ''} ${p.base}`.trim()}
          </dd>
          <dt>Finished</dt>
          <dd>{p.finishedOn ?? '—'}</dd>
        </dl>
      )}
    </div>
  );
}

function Admission({ a }: { a: ArtifactEvidence }) {
  return (
    <div class="admission">
      <h4>Signatures and policy</h4>
      <ul class="signatures">
        {a.attestations.length === 0 && <li class="error">No signed attestation attached.</li>}
        {a.attestations.map((s) => (
          <li
            key={s.digest}
            data-status={s.status}
            class={s.status === 'verified' ? 'ok' : 'error'}
          >
            {s.status === 'verified' ? 'Signature verified' : `Signature ${s.status}`}
            {s.keyId !== undefined && (
              <>
                {' '}
                by key <span class="mono">{s.keyId}</span>
              </>
            )}{' '}
            (<span class="mono">{shortDigest(s.digest)}</span>)
          </li>
        ))}
      </ul>
      <p class={a.ok ? 'ok decision' : 'error decision'} data-admitted={String(a.ok)}>
        {a.ok ? 'Admitted' : 'Refused'} by the policy ({a.decision.mode} mode)
        {a.decision.signers.length > 0 &&
          `; signed by ${a.decision.signers.map((s) => s.name).join(', ')}`}
        . Measurement {a.measurement.signed ? 'signed' : 'not signed'}.
      </p>
      {(a.decision.reasons.length > 0 || a.problems.length > 0) && (
        <ul class="reasons">
          {[...a.problems, ...a.decision.reasons].map((r, i) => (
            <li key={i}>
              <span class="mono">{r.code}</span>: {r.message}
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}

function Sbom({ a }: { a: ArtifactEvidence }) {
  if (a.sbom === null) return <p class="error">No SBOM attached.</p>;
  return (
    <div class="sbom">
      <h4>
        SBOM: {a.sbom.total} package{a.sbom.total === 1 ? '' : 's'}, {a.sbom.files} files
      </h4>
      {a.sbom.packages.length > 0 && (
        <table class="grid packages">
          <caption class="visually-hidden">Packages the SBOM names</caption>
          <thead>
            <tr>
              <th scope="col">Package</th>
              <th scope="col">Version</th>
              <th scope="col">purl</th>
            </tr>
          </thead>
          <tbody>
            {a.sbom.packages.map((p, i) => (
              <tr key={i}>
                <td>{p.name}</td>
                <td class="mono">{p.version}</td>
                <td class="mono">{p.purl ?? ''}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {a.sbom.total > a.sbom.packages.length && (
        <p class="help">The first {a.sbom.packages.length} shown.</p>
      )}
    </div>
  );
}

const octal = (mode: number) => mode.toString(8).padStart(4, '0');

/** The measurement, 100 paths a page, filtered by a part of the path (on the server). */
function Measurement({ digest, a }: { digest: string; a: ArtifactEvidence }) {
  const [filter, setFilter] = useState('');
  const [typed, setTyped] = useState('');
  const [offset, setOffset] = useState(0);
  useEffect(() => {
    const t = setTimeout(() => {
      setFilter(typed);
      setOffset(0);
    }, 250);
    return () => clearTimeout(t);
  }, [typed]);
  const page = useLoad(() => getMeasurement(digest, offset, filter), [digest, offset, filter]);
  return (
    <div class="measurement">
      <h4>
        Measurement: {a.measurement.files} files, {a.measurement.bytes} bytes
      </h4>
      <label>
        Paths containing{' '}
        <input value={typed} onInput={(e) => setTyped((e.target as HTMLInputElement).value)} />
      </label>
      {page.error && <Failure error={page.error} />}
      {page.value && (
        <>
          <p class="help">
            {page.value.matched === 0
              ? 'No path matches.'
              : `${page.value.offset + 1}–${page.value.offset + page.value.entries.length} of ${page.value.matched}`}
            {page.value.matched !== page.value.total && ` (of ${page.value.total} paths)`}
          </p>
          <table class="grid paths">
            <caption class="visually-hidden">Measured paths</caption>
            <thead>
              <tr>
                <th scope="col">Path</th>
                <th scope="col">Type</th>
                <th scope="col">Mode</th>
                <th scope="col">Owner</th>
                <th scope="col">Size</th>
                <th scope="col">SHA-256 or target</th>
              </tr>
            </thead>
            <tbody>
              {page.value.entries.map((e) => (
                <tr key={e.path}>
                  <td class="mono">{e.path}</td>
                  <td>{e.type}</td>
                  <td class="mono">{octal(e.mode)}</td>
                  <td class="mono">
                    {e.uid}:{e.gid}
                  </td>
                  <td class="mono">{e.size}</td>
                  <td class="mono">{e.sha256 ?? e.target ?? e.hardlink ?? ''}</td>
                </tr>
              ))}
            </tbody>
          </table>
          <div class="pager">
            <button
              type="button"
              disabled={offset === 0}
              onClick={() => setOffset(Math.max(0, offset - 100))}
            >
              Previous
            </button>
            <button
              type="button"
              disabled={page.value.offset + page.value.entries.length >= page.value.matched}
              onClick={() => setOffset(offset + 100)}
            >
              Next
            </button>
          </div>
        </>
      )}
    </div>
  );
}
