// One side's inventory inside the job's LevelDB: its entries in a sublevel, its checkpoint beside them, written together atomically.
import type { Level } from 'level';
import type { ObjectEntry } from '../core/entry.ts';
import type { EntrySource } from '../core/reconcile.ts';
import { StoredEntry, encodeEntryValue } from '../core/entry-codec.ts';

/** The part of an abstract-level sublevel (utf8 keys and values) that the store uses. */
export interface Sub {
  readonly prefix: string;
  get(key: string): Promise<string | undefined>;
  put(key: string, value: string): Promise<void>;
  iterator(options: { highWaterMarkBytes?: number; gt?: string }): {
    nextv(size: number): Promise<[string, string][]>;
    close(): Promise<void>;
  };
}

export function subOf(db: Level<string, string>, name: string): Sub {
  return db.sublevel<string, string>(name, { keyEncoding: 'utf8', valueEncoding: 'utf8' }) as unknown as Sub;
}

const READ_HIGH_WATER_MARK_BYTES = 4 * 1024 * 1024;

export interface InventoryBatch {
  put(key: string, value: string): void;
  /**
   * put for a key that already starts with keyPrefix, made in one piece by a reader: a string, or UTF-8
   * bytes (copied here, so the reader may reuse them), which spare making strings at all.
   */
  putPrefixed(prefixedKey: string | Uint8Array, value: string | Uint8Array): void;
  /** Removes an entry (a fixed extra that is gone) in the same batch. */
  del(key: string): void;
  /** A further metadata record of this side, written in the same atomic batch. */
  putJson(key: string, value: unknown): void;
  readonly length: number;
  write(meta: { key: string; value: unknown }): Promise<void>;
}

export class SideDb {
  constructor(
    private readonly db: Level<string, string>,
    private readonly inventory: Sub,
    private readonly meta: Sub,
    /** Prefix of this side's records in the meta sublevel (its checkpoint). */
    private readonly metaPrefix: string,
  ) {}

  /** What every key of this side's inventory starts with in the database (the sublevel's prefix). */
  get keyPrefix(): string {
    return this.inventory.prefix;
  }

  /**
   * A batch that takes encoded entries one at a time as they are parsed and is written, with a metadata
   * record (the side's checkpoint) in the same atomic LevelDB batch. Within and across batches the last
   * entry of a key wins.
   */
  batch(): InventoryBatch {
    // Entries go straight into the native batch through classic-level's _put, with the sublevel prefix
    // added here: abstract-level's public put builds an operation object per entry, and holding the
    // entries in JS arrays until the write keeps them alive through garbage collections. Together that
    // was about half of the ingestion's time. The public put of the metadata record is what makes
    // abstract-level's write() write the batch (it skips a batch it counts as empty).
    const native = this.db.batch() as unknown as {
      _put(key: string | Uint8Array, value: string | Uint8Array): void;
      _del(key: string): void;
      put(key: string, value: string): void;
      write(): Promise<void>;
    };
    const prefix = this.inventory.prefix;
    let count = 0;
    return {
      put: (key, value) => {
        native._put(prefix + key, value);
        count++;
      },
      putPrefixed: (prefixedKey, value) => {
        native._put(prefixedKey, value);
        count++;
      },
      del: (key) => {
        native._del(prefix + key);
      },
      putJson: (key, value) => {
        native.put(this.meta.prefix + this.metaPrefix + key, JSON.stringify(value));
      },
      get length() {
        return count;
      },
      write: async (meta) => {
        native.put(this.meta.prefix + this.metaPrefix + meta.key, JSON.stringify(meta.value));
        await native.write();
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
    const it = this.inventory.iterator({ highWaterMarkBytes: READ_HIGH_WATER_MARK_BYTES, ...(after !== undefined ? { gt: after } : {}) });
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
    await (this.inventory as unknown as { clear(o: typeof options): Promise<void> }).clear(options);
  }

  /** Removes this side's metadata records whose names start with `prefix`. */
  async clearMeta(prefix: string): Promise<void> {
    const from = this.metaPrefix + prefix;
    await (this.meta as unknown as { clear(o: { gte: string; lt: string }): Promise<void> }).clear({ gte: from, lt: from.slice(0, -1) + String.fromCharCode(from.charCodeAt(from.length - 1) + 1) });
  }

  async getJson<T>(key: string): Promise<T | undefined> {
    const v = await this.meta.get(this.metaPrefix + key);
    return v === undefined ? undefined : (JSON.parse(v) as T);
  }

  async putJson(key: string, value: unknown): Promise<void> {
    await this.meta.put(this.metaPrefix + key, JSON.stringify(value));
  }
}
