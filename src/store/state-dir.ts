// The state directory of design §4: where it is, job folders, atomic job.json writes and job listings.
import { mkdir, readFile, readdir, rename, writeFile } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import type { JobRecord } from '../core/job-record.ts';
import { S3migError } from '../core/errors.ts';

/** --state-dir, else $S3MIG_STATE_DIR, else $XDG_STATE_HOME/s3mig, else ~/.local/state/s3mig. */
export function resolveStateDir(explicit?: string, env: NodeJS.ProcessEnv = process.env): string {
  if (explicit) return resolve(explicit);
  if (env.S3MIG_STATE_DIR) return resolve(env.S3MIG_STATE_DIR);
  if (env.XDG_STATE_HOME) return resolve(env.XDG_STATE_HOME, 's3mig');
  return join(homedir(), '.local', 'state', 's3mig');
}

/** A sortable, unique job id: UTC start time plus random hex, e.g. 20261129-232444-3fa9c1. */
export function newJobId(now = new Date()): string {
  const t = now.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
  return `${t}-${randomBytes(3).toString('hex')}`;
}

export function jobDir(stateDir: string, id: string): string {
  return join(stateDir, 'jobs', id);
}

export interface JobPaths {
  dir: string;
  record: string;
  events: string;
  db: string;
}

export function jobPaths(stateDir: string, id: string): JobPaths {
  const dir = jobDir(stateDir, id);
  return { dir, record: join(dir, 'job.json'), events: join(dir, 'events.ndjson'), db: join(dir, 'db') };
}

export async function createJobDir(stateDir: string, id: string): Promise<JobPaths> {
  const paths = jobPaths(stateDir, id);
  try {
    await mkdir(paths.dir, { recursive: true });
  } catch (err) {
    throw new S3migError('S3MIG_STATE_UNREADABLE', `cannot create the job folder ${paths.dir}: ${(err as Error).message}`, {
      cause: err,
    });
  }
  return paths;
}

/** Replaces job.json atomically (write, then rename), so readers never see half a file. */
export async function writeJobRecord(paths: JobPaths, record: JobRecord): Promise<void> {
  const tmp = `${paths.record}.${process.pid}.tmp`;
  await writeFile(tmp, JSON.stringify(record, null, 2) + '\n');
  await rename(tmp, paths.record);
}

export async function readJobRecord(stateDir: string, id: string): Promise<JobRecord> {
  const { record } = jobPaths(stateDir, id);
  let text: string;
  try {
    text = await readFile(record, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new S3migError('S3MIG_JOB_UNKNOWN', `no job ${id} in ${stateDir}`);
    }
    throw new S3migError('S3MIG_STATE_UNREADABLE', `cannot read ${record}: ${(err as Error).message}`, { cause: err });
  }
  try {
    return JSON.parse(text) as JobRecord;
  } catch (err) {
    throw new S3migError('S3MIG_STATE_UNREADABLE', `${record} is not valid JSON: ${(err as Error).message}`, { cause: err });
  }
}

export interface JobListing {
  jobs: JobRecord[];
  /** job.json files that could not be read, with the reason: listed, never fatal. */
  unreadable: { id: string; message: string }[];
}

/** Every job of the state directory, oldest first; safe while other processes run jobs. */
export async function listJobs(stateDir: string): Promise<JobListing> {
  let ids: string[];
  try {
    ids = (await readdir(join(stateDir, 'jobs'), { withFileTypes: true })).filter((d) => d.isDirectory()).map((d) => d.name);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { jobs: [], unreadable: [] };
    throw new S3migError('S3MIG_STATE_UNREADABLE', `cannot read ${join(stateDir, 'jobs')}: ${(err as Error).message}`);
  }
  const listing: JobListing = { jobs: [], unreadable: [] };
  for (const id of ids.sort()) {
    try {
      listing.jobs.push(await readJobRecord(stateDir, id));
    } catch (err) {
      listing.unreadable.push({ id, message: (err as Error).message });
    }
  }
  // Ids carry the start time to the second only; jobs started within one second keep their real order.
  listing.jobs.sort((a, b) => (a.createdAt < b.createdAt ? -1 : a.createdAt > b.createdAt ? 1 : a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  return listing;
}
