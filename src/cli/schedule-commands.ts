// `s3mig schedule add|list|pause|resume|remove` and `s3mig scheduler --headless` (issue 8): the queue of
// migrations in the state directory and the process that fires them.
import { resolve } from 'node:path';
import { S3migError, oneLine } from '../core/errors.ts';
import {
  checkCron,
  describeWhen,
  formatInZone,
  newScheduleId,
  nextRun,
  parseAt,
  type DestKey,
  type MissedPolicy,
  type ScheduleRecord,
  type ScheduledMigrate,
  type ScheduleWhen,
} from '../core/schedule.ts';
import { listSchedules, readSchedule, writeSchedule } from '../store/schedules.ts';
import { Workspace } from '../engine/workspace.ts';
import { resolveStateDir } from '../store/state-dir.ts';
import { parseTarget } from '../targets/target.ts';
import { resolveAlias } from '../targets/alias.ts';
import { parseRate } from '../core/rate-limit.ts';

interface Io {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
}

export interface ScheduleAddArgs {
  'state-dir'?: string;
  json?: boolean;
  source: string;
  dest: string;
  at?: string;
  cron?: string;
  tz?: string;
  missed?: MissedPolicy;
  'notify-webhook'?: string;
  overwrite?: boolean;
  fix?: boolean;
  'max-fix-rounds'?: number;
  'delete-extras'?: boolean;
  exclude?: string[];
  'newer-than'?: string;
  'older-than'?: string;
  concurrency?: number;
  'list-concurrency'?: number;
  engine?: 'auto' | 'mc' | 'native';
  'limit-upload'?: string;
  'report-dir'?: string;
}

/** When: exactly one of --at (with an offset) and --cron (with --tz). */
function whenOf(args: ScheduleAddArgs, now: Date): ScheduleWhen {
  if ((args.at === undefined) === (args.cron === undefined)) {
    throw new S3migError('S3MIG_USAGE', 'give exactly one of --at <ISO 8601 time with offset> and --cron "<expression>" --tz <IANA zone>');
  }
  if (args.at !== undefined) {
    if (args.tz !== undefined) throw new S3migError('S3MIG_USAGE', '--tz goes with --cron; --at carries its own offset');
    parseAt(args.at, now);
    return { kind: 'once', at: args.at };
  }
  if (args.tz === undefined) throw new S3migError('S3MIG_USAGE', `--cron needs --tz <IANA zone> (for example Europe/Berlin): "${args.cron}" is read in that zone`);
  checkCron(args.cron!, args.tz);
  return { kind: 'cron', expression: args.cron!, tz: args.tz };
}

/** The destination's endpoint, bucket and prefix when its alias resolves now (never its credentials). */
function destKeyOf(dest: string): DestKey | undefined {
  const t = parseTarget(dest);
  if (t.kind !== 'live') throw new S3migError('S3MIG_USAGE', `a scheduled migration needs a live destination, not ${dest}`);
  try {
    return { endpoint: resolveAlias(t.alias).url, bucket: t.bucket, prefix: t.prefix };
  } catch {
    return undefined;
  }
}

function migrateOf(args: ScheduleAddArgs): ScheduledMigrate {
  const m: ScheduledMigrate = {};
  if (args.overwrite) m.overwrite = true;
  if (args.fix) m.fix = true;
  if (args['max-fix-rounds'] !== undefined) m.maxFixRounds = args['max-fix-rounds'];
  if (args['delete-extras']) m.deleteExtras = true;
  if (args.exclude?.length) m.exclude = args.exclude.map(String);
  if (args['newer-than'] !== undefined) m.newerThan = String(args['newer-than']);
  if (args['older-than'] !== undefined) m.olderThan = String(args['older-than']);
  if (args.concurrency !== undefined) m.concurrency = args.concurrency;
  if (args['list-concurrency'] !== undefined) m.listConcurrency = args['list-concurrency'];
  if (args.engine) m.engine = args.engine;
  if (args['limit-upload'] !== undefined) m.limitUpload = parseRate(String(args['limit-upload']));
  // Absolute: the scheduler resolves nothing against its own working directory.
  m.reportDir = resolve(String(args['report-dir'] ?? 's3mig-reports'));
  return m;
}

/** A webhook URL: http or https. */
export function checkWebhook(url: string | undefined): void {
  if (url === undefined) return;
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new S3migError('S3MIG_USAGE', '--notify-webhook is not a URL');
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new S3migError('S3MIG_USAGE', `--notify-webhook must be http or https, not ${u.protocol}`);
}

export async function scheduleAdd(io: Io, args: ScheduleAddArgs, now = new Date()): Promise<number> {
  const stateDir = resolveStateDir(args['state-dir']);
  const source = parseTarget(args.source);
  if (source.kind !== 'live') throw new S3migError('S3MIG_USAGE', `a scheduled migration needs a live source, not ${args.source}`);
  const when = whenOf(args, now);
  checkWebhook(args['notify-webhook']);
  const destKey = destKeyOf(args.dest);
  const record: ScheduleRecord = {
    id: newScheduleId(now),
    source: args.source,
    dest: args.dest,
    ...(destKey ? { destKey } : {}),
    migrate: migrateOf(args),
    when,
    missed: args.missed ?? 'once',
    ...(args['notify-webhook'] ? { notifyWebhook: args['notify-webhook'] } : {}),
    paused: false,
    createdAt: now.toISOString(),
    updatedAt: now.toISOString(),
    runs: [],
  };
  await writeSchedule(stateDir, record);
  if (args.json) io.stdout.write(JSON.stringify(publicView(record, now)) + '\n');
  else {
    const next = nextRun(record, now);
    io.stdout.write(`schedule ${record.id}: ${args.source} → ${args.dest}, ${describeWhen(when)}; next run ${next ? nextText(record, next) : 'none'}\n`);
    if (!destKey) io.stderr.write(`s3mig: note: the destination's alias does not resolve now; it must when the schedule fires\n`);
  }
  return 0;
}

/** The next run in the schedule's zone and, when different, in the operator's. */
function nextText(s: ScheduleRecord, next: Date): string {
  const local = Intl.DateTimeFormat().resolvedOptions().timeZone;
  const zone = s.when.kind === 'cron' ? s.when.tz : local;
  const own = formatInZone(next, zone);
  return zone === local ? own : `${own} (${formatInZone(next, local)} here)`;
}

/** A schedule as `schedule list --json` prints it: the record without the webhook's URL (it may hold a token). */
function publicView(s: ScheduleRecord, now: Date): object {
  const { notifyWebhook, ...rest } = s;
  const next = s.paused ? undefined : nextRun(s, now);
  return { ...rest, notifyWebhook: notifyWebhook !== undefined, nextRun: next?.toISOString() ?? null };
}

function lastResult(s: ScheduleRecord): string {
  const last = s.runs[s.runs.length - 1];
  if (!last) return 'never ran';
  return `${last.state}${last.jobId ? ` (${last.jobId})` : ''}`;
}

export async function scheduleList(io: Io, args: { 'state-dir'?: string; json?: boolean }, now = new Date()): Promise<number> {
  const stateDir = resolveStateDir(args['state-dir']);
  const { schedules, unreadable } = await listSchedules(stateDir);
  if (args.json) {
    for (const s of schedules) io.stdout.write(JSON.stringify(publicView(s, now)) + '\n');
  } else if (schedules.length === 0) {
    io.stdout.write('no schedules (add one with: s3mig schedule add SRC DST --at TIME | --cron EXPR --tz ZONE)\n');
  } else {
    for (const s of schedules) {
      const next = nextRun(s, now);
      const state = s.paused ? 'paused' : s.done ? 'done' : 'active';
      io.stdout.write(`${s.id}  ${state}  ${s.source} → ${s.dest}  ${describeWhen(s.when)}\n`);
      io.stdout.write(`    next: ${s.paused ? 'paused' : next ? nextText(s, next) : 'none'}; last: ${lastResult(s)}; missed runs: ${s.missed}${s.notifyWebhook ? '; notifies a webhook' : ''}\n`);
    }
  }
  for (const u of unreadable) io.stderr.write(`s3mig: schedule ${u.id}: ${u.message}\n`);
  return 0;
}

export async function scheduleSet(io: Io, args: { 'state-dir'?: string; json?: boolean; id: string }, action: 'pause' | 'resume' | 'remove'): Promise<number> {
  const stateDir = resolveStateDir(args['state-dir']);
  const s = await readSchedule(stateDir, args.id);
  const ws = new Workspace(stateDir);
  if (action === 'remove') await ws.removeSchedule(s.id);
  else await ws.setSchedulePaused(s.id, action === 'pause');
  const done = action === 'remove' ? 'removed' : action === 'pause' ? 'paused' : 'resumed';
  if (args.json) io.stdout.write(JSON.stringify({ scheduleId: s.id, action: done }) + '\n');
  else io.stdout.write(`schedule ${s.id}: ${done}${action === 'remove' && running(s) ? ' (its running job goes on; see s3mig jobs)' : ''}\n`);
  return 0;
}

function running(s: ScheduleRecord): boolean {
  return s.runs.some((r) => r.state === 'starting' || r.state === 'running');
}

/** `s3mig scheduler --headless`: fires schedules until SIGINT/SIGTERM/SIGHUP, which pause running jobs at a checkpoint. */
export async function schedulerCommand(io: Io, args: { 'state-dir'?: string; json?: boolean; 'max-concurrent'?: number }): Promise<number> {
  const stateDir = resolveStateDir(args['state-dir']);
  const n = args['max-concurrent'];
  if (n !== undefined && (!Number.isInteger(n) || n < 1 || n > 64)) throw new S3migError('S3MIG_USAGE', `--max-concurrent must be a whole number from 1 to 64, not ${n}`);
  const { Scheduler } = await import('../engine/scheduler.ts');
  const scheduler = new Scheduler({
    stateDir,
    ...(n !== undefined ? { maxConcurrent: n } : {}),
    onEvent: (e) => io.stdout.write(args.json ? JSON.stringify(e) + '\n' : `${e.at} ${e.type} ${e.scheduleId}: ${e.message}\n`),
  });
  await scheduler.start();
  if (!args.json) io.stdout.write(`s3mig scheduler (pid ${process.pid}): firing the schedules of ${stateDir}; Ctrl-C stops it and pauses running jobs\n`);
  const sig = await new Promise<NodeJS.Signals>((resolve) => {
    for (const s of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.once(s, () => resolve(s));
  });
  if (!args.json) io.stdout.write(`${sig}: stopping; running jobs pause at their next checkpoint\n`);
  await scheduler.stop().catch((err: unknown) => io.stderr.write(`s3mig: ${oneLine(err)}\n`));
  return 0;
}
