// `s3mig prune JOB`: frees a finished job's LevelDB (db/, its inventories) and keeps job.json, events.ndjson and the reports.
import { readdir, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { JobRecord } from '../core/job-record.ts';
import { TERMINAL_STATES, isTerminal } from '../core/job-state.ts';
import { S3migError, isS3migError, oneLine } from '../core/errors.ts';
import { JobDb } from '../store/job-db.ts';
import { EventLog } from '../store/event-log.ts';
import { jobPaths, readJobRecord, writeJobRecord } from '../store/state-dir.ts';
import { sendControl } from './control.ts';

export interface PruneResult {
  id: string;
  state: JobRecord['state'];
  /** It had been pruned before: nothing was left to delete. */
  alreadyPruned: boolean;
  prunedAt: string;
  /** Bytes of db/ deleted by this call. */
  freedBytes: number;
}

/** The one-line refusal for a command that needs the inventories of a pruned job; undefined when it was not pruned. */
export function prunedError(record: JobRecord): S3migError | undefined {
  if (!record.prunedAt) return undefined;
  return new S3migError(
    'S3MIG_JOB_NOT_RESUMABLE',
    `job ${record.id} was pruned at ${record.prunedAt}: its inventories are gone; its reports are in ${record.options.reportDir}`,
  );
}

/** Reads a job's record and refuses a pruned job (for report, resume and fix, before the engine opens anything). */
export async function readUnprunedJob(stateDir: string, id: string): Promise<JobRecord> {
  const record = await readJobRecord(stateDir, id);
  const pruned = prunedError(record);
  if (pruned) throw pruned;
  return record;
}

async function sizeOf(dir: string): Promise<number> {
  let total = 0;
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true, recursive: true });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 0;
    throw err;
  }
  for (const e of entries) {
    if (!e.isFile()) continue;
    const parent = e.parentPath ?? (e as unknown as { path: string }).path;
    total += await stat(join(parent, e.name)).then((s) => s.size, () => 0);
  }
  return total;
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    (err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return false;
      throw err;
    },
  );
}

/** Folders of a prune cut short between moving db/ aside and deleting it. */
async function removeLeftovers(dir: string): Promise<void> {
  const names = await readdir(dir).catch(() => [] as string[]);
  for (const name of names) if (name.startsWith('db.pruning-')) await rm(join(dir, name), { recursive: true, force: true });
}

/** Refuses a job that a process still runs or holds (a report being rewritten, a fix about to start). */
async function ensureIdle(record: JobRecord, dir: string, db: string): Promise<void> {
  const reply = await sendControl(dir, 'status').catch((err: unknown) => {
    if (isS3migError(err) && err.code === 'S3MIG_JOB_NOT_RUNNING') return undefined;
    throw err;
  });
  if (reply) {
    throw new S3migError('S3MIG_STATE_LOCKED', `job ${record.id} is in use by another s3mig process (pid ${reply.pid} answers on its control socket); prune it when that is done`);
  }
  if (!(await exists(db))) return;
  // A process without a control socket can still hold the database: its LevelDB lock says so.
  let held: JobDb;
  try {
    held = await JobDb.open(db, { create: false });
  } catch (err) {
    if (isS3migError(err) && err.code === 'S3MIG_STATE_LOCKED') {
      throw new S3migError('S3MIG_STATE_LOCKED', `job ${record.id} is held by another s3mig process (pid ${record.pid} per job.json)`, { cause: err });
    }
    // A database that cannot be read (a newer schema, damage) is still this job's and still deleted.
    return;
  }
  await held.close();
}

/**
 * Deletes the LevelDB of a job in a terminal state and records `prunedAt` in its job.json. A job that is
 * running, paused (it can still be resumed) or otherwise unfinished is refused; pruning twice is harmless.
 */
export async function pruneJob(stateDir: string, id: string, now: () => Date = () => new Date()): Promise<PruneResult> {
  const record = await readJobRecord(stateDir, id);
  const paths = jobPaths(stateDir, id);
  const dbThere = await exists(paths.db);
  if (record.prunedAt && !dbThere) {
    await removeLeftovers(paths.dir);
    return { id, state: record.state, alreadyPruned: true, prunedAt: record.prunedAt, freedBytes: 0 };
  }
  if (!isTerminal(record.state)) {
    const why = record.state === 'paused' ? `paused and can still be resumed (s3mig resume ${id})` : record.state;
    throw new S3migError('S3MIG_USAGE', `job ${id} is ${why}; only a finished job (${TERMINAL_STATES.join(', ')}) can be pruned`);
  }
  await ensureIdle(record, paths.dir, paths.db);
  const freedBytes = await sizeOf(paths.db);
  // Recorded first: from here on report, resume and fix refuse the job; a prune cut short finishes when run again.
  const prunedAt = record.prunedAt ?? now().toISOString();
  await writeJobRecord(paths, { ...record, prunedAt, updatedAt: now().toISOString() });
  if (dbThere) {
    // Moved aside in one step, so no process ever opens a half-deleted database.
    const doomed = `${paths.db}.pruning-${process.pid}`;
    try {
      await rename(paths.db, doomed);
      await rm(doomed, { recursive: true, force: true });
    } catch (err) {
      throw new S3migError('S3MIG_STATE_UNREADABLE', `job ${id}: cannot delete ${paths.db}: ${oneLine(err)}`, { cause: err });
    }
  }
  const log = new EventLog(paths.events);
  log.append({ type: 'log', level: 'info', message: `pruned: ${paths.db} deleted (${freedBytes} bytes freed)`, ts: prunedAt, jobId: id });
  await log.close();
  return { id, state: record.state, alreadyPruned: false, prunedAt, freedBytes };
}
