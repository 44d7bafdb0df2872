// The persisted description of a job (job.json): targets without secrets, options, state and counts.
import type { JobState } from './job-state.ts';
import type { KeyFilter } from './filters.ts';
import type { CategoryCounts, Outcome } from './tally.ts';

export interface TargetRecord {
  /** As the operator wrote it. */
  spec: string;
  kind: 'inventory' | 'live';
  /** inventory: the absolute path of the file. */
  path?: string;
  /** inventory: size and mtime when the job validated it; a resume refuses a file that changed. */
  fingerprint?: { size: number; mtimeMs: number };
  /** live: the alias as written, and what it resolved to when the job validated it (never credentials). */
  alias?: string;
  endpoint?: string;
  bucket?: string;
  prefix?: string;
  region?: string;
  pathStyle?: boolean;
}

export type StrategyName = 'standard' | 'large-scale';

/** The plan chosen from the estimate (design §8), with the reason an operator sees. */
export interface Strategy {
  name: StrategyName;
  reason: string;
  /** Entries per LevelDB batch and listing checkpoint, per range. */
  batchEntries: number;
  /** Keys between comparison checkpoints (absent in jobs made before it: 10,000). */
  checkpointKeys?: number;
  listConcurrency: number;
  estimate: { source: SideEstimate; dest: SideEstimate };
}

export interface SideEstimate {
  objects: number;
  bytes: number;
  /** Counted to the end (true) or stopped past the threshold / sampled from a file (false). */
  exact: boolean;
  how: string;
}

export interface JobOptions {
  reportDir: string;
  deleteExtras: boolean;
  /** The engine for live targets, decided when the job starts (auto: mc when on PATH); absent means native. */
  engine?: 'native' | 'mc';
  /** Also run `mc diff` and report where it disagrees with s3mig's verdicts. */
  crossCheck?: 'mc-diff';
  /** Keys left out of transfer, comparison and fixes (migrations). */
  filter?: KeyFilter;
  /** What a migration does besides reconciling (absent for reconcile jobs). */
  migrate?: MigrateOptions;
  /**
   * `--limit-upload`: bytes per second for the job's uploads (transfer, fix and retry alike). Native: one
   * token bucket throttles every streamed copy; mc: mc's global --limit-upload on mirror and cp. Server-side
   * copies move no bytes through s3mig or mc and are not limited.
   */
  limitUpload?: number;
  listConcurrency?: number;
  insecure?: boolean;
  caBundle?: string;
}

export interface MigrateOptions {
  /** Also replace destination objects whose size or comparable ETag differs. */
  overwrite: boolean;
  /** After the report, fix what differs and re-check, up to maxFixRounds times. */
  fix: boolean;
  maxFixRounds: number;
  /** Delete keys only in the destination in fix rounds (never after an incomplete listing). */
  deleteExtras: boolean;
  /** List both sides and report what the transfer would copy; change nothing. */
  dryRun: boolean;
  /** Copies in flight (native engine). */
  concurrency: number;
}

export interface JobRecord {
  id: string;
  kind: 'reconcile' | 'migrate';
  source: TargetRecord;
  dest: TargetRecord;
  options: JobOptions;
  strategy?: Strategy;
  /** Migrations with --fix: the fix round running or last run (1-based). */
  fixRound?: number;
  /** The last fix run's options (a fix interrupted and run again keeps them unless told otherwise). */
  fixOptions?: { deleteExtras: boolean };
  state: JobState;
  /** While paused: the state to return to, and why it stopped. */
  pausedIn?: JobState;
  pauseReason?: string;
  createdAt: string;
  updatedAt: string;
  finishedAt?: string;
  pid: number;
  counts?: CategoryCounts;
  complete?: boolean;
  outcome?: Outcome;
  exitCode?: number;
  error?: { code: string; message: string };
  /** When `s3mig prune` deleted the job's LevelDB (db/): its inventories are gone, its reports and record stay. */
  prunedAt?: string;
}
