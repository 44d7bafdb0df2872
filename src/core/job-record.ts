// The persisted description of a job (job.json): targets without secrets, options, state and counts.
import type { JobState } from './job-state.ts';
import type { CategoryCounts, Outcome } from './tally.ts';

export interface TargetRecord {
  /** As the operator wrote it. */
  spec: string;
  kind: 'inventory' | 'live';
  /** inventory: the absolute path of the file. */
  path?: string;
}

export interface JobRecord {
  id: string;
  kind: 'reconcile';
  source: TargetRecord;
  dest: TargetRecord;
  options: { reportDir: string };
  state: JobState;
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
