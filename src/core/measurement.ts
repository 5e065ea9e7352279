import { MediaType } from '../domain/media-types.js';
import type { MeasuredEntry, Measurement } from '../domain/measurement.js';
import { canonicalJsonBytes } from './canonical-json.js';

/** The measurement document, canonical JSON, entries in the (tree) order given. */
export function encodeMeasurement(entries: readonly MeasuredEntry[]): Buffer {
  const doc: Measurement = { mediaType: MediaType.measurement, entries };
  return canonicalJsonBytes(doc);
}
