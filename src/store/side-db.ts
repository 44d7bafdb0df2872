// One side's inventory: its entries in a LevelDB of their own, each batch sealed there with the side's
// checkpoint; the job's metadata holds a copy of every checkpoint for reading.
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

/** The byte every seal's key ends with: it never occurs in UTF-8, so no object key is a seal's key. */
const SEAL_END = 0xff;
/** A seal's value is JSON (an object); an entry's starts with the object's size, a digit. */
const SEAL_VALUE_START = 0x7b; // '{'
/** Where a side's first seal goes: before every key but those starting with a NUL byte. */
const FIRST_SEAL_KEY = Buffer.of(0x00, SEAL_END);

/**
 * What a seal holds: its number, where the next seal goes (hex), and the metadata records written with
 * it, checkpoint last. The record `seal:<side>:` in the metadata holds the number and the next key of
 * the last seal copied.
 */
interface Seal {
  seal: number;
  next: string;
  records: [string, string][];
}

/** Whether a value read from a side's database is a seal's rather than an entry's. */
function isSealValue(value: string): boolean {
  return value.charCodeAt(0) === SEAL_VALUE_START;
}

export interface InventoryBatch {
  /** An entry: key and store value, each a string or its UTF-8 bytes (copied here, so a reader may reuse them). */
  put(key: string | Uint8Array, value: string | Uint8Array): void;
  /** Removes an entry (a fixed extra that is gone) in the same batch. */
  del(key: string): void;
  /** A further metadata record of this side, written with the checkpoint. */
  putJson(key: string, value: unknown): void;
  readonly length: number;
  /**
   * Writes the entries and, in the same atomic LevelDB batch, a seal holding `meta` (the side's
   * checkpoint) and the batch's other metadata records; synced, so a machine crash cannot lose it either.
   * Then the records are copied into the job's metadata, where they are read; `afterEntries` runs in
   * between. `lastKey` is the batch's last key, where it was put as bytes (for the next seal's place).
   */
  write(meta: { key: string; value: unknown }, afterEntries?: () => void, lastKey?: string): Promise<void>;
}

type MetaRecord = { type: 'put'; key: string; value: string };

/** The records with each key's last value only, in the order of those last values. */
function dedupe(records: MetaRecord[]): MetaRecord[] {
  const last = new Map<string, MetaRecord>();
  for (const r of records) {
    last.delete(r.key);
    last.set(r.key, r);
  }
  return [...last.values()];
}

/** The part of classic-level's chained batch the store drives directly (it is never written through abstract-level). */
interface NativeBatch {
  _put(key: string | Uint8Array, value: string | Uint8Array): void;
  _del(key: string): void;
  _write(options: object): Promise<void>;
  _clear(): void;
}

/** The side database's iterators (root level: its keys are the object keys). */
interface EntryIterator {
  nextv(size: number): Promise<[string, string][]>;
  close(): Promise<void>;
}
type IteratorOf = (options: object) => EntryIterator;
type GetOf = (key: Uint8Array, options: object) => Promise<string | undefined>;

/**
 * A side's inventory. Every batch of entries carries a seal: one more record, in the same atomic write,
 * holding the side's checkpoint and the batch's other metadata records, numbered. The records are then
 * copied into the job's metadata (`meta`, under `metaPrefix`), where they are read, with the number of
 * the seal copied; opening the job copies what the process did not get to (`recover`).
 *
 * Where a seal goes: each seal names the key of the next, its batch's last key followed by a 0xFF byte,
 * so the seals form a chain that `recover` follows from the last one copied, one lookup each. A listing
 * in key order thus puts each seal just before the next batch's keys, and LevelDB never has to rewrite
 * a table for them. (A seal at one fixed key after every object key puts every table across the whole
 * key range, and compactions rewrote the inventory once more: seconds and tens of megabytes at a
 * million keys. Keeping the seal after the greatest key written, to find it with one seek, cost a
 * comparison and a copy per entry: about 0.35 µs, 0.7 s a million entries per side.) Earlier seals stay
 * between the entries, told apart by their value, and are skipped on reading.
 *
 * Writes are made one at a time, in the order they are asked for.
 */
export class SideDb {
  /** Native batches written and cleared, to be filled again. */
  private readonly freeBatches: NativeBatch[] = [];
  /** The number of the last seal made. */
  private sealed = 0;
  /** Where the next seal goes. */
  private sealAt: Buffer = FIRST_SEAL_KEY;
  /** The last seal written: where, and the records it holds. */
  private lastSeal: { at: Buffer; records: MetaRecord[] } | undefined;
  /** Records of seals whose copy into the metadata failed (a full disk): copied with the next one. */
  private uncopied: MetaRecord[] = [];
  /** The store's writes, one after another. */
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    /** This side's LevelDB: its entries, keyed by object key, and their seals. */
    private readonly db: Level<string, string>,
    /** The job's metadata sublevel, where this side's records carry `metaPrefix`. */
    private readonly meta: Sub,
    private readonly metaPrefix: string,
  ) {}

  /** The metadata record of the last seal copied (outside `metaPrefix`, so clearMeta('') keeps it). */
  private get sealRecordKey(): string {
    return `seal:${this.metaPrefix}`;
  }

  /** The metadata record saying that the seal `link` names is the last one copied. */
  private sealRecord(link: { seal: number; next: string }): MetaRecord {
    return { type: 'put', key: this.sealRecordKey, value: JSON.stringify({ seal: link.seal, next: link.next }) };
  }

  private iterator(options: object): EntryIterator {
    return (this.db as unknown as { iterator: IteratorOf }).iterator(options);
  }

  /** Runs a write after every write asked for before it. */
  private serial<T>(write: () => Promise<T>): Promise<T> {
    const run = this.queue.then(write);
    this.queue = run.catch(() => undefined);
    return run;
  }

  /**
   * Follows the seals from the last one copied and copies every later one into the metadata (the process
   * stopped between a seal and its copy): the metadata then says exactly what the entries are.
   */
  async recover(): Promise<void> {
    const stored = await this.meta.get(this.sealRecordKey);
    const last = stored === undefined ? undefined : (JSON.parse(stored) as { seal: number; next: string });
    let copied = last?.seal ?? 0;
    let at = last ? Buffer.from(last.next, 'hex') : FIRST_SEAL_KEY;
    const get = (this.db as unknown as { get: GetOf }).get.bind(this.db);
    for (;;) {
      const value = await get(at, { keyEncoding: 'buffer', valueEncoding: 'utf8' });
      if (value === undefined || !isSealValue(value)) break;
      const seal = JSON.parse(value) as Seal;
      if (seal.seal <= copied) break;
      const records: MetaRecord[] = seal.records.map(([key, v]) => ({ type: 'put', key, value: v }));
      await this.meta.batch([...records, this.sealRecord(seal)]);
      copied = seal.seal;
      at = Buffer.from(seal.next, 'hex');
    }
    this.sealed = copied;
    this.sealAt = at;
  }

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
    const records: MetaRecord[] = [];
    let count = 0;
    /** The last key put as a string (a reference: no copy per entry). */
    let lastString: string | undefined;
    return {
      put: (key, value) => {
        native._put(key, value);
        lastString = typeof key === 'string' ? key : undefined;
        count++;
      },
      del: (key) => {
        native._del(key);
      },
      putJson: (key, value) => {
        records.push({ type: 'put', key: this.metaPrefix + key, value: JSON.stringify(value) });
      },
      get length() {
        return count;
      },
      write: (meta, afterEntries, lastKey) => {
        records.push({ type: 'put', key: this.metaPrefix + meta.key, value: JSON.stringify(meta.value) });
        const last = lastKey ?? lastString;
        return this.serial(async () => {
          const at = this.sealAt;
          const next = last === undefined ? at : Buffer.concat([Buffer.from(last), Buffer.of(SEAL_END)]);
          const copy = this.uncopied.concat(records);
          // A seal put where the last one is (its batch had no key to move on to) holds that one's records too.
          const held = this.lastSeal?.at.equals(at) ? dedupe(this.lastSeal.records.concat(copy)) : copy;
          const number = ++this.sealed;
          const link = { seal: number, next: next.toString('hex') };
          native._put(at, JSON.stringify({ ...link, records: held.map((r) => [r.key, r.value]) } satisfies Seal));
          await native._write({ sync: true });
          native._clear();
          this.freeBatches.push(native);
          this.sealAt = next;
          this.lastSeal = { at, records: held };
          this.uncopied = copy;
          afterEntries?.();
          await this.meta.batch([...copy, this.sealRecord(link)]);
          this.uncopied = [];
        });
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
   * Seals are left out.
   */
  async *entries(batchSize = 1000, after?: string): EntrySource {
    const it = this.iterator({
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
        let n = 0;
        for (let i = 0; i < rows.length; i++) {
          const row = rows[i]!;
          if (!isSealValue(row[1])) batch[n++] = new StoredEntry(row[0], row[1]);
        }
        if (n < rows.length) batch.length = n;
        if (n > 0) yield batch;
      }
    } finally {
      if (pending) await pending.catch(() => undefined);
      await it.close();
    }
  }

  /** Removes this side's entries (and seals) from `gte` (inclusive) to `lt` (exclusive; open when absent), or all of them. */
  async clearEntries(range: { gte?: string; lt?: string } = {}): Promise<void> {
    const options: { gte?: string; lt?: string } = {};
    if (range.gte !== undefined) options.gte = range.gte;
    if (range.lt !== undefined) options.lt = range.lt;
    await this.serial(() => this.db.clear(options));
  }

  /** Removes this side's metadata records whose names start with `prefix`. */
  async clearMeta(prefix: string): Promise<void> {
    const from = this.metaPrefix + prefix;
    await this.serial(() => this.meta.clear({ gte: from, lt: prefixEnd(from) }));
  }

  async getJson<T>(key: string): Promise<T | undefined> {
    const v = await this.meta.get(this.metaPrefix + key);
    return v === undefined ? undefined : (JSON.parse(v) as T);
  }

  async putJson(key: string, value: unknown): Promise<void> {
    await this.serial(() => this.meta.put(this.metaPrefix + key, JSON.stringify(value)));
  }
}
