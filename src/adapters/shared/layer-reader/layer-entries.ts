import type { Header } from 'tar-stream';
import type { LayerChanges } from '../../../core/apply-layer.js';
import { parseEntryName, pathProblemText, toImagePath } from '../../../core/paths.js';
import { wantsContent } from '../../../core/sbom/capture.js';
import { classifyEntry } from '../../../core/whiteout.js';
import { LayerError } from '../../../domain/build-errors.js';
import type {
  DroppedEntry,
  FileExtra as EntryExtra,
  MeasuredEntry,
} from '../../../domain/measurement.js';
import { hashEntry } from './hash-entry.js';
import { ObjectWriter } from './object-writer.js';

type Owner = Pick<MeasuredEntry, 'mode' | 'uid' | 'gid'>;

/** What is used of tar-stream's entry: its header, and its content as a stream. */
export interface TarEntry extends AsyncIterable<unknown> {
  readonly header: Header;
  resume(): unknown;
}

/**
 * A layer's tar entries, one by one, turned into changes to the rootfs. The archive is
 * hostile: names that climb, absolute or malformed names, duplicates, hard links to anything
 * but an earlier file of the same layer, device nodes and FIFOs are each refused with their
 * own code, and the entry count is bounded. Device nodes under /dev alone are dropped and
 * listed (`dropped`): real Debian roots carry /dev/null and friends, and the runtime mounts
 * its own /dev over the image's, so they could never be reached.
 */
export class LayerEntries {
  private readonly whiteouts: string[] = [];
  private readonly opaques: string[] = [];
  private readonly entries: { entry: MeasuredEntry; extra?: EntryExtra }[] = [];
  private readonly seen = new Set<string>();
  private readonly files = new Map<string, { entry: MeasuredEntry; extra: EntryExtra }>();
  /** Device nodes under /dev, left out of the rootfs. */
  readonly dropped: DroppedEntry[] = [];
  private readonly objects: ObjectWriter | undefined;

  constructor(
    private readonly id: string,
    private readonly maxEntries: number,
    /** Where regular files' content is kept by its sha256 (materialising), if anywhere. */
    objectsDir?: string,
  ) {
    this.objects = objectsDir === undefined ? undefined : new ObjectWriter(objectsDir);
  }

  /** Every content written to the objects folder (the first failure thrown). */
  async flush(): Promise<void> {
    await this.objects?.flush();
  }

  /** Every write to the objects folder finished, failed or not: before it is removed. */
  async settle(): Promise<void> {
    await this.objects?.settle();
  }

  get changes(): LayerChanges<EntryExtra> {
    return { whiteouts: this.whiteouts, opaques: this.opaques, entries: this.entries };
  }

  /** Take one entry of the archive; its content is read (or skipped) before this returns. */
  async add(item: TarEntry): Promise<void> {
    const { id } = this;
    const h = item.header;
    const parsed = parseEntryName(h.name);
    if (!parsed.ok)
      throw new LayerError(
        'E_LAYER_ENTRY_NAME',
        id,
        h.name.slice(0, 300),
        `invalid entry name: it ${pathProblemText[parsed.problem]}`,
      );
    if (parsed.path === '') {
      item.resume();
      return; // the archive root; the rootfs itself is not measured
    }
    const path = toImagePath(parsed.path);
    if (this.seen.has(path))
      throw new LayerError('E_LAYER_DUPLICATE_ENTRY', id, path, 'appears twice in the layer');
    this.seen.add(path);
    if (this.seen.size > this.maxEntries)
      throw new LayerError('E_LAYER_BOMB', id, '', `has more than ${this.maxEntries} entries`);

    const role = classifyEntry(path);
    if (role.kind === 'invalid')
      throw new LayerError('E_LAYER_ENTRY_NAME', id, path, 'is a malformed whiteout');
    if (role.kind !== 'entry') {
      if (role.kind === 'whiteout') this.whiteouts.push(role.target);
      else this.opaques.push(role.dir);
      item.resume();
      return;
    }

    // tar-stream applies pax path/linkpath/size but not uid/gid: apply them here.
    const pax = (h.pax ?? {}) as Record<string, string | undefined>;
    const owner: Owner = {
      mode: (h.mode ?? 0) & 0o7777,
      uid: paxNumber(pax['uid']) ?? h.uid ?? 0,
      gid: paxNumber(pax['gid']) ?? h.gid ?? 0,
    };
    await this.addEntry(item, path, owner);
  }

  private async addFile(item: TarEntry, path: string, owner: Owner): Promise<void> {
    const declared = item.header.size ?? 0;
    const { size, sha256, sha1, content } = await hashEntry(
      item,
      wantsContent(path, declared),
      this.objects,
    );
    if (size !== declared)
      throw new LayerError(
        'E_LAYER_SIZE_MISMATCH',
        this.id,
        path,
        `declares ${item.header.size} bytes but holds ${size}`,
      );
    const entry: MeasuredEntry = { path, type: 'file', ...owner, size, sha256 };
    const extra: EntryExtra = {
      ...(sha1 !== undefined && { sha1 }),
      ...(content !== undefined && { content }),
    };
    this.files.set(path, { entry, extra });
    this.entries.push({ entry, extra });
  }

  /** Files, folders, symlinks and hard links; anything else is refused. */
  private async addEntry(item: TarEntry, path: string, owner: Owner): Promise<void> {
    const h = item.header;
    switch (h.type) {
      case 'file':
      case 'contiguous-file':
        await this.addFile(item, path, owner);
        return;
      case 'directory':
        this.entries.push({ entry: { path, type: 'dir', ...owner, size: 0 } });
        item.resume();
        return;
      case 'symlink':
        this.entries.push({
          entry: {
            path,
            type: 'symlink',
            ...owner,
            mode: 0o777,
            size: 0,
            target: h.linkname ?? '',
          },
        });
        item.resume();
        return;
      case 'link': {
        const target = parseEntryName(h.linkname ?? '');
        const linked = target.ok ? this.files.get(toImagePath(target.path)) : undefined;
        if (!linked) {
          throw new LayerError(
            'E_LAYER_HARDLINK_ESCAPE',
            this.id,
            path,
            `is a hard link to ${JSON.stringify(h.linkname)}, which is not an earlier file of the same layer`,
          );
        }
        // A hard link shares its target's inode: same content, mode and owner.
        this.entries.push({
          entry: { ...linked.entry, path, hardlink: linked.entry.path },
          extra: linked.extra,
        });
        item.resume();
        return;
      }
      case 'character-device':
      case 'block-device':
        // Only beneath /dev, which the runtime replaces whole with its own tmpfs: a device
        // node anywhere else would be reachable inside the instance (a raw disk at
        // /opt/sda), and is refused below. The host never creates device nodes from an image.
        if (path.startsWith('/dev/')) {
          this.dropped.push({ path, type: h.type, layer: this.id });
          item.resume();
          return;
        }
        throw specialFile(this.id, path, h.type);
      case 'fifo':
        throw specialFile(this.id, path, h.type);
      default:
        throw new LayerError(
          'E_LAYER_CORRUPT',
          this.id,
          path,
          `has an unsupported entry type ${String(h.type)}`,
        );
    }
  }
}

function specialFile(id: string, path: string, type: string): LayerError {
  return new LayerError(
    'E_LAYER_SPECIAL_FILE',
    id,
    path,
    `is a ${type}; Ingot does not run images with device nodes or FIFOs (device nodes under /dev are dropped, since the runtime provides /dev)`,
  );
}

function paxNumber(value: string | undefined): number | undefined {
  if (value === undefined || !/^\d{1,15}$/.test(value)) return undefined;
  return Number(value);
}
