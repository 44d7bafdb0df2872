// `s3mig fix JOB`: executes a job's fix plan with the native engine (copy what is missing or different,
// delete extras only when asked and only after a complete run), re-checks exactly the touched keys with
// HEAD, stores what it found in the job's inventories, and rewrites the reports from them. Every key's
// outcome is stored with its inventory update in one batch, so an interrupted fix, run again, never
// copies twice what it has confirmed. A re-verify (the TUI's `v`) is the same round that only re-checks.
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import type { ObjectEntry } from '../core/entry.ts';
import { encodeEntryValue } from '../core/entry-codec.ts';
import { S3migError, isS3migError, oneLine, throwIfAborted, untilCanceled } from '../core/errors.ts';
import type { JobRecord } from '../core/job-record.ts';
import type { Summary } from '../core/summary.ts';
import { classify, type Category } from '../core/verdict.ts';
import { JobDb } from '../store/job-db.ts';
import { jobPaths, readJobRecord } from '../store/state-dir.ts';
import { reportFilesIn } from '../report/report-set.ts';
import type { DifferenceRow } from '../report/differences.ts';
import { copyObject } from '../s3/copy.ts';
import { uploadLimiterOf, type UploadLimiter } from '../s3/throttle.ts';
import { deleteObjects, headObject, isEncryptedForEtag, type HeadResult } from '../s3/objects.ts';
import { s3CodeOf } from '../s3/errors.ts';
import { EventBus, type EngineEvent } from './events.ts';
import { JobHandle } from './job-handle.ts';
import { failpoint } from './failpoint.ts';
import { INGEST_CHECKPOINT_KEY } from './ingest.ts';
import { reopenLive, type LiveEnv, type LiveSide } from './live-targets.ts';
import { attachMc, decideEngine, statKeys } from './mc-engine.ts';
import { forgetMcDiff } from './cross-check.ts';
import { mcAddressable } from '../core/fix-plan.ts';
import { cpMc } from '../mc/cp.ts';
import { rmMc } from '../mc/rm.ts';
import {
  COMPARE_KEY,
  SIDES,
  TIMINGS_KEY,
  compare,
  finishReports,
  holdJobDb,
  ingestResults,
  releaseJob,
  settleFailure,
  settleOutcome,
  type Timings,
} from './reconcile-job.ts';

export interface FixRequest {
  stateDir: string;
  id: string;
  /** Delete keys found only in the destination (never after an incomplete run). */
  deleteExtras?: boolean;
  /** Copies in flight (default 8). */
  concurrency?: number;
  /** Server-side copies at or above this size use UploadPartCopy (default 5 GiB). */
  multipartCopyThresholdBytes?: number;
  /** mc copies with mc cp and re-checks with mc stat (keys mc cannot address are left); default: the job's engine. */
  engine?: 'auto' | 'mc' | 'native';
  /** The mc executable (default `mc` on PATH). */
  mcPath?: string;
  /** Only keys for which this says true (s3mig retry: the failed queue). */
  only?: (key: string, db: JobDb) => Promise<boolean>;
  /** Only these keys of the differences (the TUI's selection); with `only`, keys both accept. */
  keys?: readonly string[];
  /** Told of each key copied and confirmed. */
  onCopied?: (key: string, db: JobDb) => Promise<void>;
  bus?: EventBus;
  signal?: AbortSignal;
  aliasEnv?: LiveEnv;
}

/** What `reverifyJob` takes: a fix request that copies and deletes nothing. */
export type ReverifyRequest = Omit<FixRequest, 'onCopied' | 'deleteExtras'> & { keys?: readonly string[] };

export interface FixOutcome {
  /** What was done to the key, and the verdict its re-check gave. */
  outcome: 'copied' | 'deleted' | 'failed';
  category: Category | 'gone';
  error?: string;
}

const FIX_PREFIX = 'fix:';
const FIXABLE_STATES: readonly JobRecord['state'][] = ['completed-with-differences', 'completed', 'fixing'];
const COPY: readonly Category[] = ['missing', 'sizeMismatch', 'etagMismatch'];

/** What a re-check reads of an object: a native HEAD or an mc stat. */
type Probe = Pick<HeadResult, 'size' | 'etag' | 'lastModified' | 'storageClass' | 'serverSideEncryption' | 'sseCustomerAlgorithm'>;

function entryOf(key: string, head: Probe): ObjectEntry {
  const e: ObjectEntry = { key, size: head.size, etag: head.etag, lastModified: head.lastModified };
  if (head.storageClass) e.storageClass = head.storageClass;
  return e;
}

/** The verdict of a re-checked key from both HEADs (design §5, encryption included). */
function recheckVerdict(src: Probe | null, dst: Probe | null, key: string): Category | 'gone' {
  if (!src && !dst) return 'gone';
  const category = classify(src ? entryOf(key, src) : null, dst ? entryOf(key, dst) : null);
  if (category === 'etagMismatch' && [src, dst].some((h) => h && isEncryptedForEtag(h))) return 'unverified';
  return category;
}

async function* differencesOf(path: string): AsyncGenerator<DifferenceRow> {
  const lines = createInterface({ input: createReadStream(path, { encoding: 'utf8' }), crlfDelay: Infinity });
  let n = 0;
  try {
    for await (const line of lines) {
      n++;
      if (line === '') continue;
      try {
        yield JSON.parse(line) as DifferenceRow;
      } catch {
        throw new S3migError('S3MIG_STATE_UNREADABLE', `${path} line ${n}: not a difference record; rewrite the reports with s3mig report`);
      }
    }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new S3migError('S3MIG_STATE_UNREADABLE', `the job's differences file ${path} is gone; rewrite it with: s3mig report JOB`);
    }
    throw err;
  }
}

/** Runs the fix loop once and rewrites the reports; the summary is that of the re-checked job. */
export async function fixJob(req: FixRequest): Promise<Summary> {
  return runFix(req, false);
}

/**
 * Re-checks the job's differences (all of differences.ndjson, or only `keys`) on both live sides (HEAD,
 * or mc stat with the mc engine), copying and deleting nothing; stores what it found as a fix does and
 * rewrites the reports. Keys on neither side any more leave the reports ('gone').
 */
export async function reverifyJob(req: ReverifyRequest): Promise<Summary> {
  return runFix({ ...req, deleteExtras: false }, true);
}

/** Only the keys the request names (a Set lookup), and only those `req.only` accepts. */
function onlyOf(req: FixRequest): FixRequest['only'] {
  const keys = req.keys ? new Set(req.keys) : undefined;
  const only = req.only;
  if (!keys) return only;
  return only ? async (key, db) => keys.has(key) && (await only(key, db)) : async (key) => keys.has(key);
}

async function runFix(req: FixRequest, verifyOnly: boolean): Promise<Summary> {
  const record = await readJobRecord(req.stateDir, req.id);
  const verb = verifyOnly ? 're-verify' : 'fix';
  const resumingPause = record.state === 'paused' && record.pausedIn === 'fixing';
  if (record.state === 'failed' && record.error?.code === 'S3MIG_LISTING_INCOMPLETE') {
    throw new S3migError('S3MIG_JOB_NOT_RESUMABLE', `job ${record.id} has an incomplete listing; nothing is ${verifyOnly ? 're-verified' : 'fixed'} from it: reconcile again`);
  }
  if (!FIXABLE_STATES.includes(record.state) && !resumingPause) {
    throw new S3migError('S3MIG_JOB_NOT_RESUMABLE', `job ${record.id} is ${record.state}; ${verb} runs on a finished comparison (resume it first: s3mig resume ${record.id})`);
  }
  for (const side of SIDES) {
    if (record[side].kind !== 'live') {
      throw new S3migError(
        'S3MIG_TARGET_UNSUPPORTED',
        `job ${record.id}: the ${side} is ${record[side].spec}, a saved listing; ${verb} needs two live targets${verifyOnly ? '' : ' (run fix.sh from the report folder instead)'}`,
      );
    }
  }
  const only = onlyOf(req);
  // The engine is settled before the job is touched: a missing mc leaves the job as it was.
  const decided = await decideEngine(req.engine ?? record.options.engine ?? 'native', req.mcPath);
  const paths = jobPaths(req.stateDir, req.id);
  const job = new JobHandle(record, paths, req.bus ?? new EventBus());
  const live: Partial<Record<'source' | 'dest', LiveSide>> = {};
  let db: JobDb | undefined;
  try {
    db = await holdJobDb(record, paths, false);
    await job.persist({ pid: process.pid });
    for (const side of SIDES) live[side] = reopenLive(side, record[side], record.options, req.aliasEnv ?? {});
    if (decided.engine === 'mc') await attachMc(live, record.options, req.mcPath, true);
    if (decided.note) job.emit({ type: 'log', level: 'info', message: `${verb}: ${decided.note}` });
    const ingested = await ingestResults(db);
    if (!ingested) throw new S3migError('S3MIG_STATE_UNREADABLE', `job ${record.id} has no complete inventories`);
    const complete = ingested.source.errorCount === 0 && ingested.dest.errorCount === 0;
    const deleteExtras = !verifyOnly && (req.deleteExtras ?? record.fixOptions?.deleteExtras ?? false) && complete;
    const selection = req.keys ? ` of ${req.keys.length} selected key(s)` : '';
    const what = verifyOnly ? 're-verify' : req.only ? `copy the failed queue${selection}` : `${deleteExtras ? 'copy and delete extras' : 'copy'}${selection}`;
    // A re-verify leaves the fix options (deleteExtras) of the job as they were.
    const fixOptions = verifyOnly ? {} : { fixOptions: { deleteExtras } };
    if (record.state === 'paused') await job.setState('fixing', verifyOnly ? 're-verify' : 'resumed', fixOptions);
    else if (record.state !== 'fixing') {
      // A new round: what an earlier round confirmed may have changed since.
      await db.side('dest').clearMeta(FIX_PREFIX);
      await job.setState('fixing', what, fixOptions);
    } else {
      await job.persist(fixOptions);
      if (verifyOnly) job.emit({ type: 'log', level: 'info', message: 're-verify: the job stopped while fixing; its differences are re-checked, nothing is copied' });
    }

    const summary = await fixRound(job, db, live as Record<'source' | 'dest', LiveSide>, {
      deleteExtras,
      ...(verifyOnly ? { verifyOnly } : {}),
      ...(req.concurrency !== undefined ? { concurrency: req.concurrency } : {}),
      ...(req.multipartCopyThresholdBytes !== undefined ? { multipartCopyThresholdBytes: req.multipartCopyThresholdBytes } : {}),
      ...(req.signal ? { signal: req.signal } : {}),
      ...(only ? { only } : {}),
      ...(req.onCopied && !verifyOnly ? { onCopied: req.onCopied } : {}),
    });
    await settleOutcome(job, summary);
    return summary;
  } catch (err) {
    throw await settleFailure(job, err);
  } finally {
    await releaseJob(live, db);
    await job.close();
  }
}

export interface FixRoundOptions {
  deleteExtras: boolean;
  /** Re-verify: re-check every difference (those `only` accepts) on both sides; copy and delete nothing. */
  verifyOnly?: boolean;
  concurrency?: number;
  multipartCopyThresholdBytes?: number;
  signal?: AbortSignal;
  /** Only keys for which this says true (s3mig retry: the failed queue). */
  only?: (key: string, db: JobDb) => Promise<boolean>;
  /** Told of each key copied and confirmed. */
  onCopied?: (key: string, db: JobDb) => Promise<void>;
}

/**
 * One fix round on a job this process holds, in state `fixing`: the actions, then a fresh comparison
 * into the job's report folder; ends in `generating-report` with the reports written, not yet settled.
 */
export async function fixRound(job: JobHandle, db: JobDb, live: Record<'source' | 'dest', LiveSide>, options: FixRoundOptions): Promise<Summary> {
  await runActions(job, db, live, options);
  // A stored mc diff described the buckets before this fix: the rewritten reports carry no cross-check.
  if (job.record.options.crossCheck) {
    await forgetMcDiff(db);
    job.emit({ type: 'log', level: 'info', message: 'fix: the mc diff cross-check is not repeated after a fix; reconcile again with --cross-check mc-diff' });
  }
  // Rewrite the reports from the updated inventories: a fresh comparison into the job's report folder.
  await db.delMeta(COMPARE_KEY);
  const files = reportFilesIn(job.record.options.reportDir);
  const ctx = { job, db, files, ingested: (await ingestResults(db))!, ...(options.signal ? { signal: options.signal } : {}), checkpoints: true, live };
  const t0 = Date.now();
  const { tally, reports } = await compare(ctx);
  // Live listings hold no duplicates, so after the fix each side holds exactly the keys compared (and excluded).
  for (const side of SIDES) {
    const cp = { ...ctx.ingested[side], entries: tally.counts[side] + tally.excluded[side] };
    ctx.ingested[side] = cp;
    await db.side(side).putJson(INGEST_CHECKPOINT_KEY, cp);
  }
  const timings = (await db.getJson<Timings>(TIMINGS_KEY)) ?? { ingestMs: 0, compareMs: 0 };
  await job.setState('generating-report');
  return finishReports(ctx, tally, reports, { ...timings, compareMs: Date.now() - t0 }, Date.parse(job.record.createdAt));
}

/** The counts a fix:progress event carries (events.ts documents them). */
type Counters = Omit<Extract<EngineEvent, { type: 'fix:progress' }>, 'type' | 'ts' | 'jobId' | 'done'>;

async function runActions(
  job: JobHandle,
  db: JobDb,
  live: Record<'source' | 'dest', LiveSide>,
  req: FixRoundOptions,
): Promise<void> {
  const { signal } = req;
  const src = live.source;
  const dst = live.dest;
  const counters: Counters = { total: 0, processed: 0, copied: 0, deleted: 0, failed: 0, skipped: 0, leftForNative: 0, bytes: 0 };
  const files = reportFilesIn(job.record.options.reportDir);
  const emitProgress = (done: boolean) => job.emit({ type: 'fix:progress', ...counters, done });
  let lastEmit = 0;
  const tick = () => {
    if (Date.now() - lastEmit >= 250) {
      lastEmit = Date.now();
      emitProgress(false);
    }
  };

  /**
   * Stores a key's re-checked state: both inventories and its outcome, in one batch per side (dest last,
   * with the outcome). A re-verify stores no outcome: it did nothing a later fix could skip.
   */
  const record = async (key: string, srcHead: Probe | null, dstHead: Probe | null, outcome: FixOutcome | undefined) => {
    const s = db.side('source').batch();
    if (srcHead) s.put(key, encodeEntryValue(entryOf(key, srcHead)));
    else s.del(key);
    await s.write({ key: 'fixed', value: true });
    const d = db.side('dest').batch();
    if (dstHead) d.put(key, encodeEntryValue(entryOf(key, dstHead)));
    else d.del(key);
    if (outcome) d.putJson(FIX_PREFIX + key, outcome);
    await d.write({ key: 'fixed', value: true });
    // The stored ETag re-check of this key is stale now.
    await db.delMeta(`recheck:${key}`);
  };

  // A pause lets copies in flight finish and be recorded; a cancel stops them.
  const inFlight = untilCanceled(signal);
  const opts = inFlight ? { signal: inFlight } : {};
  // The job's --limit-upload: one bucket for every streamed copy (native), or mc's flag on mc cp.
  const limiter = req.verifyOnly ? undefined : uploadLimiterOf(job, job.record.options.limitUpload);
  const copyOne = async (row: DifferenceRow) => {
    const key = row.key;
    try {
      const result = await copyObject({
        src: src.conn,
        srcBucket: src.target.bucket,
        srcKey: src.target.prefix + key,
        dst: dst.conn,
        dstBucket: dst.target.bucket,
        dstKey: dst.target.prefix + key,
        ...(row.source ? { expected: { size: row.source.size, etag: row.source.etag } } : {}),
        ...(req.multipartCopyThresholdBytes !== undefined ? { multipartCopyThresholdBytes: req.multipartCopyThresholdBytes } : {}),
        ...(limiter ? { throttle: limiter.bucket } : {}),
        ...opts,
      });
      const note = limiter?.serverSideNote(result.method);
      if (note) job.emit({ type: 'log', level: 'info', message: note });
      failpoint('fix:after-copy');
      const [srcHead, dstHead] = await Promise.all([
        headObject(src.conn, src.target.bucket, src.target.prefix + key, opts),
        headObject(dst.conn, dst.target.bucket, dst.target.prefix + key, opts),
      ]);
      const category = recheckVerdict(srcHead, dstHead, key);
      await record(key, srcHead, dstHead, { outcome: 'copied', category });
      await req.onCopied?.(key, db);
      counters.copied++;
      counters.bytes += result.size;
      if (result.sourceChanged) job.emit({ type: 'log', level: 'warn', message: `fix: ${JSON.stringify(key)} changed in the source since it was listed; copied its current version` });
    } catch (err) {
      if (signal?.aborted || (isS3migError(err) && (err.code === 'S3MIG_PAUSED' || err.code === 'S3MIG_CANCELED'))) throw err;
      counters.failed++;
      const message = oneLine(err);
      job.emit({ type: 'log', level: 'error', code: 'S3MIG_COPY_FAILED', message: `fix: copy of ${JSON.stringify(key)} failed: ${message} (${s3CodeOf(err)})` });
      await db.side('dest').putJson(FIX_PREFIX + key, { outcome: 'failed', category: row.category, error: message } satisfies FixOutcome);
    }
  };

  // A re-verify: both HEADs, stored as a fix stores them; a key on neither side leaves the inventories.
  let gone = 0;
  const verifyOne = async (row: DifferenceRow) => {
    const key = row.key;
    try {
      const [srcHead, dstHead] = await Promise.all([
        headObject(src.conn, src.target.bucket, src.target.prefix + key, opts),
        headObject(dst.conn, dst.target.bucket, dst.target.prefix + key, opts),
      ]);
      if (recheckVerdict(srcHead, dstHead, key) === 'gone') gone++;
      await record(key, srcHead, dstHead, undefined);
    } catch (err) {
      if (signal?.aborted || (isS3migError(err) && (err.code === 'S3MIG_PAUSED' || err.code === 'S3MIG_CANCELED'))) throw err;
      counters.failed++;
      job.emit({ type: 'log', level: 'error', code: 'S3MIG_S3_REQUEST', message: `re-verify: re-check of ${JSON.stringify(key)} failed: ${oneLine(err)} (${s3CodeOf(err)})` });
    }
  };

  const deleteBatch = async (keys: string[]) => {
    if (keys.length === 0) return;
    const result = await deleteObjects(dst.conn, dst.target.bucket, keys.map((k) => dst.target.prefix + k), opts);
    const failed = new Map(result.failed.map((f) => [f.key, f]));
    for (const key of keys) {
      const f = failed.get(dst.target.prefix + key);
      if (f) {
        counters.failed++;
        job.emit({ type: 'log', level: 'error', code: 'S3MIG_S3_REQUEST', message: `fix: delete of ${JSON.stringify(key)} failed: ${f.code} ${f.message}` });
        continue;
      }
      const [srcHead, dstHead] = await Promise.all([
        headObject(src.conn, src.target.bucket, src.target.prefix + key, opts),
        headObject(dst.conn, dst.target.bucket, dst.target.prefix + key, opts),
      ]);
      await record(key, srcHead, dstHead, { outcome: 'deleted', category: recheckVerdict(srcHead, dstHead, key) });
      counters.deleted++;
    }
  };

  // One reader feeds the workers; the differences file is never held in memory.
  const rows = differencesOf(files.differencesNdjson);
  const pendingDeletes: string[] = [];
  const next = async (): Promise<DifferenceRow | undefined> => {
    for (;;) {
      const r = await rows.next();
      if (r.done) return undefined;
      const row = r.value;
      const wanted = req.verifyOnly || COPY.includes(row.category) || (row.category === 'extra' && req.deleteExtras);
      if (!wanted || (req.only && !(await req.only(row.key, db)))) continue;
      counters.total++;
      // A re-verify re-checks every key it is given, whatever an earlier fix did.
      const prior = req.verifyOnly ? undefined : await db.side('dest').getJson<FixOutcome>(FIX_PREFIX + row.key);
      if (prior && prior.outcome !== 'failed') {
        counters.skipped++;
        counters.processed++;
        continue;
      }
      return row;
    }
  };
  if (src.mc && dst.mc) {
    await runWithMc(next, {
      job,
      db,
      src,
      dst,
      counters,
      record,
      tick,
      concurrency: req.concurrency ?? 8,
      verifyOnly: req.verifyOnly ?? false,
      ...(limiter ? { limiter } : {}),
      onGone: () => gone++,
      ...(signal ? { signal } : {}),
      ...(req.onCopied ? { onCopied: req.onCopied } : {}),
    });
  }
  const worker = async () => {
    if (src.mc && dst.mc) return;
    for (let row = await next(); row; row = await next()) {
      throwIfAborted(signal);
      if (req.verifyOnly) {
        await verifyOne(row);
      } else if (row.category === 'extra') {
        pendingDeletes.push(row.key);
        if (pendingDeletes.length >= 1000) await deleteBatch(pendingDeletes.splice(0));
      } else {
        await copyOne(row);
      }
      counters.processed++;
      tick();
    }
  };
  const results = await Promise.allSettled(Array.from({ length: req.concurrency ?? 8 }, worker));
  const failure = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failure) throw failure.reason;
  await deleteBatch(pendingDeletes.splice(0));
  emitProgress(true);
  if (req.verifyOnly) {
    const left = counters.leftForNative > 0 ? `, ${counters.leftForNative} left unchecked (mc cannot address their keys; re-verify with the native engine)` : '';
    job.emit({
      type: 'log',
      level: counters.failed > 0 ? 'warn' : 'info',
      message: `re-verify: ${counters.processed - counters.failed - counters.leftForNative} re-checked (${gone} gone from both sides), ${counters.failed} failed${left}; nothing copied or deleted`,
    });
    return;
  }
  const skipped =
    (counters.skipped > 0 ? `, ${counters.skipped} already done by an earlier run` : '') +
    (counters.leftForNative > 0 ? `, ${counters.leftForNative} left for s3mig fix --engine native (mc cannot address their keys)` : '');
  job.emit({
    type: 'log',
    level: counters.failed > 0 ? 'warn' : 'info',
    message: `fix: ${counters.copied} copied, ${counters.deleted} deleted, ${counters.failed} failed${skipped}; re-checked the touched keys`,
  });
}

/** Keys per mc process: cp, rm and stat take many URLs at once. */
const MC_GROUP = 100;

interface McFixContext {
  job: JobHandle;
  db: JobDb;
  src: LiveSide;
  dst: LiveSide;
  counters: Counters;
  record: (key: string, srcHead: Probe | null, dstHead: Probe | null, outcome: FixOutcome | undefined) => Promise<void>;
  tick: () => void;
  concurrency: number;
  /** Re-verify: every key is only stat'ed on both sides and stored. */
  verifyOnly: boolean;
  /** Told of each re-verified key found on neither side. */
  onGone: () => void;
  /** The job's upload limit: each mc cp gets it, one mc cp at a time (so the job as a whole keeps to it). */
  limiter?: UploadLimiter;
  signal?: AbortSignal;
  onCopied?: (key: string, db: JobDb) => Promise<void>;
}

/** The folder of a key, with its trailing '/', or '' at the top. */
function folderOf(key: string): string {
  return key.slice(0, key.lastIndexOf('/') + 1);
}

/**
 * The fix loop through mc: consecutive copies into one folder go to one `mc cp` (the differences file
 * is sorted, so they sit together), deletes to one `mc rm`, and every key is then confirmed with
 * `mc stat` on both sides. Keys mc would rewrite (fix plan engine `native`) are left alone and counted.
 */
async function runWithMc(next: () => Promise<DifferenceRow | undefined>, c: McFixContext): Promise<void> {
  const { src, dst, counters, signal } = c;
  const s = src.mc!;
  const d = dst.mc!;
  let held: DifferenceRow | undefined;
  let ended = false;
  const take = async (): Promise<DifferenceRow | undefined> => {
    if (held) {
      const r = held;
      held = undefined;
      return r;
    }
    if (ended) return undefined;
    const r = await next();
    if (!r) ended = true;
    return r;
  };
  type Kind = 'copy' | 'delete' | 'verify';
  const kindOf = (r: DifferenceRow): Kind => (c.verifyOnly ? 'verify' : r.category === 'extra' ? 'delete' : 'copy');
  const group = async (): Promise<{ kind: Kind; rows: DifferenceRow[] } | undefined> => {
    for (;;) {
      const first = await take();
      if (!first) return undefined;
      if (!mcAddressable(first.key)) {
        counters.leftForNative++;
        counters.processed++;
        continue;
      }
      const kind = kindOf(first);
      const rows = [first];
      while (rows.length < MC_GROUP) {
        const r = await take();
        if (!r) break;
        if (!mcAddressable(r.key) || kindOf(r) !== kind || (kind === 'copy' && folderOf(r.key) !== folderOf(first.key))) {
          held = r;
          break;
        }
        rows.push(r);
      }
      return { kind, rows };
    }
  };
  // Under a limit, one mc cp at a time with the whole of it: each mc process limits only itself.
  const limit = c.limiter?.bytesPerSecond;
  let cpTurn: Promise<unknown> = Promise.resolve();
  const cp = (urls: string[], destDir: string) => {
    // One alias on both sides: mc copies server-side, which its --limit-upload does not slow.
    const note = s.alias === d.alias ? c.limiter?.serverSideNote('server-copy') : undefined;
    if (note) c.job.emit({ type: 'log', level: 'info', message: note });
    const run = () => cpMc(s.ctx, urls, destDir, signal, limit !== undefined ? { limitUpload: limit } : {});
    if (limit === undefined) return run();
    const p = cpTurn.then(run);
    cpTurn = p.catch(() => undefined);
    return p;
  };
  // One reader: groups are taken one at a time, whichever worker asks.
  let lock: Promise<unknown> = Promise.resolve();
  const nextGroup = () => {
    const p = lock.then(group);
    lock = p.catch(() => undefined);
    return p;
  };

  const confirm = async (rows: DifferenceRow[], kind: Kind, failure: string | undefined) => {
    const keys = rows.map((r) => r.key);
    const [srcStats, dstStats] = await Promise.all([
      statKeys(src, keys.map((k) => s.prefix + k), signal),
      statKeys(dst, keys.map((k) => d.prefix + k), signal),
    ]);
    for (let i = 0; i < rows.length; i++) {
      const row = rows[i]!;
      const sh = srcStats[i] ?? null;
      const dh = dstStats[i] ?? null;
      const category = recheckVerdict(sh, dh, row.key);
      if (kind === 'verify') {
        if (category === 'gone') c.onGone();
        await c.record(row.key, sh, dh, undefined);
        counters.processed++;
        continue;
      }
      const done = kind === 'copy' ? dh !== null && sh !== null && dh.size === sh.size : dh === null;
      if (done) {
        await c.record(row.key, sh, dh, { outcome: kind === 'copy' ? 'copied' : 'deleted', category });
        if (kind === 'copy') await c.onCopied?.(row.key, c.db);
        if (kind === 'copy') {
          counters.copied++;
          counters.bytes += dh!.size;
        } else {
          counters.deleted++;
        }
      } else {
        counters.failed++;
        const error = failure ?? `mc ${kind === 'copy' ? 'cp' : 'rm'} reported success, but the re-check finds ${category}`;
        c.job.emit({ type: 'log', level: 'error', code: 'S3MIG_COPY_FAILED', message: `fix: ${kind === 'copy' ? 'copy' : 'delete'} of ${JSON.stringify(row.key)} failed: ${error}` });
        await c.db.side('dest').putJson(FIX_PREFIX + row.key, { outcome: 'failed', category: row.category, error } satisfies FixOutcome);
      }
      counters.processed++;
    }
    c.tick();
  };

  const worker = async () => {
    for (let g = await nextGroup(); g; g = await nextGroup()) {
      throwIfAborted(signal);
      if (g.kind === 'verify') {
        await confirm(g.rows, 'verify', undefined);
      } else if (g.kind === 'copy') {
        const urls = g.rows.map((r) => `${s.alias}/${s.bucket}/${s.prefix}${r.key}`);
        const copied = await cp(urls, `${d.alias}/${d.bucket}/${d.prefix}${folderOf(g.rows[0]!.key)}`);
        throwIfAborted(signal);
        failpoint('fix:after-copy');
        await confirm(g.rows, 'copy', copied.failure);
      } else {
        const rm = await rmMc(d.ctx, g.rows.map((r) => `${d.alias}/${d.bucket}/${d.prefix}${r.key}`), signal);
        throwIfAborted(signal);
        await confirm(g.rows, 'delete', rm.failure);
      }
    }
  };
  const results = await Promise.allSettled(Array.from({ length: c.concurrency }, worker));
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
}

/**
 * `s3mig retry JOB`: copies a migration's failed queue again (the keys whose transfer failed after their
 * retries), re-checks them, and rewrites the reports; keys it confirms leave the queue.
 */
export async function retryJob(req: Omit<FixRequest, 'only' | 'onCopied' | 'deleteExtras'>): Promise<Summary> {
  const record = await readJobRecord(req.stateDir, req.id);
  if (record.kind !== 'migrate') {
    throw new S3migError('S3MIG_USAGE', `job ${record.id} is a reconcile; retry runs a migration's failed queue (use s3mig fix ${record.id})`);
  }
  const { inFailedQueue, markTransferred } = await import('./transfer.ts');
  return fixJob({ ...req, deleteExtras: false, only: inFailedQueue, onCopied: markTransferred });
}
