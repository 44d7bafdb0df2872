// The scheduler: (a) with an injected clock and injected runs (fake jobs ended by the test): the global limit,
// one run per destination, skipped occurrences, one-shots, restarts, the lock, notifications to a receiver on
// 127.0.0.1; (b) a one-shot due in 2 s by the real clock and timer, running a real migration between two
// local S3 servers, its summary POSTed exactly once.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { S3migError } from '../../src/core/errors.ts';
import type { JobState } from '../../src/core/job-state.ts';
import type { JobRecord } from '../../src/core/job-record.ts';
import { buildSummary, type Summary } from '../../src/core/summary.ts';
import { emptyCounts, type Outcome } from '../../src/core/tally.ts';
import type { ScheduleRecord, ScheduleRun, ScheduleWhen } from '../../src/core/schedule.ts';
import { acquireSchedulerLock, readSchedule, writeSchedule } from '../../src/store/schedules.ts';
import { createJobDir, listJobs, writeJobRecord } from '../../src/store/state-dir.ts';
import { EventBus } from '../../src/engine/events.ts';
import type { RunningJob } from '../../src/engine/job-runner.ts';
import { Scheduler, sameDestinationOf, type Notification, type SchedulerEvent, type SchedulerOptions } from '../../src/engine/scheduler.ts';
import { tempDir } from '../helpers.ts';
import { twoLocalS3, webhookReceiver } from '../live-harness.ts';

const T0 = new Date('2026-03-01T00:00:00.000Z');
const at = (ms: number) => new Date(T0.getTime() + ms);
const MIN = 60_000;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;
const iso = (d: Date) => d.toISOString();

function schedule(id: string, dest: string, when: ScheduleWhen, extra: Partial<ScheduleRecord> = {}): ScheduleRecord {
  return { id, source: `src/${id}`, dest, migrate: {}, when, missed: 'once', paused: false, createdAt: iso(T0), updatedAt: iso(T0), runs: [], ...extra };
}
const once = (d: Date): ScheduleWhen => ({ kind: 'once', at: iso(d) });

function summaryOf(job: string, outcome: Outcome = 'clean'): Summary {
  const side = (spec: string) => ({ spec, kind: 'live' as const, entries: 1, complete: outcome !== 'incomplete' });
  const counts = { ...emptyCounts(), matched: outcome === 'clean' ? 1 : 0, missing: outcome === 'differences' ? 1 : 0, source: 1, dest: 1 };
  return buildSummary({
    job,
    kind: 'migrate',
    source: side('src/b'),
    dest: side('dst/b'),
    counts,
    bytes: emptyCounts(),
    incomplete: outcome === 'incomplete' ? [{ side: 'source', message: 'a range failed' }] : [],
    startedAt: T0.getTime(),
    finishedAt: T0.getTime() + 1000,
    ingestMs: 1,
    compareMs: 1,
    reportMs: 1,
    peakRssBytes: 1,
    reports: { dir: '/r', summary: '/r/summary.json', differencesNdjson: '/r/d.ndjson', differencesCsv: '/r/d.csv', fixScript: '/r/fix.sh', fixPlan: '/r/fix-plan.ndjson' },
  });
}

/** A job the test ends: `create` announces its id, `complete`/`fail` end it; pause and cancel end it as the real one does. */
class FakeJob implements RunningJob {
  readonly bus = new EventBus();
  jobId: string | undefined;
  readonly state: JobState | null = null;
  running = true;
  stopReason: unknown;
  readonly controlReady = Promise.resolve(undefined);
  readonly done: Promise<Summary>;
  private settle!: { resolve: (s: Summary) => void; reject: (e: unknown) => void };

  constructor(
    readonly schedule: ScheduleRecord,
    readonly run: ScheduleRun,
  ) {
    this.jobId = run.jobId;
    this.done = new Promise<Summary>((resolve, reject) => (this.settle = { resolve, reject }));
    this.done.catch(() => undefined);
  }

  create(id: string): void {
    this.jobId = id;
    const target = { spec: 'x/y', kind: 'live' as const };
    this.bus.emit({ type: 'job:created', jobId: id, ts: iso(T0), source: target, dest: target, stateDir: '/s', jobDir: '/s/jobs/' + id, reportDir: '/r' });
  }
  complete(outcome: Outcome = 'clean'): void {
    this.running = false;
    this.settle.resolve(summaryOf(this.jobId!, outcome));
  }
  fail(err: unknown): void {
    this.running = false;
    this.settle.reject(err);
  }
  pause(reason: string): void {
    this.stopReason = new S3migError('S3MIG_PAUSED', reason);
    this.fail(this.stopReason);
  }
  cancel(reason: string): void {
    this.stopReason = new S3migError('S3MIG_CANCELED', reason);
    this.fail(this.stopReason);
  }
}

interface Harness {
  scheduler: Scheduler;
  jobs: FakeJob[];
  events: SchedulerEvent[];
  /** The next event (or one already seen after `from`) that matches. */
  event(match: (e: SchedulerEvent) => boolean, from?: number): Promise<SchedulerEvent>;
  setNow(d: Date): void;
}

/** A scheduler on `stateDir` with the injected clock and fake jobs, stopped after the test. */
function harness(t: TestContext, stateDir: string, options: Partial<SchedulerOptions> = {}, start = T0): Harness {
  let now = start;
  const jobs: FakeJob[] = [];
  const events: SchedulerEvent[] = [];
  const waiters: { match: (e: SchedulerEvent) => boolean; resolve: (e: SchedulerEvent) => void }[] = [];
  const scheduler = new Scheduler({
    stateDir,
    clock: () => now,
    tickMs: 0,
    startRun: (s, run) => {
      const job = new FakeJob(s, run);
      jobs.push(job);
      return job;
    },
    notify: { baseDelayMs: 1 },
    onEvent: (e) => {
      events.push(e);
      for (const w of waiters.splice(0)) {
        if (w.match(e)) w.resolve(e);
        else waiters.push(w);
      }
    },
    ...options,
  });
  t.after(() => scheduler.stop());
  return {
    scheduler,
    jobs,
    events,
    event: (match, from = Infinity) => {
      const seen = events.slice(from).find(match);
      return seen ? Promise.resolve(seen) : new Promise((resolve) => waiters.push({ match, resolve }));
    },
    setNow: (d) => (now = d),
  };
}

const of = (type: SchedulerEvent['type'], scheduleId: string) => (e: SchedulerEvent) => e.type === type && e.scheduleId === scheduleId;

/** A job.json as a job of `s` would have it, in `state`. */
async function writeJob(stateDir: string, id: string, s: ScheduleRecord, state: JobState, extra: Partial<JobRecord> = {}): Promise<void> {
  const paths = await createJobDir(stateDir, id);
  const target = (spec: string) => ({ spec, kind: 'live' as const });
  await writeJobRecord(paths, {
    id,
    kind: 'migrate',
    source: target(s.source),
    dest: target(s.dest),
    options: { reportDir: join(stateDir, 'reports', id), deleteExtras: false },
    state,
    createdAt: iso(at(HOUR + 1000)),
    updatedAt: iso(at(HOUR + 2000)),
    pid: 1,
    ...extra,
  });
}

// ---------------------------------------------------------------------------------------------
// (a) injected clock and runs
// ---------------------------------------------------------------------------------------------

test('at most 2 runs at once and one per destination (overlapping prefixes wait), each waiting run told once', async (t) => {
  const dir = await tempDir(t);
  const T1 = at(HOUR);
  for (const [id, dest] of [['a', 'dst/b1'], ['b', 'dst/b2'], ['c', 'dst/b1/sub'], ['d', 'dst/b3']] as const) {
    await writeSchedule(dir, schedule(id, dest, once(T1)));
  }
  const h = harness(t, dir);
  await h.scheduler.start();
  h.setNow(T1);
  await h.scheduler.tick();
  assert.deepEqual(h.jobs.map((j) => j.schedule.id), ['a', 'b']);
  // Recorded before the jobs started: a one-shot is done once it fired.
  const a = await readSchedule(dir, 'a');
  assert.equal(a.done, true);
  assert.equal(a.lastScheduledFor, iso(T1));
  assert.deepEqual(a.runs.map((r) => [r.scheduledFor, r.state]), [[iso(T1), 'starting']]);
  assert.deepEqual((await readSchedule(dir, 'c')).runs, []);
  const waits = h.events.filter((e) => e.type === 'waiting');
  assert.deepEqual(waits.map((e) => e.scheduleId), ['c', 'd']);
  assert.match(waits[0]!.message, /destination dst\/b1\/sub is busy: a run of schedule a writes to dst\/b1/);
  assert.match(waits[1]!.message, /limit of 2 running job\(s\)/);

  const [ja, jb] = h.jobs;
  const from = h.events.length;
  ja!.create('job-a');
  await h.event(of('fired', 'a'), from);
  assert.deepEqual((await readSchedule(dir, 'a')).runs.map((r) => [r.state, r.jobId]), [['running', 'job-a']]);

  jb!.create('job-b');
  jb!.complete();
  await h.event(of('finished', 'b'), from);
  h.setNow(at(HOUR + MIN));
  await h.scheduler.tick();
  // b's slot goes to d; c still waits for a (and is not told again).
  assert.deepEqual(h.jobs.map((j) => j.schedule.id), ['a', 'b', 'd']);
  assert.deepEqual(h.scheduler.running().map((r) => r.scheduleId).sort(), ['a', 'd']);
  assert.deepEqual(h.scheduler.waiting().map((w) => w.scheduleId), ['c']);

  const mark = h.events.length;
  ja!.complete('differences');
  await h.event(of('finished', 'a'), mark);
  await h.scheduler.tick();
  assert.deepEqual(h.jobs.map((j) => j.schedule.id), ['a', 'b', 'd', 'c']);
  assert.deepEqual(h.events.filter((e) => e.type === 'waiting').map((e) => e.scheduleId), ['c', 'd']);
  const done = (await readSchedule(dir, 'a')).runs[0]!;
  assert.equal(done.state, 'completed-with-differences');
  assert.equal(done.exitCode, 1);
  assert.equal(done.jobId, 'job-a');
  assert.equal(done.finishedAt, iso(at(HOUR + MIN)));
});

test('destinations: resolved keys when both schedules have one, else the specs (alias, bucket, overlapping prefixes)', () => {
  const key = (endpoint: string, prefix: string) => ({ dest: 'any/x', destKey: { endpoint, bucket: 'x', prefix } });
  assert.equal(sameDestinationOf(key('https://s3.example.net', ''), key('https://S3.example.net:443/', 'p/')), true);
  assert.equal(sameDestinationOf(key('https://s3.example.net', 'a/'), key('https://s3.example.net', 'b/')), false);
  assert.equal(sameDestinationOf({ dest: 'one/x' }, { dest: 'one/x/deep/er' }), true);
  assert.equal(sameDestinationOf({ dest: 'one/x/a' }, { dest: 'one/x/b' }), false);
  assert.equal(sameDestinationOf({ dest: 'one/x' }, { dest: 'two/x' }), false);
  // One side without a resolved key: the specs decide.
  assert.equal(sameDestinationOf(key('https://s3.example.net', ''), { dest: 'any/x/p' }), true);
});

test('missed occurrences: skip records them all; once runs the latest and records the others skipped; on time they fire', async (t) => {
  const dir = await tempDir(t);
  const hourly: ScheduleWhen = { kind: 'cron', expression: '0 * * * *', tz: 'UTC' };
  await writeSchedule(dir, schedule('skipper', 'dst/one', hourly, { missed: 'skip' }));
  await writeSchedule(dir, schedule('catcher', 'dst/two', hourly, { missed: 'once' }));
  const h = harness(t, dir, {}, at(3 * HOUR + 30 * MIN));
  await h.scheduler.start();
  await h.scheduler.tick();

  const skipper = await readSchedule(dir, 'skipper');
  assert.deepEqual(skipper.runs.map((r) => [r.scheduledFor, r.state]), [
    [iso(at(HOUR)), 'skipped'],
    [iso(at(2 * HOUR)), 'skipped'],
    [iso(at(3 * HOUR)), 'skipped'],
  ]);
  assert.equal(skipper.lastScheduledFor, iso(at(3 * HOUR)));
  const catcher = await readSchedule(dir, 'catcher');
  assert.deepEqual(catcher.runs.map((r) => [r.scheduledFor, r.state]), [
    [iso(at(HOUR)), 'skipped'],
    [iso(at(2 * HOUR)), 'skipped'],
    [iso(at(3 * HOUR)), 'starting'],
  ]);
  assert.deepEqual(h.jobs.map((j) => [j.schedule.id, j.run.scheduledFor]), [['catcher', iso(at(3 * HOUR))]]);
  assert.match(h.events.find(of('skipped', 'skipper'))!.message, /3 occurrence\(s\) missed, skipped \(policy skip\)/);

  // Ticking again at the same time changes nothing.
  await h.scheduler.tick();
  assert.equal(h.jobs.length, 1);
  assert.equal((await readSchedule(dir, 'skipper')).runs.length, 3);

  // On time (within the grace minute), the skip policy fires.
  h.setNow(at(4 * HOUR + 10_000));
  await h.scheduler.tick();
  assert.deepEqual(h.jobs.map((j) => [j.schedule.id, j.run.scheduledFor]), [
    ['catcher', iso(at(3 * HOUR))],
    ['skipper', iso(at(4 * HOUR))],
  ]);
  // catcher's 04:00 waits for its own 03:00 run (same destination); when 05:00 comes first, 04:00 is replaced.
  assert.deepEqual(h.scheduler.waiting().map((w) => [w.scheduleId, w.scheduledFor]), [['catcher', iso(at(4 * HOUR))]]);
  h.setNow(at(5 * HOUR + 5_000));
  await h.scheduler.tick();
  assert.deepEqual(h.scheduler.waiting().map((w) => [w.scheduleId, w.scheduledFor]).sort(), [
    ['catcher', iso(at(5 * HOUR))],
    ['skipper', iso(at(5 * HOUR))],
  ]);
  const replaced = (await readSchedule(dir, 'catcher')).runs.find((r) => r.scheduledFor === iso(at(4 * HOUR)))!;
  assert.equal(replaced.state, 'skipped');
  assert.match(replaced.error!, /a later occurrence came while it waited \(its destination dst\/two is busy/);
});

test('a one-shot fires exactly once: not before its time, not while paused, never again after it ran, nor after a restart', async (t) => {
  const dir = await tempDir(t);
  const T1 = at(HOUR);
  await writeSchedule(dir, schedule('one', 'dst/one', once(T1), { paused: true }));
  await writeSchedule(dir, schedule('late', 'dst/late', once(T1), { missed: 'skip' }));
  const h = harness(t, dir, {}, at(HOUR - 1000));
  await h.scheduler.start();
  await h.scheduler.tick();
  assert.equal(h.jobs.length, 0);

  h.setNow(T1);
  await h.scheduler.tick();
  assert.equal(h.jobs.length, 1, 'the paused one waits; late is on time');
  await writeSchedule(dir, { ...(await readSchedule(dir, 'one')), paused: false });
  h.setNow(at(HOUR + 30_000));
  await h.scheduler.tick();
  assert.deepEqual(h.jobs.map((j) => j.schedule.id), ['late', 'one']);
  const from = h.events.length;
  for (const j of h.jobs) {
    j.create(`job-${j.schedule.id}`);
    j.complete();
  }
  await h.event(of('finished', 'one'), from);
  await h.event(of('finished', 'late'), from);
  for (const later of [at(HOUR + MIN), at(DAY), at(400 * DAY)]) {
    h.setNow(later);
    await h.scheduler.tick();
  }
  assert.equal(h.jobs.length, 2);
  const one = await readSchedule(dir, 'one');
  assert.equal(one.done, true);
  assert.deepEqual(one.runs.map((r) => [r.state, r.jobId, r.exitCode]), [['completed', 'job-one', 0]]);
  await h.scheduler.stop();

  const again = harness(t, dir, {}, at(2 * DAY));
  await again.scheduler.start();
  await again.scheduler.tick();
  assert.equal(again.jobs.length, 0);
});

test('a one-shot missed while no scheduler ran: skip records it skipped and done; once runs it', async (t) => {
  const dir = await tempDir(t);
  await writeSchedule(dir, schedule('skipped', 'dst/a', once(at(HOUR)), { missed: 'skip' }));
  await writeSchedule(dir, schedule('caught', 'dst/b', once(at(HOUR)), { missed: 'once' }));
  const h = harness(t, dir, {}, at(DAY));
  await h.scheduler.start();
  await h.scheduler.tick();
  assert.deepEqual(h.jobs.map((j) => j.schedule.id), ['caught']);
  const skipped = await readSchedule(dir, 'skipped');
  assert.equal(skipped.done, true);
  assert.deepEqual(skipped.runs.map((r) => r.state), ['skipped']);
  await h.scheduler.tick();
  assert.equal(h.jobs.length, 1);
});

test('a restart resumes interrupted runs (running, paused by the stop, started without a job yet) and never re-runs a finished one', async (t) => {
  const dir = await tempDir(t);
  const T1 = at(HOUR);
  const r1 = schedule('r1', 'dst/r1', once(T1));
  const r2 = schedule('r2', 'dst/r2', once(T1));
  await writeSchedule(dir, r1);
  await writeSchedule(dir, r2);
  const first = harness(t, dir, { maxConcurrent: 4 }, T1);
  await first.scheduler.start();
  await first.scheduler.tick();
  const [j1, j2] = first.jobs;
  await writeJob(dir, 'job-r1', r1, 'transferring');
  j1!.create('job-r1');
  j2!.create('job-r2');
  j2!.complete();
  await first.event(of('finished', 'r2'), 0);
  await first.event(of('fired', 'r1'), 0);
  // The stop pauses r1's job at a checkpoint.
  await first.scheduler.stop();
  assert.equal(j1!.stopReason instanceof S3migError && j1!.stopReason.code, 'S3MIG_PAUSED');
  assert.deepEqual((await readSchedule(dir, 'r1')).runs.map((r) => [r.state, r.jobId]), [['paused', 'job-r1']]);

  // As a crash would leave them: r3 running (its job not finished), r4 running (its job finished meanwhile),
  // r5 starting (its job was created, the id never recorded), r6 starting (no job created).
  const running = (jobId?: string): ScheduleRun => ({ scheduledFor: iso(T1), state: jobId ? 'running' : 'starting', startedAt: iso(T1), ...(jobId ? { jobId } : {}) });
  const crashed = (id: string, run: ScheduleRun) => schedule(id, `dst/${id}`, once(T1), { done: true, lastScheduledFor: iso(T1), runs: [run] });
  const r3 = crashed('r3', running('job-r3'));
  const r4 = crashed('r4', running('job-r4'));
  const r5 = crashed('r5', running());
  const r6 = crashed('r6', running());
  for (const s of [r3, r4, r5, r6]) await writeSchedule(dir, s);
  await writeJob(dir, 'job-r3', r3, 'comparing');
  await writeJob(dir, 'job-r4', r4, 'completed-with-differences', { exitCode: 1, finishedAt: iso(at(HOUR + 5 * MIN)) });
  await writeJob(dir, 'job-r5', r5, 'transferring');

  const second = harness(t, dir, { maxConcurrent: 4 }, at(HOUR + 10 * MIN));
  await second.scheduler.start();
  const r4run = (await readSchedule(dir, 'r4')).runs[0]!;
  assert.deepEqual([r4run.state, r4run.exitCode, r4run.finishedAt], ['completed-with-differences', 1, iso(at(HOUR + 5 * MIN))]);
  assert.equal((await readSchedule(dir, 'r5')).runs[0]!.jobId, 'job-r5');
  await second.scheduler.tick();
  const started = second.jobs.map((j) => [j.schedule.id, j.run.jobId ?? null]).sort();
  assert.deepEqual(started, [['r1', 'job-r1'], ['r3', 'job-r3'], ['r5', 'job-r5'], ['r6', null]]);
  // Resumed runs are recorded running with their job at once.
  await second.event(of('fired', 'r3'), 0);
  assert.equal((await readSchedule(dir, 'r3')).runs[0]!.state, 'running');
  for (const later of [at(DAY), at(30 * DAY)]) {
    second.setNow(later);
    await second.scheduler.tick();
  }
  assert.equal(second.jobs.length, 4, 'r2 and r4 finished: never run again');
  assert.equal((await readSchedule(dir, 'r2')).runs.length, 1);
});

test('a second scheduler is refused, naming the pid that holds the lock: another process, or this one', async (t) => {
  const dir = await tempDir(t);
  // Another live process holds the lock.
  const other = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1e6)'], { stdio: 'ignore' });
  t.after(() => void other.kill('SIGKILL'));
  const held = await acquireSchedulerLock(dir, other.pid!);
  assert.ok(!('heldBy' in held));
  const refused = harness(t, dir);
  await assert.rejects(refused.scheduler.start(), (err: unknown) => {
    assert.ok(err instanceof S3migError);
    assert.equal(err.code, 'S3MIG_STATE_LOCKED');
    assert.match(err.message, new RegExp(`another s3mig process \\(pid ${other.pid}\\)`));
    return true;
  });
  await held.release();

  // This process: one scheduler, a second refused, a third once the first stopped.
  const h = harness(t, dir);
  await h.scheduler.start();
  await assert.rejects(harness(t, dir).scheduler.start(), (err: unknown) => {
    assert.ok(err instanceof S3migError);
    assert.equal(err.code, 'S3MIG_STATE_LOCKED');
    assert.match(err.message, new RegExp(`pid ${process.pid}`));
    return true;
  });
  await h.scheduler.stop();
  const third = harness(t, dir);
  await third.scheduler.start();
});

test('notifications: the summary of a finished run and the error of a failed one, each once, recorded notified; a stop before the 2xx re-sends at the next start', async (t) => {
  const dir = await tempDir(t);
  const hook = await webhookReceiver(t);
  const T1 = at(HOUR);
  await writeSchedule(dir, schedule('ok', 'dst/ok', once(T1), { notifyWebhook: hook.url }));
  await writeSchedule(dir, schedule('bad', 'dst/bad', once(T1), { notifyWebhook: hook.url }));
  await writeSchedule(dir, schedule('quiet', 'dst/quiet', once(T1)));
  const h = harness(t, dir, { maxConcurrent: 3 }, T1);
  await h.scheduler.start();
  await h.scheduler.tick();
  const [ok, bad, quiet] = ['ok', 'bad', 'quiet'].map((id) => h.jobs.find((j) => j.schedule.id === id)!);
  ok!.create('job-ok');
  ok!.complete();
  bad!.create('job-bad');
  bad!.fail(new S3migError('S3MIG_ENDPOINT_UNREACHABLE', 'destination dst/bad: endpoint unreachable'));
  quiet!.create('job-quiet');
  quiet!.complete();
  await h.scheduler.idle();
  assert.deepEqual(h.events.filter((e) => e.type === 'finished').map((e) => [e.scheduleId, e.state]).sort(), [
    ['bad', 'failed'],
    ['ok', 'completed'],
    ['quiet', 'completed'],
  ]);
  assert.equal(hook.bodies.length, 2);
  const byType = Object.fromEntries(hook.bodies.map((b) => [b.type, b]));
  const summary = byType.summary as Extract<Notification, { type: 'summary' }>;
  assert.equal(summary.summary.job, 'job-ok');
  assert.equal(summary.schedule.id, 'ok');
  assert.equal(summary.run.state, 'completed');
  assert.doesNotMatch(JSON.stringify(hook.bodies), /t0k3n/);
  const failure = byType.failure as Extract<Notification, { type: 'failure' }>;
  assert.equal(failure.schedule.id, 'bad');
  assert.equal(failure.run.state, 'failed');
  assert.match(failure.error, /endpoint unreachable/);
  assert.equal((await readSchedule(dir, 'ok')).runs[0]!.notified, true);
  assert.equal((await readSchedule(dir, 'bad')).runs[0]!.notified, true);
  assert.equal((await readSchedule(dir, 'quiet')).runs[0]!.notified, undefined);
  for (const later of [at(HOUR + MIN), at(DAY)]) {
    h.setNow(later);
    await h.scheduler.tick();
  }
  await h.scheduler.idle();
  assert.equal(hook.bodies.length, 2);
  await h.scheduler.stop();

  // A run recorded finished but not notified (the scheduler stopped before the 2xx): sent at the next start, once.
  const s = await readSchedule(dir, 'bad');
  await writeSchedule(dir, { ...s, runs: s.runs.map((r) => ({ ...r, notified: false })) });
  const again = harness(t, dir, {}, at(2 * DAY));
  await again.scheduler.start();
  await again.scheduler.idle();
  assert.equal(hook.bodies.length, 3);
  assert.equal(hook.bodies[2]!.type, 'failure');
  assert.equal((await readSchedule(dir, 'bad')).runs[0]!.notified, true);
  await again.scheduler.tick();
  await again.scheduler.idle();
  assert.equal(hook.bodies.length, 3);
});

test('a receiver that keeps failing: the run stays notified false and the error event names no token', async (t) => {
  const dir = await tempDir(t);
  const hook = await webhookReceiver(t, 503);
  await writeSchedule(dir, schedule('x', 'dst/x', once(at(HOUR)), { notifyWebhook: hook.url }));
  const h = harness(t, dir, { notify: { attempts: 3, baseDelayMs: 1 } }, at(HOUR));
  await h.scheduler.start();
  await h.scheduler.tick();
  h.jobs[0]!.create('job-x');
  h.jobs[0]!.complete();
  await h.scheduler.idle();
  assert.equal(hook.bodies.length, 3);
  assert.equal((await readSchedule(dir, 'x')).runs[0]!.notified, false);
  const err = h.events.find((e) => e.type === 'error' && /notification/.test(e.message))!;
  assert.match(err.message, /failed after 3 attempt\(s\): POST http:\/\/127\.0\.0\.1:\d+\/hook\?…: HTTP 503/);
  assert.doesNotMatch(err.message, /t0k3n/);
});

// ---------------------------------------------------------------------------------------------
// (b) the real clock, timer and migration
// ---------------------------------------------------------------------------------------------

test('integration: a one-shot due in 2 s migrates between two local S3 servers and the webhook gets the summary exactly once', { timeout: 120_000 }, async (t) => {
  const dir = await tempDir(t);
  const state = join(dir, 'state');
  const objects: Record<string, string> = { 'a.txt': 'alpha', 'docs/b.md': 'bravo', 'photos/é.png': 'png bytes' };
  const servers = await twoLocalS3(t, objects);
  const hook = await webhookReceiver(t);

  let offset = 0;
  const clock = () => new Date(Date.now() + offset);
  const events: SchedulerEvent[] = [];
  const scheduler = new Scheduler({ stateDir: state, clock, aliasEnv: servers.aliasEnv, onEvent: (e) => events.push(e) });
  t.after(() => scheduler.stop());
  const due = new Date(clock().getTime() + 2000);
  await writeSchedule(state, {
    ...schedule('sch-int', 'dst/media', { kind: 'once', at: due.toISOString() }, { source: 'src/media', notifyWebhook: hook.url }),
    migrate: { engine: 'native', reportDir: join(dir, 'reports') },
    createdAt: clock().toISOString(),
  });
  await scheduler.start();

  // The real timer fires it: nothing here calls tick() until the summary has arrived.
  await hook.received(1);
  await scheduler.idle();
  const body = hook.bodies[0]!;
  assert.equal(body.type, 'summary', JSON.stringify(events));
  const summary = (body as Extract<Notification, { type: 'summary' }>).summary;
  assert.equal(summary.kind, 'migrate');
  assert.equal(summary.outcome, 'clean');
  assert.equal(summary.transfer?.copied, 3);
  assert.deepEqual(await servers.destKeys(), Object.keys(objects).sort());

  const record = await readSchedule(state, 'sch-int');
  assert.equal(record.done, true);
  assert.equal(record.runs.length, 1);
  const run = record.runs[0]!;
  assert.equal(run.state, 'completed');
  assert.equal(run.exitCode, 0);
  assert.equal(run.jobId, summary.job);
  assert.equal(run.notified, true);
  assert.ok(summary.reports.dir.startsWith(join(dir, 'reports', 'sch-int-')));

  // Later ticks, a minute, a day and a year on: no second run, no second POST.
  for (const ms of [60_000, 86_400_000, 400 * 86_400_000]) {
    offset = ms;
    await scheduler.tick();
  }
  await scheduler.idle();
  assert.equal(hook.bodies.length, 1);
  const { jobs } = await listJobs(state);
  assert.deepEqual(jobs.map((j) => j.id), [run.jobId]);
  assert.equal((await readSchedule(state, 'sch-int')).runs.length, 1);
});

test('integration: a stop pauses a real run at a checkpoint; the next start resumes the same job to the end, notified once', { timeout: 120_000 }, async (t) => {
  const dir = await tempDir(t);
  const state = join(dir, 'state');
  // 12 objects of 8 KiB at 16 KiB/s, one copy at a time: the transfer takes seconds, long enough to stop in.
  const objects = Object.fromEntries(Array.from({ length: 12 }, (_, i) => [`obj-${String(i).padStart(2, '0')}`, String(i % 10).repeat(8192)]));
  const servers = await twoLocalS3(t, objects);
  const hook = await webhookReceiver(t);
  const s = {
    ...schedule('sch-stop', 'dst/media', once(new Date(Date.now() - 1000)), { source: 'src/media', notifyWebhook: hook.url, createdAt: new Date(Date.now() - 5000).toISOString() }),
    migrate: { engine: 'native' as const, concurrency: 1, limitUpload: 16 * 1024, reportDir: join(dir, 'reports') },
  };
  await writeSchedule(state, s);

  const first = new Scheduler({ stateDir: state, tickMs: 0, aliasEnv: servers.aliasEnv });
  t.after(() => first.stop());
  await first.start();
  await first.tick();
  assert.equal(first.running().length, 1);
  await first.stop();
  const paused = (await readSchedule(state, 'sch-stop')).runs[0]!;
  assert.equal(paused.state, 'paused', JSON.stringify(paused));
  assert.ok(paused.jobId);
  assert.equal(hook.bodies.length, 0, 'a paused run is not notified');
  assert.equal((await listJobs(state)).jobs[0]!.state, 'paused');

  const second = new Scheduler({ stateDir: state, tickMs: 0, aliasEnv: servers.aliasEnv });
  t.after(() => second.stop());
  await second.start();
  await second.tick();
  assert.deepEqual(second.running().map((r) => r.jobId), [paused.jobId]);
  await hook.received(1);
  await second.idle();
  const run = (await readSchedule(state, 'sch-stop')).runs[0]!;
  assert.deepEqual([run.state, run.jobId, run.notified], ['completed', paused.jobId, true]);
  assert.deepEqual(await servers.destKeys(), Object.keys(objects).sort());
  const { jobs } = await listJobs(state);
  assert.deepEqual(jobs.map((j) => j.id), [paused.jobId]);
  await second.tick();
  await second.idle();
  assert.equal(hook.bodies.length, 1);
  assert.equal((hook.bodies[0] as Extract<Notification, { type: 'summary' }>).summary.job, paused.jobId);
});
