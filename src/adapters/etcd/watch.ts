import type { IWatchResponse, Watcher } from 'etcd3';
import { IngotError } from '../../domain/errors.js';
import type { Watch, WatchHandler } from '../../ports/coordination.js';
import { prefixEnd, revisionOf, type Connection } from './connect.js';
import { clusterError, isRefusedWatch, isStaleToken, withDeadline } from './errors.js';
import { compacted, listAll, readKv, type Reader } from './list.js';

const fatal = (e: IngotError) =>
  e.code === 'E_CLUSTER_DENIED' || e.code === 'E_CLUSTER_AUTH' || e.code === 'E_CLUSTER_CLOSED';

/**
 * Watch every key under the reader's prefix from `from` on, delivering each change once, in
 * revision order. The resume point is ours, not etcd3's: etcd3 resumes a broken stream after
 * the last response's header revision, which skips events a catching-up watch had not been
 * sent yet; here it is always one past the last event delivered.
 *
 * When etcd cancels the watch (the resume point was compacted away), the prefix is listed
 * again at the current revision, handed over as one `relisted` event, and the watch resumes
 * right after it: nothing is missed silently, and the caller is told it must start over.
 */
export async function watchPrefix<T>(
  conn: Connection,
  reader: Reader<T>,
  from: number,
  handler: WatchHandler<T>,
  what: string,
): Promise<Watch> {
  const watch = new PrefixWatch(conn, reader, from, handler, what);
  conn.closers.add(watch.close);
  for (let attempt = 1; ; attempt++) {
    try {
      await watch.attach();
      return watch;
    } catch (err) {
      // Refused for a token etcd no longer knows: the stream was renewed with a fresh one.
      if (attempt < 2 && isStaleToken(err)) continue;
      await watch.close();
      throw clusterError(err, what);
    }
  }
}

class PrefixWatch<T> implements Watch {
  next: number;
  private closed = false;
  private current: Watcher | null = null;
  /** The current watcher is created in etcd and its stream is up. */
  private connected = false;
  private readonly end: Buffer;

  constructor(
    private readonly conn: Connection,
    private readonly reader: Reader<T>,
    from: number,
    private readonly handler: WatchHandler<T>,
    private readonly what: string,
  ) {
    this.next = from;
    this.end = prefixEnd(reader.prefix);
  }

  get attached(): boolean {
    return !this.closed && this.current !== null && this.connected;
  }

  readonly close = async (): Promise<void> => {
    this.closed = true;
    this.conn.closers.delete(this.close);
    const w = this.current;
    this.current = null;
    if (w) await withDeadline(w.cancel(), 2_000, this.what).catch(() => undefined);
  };

  /**
   * A new etcd3 watcher from `next`; resolves once etcd created it, or cancels it and fails
   * with E_CLUSTER_UNAVAILABLE when etcd does not within the deadline. Only the current
   * watcher's events count: one given up on cannot deliver late. A creation refused or not
   * answered in time leaves etcd3's watch stream unable to create any other: it is started
   * again (watch-stream.ts), with a fresh token when the old one was refused.
   */
  attach(): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const w = this.conn.client
        .watch()
        .inRange({ start: this.reader.prefix, end: this.end })
        .startRevision(String(this.next))
        .watcher();
      this.current = w;
      this.connected = false;
      let created = false;
      const timer = setTimeout(() => {
        this.drop(w);
        this.conn.renewWatchStream({ reauthenticate: false });
        reject(
          new IngotError(
            'E_CLUSTER_UNAVAILABLE',
            `${this.what}: etcd did not start the watch within ${this.conn.timeoutMs} ms`,
          ),
        );
      }, this.conn.timeoutMs);
      // Registered after etcd3's own listeners, so these overwrite where it would resume.
      w.on('connected', () => {
        if (this.current !== w) return;
        w.request.start_revision = this.next;
        this.connected = true;
        if (created) return;
        created = true;
        clearTimeout(timer);
        resolve();
      });
      w.on('data', (res) => {
        if (this.current !== w) return;
        this.deliver(res);
        w.request.start_revision = this.next;
      });
      // etcd3 resumes the stream by itself (from `next`, set above); meanwhile changes wait.
      w.on('disconnected', () => {
        if (this.current === w) this.connected = false;
      });
      w.on('error', (err) => {
        if (this.current !== w) return;
        this.current = null;
        this.connected = false;
        clearTimeout(timer);
        // Before it was created, or created again after the stream reconnected: refused.
        if (!created || isRefusedWatch(err))
          this.conn.renewWatchStream({ reauthenticate: isStaleToken(err) });
        if (!created) reject(clusterError(err, this.what));
        else void this.recover(err);
      });
    });
  }

  private drop(w: Watcher): void {
    if (this.current === w) {
      this.current = null;
      this.connected = false;
    }
    void withDeadline(w.cancel(), 2_000, this.what).catch(() => undefined);
  }

  private deliver(res: IWatchResponse): void {
    if (this.closed) return;
    if (res.events.length === 0) {
      // A progress notice: etcd sends them only to a watch that has seen everything so far.
      if (!res.created && !res.canceled)
        this.next = Math.max(this.next, revisionOf(res.header.revision, this.what) + 1);
      return;
    }
    // All events of one revision (one transaction) come in one response.
    const floor = this.next;
    for (const ev of res.events) {
      const revision = revisionOf(ev.kv.mod_revision, this.what);
      if (revision < floor) continue; // delivered before a reconnect
      if (ev.type === 'Put') {
        const read = readKv(this.reader, ev.kv);
        this.handler.event(
          'entry' in read
            ? { kind: 'put', entry: read.entry }
            : { kind: 'invalid', value: read.invalid, revision, ...(read.at && { at: read.at }) },
        );
      } else {
        const at = this.reader.parseKey(ev.kv.key.toString('utf8'));
        if (at) this.handler.event({ kind: 'delete', host: at.host, id: at.id, revision });
      }
      this.next = Math.max(this.next, revision + 1);
    }
  }

  /** Was `revision` compacted away? (Else etcd cancelled the watch for another reason.) */
  private async compactedAt(revision: number): Promise<boolean> {
    try {
      await this.conn.run(this.what, () =>
        this.conn.client.kv.range({
          key: Buffer.from(this.reader.prefix),
          range_end: this.end,
          limit: 1,
          revision,
        }),
      );
      return false;
    } catch (err) {
      const e = clusterError(err, this.what);
      if (compacted(e)) return true;
      if (e.code === 'E_CLUSTER_PROTOCOL') return false; // a future revision, say
      throw e;
    }
  }

  /**
   * etcd cancelled the watch: list again, hand the listing over, resume after it. A stale
   * token is not the end (the stream renews it; the listing finds out whether the credentials
   * themselves still hold); refused credentials or permissions are.
   */
  private async recover(cancelled: unknown): Promise<void> {
    const first = clusterError(cancelled, this.what);
    if (fatal(first) && !isStaleToken(first)) return this.fail(first);
    for (let attempt = 0; !this.closed; attempt++) {
      try {
        const reason = (await this.compactedAt(this.next)) ? 'compacted' : 'cancelled';
        const listing = await listAll(this.conn, this.reader, this.what);
        if (this.closed) return;
        const from = this.next;
        this.next = listing.revision + 1;
        this.handler.event({ kind: 'relisted', reason, from, listing });
        await this.attach();
        return;
      } catch (err) {
        const e = clusterError(err, this.what);
        if (fatal(e)) return this.fail(e);
        await new Promise((r) => setTimeout(r, Math.min(5_000, 250 * 2 ** attempt)));
      }
    }
  }

  private fail(e: IngotError): void {
    if (this.closed) return;
    void this.close();
    this.handler.failed?.(e);
  }
}
