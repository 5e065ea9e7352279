import type { PlannedEntry } from '../../core/layer-plan.js';
import { wantsContent } from '../../core/sbom/capture.js';
import type { StreamLayout } from '../../core/segments.js';
import { paddingFor } from '../../core/tar/header.js';
import type { Piece, SegmentTask } from './protocol.js';

export interface CodecChoice {
  readonly compression: SegmentTask['compression'];
  readonly level: number;
  readonly codecId: string;
}

/**
 * Cut a part's planned stream into tasks: headers, file ranges and padding per segment.
 * Cuts fall only at entry ends or inside file data (core/segments.ts), never inside a
 * header. `first` is the index of the part's first entry in the layer.
 */
export function buildTasks(
  layout: StreamLayout,
  entries: readonly PlannedEntry[],
  first: number,
  headerLengths: readonly number[],
  codec: CodecChoice,
  fd: number | null,
): SegmentTask[] {
  const tasks: SegmentTask[] = [];
  const count = layout.offsets.length;
  let i = 0;
  // How much of the current entry's data earlier segments already took.
  let dataDone = 0;
  for (const seg of layout.segments) {
    const pieces: Piece[] = [];
    let pos = seg.start;
    while (pos < seg.end) {
      if (i === count) {
        pieces.push({ kind: 'zeros', length: seg.end - pos }); // end-of-archive blocks
        break;
      }
      const entry = first + i;
      const e = entries[entry]!;
      const at = layout.offsets[i]!;
      const dataStart = at + headerLengths[entry]!;
      const { size } = e.header;
      const end = dataStart + size + paddingFor(size);
      if (pos === at) {
        pieces.push({ kind: 'header', header: e.header });
        pos = dataStart;
        dataDone = 0;
      }
      if (pos < dataStart + size && e.file) {
        const take = Math.min(dataStart + size, seg.end) - pos;
        pieces.push({
          kind: 'file',
          entry,
          file: e.file,
          offset: dataDone,
          length: take,
          first: dataDone === 0,
          capture: wantsContent(`/${e.header.name}`, size),
        });
        dataDone += take;
        pos += take;
      }
      if (pos < end && pos >= dataStart + size) {
        const pad = Math.min(end, seg.end) - pos;
        pieces.push({ kind: 'zeros', length: pad });
        pos += pad;
      }
      if (pos === end) i++;
    }
    tasks.push({
      type: 'segment',
      id: seg.index,
      slot: -1,
      length: seg.end - seg.start,
      pieces,
      ...codec,
      fd,
      writeAt: fd !== null ? seg.start : null,
    });
  }
  return tasks;
}
