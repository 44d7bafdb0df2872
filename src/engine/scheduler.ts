// The scheduler (issue 8): the one owner of a state directory's schedules fires what is due as migrations
// in this process, within a global limit and one running job per destination, and records every run.
//
// What it promises, and how:
// - A run is recorded in the schedule file (state `starting`, the schedule's `lastScheduledFor`, a one-shot's
//   `done`) BEFORE its job starts; `running` with the job id on job:created; its outcome when the job ends.
//   So a one-shot fires once, and a restart never runs a recorded occurrence again.
// - A due run that cannot start now (the limit, or its destination busy) waits in memory, retried every tick
//   (one `waiting` event says why). Nothing of it is persisted: if the scheduler stops first, the next
//   start finds the occurrence missed and applies the schedule's policy (`skip` or `once`).
// - A restart (start()) resumes the runs recorded `starting`, `running` or `paused` whose job has not
//   finished (resumeJob; a `starting` run whose job never came to be starts afresh), and records the
//   outcome of those whose job finished while no scheduler ran. A run paused (by stop(), or by an operator
//   through the job's control socket) resumes at the next start, not before.
// - Notifications: a finished run (completed, with differences, failed, canceled) of a schedule with a
//   webhook is recorded `notified: false`, POSTed in the background (the job never waits), and recorded
//   `notified: true` after a 2xx. A crash between the 2xx and that record re-sends once at the next start;
//   a run whose POST failed every attempt is tried again at the next start as well.
// - Schedule files are re-read at every tick and before every write, so `s3mig schedule add|pause|resume|remove`
//   from another process takes effect at the next tick.
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { S3migError, isS3migError, oneLine } from '../core/errors.ts';
import { isTerminal } from '../core/job-state.ts';
import type { JobRecord } from '../core/job-record.ts';
import type { Summary } from '../core/summary.ts';
import {
  describeWhen,
  due,
  recordRun,
  sameDestination,
  type DestKey,
  type RunState,
  type ScheduleRecord,
  type ScheduleRun,
} from '../core/schedule.ts';
import { acquireSchedulerLock, listSchedules, readSchedule, writeSchedule, type SchedulerLock } from '../store/schedules.ts';
import { jobPaths, listJobs, readJobRecord } from '../store/state-dir.ts';
import { standardFollowUp, startJob, type RunningJob } from './job-runner.ts';
import type { LiveEnv } from './live-targets.ts';
import { notifyInBackground, type PostOptions } from './notify.ts';
import { parseTarget } from '../targets/target.ts';

export interface SchedulerOptions {
  stateDir: string;
  /** Jobs running at once, all schedules together (default 2). */
  maxConcurrent?: number;
  /** The time (injected in tests; default the system clock). */
  clock?: () => Date;
  /**
   * Starts a run. Default: runMigrate with the schedule's options (resumeJob for a run that has a job id
   * already) in this process through startJob, with the job's control socket; credentials resolve from the
   * environment (or `aliasEnv`) when the run starts. Injected in unit tests.
   */
  startRun?: (s: ScheduleRecord, run: ScheduleRun) => RunningJob;
  /** Where aliases resolve from for the default startRun (default: this process's environment and home). */
  aliasEnv?: LiveEnv;
  /** For the TUI and logs: runs fired, occurrences skipped, runs finished, notifications sent, runs waiting, errors. */
  onEvent?: (e: SchedulerEvent) => void;
  /** How often due schedules are looked for, in ms (default 1000); 0: no timer, the caller calls tick(). */
  tickMs?: number;
  /** The webhook POSTs' tries and backoff (default: postSummary's). */
  notify?: Pick<PostOptions, 'attempts' | 'baseDelayMs' | 'timeoutMs'>;
}

/**
 * What the scheduler did, for the TUI and logs. `fired`: a run started (or resumed) and is recorded with its
 * job id; `skipped`: missed occurrences recorded skipped, or a waiting run replaced; `finished`: a run ended,
 * its `state` says how (completed, completed-with-differences, failed, canceled, paused); `notified`: its
 * webhook answered 2xx; `waiting`: a due run cannot start yet (the limit, or its destination busy), told once
 * per cause; `error`: a notification failed, a schedule file could not be read or written, a job's control
 * socket could not be opened. The message does not repeat the schedule id (an empty id: the scheduler as a whole).
 */
export type SchedulerEvent = {
  type: 'fired' | 'skipped' | 'finished' | 'notified' | 'waiting' | 'error';
  scheduleId: string;
  scheduledFor?: string;
  jobId?: string;
  /** `finished`: how the run ended. */
  state?: RunState;
  message: string;
  /** The scheduler's clock when it happened (ISO). */
  at: string;
};

export const DEFAULT_MAX_CONCURRENT = 2;
export const DEFAULT_TICK_MS = 1000;
/** State directories whose schedules a Scheduler of this process runs (the lock file says only which process). */
const HELD_HERE = new Set<string>();

/** Run states a scheduler picks up again at its start. */
const INTERRUPTED: readonly RunState[] = ['starting', 'running', 'paused'];
/** Run states that are over, and notified about when the schedule has a webhook. */
const FINISHED: readonly RunState[] = ['completed', 'completed-with-differences', 'failed', 'canceled'];

/** A run this process runs now. */
interface Active {
  scheduleId: string;
  scheduledFor: string;
  dest: ScheduleRecord;
  job: RunningJob;
  settled: Promise<void>;
}

/** A run that is due (or to resume) but may not start yet. */
interface Waiting {
  scheduleId: string;
  scheduledFor: string;
  /** A run recorded before (resumed at start); absent for a new occurrence. */
  run?: ScheduleRun;
  /** Why it waits, as last told. */
  announced?: string;
  /** What it waits for, as last told with a `waiting` event. */
  cause?: string;
}

/** What a webhook receives. */
export type Notification =
  | { type: 'summary'; schedule: NotifiedSchedule; run: ScheduleRun; summary: Summary }
  | { type: 'failure'; schedule: NotifiedSchedule; run: ScheduleRun; error: string };

/** The schedule as a notification shows it (never its webhook URL). */
export interface NotifiedSchedule {
  id: string;
  source: string;
  dest: string;
  when: string;
}

const runKey = (scheduleId: string, scheduledFor: string) => `${scheduleId} ${scheduledFor}`;

/** The later of two ISO instants (either may be absent). */
function later(a: string | undefined, b: string | undefined): string | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  return Date.parse(a) >= Date.parse(b) ? a : b;
}

/** A schedule's run with `patch` applied (the run as recorded, or a new one). */
function patchRun(s: ScheduleRecord, scheduledFor: string, patch: Partial<ScheduleRun>, fallback: RunState = 'starting'): ScheduleRecord {
  const found = s.runs.find((r) => r.scheduledFor === scheduledFor);
  return recordRun(s, { ...(found ?? { scheduledFor, state: fallback }), ...patch, scheduledFor });
}

/** The destination of a spec as a DestKey (the alias standing for the endpoint), or undefined when it is no live target. */
function specKey(spec: string): DestKey | undefined {
  try {
    const t = parseTarget(spec);
    return t.kind === 'live' ? { endpoint: `alias:${t.alias}`, bucket: t.bucket, prefix: t.prefix } : undefined;
  } catch {
    return undefined;
  }
}

/** Whether two schedules write to the same destination: resolved keys when both have one, else their specs. */
export function sameDestinationOf(a: Pick<ScheduleRecord, 'dest' | 'destKey'>, b: Pick<ScheduleRecord, 'dest' | 'destKey'>): boolean {
  if (a.destKey && b.destKey) return sameDestination(a.destKey, b.destKey);
  const [ka, kb] = [specKey(a.dest), specKey(b.dest)];
  return ka && kb ? sameDestination(ka, kb) : a.dest === b.dest;
}

/** The run state a job's final state stands for. */
function runStateOfJob(state: JobRecord['state']): RunState {
  return state === 'completed' || state === 'completed-with-differences' || state === 'failed' || state === 'canceled' ? state : 'failed';
}

/** A scheduled time as a folder name: 20260301-020000Z. */
function stampOf(iso: string): string {
  return new Date(iso).toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15) + 'Z';
}

/**
 * The default startRun: a migration with the schedule's options, or the run's job resumed. With a report
 * folder, each run writes into its own sub-folder `<schedule id>-<scheduled time>`; without one, into
 * runMigrate's default (./s3mig-reports/<job id> under the scheduler's working directory).
 */
export function defaultStartRun(stateDir: string, aliasEnv?: LiveEnv, onWarning?: (err: unknown) => void): (s: ScheduleRecord, run: ScheduleRun) => RunningJob {
  const env = aliasEnv ? { aliasEnv } : {};
  return (s, run) => {
    const common = { followUp: standardFollowUp(stateDir, aliasEnv), ...(onWarning ? { onControlWarning: onWarning } : {}) };
    const jobId = run.jobId;
    if (jobId) {
      return startJob(async (bus, signal) => (await import('./reconcile-job.ts')).resumeJob({ stateDir, id: jobId, bus, signal, ...env }), {
        ...common,
        jobDir: jobPaths(stateDir, jobId).dir,
      });
    }
    const m = s.migrate;
    return startJob(
      async (bus, signal) =>
        (await import('./reconcile-job.ts')).runMigrate({
          source: s.source,
          dest: s.dest,
          stateDir,
          ...(m.reportDir ? { reportDir: join(resolve(m.reportDir), `${s.id}-${stampOf(run.scheduledFor)}`) } : {}),
          deleteExtras: m.deleteExtras ?? false,
          ...(m.overwrite ? { overwrite: true } : {}),
          ...(m.fix ? { fix: true } : {}),
          ...(m.maxFixRounds !== undefined ? { maxFixRounds: m.maxFixRounds } : {}),
          ...(m.exclude?.length ? { exclude: m.exclude } : {}),
          ...(m.newerThan !== undefined ? { newerThan: m.newerThan } : {}),
          ...(m.olderThan !== undefined ? { olderThan: m.olderThan } : {}),
          ...(m.concurrency !== undefined ? { concurrency: m.concurrency } : {}),
          ...(m.listConcurrency !== undefined ? { listConcurrency: m.listConcurrency } : {}),
          ...(m.engine ? { engine: m.engine } : {}),
          ...(m.limitUpload !== undefined ? { limitUpload: m.limitUpload } : {}),
          ...env,
          bus,
          signal,
        }),
      common,
    );
  };
}

/** Fires a state directory's schedules while it holds the scheduler's lock (see the file's header). */
export class Scheduler {
  private readonly stateDir: string;
  private readonly maxConcurrent: number;
  private readonly clock: () => Date;
  private readonly startRun: (s: ScheduleRecord, run: ScheduleRun) => RunningJob;
  private readonly tickMs: number;
  private readonly active = new Map<string, Active>();
  /** New occurrences waiting to start, by schedule id (at most one each). */
  private readonly waitingFires = new Map<string, Waiting>();
  /** Recorded runs waiting to be resumed, by run key. */
  private readonly waitingResumes = new Map<string, Waiting>();
  private readonly notifications = new Set<Promise<unknown>>();
  private readonly notifyStop = new AbortController();
  private readonly unreadableSeen = new Set<string>();
  private lock: SchedulerLock | undefined;
  private timer: NodeJS.Timeout | undefined;
  private ticking: Promise<void> = Promise.resolve();
  private writes: Promise<unknown> = Promise.resolve();
  private state: 'new' | 'started' | 'stopping' | 'stopped' = 'new';

  constructor(private readonly options: SchedulerOptions) {
    this.stateDir = options.stateDir;
    this.maxConcurrent = Math.max(1, options.maxConcurrent ?? DEFAULT_MAX_CONCURRENT);
    this.clock = options.clock ?? (() => new Date());
    this.tickMs = options.tickMs ?? DEFAULT_TICK_MS;
    this.startRun =
      options.startRun ??
      defaultStartRun(this.stateDir, options.aliasEnv, (err) =>
        this.emit({ type: 'error', scheduleId: '', message: `a job's control socket could not be opened: ${oneLine(err)}` }),
      );
  }

  /**
   * Takes the lock (refused with S3MIG_STATE_LOCKED naming the pid that holds it), picks up interrupted runs
   * (resumed at the next ticks, within the limits) and records those whose job finished meanwhile, then ticks.
   */
  async start(): Promise<void> {
    if (this.state !== 'new') throw new S3migError('S3MIG_USAGE', 'this scheduler has been started already');
    // The lock file is per process: a second scheduler of this process is refused here.
    const key = resolve(this.stateDir);
    if (HELD_HERE.has(key)) {
      throw new S3migError('S3MIG_STATE_LOCKED', `the schedules of ${this.stateDir} are run by this process already (pid ${process.pid})`);
    }
    HELD_HERE.add(key);
    let lock: SchedulerLock | { heldBy: number };
    try {
      lock = await acquireSchedulerLock(this.stateDir, process.pid);
    } catch (err) {
      HELD_HERE.delete(key);
      throw err;
    }
    if ('heldBy' in lock) {
      HELD_HERE.delete(key);
      throw new S3migError('S3MIG_STATE_LOCKED', `the schedules of ${this.stateDir} are run by another s3mig process (pid ${lock.heldBy}); stop it, or leave the schedules to it`);
    }
    this.lock = lock;
    this.state = 'started';
    try {
      await this.recover();
    } catch (err) {
      this.state = 'stopped';
      this.lock = undefined;
      await lock.release().catch(() => undefined);
      HELD_HERE.delete(key);
      throw err;
    }
    if (this.tickMs > 0) this.arm();
  }

  /**
   * One pass: for every schedule, due(now): skipped occurrences are recorded; what is due starts when the
   * global limit and its destination allow, else waits (retried at the next tick).
   */
  tick(): Promise<void> {
    const pass = this.ticking.then(() => this.pass());
    this.ticking = pass.catch(() => undefined);
    return pass;
  }

  /** Stops ticking, pauses running jobs at a checkpoint (they resume at the next start), releases the lock. */
  async stop(): Promise<void> {
    if (this.state === 'stopped' || this.state === 'stopping') return;
    const wasStarted = this.state === 'started';
    this.state = 'stopping';
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.ticking;
    this.waitingFires.clear();
    this.waitingResumes.clear();
    for (const a of this.active.values()) a.job.pause('the scheduler stopped; the run resumes when it starts again');
    await Promise.allSettled([...this.active.values()].map((a) => a.settled));
    // A POST still trying is dropped; its run stays `notified: false` and is sent at the next start.
    this.notifyStop.abort();
    await Promise.allSettled([...this.notifications]);
    await this.writes;
    this.state = 'stopped';
    if (wasStarted) {
      await this.lock?.release();
      HELD_HERE.delete(resolve(this.stateDir));
    }
    this.lock = undefined;
  }

  /** The runs this process runs now. */
  running(): { scheduleId: string; scheduledFor: string; jobId?: string }[] {
    return [...this.active.values()].map((a) => ({ scheduleId: a.scheduleId, scheduledFor: a.scheduledFor, ...(a.job.jobId ? { jobId: a.job.jobId } : {}) }));
  }

  /** The runs that are due (or to resume) and wait for the limit or their destination, with the reason last given. */
  waiting(): { scheduleId: string; scheduledFor: string; reason?: string }[] {
    return [...this.waitingResumes.values(), ...this.waitingFires.values()].map((w) => ({
      scheduleId: w.scheduleId,
      scheduledFor: w.scheduledFor,
      ...(w.announced ? { reason: w.announced } : {}),
    }));
  }

  /** Resolves once no run is running and no notification is being sent (runs waiting for a tick aside). */
  async idle(): Promise<void> {
    while (this.active.size > 0 || this.notifications.size > 0) {
      await Promise.allSettled([...[...this.active.values()].map((a) => a.settled), ...this.notifications]);
    }
    await this.writes;
  }

  // -------------------------------------------------------------------------------------------

  private emit(e: Omit<SchedulerEvent, 'at'>): void {
    try {
      this.options.onEvent?.({ ...e, at: this.clock().toISOString() });
    } catch {
      // A listener's failure is its own.
    }
  }

  /** For promises nobody awaits: a failure becomes an `error` event, never an unhandled rejection. */
  private internalError(scheduleId: string): (err: unknown) => void {
    return (err) => this.emit({ type: 'error', scheduleId, message: `scheduler: ${oneLine(err)}` });
  }

  private arm(): void {
    this.timer = setTimeout(() => {
      this.tick()
        .catch((err: unknown) => this.emit({ type: 'error', scheduleId: '', message: `scheduler: ${oneLine(err)}` }))
        .finally(() => {
          if (this.state === 'started') this.arm();
        });
    }, this.tickMs);
  }

  /**
   * Re-reads the schedule, applies `change` and writes it atomically; all writes of this process in order.
   * `change` returning undefined writes nothing. Never rejects: a schedule removed meanwhile, or a write that
   * failed (told as an `error` event), gives undefined.
   */
  private update(id: string, change: (cur: ScheduleRecord) => ScheduleRecord | undefined): Promise<ScheduleRecord | undefined> {
    const p = this.writes.then(async () => {
      let cur: ScheduleRecord;
      try {
        cur = await readSchedule(this.stateDir, id);
      } catch (err) {
        this.emit({ type: 'error', scheduleId: id, message: `schedule ${id} could not be updated: ${oneLine(err)}` });
        return undefined;
      }
      const next = change(cur);
      if (!next) return undefined;
      const stamped: ScheduleRecord = { ...next, updatedAt: this.clock().toISOString() };
      try {
        await writeSchedule(this.stateDir, stamped);
      } catch (err) {
        this.emit({ type: 'error', scheduleId: id, message: `schedule ${id} could not be written: ${oneLine(err)}` });
        return undefined;
      }
      return stamped;
    });
    // A failure here (none is expected: reads and writes are caught) must not stop the writes after it.
    const safe = p.catch((err: unknown) => {
      this.emit({ type: 'error', scheduleId: id, message: `schedule ${id} could not be updated: ${oneLine(err)}` });
      return undefined;
    });
    this.writes = safe;
    return safe;
  }

  private async pass(): Promise<void> {
    if (this.state !== 'started') return;
    const now = this.clock();
    const { schedules, unreadable } = await listSchedules(this.stateDir);
    for (const u of unreadable) {
      if (this.unreadableSeen.has(u.id)) continue;
      this.unreadableSeen.add(u.id);
      this.emit({ type: 'error', scheduleId: u.id, message: `schedule ${u.id} cannot be read: ${u.message}` });
    }
    const byId = new Map(schedules.map((s) => [s.id, s]));

    // Runs recorded before this start, oldest first: they go before new occurrences.
    for (const w of [...this.waitingResumes.values()].sort(byTime)) {
      const s = byId.get(w.scheduleId);
      if (!s) {
        this.waitingResumes.delete(runKey(w.scheduleId, w.scheduledFor));
        continue;
      }
      if (s.paused || !this.mayStart(s, w)) continue;
      this.waitingResumes.delete(runKey(w.scheduleId, w.scheduledFor));
      this.launch(s, w.run!, true);
    }

    for (const s of [...schedules].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))) {
      const waiting = this.waitingFires.get(s.id);
      if (s.paused) {
        // Not recorded: when the schedule is resumed, due() finds the occurrence again and its policy applies.
        if (waiting) this.waitingFires.delete(s.id);
        continue;
      }
      await this.decide(s, now, waiting);
    }
    for (const id of this.waitingFires.keys()) if (!byId.has(id)) this.waitingFires.delete(id);

    for (const w of [...this.waitingFires.values()].sort(byTime)) {
      const s = byId.get(w.scheduleId);
      if (!s || !this.mayStart(s, w)) continue;
      this.waitingFires.delete(s.id);
      await this.fire(s, w.scheduledFor);
    }
  }

  /**
   * Applies due(): records skipped occurrences, and makes a due one wait for its start. A run still waiting
   * when a later occurrence comes (due or skipped) never started: it is recorded skipped, replaced.
   */
  private async decide(s: ScheduleRecord, now: Date, waiting: Waiting | undefined): Promise<void> {
    // With a run waiting, only what comes after it is new.
    const view = waiting ? { ...s, lastScheduledFor: later(s.lastScheduledFor, waiting.scheduledFor) } : s;
    const d = due(view, now);
    const skipped = d.skipped.map((x) => x.toISOString());
    const fire = d.fire?.toISOString();
    const superseded = waiting && (fire || skipped.length > 0) ? waiting.scheduledFor : undefined;
    // What is recorded as considered: the skipped occurrences (and the replaced one), never the one to fire,
    // which is recorded when it starts (if the scheduler stops first, the next start finds it missed).
    const considered = fire ? [...skipped, ...(superseded ? [superseded] : [])].reduce<string | undefined>((m, x) => later(m, x), undefined) : d.lastScheduledFor?.toISOString();
    const moves = considered !== undefined && later(s.lastScheduledFor, considered) !== s.lastScheduledFor;
    if (skipped.length > 0 || superseded || (moves && !waiting)) {
      const updated = await this.update(s.id, (cur) => {
        let next = cur;
        if (superseded) next = patchRun(next, superseded, { state: 'skipped', error: `a later occurrence came while it waited${waiting?.announced ? ` (${waiting.announced})` : ''}` }, 'skipped');
        for (const at of skipped) next = patchRun(next, at, { state: 'skipped' }, 'skipped');
        const last = later(cur.lastScheduledFor, considered);
        return {
          ...next,
          ...(last !== undefined ? { lastScheduledFor: last } : {}),
          ...(cur.when.kind === 'once' && skipped.length > 0 && !fire ? { done: true } : {}),
        };
      });
      if (!updated) return;
      if (superseded) {
        this.waitingFires.delete(s.id);
        this.emit({ type: 'skipped', scheduleId: s.id, scheduledFor: superseded, message: `the run of ${superseded} never started (${waiting?.announced ?? 'waiting'}); a later occurrence replaces it` });
      }
      if (skipped.length > 0) {
        const count = Math.max(d.skippedCount, skipped.length);
        this.emit({
          type: 'skipped',
          scheduleId: s.id,
          scheduledFor: skipped[skipped.length - 1]!,
          message: `${count} occurrence(s) missed, skipped (policy ${s.missed}${fire ? ': the latest runs now' : ''})`,
        });
      }
    }
    if (fire) this.waitingFires.set(s.id, { scheduleId: s.id, scheduledFor: fire });
  }

  /** Whether a run of `s` may start now; when not, says why once (again when the reason changes). */
  private mayStart(s: ScheduleRecord, w: Waiting): boolean {
    let reason: string | undefined;
    let cause: string | undefined;
    const busy = [...this.active.values()].find((a) => sameDestinationOf(a.dest, s));
    if (busy) {
      const who = busy.job.jobId ? `job ${busy.job.jobId}` : 'a run';
      reason = `its destination ${s.dest} is busy: ${who} of schedule ${busy.scheduleId} writes to ${busy.dest.dest}`;
      cause = `busy ${busy.scheduleId} ${busy.scheduledFor}`;
    } else if (this.active.size >= this.maxConcurrent) {
      reason = `the limit of ${this.maxConcurrent} running job(s) is reached`;
      cause = 'limit';
    }
    if (!reason) return true;
    w.announced = reason;
    // Told once per cause (the run in the way, or the limit), not at every tick.
    if (w.cause !== cause) {
      w.cause = cause;
      this.emit({ type: 'waiting', scheduleId: s.id, scheduledFor: w.scheduledFor, message: `the run of ${w.scheduledFor} waits: ${reason}` });
    }
    return false;
  }

  /** Records a new run (and the schedule's progress) before starting its job. */
  private async fire(s: ScheduleRecord, scheduledFor: string): Promise<void> {
    const run: ScheduleRun = { scheduledFor, state: 'starting', startedAt: this.clock().toISOString() };
    const updated = await this.update(s.id, (cur) => {
      // Paused or already recorded by the time of the write: nothing starts.
      if (cur.paused || cur.runs.some((r) => r.scheduledFor === scheduledFor)) return undefined;
      return {
        ...recordRun(cur, run),
        lastScheduledFor: later(cur.lastScheduledFor, scheduledFor)!,
        ...(cur.when.kind === 'once' ? { done: true } : {}),
      };
    });
    if (updated) this.launch(updated, run, false);
  }

  /** Starts a recorded run's job and follows it to its end. */
  private launch(s: ScheduleRecord, run: ScheduleRun, resumed: boolean): void {
    const key = runKey(s.id, run.scheduledFor);
    let job: RunningJob;
    try {
      job = this.startRun(s, run);
    } catch (err) {
      void this.finish(s, run.scheduledFor, { error: err }, run.jobId).catch(this.internalError(s.id));
      return;
    }
    const active: Active = { scheduleId: s.id, scheduledFor: run.scheduledFor, dest: s, job, settled: Promise.resolve() };
    this.active.set(key, active);
    const verb = resumed ? 'resumed' : 'started';
    // Recorded `running` with its job id as soon as the job has one; told once that is written.
    const running = (jobId: string) => {
      void this.update(s.id, (cur) => {
        const r = cur.runs.find((x) => x.scheduledFor === run.scheduledFor);
        // The outcome may be recorded already (a job that ended at once): leave it.
        if (r && r.state !== 'starting' && r.state !== 'running' && r.state !== 'paused') return undefined;
        return patchRun(cur, run.scheduledFor, { state: 'running', jobId });
      }).then(() =>
        this.emit({ type: 'fired', scheduleId: s.id, scheduledFor: run.scheduledFor, jobId, message: `the run of ${run.scheduledFor} ${verb} as job ${jobId} (${s.source} -> ${s.dest})` }),
      );
    };
    if (job.jobId) running(job.jobId);
    else {
      const unsubscribe = job.bus.subscribe((e) => {
        if (e.type !== 'job:created') return;
        unsubscribe();
        running(e.jobId);
      });
    }
    active.settled = job.done
      .then(
        (summary) => this.finish(s, run.scheduledFor, { summary }, job.jobId),
        (error: unknown) => this.finish(s, run.scheduledFor, { error }, job.jobId),
      )
      .catch(this.internalError(s.id));
  }

  /** Records how a run ended, frees its destination, and notifies. */
  private async finish(s: ScheduleRecord, scheduledFor: string, end: { summary: Summary } | { error: unknown }, jobId: string | undefined): Promise<void> {
    const key = runKey(s.id, scheduledFor);
    try {
      const patch: Partial<ScheduleRun> = {};
      let state: RunState;
      if ('summary' in end) {
        const o = end.summary.outcome;
        state = o === 'clean' ? 'completed' : o === 'differences' ? 'completed-with-differences' : 'failed';
        patch.exitCode = end.summary.exitCode;
        patch.jobId = end.summary.job;
        if (o === 'incomplete') patch.error = `a listing is incomplete: ${end.summary.incomplete.map((i) => `${i.side}: ${i.message}`).join('; ')}`;
      } else {
        const code = isS3migError(end.error) ? end.error.code : undefined;
        state = code === 'S3MIG_PAUSED' ? 'paused' : code === 'S3MIG_CANCELED' ? 'canceled' : 'failed';
        patch.error = oneLine(end.error);
        if (state !== 'paused') patch.exitCode = 2;
        if (jobId) patch.jobId = jobId;
      }
      patch.state = state;
      if (state !== 'paused') patch.finishedAt = this.clock().toISOString();
      const updated = await this.update(s.id, (cur) => {
        const notify = Boolean(cur.notifyWebhook) && FINISHED.includes(state);
        return patchRun(cur, scheduledFor, { ...patch, ...(notify ? { notified: false } : {}) });
      });
      const run = updated?.runs.find((r) => r.scheduledFor === scheduledFor) ?? { scheduledFor, ...patch, state };
      const detail = patch.error ? `: ${patch.error}` : patch.exitCode !== undefined ? ` (exit code ${patch.exitCode})` : '';
      this.emit({
        type: 'finished',
        scheduleId: s.id,
        scheduledFor,
        state,
        ...(run.jobId ? { jobId: run.jobId } : {}),
        message: `the run of ${scheduledFor} ${state}${detail}`,
      });
      if (updated?.notifyWebhook && run.notified === false) {
        this.notify(updated, run, 'summary' in end ? { summary: end.summary } : { error: run.error ?? state });
      }
    } finally {
      this.active.delete(key);
    }
  }

  /** POSTs a finished run's notification in the background and records `notified: true` after a 2xx. */
  private notify(s: ScheduleRecord, run: ScheduleRun, what: { summary: Summary } | { error: string }): void {
    const url = s.notifyWebhook!;
    const schedule: NotifiedSchedule = { id: s.id, source: s.source, dest: s.dest, when: describeWhen(s.when) };
    const body: Notification = 'summary' in what ? { type: 'summary', schedule, run, summary: what.summary } : { type: 'failure', schedule, run, error: what.error };
    const p = notifyInBackground(url, body, { ...this.options.notify, signal: this.notifyStop.signal }).then(async (result) => {
      if (result.ok) {
        await this.update(s.id, (cur) => patchRun(cur, run.scheduledFor, { notified: true }));
        this.emit({ type: 'notified', scheduleId: s.id, scheduledFor: run.scheduledFor, ...(run.jobId ? { jobId: run.jobId } : {}), message: `the run of ${run.scheduledFor} notified (HTTP ${result.status})` });
      } else {
        this.emit({ type: 'error', scheduleId: s.id, scheduledFor: run.scheduledFor, message: `the notification of the run of ${run.scheduledFor} failed after ${result.attempts} attempt(s): ${result.error}; it is sent again when the scheduler next starts` });
      }
    }).catch(this.internalError(s.id));
    this.notifications.add(p);
    void p.finally(() => this.notifications.delete(p));
  }

  /** At start: interrupted runs are queued for resumption, runs whose job ended meanwhile recorded, unsent notifications sent. */
  private async recover(): Promise<void> {
    const { schedules } = await listSchedules(this.stateDir);
    let jobs: JobRecord[] | undefined;
    const claimed = new Set<string>(schedules.flatMap((s) => s.runs.flatMap((r) => (r.jobId ? [r.jobId] : []))));
    for (const s of schedules) {
      for (const recorded of s.runs) {
        if (!INTERRUPTED.includes(recorded.state)) continue;
        let run = recorded;
        if (!run.jobId) {
          // Started, but was the job created before the stop? Its job.json says so: same targets, created after the run started.
          jobs ??= (await listJobs(this.stateDir)).jobs;
          const since = Date.parse(run.startedAt ?? run.scheduledFor) - 1000;
          const job = jobs.find((j) => !claimed.has(j.id) && j.kind === 'migrate' && j.source.spec === s.source && j.dest.spec === s.dest && Date.parse(j.createdAt) >= since);
          if (job) {
            claimed.add(job.id);
            run = { ...run, jobId: job.id };
            await this.update(s.id, (cur) => patchRun(cur, run.scheduledFor, { jobId: job.id }));
          }
        }
        if (run.jobId) {
          let record: JobRecord;
          try {
            record = await readJobRecord(this.stateDir, run.jobId);
          } catch (err) {
            await this.finish(s, run.scheduledFor, { error: new S3migError('S3MIG_JOB_UNKNOWN', `its job ${run.jobId} cannot be read: ${oneLine(err)}`) }, run.jobId);
            continue;
          }
          if (isTerminal(record.state)) {
            await this.recordEnded(s, run, record);
            continue;
          }
        }
        this.waitingResumes.set(runKey(s.id, run.scheduledFor), { scheduleId: s.id, scheduledFor: run.scheduledFor, run });
      }
    }
    // Notifications not confirmed (a stop or crash while sending, or every attempt failed): sent again.
    const { schedules: now } = await listSchedules(this.stateDir);
    for (const s of now) {
      if (!s.notifyWebhook) continue;
      for (const run of s.runs) {
        if (run.notified !== false || !FINISHED.includes(run.state)) continue;
        this.notify(s, run, await this.whatToNotify(run));
      }
    }
  }

  /** A run whose job ended while no scheduler followed it: its outcome from job.json (notified below, with the others). */
  private async recordEnded(s: ScheduleRecord, run: ScheduleRun, record: JobRecord): Promise<void> {
    const state = runStateOfJob(record.state);
    await this.update(s.id, (cur) =>
      patchRun(cur, run.scheduledFor, {
        state,
        jobId: record.id,
        ...(record.exitCode !== undefined ? { exitCode: record.exitCode } : {}),
        ...(record.error ? { error: record.error.message } : {}),
        finishedAt: record.finishedAt ?? record.updatedAt,
        ...(cur.notifyWebhook ? { notified: false } : {}),
      }),
    );
    this.emit({ type: 'finished', scheduleId: s.id, scheduledFor: run.scheduledFor, jobId: record.id, state, message: `the run of ${run.scheduledFor} ended ${state} while no scheduler ran (job ${record.id})` });
  }

  /** A finished run's notification content: its summary when the job wrote one, else the error. */
  private async whatToNotify(run: ScheduleRun): Promise<{ summary: Summary } | { error: string }> {
    if (run.jobId && (run.state === 'completed' || run.state === 'completed-with-differences')) {
      try {
        const record = await readJobRecord(this.stateDir, run.jobId);
        const summary = JSON.parse(await readFile(join(record.options.reportDir, 'summary.json'), 'utf8')) as Summary;
        return { summary };
      } catch {
        // Reports moved or removed: the run is described by its record.
      }
    }
    return { error: run.error ?? `the run ended ${run.state}; its summary cannot be read` };
  }
}

const byTime = (a: Waiting, b: Waiting) => Date.parse(a.scheduledFor) - Date.parse(b.scheduledFor) || (a.scheduleId < b.scheduleId ? -1 : a.scheduleId > b.scheduleId ? 1 : 0);
