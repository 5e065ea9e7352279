import { ArtifactsView } from './artifacts-view.js';
import { HostsView } from './hosts-view.js';
import { LedgerView } from './ledger-view.js';

/** The evidence views, by the page's hash: #/artifacts, #/ledger, #/hosts. */
export const EVIDENCE_VIEWS = {
  '#/artifacts': { label: 'Artifacts', view: ArtifactsView },
  '#/ledger': { label: 'Ledger', view: LedgerView },
  '#/hosts': { label: 'Hosts', view: HostsView },
} as const;
type EvidenceHash = keyof typeof EVIDENCE_VIEWS;

const isEvidence = (hash: string): hash is EvidenceHash => hash in EVIDENCE_VIEWS;

/** Links to the evidence views (the fleets are at #/fleets: route.ts). */
export function EvidenceLinks({ hash }: { hash: string }) {
  return (
    <>
      {Object.entries(EVIDENCE_VIEWS).map(([href, v]) => (
        <li key={href}>
          <a href={href} aria-current={hash === href ? 'page' : undefined}>
            {v.label}
          </a>
        </li>
      ))}
    </>
  );
}

/** The evidence view the hash names; null for any other hash (the fleets). */
export function EvidenceView({ hash }: { hash: string }) {
  if (!isEvidence(hash)) return null;
  const View = EVIDENCE_VIEWS[hash].view;
  return <View />;
}
