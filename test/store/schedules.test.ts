import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { S3migError } from '../../src/core/errors.ts';
import type { ScheduleRecord } from '../../src/core/schedule.ts';
import {
  acquireSchedulerLock,
  listSchedules,
  readSchedule,
  removeSchedule,
  schedulerOwner,
  schedulesDir,
  writeSchedule,
  type SchedulerLock,
} from '../../src/store/schedules.ts';

async function stateDir(t: TestContext): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 's3mig-schedules-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

function record(id: string, createdAt: string, over: Partial<ScheduleRecord> = {}): ScheduleRecord {
  return {
    id,
    source: 'src/bucket',
    dest: 'dst/bucket/prefix/',
    destKey: { endpoint: 'https://s3.example.com', bucket: 'bucket', prefix: 'prefix/' },
    migrate: { overwrite: true, exclude: ['*.tmp'], limitUpload: 1_048_576 },
    when: { kind: 'cron', expression: '30 2 * * *', tz: 'Europe/Berlin' },
    missed: 'once',
    notifyWebhook: 'http://127.0.0.1:9/hook',
    paused: false,
    createdAt,
    updatedAt: createdAt,
    runs: [{ scheduledFor: '2026-06-01T00:30:00.000Z', state: 'completed', jobId: '20260601-003000-abcdef', exitCode: 0, notified: true }],
    ...over,
  };
}

function isUnknown(id: string, dir: string) {
  return (err: unknown) => {
    assert.ok(err instanceof S3migError);
    assert.equal(err.code, 'S3MIG_SCHEDULE_UNKNOWN');
    assert.equal(err.message, `no schedule ${id} in ${dir}`);
    return true;
  };
}

/** A live child process that does nothing until killed; killed at the end of the test. */
async function idleChild(t: TestContext): Promise<ChildProcess & { pid: number }> {
  const child = spawn(process.execPath, ['-e', 'process.stdin.resume()'], { stdio: ['pipe', 'ignore', 'ignore'] });
  await once(child, 'spawn');
  t.after(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      await once(child, 'exit');
    }
  });
  return child as ChildProcess & { pid: number };
}

/** The pid of a process that has exited (and been reaped). */
async function deadPid(t: TestContext): Promise<number> {
  const child = await idleChild(t);
  child.kill('SIGKILL');
  await once(child, 'exit');
  return child.pid;
}

function lockPath(dir: string): string {
  return join(schedulesDir(dir), 'owner.lock');
}

async function lockPid(dir: string): Promise<number> {
  return (JSON.parse(await readFile(lockPath(dir), 'utf8')) as { pid: number }).pid;
}

function isLock(x: SchedulerLock | { heldBy: number }): x is SchedulerLock {
  return 'release' in x;
}

test('a schedule is written to schedules/<id>.json and read back as it was', async (t) => {
  const dir = await stateDir(t);
  const s = record('sch-20260601-000000-aaaaaa', '2026-06-01T00:00:00.000Z', { lastScheduledFor: '2026-06-01T00:30:00.000Z' });
  await writeSchedule(dir, s);
  assert.equal(schedulesDir(dir), join(dir, 'schedules'));
  assert.deepEqual(JSON.parse(await readFile(join(dir, 'schedules', `${s.id}.json`), 'utf8')), s);
  assert.deepEqual(await readSchedule(dir, s.id), s);
  const once = record('sch-20260601-000001-bbbbbb', '2026-06-01T00:00:01.000Z', { when: { kind: 'once', at: '2026-12-01T02:00:00+01:00' }, done: true });
  await writeSchedule(dir, once);
  assert.deepEqual(await readSchedule(dir, once.id), once);
});

test('writes are atomic: concurrent rewrites leave one whole record and no temporary files', async (t) => {
  const dir = await stateDir(t);
  const base = record('sch-20260601-000000-aaaaaa', '2026-06-01T00:00:00.000Z');
  const versions = Array.from({ length: 20 }, (_, i) => ({ ...base, updatedAt: `2026-06-01T00:00:${String(i).padStart(2, '0')}.000Z` }));
  await Promise.all(versions.map((v) => writeSchedule(dir, v)));
  assert.deepEqual(await readdir(schedulesDir(dir)), [`${base.id}.json`]);
  const stored = await readSchedule(dir, base.id);
  assert.ok(versions.some((v) => v.updatedAt === stored.updatedAt));
});

test('listSchedules: oldest first, unreadable files reported, other files ignored', async (t) => {
  const dir = await stateDir(t);
  assert.deepEqual(await listSchedules(dir), { schedules: [], unreadable: [] }, 'no folder yet');
  const newer = record('sch-20260101-000000-aaaaaa', '2026-06-02T00:00:00.000Z');
  const older = record('sch-20260901-000000-bbbbbb', '2026-06-01T00:00:00.000Z');
  await writeSchedule(dir, newer);
  await writeSchedule(dir, older);
  const folder = schedulesDir(dir);
  await writeFile(join(folder, 'sch-broken.json'), '{"id": "sch-bro');
  await writeFile(join(folder, 'sch-wrong-id.json'), JSON.stringify({ ...older, id: 'sch-other' }));
  await writeFile(join(folder, 'sch-no-when.json'), JSON.stringify({ ...older, id: 'sch-no-when', when: { kind: 'daily' } }));
  await writeFile(join(folder, '.sch-x.json.123.abcd.tmp'), '{');
  await writeFile(join(folder, 'owner.lock'), JSON.stringify({ pid: process.pid, since: '2026-06-01T00:00:00Z' }));

  const listing = await listSchedules(dir);
  assert.deepEqual(listing.schedules.map((s) => s.id), [older.id, newer.id]);
  assert.deepEqual(listing.unreadable.map((u) => u.id), ['sch-broken', 'sch-no-when', 'sch-wrong-id']);
  assert.match(listing.unreadable[0]!.message, /sch-broken\.json is not valid JSON/);
  assert.match(listing.unreadable[1]!.message, /is not a schedule record: no valid "when"/);
  assert.match(listing.unreadable[2]!.message, /its id "sch-other" is not "sch-wrong-id"/);
});

test('a removed schedule is gone; unknown ids are one-line S3MIG_SCHEDULE_UNKNOWN errors', async (t) => {
  const dir = await stateDir(t);
  const s = record('sch-20260601-000000-aaaaaa', '2026-06-01T00:00:00.000Z');
  await writeSchedule(dir, s);
  await removeSchedule(dir, s.id);
  assert.deepEqual((await listSchedules(dir)).schedules, []);
  const folder = schedulesDir(dir);
  await assert.rejects(readSchedule(dir, s.id), isUnknown(s.id, folder));
  await assert.rejects(removeSchedule(dir, s.id), isUnknown(s.id, folder));
  await assert.rejects(readSchedule(dir, 'sch-nope'), isUnknown('sch-nope', folder));
  await writeFile(join(dir, 'outside.json'), JSON.stringify({ ...s, id: '../outside' }));
  await assert.rejects(readSchedule(dir, '../outside'), isUnknown('../outside', folder), 'ids never leave the folder');
});

test('the scheduler lock is taken once; a live holder is reported, a successor lock survives release', async (t) => {
  const dir = await stateDir(t);
  const child = await idleChild(t);

  const childLock = await acquireSchedulerLock(dir, child.pid);
  assert.ok(isLock(childLock));
  assert.equal(await lockPid(dir), child.pid);
  assert.deepEqual(await acquireSchedulerLock(dir), { heldBy: child.pid });
  assert.equal((await schedulerOwner(dir))?.pid, child.pid);
  const again = await acquireSchedulerLock(dir, child.pid);
  assert.ok(isLock(again), 'the holder asking again holds it');

  child.kill('SIGKILL');
  await once(child, 'exit');
  assert.equal(await schedulerOwner(dir), undefined, 'a dead holder owns nothing');
  const ours = await acquireSchedulerLock(dir);
  assert.ok(isLock(ours), 'the lock of a dead process is taken over');
  assert.equal(await lockPid(dir), process.pid);

  // The dead holder's late release does not touch our lock; ours removes it.
  await childLock.release();
  assert.equal(await lockPid(dir), process.pid);
  await ours.release();
  await assert.rejects(readFile(lockPath(dir)), { code: 'ENOENT' });
});

test('release keeps a lock that a successor holds', async (t) => {
  const dir = await stateDir(t);
  const successor = await idleChild(t);
  const ours = await acquireSchedulerLock(dir);
  assert.ok(isLock(ours));
  await writeFile(lockPath(dir), JSON.stringify({ pid: successor.pid, since: new Date().toISOString() }) + '\n');
  await ours.release();
  assert.equal(await lockPid(dir), successor.pid);
  assert.deepEqual(await acquireSchedulerLock(dir), { heldBy: successor.pid });
});

test('a lock with unreadable content is stale', async (t) => {
  const dir = await stateDir(t);
  await writeSchedule(dir, record('sch-20260601-000000-aaaaaa', '2026-06-01T00:00:00.000Z'));
  for (const content of ['', '{"pid":', '{"pid":0}', '{"pid":-1}', '{"since":"x"}']) {
    await writeFile(lockPath(dir), content);
    const lock = await acquireSchedulerLock(dir);
    assert.ok(isLock(lock), JSON.stringify(content));
    assert.equal(await lockPid(dir), process.pid);
    await lock.release();
  }
  assert.deepEqual(await readdir(schedulesDir(dir)), ['sch-20260601-000000-aaaaaa.json'], 'no temporary or stale files left');
});

test('two processes taking over a stale lock at once: one wins, the other is told who', async (t) => {
  const dir = await stateDir(t);
  const other = await idleChild(t);
  const dead = await deadPid(t);
  await mkdir(schedulesDir(dir), { recursive: true });
  for (let round = 0; round < 20; round++) {
    await writeFile(lockPath(dir), JSON.stringify({ pid: dead, since: '2026-01-01T00:00:00.000Z' }) + '\n');
    const [a, b] = await Promise.all([acquireSchedulerLock(dir, process.pid), acquireSchedulerLock(dir, other.pid)]);
    const winners = [a, b].filter(isLock);
    assert.equal(winners.length, 1, `round ${round}: exactly one holder`);
    const holder = await lockPid(dir);
    const loser = isLock(a) ? b : a;
    assert.deepEqual(loser, { heldBy: holder }, `round ${round}`);
    await winners[0]!.release();
  }
  assert.deepEqual(await readdir(schedulesDir(dir)), [], 'no temporary or stale files left');
});
