// Ingests a live target into its side of the job's LevelDB: the key space split into ranges, listed by a
// pool of workers, each range's entries written in batches together with that range's checkpoint (its
// last key), so that a resumed job continues every range where it stopped and lists nothing twice.
import { isDiskFull, isS3migError, oneLine, throwIfAborted } from '../core/errors.ts';
import type { SideName } from '../core/summary.ts';
import { encodeEntryValue } from '../core/entry-codec.ts';
import type { SideDb } from '../store/side-db.ts';
import { listRange, planRanges, type KeyRange, type ListTarget } from '../s3/list.ts';
import { s3CodeOf } from '../s3/errors.ts';
import { errnoOf } from '../s3/retry.ts';
import type { EventInput } from './events.ts';
import { failpoint } from './failpoint.ts';
import { INGEST_CHECKPOINT_KEY, type IngestCheckpoint } from './ingest.ts';
import { UnitProgress, finishSide, runUnits } from './range-ingest.ts';

export interface RangeCheckpoint extends KeyRange {
  /** The last key stored (full S3 key); the range continues after it. */
  after: string | null;
  entries: number;
  bytes: number;
  done: boolean;
  /** Set when the range failed after its retries: the side is incomplete. */
  error?: string;
}

interface RangePlanRecord {
  count: number;
  basis: string;
}

const PLAN_KEY = 'ranges';
const rangeKey = (i: number) => `range:${String(i).padStart(5, '0')}`;

export interface LiveIngestOptions {
  concurrency: number;
  /** Entries per LevelDB batch (and checkpoint) per range. */
  batchEntries: number;
  emit: (event: EventInput) => void;
  signal?: AbortSignal;
  /** Stop (without finishing the side) once this many entries are stored: the estimate. */
  stopAfterEntries?: number;
}

export interface LiveIngestResult {
  entries: number;
  bytes: number;
  /** Every range was listed to its end (errors included). */
  finished: boolean;
  checkpoint?: IngestCheckpoint;
}

async function loadOrPlan(db: SideDb, side: SideName, t: ListTarget, options: LiveIngestOptions): Promise<RangeCheckpoint[]> {
  const plan = await db.getJson<RangePlanRecord>(PLAN_KEY);
  if (plan) {
    const ranges: RangeCheckpoint[] = [];
    for (let i = 0; i < plan.count; i++) ranges.push((await db.getJson<RangeCheckpoint>(rangeKey(i)))!);
    return ranges;
  }
  const found = await planRanges(t, options.concurrency, {
    ...(options.signal ? { signal: options.signal } : {}),
    onRetry: (err, attempt, delayMs) =>
      options.emit({ type: 'log', level: 'warn', side, code: 'S3MIG_S3_RETRY', message: `${side}: ${s3CodeOf(err)} planning key ranges; retry ${attempt} in ${delayMs} ms` }),
  });
  const ranges = found.ranges.map((r) => ({ ...r, after: null, entries: 0, bytes: 0, done: false }));
  // The plan and every range's starting checkpoint land together: a resume always sees all of them.
  const batch = db.batch();
  for (let i = 0; i < ranges.length; i++) batch.putJson(rangeKey(i), ranges[i]);
  await batch.write({ key: PLAN_KEY, value: { count: ranges.length, basis: found.basis } satisfies RangePlanRecord });
  options.emit({ type: 'log', level: 'info', side, message: `${side}: listing ${ranges.length} key range(s) with ${options.concurrency} lister(s), split by ${found.basis}` });
  return ranges;
}

/** Lists a live side into the store from its checkpoints; returns when done, stopped at the estimate limit, or throws on a stop request. */
export async function ingestLive(db: SideDb, side: SideName, t: ListTarget, options: LiveIngestOptions): Promise<LiveIngestResult> {
  const { emit, signal } = options;
  const finalCp = await db.getJson<IngestCheckpoint>(INGEST_CHECKPOINT_KEY);
  if (finalCp?.done) return { entries: finalCp.entries, bytes: finalCp.bytes, finished: true, checkpoint: finalCp };
  const ranges = await loadOrPlan(db, side, t, options);
  const total = () => ranges.reduce((a, r) => ({ entries: a.entries + r.entries, bytes: a.bytes + r.bytes }), { entries: 0, bytes: 0 });
  const resumedWith = total().entries;
  if (resumedWith > 0 && options.stopAfterEntries === undefined) {
    emit({ type: 'log', level: 'info', side, message: `${side}: continuing ${ranges.filter((r) => !r.done).length} of ${ranges.length} range(s) (${resumedWith.toLocaleString('en-US')} entries stored)` });
  }
  const progress = new UnitProgress(side, emit, () => ({ ...total(), unitsDone: ranges.filter((r) => r.done).length, unitsTotal: ranges.length }));
  progress.start(resumedWith);
  const limitReached = () => options.stopAfterEntries !== undefined && total().entries >= options.stopAfterEntries;

  // Workers stop taking pages once one fails hard (a stop request, a full disk): the others land their batches.
  const queue = ranges.map((_, i) => i).filter((i) => !ranges[i]!.done);
  await runUnits(queue, options.concurrency, signal, async (i, inner) => {
    if (limitReached()) return false;
    const cp = ranges[i]!;
    let batch = db.batch();
    let pending = { ...cp };
    let flushing = false;
    const flush = async (next: RangeCheckpoint) => {
      flushing = true;
      failpoint('ingest:before-batch');
      const full = batch;
      batch = db.batch();
      await full.write({ key: rangeKey(i), value: next });
      ranges[i] = next;
      failpoint('ingest:after-batch');
      flushing = false;
      progress.tick();
    };
    try {
      for await (const page of listRange(t, cp, cp.after, {
        signal: inner.signal,
        onRetry: (err, attempt, delayMs) =>
          emit({ type: 'log', level: 'warn', side, code: 'S3MIG_S3_RETRY', message: `${side}: ${s3CodeOf(err)} listing after ${JSON.stringify(pending.after ?? cp.lo ?? '')}; retry ${attempt} in ${delayMs} ms` }),
      })) {
        for (const e of page.entries) {
          batch.put(e.key, encodeEntryValue(e));
          pending.entries++;
          pending.bytes += e.size;
        }
        if (page.lastKey !== null) pending.after = page.lastKey;
        if (page.done) pending.done = true;
        if (page.done || batch.length >= options.batchEntries || inner.signal.aborted || limitReached()) {
          await flush(pending);
          pending = { ...pending };
        }
        throwIfAborted(inner.signal);
        if (limitReached() && !pending.done) {
          queue.unshift(i); // not finished: the inventory phase continues it
          return false;
        }
      }
    } catch (err) {
      if (inner.signal.aborted || (isS3migError(err) && (err.code === 'S3MIG_PAUSED' || err.code === 'S3MIG_CANCELED'))) {
        if (batch.length > 0) await flush(pending).catch(() => undefined);
        throw err;
      }
      if (flushing || !isListingFailure(err)) {
        inner.abort(err);
        throw err;
      }
      // The range could not be listed even with retries: what was listed stays, the side is incomplete.
      const message = `range ${describeRange(cp)}: ${oneLine(err)} (${s3CodeOf(err)})`;
      emit({ type: 'log', level: 'error', side, code: 'S3MIG_LISTING_INCOMPLETE', message: `${side} listing error: ${message}` });
      await flush({ ...pending, done: true, error: message });
    }
    return true;
  });
  throwIfAborted(signal);
  const { entries, bytes } = total();
  if (!ranges.every((r) => r.done)) {
    progress.report(false);
    return { entries, bytes, finished: false };
  }
  const failures = ranges.filter((r) => r.error).map((r) => ({ error: r.error!, gap: { after: r.after, lo: r.lo, hi: r.hi } }));
  const checkpoint = await finishSide(db, { entries, bytes }, failures);
  progress.report(true);
  return { entries, bytes, finished: true, checkpoint };
}

function describeRange(r: KeyRange): string {
  return `[${r.lo === null ? 'start' : JSON.stringify(r.lo)}, ${r.hi === null ? 'end' : JSON.stringify(r.hi)})`;
}

/** Failures that make a range incomplete rather than stop the job: S3 and network errors. */
function isListingFailure(err: unknown): boolean {
  if (isS3migError(err)) return err.code === 'S3MIG_S3_REQUEST';
  if (isDiskFull(err)) return false;
  const e = err as { $metadata?: unknown; name?: string };
  return e?.$metadata !== undefined || errnoOf(err) !== undefined || e?.name === 'TimeoutError';
}
