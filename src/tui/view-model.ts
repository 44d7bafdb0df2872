// The state of one job's dashboard, built only from engine events (or seeded from job.json): what the presenters turn into text.
import type { EngineEvent } from '../engine/events.ts';
import type { JobRecord, TargetRecord } from '../core/job-record.ts';
import { isTerminal, type JobState } from '../core/job-state.ts';
import { etaSeconds as etaFromRate } from '../core/rate.ts';
import type { Summary } from '../core/summary.ts';
import { emptyCounts, type CategoryCounts, type Outcome } from '../core/tally.ts';
import type { Category } from '../core/verdict.ts';

/** An event's fields without its type and envelope: what a view keeps of the latest one. */
type ProgressOf<T extends EngineEvent['type']> = Omit<Extract<EngineEvent, { type: T }>, 'type' | 'ts' | 'jobId'>;

function fieldsOf<T extends 'transfer:progress' | 'fix:progress'>(e: Extract<EngineEvent, { type: T }>): ProgressOf<T> {
  const { type: _type, ts: _ts, jobId: _jobId, ...fields } = e as Extract<EngineEvent, { type: 'transfer:progress' | 'fix:progress' }>;
  return fields as unknown as ProgressOf<T>;
}

/** Throughput samples, oldest first, at most THROUGHPUT_SAMPLES of each. */
export interface Throughput {
  objectsPerSec: number[];
  bytesPerSec: number[];
}

export const THROUGHPUT_SAMPLES = 60;
export const LOG_LINES = 500;

export interface InventoryView {
  /** Entries read so far (duplicates included) and their bytes; entries per second. */
  entries: number;
  bytes: number;
  /** The estimate of the side's entries, when there is one. */
  total?: number;
  rate: number;
  etaSeconds?: number;
  done: boolean;
  /** Live listings: key ranges finished and planned. */
  rangesDone?: number;
  rangesTotal?: number;
  /** Inventory files: bytes read of the file's size (an exact position, unlike the entries' estimate). */
  inputBytes?: number;
  totalBytes?: number;
}

export interface JobView {
  jobId: string;
  kind?: 'reconcile' | 'migrate';
  source?: TargetRecord;
  dest?: TargetRecord;
  reportDir?: string;
  jobDir?: string;
  engine?: 'native' | 'mc';
  strategy?: { name: string; reason: string };
  state: JobState | 'unknown';
  /** Why the job is in its state (a pause's or a failure's reason), when it was given. */
  stateReason?: string;
  /** While paused: the state the job stopped in (it resumes there). */
  pausedIn?: JobState;
  startedAt?: string;
  finishedAt?: string;
  lastEventAt?: string;
  inventory: Record<'source' | 'dest', InventoryView>;
  compare: { keys: number; entries: number; totalEntries: number; rate: number; etaSeconds?: number; done: boolean };
  /** The latest transfer:progress (rate in bytes per second). */
  transfer?: ProgressOf<'transfer:progress'>;
  /** The latest fix:progress. */
  fix?: ProgressOf<'fix:progress'>;
  /** Migrations with --fix: the fix round (job.json only). */
  fixRound?: number;
  counts: CategoryCounts;
  /** The last report's outcome and whether both listings were complete (summary or job.json). */
  outcome?: Outcome;
  complete?: boolean;
  /** The files the last report wrote. */
  reportFiles?: string[];
  throughput: Throughput;
  /** The last LOG_LINES log events, oldest first. */
  log: { ts: string; level: 'info' | 'warn' | 'error'; message: string }[];
  summary?: Summary;
  /**
   * Cumulative counters for throughput sampling (objects: transfer objects + inventory entries of both
   * sides + compare keys + fix processed; bytes: transfer bytes + inventory bytes + fix bytes). Each grows
   * by what each progress counter grew since its last event (`seen`); a counter that starts again (a new
   * listing or fix round) adds its new value. `atMs` is the time of the last sample, `sampled` the totals then.
   */
  cumulative: { objects: number; bytes: number; atMs?: number; sampled?: { objects: number; bytes: number }; seen: Record<string, number> };
}

/** A row of the jobs list: a job of the state directory and what is known of it. */
export interface JobListItem {
  record: JobRecord;
  /** A process answers on the job's control socket. */
  live: boolean;
  pid?: number;
  view?: JobView;
}

export type Phase = 'transfer' | 'inventory' | 'compare' | 'fix' | 'report' | 'done' | 'idle';

function emptySide(): InventoryView {
  return { entries: 0, bytes: 0, rate: 0, done: false };
}

function emptyCompare(): JobView['compare'] {
  return { keys: 0, entries: 0, totalEntries: 0, rate: 0, done: false };
}

export function initialJobView(jobId: string): JobView {
  return {
    jobId,
    state: 'unknown',
    inventory: { source: emptySide(), dest: emptySide() },
    compare: emptyCompare(),
    counts: emptyCounts(),
    throughput: { objectsPerSec: [], bytesPerSec: [] },
    log: [],
    cumulative: { objects: 0, bytes: 0, seen: {} },
  };
}

/**
 * How much the progress counter `name` grew since its last event: its new value when it started again
 * from below. The view's own progress is reset when a phase begins, so the counters are kept apart.
 */
function growth(view: JobView, name: string, after: number): number {
  const before = view.cumulative.seen[name] ?? 0;
  view.cumulative.seen[name] = after;
  return after >= before ? after - before : after;
}

function optional<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: V };
}

/**
 * Applies one event to the view, IN PLACE (the view is one mutable object per job, updated at event rate;
 * a screen re-renders from it on its own clock), and returns the same view.
 */
export function applyEvent(view: JobView, e: EngineEvent): JobView {
  view.lastEventAt = e.type === 'summary' ? e.timings.finishedAt : e.ts;
  switch (e.type) {
    case 'job:created':
      view.jobId = e.jobId;
      view.source = e.source;
      view.dest = e.dest;
      view.jobDir = e.jobDir;
      view.reportDir = e.reportDir;
      view.startedAt = e.ts;
      if (view.state === 'unknown') view.state = 'initializing';
      break;
    case 'job:state':
      enterState(view, e.state, e.previous, e.ts, e.reason);
      break;
    case 'strategy':
      view.strategy = { name: e.name, reason: e.reason };
      break;
    case 'inventory:progress': {
      view.cumulative.objects += growth(view, `${e.side}.entries`, e.entries);
      view.cumulative.bytes += growth(view, `${e.side}.bytes`, e.bytes);
      view.inventory[e.side] = {
        entries: e.entries,
        bytes: e.bytes,
        rate: e.rate,
        done: e.done,
        ...optional('total', e.totalEntries),
        ...optional('etaSeconds', e.etaSeconds),
        ...optional('rangesDone', e.rangesDone),
        ...optional('rangesTotal', e.rangesTotal),
        ...(e.totalBytes > 0 ? { inputBytes: e.inputBytes, totalBytes: e.totalBytes } : {}),
      };
      break;
    }
    case 'compare:progress':
      view.cumulative.objects += growth(view, 'compare.keys', e.keys);
      view.compare = {
        keys: e.keys,
        entries: e.entries,
        totalEntries: e.totalEntries,
        rate: e.rate,
        done: e.done,
        ...optional('etaSeconds', e.etaSeconds),
      };
      view.counts = { ...e.counts };
      break;
    case 'transfer:progress': {
      view.cumulative.objects += growth(view, 'transfer.objects', e.objects);
      view.cumulative.bytes += growth(view, 'transfer.bytes', e.bytes);
      view.engine = e.engine;
      view.kind ??= 'migrate';
      view.transfer = fieldsOf(e);
      break;
    }
    case 'fix:progress': {
      view.cumulative.objects += growth(view, 'fix.processed', e.processed);
      view.cumulative.bytes += growth(view, 'fix.bytes', e.bytes);
      view.fix = fieldsOf(e);
      break;
    }
    case 'report:written':
      view.reportFiles = [...e.files];
      break;
    case 'log':
      view.log.push({ ts: e.ts, level: e.level, message: e.message });
      if (view.log.length > LOG_LINES) view.log.splice(0, view.log.length - LOG_LINES);
      break;
    case 'summary': {
      const { type: _type, ...summary } = e;
      view.summary = summary;
      view.kind = e.kind;
      view.counts = { ...e.counts };
      view.outcome = e.outcome;
      view.complete = e.complete;
      view.startedAt ??= e.timings.startedAt;
      // A report between fix rounds is no end: the job goes on.
      if (view.state === 'unknown' || isTerminal(view.state)) view.finishedAt = e.timings.finishedAt;
      view.source ??= e.source;
      view.dest ??= e.dest;
      if (e.strategy) view.strategy ??= { name: e.strategy.name, reason: e.strategy.reason };
      if (e.transfer) view.engine ??= e.transfer.engine;
      view.reportDir ??= e.reports.dir;
      break;
    }
    default: {
      const unhandled: never = e;
      void unhandled;
    }
  }
  return view;
}

/** A state change: a phase entered afresh (not resumed from a pause) starts its progress from nothing. */
function enterState(view: JobView, state: JobState, previous: JobState | null, ts: string, reason: string | undefined): void {
  view.state = state;
  if (reason !== undefined) view.stateReason = reason;
  else delete view.stateReason;
  if (state === 'paused') {
    if (previous && previous !== 'paused') view.pausedIn = previous;
  } else {
    delete view.pausedIn;
  }
  if (isTerminal(state)) view.finishedAt = ts;
  else delete view.finishedAt;
  if (state === 'transferring') view.kind = 'migrate';
  if (previous === 'paused' || previous === state) return;
  if (state === 'collecting-inventory') view.inventory = { source: emptySide(), dest: emptySide() };
  else if (state === 'comparing') view.compare = emptyCompare();
  else if (state === 'transferring') delete view.transfer;
  else if (state === 'fixing') delete view.fix;
}

/** Seeds a view from job.json, for a job whose event log is not read (yet); fields the record lacks are kept. */
export function applyRecord(view: JobView, record: JobRecord): JobView {
  view.jobId = record.id;
  view.kind = record.kind;
  view.source = record.source;
  view.dest = record.dest;
  view.reportDir = record.options.reportDir;
  view.engine = record.options.engine ?? 'native';
  if (record.strategy) view.strategy = { name: record.strategy.name, reason: record.strategy.reason };
  view.state = record.state;
  const reason = record.state === 'paused' ? record.pauseReason : record.error?.message;
  if (reason !== undefined) view.stateReason = reason;
  else delete view.stateReason;
  if (record.state === 'paused' && record.pausedIn) view.pausedIn = record.pausedIn;
  else delete view.pausedIn;
  view.startedAt = record.createdAt;
  if (record.finishedAt) view.finishedAt = record.finishedAt;
  else if (isTerminal(record.state)) view.finishedAt = record.updatedAt;
  if (record.counts) view.counts = { ...record.counts };
  if (record.outcome) view.outcome = record.outcome;
  if (record.complete !== undefined) view.complete = record.complete;
  if (record.fixRound !== undefined) view.fixRound = record.fixRound;
  return view;
}

/**
 * Pushes one throughput sample: objects and bytes per second since the last sample (never below 0). The
 * first call only sets the baseline; a call at or before the last sample's time is ignored.
 */
export function sampleThroughput(view: JobView, nowMs: number): void {
  const c = view.cumulative;
  if (c.atMs === undefined || c.sampled === undefined) {
    c.atMs = nowMs;
    c.sampled = { objects: c.objects, bytes: c.bytes };
    return;
  }
  const seconds = (nowMs - c.atMs) / 1000;
  if (!(seconds > 0)) return;
  const t = view.throughput;
  t.objectsPerSec.push(Math.max(0, (c.objects - c.sampled.objects) / seconds));
  t.bytesPerSec.push(Math.max(0, (c.bytes - c.sampled.bytes) / seconds));
  if (t.objectsPerSec.length > THROUGHPUT_SAMPLES) t.objectsPerSec.splice(0, t.objectsPerSec.length - THROUGHPUT_SAMPLES);
  if (t.bytesPerSec.length > THROUGHPUT_SAMPLES) t.bytesPerSec.splice(0, t.bytesPerSec.length - THROUGHPUT_SAMPLES);
  c.atMs = nowMs;
  c.sampled = { objects: c.objects, bytes: c.bytes };
}

const PHASE_OF: Record<JobState, Phase> = {
  initializing: 'idle',
  validating: 'idle',
  estimating: 'inventory',
  preparing: 'idle',
  transferring: 'transfer',
  'collecting-inventory': 'inventory',
  comparing: 'compare',
  'generating-report': 'report',
  fixing: 'fix',
  completed: 'done',
  'completed-with-differences': 'done',
  failed: 'done',
  canceled: 'done',
  paused: 'idle',
};

/** The phase the job is in; a paused job's is the phase it stopped in. */
export function currentPhase(view: JobView): Phase {
  if (view.state === 'unknown') return 'idle';
  if (view.state === 'paused') return view.pausedIn ? PHASE_OF[view.pausedIn] : 'idle';
  return PHASE_OF[view.state];
}

/** Whether the job is stopped (paused or finished): nothing moves, no ETA. */
function stopped(view: JobView): boolean {
  return view.state === 'paused' || (view.state !== 'unknown' && isTerminal(view.state));
}

function inventoryEta(side: InventoryView): number | undefined {
  if (side.done) return 0;
  if (side.etaSeconds !== undefined) return side.etaSeconds;
  if (side.total !== undefined) return etaFromRate(Math.max(0, side.total - side.entries), side.rate);
  return undefined;
}

/** Seconds left in the current phase: the events' own ETA, or one from the rate and what remains; undefined when unknown. */
export function etaSeconds(view: JobView): number | undefined {
  if (stopped(view)) return undefined;
  switch (currentPhase(view)) {
    case 'transfer': {
      const t = view.transfer;
      if (!t) return undefined;
      if (t.done) return 0;
      if (t.etaSeconds !== undefined) return t.etaSeconds;
      return t.totalBytes > 0 ? etaFromRate(Math.max(0, t.totalBytes - t.bytes), t.rate) : undefined;
    }
    case 'inventory': {
      const a = inventoryEta(view.inventory.source);
      const b = inventoryEta(view.inventory.dest);
      return a === undefined || b === undefined ? undefined : Math.max(a, b);
    }
    case 'compare': {
      const c = view.compare;
      if (c.done) return 0;
      if (c.etaSeconds !== undefined) return c.etaSeconds;
      return c.totalEntries > 0 ? etaFromRate(Math.max(0, c.totalEntries - c.entries), c.rate) : undefined;
    }
    default:
      return undefined;
  }
}

/** The category filters the differences browser cycles through (`t`): all, then one category at a time. */
export const FILTER_CYCLE: readonly (readonly Category[] | null)[] = [
  null,
  ['missing'],
  ['extra'],
  ['sizeMismatch'],
  ['etagMismatch'],
  ['unverified'],
];

/** The filter after `current` in FILTER_CYCLE (a filter not in the cycle goes back to all). */
export function nextFilter(current: readonly Category[] | null): Category[] | null {
  const key = (f: readonly Category[] | null) => (f === null ? '*' : [...f].sort().join(','));
  const i = FILTER_CYCLE.findIndex((f) => key(f) === key(current));
  const next = i < 0 ? null : FILTER_CYCLE[(i + 1) % FILTER_CYCLE.length]!;
  return next === null ? null : [...next];
}
