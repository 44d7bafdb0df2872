// The scheduler's queue in the state directory (design §4 `schedules/`): one JSON file per schedule, and the owner lock.
import { link, mkdir, readFile, readdir, rename, unlink, writeFile } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import type { ScheduleRecord } from '../core/schedule.ts';
import { S3migError, isDiskFull } from '../core/errors.ts';

const LOCK_FILE = 'owner.lock';
/** Ids as newScheduleId makes them (and nothing that could leave the folder). */
const SAFE_ID = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

/** <stateDir>/schedules */
export function schedulesDir(stateDir: string): string {
  return join(stateDir, 'schedules');
}

function schedulePath(stateDir: string, id: string): string {
  return join(schedulesDir(stateDir), `${id}.json`);
}

function tmpSuffix(): string {
  return `${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
}

/** Writes <dir>/<id>.json atomically (a temporary file renamed into place): readers never see half a record. */
export async function writeSchedule(stateDir: string, s: ScheduleRecord): Promise<void> {
  if (!SAFE_ID.test(s.id)) throw new TypeError(`not a schedule id: ${JSON.stringify(s.id)}`);
  const dir = schedulesDir(stateDir);
  const path = schedulePath(stateDir, s.id);
  const tmp = join(dir, `.${s.id}.json.${tmpSuffix()}`);
  try {
    await mkdir(dir, { recursive: true });
    await writeFile(tmp, JSON.stringify(s, null, 2) + '\n');
    await rename(tmp, path);
  } catch (err) {
    await unlink(tmp).catch(() => undefined);
    const message = `cannot write ${path}: ${(err as Error).message}`;
    throw new S3migError(isDiskFull(err) ? 'S3MIG_DISK_FULL' : 'S3MIG_STATE_UNREADABLE', message, { cause: err });
  }
}

/** What is wrong with a parsed file as a schedule record, if anything. */
function recordProblem(value: unknown, id: string): string | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'not a JSON object';
  const r = value as Partial<Record<keyof ScheduleRecord, unknown>>;
  if (r.id !== id) return `its id ${JSON.stringify(r.id)} is not ${JSON.stringify(id)}`;
  const when = r.when as { kind?: unknown; at?: unknown; expression?: unknown; tz?: unknown } | undefined;
  const whenOk =
    typeof when === 'object' && when !== null &&
    ((when.kind === 'once' && typeof when.at === 'string') || (when.kind === 'cron' && typeof when.expression === 'string' && typeof when.tz === 'string'));
  if (!whenOk) return 'no valid "when"';
  if (r.missed !== 'once' && r.missed !== 'skip') return 'no valid "missed" policy';
  if (typeof r.createdAt !== 'string' || typeof r.source !== 'string' || typeof r.dest !== 'string') return 'no createdAt, source or dest';
  if (!Array.isArray(r.runs)) return 'no runs list';
  return undefined;
}

/** One schedule; S3MIG_SCHEDULE_UNKNOWN when there is none of that id. */
export async function readSchedule(stateDir: string, id: string): Promise<ScheduleRecord> {
  const unknown = () => new S3migError('S3MIG_SCHEDULE_UNKNOWN', `no schedule ${id} in ${schedulesDir(stateDir)}`);
  if (!SAFE_ID.test(id)) throw unknown();
  const path = schedulePath(stateDir, id);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw unknown();
    throw new S3migError('S3MIG_STATE_UNREADABLE', `cannot read ${path}: ${(err as Error).message}`, { cause: err });
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new S3migError('S3MIG_STATE_UNREADABLE', `${path} is not valid JSON: ${(err as Error).message}`, { cause: err });
  }
  const problem = recordProblem(value, id);
  if (problem) throw new S3migError('S3MIG_STATE_UNREADABLE', `${path} is not a schedule record: ${problem}`);
  return value as ScheduleRecord;
}

/** Every schedule, oldest first; files that cannot be read are listed with the reason, never fatal. */
export async function listSchedules(stateDir: string): Promise<{ schedules: ScheduleRecord[]; unreadable: { id: string; message: string }[] }> {
  const dir = schedulesDir(stateDir);
  let names: string[];
  try {
    names = (await readdir(dir, { withFileTypes: true })).filter((d) => d.isFile()).map((d) => d.name);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { schedules: [], unreadable: [] };
    throw new S3migError('S3MIG_STATE_UNREADABLE', `cannot read ${dir}: ${(err as Error).message}`, { cause: err });
  }
  const listing = { schedules: [] as ScheduleRecord[], unreadable: [] as { id: string; message: string }[] };
  for (const name of names.sort()) {
    if (!name.endsWith('.json') || name.startsWith('.')) continue;
    const id = name.slice(0, -'.json'.length);
    try {
      listing.schedules.push(await readSchedule(stateDir, id));
    } catch (err) {
      if (err instanceof S3migError && err.code === 'S3MIG_SCHEDULE_UNKNOWN') continue; // removed meanwhile
      listing.unreadable.push({ id, message: (err as Error).message });
    }
  }
  listing.schedules.sort((a, b) => (a.createdAt < b.createdAt ? -1 : a.createdAt > b.createdAt ? 1 : a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  return listing;
}

/** Deletes a schedule; S3MIG_SCHEDULE_UNKNOWN when there is none of that id. */
export async function removeSchedule(stateDir: string, id: string): Promise<void> {
  const unknown = () => new S3migError('S3MIG_SCHEDULE_UNKNOWN', `no schedule ${id} in ${schedulesDir(stateDir)}`);
  if (!SAFE_ID.test(id)) throw unknown();
  try {
    await unlink(schedulePath(stateDir, id));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw unknown();
    throw new S3migError('S3MIG_STATE_UNREADABLE', `cannot remove ${schedulePath(stateDir, id)}: ${(err as Error).message}`, { cause: err });
  }
}

/** The scheduler's lock: held by the one process that fires schedules. */
export interface SchedulerLock {
  release(): Promise<void>;
}

type LockContent = { kind: 'held'; pid: number; since: string; text: string } | { kind: 'unreadable'; text: string } | { kind: 'missing' };

async function readLock(path: string): Promise<LockContent> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { kind: 'missing' };
    throw new S3migError('S3MIG_STATE_UNREADABLE', `cannot read ${path}: ${(err as Error).message}`, { cause: err });
  }
  try {
    const value = JSON.parse(text) as { pid?: unknown; since?: unknown };
    if (Number.isSafeInteger(value.pid) && (value.pid as number) > 0) {
      return { kind: 'held', pid: value.pid as number, since: typeof value.since === 'string' ? value.since : '', text };
    }
  } catch {
    // not JSON: unreadable, so stale
  }
  return { kind: 'unreadable', text };
}

/** Alive unless the system says there is no such process (EPERM: alive, someone else's). */
function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code !== 'ESRCH';
  }
}

/**
 * Creates the lock file with its whole content in one step, failing when it exists: the content goes to a
 * temporary file that is hard-linked to the lock's name (no reader ever sees an empty lock). Where hard links
 * are not supported, an exclusive create ('wx') does it.
 */
async function createExclusive(path: string, content: string): Promise<boolean> {
  const tmp = `${path}.${tmpSuffix()}`;
  try {
    await writeFile(tmp, content, { flag: 'wx' });
    await link(tmp, path);
    return true;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') return false;
    if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP' && code !== 'ENOSYS') throw err;
    try {
      await writeFile(path, content, { flag: 'wx' });
      return true;
    } catch (again) {
      if ((again as NodeJS.ErrnoException).code === 'EEXIST') return false;
      throw again;
    }
  } finally {
    await unlink(tmp).catch(() => undefined);
  }
}

/**
 * Removes a lock judged stale, unless it changed since it was read: the file is first renamed aside (one
 * process wins that), and a lock that turns out to be someone's fresh one is linked back.
 */
async function removeStale(path: string, staleText: string): Promise<void> {
  const aside = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.stale`;
  try {
    await rename(path, aside);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw err;
  }
  try {
    const moved = await readFile(aside, 'utf8').catch(() => staleText);
    if (moved !== staleText) await link(aside, path).catch(() => undefined); // EEXIST: a third process took it meanwhile
  } finally {
    await unlink(aside).catch(() => undefined);
  }
}

/**
 * Takes <stateDir>/schedules/owner.lock ({"pid":N,"since":ISO}) for `pid` (default this process), or answers
 * who holds it: a live process other than `pid`. A lock of a dead process or with unreadable content is stale
 * and replaced; when another process wins that race, it is the one reported.
 */
export async function acquireSchedulerLock(stateDir: string, pid: number = process.pid): Promise<SchedulerLock | { heldBy: number }> {
  const dir = schedulesDir(stateDir);
  const path = join(dir, LOCK_FILE);
  await mkdir(dir, { recursive: true });
  const content = JSON.stringify({ pid, since: new Date().toISOString() }) + '\n';
  const lock: SchedulerLock = {
    async release() {
      const now = await readLock(path);
      if (now.kind === 'held' && now.pid === pid) await unlink(path).catch(() => undefined);
    },
  };
  for (let attempt = 0; attempt < 5; attempt++) {
    if (await createExclusive(path, content)) return lock;
    const held = await readLock(path);
    if (held.kind === 'missing') continue;
    if (held.kind === 'held' && held.pid === pid) return lock;
    if (held.kind === 'held' && isAlive(held.pid)) return { heldBy: held.pid };
    await removeStale(path, held.text);
  }
  const held = await readLock(path);
  if (held.kind === 'held') return { heldBy: held.pid };
  throw new S3migError('S3MIG_STATE_LOCKED', `cannot take the scheduler lock ${path}: it keeps changing`);
}

/** The live process holding the scheduler's lock, if any (for views: "schedules fire while pid N runs"). */
export async function schedulerOwner(stateDir: string): Promise<{ pid: number; since: string } | undefined> {
  const held = await readLock(join(schedulesDir(stateDir), LOCK_FILE));
  return held.kind === 'held' && isAlive(held.pid) ? { pid: held.pid, since: held.since } : undefined;
}
