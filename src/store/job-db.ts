// A job's LevelDB (design §4): the source and destination inventories, each in a database of its own,
// and the job's metadata (schema, checkpoints of both sides and of the comparison, timings) in a third.
import { access } from 'node:fs/promises';
import { join } from 'node:path';
import { Level } from 'level';
import { S3migError, oneLine } from '../core/errors.ts';
import { SideDb, prefixEnd, subOf, type Sub } from './side-db.ts';

export type Side = 'source' | 'dest';

/**
 * Bumped whenever the layout or the value encoding changes; an older or newer job is refused.
 * 2: db/main, db/source and db/dest; 1 was one database with both sides in it.
 */
export const SCHEMA_VERSION = 2;

/**
 * LevelDB's options, measured with `npm run bench` (1,000,000 entries per side, a database per side):
 * - a write buffer of 8 MiB per database: the default 4 MiB took 10.6 s and 190 MB, 8 MiB 9-10 s and
 *   205-220 MB, 32 MiB 10.4-11 s and 260-280 MB (the buffers of both sides, and what malloc keeps of
 *   those freed, weigh more than they save);
 * - tables of at most 1 MiB (LevelDB's smallest) where compactions write them: a table is mapped into
 *   memory whole while it is open, and LevelDB keeps up to 64 open;
 * - open files: LevelDB keeps at least 64 tables open whatever is asked; 32 asks for that least.
 */
const LEVEL_OPTIONS = { maxOpenFiles: 32, writeBufferSize: 8 * 1024 * 1024, maxFileSize: 1024 * 1024 };

/**
 * Opens a LevelDB with utf8 keys and values, mapping its failures to one-line S3MIG errors that name
 * the job's database as `name`.
 */
async function openLevel(location: string, create: boolean, name: string): Promise<Level<string, string>> {
  const db = new Level<string, string>(location, { keyEncoding: 'utf8', valueEncoding: 'utf8', ...LEVEL_OPTIONS });
  try {
    await db.open({ createIfMissing: create });
  } catch (err) {
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    if (cause?.code === 'LEVEL_LOCKED' || /lock/i.test(String(cause?.message))) {
      throw new S3migError('S3MIG_STATE_LOCKED', `the job database ${name} is held by another s3mig process`, { cause: err });
    }
    const why = /does not exist/.test(String(cause?.message)) ? 'it does not exist' : oneLine(cause ?? err);
    throw new S3migError('S3MIG_STATE_UNREADABLE', `cannot open the job database ${name}: ${why}`, { cause: err });
  }
  return db;
}

function schemaRefused(location: string, found: string): S3migError {
  return new S3migError('S3MIG_STATE_UNREADABLE', `the job database ${location} has schema version ${found}; this s3mig reads version ${SCHEMA_VERSION}`);
}

/** Refuses a database written by another schema version; stamps a new one. */
async function checkSchema(db: Level<string, string>, meta: Sub, location: string): Promise<void> {
  const found = await meta.get('schema');
  if (found === undefined) {
    await meta.put('schema', String(SCHEMA_VERSION));
  } else if (found !== String(SCHEMA_VERSION)) {
    await db.close();
    throw schemaRefused(location, found);
  }
}

/** A job of schema 1 kept everything in one LevelDB at `location` itself: refused, with the version it says. */
async function refuseSingleDatabase(location: string): Promise<void> {
  const exists = await access(join(location, 'CURRENT')).then(
    () => true,
    () => false,
  );
  if (!exists) return;
  const old = await openLevel(location, false, location);
  const found = await subOf(old, 'meta').get('schema').finally(() => old.close());
  throw schemaRefused(location, found ?? '1');
}

/**
 * The job's LevelDBs: `main` with the sublevel `meta` for the schema, the checkpoints and timings, and
 * one per side (`source`, `dest`) holding that side's entries, keyed by object key, and their seals.
 *
 * Entries in a database of their own: the two sides, ingested at once, never share a table, and no
 * record kept at a fixed key (a checkpoint, written with every batch) makes every table span the whole
 * key space. A listing in key order (as mc and S3 list) is then stored without LevelDB ever rewriting
 * it: its tables only move down the levels. With both sides and their checkpoints in one database every
 * table overlapped every other and compactions rewrote the inventories several times over, which took
 * more time than the ingestion's own work. Each batch of a side is written with that side's checkpoint
 * in one atomic batch of the side's database, as a seal (SideDb); the checkpoint is then copied into
 * `meta`, and opening the job copies the seals the process did not get to.
 */
export class JobDb {
  private constructor(
    private readonly db: Level<string, string>,
    private readonly meta: Sub,
    private readonly sides: Record<Side, SideDb>,
    private readonly levels: Record<Side, Level<string, string>>,
  ) {}

  /** Opens (or, with create, makes) a job's database; one process at a time holds it (else S3MIG_STATE_LOCKED). */
  static async open(location: string, options: { create?: boolean } = {}): Promise<JobDb> {
    const create = options.create ?? true;
    await refuseSingleDatabase(location);
    const db = await openLevel(join(location, 'main'), create, location);
    const opened: Level<string, string>[] = [db];
    try {
      const meta = subOf(db, 'meta');
      await checkSchema(db, meta, location);
      const levels = {} as Record<Side, Level<string, string>>;
      const sides = {} as Record<Side, SideDb>;
      for (const side of ['source', 'dest'] as const) {
        const level = await openLevel(join(location, side), create, location);
        opened.push(level);
        levels[side] = level;
        sides[side] = new SideDb(level, meta, `${side}:`);
        await sides[side].recover();
      }
      return new JobDb(db, meta, sides, levels);
    } catch (err) {
      for (const level of opened) await level.close().catch(() => undefined);
      throw err;
    }
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
    await this.meta.del(key);
  }

  /** Removes every metadata record whose key starts with `prefix` (stored re-check outcomes, say). */
  async clearMeta(prefix: string): Promise<void> {
    await this.meta.clear({ gte: prefix, lt: prefixEnd(prefix) });
  }

  /** Writes several metadata records in one atomic batch. */
  async putMetaMany(records: readonly (readonly [string, string])[]): Promise<void> {
    if (records.length === 0) return;
    await this.meta.batch(records.map(([key, value]) => ({ type: 'put' as const, key, value })));
  }

  /** Metadata records from `gte` (inclusive) to `lt` (exclusive), in key order, a thousand at a time. */
  async *metaEntries(gte: string, lt: string): AsyncGenerator<[string, string][]> {
    const it = this.meta.iterator({ gte, lt, highWaterMarkBytes: 1024 * 1024 });
    try {
      for (let rows = await it.nextv(1000); rows.length > 0; rows = await it.nextv(1000)) yield rows;
    } finally {
      await it.close();
    }
  }

  /**
   * Closes and opens the sides' databases again: LevelDB then lets go of the tables it mapped into memory
   * to read them (up to 64 per database, whole), which a long read would otherwise keep.
   */
  async reopenSides(): Promise<void> {
    // Both at once: the first reopening after an ingestion replays each side's log into a table.
    await Promise.all(
      [this.levels.source, this.levels.dest].map(async (level) => {
        await level.close();
        await level.open({ createIfMissing: false });
      }),
    );
  }

  async close(): Promise<void> {
    await Promise.all([this.db.close(), this.levels.source.close(), this.levels.dest.close()]);
  }
}
