// The transfer phase of a migration. Native: both sides are listed into the job's store, a merge-join
// picks what to copy (missing keys; with --overwrite also keys whose size or comparable ETag differs,
// never what the filters leave out), and a pool of workers copies them with per-object retries, each
// key's outcome stored, so a resumed transfer never copies twice what it confirmed and keys that still
// failed form the failed queue `s3mig retry` runs again. mc: one `mc mirror` (its lines mean started).
// Either way the reconciliation after the transfer is what confirms. Under --limit-upload the native
// copies share one token bucket (streamed copies only), and mc mirror gets mc's global --limit-upload.
import { createWriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { once as onceEvent } from 'node:events';
import { S3migError, isS3migError, oneLine, throwIfAborted, untilCanceled } from '../core/errors.ts';
import { mcTimeOf, verdictFilter } from '../core/filters.ts';
import { reconcile, type Verdict } from '../core/reconcile.ts';
import { RateMeter, etaSeconds } from '../core/rate.ts';
import type { JobDb } from '../store/job-db.ts';
import type { TransferSummary } from '../core/summary.ts';
import { copyObject, type CopyMethod } from '../s3/copy.ts';
import { uploadLimiterOf, type UploadLimiter } from '../s3/throttle.ts';
import { formatRate } from '../core/rate-limit.ts';
import { s3CodeOf } from '../s3/errors.ts';
import { sleep } from '../s3/retry.ts';
import { runMirror } from '../mc/mirror.ts';
import type { EngineEvent } from './events.ts';
import type { JobHandle } from './job-handle.ts';
import type { LiveSide } from './live-targets.ts';
import { failpoint } from './failpoint.ts';

export type { TransferSummary };

const PLAN_KEY = 'xfer-plan';
const DONE_KEY = 'xfer-done';
const OUTCOME_PREFIX = 'xfer:';
const OK = 'ok';
const MAX_SAMPLES = 20;
/** Tries of one object's copy, the first included; each copy's requests have their own retries too. */
export const OBJECT_ATTEMPTS = 3;
export const TRANSFER_PLAN_FILE = 'transfer-plan.ndjson';

export interface TransferContext {
  job: JobHandle;
  db: JobDb;
  live: { source: LiveSide; dest: LiveSide };
  signal?: AbortSignal;
}

type Progress = Omit<Extract<EngineEvent, { type: 'transfer:progress' }>, 'type' | 'ts' | 'jobId'>;

/** The transfer as it ended, or undefined while it has not. */
export async function transferResult(db: JobDb): Promise<TransferSummary | undefined> {
  return db.getJson<TransferSummary>(DONE_KEY);
}

/** Whether a verdict calls for a copy in the transfer. */
function wanted(v: Verdict, overwrite: boolean): boolean {
  return v.category === 'missing' || (overwrite && (v.category === 'sizeMismatch' || v.category === 'etagMismatch'));
}

/** The verdicts of the stored listings that the transfer copies, in key order. */
async function* copyPlan(ctx: TransferContext): AsyncGenerator<Verdict> {
  const options = ctx.job.record.options;
  const overwrite = options.migrate?.overwrite ?? false;
  const filter = verdictFilter(options.filter);
  for await (const verdicts of reconcile(ctx.db.side('source').entries(1000), ctx.db.side('dest').entries(1000), { ordered: true })) {
    for (const v of verdicts) if (wanted(v, overwrite) && (!filter || filter.keep(v))) yield v;
    throwIfAborted(ctx.signal);
  }
}

/** Counts the plan (once; stored) and, for a dry run, writes it as transfer-plan.ndjson in the report folder. */
async function planTransfer(ctx: TransferContext, dryRun: boolean): Promise<{ objects: number; bytes: number }> {
  const stored = await ctx.db.getJson<{ objects: number; bytes: number }>(PLAN_KEY);
  if (stored && !dryRun) return stored;
  let objects = 0;
  let bytes = 0;
  let out: ReturnType<typeof createWriteStream> | undefined;
  if (dryRun) {
    await mkdir(ctx.job.record.options.reportDir, { recursive: true });
    out = createWriteStream(join(ctx.job.record.options.reportDir, TRANSFER_PLAN_FILE));
  }
  try {
    for await (const v of copyPlan(ctx)) {
      objects++;
      bytes += v.source!.size;
      if (out && !out.write(JSON.stringify({ key: v.key, category: v.category, size: v.source!.size, action: 'copy' }) + '\n')) await onceEvent(out, 'drain');
    }
  } finally {
    if (out) await new Promise<void>((resolve, reject) => out.end((err?: Error | null) => (err ? reject(err) : resolve())));
  }
  const plan = { objects, bytes };
  await ctx.db.putJson(PLAN_KEY, plan);
  return plan;
}

/**
 * The native transfer, from the stored listings of both sides (the caller lists them first). A dry
 * run stops after the plan. Returns (and stores) what happened; a stop request throws at a key boundary.
 */
export async function transferNative(ctx: TransferContext, concurrency: number): Promise<TransferSummary> {
  const { job, db, signal } = ctx;
  const done = await transferResult(db);
  if (done) return done;
  const dryRun = job.record.options.migrate?.dryRun ?? false;
  const planned = await planTransfer(ctx, dryRun);
  const summary: TransferSummary = { engine: 'native', dryRun, planned, copied: 0, copiedBytes: 0, failed: 0, skipped: 0, failures: [] };
  if (dryRun) {
    job.emit({ type: 'log', level: 'info', message: `dry run: the transfer would copy ${planned.objects.toLocaleString('en-US')} object(s), ${planned.bytes.toLocaleString('en-US')} bytes (${TRANSFER_PLAN_FILE})` });
    await db.putJson(DONE_KEY, summary);
    return summary;
  }
  const limit = job.record.options.limitUpload;
  const limiter = uploadLimiterOf(job, limit);
  const limited = limit !== undefined ? `, streamed uploads limited to ${formatRate(limit)}/s` : '';
  job.emit({ type: 'log', level: 'info', message: `transfer: ${planned.objects.toLocaleString('en-US')} object(s) to copy, ${concurrency} at a time${limited}` });
  const meter = new RateMeter();
  const started = Date.now();
  meter.sample(0, started);
  let lastEmit = 0;
  let doneBytes = 0;
  /** Planned keys dealt with: copied, failed, or settled by an earlier run. */
  let dealt = 0;
  const progress = (final: boolean): void => {
    const now = Date.now();
    lastEmit = now;
    const rate = meter.sample(doneBytes, now);
    const p: Progress = {
      engine: 'native',
      objects: dealt,
      totalObjects: planned.objects,
      bytes: doneBytes,
      totalBytes: planned.bytes,
      copied: summary.copied,
      failed: summary.failed,
      skipped: summary.skipped,
      rate: Math.round(rate),
      etaSeconds: final ? 0 : etaSeconds(planned.bytes - doneBytes, rate),
      done: final,
    };
    job.emit({ type: 'transfer:progress', ...p });
  };

  const plan = copyPlan(ctx);
  let lock: Promise<unknown> = Promise.resolve();
  const take = async (): Promise<Verdict | undefined> => {
    for (;;) {
      const r = await plan.next();
      if (r.done) return undefined;
      const prior = await db.getMeta(OUTCOME_PREFIX + r.value.key);
      if (prior === undefined) return r.value;
      // Settled by an earlier run: copied, or in the failed queue for `s3mig retry`.
      summary.skipped++;
      dealt++;
      doneBytes += r.value.source!.size;
      if (prior !== OK) {
        summary.failed++;
        if (summary.failures.length < MAX_SAMPLES) summary.failures.push({ key: r.value.key, error: (JSON.parse(prior) as { error: string }).error });
      }
    }
  };
  const next = () => {
    const p = lock.then(take);
    lock = p.catch(() => undefined);
    return p;
  };
  const inFlight = untilCanceled(signal);
  const worker = async () => {
    for (let v = await next(); v; v = await next()) {
      throwIfAborted(signal);
      // A pause lets this copy finish and be recorded; a cancel stops it.
      const outcome = await copyWithRetries(ctx, v, inFlight, limiter);
      failpoint('transfer:after-copy');
      if (outcome.ok) {
        const note = limiter?.serverSideNote(outcome.method);
        if (note) job.emit({ type: 'log', level: 'info', message: note });
        summary.copied++;
        summary.copiedBytes += outcome.size;
        await db.putMeta(OUTCOME_PREFIX + v.key, OK);
      } else {
        summary.failed++;
        if (summary.failures.length < MAX_SAMPLES) summary.failures.push({ key: v.key, error: outcome.error });
        job.emit({ type: 'log', level: 'error', code: 'S3MIG_COPY_FAILED', message: `transfer: ${JSON.stringify(v.key)} failed after ${OBJECT_ATTEMPTS} tries: ${outcome.error}` });
        await db.putMeta(OUTCOME_PREFIX + v.key, JSON.stringify({ error: outcome.error }));
      }
      doneBytes += v.source!.size;
      dealt++;
      if (Date.now() - lastEmit >= 250) progress(false);
    }
  };
  try {
    const results = await Promise.allSettled(Array.from({ length: concurrency }, worker));
    const failure = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failure) throw failure.reason;
  } finally {
    await plan.return(undefined);
  }
  progress(true);
  const note = summary.skipped > 0 ? ` (${summary.skipped} settled by an earlier run)` : '';
  job.emit({
    type: 'log',
    level: summary.failed > 0 ? 'warn' : 'info',
    message: `transfer: ${summary.copied} copied, ${summary.failed} failed${note}${summary.failed > 0 ? `; run s3mig retry ${job.id} for the failed queue` : ''}`,
  });
  await db.putJson(DONE_KEY, summary);
  return summary;
}

/** One object's copy, tried OBJECT_ATTEMPTS times with exponential backoff and full jitter. */
async function copyWithRetries(
  ctx: TransferContext,
  v: Verdict,
  inFlight: AbortSignal | undefined,
  limiter: UploadLimiter | undefined,
): Promise<{ ok: true; size: number; method: CopyMethod } | { ok: false; error: string }> {
  const { live } = ctx;
  const signal = inFlight;
  const base = live.source.conn.retry.baseMs;
  let last = '';
  for (let attempt = 1; attempt <= OBJECT_ATTEMPTS; attempt++) {
    try {
      const r = await copyObject({
        src: live.source.conn,
        srcBucket: live.source.target.bucket,
        srcKey: live.source.target.prefix + v.key,
        dst: live.dest.conn,
        dstBucket: live.dest.target.bucket,
        dstKey: live.dest.target.prefix + v.key,
        // A listing names the storage class of every object; STANDARD where it names none.
        expected: { size: v.source!.size, etag: v.source!.etag, storageClass: v.source!.storageClass ?? 'STANDARD' },
        ...(limiter ? { throttle: limiter.bucket } : {}),
        ...(signal ? { signal } : {}),
      });
      return { ok: true, size: r.size, method: r.method };
    } catch (err) {
      if (signal?.aborted || (isS3migError(err) && (err.code === 'S3MIG_PAUSED' || err.code === 'S3MIG_CANCELED'))) throw err;
      if (ctx.signal?.aborted && attempt < OBJECT_ATTEMPTS) throw ctx.signal.reason; // paused: no new try
      last = `${oneLine(err)} (${s3CodeOf(err)})`;
      if (attempt < OBJECT_ATTEMPTS) {
        const delay = Math.random() * base * 2 ** attempt;
        ctx.job.emit({ type: 'log', level: 'warn', code: 'S3MIG_S3_RETRY', message: `transfer: ${JSON.stringify(v.key)}: ${last}; try ${attempt + 1} in ${Math.round(delay)} ms` });
        await sleep(delay, signal);
      }
    }
  }
  return { ok: false, error: last };
}

/** The failed queue: keys whose transfer failed after their retries, with the reason. */
export async function* failedQueue(db: JobDb): AsyncGenerator<{ key: string; error: string }> {
  for await (const rows of db.metaEntries(OUTCOME_PREFIX, 'xfer;')) {
    for (const [k, v] of rows) if (v !== OK) yield { key: k.slice(OUTCOME_PREFIX.length), error: (JSON.parse(v) as { error: string }).error };
  }
}

/** Marks a key of the failed queue as copied (by `s3mig retry`). */
export async function markTransferred(key: string, db: JobDb): Promise<void> {
  if ((await db.getMeta(OUTCOME_PREFIX + key)) !== undefined) await db.putMeta(OUTCOME_PREFIX + key, OK);
}

/**
 * The mc transfer: one `mc mirror` (with --overwrite when asked, and the job's filters), never killed by
 * a timer; its copy lines count as started, and only the reconciliation confirms them. A resumed job
 * runs mirror again, which skips what is already there.
 */
export async function transferMc(ctx: TransferContext): Promise<TransferSummary> {
  const { job, db, live, signal } = ctx;
  const done = await transferResult(db);
  if (done) return done;
  const options = job.record.options;
  const s = live.source.mc!;
  const d = live.dest.mc!;
  const f = options.filter;
  const limit = options.limitUpload;
  // One alias on both sides: mc copies server-side, which its --limit-upload does not slow (mc-json.md §3).
  const note = s.alias === d.alias ? uploadLimiterOf(job, limit)?.serverSideNote('server-copy') : undefined;
  if (note) job.emit({ type: 'log', level: 'info', message: note });
  let lastEmit = 0;
  const meter = new RateMeter();
  meter.sample(0, Date.now());
  const result = await runMirror({
    source: `${s.alias}/${s.bucket}/${s.prefix}`,
    dest: `${d.alias}/${d.bucket}/${d.prefix}`,
    flags: {
      ...(options.migrate?.overwrite ? { overwrite: true } : {}),
      ...(f && f.exclude.length > 0 ? { exclude: f.exclude } : {}),
      ...(f?.newerThanMs !== undefined ? { newerThan: mcTimeOf(f.newerThanMs) } : {}),
      ...(f?.olderThanMs !== undefined ? { olderThan: mcTimeOf(f.olderThanMs) } : {}),
      ...(limit !== undefined ? { limitUpload: formatRate(limit) } : {}),
    },
    env: s.ctx.env,
    mcPath: s.ctx.mcPath,
    globalFlags: s.ctx.globalFlags,
    ...(signal ? { signal } : {}),
    sourceBase: { endpoint: live.source.record.endpoint ?? live.source.alias.url, bucket: s.bucket, prefix: s.prefix },
    destBase: { endpoint: live.dest.record.endpoint ?? live.dest.alias.url, bucket: d.bucket, prefix: d.prefix },
    onDroppedFlag: (note) => job.emit({ type: 'log', level: 'warn', message: `mc mirror: ${note}` }),
    onKeyError: (e) => {
      if (e.kind !== 'overwrite-not-allowed') job.emit({ type: 'log', level: 'error', code: 'S3MIG_COPY_FAILED', message: `mc mirror: ${e.key !== undefined ? `${JSON.stringify(e.key)}: ` : ''}${[e.message, e.cause].filter(Boolean).join(': ')}` });
    },
    onProgress: (p) => {
      const now = Date.now();
      if (!p.done && now - lastEmit < 250) return;
      lastEmit = now;
      const rate = meter.sample(p.startedBytes, now);
      job.emit({
        type: 'transfer:progress',
        engine: 'mc',
        objects: p.startedObjects,
        totalObjects: p.queuedObjects,
        bytes: p.startedBytes,
        totalBytes: p.queuedBytes,
        copied: 0,
        started: p.startedObjects,
        failed: p.errors,
        skipped: p.overwriteSkipped,
        rate: Math.round(rate),
        etaSeconds: p.done ? 0 : etaSeconds(p.queuedBytes - p.startedBytes, rate),
        done: p.done,
      });
    },
  });
  throwIfAborted(signal);
  if (result.interrupted) throw new S3migError('S3MIG_MC_FAILED', `mc mirror was stopped from outside s3mig (exit ${result.exitCode ?? result.signal})`);
  const summary: TransferSummary = {
    engine: 'mc',
    dryRun: false,
    copied: 0,
    copiedBytes: 0,
    started: result.progress.startedObjects,
    startedBytes: result.progress.startedBytes,
    failed: result.keyErrors.filter((e) => e.kind === 'copy-failed').length,
    skipped: result.progress.overwriteSkipped,
    failures: result.keyErrors.slice(0, MAX_SAMPLES).map((e) => ({ key: e.key ?? e.url ?? '', error: [e.message, e.cause].filter(Boolean).join(': ') })),
    ...(result.failure ? { failure: result.failure } : {}),
  };
  job.emit({
    type: 'log',
    level: result.ok ? 'info' : 'warn',
    message: `transfer: mc mirror started ${summary.started} copies${result.ok ? '' : `, then failed: ${result.failure}`}; the reconciliation confirms what arrived`,
  });
  await db.putJson(DONE_KEY, summary);
  return summary;
}

/** Whether a key is in the failed queue. */
export async function inFailedQueue(key: string, db: JobDb): Promise<boolean> {
  const v = await db.getMeta(OUTCOME_PREFIX + key);
  return v !== undefined && v !== OK;
}

/** The transfer summary with the failed queue as it stands now (after `s3mig retry` took some of it). */
export async function currentTransfer(db: JobDb): Promise<TransferSummary | undefined> {
  const stored = await transferResult(db);
  if (!stored || stored.engine === 'mc' || stored.dryRun) return stored;
  let failed = 0;
  const failures: TransferSummary['failures'] = [];
  for await (const f of failedQueue(db)) {
    failed++;
    if (failures.length < MAX_SAMPLES) failures.push(f);
  }
  return { ...stored, failed, failures };
}

/** Both sides' listings are dropped after the transfer: the inventory phase lists them again, as they are now. */
export async function clearListings(db: JobDb): Promise<void> {
  for (const side of ['source', 'dest'] as const) {
    await db.side(side).clearEntries();
    await db.side(side).clearMeta('');
  }
}
