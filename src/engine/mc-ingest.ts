// Ingests a live side through `mc ls --json` (the mc engine). mc ls has no StartAfter, so the unit of
// resume is a first-level folder: one non-recursive listing of the target gives its top-level objects
// and folders (the plan), then each folder is listed recursively by a pool of mc processes; each batch
// of a folder lands with that folder's checkpoint, and a folder interrupted half way is cleared and
// listed again on resume. An error object or a failed exit makes the folder (or the side) incomplete.
import { S3migError, throwIfAborted } from '../core/errors.ts';
import { encodeEntryValue } from '../core/entry-codec.ts';
import type { ObjectEntry } from '../core/entry.ts';
import type { KeyGap } from '../core/fix-plan.ts';
import type { SideName } from '../core/summary.ts';
import type { InventoryBatch, SideDb } from '../store/side-db.ts';
import type { McContext } from '../mc/context.ts';
import { describeMcFailure, listMc } from '../mc/ls.ts';
import type { McLsMessage } from '../mc/messages.ts';
import type { EventInput } from './events.ts';
import { failpoint } from './failpoint.ts';
import { INGEST_CHECKPOINT_KEY, type IngestCheckpoint } from './ingest.ts';
import { UnitProgress, finishSide, runUnits } from './range-ingest.ts';

export interface McSideTarget {
  ctx: McContext;
  alias: string;
  bucket: string;
  /** '' or a folder ending in '/'; keys are stored relative to it. */
  prefix: string;
}

/** The target's folder (or a folder under it) as mc names it, always ending in '/'. */
export function mcFolderUrl(t: McSideTarget, relativeFolder = ''): string {
  return `${t.alias}/${t.bucket}/${t.prefix}${relativeFolder}`;
}

interface PlanRecord {
  units: number;
  rootEntries: number;
  rootBytes: number;
  rootError?: string;
}

interface UnitRecord {
  /** A first-level folder, relative to the target's prefix, ending in '/'. */
  prefix: string;
  entries: number;
  bytes: number;
  /** Some of its entries are stored: a restart clears them first. */
  started: boolean;
  done: boolean;
  error?: string;
}

const PLAN_KEY = 'mc:plan';
const ROOT_KEY = 'mc:root';
const UNIT_PREFIX = 'mc:unit:';
const unitKey = (i: number) => `${UNIT_PREFIX}${String(i).padStart(8, '0')}`;

/** The first key after every key under `folder` (which ends in '/', the byte before '0'). */
export function folderEnd(folder: string): string {
  return folder.slice(0, -1) + '0';
}

export interface McIngestOptions {
  concurrency: number;
  batchEntries: number;
  emit: (event: EventInput) => void;
  signal?: AbortSignal;
}

/**
 * mc reads an alias it does not know as a local path and lists nothing, with exit 0 (mc-json.md §1).
 * s3mig passes every alias in MC_HOST_<alias>, and this checks that mc listed a server, not a folder.
 */
function checkListedServer(m: McLsMessage, url: string): void {
  if (!/^https?:\/\//.test(m.url)) {
    throw new S3migError('S3MIG_MC_FAILED', `mc listed ${url} as the local path ${JSON.stringify(m.url)}, not a bucket: its alias did not reach mc`);
  }
}

/** Writes entries and checkpoints in order, one batch in flight; the listing is never paused for it. */
class BatchChain {
  private tail: Promise<void> = Promise.resolve();
  private failed: unknown;

  constructor(private readonly db: SideDb) {}

  batch(): InventoryBatch {
    return this.db.batch();
  }

  send(batch: InventoryBatch, meta: { key: string; value: unknown }, after?: () => void): void {
    this.tail = this.tail.then(async () => {
      if (this.failed !== undefined) return;
      try {
        failpoint('ingest:before-batch');
        await batch.write(meta);
        after?.();
        failpoint('ingest:after-batch');
      } catch (err) {
        this.failed = err;
      }
    });
  }

  async drain(): Promise<void> {
    await this.tail;
    if (this.failed !== undefined) throw this.failed;
  }
}

/** Lists a side into the store through mc, from its checkpoints; returns the side's final checkpoint. */
export async function ingestMc(db: SideDb, side: SideName, t: McSideTarget, options: McIngestOptions): Promise<IngestCheckpoint> {
  const { emit, signal } = options;
  const finalCp = await db.getJson<IngestCheckpoint>(INGEST_CHECKPOINT_KEY);
  if (finalCp?.done) return finalCp;

  let plan = await db.getJson<PlanRecord>(PLAN_KEY);
  const units: UnitRecord[] = [];
  let rootLive = { entries: 0, bytes: 0 };
  const total = () =>
    units.reduce((a, u) => ({ entries: a.entries + u.entries, bytes: a.bytes + u.bytes }), {
      entries: plan ? plan.rootEntries : rootLive.entries,
      bytes: plan ? plan.rootBytes : rootLive.bytes,
    });
  // The top level is a unit of its own, done once the plan is stored.
  const progress = new UnitProgress(side, emit, () => ({ ...total(), unitsDone: units.filter((u) => u.done).length + (plan ? 1 : 0), unitsTotal: units.length + 1 }));
  const tick = () => progress.tick();

  if (!plan) {
    plan = await listRoot(db, side, t, options, (live) => {
      rootLive = live;
      tick();
    });
  }
  for (let i = 0; i < plan.units; i++) units.push((await db.getJson<UnitRecord>(unitKey(i)))!);
  const stored = total().entries;
  if (stored > 0 && units.some((u) => u.started || u.done)) {
    emit({ type: 'log', level: 'info', side, message: `${side}: continuing ${units.filter((u) => !u.done).length} of ${units.length} folder(s) with mc (${stored.toLocaleString('en-US')} entries stored)` });
  } else {
    emit({ type: 'log', level: 'info', side, message: `${side}: listing ${plan.rootEntries.toLocaleString('en-US')} top-level object(s) and ${units.length} folder(s) with mc, ${Math.min(options.concurrency, Math.max(1, units.length))} at a time` });
  }
  progress.start(stored);

  const queue = units.map((_, i) => i).filter((i) => !units[i]!.done);
  await runUnits(queue, options.concurrency, signal, async (i, inner) => {
    throwIfAborted(inner.signal);
    await listUnit(db, side, t, options, units, i, inner.signal, tick).catch((err: unknown) => {
      inner.abort(err);
      throw err;
    });
    return true;
  }).catch((err: unknown) => {
    throwIfAborted(signal); // a stop request wins over what it caused
    throw err;
  });
  throwIfAborted(signal);

  const base = t.prefix;
  const failures: { error: string; gap: KeyGap }[] = [];
  if (plan.rootError) failures.push({ error: plan.rootError, gap: { after: null, lo: base === '' ? null : base, hi: base === '' ? null : folderEnd(base) } });
  for (const u of units) if (u.error) failures.push({ error: u.error, gap: { after: null, lo: base + u.prefix, hi: base + folderEnd(u.prefix) } });
  const checkpoint = await finishSide(db, total(), failures);
  progress.report(true);
  return checkpoint;
}

/** The non-recursive listing of the target: its objects are stored, its folders become the plan's units. */
async function listRoot(
  db: SideDb,
  side: SideName,
  t: McSideTarget,
  options: McIngestOptions,
  onProgress: (live: { entries: number; bytes: number }) => void,
): Promise<PlanRecord> {
  // Nothing of an unfinished root listing can be trusted: start the side afresh.
  await db.clearEntries();
  await db.clearMeta(UNIT_PREFIX);
  const url = mcFolderUrl(t);
  const chain = new BatchChain(db);
  let batch = chain.batch();
  let units = 0;
  let entries = 0;
  let bytes = 0;
  let checked = false;
  const flush = () => {
    chain.send(batch, { key: ROOT_KEY, value: { entries, bytes, units } });
    batch = chain.batch();
  };
  const r = await listMc(t.ctx, url, {
    recursive: false,
    ...(options.signal ? { signal: options.signal } : {}),
    onEntry: (e: ObjectEntry, m: McLsMessage) => {
      if (!checked) {
        checkListedServer(m, url);
        checked = true;
      }
      if (m.entryType === 'folder' && e.key.endsWith('/') && e.key.indexOf('/') === e.key.length - 1) {
        batch.putJson(unitKey(units++), { prefix: e.key, entries: 0, bytes: 0, started: false, done: false } satisfies UnitRecord);
      } else {
        batch.put(e.key, encodeEntryValue(e));
        entries++;
        bytes += e.size;
      }
      if (batch.length >= options.batchEntries) {
        flush();
        onProgress({ entries, bytes });
      }
    },
  }).catch(async (err: unknown) => {
    await chain.drain().catch(() => undefined);
    throw err;
  });
  if (options.signal?.aborted) await chain.drain().catch(() => undefined);
  throwIfAborted(options.signal);
  const plan: PlanRecord = { units, rootEntries: entries, rootBytes: bytes };
  if (!r.ok) {
    plan.rootError = `top level ${url}: ${describeMcFailure('ls', r)}`;
    options.emit({ type: 'log', level: 'error', side, code: 'S3MIG_LISTING_INCOMPLETE', message: `${side} listing error: ${plan.rootError}` });
  }
  // The plan lands with the last batch: a resume finds either all of the top level or none of it.
  chain.send(batch, { key: PLAN_KEY, value: plan });
  await chain.drain();
  return plan;
}

/** Lists one first-level folder recursively into the store; a failure is recorded in its unit, not thrown. */
async function listUnit(
  db: SideDb,
  side: SideName,
  t: McSideTarget,
  options: McIngestOptions,
  units: UnitRecord[],
  i: number,
  signal: AbortSignal,
  tick: () => void,
): Promise<void> {
  let unit = units[i]!;
  if (unit.started) {
    // mc ls cannot start after a key: what this folder stored is cleared and it is listed again.
    await db.clearEntries({ gte: unit.prefix, lt: folderEnd(unit.prefix) });
    unit = { ...unit, entries: 0, bytes: 0, started: false };
    await db.putJson(unitKey(i), unit);
    units[i] = unit;
  }
  const url = mcFolderUrl(t, unit.prefix);
  const chain = new BatchChain(db);
  let batch = chain.batch();
  let pending = { ...unit };
  const flush = (next: UnitRecord) => {
    chain.send(batch, { key: unitKey(i), value: next }, () => {
      units[i] = next;
      tick();
    });
    batch = chain.batch();
  };
  let checked = false;
  const r = await listMc(t.ctx, url, {
    recursive: true,
    signal,
    onEntry: (e: ObjectEntry, m: McLsMessage) => {
      if (!checked) {
        checkListedServer(m, url);
        checked = true;
      }
      // Keys come relative to the listed folder; mc names the folder's own marker object "/" (an
      // empty relative key with a folder's slash), so it is the folder itself.
      const own = m.entryType === 'folder' && (e.key === '' || e.key === '/');
      const key = own ? unit.prefix : unit.prefix + e.key;
      batch.put(key, encodeEntryValue({ ...e, key, ...(key.endsWith('/') && e.size === 0 ? { folder: true } : {}) }));
      pending.entries++;
      pending.bytes += e.size;
      pending.started = true;
      if (batch.length >= options.batchEntries) {
        flush(pending);
        pending = { ...pending };
      }
    },
  }).catch(async (err: unknown) => {
    await chain.drain().catch(() => undefined);
    throw err;
  });
  if (signal.aborted) {
    if (batch.length > 0) flush(pending);
    await chain.drain().catch(() => undefined);
    throwIfAborted(signal);
  }
  const done: UnitRecord = { ...pending, done: true };
  if (!r.ok) {
    if (r.interrupted && !r.errors.length) throw new S3migError('S3MIG_MC_FAILED', `mc ls ${url} was stopped from outside s3mig`);
    done.error = `folder ${url}: ${describeMcFailure('ls', r)}`;
    options.emit({ type: 'log', level: 'error', side, code: 'S3MIG_LISTING_INCOMPLETE', message: `${side} listing error: ${done.error}` });
  }
  flush(done);
  await chain.drain();
}
