import { isLabelKey, LABEL_KEY_RULE, parseConstraints } from './constraint.js';
import { PlacementError } from './errors.js';
import type { PlacementRules } from './types.js';

/** fleet.yaml's `placement`, as written (the fleet schema has checked it already). */
export interface PlacementSpec {
  readonly spread?: string | undefined;
  readonly constraints?: readonly string[] | undefined;
}

/**
 * A fleet's placement as placement reads it: its constraints parsed. The fleet schema refuses
 * bad ones with their paths; a spec that reaches here with one anyway (kept by an older
 * version, say) is refused with every bad constraint named. Pure.
 */
export function rulesOf(spec: PlacementSpec | undefined): PlacementRules {
  const { constraints, problems } = parseConstraints(spec?.constraints ?? []);
  const messages = problems.map((p) => p.message);
  if (spec?.spread !== undefined && !isLabelKey(spec.spread))
    messages.unshift(`spread ${JSON.stringify(spec.spread)} is not ${LABEL_KEY_RULE}`);
  if (messages.length > 0)
    throw new PlacementError('E_PLACEMENT_CONSTRAINT', `placement: ${messages.join('; ')}`, {
      details: { problems: messages },
    });
  return spec?.spread === undefined ? { constraints } : { spread: spec.spread, constraints };
}
