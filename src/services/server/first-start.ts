import type { LedgerEntryDraft } from '../../core/ledger/index.js';
import type { Digest } from '../../domain/digest.js';

/** What this start of the server made for the first time, each worth a ledger entry. */
export interface FirstStartFacts {
  readonly time: number;
  readonly actor: string;
  /** The ledger's checkpoint key, made now: its verifier key. */
  readonly ledgerKey?: { readonly vkey: string };
  /** This machine's signing key, made now: its public key file and that file's digest. */
  readonly localKey?: { readonly file: string; readonly digest: Digest };
  /** The admin token, made now: its digest names it without revealing it. */
  readonly token?: { readonly digest: Digest };
}

/** The ledger entries for what was made on this start. Pure. */
export function firstStartEvents(facts: FirstStartFacts): LedgerEntryDraft[] {
  const { time, actor } = facts;
  const events: LedgerEntryDraft[] = [];
  if (facts.ledgerKey)
    events.push({
      time,
      actor,
      kind: 'key',
      subjects: [],
      detail: { purpose: 'ledger checkpoints', vkey: facts.ledgerKey.vkey },
    });
  if (facts.localKey)
    events.push({
      time,
      actor,
      kind: 'key',
      subjects: [facts.localKey.digest],
      detail: { purpose: 'signing builds on this machine', file: facts.localKey.file },
    });
  if (facts.token)
    events.push({
      time,
      actor,
      kind: 'token',
      subjects: [],
      detail: { action: 'created', token: facts.token.digest },
    });
  return events;
}
