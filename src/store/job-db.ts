// A job's LevelDB: one sublevel per inventory side plus metadata, batched writes and prefetching range reads.
import { Level } from 'level';
import type { ObjectEntry } from '../core/entry.ts';
import type { EntrySource } from '../core/reconcile.ts';
import { S3migError, oneLine } from '../core/errors.ts';
import { decodeEntryValue, encodeEntryValue } from './entry-codec.ts';

export type Side = 'source' | 'dest';

/** Bumped whenever the layout or the value encoding changes; an older or newer job is refused. */
export const SCHEMA_VERSION = 1;

/** The part of an abstract-level sublevel (utf8 keys and values) that this module uses. */
interface Sub {
  batch(ops: { type: 'put' | 'del'; key: string; value?: string }[]): Promise<void>;
  get(key: string): Promise<string | undefined>;
  put(key: string, value: string): Promise<void>;
  iterator(options: { highWaterMarkBytes?: number; gt?: string; gte?: string }): {
    nextv(size: number): Promise<[string, string][]>;
    close(): Promise<void>;
  };
}

type BatchOp = { type: 'put'; sublevel: Sub; key: string; value: string };

const READ_HIGH_WATER_MARK_BYTES = 4 * 1024 * 1024;

export class JobDb {
  private constructor(
    private readonly db: Level<string, string>,
    private readonly sides: Record<Side, Sub>,
    private readonly meta: Sub,
  ) {}

  /** Opens (or, with create, makes) a job's database; one process at a time holds it. */
  static async open(location: string, options: { create?: boolean } = {}): Promise<JobDb> {
    const db = new Level<string, string>(location, { keyEncoding: 'utf8', valueEncoding: 'utf8' });
    try {
      await db.open({ createIfMissing: options.create ?? true });
    } catch (err) {
      const cause = (err as { cause?: { code?: string } }).cause;
      if (cause?.code === 'LEVEL_LOCKED') {
        throw new S3migError('S3MIG_STATE_LOCKED', `the job database ${location} is held by another s3mig process`, { cause: err });
      }
      const why = cause?.code === 'LEVEL_INVALID_ARGUMENT' || /does not exist/.test(String((cause as Error | undefined)?.message)) ? 'it does not exist' : oneLine(err);
      throw new S3migError('S3MIG_STATE_UNREADABLE', `cannot open the job database ${location}: ${why}`, { cause: err });
    }
    const sub = (name: string) => db.sublevel<string, string>(name, { keyEncoding: 'utf8', valueEncoding: 'utf8' }) as unknown as Sub;
    const jobDb = new JobDb(db, { source: sub('src'), dest: sub('dst') }, sub('meta'));
    await jobDb.checkSchema(location);
    return jobDb;
  }

  private async checkSchema(location: string): Promise<void> {
    const found = await this.meta.get('schema');
    if (found === undefined) {
      await this.meta.put('schema', String(SCHEMA_VERSION));
    } else if (found !== String(SCHEMA_VERSION)) {
      await this.db.close();
      throw new S3migError(
        'S3MIG_STATE_UNREADABLE',
        `the job database ${location} has schema version ${found}; this s3mig reads version ${SCHEMA_VERSION}`,
      );
    }
  }

  /**
   * Writes one batch of entries to a side, and with it (in the same atomic LevelDB batch) a metadata
   * record such as that side's checkpoint. Within and across batches the last entry of a key wins.
   */
  async writeEntries(side: Side, entries: readonly ObjectEntry[], meta?: { key: string; value: unknown }): Promise<void> {
    const sub = this.sides[side];
    const ops = new Array<BatchOp>(entries.length);
    for (let i = 0; i < entries.length; i++) {
      const e = entries[i]!;
      ops[i] = { type: 'put', sublevel: sub, key: e.key, value: encodeEntryValue(e) };
    }
    if (meta) ops.push({ type: 'put', sublevel: this.meta, key: meta.key, value: JSON.stringify(meta.value) });
    await (this.db as unknown as { batch(ops: BatchOp[]): Promise<void> }).batch(ops);
  }

  /**
   * A side's entries in key order, `batchSize` at a time, the next batch read while this one is used;
   * with `after`, only the keys after it (a comparison checkpoint).
   */
  async *entries(side: Side, batchSize = 1000, after?: string): EntrySource {
    const it = this.sides[side].iterator({
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
        for (let i = 0; i < rows.length; i++) batch[i] = decodeEntryValue(rows[i]![0], rows[i]![1]);
        yield batch;
      }
    } finally {
      if (pending) await pending.catch(() => undefined);
      await it.close();
    }
  }

  async getMeta(key: string): Promise<string | undefined> {
    return this.meta.get(key);
  }

  async putMeta(key: string, value: string): Promise<void> {
    await this.meta.put(key, value);
  }

  /** A JSON metadata record (checkpoints); undefined when absent. */
  async getJson<T>(key: string): Promise<T | undefined> {
    const v = await this.meta.get(key);
    return v === undefined ? undefined : (JSON.parse(v) as T);
  }

  async putJson(key: string, value: unknown): Promise<void> {
    await this.meta.put(key, JSON.stringify(value));
  }

  async close(): Promise<void> {
    await this.db.close();
  }
}
