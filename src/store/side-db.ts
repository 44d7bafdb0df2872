// One side's inventory: its entries alone in a LevelDB of their own, its checkpoints in the job's metadata.
import type { Level } from 'level';
import type { ObjectEntry } from '../core/entry.ts';
import type { EntrySource } from '../core/reconcile.ts';
import { StoredEntry, encodeEntryValue } from '../core/entry-codec.ts';

/** The part of an abstract-level sublevel (utf8 keys and values) that the store uses: the job's metadata. */
export interface Sub {
  get(key: string): Promise<string | undefined>;
  put(key: string, value: string): Promise<void>;
  del(key: string): Promise<void>;
  clear(range: { gte: string; lt: string }): Promise<void>;
  batch(operations: { type: 'put'; key: string; value: string }[]): Promise<void>;
  iterator(options: { gte: string; lt: string; highWaterMarkBytes: number }): {
    nextv(size: number): Promise<[string, string][]>;
    close(): Promise<void>;
  };
}

/** The first key after every key that starts with `prefix` (whose last character is ASCII, as all of ours). */
export function prefixEnd(prefix: string): string {
  return prefix.slice(0, -1) + String.fromCharCode(prefix.charCodeAt(prefix.length - 1) + 1);
}

export function subOf(db: Level<string, string>, name: string): Sub {
  return db.sublevel<string, string>(name, { keyEncoding: 'utf8', valueEncoding: 'utf8' }) as unknown as Sub;
}

const READ_HIGH_WATER_MARK_BYTES = 4 * 1024 * 1024;

export interface InventoryBatch {
  /** An entry: key and store value, each a string or its UTF-8 bytes (copied here, so a reader may reuse them). */
  put(key: string | Uint8Array, value: string | Uint8Array): void;
  /** Removes an entry (a fixed extra that is gone) in the same batch. */
  del(key: string): void;
  /** A further metadata record of this side, written with the checkpoint. */
  putJson(key: string, value: unknown): void;
  readonly length: number;
  /**
   * Writes the entries, durably (synced), then the metadata records with `meta` (the side's checkpoint)
   * in one batch. A checkpoint therefore never claims entries the store could lose; entries written
   * after the last checkpoint are simply written again, to the same keys, when the side continues.
   */
  write(meta: { key: string; value: unknown }, afterEntries?: () => void): Promise<void>;
}

/** The part of classic-level's chained batch the store drives directly (it is never written through abstract-level). */
interface NativeBatch {
  _put(key: string | Uint8Array, value: string | Uint8Array): void;
  _del(key: string): void;
  _write(options: object): Promise<void>;
  _clear(): void;
}

/** The side database's iterator (root level: its keys are the object keys). */
interface EntryIterator {
  nextv(size: number): Promise<[string, string][]>;
  close(): Promise<void>;
}

export class SideDb {
  /** Native batches written and cleared, to be filled again (at most the two a side has in flight). */
  private readonly freeBatches: NativeBatch[] = [];

  constructor(
    /** This side's LevelDB: nothing but its entries, keyed by object key. */
    private readonly db: Level<string, string>,
    /** The job's metadata sublevel, where this side's records carry `metaPrefix`. */
    private readonly meta: Sub,
    private readonly metaPrefix: string,
  ) {}

  /**
   * A batch that takes encoded entries one at a time as they are parsed. Entries go straight into the
   * native batch through classic-level's _put: abstract-level's public put builds an operation object per
   * entry, and holding the entries in JS arrays until the write keeps them alive through garbage
   * collections; together that was about half of the ingestion's time. Written batches are cleared and
   * used again: classic-level frees a native batch only when the garbage collector finalises its object,
   * and dead batches of a megabyte or two each, waiting for that, were most of the process's malloc heap.
   */
  batch(): InventoryBatch {
    const native = this.freeBatches.pop() ?? (this.db.batch() as unknown as NativeBatch);
    const records: { type: 'put'; key: string; value: string }[] = [];
    let count = 0;
    let touched = false;
    return {
      put: (key, value) => {
        native._put(key, value);
        count++;
        touched = true;
      },
      del: (key) => {
        native._del(key);
        touched = true;
      },
      putJson: (key, value) => {
        records.push({ type: 'put', key: this.metaPrefix + key, value: JSON.stringify(value) });
      },
      get length() {
        return count;
      },
      write: async (meta, afterEntries) => {
        if (touched) {
          await native._write({ sync: true });
          native._clear();
        }
        afterEntries?.();
        this.freeBatches.push(native);
        records.push({ type: 'put', key: this.metaPrefix + meta.key, value: JSON.stringify(meta.value) });
        await this.meta.batch(records);
      },
    };
  }

  /** Writes decoded entries in one batch with a metadata record (tests and small sources). */
  async writeEntries(entries: readonly ObjectEntry[], meta: { key: string; value: unknown } = { key: 'written', value: true }): Promise<void> {
    const batch = this.batch();
    for (const e of entries) batch.put(e.key, encodeEntryValue(e));
    await batch.write(meta);
  }

  /**
   * The entries in key order, `batchSize` at a time, the next batch read while this one is used; with
   * `after`, only the keys after it (a comparison checkpoint). Values are decoded only as far as used.
   */
  async *entries(batchSize = 1000, after?: string): EntrySource {
    const it = (this.db as unknown as { iterator(o: object): EntryIterator }).iterator({
      highWaterMarkBytes: READ_HIGH_WATER_MARK_BYTES,
      ...(after !== undefined ? { gt: after } : {}),
    });
    let pending: Promise<[string, string][]> | undefined = it.nextv(batchSize);
    try {
      for (;;) {
        const rows = await pending;
        pending = undefined;
        if (rows.length === 0) break;
        pending = it.nextv(batchSize);
        const batch = new Array<ObjectEntry>(rows.length);
        for (let i = 0; i < rows.length; i++) batch[i] = new StoredEntry(rows[i]![0], rows[i]![1]);
        yield batch;
      }
    } finally {
      if (pending) await pending.catch(() => undefined);
      await it.close();
    }
  }

  /** Removes this side's entries from `gte` (inclusive) to `lt` (exclusive; open when absent), or all of them. */
  async clearEntries(range: { gte?: string; lt?: string } = {}): Promise<void> {
    const options: { gte?: string; lt?: string } = {};
    if (range.gte !== undefined) options.gte = range.gte;
    if (range.lt !== undefined) options.lt = range.lt;
    await this.db.clear(options);
  }

  /** Removes this side's metadata records whose names start with `prefix`. */
  async clearMeta(prefix: string): Promise<void> {
    const from = this.metaPrefix + prefix;
    await this.meta.clear({ gte: from, lt: prefixEnd(from) });
  }

  async getJson<T>(key: string): Promise<T | undefined> {
    const v = await this.meta.get(this.metaPrefix + key);
    return v === undefined ? undefined : (JSON.parse(v) as T);
  }

  async putJson(key: string, value: unknown): Promise<void> {
    await this.meta.put(this.metaPrefix + key, JSON.stringify(value));
  }
}
