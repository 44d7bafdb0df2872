// `s3mig reconcile`: a job that ingests both listings into LevelDB, merge-joins them and writes the reports.
import { access, constants, mkdir, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { TargetRecord } from '../core/job-record.ts';
import { S3migError, isS3migError, oneLine } from '../core/errors.ts';
import { reconcile } from '../core/reconcile.ts';
import { RateMeter, etaSeconds } from '../core/rate.ts';
import { buildSummary, type SideName, type SideSummary, type Summary } from '../core/summary.ts';
import { Tally } from '../core/tally.ts';
import { JobDb } from '../store/job-db.ts';
import { createJobDir, newJobId } from '../store/state-dir.ts';
import { parseTarget, type Target } from '../targets/target.ts';
import { readInventory } from '../targets/inventory-file.ts';
import { DifferencesWriter, rowOf } from '../report/differences.ts';
import { writeSummaryFile } from '../report/summary-file.ts';
import { EventBus } from './events.ts';
import { JobHandle } from './job-handle.ts';
import { ingestListing, PROGRESS_INTERVAL_MS, type IngestResult } from './ingest.ts';

export interface ReconcileRequest {
  source: string;
  dest: string;
  stateDir: string;
  /** Default: ./s3mig-reports/<job-id>/ under cwd; stored absolute. */
  reportDir?: string;
  cwd?: string;
  bus?: EventBus;
  signal?: AbortSignal;
}

const COMPARE_PROGRESS_KEYS = 10_000;

function recordOf(target: Target): TargetRecord {
  return target.kind === 'inventory' ? { spec: target.spec, kind: 'inventory', path: target.path } : { spec: target.spec, kind: 'live' };
}

/** Checks before any work that a target can be read. */
async function validateTarget(side: SideName, target: Target): Promise<void> {
  if (target.kind === 'live') {
    throw new S3migError(
      'S3MIG_TARGET_UNSUPPORTED',
      `${side} ${target.spec}: live targets are not supported by this build yet; use inventory:FILE (a saved mc ls -r --json listing)`,
    );
  }
  const name = target.spec.slice('inventory:'.length);
  try {
    await access(target.path, constants.R_OK);
    if ((await stat(target.path)).isDirectory()) throw Object.assign(new Error('is a directory'), { code: 'EISDIR' });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : code === 'EISDIR' ? 'is a directory' : oneLine(err);
    throw new S3migError('S3MIG_INVENTORY_UNREADABLE', `cannot read ${side} inventory file ${name}: ${why}`, { cause: err });
  }
}

/** Runs both ingestions at once; the first failure cancels the other. */
async function ingestBoth(
  job: JobHandle,
  db: JobDb,
  targets: Record<SideName, Target>,
  signal: AbortSignal | undefined,
): Promise<Record<SideName, IngestResult>> {
  const ac = new AbortController();
  const onAbort = () => ac.abort(signal?.reason);
  if (signal?.aborted) onAbort();
  signal?.addEventListener('abort', onAbort, { once: true });
  const one = async (side: SideName): Promise<IngestResult> => {
    const target = targets[side] as Extract<Target, { kind: 'inventory' }>;
    const name = target.spec.slice('inventory:'.length);
    try {
      return await ingestListing(db, side, readInventory(target.path, { name, signal: ac.signal }), {
        emit: (e) => job.emit(e),
        signal: ac.signal,
      });
    } catch (err) {
      ac.abort(err);
      throw err;
    }
  };
  try {
    const settled = await Promise.allSettled([one('source'), one('dest')]);
    // Prefer the error that caused the abort over the cancellation it caused on the other side.
    const failures = settled.filter((s): s is PromiseRejectedResult => s.status === 'rejected').map((s) => s.reason);
    if (failures.length > 0) throw failures.find((e) => !(isS3migError(e) && e.code === 'S3MIG_CANCELED')) ?? failures[0];
    const [source, dest] = settled.map((s) => (s as PromiseFulfilledResult<IngestResult>).value);
    return { source: source!, dest: dest! };
  } finally {
    signal?.removeEventListener('abort', onAbort);
  }
}

export async function runReconcile(req: ReconcileRequest): Promise<Summary> {
  const cwd = req.cwd ?? process.cwd();
  const targets: Record<SideName, Target> = { source: parseTarget(req.source, cwd), dest: parseTarget(req.dest, cwd) };
  const startedAt = Date.now();
  const id = newJobId(new Date(startedAt));
  const paths = await createJobDir(req.stateDir, id);
  const reportDir = resolve(cwd, req.reportDir ?? join('s3mig-reports', id));
  const now = new Date(startedAt).toISOString();
  const job = new JobHandle(
    {
      id,
      kind: 'reconcile',
      source: recordOf(targets.source),
      dest: recordOf(targets.dest),
      options: { reportDir },
      state: 'initializing',
      createdAt: now,
      updatedAt: now,
      pid: process.pid,
    },
    paths,
    req.bus ?? new EventBus(),
  );
  let db: JobDb | undefined;
  let writer: DifferencesWriter | undefined;
  try {
    await job.persist();
    job.emit({ type: 'job:created', source: job.record.source, dest: job.record.dest, stateDir: req.stateDir, jobDir: paths.dir, reportDir });

    await job.setState('validating');
    await validateTarget('source', targets.source);
    await validateTarget('dest', targets.dest);

    await job.setState('collecting-inventory');
    db = await JobDb.open(paths.db);
    const ingested = await ingestBoth(job, db, targets, req.signal);
    const ingestMs = Date.now() - startedAt;

    await job.setState('comparing');
    await mkdir(reportDir, { recursive: true });
    const files = {
      dir: reportDir,
      summary: join(reportDir, 'summary.json'),
      differencesNdjson: join(reportDir, 'differences.ndjson'),
      differencesCsv: join(reportDir, 'differences.csv'),
    };
    writer = await DifferencesWriter.open(files.differencesNdjson, files.differencesCsv);
    const compareStart = Date.now();
    const tally = new Tally();
    const meter = new RateMeter();
    const totalEntries = ingested.source.entries + ingested.dest.entries;
    let lastKeys = 0;
    let lastEmit = compareStart;
    const compareProgress = (done: boolean) => {
      const entries = tally.counts.source + tally.counts.dest;
      const t = Date.now();
      const rate = meter.sample(entries, t);
      lastKeys = tally.keys;
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
    meter.sample(0, compareStart);
    for await (const verdicts of reconcile(db.entries('source'), db.entries('dest'), { signal: req.signal })) {
      for (const v of verdicts) {
        tally.add(v);
        if (v.category !== 'matched') {
          const full = writer.write(rowOf(v));
          if (full) await full;
        }
      }
      if (tally.keys - lastKeys >= COMPARE_PROGRESS_KEYS || Date.now() - lastEmit >= PROGRESS_INTERVAL_MS) compareProgress(false);
    }
    await writer.close();
    writer = undefined;
    compareProgress(true);
    const compareMs = Date.now() - compareStart;

    await job.setState('generating-report');
    const reportStart = Date.now();
    const incomplete = (['source', 'dest'] as const).flatMap((side) =>
      ingested[side].errors.length > 0
        ? [{ side, message: ingested[side].errors[0]! + (ingested[side].errors.length > 1 ? ` (+${ingested[side].errors.length - 1} more)` : '') }]
        : [],
    );
    const side = (name: SideName): SideSummary => ({
      ...job.record[name],
      entries: ingested[name].entries,
      complete: ingested[name].errors.length === 0,
    });
    const finishedAt = Date.now();
    const summary = buildSummary({
      job: id,
      source: side('source'),
      dest: side('dest'),
      counts: tally.counts,
      bytes: tally.bytes,
      incomplete,
      startedAt,
      finishedAt,
      ingestMs,
      compareMs,
      reportMs: finishedAt - reportStart,
      peakRssBytes: process.resourceUsage().maxRSS * 1024,
      reports: files,
    });
    await writeSummaryFile(files.summary, summary);
    job.emit({ type: 'report:written', files: [files.summary, files.differencesNdjson, files.differencesCsv] });
    for (const side of ['source', 'dest'] as const) {
      if (summary.duplicates[side] > 0) {
        job.emit({ type: 'log', level: 'warn', side, message: `${summary.duplicates[side]} duplicate key(s) in the ${side} listing; the last entry of each was kept` });
      }
    }
    if (summary.counts.unverified > 0) {
      job.emit({ type: 'log', level: 'warn', message: `${summary.counts.unverified} key(s) unverified: same size, ETags not comparable` });
    }
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
        error: { code: 'S3MIG_LISTING_INCOMPLETE', message: incomplete.map((i) => `${i.side}: ${i.message}`).join('; ') },
      });
    } else {
      await job.setState(summary.outcome === 'clean' ? 'completed' : 'completed-with-differences', undefined, result);
    }
    job.emit({ type: 'summary', ...summary });
    return summary;
  } catch (err) {
    writer?.abort();
    const canceled = isS3migError(err) && err.code === 'S3MIG_CANCELED';
    const code = isS3migError(err) ? err.code : 'S3MIG_INTERNAL';
    const message = oneLine(err);
    job.emit({ type: 'log', level: 'error', code, message });
    await job
      .setState(canceled ? 'canceled' : 'failed', message, { error: { code, message }, exitCode: 2, finishedAt: new Date().toISOString() })
      .catch(() => undefined);
    throw err;
  } finally {
    await db?.close().catch(() => undefined);
    await job.close();
  }
}
