// What the TUI sees of a state directory and does with its jobs (design §4, §11): the engine methods it
// calls. The TUI never opens a job's LevelDB or spawns a process itself; this module does, through the
// job functions, or asks the process that runs a job through its control socket.
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { S3migError } from '../core/errors.ts';
import { isTerminal } from '../core/job-state.ts';
import type { JobRecord } from '../core/job-record.ts';
import { jobPaths, listJobs, readJobRecord } from '../store/state-dir.ts';
import { appendMarks, readMarks, type ReviewMark } from '../store/marks.ts';
import { reportFilesIn } from '../report/report-set.ts';
import { sendControl } from './control.ts';
import { DifferencesView } from './differences-view.ts';
import { followEvents, type EventFollower } from './event-follower.ts';
import type { EngineEvent, EventBus } from './events.ts';
import { standardFollowUp, startJob, type JobRun, type RunningJob } from './job-runner.ts';
import type { LiveEnv } from './live-targets.ts';
import { pruneJob, readUnprunedJob, type PruneResult } from './prune.ts';
import { resumeJob, rewriteReports } from './reconcile-job.ts';
import { listSchedules, readSchedule, removeSchedule, schedulerOwner, writeSchedule } from '../store/schedules.ts';
import type { ScheduleRecord } from '../core/schedule.ts';
import { Scheduler, type SchedulerEvent } from './scheduler.ts';

export interface JobEntry {
  record: JobRecord;
  /** A process answers on the job's control socket (this one or another). */
  live: boolean;
  pid?: number;
  /** This process runs it. */
  own: boolean;
}

export type JobAction = 'resume' | 'fix' | 'retry' | 'reverify';

export interface JobActionOptions {
  /** fix and reverify: only these keys (the browser's selection); all differences when absent. */
  keys?: readonly string[];
  /** fix: also delete extras (the operator confirmed it). */
  deleteExtras?: boolean;
}

/** The report files an export can write. */
export const EXPORT_FORMATS = ['summary', 'ndjson', 'csv', 'fix'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

/** How long a status probe of another process's job may take before the job is shown as not live. */
const PROBE_MS = 1_000;

export class Workspace {
  private readonly own = new Map<string, RunningJob>();

  constructor(
    readonly stateDir: string,
    private readonly env: { aliasEnv?: LiveEnv } = {},
  ) {}

  /** Every job of the state directory, newest last, with whether a process runs it now. */
  async list(): Promise<{ jobs: JobEntry[]; unreadable: { id: string; message: string }[] }> {
    const { jobs, unreadable } = await listJobs(this.stateDir);
    const entries = await Promise.all(jobs.map((record) => this.entryOf(record)));
    return { jobs: entries, unreadable };
  }

  private async entryOf(record: JobRecord): Promise<JobEntry> {
    const mine = this.own.get(record.id);
    if (mine?.running) return { record, live: true, pid: process.pid, own: true };
    // A finished or paused job has no process; anything else may be running elsewhere (or have crashed).
    if (isTerminal(record.state) || record.state === 'paused') return { record, live: false, own: false };
    try {
      const reply = await sendControl(jobPaths(this.stateDir, record.id).dir, 'status', PROBE_MS);
      return { record, live: true, pid: reply.pid, own: false };
    } catch {
      return { record, live: false, own: false };
    }
  }

  /** One job as `list` gives it, read and probed now. */
  async entry(jobId: string): Promise<JobEntry> {
    return this.entryOf(await this.record(jobId));
  }

  async record(jobId: string): Promise<JobRecord> {
    return readJobRecord(this.stateDir, jobId);
  }

  /** A job this process runs, while it runs. */
  running(jobId: string): RunningJob | undefined {
    const job = this.own.get(jobId);
    return job?.running ? job : undefined;
  }

  /** Any job this process runs right now. */
  anyRunning(): RunningJob | undefined {
    for (const job of this.own.values()) if (job.running) return job;
    return undefined;
  }

  /** Follows a job's event log from its start: the live view of a job another process runs. */
  follow(jobId: string, onEvents: (events: EngineEvent[]) => void, onError?: (err: Error) => void): EventFollower {
    return followEvents(jobPaths(this.stateDir, jobId).events, onEvents, onError ? { onError } : {});
  }

  /** Runs a job in this process (a new migration or reconciliation, or an action on an existing job). */
  start(run: JobRun, options: { bus?: EventBus; jobId?: string } = {}): RunningJob {
    const job = startJob(run, {
      followUp: standardFollowUp(this.stateDir, this.env.aliasEnv),
      ...(options.bus ? { bus: options.bus } : {}),
      ...(options.jobId ? { jobDir: jobPaths(this.stateDir, options.jobId).dir } : {}),
    });
    const remember = (id: string | undefined) => {
      if (id) this.own.set(id, job);
    };
    remember(options.jobId);
    job.bus.subscribe((e) => {
      if (e.type === 'job:created') remember(e.jobId);
    });
    job.done.catch(() => undefined);
    return job;
  }

  /** Resume, fix, retry or re-verify a job in this process; refused while a process (this one or another) runs it. */
  async act(jobId: string, action: JobAction, options: JobActionOptions = {}, bus?: EventBus): Promise<RunningJob> {
    if (this.running(jobId)) throw new S3migError('S3MIG_STATE_LOCKED', `job ${jobId} is running in this window; wait for it to finish or pause it`);
    await readUnprunedJob(this.stateDir, jobId);
    const stateDir = this.stateDir;
    const common = { stateDir, id: jobId, ...(this.env.aliasEnv ? { aliasEnv: this.env.aliasEnv } : {}) };
    const { fixJob, retryJob, reverifyJob } = await import('./fix-job.ts');
    const run: JobRun = (b, signal) => {
      switch (action) {
        case 'resume':
          return resumeJob({ ...common, bus: b, signal });
        case 'fix':
          return fixJob({
            ...common,
            bus: b,
            signal,
            ...(options.keys ? { keys: options.keys } : {}),
            ...(options.deleteExtras !== undefined ? { deleteExtras: options.deleteExtras } : {}),
          });
        case 'retry':
          return retryJob({ ...common, bus: b, signal });
        case 'reverify':
          return reverifyJob({ ...common, bus: b, signal, ...(options.keys ? { keys: options.keys } : {}) });
      }
    };
    return this.start(run, { jobId, ...(bus ? { bus } : {}) });
  }

  /** Pause or cancel: directly for a job of this process, through its control socket for another's. */
  async request(jobId: string, action: 'pause' | 'cancel'): Promise<string> {
    const mine = this.running(jobId);
    if (mine) {
      const reason = `${action === 'pause' ? 'paused' : 'canceled'} from the dashboard`;
      if (action === 'pause') mine.pause(reason);
      else mine.cancel(reason);
      return `job ${jobId}: ${action} requested`;
    }
    const reply = await sendControl(jobPaths(this.stateDir, jobId).dir, action);
    return `job ${jobId}: ${action} requested (pid ${reply.pid})`;
  }

  /**
   * Queues a fix or retry on the process that runs the job (this one or another, through its control
   * socket): it runs when the job's current run has finished.
   */
  async queue(jobId: string, action: 'fix' | 'retry', options: { deleteExtras?: boolean } = {}): Promise<string> {
    const reply = await sendControl(jobPaths(this.stateDir, jobId).dir, action, undefined, options.deleteExtras ? { deleteExtras: true } : {});
    const message = typeof reply.message === 'string' ? reply.message : `${action} queued`;
    return `job ${jobId} (pid ${reply.pid}): ${message}`;
  }

  /** The job's differences file, indexed for the browser. */
  async differences(jobId: string): Promise<DifferencesView> {
    const record = await this.record(jobId);
    return DifferencesView.open(reportFilesIn(record.options.reportDir).differencesNdjson);
  }

  marks(jobId: string): Promise<Map<string, ReviewMark>> {
    return readMarks(jobPaths(this.stateDir, jobId).dir);
  }

  /** Sets (or clears, with null) the review mark of keys; shown in the reports the next time they are written. */
  mark(jobId: string, keys: readonly string[], mark: ReviewMark | null): Promise<void> {
    return appendMarks(jobPaths(this.stateDir, jobId).dir, keys, mark);
  }

  /**
   * Writes the job's reports (review marks included) into `dir`, keeping only the formats asked for.
   * Runs in this process: refused while a process runs the job.
   */
  async export(jobId: string, dir: string, formats: readonly ExportFormat[], bus?: EventBus): Promise<{ job: RunningJob; files: () => string[] }> {
    if (formats.length === 0) throw new S3migError('S3MIG_USAGE', 'choose at least one format to export');
    if (this.running(jobId)) throw new S3migError('S3MIG_STATE_LOCKED', `job ${jobId} is running in this window; export once it has finished`);
    await readUnprunedJob(this.stateDir, jobId);
    const files = reportFilesIn(dir);
    const byFormat: Record<ExportFormat, string[]> = {
      summary: [files.summary],
      ndjson: [files.differencesNdjson],
      csv: [files.differencesCsv],
      fix: [files.fixScript, files.fixPlan],
    };
    const run: JobRun = async (b, signal) => {
      const summary = await rewriteReports({ stateDir: this.stateDir, id: jobId, reportDir: dir, bus: b, signal });
      for (const f of EXPORT_FORMATS) {
        if (!formats.includes(f)) for (const p of byFormat[f]) await rm(p, { force: true });
      }
      if (!formats.includes('ndjson')) await rm(join(dir, 'cross-check.ndjson'), { force: true });
      return summary;
    };
    const job = this.start(run, { jobId, ...(bus ? { bus } : {}) });
    return { job, files: () => formats.flatMap((f) => byFormat[f]) };
  }

  // -------------------------------------------------------------------------------------------
  // Schedules (issue 8): the TUI owns the scheduler when no other process does.
  // -------------------------------------------------------------------------------------------

  private scheduler: Scheduler | undefined;

  /** Starts firing the schedules in this process; undefined (with the owner's pid) when another process does. */
  async ownScheduler(onEvent: (e: SchedulerEvent) => void, maxConcurrent?: number): Promise<{ owner: number }> {
    const scheduler = new Scheduler({
      stateDir: this.stateDir,
      onEvent,
      ...(maxConcurrent !== undefined ? { maxConcurrent } : {}),
      ...(this.env.aliasEnv ? { aliasEnv: this.env.aliasEnv } : {}),
    });
    try {
      await scheduler.start();
      this.scheduler = scheduler;
      return { owner: process.pid };
    } catch (err) {
      const owner = await schedulerOwner(this.stateDir);
      if (owner) return { owner: owner.pid };
      throw err;
    }
  }

  /** The scheduler's runs in progress (of this process's scheduler). */
  scheduledRuns(): { scheduleId: string; jobId?: string }[] {
    return this.scheduler?.running() ?? [];
  }

  /** Stops this process's scheduler: its running jobs pause at a checkpoint and resume with the next owner. */
  async stopScheduler(): Promise<void> {
    const s = this.scheduler;
    this.scheduler = undefined;
    await s?.stop();
  }

  async schedules(): Promise<ScheduleRecord[]> {
    return (await listSchedules(this.stateDir)).schedules;
  }

  /** Pauses or resumes a schedule; a resumed one does not catch up what fell due while it was paused. */
  async setSchedulePaused(id: string, paused: boolean): Promise<void> {
    const s = await readSchedule(this.stateDir, id);
    const now = new Date().toISOString();
    await writeSchedule(this.stateDir, { ...s, ...(s.paused && !paused ? { lastScheduledFor: now } : {}), paused, updatedAt: now });
  }

  removeSchedule(id: string): Promise<void> {
    return removeSchedule(this.stateDir, id);
  }

  prune(jobId: string): Promise<PruneResult> {
    if (this.running(jobId)) throw new S3migError('S3MIG_STATE_LOCKED', `job ${jobId} is running in this window`);
    return pruneJob(this.stateDir, jobId);
  }
}
