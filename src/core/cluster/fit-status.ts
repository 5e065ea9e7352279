import type { Evidence, ObservedInstance } from '../../domain/instance.js';
import { MAX_BYTES } from './values.js';

/** Free text kept of each field when a status must shrink. */
const SHORT = 256;

const utf8 = new TextEncoder();
const bytes = (value: unknown): number => utf8.encode(JSON.stringify(value)).length;
/** At most SHORT code points (a pair of surrogates is never split). */
const short = (text: string): string => {
  if (text.length <= SHORT) return text;
  const points = Array.from(text);
  return points.length > SHORT ? `${points.slice(0, SHORT - 3).join('')}...` : text;
};
const shortEvidence = (e: Evidence): Evidence => ({
  ...e,
  path: short(e.path),
  expected: short(e.expected),
  actual: short(e.actual),
});

/**
 * A host's status of one instance, made to fit its bound in etcd (MAX_BYTES.status) before it
 * is written. Pure.
 *
 * The evidence of a tainted instance comes from what an attacker controls: 20 findings of
 * 512-character paths in a three-byte script come to about 94 KB, and a status over the bound
 * would be refused before it is sent, and with it every status the host reports alongside
 * (the taint among them: nothing would be replaced). So the last findings go first (the first
 * say the most; all of them stay on the host and in its ledger events), then free text is cut
 * short; identity, state and integrity always stay. One that fits is returned as it is.
 */
export function fitStatus(
  instance: ObservedInstance,
  maxBytes: number = MAX_BYTES.status,
): ObservedInstance {
  if (bytes(instance) <= maxBytes) return instance;
  const evidence = instance.evidence ?? [];
  // Fewer findings, down to the first one.
  for (let n = evidence.length - 1; n >= 1; n--) {
    const fewer = { ...instance, evidence: evidence.slice(0, n) };
    if (bytes(fewer) <= maxBytes) return fewer;
  }
  // Then every text cut short.
  const { reason, exit, evidence: _all, ...rest } = instance;
  const shortened: ObservedInstance = {
    ...rest,
    ...(reason !== undefined && { reason: short(reason) }),
    ...(exit !== undefined && {
      exit: { ...exit, ...(exit.lastLine !== undefined && { lastLine: short(exit.lastLine) }) },
    }),
    ...(evidence.length > 0 && { evidence: evidence.slice(0, 1).map(shortEvidence) }),
  };
  if (bytes(shortened) <= maxBytes) return shortened;
  // What the controller needs to act on it, and nothing else.
  const { id, fleet, artifact, state, host, release, integrity } = instance;
  return {
    id,
    fleet,
    artifact,
    state,
    ...(host !== undefined && { host }),
    ...(release !== undefined && { release }),
    ...(integrity !== undefined && { integrity }),
  };
}
