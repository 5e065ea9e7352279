import type { HistoryAnswer } from '../../core/api/fleets.js';
import { formatAge } from '../format.js';

/** `describe`'s events: how long ago, what, by whom, and why when the line does not say it. */
export function eventLines(events: readonly HistoryAnswer[], now: number): string[] {
  if (events.length === 0) return ['events:     none'];
  return [
    'events:',
    ...events.map(
      (e) =>
        `  ${formatAge(now - Date.parse(e.time)).padStart(4)} ago  ${e.kind}  by ${e.actor || '-'}: ${e.detail}${e.reason && !e.detail.endsWith(e.reason) ? ` (${e.reason})` : ''}`,
    ),
  ];
}
