// The command line (design §9): parses arguments, runs commands, and is the only place that maps errors to exit codes.
import yargs, { type Argv } from 'yargs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { S3migError, isS3migError, oneLine } from '../core/errors.ts';
import { parseRate } from '../core/rate-limit.ts';
import { jobPaths, listJobs, resolveStateDir } from '../store/state-dir.ts';
import { EventBus, type EngineEvent } from '../engine/events.ts';
import { resumeJob, rewriteReports, runReconcile } from '../engine/reconcile-job.ts';
import { sendControl } from '../engine/control.ts';
import { standardFollowUp, startJob, type JobRun, type RunningJob } from '../engine/job-runner.ts';
import { readUnprunedJob } from '../engine/prune.ts';
import { cancelCommand, pauseCommand, pruneCommand } from './control-commands.ts';
import { checkWebhook, scheduleAdd, scheduleList, scheduleSet, schedulerCommand } from './schedule-commands.ts';
import type { Summary } from '../core/summary.ts';
import { formatBytes, formatJobs, formatSummary } from './format.ts';
import { progressPrinter } from './progress.ts';
import type { LiveEnv } from '../engine/live-targets.ts';

const PACKAGE_ROOT = fileURLToPath(new URL('../../', import.meta.url));

interface Io {
  stdout: NodeJS.WritableStream & { isTTY?: boolean };
  stderr: NodeJS.WritableStream & { isTTY?: boolean };
}

interface CommonArgs {
  'state-dir'?: string;
  json?: boolean;
}

/** Pauses the job at the next batch boundary when the operator or the system asks the process to stop. */
function pauseOnSignals(job: RunningJob): () => void {
  const handler = (sig: NodeJS.Signals) => job.pause(`stopped by ${sig}`);
  const signals: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
  for (const s of signals) process.on(s, handler);
  return () => signals.forEach((s) => process.off(s, handler));
}

/**
 * Runs a job-producing command with the event stream wired to stdout (--json) or a progress line
 * (terminal), and the job's control socket open while it runs (engine/job-runner.ts).
 */
async function runJobCommand(
  io: Io,
  args: CommonArgs,
  run: JobRun,
  options: { demo?: boolean; jobDir?: string; stateDir?: string; aliasEnv?: LiveEnv } = {},
): Promise<Summary> {
  const bus = new EventBus();
  if (args.json) {
    bus.subscribe((e: EngineEvent) => io.stdout.write(JSON.stringify(e) + '\n'));
  } else if (io.stderr.isTTY) {
    bus.subscribe(progressPrinter(io.stderr));
  }
  const job = startJob(run, {
    bus,
    ...(options.jobDir ? { jobDir: options.jobDir } : {}),
    ...(options.stateDir ? { followUp: standardFollowUp(options.stateDir, options.aliasEnv) } : {}),
    onControlWarning: (err) => io.stderr.write(`s3mig: warning: ${oneLine(err)}; stop the job with Ctrl-C or kill -TERM ${process.pid} instead\n`),
  });
  const dispose = pauseOnSignals(job);
  try {
    const summary = await job.done;
    if (!args.json) io.stdout.write(formatSummary(summary, options));
    return summary;
  } catch (err) {
    throw canceledError(job, err);
  } finally {
    dispose();
  }
}

/** A cancel request ends the job as canceled; say which job, as a pause does. */
function canceledError(job: RunningJob, err: unknown): unknown {
  if (isS3migError(err) && err.code === 'S3MIG_CANCELED' && err === job.stopReason && job.jobId) {
    return new S3migError('S3MIG_CANCELED', `job ${job.jobId} canceled (${err.message}); its checkpoints are kept`, { cause: err });
  }
  return err;
}

/** Whether a command opens the dashboard: a terminal on both ends, and neither --headless nor --json. */
function wantsDashboard(io: Io, args: CommonArgs & { headless?: boolean }): boolean {
  return io.stdout.isTTY === true && process.stdin.isTTY === true && !args.headless && !args.json;
}

const noColor = () => process.env.NO_COLOR !== undefined && process.env.NO_COLOR !== '';

/**
 * Runs the TUI on a state directory, with a job this process starts (`run`) shown at once; after the
 * operator quits, prints the job's summary and returns its exit code, as the headless command would.
 */
async function dashboardCommand(
  io: Io,
  stateDir: string,
  run: JobRun | undefined,
  options: { title?: string; aliasEnv?: LiveEnv; demo?: boolean; maxConcurrent?: number } = {},
): Promise<number> {
  const [{ runTui }, { Workspace }] = await Promise.all([import('../tui/app.ts'), import('../engine/workspace.ts')]);
  const ws = new Workspace(stateDir, options.aliasEnv ? { aliasEnv: options.aliasEnv } : {});
  const initial = run ? ws.start(run) : undefined;
  const result = await runTui({
    workspace: ws,
    ...(initial ? { initial } : {}),
    ...(options.title ? { title: options.title } : {}),
    ...(options.maxConcurrent !== undefined ? { maxConcurrent: options.maxConcurrent } : {}),
    noColor: noColor(),
  });
  if (result.summary) {
    io.stdout.write(formatSummary(result.summary, options.demo ? { demo: true } : {}));
    return options.demo && result.summary.outcome !== 'incomplete' ? 0 : result.summary.exitCode;
  }
  if (result.error !== undefined && initial) throw canceledError(initial, result.error);
  return 0;
}

interface LiveArgs {
  engine?: 'auto' | 'mc' | 'native';
  'cross-check'?: 'mc-diff';
  'list-concurrency'?: number;
  insecure?: boolean;
  'ca-bundle'?: string;
}

/** Checks the live-target options before a job starts. */
function checkLiveArgs(args: LiveArgs): void {
  checkCount('--list-concurrency', args['list-concurrency']);
}

/** A count option (listers, copies in flight): a whole number from 1 to 256. */
function checkCount(flag: string, n: number | undefined): void {
  if (n !== undefined && (!Number.isInteger(n) || n < 1 || n > 256)) {
    throw new S3migError('S3MIG_USAGE', `${flag} must be a whole number from 1 to 256, not ${n}`);
  }
}

async function reconcileCommand(
  io: Io,
  args: CommonArgs & LiveArgs & { source: string; dest: string; 'report-dir'?: string; 'delete-extras'?: boolean; headless?: boolean },
  options: { stateDir?: string; demo?: boolean } = {},
): Promise<number> {
  checkLiveArgs(args);
  const stateDir = options.stateDir ?? resolveStateDir(args['state-dir']);
  const run: JobRun = (bus, signal) =>
    runReconcile({
      source: args.source,
      dest: args.dest,
      stateDir,
      reportDir: args['report-dir'],
      deleteExtras: args['delete-extras'] ?? false,
      ...(args['list-concurrency'] !== undefined ? { listConcurrency: args['list-concurrency'] } : {}),
      ...(args.insecure ? { insecure: true } : {}),
      ...(args['ca-bundle'] ? { caBundle: args['ca-bundle'] } : {}),
      ...(args.engine ? { engine: args.engine } : {}),
      ...(args['cross-check'] ? { crossCheck: args['cross-check'] } : {}),
      bus,
      signal,
    });
  if (wantsDashboard(io, args)) return dashboardCommand(io, stateDir, run);
  const summary = await runJobCommand(io, args, run, { ...options, stateDir });
  if (options.demo && summary.outcome !== 'incomplete') return 0;
  return summary.exitCode;
}

async function resumeCommand(io: Io, args: CommonArgs & { job: string }): Promise<number> {
  const stateDir = resolveStateDir(args['state-dir']);
  await readUnprunedJob(stateDir, args.job);
  const summary = await runJobCommand(io, args, (bus, signal) => resumeJob({ stateDir, id: args.job, bus, signal }), {
    jobDir: jobPaths(stateDir, args.job).dir,
    stateDir,
  });
  return summary.exitCode;
}

async function reportCommand(io: Io, args: CommonArgs & { job: string; 'report-dir'?: string }): Promise<number> {
  const stateDir = resolveStateDir(args['state-dir']);
  await readUnprunedJob(stateDir, args.job);
  const summary = await runJobCommand(
    io,
    args,
    (bus, signal) => rewriteReports({ stateDir, id: args.job, reportDir: args['report-dir'], bus, signal }),
    { jobDir: jobPaths(stateDir, args.job).dir },
  );
  return summary.exitCode;
}

/**
 * `s3mig fix|retry JOB` on a job another process runs: the request is queued there (through its control
 * socket) and runs when its current run has finished. Undefined when no process runs the job.
 */
async function queueOnHolder(io: Io, stateDir: string, id: string, action: 'fix' | 'retry', options: { deleteExtras?: boolean } = {}): Promise<number | undefined> {
  const dir = jobPaths(stateDir, id).dir;
  try {
    await sendControl(dir, 'status', 2_000);
  } catch (err) {
    if (isS3migError(err) && err.code === 'S3MIG_JOB_NOT_RUNNING') return undefined;
    throw err;
  }
  const reply = await sendControl(dir, action, undefined, options.deleteExtras ? { deleteExtras: true } : {});
  const message = typeof reply.message === 'string' ? reply.message : `${action} queued`;
  io.stdout.write(`job ${id} is running in pid ${reply.pid}: ${message}\n`);
  return 0;
}

async function fixCommand(io: Io, args: CommonArgs & { job: string; 'delete-extras'?: boolean; concurrency?: number; engine?: 'auto' | 'mc' | 'native' }): Promise<number> {
  const stateDir = resolveStateDir(args['state-dir']);
  const n = args.concurrency;
  checkCount('--concurrency', n);
  await readUnprunedJob(stateDir, args.job);
  const queued = await queueOnHolder(io, stateDir, args.job, 'fix', args['delete-extras'] ? { deleteExtras: true } : {});
  if (queued !== undefined) return queued;
  const { fixJob } = await import('../engine/fix-job.ts');
  const summary = await runJobCommand(io, args, (bus, signal) =>
    fixJob({
      stateDir,
      id: args.job,
      ...(args['delete-extras'] !== undefined ? { deleteExtras: args['delete-extras'] } : {}),
      ...(n !== undefined ? { concurrency: n } : {}),
      ...(args.engine ? { engine: args.engine } : {}),
      bus,
      signal,
    }),
    { jobDir: jobPaths(stateDir, args.job).dir, stateDir },
  );
  return summary.exitCode;
}

interface MigrateArgs extends CommonArgs, LiveArgs {
  source: string;
  dest: string;
  'report-dir'?: string;
  'delete-extras'?: boolean;
  overwrite?: boolean;
  fix?: boolean;
  'max-fix-rounds'?: number;
  'dry-run'?: boolean;
  exclude?: string[];
  'newer-than'?: string;
  'older-than'?: string;
  concurrency?: number;
  'limit-upload'?: string;
  headless?: boolean;
  'notify-webhook'?: string;
}

async function migrateCommand(io: Io, args: MigrateArgs): Promise<number> {
  checkLiveArgs(args);
  checkCount('--concurrency', args.concurrency);
  const limitUpload = args['limit-upload'] !== undefined ? parseRate(String(args['limit-upload'])) : undefined;
  const { runMigrate } = await import('../engine/reconcile-job.ts');
  const stateDir = resolveStateDir(args['state-dir']);
  const run: JobRun = (bus, signal) =>
    runMigrate({
      source: args.source,
      dest: args.dest,
      stateDir,
      reportDir: args['report-dir'],
      deleteExtras: args['delete-extras'] ?? false,
      ...(args.overwrite ? { overwrite: true } : {}),
      ...(args.fix ? { fix: true } : {}),
      ...(args['max-fix-rounds'] !== undefined ? { maxFixRounds: args['max-fix-rounds'] } : {}),
      ...(args['dry-run'] ? { dryRun: true } : {}),
      ...(args.exclude?.length ? { exclude: args.exclude.map(String) } : {}),
      ...(args['newer-than'] !== undefined ? { newerThan: String(args['newer-than']) } : {}),
      ...(args['older-than'] !== undefined ? { olderThan: String(args['older-than']) } : {}),
      ...(args.concurrency !== undefined ? { concurrency: args.concurrency } : {}),
      ...(limitUpload !== undefined ? { limitUpload } : {}),
      ...(args['list-concurrency'] !== undefined ? { listConcurrency: args['list-concurrency'] } : {}),
      ...(args.insecure ? { insecure: true } : {}),
      ...(args['ca-bundle'] ? { caBundle: args['ca-bundle'] } : {}),
      ...(args.engine ? { engine: args.engine } : {}),
      bus,
      signal,
    });
  const hook = args['notify-webhook'];
  checkWebhook(hook);
  const notified = hook ? notifying(run, hook) : { run, sent: () => Promise.resolve() };
  try {
    if (wantsDashboard(io, args)) return await dashboardCommand(io, stateDir, notified.run);
    const summary = await runJobCommand(io, args, notified.run, { stateDir });
    return summary.exitCode;
  } finally {
    // The job never waited for the webhook; the process waits for its answer (retries included) before it exits.
    await notified.sent();
  }
}

/**
 * A job whose end (its summary, or its failure; a pause is no end) is POSTed to a webhook in the
 * background; `sent()` resolves when the POST is done.
 */
function notifying(run: JobRun, url: string): { run: JobRun; sent: () => Promise<unknown> } {
  const pending: Promise<unknown>[] = [];
  const wrapped: JobRun = async (bus, signal) => {
    let jobId: string | undefined;
    bus.subscribe((e) => {
      if (e.type === 'job:created') jobId = e.jobId;
    });
    const { notifyInBackground } = await import('../engine/notify.ts');
    try {
      const summary = await run(bus, signal);
      pending.push(notifyInBackground(url, { type: 'summary', summary }));
      return summary;
    } catch (err) {
      if (!(isS3migError(err) && err.code === 'S3MIG_PAUSED')) {
        pending.push(notifyInBackground(url, { type: 'failure', jobId: jobId ?? null, error: oneLine(err) }));
      }
      throw err;
    }
  };
  return { run: wrapped, sent: () => Promise.all(pending) };
}

async function retryCommand(io: Io, args: CommonArgs & { job: string; concurrency?: number; engine?: 'auto' | 'mc' | 'native' }): Promise<number> {
  const stateDir = resolveStateDir(args['state-dir']);
  checkCount('--concurrency', args.concurrency);
  await readUnprunedJob(stateDir, args.job);
  const queued = await queueOnHolder(io, stateDir, args.job, 'retry');
  if (queued !== undefined) return queued;
  const { retryJob } = await import('../engine/fix-job.ts');
  const summary = await runJobCommand(
    io,
    args,
    (bus, signal) =>
      retryJob({
        stateDir,
        id: args.job,
        ...(args.concurrency !== undefined ? { concurrency: args.concurrency } : {}),
        ...(args.engine ? { engine: args.engine } : {}),
        bus,
        signal,
      }),
    { jobDir: jobPaths(stateDir, args.job).dir, stateDir },
  );
  return summary.exitCode;
}

async function jobsCommand(io: Io, args: CommonArgs): Promise<number> {
  const stateDir = resolveStateDir(args['state-dir']);
  const { jobs, unreadable } = await listJobs(stateDir);
  if (args.json) {
    for (const j of jobs) io.stdout.write(JSON.stringify(j) + '\n');
  } else {
    io.stdout.write(formatJobs(jobs));
  }
  for (const u of unreadable) io.stderr.write(`s3mig: job ${u.id}: ${u.message}\n`);
  return 0;
}

/** Until the TUI issue lands, the demo reconciles the two sample inventories in a temporary state directory. */
/** The demo: a migration between two local S3 endpoints it starts and seeds, in the dashboard on a terminal. */
async function demoCommand(io: Io, args: CommonArgs & { 'report-dir'?: string; headless?: boolean }): Promise<number> {
  const explicit = args['state-dir'] ?? undefined;
  const stateDir = explicit ? resolveStateDir(explicit) : await mkdtemp(join(tmpdir(), 's3mig-demo-'));
  const { startDemo } = await import('../engine/demo.ts');
  const { runMigrate } = await import('../engine/reconcile-job.ts');
  const dashboard = wantsDashboard(io, args);
  const say = (text: string) => {
    if (!args.json) io.stdout.write(text);
  };
  say('s3mig demo: two local S3 endpoints on 127.0.0.1, seeding the source from sample-data/media/ and the destination with drift\n');
  const demo = await startDemo(join(PACKAGE_ROOT, 'sample-data', 'media'));
  try {
    const seeded = `  source ${demo.source}: ${demo.seeded.source} objects (${formatBytes(demo.seeded.bytes)}); destination ${demo.dest}: ${demo.seeded.dest} objects, some stale, some extra\n`;
    const run: JobRun = (bus, signal) =>
      runMigrate({
        source: demo.source,
        dest: demo.dest,
        stateDir,
        reportDir: args['report-dir'],
        engine: 'native',
        aliasEnv: { env: demo.env },
        bus,
        signal,
      });
    if (dashboard) {
      const code = await dashboardCommand(io, stateDir, run, { title: 'demo', aliasEnv: { env: demo.env }, demo: true });
      say(seeded);
      return code;
    }
    say(seeded);
    say(`  migrating with the native engine: copy what is missing, then list both sides, compare and report\n\n`);
    const summary = await runJobCommand(io, args, run, { demo: true, stateDir, aliasEnv: { env: demo.env } });
    return summary.outcome === 'incomplete' ? 2 : 0;
  } finally {
    await demo.stop();
    if (!explicit) await rm(stateDir, { recursive: true, force: true });
  }
}

/** `s3mig scheduler`: headless, or the TUI (which owns the scheduler) on a terminal. */
async function schedulerEntry(io: Io, args: CommonArgs & { headless?: boolean; 'max-concurrent'?: number }): Promise<number> {
  if (wantsDashboard(io, args)) return dashboardCommand(io, resolveStateDir(args['state-dir']), undefined, { ...(args['max-concurrent'] !== undefined ? { maxConcurrent: args['max-concurrent'] } : {}) });
  return schedulerCommand(io, args);
}

/** `s3mig` alone: the TUI on the jobs of the state directory (on a terminal), else the help. */
async function defaultCommand(io: Io, args: CommonArgs, showHelp: () => void): Promise<number> {
  if (!wantsDashboard(io, args)) {
    showHelp();
    return 0;
  }
  return dashboardCommand(io, resolveStateDir(args['state-dir']), undefined);
}

/**
 * What a migration is run with, now (`migrate`) or later (`schedule add`): the targets and the options
 * of the transfer, the filters and the fix loop. `engineDefault`: migrate's; a schedule stores only what
 * the operator gave.
 */
function withMigrateOptions<T>(y: Argv<T>, engineDefault?: 'auto') {
  return y
    .positional('source', { type: 'string', demandOption: true, describe: 'ALIAS/BUCKET[/PREFIX]' })
    .positional('dest', { type: 'string', demandOption: true, describe: 'ALIAS/BUCKET[/PREFIX]' })
    .option('engine', { type: 'string', choices: ['auto', 'mc', 'native'], ...(engineDefault ? { default: engineDefault } : {}), describe: 'mc (mc mirror), native (the AWS SDK), or auto (mc when on PATH)' })
    .option('overwrite', { type: 'boolean', describe: 'also replace destination objects whose size or comparable ETag differs' })
    .option('fix', { type: 'boolean', describe: 'after the report, copy what is missing or different and re-check, round after round' })
    .option('max-fix-rounds', { type: 'number', describe: 'fix rounds at most (default 3)' })
    .option('delete-extras', { type: 'boolean', describe: 'with --fix: delete keys only in the destination (never after an incomplete listing)' })
    .option('exclude', { type: 'string', array: true, describe: 'leave out keys matching this pattern (* and ?, as mc); repeatable' })
    .option('newer-than', { type: 'string', describe: 'only objects newer than this (7d10h, or a date 2006.01.02[T15:04[:05]] UTC, or RFC 3339)' })
    .option('older-than', { type: 'string', describe: 'only objects older than this' })
    .option('concurrency', { type: 'number', describe: 'copies in flight, native engine (default 16)' })
    .option('limit-upload', { type: 'string', requiresArg: true, describe: "the job's upload limit in bytes per second, as mc: 10MiB, 512KiB, 1GB (MiB = 1024², MB = 1000²); server-side copies are not limited" })
    .option('list-concurrency', { type: 'number', describe: 'listers per side (default 8)' });
}

function buildParser(argv: string[], io: Io, done: (code: number) => void): Argv {
  const parser: Argv = yargs(argv)
    .scriptName('s3mig')
    .usage('$0 <command> [options]\n\nMigrate S3 buckets and prove the copy complete.')
    .option('state-dir', { type: 'string', describe: 'state directory (default $S3MIG_STATE_DIR, $XDG_STATE_HOME/s3mig, ~/.local/state/s3mig)', global: true })
    .option('json', { type: 'boolean', describe: 'print one JSON event per line on stdout; the last is the summary', global: true })
    .command(
      'reconcile <source> <dest>',
      'inventory both sides, compare them key by key, write reports (no transfer)',
      (y) =>
        y
          .positional('source', { type: 'string', demandOption: true, describe: 'ALIAS/BUCKET[/PREFIX] (aliases as mc: MC_HOST_<alias> or ~/.mc/config.json) or inventory:FILE (mc ls -r --json, plain or .gz)' })
          .positional('dest', { type: 'string', demandOption: true, describe: 'ALIAS/BUCKET[/PREFIX] or inventory:FILE' })
          .option('engine', { type: 'string', choices: ['auto', 'mc', 'native'], default: 'auto', describe: 'engine for live targets: mc (the MinIO client), native (the AWS SDK), or auto (mc when on PATH)' })
          .option('cross-check', { type: 'string', choices: ['mc-diff'], describe: 'also run mc diff over both live targets and report where it disagrees with s3mig' })
          .option('list-concurrency', { type: 'number', describe: 'key ranges listed at once per live side (default 8)' })
          .option('insecure', { type: 'boolean', describe: 'do not verify TLS certificates of live endpoints' })
          .option('ca-bundle', { type: 'string', describe: 'PEM file of certificate authorities for live endpoints' })
          .option('report-dir', { type: 'string', describe: 'where reports go (default ./s3mig-reports/<job>/)' })
          .option('delete-extras', { type: 'boolean', describe: 'write mc rm lines in fix.sh and delete actions in the fix plan for keys only in the destination (never for an incomplete run)' })
          .option('headless', { type: 'boolean', describe: 'no dashboard on a terminal: print progress and the summary' })
          .example('$0 reconcile inventory:src.ndjson inventory:dst.ndjson.gz', 'compare two saved listings')
          .example('$0 reconcile old/photos new/photos/2024', 'compare a bucket with a folder of another, live'),
      async (a) => done(await reconcileCommand(io, a as never)),
    )
    .command(
      'resume <job>',
      'continue a paused or interrupted job from its last checkpoint',
      (y) => y.positional('job', { type: 'string', demandOption: true, describe: 'job id (see s3mig jobs)' }),
      async (a) => done(await resumeCommand(io, a as never)),
    )
    .command(
      'report <job>',
      "rewrite every report of a job from its stored inventories (reads no input again)",
      (y) =>
        y
          .positional('job', { type: 'string', demandOption: true, describe: 'job id (see s3mig jobs)' })
          .option('report-dir', { type: 'string', describe: "where reports go (default the job's report folder)" }),
      async (a) => done(await reportCommand(io, a as never)),
    )
    .command(
      'fix <job>',
      "apply a job's fix plan (copy missing and different objects), then re-check the touched keys and rewrite the reports; for a job another process runs, queue the fix there",
      (y) =>
        y
          .positional('job', { type: 'string', demandOption: true, describe: 'job id (see s3mig jobs); both targets must be live' })
          .option('delete-extras', { type: 'boolean', describe: 'also delete keys found only in the destination (never after an incomplete run)' })
          .option('concurrency', { type: 'number', describe: 'copies in flight (default 8)' })
          .option('engine', { type: 'string', choices: ['auto', 'mc', 'native'], describe: "mc copies with mc cp (keys mc cannot address are left to --engine native); default: the job's engine" }),
      async (a) => done(await fixCommand(io, a as never)),
    )
    .command(
      'migrate <source> <dest>',
      'validate, estimate, transfer, then inventory both sides, compare and report (with --fix: fix and re-check)',
      (y) =>
        withMigrateOptions(y, 'auto')
          .option('dry-run', { type: 'boolean', describe: 'list both sides and report what the transfer would copy; change nothing' })
          .option('insecure', { type: 'boolean', describe: 'do not verify TLS certificates' })
          .option('ca-bundle', { type: 'string', describe: 'PEM file of certificate authorities' })
          .option('report-dir', { type: 'string', describe: 'where reports go (default ./s3mig-reports/<job>/)' })
          .option('headless', { type: 'boolean', describe: 'no dashboard on a terminal: print progress and the summary' })
          .option('notify-webhook', { type: 'string', requiresArg: true, describe: 'POST the summary (or the failure) as JSON to this URL when the job ends, retried with backoff' })
          .example('$0 migrate old/media new/media --fix', 'copy, prove, and fix until clean')
          .example('$0 migrate old/media new/media --dry-run', 'what would be copied'),
      async (a) => done(await migrateCommand(io, a as never)),
    )
    .command(
      'retry <job>',
      "copy a migration's failed queue again (objects whose transfer failed after their retries), re-check them and rewrite the reports; for a job another process runs, queue the retry there",
      (y) =>
        y
          .positional('job', { type: 'string', demandOption: true, describe: 'job id (see s3mig jobs)' })
          .option('concurrency', { type: 'number', describe: 'copies in flight (default 8)' })
          .option('engine', { type: 'string', choices: ['auto', 'mc', 'native'], describe: "default: the job's engine" }),
      async (a) => done(await retryCommand(io, a as never)),
    )
    .command('jobs', 'list the jobs of the state directory', (y) => y, async (a) => done(await jobsCommand(io, a)))
    .command('schedule', 'queue migrations: one-shot (--at) or recurring (--cron --tz); s3mig scheduler (or the TUI) fires them', (y) =>
      y
        .command(
          'add <source> <dest>',
          'add a scheduled migration (its aliases resolve when it runs; no credential is stored)',
          (yy) =>
            withMigrateOptions(yy)
              .option('at', { type: 'string', requiresArg: true, describe: 'once, at this ISO 8601 time with its offset: 2026-12-01T02:00:00+01:00' })
              .option('cron', { type: 'string', requiresArg: true, describe: 'recurring: a 5-field cron expression, read in --tz: "30 2 * * *"' })
              .option('tz', { type: 'string', requiresArg: true, describe: 'the IANA time zone of --cron: Europe/Berlin (daylight saving followed)' })
              .option('missed', { type: 'string', choices: ['once', 'skip'], default: 'once', describe: 'runs missed while no scheduler ran: run once for all of them, or skip them' })
              .option('notify-webhook', { type: 'string', requiresArg: true, describe: 'POST each run\'s summary (or its failure) as JSON to this URL, retried with backoff' })
              .option('report-dir', { type: 'string', describe: 'where each run writes its reports (<dir>/<schedule>-<time>/; default ./s3mig-reports here)' })
              .example('$0 schedule add old/media new/media --cron "30 2 * * *" --tz Europe/Berlin --fix', 'every night at 02:30 Berlin time')
              .example('$0 schedule add old/media new/media --at 2026-12-24T22:00:00Z', 'once'),
          async (a) => done(await scheduleAdd(io, a as never)),
        )
        .command('list', 'the schedules, their next run (in their zone and yours) and last result', (yy) => yy, async (a) => done(await scheduleList(io, a as never)))
        .command(
          'pause <id>',
          'stop a schedule from firing (a run in progress goes on)',
          (yy) => yy.positional('id', { type: 'string', demandOption: true }),
          async (a) => done(await scheduleSet(io, a as never, 'pause')),
        )
        .command(
          'resume <id>',
          'let a paused schedule fire again (what fell due while paused is not caught up)',
          (yy) => yy.positional('id', { type: 'string', demandOption: true }),
          async (a) => done(await scheduleSet(io, a as never, 'resume')),
        )
        .command(
          'remove <id>',
          'delete a schedule (a run in progress goes on)',
          (yy) => yy.positional('id', { type: 'string', demandOption: true }),
          async (a) => done(await scheduleSet(io, a as never, 'remove')),
        )
        .demandCommand(1, 'schedule needs a subcommand: add, list, pause, resume or remove'),
    )
    .command(
      'scheduler',
      'fire due schedules (one owner at a time; the TUI owns it when nothing else does)',
      (y) =>
        y
          .option('headless', { type: 'boolean', describe: 'no TUI: print what it does, one line an event' })
          .option('max-concurrent', { type: 'number', describe: 'jobs at once (default 2); at most one per destination' }),
      async (a) => done(await schedulerEntry(io, a as never)),
    )
    .command(
      'pause <job>',
      'ask the process running a job to pause it at its next batch boundary (continue with s3mig resume JOB)',
      (y) => y.positional('job', { type: 'string', demandOption: true, describe: 'job id (see s3mig jobs); the job must be running' }),
      async (a) => done(await pauseCommand(io, a as never)),
    )
    .command(
      'cancel <job>',
      'ask the process running a job to cancel it at its next batch boundary (its checkpoints are kept)',
      (y) => y.positional('job', { type: 'string', demandOption: true, describe: 'job id (see s3mig jobs); the job must be running' }),
      async (a) => done(await cancelCommand(io, a as never)),
    )
    .command(
      'prune <job>',
      "delete a finished job's database (its inventories) to free disk space; job.json, the event log and the reports stay",
      (y) => y.positional('job', { type: 'string', demandOption: true, describe: 'job id (see s3mig jobs); completed, completed-with-differences, failed or canceled' }),
      async (a) => done(await pruneCommand(io, a as never)),
    )
    .command(
      'demo',
      'migrate a sample bucket between two local S3 endpoints it starts on 127.0.0.1, with drift (what npm start runs)',
      (y) =>
        y
          .option('report-dir', { type: 'string', describe: 'where reports go (default ./s3mig-reports/<job>/)' })
          .option('headless', { type: 'boolean', describe: 'no dashboard: print progress and the summary' }),
      async (a) => done(await demoCommand(io, a)),
    )
    .command('$0', false, (y) => y, async (a) =>
      done(await defaultCommand(io, a, () => parser.showHelp((text) => io.stdout.write(`${text}\n`)))),
    )
    .strict()
    .help()
    .alias('h', 'help')
    .version()
    .wrap(Math.min(110, process.stdout.columns ?? 100))
    .fail((msg, err) => {
      if (err) throw err;
      throw new S3migError('S3MIG_USAGE', `${msg} (see s3mig --help)`);
    });
  return parser;
}

/** Runs the CLI and sets the process exit code: 0 clean, 1 differences, 2 error or incomplete. */
export async function main(argv: string[], io: Io = { stdout: process.stdout, stderr: process.stderr }): Promise<number> {
  let code = 0;
  try {
    await buildParser(argv, io, (c) => {
      code = c;
    }).parseAsync();
  } catch (err) {
    code = 2;
    if (isS3migError(err)) {
      io.stderr.write(`s3mig: ${oneLine(err)}\n`);
    } else {
      io.stderr.write(`s3mig: internal error: ${oneLine(err)} (set S3MIG_DEBUG=1 for details)\n`);
      if (process.env.S3MIG_DEBUG) io.stderr.write(`${(err as Error).stack}\n`);
    }
  }
  process.exitCode = code;
  return code;
}
