import { toEvidence, type Finding } from '../../core/integrity/evidence.js';
import type { Evidence } from '../../domain/instance.js';

/** Findings of one detector, stamped with the time they were found. */
export type EvidenceOf = (
  detector: Evidence['detector'],
  findings: readonly Finding[],
) => Evidence[];

/** Evidence stamped by the monitor's clock (`deps.now`), read once per detector's findings. */
export function evidenceAt(now: () => Date): EvidenceOf {
  return (detector, findings) => toEvidence(detector, findings, now().toISOString());
}
