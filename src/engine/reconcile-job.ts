// Reconcile jobs: ingest both listings into LevelDB, merge-join them, write the reports; resumable at every batch.
import { mkdir, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { JobRecord, TargetRecord } from '../core/job-record.ts';
import type { JobState } from '../core/job-state.ts';
import { S3migError, isDiskFull, isS3migError, linkedAbort, oneLine, throwIfAborted } from '../core/errors.ts';
import { reconcile } from '../core/reconcile.ts';
import { RateMeter, etaSeconds } from '../core/rate.ts';
import { buildSummary, type ReviewMarkCounts, type SideName, type SideSummary, type Summary } from '../core/summary.ts';
import { Tally, type CategoryCounts, type ExcludedCounts } from '../core/tally.ts';
import { makeKeyFilter, verdictFilter } from '../core/filters.ts';
import { inGaps, planFor } from '../core/fix-plan.ts';
import { mapPool } from '../core/pool.ts';
import { JobDb } from '../store/job-db.ts';
import { createJobDir, jobPaths, newJobId, readJobRecord, type JobPaths } from '../store/state-dir.ts';
import { readMarks } from '../store/marks.ts';
import { parseTarget, type Target } from '../targets/target.ts';
import { ReportSet, reportFilesIn, type ReportFiles, type ReportOffsets } from '../report/report-set.ts';
import { fixScriptHeader } from '../report/fix-script.ts';
import { writeSummaryFile } from '../report/summary-file.ts';
import { EventBus, type EventInput } from './events.ts';
import { JobHandle } from './job-handle.ts';
import { failpoint } from './failpoint.ts';
import { INGEST_CHECKPOINT_KEY, PROGRESS_INTERVAL_MS, ingestListing, type IngestCheckpoint } from './ingest.ts';
import { describeFsError, estimateInventory, readInventory } from '../targets/inventory-file.ts';
import type { Strategy, SideEstimate, JobOptions, MigrateOptions } from '../core/job-record.ts';
// The S3 engine (the AWS SDK) loads only for jobs with a live target: it doubles the start-up time.
import type { LiveEnv, LiveSide } from './live-targets.ts';
// Each is imported once: a dynamic import() goes through the module loader (a thread hop under tsx) every call.
function once<T>(load: () => Promise<T>): () => Promise<T> {
  let p: Promise<T> | undefined;
  return () => (p ??= load());
}
const liveTargets = once(() => import('./live-targets.ts'));
const liveIngest = once(() => import('./live-ingest.ts'));
const s3Objects = once(() => import('../s3/objects.ts'));
const mcEngine = once(() => import('./mc-engine.ts'));
const mcIngest = once(() => import('./mc-ingest.ts'));
const crossChecks = once(() => import('./cross-check.ts'));
const transfers = once(() => import('./transfer.ts'));
const fixJobs = once(() => import('./fix-job.ts'));
import type { Verdict } from '../core/reconcile.ts';

export interface ReconcileRequest {
  source: string;
  dest: string;
  stateDir: string;
  /** Default: ./s3mig-reports/<job-id>/ under cwd; stored absolute. */
  reportDir?: string;
  /** Write `mc rm` lines and delete actions for extras (never for an incomplete run). */
  deleteExtras?: boolean;
  cwd?: string;
  bus?: EventBus;
  signal?: AbortSignal;
  /** Live targets: ranges listed at once per side (default 8). */
  listConcurrency?: number;
  insecure?: boolean;
  caBundle?: string;
  /** Where aliases resolve from (default: this process's environment and home). */
  aliasEnv?: LiveEnv;
  /** The engine for live targets (default auto: mc when the MinIO client is on PATH). */
  engine?: 'auto' | 'mc' | 'native';
  /** Also run `mc diff` over both live targets and report where it disagrees. */
  crossCheck?: 'mc-diff';
  /** The mc executable (default `mc` on PATH). */
  mcPath?: string;
}

export interface JobRequest {
  stateDir: string;
  id: string;
  bus?: EventBus;
  signal?: AbortSignal;
  aliasEnv?: LiveEnv;
  /** The mc executable for jobs of the mc engine (default `mc` on PATH). */
  mcPath?: string;
}

/** Objects above which a job runs large-scale (design §8). */
export const LARGE_SCALE_THRESHOLD = 100_000;
export const DEFAULT_LIST_CONCURRENCY = 8;

type LiveSides = Partial<Record<SideName, LiveSide>>;

/** Keys between comparison checkpoints (and progress events). */
export const COMPARE_CHECKPOINT_KEYS = 10_000;
/**
 * Keys compared between fresh openings of the sides' databases. Reading maps each table whole into the
 * process's memory until LevelDB closes it, which for a large side would be the whole inventory;
 * reopening costs a few milliseconds and bounds that to about this many keys' tables.
 */
export const READ_WINDOW_KEYS = 250_000;
/** Settings of the comparison that tests and benchmarks may change (a small window exercises the reopening). */
export const compareTuning = { readWindowKeys: READ_WINDOW_KEYS };
export const COMPARE_KEY = 'compare';
export const TIMINGS_KEY = 'timings';

interface CompareCheckpoint {
  /** Every key up to and including lastKey has its verdict in the counts and the files. */
  lastKey: string | null;
  counts: CategoryCounts;
  bytes: CategoryCounts;
  excluded?: ExcludedCounts;
  offsets: ReportOffsets;
  /** Review marks in the rows up to lastKey. */
  reviewMarks?: ReviewMarkCounts;
  done: boolean;
}

export interface Timings {
  transferMs?: number;
  ingestMs: number;
  compareMs: number;
}

export const SIDES = ['source', 'dest'] as const;

function recordOf(target: Target): TargetRecord {
  return target.kind === 'inventory'
    ? { spec: target.spec, kind: 'inventory', path: target.path }
    : { spec: target.spec, kind: 'live', alias: target.alias, bucket: target.bucket, prefix: target.prefix };
}

function inventoryName(record: TargetRecord): string {
  return record.spec.slice('inventory:'.length);
}

/** Checks that a target can be read and returns what identifies its current content. */
async function validateTarget(side: SideName, record: TargetRecord): Promise<TargetRecord['fingerprint']> {
  try {
    const st = await stat(record.path!);
    if (st.isDirectory()) throw Object.assign(new Error('is a directory'), { code: 'EISDIR' });
    return { size: st.size, mtimeMs: st.mtimeMs };
  } catch (err) {
    throw new S3migError('S3MIG_INVENTORY_UNREADABLE', `cannot read ${side} inventory file ${inventoryName(record)}: ${describeFsError(err)}`, {
      cause: err,
    });
  }
}

/** Ingests both sides at once, each from its checkpoint; the first failure stops the other. */
async function ingestBoth(job: JobHandle, db: JobDb, live: LiveSides, signal: AbortSignal | undefined): Promise<void> {
  const ac = linkedAbort(signal);
  const one = async (side: SideName): Promise<IngestCheckpoint> => {
    const record = job.record[side];
    const estimated = job.record.strategy?.estimate[side];
    // Progress against the estimate, with the time left at the current rate.
    const emit = (e: EventInput) => {
      if (e.type !== 'inventory:progress' || !estimated || estimated.objects <= 0) return job.emit(e);
      const total = Math.max(estimated.objects, e.entries);
      job.emit({ ...e, totalEntries: total, etaSeconds: e.done ? 0 : etaSeconds(total - e.entries, e.rate) });
    };
    try {
      const lister = live[side];
      if (lister?.mc) {
        const { ingestMc } = await mcIngest();
        return await ingestMc(db.side(side), side, lister.mc, {
          concurrency: job.record.strategy?.listConcurrency ?? job.record.options.listConcurrency ?? DEFAULT_LIST_CONCURRENCY,
          batchEntries: job.record.strategy?.batchEntries ?? 10_000,
          emit,
          signal: ac.signal,
        });
      }
      if (lister) {
        const { ingestLive } = await liveIngest();
        const done = await ingestLive(db.side(side), side, lister.target, {
          concurrency: job.record.strategy?.listConcurrency ?? job.record.options.listConcurrency ?? DEFAULT_LIST_CONCURRENCY,
          batchEntries: job.record.strategy?.batchEntries ?? 10_000,
          emit,
          signal: ac.signal,
        });
        return done.checkpoint!;
      }
      return await ingestListing(
        db.side(side),
        side,
        (start, sink) => readInventory(record.path!, { name: inventoryName(record), signal: ac.signal, start, sink }),
        { emit, signal: ac.signal },
      );
    } catch (err) {
      ac.abort(err);
      throw err;
    }
  };
  try {
    const settled = await Promise.allSettled([one('source'), one('dest')]);
    const failures = settled.filter((s): s is PromiseRejectedResult => s.status === 'rejected').map((s) => s.reason);
    // The error that stopped the other side wins over the stop it caused there.
    if (failures.length > 0) throw ac.signal.aborted && !signal?.aborted ? ac.signal.reason : failures[0];
  } finally {
    ac.dispose();
  }
}

/** What fix.sh and the fix plan may do: deletions only when asked for and when both listings are complete. */
function scriptOptionsOf(job: JobHandle, ingested: Record<SideName, IngestCheckpoint>): { complete: boolean; deleteExtras: boolean } {
  return { complete: ingested.source.errorCount === 0 && ingested.dest.errorCount === 0, deleteExtras: job.record.options.deleteExtras };
}

export async function ingestResults(db: JobDb): Promise<Record<SideName, IngestCheckpoint> | undefined> {
  const source = await db.side('source').getJson<IngestCheckpoint>(INGEST_CHECKPOINT_KEY);
  const dest = await db.side('dest').getJson<IngestCheckpoint>(INGEST_CHECKPOINT_KEY);
  return source?.done && dest?.done ? { source, dest } : undefined;
}

export interface CompareContext {
  job: JobHandle;
  db: JobDb;
  files: ReportFiles;
  ingested: Record<SideName, IngestCheckpoint>;
  signal?: AbortSignal;
  /** Record checkpoints (a job's own reports) or not (`s3mig report` into another folder). */
  checkpoints: boolean;
  /** Live sides, for re-checking ETag mismatches with HEAD (absent: stored re-checks only). */
  live?: LiveSides;
}

const RECHECK_PREFIX = 'recheck:';
const RECHECK_CONCURRENCY = 16;

/**
 * Design §5: an ETag mismatch found live is re-checked with HEAD (mc stat with the mc engine); an SSE-KMS
 * or SSE-C object's ETag is not an MD5, so such a key becomes unverified. The outcome is stored, so a
 * resumed comparison or a rewritten report decides the same way without asking the servers again.
 */
async function recheckEtags(ctx: CompareContext, verdicts: Verdict[]): Promise<void> {
  const todo: Verdict[] = [];
  for (const v of verdicts) {
    const stored = await ctx.db.getMeta(RECHECK_PREFIX + v.key);
    if (stored === undefined) todo.push(v);
    else if (stored !== 'plain') v.category = 'unverified';
  }
  const live = ctx.live;
  if (todo.length === 0 || !live || (!live.source && !live.dest)) return;
  const { headObject, isEncryptedForEtag } = await s3Objects();
  const opts = ctx.signal ? { signal: ctx.signal } : {};
  const heads = await Promise.all(
    SIDES.map(async (side): Promise<(Parameters<typeof isEncryptedForEtag>[0] | null)[]> => {
      const l = live[side];
      if (!l) return todo.map(() => null);
      const fullKeys = todo.map((v) => l.target.prefix + v.key);
      if (l.mc) return (await mcEngine()).statKeys(l, fullKeys, ctx.signal);
      return mapPool(fullKeys, RECHECK_CONCURRENCY, (k) => headObject(l.conn, l.target.bucket, k, opts));
    }),
  );
  for (let i = 0; i < todo.length; i++) {
    const v = todo[i]!;
    let outcome = 'plain';
    SIDES.forEach((side, s) => {
      const head = heads[s]![i];
      if (head && isEncryptedForEtag(head)) outcome = `${side}:${head.serverSideEncryption ?? head.sseCustomerAlgorithm ?? 'encrypted'}`;
    });
    if (ctx.checkpoints) await ctx.db.putMeta(RECHECK_PREFIX + v.key, outcome);
    if (outcome !== 'plain') v.category = 'unverified';
  }
}

/** Merge-joins the two inventories into the report files, from the last comparison checkpoint on. */
export async function compare(ctx: CompareContext): Promise<{ tally: Tally; reports: ReportSet | undefined }> {
  const { job, db, files, ingested, signal } = ctx;
  const scriptOptions = scriptOptionsOf(job, ingested);
  // Where a live range failed, a key that looks missing or extra may simply not have been listed.
  const sourceGaps = ingested.source.gaps ?? [];
  const destGaps = ingested.dest.gaps ?? [];
  const sourcePrefix = job.record.source.prefix ?? '';
  const destPrefix = job.record.dest.prefix ?? '';
  let saved = ctx.checkpoints ? await db.getJson<CompareCheckpoint>(COMPARE_KEY) : undefined;
  if (saved?.done) return { tally: new Tally(saved), reports: undefined };

  await mkdir(files.dir, { recursive: true });
  // Review marks (marks.ndjson, which other processes append to) are read once, as the report writing
  // starts: the map holds the keys an operator marked, never the objects, so it stays small.
  const marks = await readMarks(job.paths.dir);
  let reports = saved ? await ReportSet.resume(files, scriptOptions, saved.offsets, { marks, ...(saved.reviewMarks ? { counted: saved.reviewMarks } : {}) }) : undefined;
  if (!reports) {
    if (saved) job.emit({ type: 'log', level: 'warn', message: 'report files of the interrupted comparison are gone; comparing from the start' });
    saved = undefined;
    const header = fixScriptHeader({ jobId: job.id, source: job.record.source, dest: job.record.dest, ...scriptOptions });
    reports = await ReportSet.create(files, scriptOptions, header, { marks });
  }
  const tally = new Tally(saved);
  if (saved?.lastKey != null) {
    job.emit({ type: 'log', level: 'info', message: `compare: continuing after key ${JSON.stringify(saved.lastKey)} (${tally.keys.toLocaleString('en-US')} keys compared)` });
  }
  const meter = new RateMeter();
  const totalEntries = ingested.source.entries + ingested.dest.entries;
  const started = Date.now();
  let lastKey = saved?.lastKey ?? null;
  let sinceCheckpoint = 0;
  let lastEmit = started;

  const progress = (done: boolean) => {
    const entries = tally.counts.source + tally.counts.dest;
    const t = Date.now();
    const rate = meter.sample(entries, t);
    lastEmit = t;
    job.emit({
      type: 'compare:progress',
      keys: tally.keys,
      entries,
      totalEntries,
      rate: Math.round(rate),
      etaSeconds: done ? 0 : etaSeconds(totalEntries - entries, rate),
      counts: { ...tally.counts },
      done,
    });
  };
  const checkpoint = async (done: boolean) => {
    if (!ctx.checkpoints) return;
    failpoint('compare:before-checkpoint');
    const offsets = await reports!.offsets();
    const cp: CompareCheckpoint = { lastKey, counts: tally.counts, bytes: tally.bytes, excluded: tally.excluded, offsets, reviewMarks: { ...reports!.reviewMarks }, done };
    await db.putJson(COMPARE_KEY, cp);
    failpoint('compare:after-checkpoint');
  };

  try {
    meter.sample(tally.counts.source + tally.counts.dest, started);
    const filter = verdictFilter(job.record.options.filter);
    const anyLive = job.record.source.kind === 'live' || job.record.dest.kind === 'live';
    // Every readWindowKeys keys the read stops and starts again after the last key, with the sides'
    // databases opened afresh: LevelDB keeps every table it read mapped into memory until it closes it.
    for (let again = true; again; ) {
      again = false;
      let sinceReopen = 0;
      const after = lastKey ?? undefined;
      for await (let verdicts of reconcile(db.side('source').entries(1000, after), db.side('dest').entries(1000, after), { ordered: true })) {
        lastKey = verdicts[verdicts.length - 1]!.key;
        sinceCheckpoint += verdicts.length;
        // Keys the migration's filters leave out are counted apart and never reported.
        if (filter) verdicts = verdicts.filter((v) => filter.keep(v) || (tally.exclude(v), false));
        // ETag mismatches are re-checked (HEAD, or mc stat), many at once, before they are counted.
        const toRecheck = verdicts.filter((v) => v.category === 'etagMismatch');
        // Only a job with a live side has re-checks (stored or to make); a job of two files skips the lookups.
        if (toRecheck.length > 0 && anyLive) await recheckEtags(ctx, toRecheck);
        for (const v of verdicts) {
          tally.add(v);
          if (v.category !== 'matched') {
            const unknown =
              (v.category === 'missing' && destGaps.length > 0 && inGaps(destPrefix + v.key, destGaps)) ||
              (v.category === 'extra' && sourceGaps.length > 0 && inGaps(sourcePrefix + v.key, sourceGaps));
            const full = reports.write(v, unknown ? null : planFor(v, scriptOptions));
            if (full) await full;
          }
        }
        if (sinceCheckpoint >= (job.record.strategy?.checkpointKeys ?? COMPARE_CHECKPOINT_KEYS)) {
          sinceCheckpoint = 0;
          await checkpoint(false);
          progress(false);
        } else if (Date.now() - lastEmit >= PROGRESS_INTERVAL_MS) {
          progress(false);
        }
        if (signal?.aborted) {
          await checkpoint(false);
          await reports.suspend();
          throwIfAborted(signal);
        }
        sinceReopen += verdicts.length;
        if (sinceReopen >= compareTuning.readWindowKeys) {
          again = true;
          break;
        }
      }
      if (again) await db.reopenSides();
    }
    await checkpoint(true);
    progress(true);
    return { tally, reports };
  } catch (err) {
    reports.abort();
    throw err;
  }
}

/** Moves the report files into place, writes summary.json and ends the job in its final state. */
export async function finishReports(
  ctx: Omit<CompareContext, 'signal'>,
  tally: Tally,
  reports: ReportSet | undefined,
  timings: Timings,
  startedAt: number,
): Promise<Summary> {
  const { job, db, files, ingested } = ctx;
  const reportStart = Date.now();
  // The marks the rows carry: counted as they were written (kept in the checkpoint across a resume).
  const reviewMarks = reports ? reports.reviewMarks : (await db.getJson<CompareCheckpoint>(COMPARE_KEY))?.reviewMarks;
  if (reports) {
    await reports.commit(() => failpoint('report:before-rename'));
  } else if (!(await ReportSet.committed(files))) {
    // A resumed report phase: the comparison is done; finish the files from its final offsets.
    const cp = (await db.getJson<CompareCheckpoint>(COMPARE_KEY))!;
    const reopened = await ReportSet.resume(files, scriptOptionsOf(job, ingested), cp.offsets);
    if (!reopened) {
      throw new S3migError('S3MIG_STATE_UNREADABLE', `the report files in ${files.dir} are gone; rewrite them with: s3mig report ${job.id}`);
    }
    await reopened.commit(() => failpoint('report:before-rename'));
  }
  const incomplete = SIDES.flatMap((side) => {
    const i = ingested[side];
    return i.errorCount > 0 ? [{ side, message: i.errors[0]! + (i.errorCount > 1 ? ` (+${i.errorCount - 1} more)` : '') }] : [];
  });
  const sideSummary = (name: SideName): SideSummary => {
    const { fingerprint: _f, ...target } = job.record[name];
    return { ...target, entries: ingested[name].entries, complete: ingested[name].errorCount === 0 };
  };
  const crossCheck = job.record.options.crossCheck ? await (await crossChecks()).writeCrossCheck(db, files) : undefined;
  const migrate = job.record.kind === 'migrate' ? job.record.options.migrate : undefined;
  const transfer = migrate ? await (await transfers()).currentTransfer(db) : undefined;
  const finishedAt = Date.now();
  const summary = buildSummary({
    job: job.id,
    source: sideSummary('source'),
    dest: sideSummary('dest'),
    counts: tally.counts,
    bytes: tally.bytes,
    ...(reviewMarks ? { reviewMarks } : {}),
    incomplete,
    startedAt,
    finishedAt,
    ingestMs: timings.ingestMs,
    compareMs: timings.compareMs,
    reportMs: finishedAt - reportStart,
    peakRssBytes: process.resourceUsage().maxRSS * 1024,
    ...(job.record.strategy ? { strategy: job.record.strategy } : {}),
    ...(crossCheck ? { crossCheck } : {}),
    excluded: tally.excluded,
    kind: job.record.kind,
    ...(transfer ? { transfer } : {}),
    ...(timings.transferMs !== undefined ? { transferMs: timings.transferMs } : {}),
    ...(migrate?.fix ? { fixRounds: job.record.fixRound ?? 0 } : {}),
    reports: files,
  });
  failpoint('report:before-summary');
  await writeSummaryFile(files.summary, summary);
  job.emit({
    type: 'report:written',
    files: [files.summary, files.differencesNdjson, files.differencesCsv, files.fixScript, files.fixPlan, ...(crossCheck ? [crossCheck.file] : [])],
  });
  if (crossCheck && crossCheck.disagreements > 0) {
    job.emit({ type: 'log', level: 'warn', message: `cross-check: mc diff disagrees with s3mig on ${crossCheck.disagreements} key(s); see ${crossCheck.file}` });
  }
  for (const side of SIDES) {
    if (summary.duplicates[side] > 0) {
      job.emit({ type: 'log', level: 'warn', side, message: `${summary.duplicates[side]} duplicate key(s) in the ${side} listing; the last entry of each was kept` });
    }
  }
  if (summary.counts.unverified > 0) {
    job.emit({ type: 'log', level: 'warn', message: `${summary.counts.unverified} key(s) unverified: same size, ETags not comparable` });
  }
  return summary;
}

/** Runs a job from whatever state it is in to its end; every phase continues from its checkpoints. */
async function drive(job: JobHandle, signal: AbortSignal | undefined, held?: JobDb, aliasEnv: LiveEnv = {}, mcPath?: string): Promise<Summary> {
  const startedAt = Date.parse(job.record.createdAt);
  let db: JobDb | undefined = held;
  const live: LiveSides = {};
  try {
    const usesMc = job.record.options.engine === 'mc' || job.record.options.crossCheck !== undefined;
    if (usesMc) await (await mcEngine()).checkMc(mcPath ?? 'mc').catch((err: unknown) => notNow(job, err));
    if (job.record.state === 'paused') await job.setState(job.record.pausedIn!, 'resumed');
    if (job.record.state === 'initializing') await job.setState('validating');
    if (job.record.state === 'validating') {
      const records = { source: job.record.source, dest: job.record.dest };
      for (const side of SIDES) {
        const record = records[side];
        if (record.kind === 'live') {
          const opened = await (await liveTargets()).validateLive(side, record, job.record.options, aliasEnv);
          live[side] = opened;
          records[side] = opened.record;
          job.emit({ type: 'log', level: 'info', side, message: `${side}: ${record.spec} is bucket "${opened.record.bucket}" on ${opened.record.endpoint} (${opened.alias.origin}, region ${opened.record.region})` });
        } else {
          records[side] = { ...record, fingerprint: await validateTarget(side, record) };
        }
      }
      await job.setState('estimating', undefined, records);
    }
    for (const side of SIDES) {
      const record = job.record[side];
      if (record.kind === 'live' && !live[side]) live[side] = (await liveTargets()).reopenLive(side, record, job.record.options, aliasEnv);
    }
    const options = job.record.options;
    const mcCtx =
      (live.source || live.dest) && (options.engine === 'mc' || options.crossCheck)
        ? await (await mcEngine()).attachMc(live, options, mcPath, options.engine === 'mc').catch((err: unknown) => notNow(job, err))
        : undefined;
    db ??= await JobDb.open(job.paths.db);
    const timings = (await db.getJson<Timings>(TIMINGS_KEY)) ?? { ingestMs: 0, compareMs: 0 };

    if (job.record.state === 'estimating') {
      const t0 = Date.now();
      const strategy = await estimate(job, db, live, signal);
      timings.ingestMs += Date.now() - t0;
      await db.putJson(TIMINGS_KEY, timings);
      await job.setState('preparing', strategy.reason, { strategy });
    }
    if (job.record.state === 'preparing') await job.setState(job.record.kind === 'migrate' ? 'transferring' : 'collecting-inventory');
    if (job.record.state === 'transferring') {
      const t0 = Date.now();
      await transferPhase(job, db, live, signal);
      timings.transferMs = (timings.transferMs ?? 0) + Date.now() - t0;
      await db.putJson(TIMINGS_KEY, timings);
      await job.setState('collecting-inventory');
    }
    if (job.record.state === 'collecting-inventory') {
      const t0 = Date.now();
      for (const side of SIDES) await checkUnchanged(side, job.record[side]);
      if (mcCtx && options.crossCheck && live.source && live.dest) {
        // mc diff lists both sides itself: it runs beside s3mig's listing, and either failing stops both.
        const both = { source: live.source, dest: live.dest };
        const ac = linkedAbort(signal);
        const stopOnFailure = <T>(p: Promise<T>) => p.catch((err: unknown) => { ac.abort(err); throw err; });
        try {
          const { runMcDiff } = await crossChecks();
          const settled = await Promise.allSettled([
            stopOnFailure(ingestBoth(job, db, live, ac.signal)),
            stopOnFailure(runMcDiff(db, mcCtx, both, (e) => job.emit(e), ac.signal)),
          ]);
          const failed = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
          if (failed) throw signal?.aborted ? signal.reason : ac.signal.reason ?? failed.reason;
        } finally {
          ac.dispose();
        }
      } else {
        await ingestBoth(job, db, live, signal);
      }
      timings.ingestMs += Date.now() - t0;
      await db.putJson(TIMINGS_KEY, timings);
      await job.setState('comparing');
    }
    const ingested = await ingestResults(db);
    if (!ingested) throw new S3migError('S3MIG_STATE_UNREADABLE', `job ${job.id} is ${job.record.state} but its inventories are not complete`);
    const files = reportFilesIn(job.record.options.reportDir);
    const ctx = { job, db, files, ingested, signal, checkpoints: true, live };

    let compared: { tally: Tally; reports: ReportSet | undefined } | undefined;
    if (job.record.state === 'comparing') {
      const t0 = Date.now();
      compared = await compare(ctx);
      timings.compareMs += Date.now() - t0;
      await db.putJson(TIMINGS_KEY, timings);
      await job.setState('generating-report');
    }
    let summary: Summary;
    if (job.record.state === 'fixing' && job.record.kind === 'migrate') {
      // A migration stopped in a fix round: the round goes on (keys it confirmed are not copied again).
      summary = await (await fixJobs()).fixRound(job, db, bothLive(job, live), fixRoundOptions(job, ingested, signal));
    } else {
      if (job.record.state !== 'generating-report') {
        throw new S3migError('S3MIG_JOB_NOT_RESUMABLE', `job ${job.id} is ${job.record.state}; there is nothing to continue`);
      }
      if (!compared) {
        const cp = await db.getJson<CompareCheckpoint>(COMPARE_KEY);
        if (!cp?.done) throw new S3migError('S3MIG_STATE_UNREADABLE', `job ${job.id} is generating its report but its comparison is not complete`);
        compared = { tally: new Tally(cp), reports: undefined };
      }
      summary = await finishReports(ctx, compared.tally, compared.reports, timings, startedAt);
    }
    summary = await fixLoop(job, db, live, summary, signal);
    await settleOutcome(job, summary);
    return summary;
  } catch (err) {
    throw await settleFailure(job, err);
  } finally {
    await releaseJob(live, db);
  }
}

/** What a run holds while it drives a job: the live sides' connections and the job's database. */
export async function releaseJob(live: LiveSides, db: JobDb | undefined): Promise<void> {
  for (const side of SIDES) live[side]?.conn.destroy();
  await db?.close().catch(() => undefined);
}

/** A migration's two live sides (migrations take no saved listings). */
function bothLive(job: JobHandle, live: LiveSides): Record<SideName, LiveSide> {
  if (!live.source || !live.dest) throw new S3migError('S3MIG_TARGET_UNSUPPORTED', `job ${job.id}: a migration needs two live targets`);
  return { source: live.source, dest: live.dest };
}

/** The transfer of a migration (transfer.ts): native copies from both listings, or mc mirror. */
async function transferPhase(job: JobHandle, db: JobDb, live: LiveSides, signal: AbortSignal | undefined): Promise<void> {
  const mig = job.record.options.migrate!;
  const { transferNative, transferMc, transferResult, clearListings } = await transfers();
  const ctx = { job, db, live: bothLive(job, live), ...(signal ? { signal } : {}) };
  if (!(await transferResult(db))) {
    if (job.record.options.engine === 'mc' && !mig.dryRun) {
      await transferMc(ctx);
    } else {
      await ingestBoth(job, db, live, signal);
      await transferNative(ctx, mig.concurrency);
    }
  }
  // A dry run changed nothing: its listings are the inventories. Otherwise both sides are listed again.
  if (!mig.dryRun) await clearListings(db);
}

function fixRoundOptions(job: JobHandle, ingested: Record<SideName, IngestCheckpoint>, signal: AbortSignal | undefined) {
  const mig = job.record.options.migrate!;
  const complete = ingested.source.errorCount === 0 && ingested.dest.errorCount === 0;
  return { deleteExtras: mig.deleteExtras && complete, concurrency: mig.concurrency, ...(signal ? { signal } : {}) };
}

/**
 * `migrate --fix`: while differences remain that a fix can act on, and rounds are left, copy them (and
 * delete extras with --delete-extras) and re-check; each round rewrites the reports.
 */
async function fixLoop(job: JobHandle, db: JobDb, live: LiveSides, summary: Summary, signal: AbortSignal | undefined): Promise<Summary> {
  const mig = job.record.options.migrate;
  if (!mig?.fix || mig.dryRun) return summary;
  for (;;) {
    const c = summary.counts;
    const actionable = c.missing + c.sizeMismatch + c.etagMismatch + (mig.deleteExtras && summary.complete ? c.extra : 0);
    const round = job.record.fixRound ?? 0;
    if (summary.outcome !== 'differences' || !summary.complete || actionable === 0 || round >= mig.maxFixRounds) {
      if (actionable > 0 && round >= mig.maxFixRounds) {
        job.emit({ type: 'log', level: 'warn', message: `fix: ${actionable} difference(s) left after ${round} round(s) (--max-fix-rounds ${mig.maxFixRounds})` });
      }
      return summary;
    }
    await db.side('dest').clearMeta('fix:');
    await job.setState('fixing', `fix round ${round + 1} of ${mig.maxFixRounds}: ${actionable} difference(s)`, { fixRound: round + 1 });
    const ingested = (await ingestResults(db))!;
    summary = await (await fixJobs()).fixRound(job, db, bothLive(job, live), fixRoundOptions(job, ingested, signal));
  }
}

/** mc was there when the job started: its absence now is this machine's problem, not the job's, which stays as it was. */
function notNow(job: JobHandle, err: unknown): never {
  const why = job.record.options.engine === 'mc' ? 'engine mc' : '--cross-check mc-diff';
  throw new S3migError('S3MIG_JOB_NOT_RESUMABLE', `job ${job.id} uses mc (${why}): ${oneLine(err)}; fix that and resume it`, { cause: err });
}

/** Ends a job in the state its summary calls for and announces the summary. */
export async function settleOutcome(job: JobHandle, summary: Summary): Promise<void> {
  failpoint('report:before-state');
  const result = {
    counts: summary.counts,
    complete: summary.complete,
    outcome: summary.outcome,
    exitCode: summary.exitCode,
    finishedAt: summary.timings.finishedAt,
  };
  if (summary.outcome === 'incomplete') {
    await job.setState('failed', 'a listing is incomplete', {
      ...result,
      error: { code: 'S3MIG_LISTING_INCOMPLETE', message: summary.incomplete.map((i) => `${i.side}: ${i.message}`).join('; ') },
    });
  } else {
    await job.setState(summary.outcome === 'clean' ? 'completed' : 'completed-with-differences', undefined, result);
  }
  job.emit({ type: 'summary', ...summary });
}

/**
 * Counts each side cheaply and picks the strategy. A live side is counted by listing it into its
 * inventory (nothing is listed twice: the inventory phase continues its ranges) and the count stops past
 * the large-scale threshold; an inventory file is sampled.
 */
async function estimate(job: JobHandle, db: JobDb, live: LiveSides, signal: AbortSignal | undefined): Promise<Strategy> {
  const listConcurrency = job.record.options.listConcurrency ?? DEFAULT_LIST_CONCURRENCY;
  const one = async (side: SideName): Promise<SideEstimate> => {
    const record = job.record[side];
    const lister = live[side];
    if (lister?.mc) return (await mcEngine()).estimateWithMc(lister, signal);
    if (lister) {
      const { ingestLive } = await liveIngest();
      const counted = await ingestLive(db.side(side), side, lister.target, {
        concurrency: listConcurrency,
        batchEntries: 1000,
        emit: (e) => job.emit(e),
        stopAfterEntries: LARGE_SCALE_THRESHOLD + 1,
        ...(signal ? { signal } : {}),
      });
      return counted.finished
        ? { objects: counted.entries, bytes: counted.bytes, exact: true, how: 'counted' }
        : { objects: counted.entries, bytes: counted.bytes, exact: false, how: `stopped counting past ${LARGE_SCALE_THRESHOLD.toLocaleString('en-US')}` };
    }
    return estimateInventory(record.path!, inventoryName(record));
  };
  const [source, dest] = await Promise.all([one('source'), one('dest')]);
  const large = source.objects > LARGE_SCALE_THRESHOLD;
  const count = `${source.exact ? '' : 'about '}${source.objects.toLocaleString('en-US')} source objects (${source.how})`;
  const [batchEntries, checkpointKeys] = large ? [10_000, 100_000] : [1000, COMPARE_CHECKPOINT_KEYS];
  const how = `batches of ${batchEntries.toLocaleString('en-US')} entries, a comparison checkpoint every ${checkpointKeys.toLocaleString('en-US')} keys, ${listConcurrency} lister(s) per side`;
  const strategy: Strategy = {
    name: large ? 'large-scale' : 'standard',
    reason: `${count}: ${large ? 'more than' : 'at most'} ${LARGE_SCALE_THRESHOLD.toLocaleString('en-US')}; ${how}`,
    batchEntries,
    checkpointKeys,
    listConcurrency,
    estimate: { source, dest },
  };
  job.emit({ type: 'strategy', ...strategy });
  return strategy;
}

/** A resumed job must read the same inputs it started with. */
async function checkUnchanged(side: SideName, record: TargetRecord): Promise<void> {
  if (record.kind === 'live') return;
  const now = await validateTarget(side, record);
  const was = record.fingerprint;
  if (was && now && (was.size !== now.size || was.mtimeMs !== now.mtimeMs)) {
    throw new S3migError(
      'S3MIG_INPUT_CHANGED',
      `${side} inventory file ${inventoryName(record)} changed since the job started (size ${was.size} -> ${now.size}); start a new reconcile`,
    );
  }
}

/** Records how a run stopped (paused, canceled or failed) and returns the error the caller should see. */
export async function settleFailure(job: JobHandle, err: unknown): Promise<unknown> {
  const state = job.record.state;
  const code = isS3migError(err) ? err.code : isDiskFull(err) ? 'S3MIG_DISK_FULL' : 'S3MIG_INTERNAL';
  const message = oneLine(err);
  const pause = code === 'S3MIG_PAUSED' || isDiskFull(err);
  if (pause && state !== 'paused') {
    const reason = isDiskFull(err) ? `disk full: ${message}` : message;
    job.emit({ type: 'log', level: isDiskFull(err) ? 'error' : 'warn', code, message: reason });
    await job.setState('paused', reason, { pausedIn: state, pauseReason: reason }).catch(() => undefined);
    return new S3migError('S3MIG_PAUSED', `job ${job.id} paused (${reason}); continue with: s3mig resume ${job.id}`, { cause: err });
  }
  if (code === 'S3MIG_STATE_LOCKED' || code === 'S3MIG_JOB_NOT_RESUMABLE') return err;
  job.emit({ type: 'log', level: 'error', code, message });
  const canceled = code === 'S3MIG_CANCELED';
  await job
    .setState(canceled ? 'canceled' : 'failed', message, { error: { code, message }, exitCode: 2, finishedAt: new Date().toISOString() })
    .catch(() => undefined);
  return err;
}

export interface MigrateRequest extends ReconcileRequest {
  /** Also replace destination objects whose size or comparable ETag differs. */
  overwrite?: boolean;
  /** Fix what the reconciliation finds, up to maxFixRounds rounds (default 3). */
  fix?: boolean;
  maxFixRounds?: number;
  /** List and report what would be copied; change nothing. */
  dryRun?: boolean;
  exclude?: string[];
  newerThan?: string;
  olderThan?: string;
  /** Copies in flight (native engine, default 16). */
  concurrency?: number;
  /** Upload limit in bytes per second (see JobOptions.limitUpload; parseRate reads `10MiB`). */
  limitUpload?: number;
}

export const DEFAULT_TRANSFER_CONCURRENCY = 16;
export const DEFAULT_MAX_FIX_ROUNDS = 3;

/** `s3mig migrate`: validate, estimate, transfer, reconcile, report, and with --fix fix and re-check. */
export async function runMigrate(req: MigrateRequest): Promise<Summary> {
  const cwd = req.cwd ?? process.cwd();
  for (const [side, spec] of [['source', req.source], ['destination', req.dest]] as const) {
    if (parseTarget(spec, cwd).kind !== 'live') {
      throw new S3migError('S3MIG_USAGE', `migrate needs a live ${side} (ALIAS/BUCKET[/PREFIX]), not ${spec}`);
    }
  }
  const rounds = req.maxFixRounds ?? DEFAULT_MAX_FIX_ROUNDS;
  if (!Number.isInteger(rounds) || rounds < 1 || rounds > 100) throw new S3migError('S3MIG_USAGE', `--max-fix-rounds must be a whole number from 1 to 100, not ${rounds}`);
  const filter = makeKeyFilter({ ...(req.exclude ? { exclude: req.exclude } : {}), ...(req.newerThan !== undefined ? { newerThan: req.newerThan } : {}), ...(req.olderThan !== undefined ? { olderThan: req.olderThan } : {}) }, Date.now());
  const migrate: MigrateOptions = {
    overwrite: req.overwrite ?? false,
    fix: req.fix ?? false,
    maxFixRounds: rounds,
    deleteExtras: req.deleteExtras ?? false,
    dryRun: req.dryRun ?? false,
    concurrency: req.concurrency ?? DEFAULT_TRANSFER_CONCURRENCY,
  };
  const limit = req.limitUpload;
  if (limit !== undefined && !(Number.isSafeInteger(limit) && limit >= 1)) {
    throw new S3migError('S3MIG_USAGE', `--limit-upload must be a whole number of bytes per second of at least 1, not ${limit}`);
  }
  return startJob(req, 'migrate', { migrate, ...(filter ? { filter } : {}), ...(limit !== undefined ? { limitUpload: limit } : {}) });
}

/** `s3mig reconcile`: creates the job and runs it. */
export async function runReconcile(req: ReconcileRequest): Promise<Summary> {
  return startJob(req, 'reconcile', {});
}

async function startJob(req: ReconcileRequest, kind: JobRecord['kind'], extra: Pick<JobOptions, 'migrate' | 'filter' | 'limitUpload'>): Promise<Summary> {
  const cwd = req.cwd ?? process.cwd();
  const targets = { source: parseTarget(req.source, cwd), dest: parseTarget(req.dest, cwd) };
  const anyLive = targets.source.kind === 'live' || targets.dest.kind === 'live';
  if (req.crossCheck && (targets.source.kind !== 'live' || targets.dest.kind !== 'live')) {
    throw new S3migError('S3MIG_USAGE', '--cross-check mc-diff needs two live targets (ALIAS/BUCKET[/PREFIX]); mc diff cannot read a saved inventory');
  }
  const decided = anyLive ? await (await mcEngine()).decideEngine(req.engine ?? 'auto', req.mcPath) : undefined;
  if (req.crossCheck && decided?.engine !== 'mc') await (await mcEngine()).checkMc(req.mcPath ?? 'mc');
  const created = new Date();
  const id = newJobId(created);
  const paths = await createJobDir(req.stateDir, id);
  const reportDir = resolve(cwd, req.reportDir ?? join('s3mig-reports', id));
  const record: JobRecord = {
    id,
    kind,
    source: recordOf(targets.source),
    dest: recordOf(targets.dest),
    options: {
      reportDir,
      deleteExtras: req.deleteExtras ?? false,
      listConcurrency: req.listConcurrency ?? DEFAULT_LIST_CONCURRENCY,
      ...(req.insecure ? { insecure: true } : {}),
      ...(req.caBundle ? { caBundle: resolve(cwd, req.caBundle) } : {}),
      ...(decided ? { engine: decided.engine } : {}),
      ...(req.crossCheck ? { crossCheck: req.crossCheck } : {}),
      ...extra,
    } satisfies JobOptions,
    state: 'initializing',
    createdAt: created.toISOString(),
    updatedAt: created.toISOString(),
    pid: process.pid,
  };
  const job = new JobHandle(record, paths, req.bus ?? new EventBus());
  try {
    await job.persist();
    job.emit({ type: 'job:created', source: record.source, dest: record.dest, stateDir: req.stateDir, jobDir: paths.dir, reportDir });
    if (decided?.note) job.emit({ type: 'log', level: 'info', message: decided.note });
    return await drive(job, req.signal, undefined, req.aliasEnv, req.mcPath);
  } finally {
    await job.close();
  }
}

/** Opens a job's database for this process; a job another process holds gets a one-line error naming it. */
export async function holdJobDb(record: JobRecord, paths: JobPaths, create = true): Promise<JobDb> {
  try {
    return await JobDb.open(paths.db, { create });
  } catch (err) {
    if (isS3migError(err) && err.code === 'S3MIG_STATE_LOCKED') {
      throw new S3migError('S3MIG_STATE_LOCKED', `job ${record.id} is held by another s3mig process (pid ${record.pid} per job.json)`, { cause: err });
    }
    throw err;
  }
}

const RESUMABLE: readonly JobState[] = ['initializing', 'validating', 'estimating', 'preparing', 'transferring', 'collecting-inventory', 'comparing', 'generating-report', 'paused'];

/** `s3mig resume JOB`: continues a paused or interrupted job where its checkpoints say it stopped. */
export async function resumeJob(req: JobRequest): Promise<Summary> {
  const record = await readJobRecord(req.stateDir, req.id);
  const inFix = record.state === 'fixing' || (record.state === 'paused' && record.pausedIn === 'fixing');
  if (inFix && record.kind !== 'migrate') {
    throw new S3migError('S3MIG_JOB_NOT_RESUMABLE', `job ${record.id} stopped while fixing; continue it with: s3mig fix ${record.id}`);
  }
  if (!RESUMABLE.includes(record.state) && !inFix) {
    const hint = record.state === 'failed' || record.state === 'canceled' ? 'start a new reconcile' : `rewrite its reports with: s3mig report ${record.id}`;
    throw new S3migError('S3MIG_JOB_NOT_RESUMABLE', `job ${record.id} is ${record.state}; nothing to resume (${hint})`);
  }
  const paths = jobPaths(req.stateDir, req.id);
  const job = new JobHandle(record, paths, req.bus ?? new EventBus());
  try {
    // Hold the job's database before anything else, so a job that another process runs is left alone.
    const db = await holdJobDb(record, paths);
    await job.persist({ pid: process.pid }).catch(async (err: unknown) => {
      await db.close();
      throw err;
    });
    job.emit({ type: 'log', level: 'info', message: `resuming job ${record.id} from ${record.state}` });
    return await drive(job, req.signal, db, req.aliasEnv, req.mcPath);
  } finally {
    await job.close();
  }
}

/** `s3mig report JOB`: writes every report again from the job's stored inventories, reading no input. */
export async function rewriteReports(req: JobRequest & { reportDir?: string; cwd?: string }): Promise<Summary> {
  const record = await readJobRecord(req.stateDir, req.id);
  const paths = jobPaths(req.stateDir, req.id);
  const job = new JobHandle(record, paths, req.bus ?? new EventBus());
  let db: JobDb | undefined;
  try {
    db = await holdJobDb(record, paths, false).catch((err: unknown) => {
      if (isS3migError(err) && err.code === 'S3MIG_STATE_LOCKED') throw err;
      throw new S3migError('S3MIG_JOB_NOT_RESUMABLE', `job ${record.id} has no stored inventories (${record.state})`, { cause: err });
    });
    const ingested = await ingestResults(db);
    if (!ingested) {
      throw new S3migError('S3MIG_JOB_NOT_RESUMABLE', `job ${record.id} has not finished its inventories (${record.state}); resume it first: s3mig resume ${record.id}`);
    }
    const dir = req.reportDir ? resolve(req.cwd ?? process.cwd(), req.reportDir) : record.options.reportDir;
    const files = reportFilesIn(dir);
    const ctx = { job, db, files, ingested, signal: req.signal, checkpoints: false };
    const t0 = Date.now();
    const { tally, reports } = await compare(ctx);
    const timings = (await db.getJson<Timings>(TIMINGS_KEY)) ?? { ingestMs: 0, compareMs: 0 };
    const summary = await finishReports(ctx, tally, reports, { ...timings, compareMs: Date.now() - t0 }, Date.parse(record.createdAt));
    job.emit({ type: 'log', level: 'info', message: `reports rewritten in ${dir}` });
    job.emit({ type: 'summary', ...summary });
    return summary;
  } finally {
    await db?.close().catch(() => undefined);
    await job.close();
  }
}
