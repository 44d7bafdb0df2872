// The persisted description of a job (job.json): targets without secrets, options, state and counts.
import type { JobState } from './job-state.ts';
import type { CategoryCounts, Outcome } from './tally.ts';

export interface TargetRecord {
  /** As the operator wrote it. */
  spec: string;
  kind: 'inventory' | 'live';
  /** inventory: the absolute path of the file. */
  path?: string;
  /** inventory: size and mtime when the job validated it; a resume refuses a file that changed. */
  fingerprint?: { size: number; mtimeMs: number };
}

export interface JobRecord {
  id: string;
  kind: 'reconcile';
  source: TargetRecord;
  dest: TargetRecord;
  options: { reportDir: string; deleteExtras: boolean };
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
}
