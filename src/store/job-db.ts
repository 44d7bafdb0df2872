// A job's LevelDB (design §4): sublevels for the source and destination inventories and for metadata (schema, checkpoints, timings).
import { Level } from 'level';
import { S3migError, oneLine } from '../core/errors.ts';
import { SideDb, subOf, type Sub } from './side-db.ts';

export type Side = 'source' | 'dest';

/** Bumped whenever the layout or the value encoding changes; an older or newer job is refused. */
export const SCHEMA_VERSION = 1;

/**
 * LevelDB's defaults keep every table open and memory-mapped (1,000 files), so resident memory grows
 * with the inventories; a small table cache keeps it flat at the cost of reopening tables now and then.
 */
const LEVEL_OPTIONS = { maxOpenFiles: 32 };

/** Opens a LevelDB with utf8 keys and values, mapping its failures to one-line S3MIG errors. */
async function openLevel(location: string, create: boolean): Promise<Level<string, string>> {
  const db = new Level<string, string>(location, { keyEncoding: 'utf8', valueEncoding: 'utf8', ...LEVEL_OPTIONS });
  try {
    await db.open({ createIfMissing: create });
  } catch (err) {
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    if (cause?.code === 'LEVEL_LOCKED' || /lock/i.test(String(cause?.message))) {
      throw new S3migError('S3MIG_STATE_LOCKED', `the job database ${location} is held by another s3mig process`, { cause: err });
    }
    const why = /does not exist/.test(String(cause?.message)) ? 'it does not exist' : oneLine(cause ?? err);
    throw new S3migError('S3MIG_STATE_UNREADABLE', `cannot open the job database ${location}: ${why}`, { cause: err });
  }
  return db;
}

/** Refuses a database written by another schema version; stamps a new one. */
async function checkSchema(db: Level<string, string>, meta: Sub, location: string): Promise<void> {
  const found = await meta.get('schema');
  if (found === undefined) {
    await meta.put('schema', String(SCHEMA_VERSION));
  } else if (found !== String(SCHEMA_VERSION)) {
    await db.close();
    throw new S3migError('S3MIG_STATE_UNREADABLE', `the job database ${location} has schema version ${found}; this s3mig reads version ${SCHEMA_VERSION}`);
  }
}

/** The first key after every key that starts with `prefix` (whose last character is ASCII, as all of ours). */
export function prefixEnd(prefix: string): string {
  return prefix.slice(0, -1) + String.fromCharCode(prefix.charCodeAt(prefix.length - 1) + 1);
}

/** The job's LevelDB: sublevels `src` and `dst` for the inventories, `meta` for the schema, checkpoints and timings. */
export class JobDb {
  private constructor(
    private readonly db: Level<string, string>,
    private readonly meta: Sub,
    private readonly sides: Record<Side, SideDb>,
  ) {}

  /** Opens (or, with create, makes) a job's database; one process at a time holds it (else S3MIG_STATE_LOCKED). */
  static async open(location: string, options: { create?: boolean } = {}): Promise<JobDb> {
    const db = await openLevel(location, options.create ?? true);
    const meta = subOf(db, 'meta');
    await checkSchema(db, meta, location);
    const side = (s: Side, name: string) => new SideDb(db, subOf(db, name), meta, `${s}:`);
    return new JobDb(db, meta, { source: side('source', 'src'), dest: side('dest', 'dst') });
  }

  /** A side's inventory and checkpoint. */
  side(side: Side): SideDb {
    return this.sides[side];
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

  async delMeta(key: string): Promise<void> {
    await (this.meta as unknown as { del(key: string): Promise<void> }).del(key);
  }

  /** Removes every metadata record whose key starts with `prefix` (stored re-check outcomes, say). */
  async clearMeta(prefix: string): Promise<void> {
    await (this.meta as unknown as { clear(o: { gte: string; lt: string }): Promise<void> }).clear({ gte: prefix, lt: prefixEnd(prefix) });
  }

  /** Writes several metadata records in one atomic batch. */
  async putMetaMany(records: readonly (readonly [string, string])[]): Promise<void> {
    if (records.length === 0) return;
    const ops = records.map(([key, value]) => ({ type: 'put' as const, key, value }));
    await (this.meta as unknown as { batch(o: typeof ops): Promise<void> }).batch(ops);
  }

  /** Metadata records from `gte` (inclusive) to `lt` (exclusive), in key order, a thousand at a time. */
  async *metaEntries(gte: string, lt: string): AsyncGenerator<[string, string][]> {
    const it = (this.meta as unknown as {
      iterator(o: { gte: string; lt: string; highWaterMarkBytes: number }): { nextv(n: number): Promise<[string, string][]>; close(): Promise<void> };
    }).iterator({ gte, lt, highWaterMarkBytes: 1024 * 1024 });
    try {
      for (let rows = await it.nextv(1000); rows.length > 0; rows = await it.nextv(1000)) yield rows;
    } finally {
      await it.close();
    }
  }

  async close(): Promise<void> {
    await this.db.close();
  }
}
