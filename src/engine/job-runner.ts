// Runs one job in this process with its control socket: what the headless CLI and the TUI share.
//
// While the job runs, its control socket takes pause, cancel and status requests from other processes:
// opened on `job:created`, or up front for a command on an existing job (`jobDir`), where a job that
// another process answers for is refused before anything is touched.
import { setMaxListeners } from 'node:events';
import { basename, dirname } from 'node:path';
import { S3migError, isS3migError } from '../core/errors.ts';
import type { JobState } from '../core/job-state.ts';
import type { Summary } from '../core/summary.ts';
import { readJobRecord } from '../store/state-dir.ts';
import { serveControl, type ControlServer, type FollowUpAction } from './control.ts';
import { EventBus, type EngineEvent } from './events.ts';
import type { LiveEnv } from './live-targets.ts';

export type JobRun = (bus: EventBus, signal: AbortSignal) => Promise<Summary>;

/** Runs a fix or retry of the job once its current run has finished (the job's folder is known by then). */
export type FollowUp = (action: FollowUpAction, options: { deleteExtras: boolean }, jobId: string, bus: EventBus, signal: AbortSignal) => Promise<Summary>;

export interface RunningJob {
  readonly bus: EventBus;
  /** Known once the job announced itself (job:created), or from the start for an existing job. */
  readonly jobId: string | undefined;
  readonly state: JobState | null;
  /** Whether the job is still running in this process. */
  readonly running: boolean;
  /** The job's summary; rejects with its error (a pause or cancel is an S3migError S3MIG_PAUSED / S3MIG_CANCELED). */
  readonly done: Promise<Summary>;
  /** Stops the job at its next batch boundary with a checkpoint (state paused). */
  pause(reason: string): void;
  /** Stops the job at its next batch boundary, checkpoints kept (state canceled). */
  cancel(reason: string): void;
  /** The abort reason when pause or cancel stopped the job. */
  readonly stopReason: unknown;
  /** Resolves once the control socket is open (its path), or undefined when it could not be opened. */
  readonly controlReady: Promise<string | undefined>;
}

export interface StartJobOptions {
  bus?: EventBus;
  /** A command on an existing job: its folder, whose control socket is opened before the job is touched. */
  jobDir?: string;
  /** Told when the control socket cannot be opened (the job goes on without it). */
  onControlWarning?: (err: unknown) => void;
  /**
   * How this process runs a fix or retry that another process asks for through the control socket: queued,
   * and run after the current run has finished well (a failed, paused or canceled run drops the queue).
   */
  followUp?: FollowUp;
}

/** Starts `run` with an abort signal and the job's control socket; the socket closes when the job ends. */
export function startJob(run: JobRun, options: StartJobOptions = {}): RunningJob {
  const bus = options.bus ?? new EventBus();
  const ac = new AbortController();
  // Every S3 request in flight listens on this signal; there are many at once by design.
  setMaxListeners(0, ac.signal);
  let state: JobState | null = null;
  let progress: EngineEvent | null = null;
  let jobId: string | undefined;
  let running = true;
  const startControl = (jobDir: string, id: string): Promise<ControlServer> =>
    serveControl({
      jobDir,
      jobId: id,
      onPause: (reason) => ac.abort(new S3migError('S3MIG_PAUSED', reason)),
      onCancel: (reason) => ac.abort(new S3migError('S3MIG_CANCELED', reason)),
      // What a status request gets: the job's state and its latest progress (counts only, never secrets).
      status: () => ({ state, progress, queued: queue.map((q) => q.action) }),
      ...(options.followUp
        ? {
            onFollowUp: (action: FollowUpAction, opts: { deleteExtras: boolean }, from: number) => {
              if (savedListing) throw new Error(`the job compares ${savedListing}, a saved listing: a ${action} needs two live targets`);
              if (queue.some((q) => q.action === action)) return `a ${action} is already queued`;
              queue.push({ action, ...opts });
              const message = `${action}${opts.deleteExtras ? ' (deleting extras)' : ''} requested by pid ${from}: it runs when the current run has finished`;
              if (jobId) bus.emit({ type: 'log', level: 'info', message, ts: new Date().toISOString(), jobId });
              return message;
            },
          }
        : {}),
    });
  const queue: { action: FollowUpAction; deleteExtras: boolean }[] = [];
  let savedListing: string | undefined;
  const warn = (err: unknown): undefined => {
    options.onControlWarning?.(err);
    return undefined;
  };
  let control: Promise<ControlServer | undefined> | undefined;
  let controlOpened!: (path: string | undefined) => void;
  const controlReady = new Promise<string | undefined>((r) => (controlOpened = r));
  const opened = (p: Promise<ControlServer | undefined>) => {
    control = p;
    p.then((server) => controlOpened(server?.path), () => controlOpened(undefined));
  };
  const unsubscribe = bus.subscribe((e: EngineEvent) => {
    if (e.type === 'job:state') state = e.state;
    else if (e.type === 'inventory:progress' || e.type === 'compare:progress' || e.type === 'fix:progress' || e.type === 'transfer:progress') progress = e;
    else if (e.type === 'job:created' && !control) {
      jobId = e.jobId;
      savedListing = [e.source, e.dest].find((t) => t.kind !== 'live')?.spec;
      // Subscribers run synchronously: the server starts now and is awaited before the job's promise settles.
      opened(startControl(e.jobDir, e.jobId).catch(warn));
    }
  });
  const done = (async () => {
    try {
      if (options.jobDir) {
        jobId = basename(options.jobDir);
        const record = await readJobRecord(dirname(dirname(options.jobDir)), jobId).catch(() => undefined);
        state = record?.state ?? null;
        savedListing = record && [record.source, record.dest].find((t) => t.kind !== 'live')?.spec;
        const server = await startControl(options.jobDir, jobId).catch((err: unknown) => {
          if (isS3migError(err) && err.code === 'S3MIG_STATE_LOCKED') throw err;
          return warn(err);
        });
        opened(Promise.resolve(server));
      }
      let summary = await run(bus, ac.signal);
      // Follow-ups asked for while the job ran, in order; each starts from the job as the last one left it.
      for (let next = queue.shift(); next && options.followUp && jobId; next = queue.shift()) {
        summary = await options.followUp(next.action, { deleteExtras: next.deleteExtras }, jobId, bus, ac.signal);
      }
      return summary;
    } finally {
      controlOpened(undefined);
      running = false;
      unsubscribe();
      const server = await control;
      await server?.close().catch(() => undefined);
    }
  })();
  return {
    bus,
    get jobId() {
      return jobId;
    },
    get state() {
      return state;
    },
    get running() {
      return running;
    },
    get stopReason() {
      return ac.signal.aborted ? (ac.signal.reason as unknown) : undefined;
    },
    done,
    controlReady,
    pause: (reason) => ac.abort(new S3migError('S3MIG_PAUSED', reason)),
    cancel: (reason) => ac.abort(new S3migError('S3MIG_CANCELED', reason)),
  };
}

/** The follow-ups of a job in `stateDir`: `s3mig fix` (with deletion only when asked) and `s3mig retry`. */
export function standardFollowUp(stateDir: string, aliasEnv?: LiveEnv): FollowUp {
  return async (action, opts, id, bus, signal) => {
    const { fixJob, retryJob } = await import('./fix-job.ts');
    const common = { stateDir, id, bus, signal, ...(aliasEnv ? { aliasEnv } : {}) };
    return action === 'fix' ? fixJob({ ...common, deleteExtras: opts.deleteExtras }) : retryJob(common);
  };
}
