// The job runner's control socket (engine/job-runner.ts): fix and retry asked for by another process are
// queued and run, in order, when the job's current run has finished well; a stopped run drops them; a job
// of saved listings refuses them; `s3mig fix JOB` queues on the process that runs the job.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { sendControl } from '../../src/engine/control.ts';
import { startJob, type FollowUp } from '../../src/engine/job-runner.ts';
import { EventBus, type EngineEvent } from '../../src/engine/events.ts';
import { S3migError, isS3migError } from '../../src/core/errors.ts';
import { createJobDir, writeJobRecord } from '../../src/store/state-dir.ts';
import type { JobRecord, TargetRecord } from '../../src/core/job-record.ts';
import type { Summary } from '../../src/core/summary.ts';
import { main } from '../../src/cli/main.ts';

const live = (spec: string): TargetRecord => ({ spec, kind: 'live', alias: 'a', endpoint: 'http://127.0.0.1:9', bucket: 'b', prefix: '' });

async function jobOnDisk(t: TestContext, source: TargetRecord) {
  const dir = await mkdtemp(join(tmpdir(), 's3mig-runner-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const stateDir = join(dir, 'state');
  const id = '20261130-000000-abcdef';
  const paths = await createJobDir(stateDir, id);
  const now = new Date().toISOString();
  const record: JobRecord = {
    id,
    kind: 'migrate',
    source,
    dest: live('b/b'),
    options: { reportDir: join(dir, 'reports'), deleteExtras: false },
    state: 'collecting-inventory',
    createdAt: now,
    updatedAt: now,
    pid: process.pid,
  };
  await writeJobRecord(paths, record);
  return { stateDir, id, paths, record };
}

/** A run that announces its job and waits until the test lets it finish (or fails it). */
function heldRun(record: JobRecord, jobDir: string, stateDir: string) {
  let finish!: (s: Summary) => void;
  let fail!: (e: unknown) => void;
  let started!: () => void;
  const running = new Promise<void>((r) => (started = r));
  const run = (bus: EventBus) =>
    new Promise<Summary>((resolve, reject) => {
      finish = resolve;
      fail = reject;
      bus.emit({ type: 'job:created', ts: new Date().toISOString(), jobId: record.id, source: record.source, dest: record.dest, stateDir, jobDir, reportDir: record.options.reportDir });
      started();
    });
  return { run, running, finish: (s: Summary) => finish(s), fail: (e: unknown) => fail(e) };
}

const summaryNamed = (job: string) => ({ job }) as unknown as Summary;

test('fix and retry asked through the socket run in order after the run; a second fix is not queued twice', async (t) => {
  const { stateDir, id, paths, record } = await jobOnDisk(t, live('a/a'));
  const calls: string[] = [];
  const followUp: FollowUp = async (action, opts, jobId, bus) => {
    assert.ok(bus instanceof EventBus);
    calls.push(`${action}:${opts.deleteExtras}:${jobId}`);
    return summaryNamed(action);
  };
  const held = heldRun(record, paths.dir, stateDir);
  const bus = new EventBus();
  const logs: string[] = [];
  bus.subscribe((e: EngineEvent) => {
    if (e.type === 'log') logs.push(e.message);
  });
  const job = startJob(held.run, { bus, followUp });
  await held.running;
  // The socket is opened on job:created.
  await job.controlReady;
  const fix = await sendControl(paths.dir, 'fix', undefined, { deleteExtras: true });
  assert.match(String(fix.message), /fix \(deleting extras\) requested by pid \d+: it runs when the current run has finished/);
  const again = await sendControl(paths.dir, 'fix');
  assert.equal(again.message, 'a fix is already queued');
  await sendControl(paths.dir, 'retry');
  const status = await sendControl(paths.dir, 'status');
  assert.deepEqual(status.queued, ['fix', 'retry']);
  assert.deepEqual(calls, [], 'nothing runs while the job runs');
  held.finish(summaryNamed('run'));
  const final = await job.done;
  assert.deepEqual(calls, [`fix:true:${id}`, `retry:false:${id}`]);
  assert.equal(final.job, 'retry', "the command's summary is the last follow-up's");
  assert.equal(logs.length, 2, 'each request is logged in the job');
});

test('a run that stops (paused) drops the queue; a process without follow-ups refuses them', async (t) => {
  const { stateDir, paths, record } = await jobOnDisk(t, live('a/a'));
  let ran = 0;
  const held = heldRun(record, paths.dir, stateDir);
  const job = startJob(held.run, { followUp: async () => (ran++, summaryNamed('x')) });
  await held.running;
  await job.controlReady;
  await sendControl(paths.dir, 'fix');
  held.fail(new S3migError('S3MIG_PAUSED', 'paused'));
  await assert.rejects(job.done, (e: unknown) => isS3migError(e) && e.code === 'S3MIG_PAUSED');
  assert.equal(ran, 0);

  const second = heldRun(record, paths.dir, stateDir);
  const plain = startJob(second.run, {});
  await second.running;
  await plain.controlReady;
  await assert.rejects(sendControl(paths.dir, 'retry'), /refused the retry request: this process cannot run a retry after its job/);
  second.finish(summaryNamed('y'));
  await plain.done;
});

test('a job of saved listings refuses a fix; `s3mig fix JOB` queues on the process that runs a live job', async (t) => {
  const saved = await jobOnDisk(t, { spec: 'inventory:src.ndjson', kind: 'inventory', path: '/x/src.ndjson' });
  const held = heldRun(saved.record, saved.paths.dir, saved.stateDir);
  const job = startJob(held.run, { followUp: async () => summaryNamed('never') });
  await held.running;
  await job.controlReady;
  await assert.rejects(sendControl(saved.paths.dir, 'fix'), /the job compares inventory:src\.ndjson, a saved listing: a fix needs two live targets/);
  held.finish(summaryNamed('run'));
  await job.done;

  const liveJob = await jobOnDisk(t, live('a/a'));
  const queuedActions: string[] = [];
  const held2 = heldRun(liveJob.record, liveJob.paths.dir, liveJob.stateDir);
  const job2 = startJob(held2.run, { followUp: async (action) => (queuedActions.push(action), summaryNamed(action)) });
  await held2.running;
  await job2.controlReady;
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  stdout.on('data', (d: Buffer) => (out += d.toString()));
  stderr.resume();
  const code = await main(['fix', liveJob.id, '--state-dir', liveJob.stateDir], { stdout, stderr });
  assert.equal(code, 0);
  assert.match(out, new RegExp(`job ${liveJob.id} is running in pid ${process.pid}: fix requested by pid ${process.pid}`));
  held2.finish(summaryNamed('run'));
  await job2.done;
  assert.deepEqual(queuedActions, ['fix']);
});
