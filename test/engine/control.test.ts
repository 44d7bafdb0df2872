// Control of running jobs from other processes (design §4): `s3mig pause|cancel JOB` through the job's control socket,
// a job held by one process refused to a second, stale and long-path sockets, and `s3mig prune JOB`.
//
// A running job is held still without timers: its source is a live bucket served by a stub S3 endpoint in
// this process that answers ListObjectsV2 pages until a given key and then holds the next request unanswered.
// (An `inventory:FIFO` source cannot work: the inventory reader checks the first bytes of the file at
// offset 0 for gzip, a positioned read that a pipe refuses with ESPIPE, and it opens the file once to
// estimate and again to ingest.)
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, stat, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { execa } from 'execa';
import { controlSocketPath, sendControl, serveControl } from '../../src/engine/control.ts';
import { isS3migError } from '../../src/core/errors.ts';
import { MD5_A, MD5_B, tempDir, writeInventory, type LineSpec } from '../helpers.ts';
import { endOf, jobIdOf, mcHost, runS3mig, spawnS3mig } from '../live-harness.ts';
import { startStub, type Stub } from '../stub-s3.ts';

const SECRET = 'stub-secret-never-shown';

// ---------------------------------------------------------------------------------------------
// Running s3mig
// ---------------------------------------------------------------------------------------------

/** Alias `stub` on the stub endpoint, when there is one. */
const stubHost = (stub: Stub | undefined): Record<string, string> => (stub ? { MC_HOST_stub: mcHost(stub.endpoint, SECRET, 'STUBKEY') } : {});

/** `node bin/s3mig.js ARGS` in `dir` (this process's environment inherited), killed when the test ends. */
const s3mig = (t: TestContext, dir: string, args: string[], env: Record<string, string> = {}, stub?: Stub) =>
  runS3mig(t, dir, args, { ...stubHost(stub), ...env });

type Event = { type: string; jobId?: string; [k: string]: unknown };

/** A job run with --json whose events are read as they come. */
function startJob(t: TestContext, dir: string, args: string[], stub: Stub) {
  const child = spawnS3mig(t, dir, args, stubHost(stub));
  const events: Event[] = [];
  const waiters: { match: (e: Event) => boolean; resolve: (e: Event) => void }[] = [];
  createInterface({ input: child.stdout! }).on('line', (line) => {
    const e = JSON.parse(line) as Event;
    events.push(e);
    for (const w of waiters.filter((w) => w.match(e))) {
      waiters.splice(waiters.indexOf(w), 1);
      w.resolve(e);
    }
  });
  const done = endOf(child);
  return {
    pid: child.pid!,
    events,
    done,
    /** The first event (seen or to come) that matches; fails if the job ends first. */
    until(match: (e: Event) => boolean): Promise<Event> {
      const seen = events.find(match);
      if (seen) return Promise.resolve(seen);
      return Promise.race([
        new Promise<Event>((resolve) => waiters.push({ match, resolve })),
        done.then((r) => Promise.reject(new Error(`the job ended (exit ${r.code}) before the awaited event: ${r.stderr}`))),
      ]);
    },
  };
}

/** A live job reconciling the stub's bucket with a one-line inventory, held in collecting-inventory after one 10,000-entry batch. */
async function heldJob(t: TestContext, dir: string, stub: Stub, stateDir = join(dir, 'state')) {
  await writeInventory(dir, 'dst.ndjson', [{ key: 'obj-000000', size: 5, etag: MD5_A }]);
  const job = startJob(t, dir, ['reconcile', 'stub/bkt', 'inventory:dst.ndjson', '--json', '--list-concurrency', '1', '--report-dir', 'rep', '--state-dir', stateDir], stub);
  const created = await job.until((e) => e.type === 'job:created');
  await job.until((e) => e.type === 'job:state' && e.state === 'collecting-inventory');
  // With one lister the estimate stores 101,000 entries (past the large-scale threshold), then the
  // inventory phase stores one batch of 10,000 and asks for the page at 111,000: the one held.
  await Promise.race([stub.held, job.done.then((r) => Promise.reject(new Error(`the job ended: ${r.stderr}`)))]);
  return { job, id: created.jobId!, jobDir: String(created.jobDir) };
}

const readRecord = async (jobDir: string) => JSON.parse(await readFile(join(jobDir, 'job.json'), 'utf8')) as Record<string, unknown>;
const exists = (path: string) => stat(path).then(() => true, () => false);
const TERMINAL = 'completed, completed-with-differences, failed, canceled';

// ---------------------------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------------------------

test('pause JOB: the running job stops at a batch boundary and is paused; meanwhile a second process and prune are refused; resume finishes it', async (t) => {
  const dir = await tempDir(t);
  const stub = await startStub(t, 112_000, 111_000);
  const { job, id, jobDir } = await heldJob(t, dir, stub);

  const sock = join(jobDir, 'control.sock');
  const st = await stat(sock);
  assert.ok(st.isSocket());
  assert.equal(st.mode & 0o777, 0o600, 'only the owner may connect');
  const status = await sendControl(jobDir, 'status');
  assert.equal(status.ok, true);
  assert.equal(status.jobId, id);
  assert.equal(status.pid, job.pid);
  assert.equal(status.state, 'collecting-inventory');
  assert.ok(!JSON.stringify(status).includes(SECRET) && !JSON.stringify(status).includes('STUBKEY'), 'no secrets in an answer');

  // Other processes at once: a second resume and a report are refused naming the pid that runs the job, prune by its state.
  const [second, report, pruneRunning] = await Promise.all([
    s3mig(t, dir, ['resume', id], {}, stub),
    s3mig(t, dir, ['report', id], {}, stub),
    s3mig(t, dir, ['prune', id]),
  ]);
  assert.equal(second.code, 2);
  assert.equal(second.stderr.trim(), `s3mig: job ${id} is held by another s3mig process (pid ${job.pid} answers on its control socket)`);
  assert.equal(report.code, 2);
  assert.equal(report.stderr.trim(), `s3mig: job ${id} is held by another s3mig process (pid ${job.pid} answers on its control socket)`);
  assert.equal(pruneRunning.code, 2);
  assert.equal(pruneRunning.stderr.trim(), `s3mig: job ${id} is collecting-inventory; only a finished job (${TERMINAL}) can be pruned`);
  assert.ok(await exists(sock), 'the refused processes left the running job its socket');

  const pause = await s3mig(t, dir, ['pause', id]);
  assert.equal(pause.code, 0, pause.stderr);
  assert.equal(pause.stdout, `job ${id}: pause requested (pid ${job.pid})`);
  const paused = await job.done;
  assert.equal(paused.code, 2);
  assert.equal(paused.stderr.trim(), `s3mig: job ${id} paused (paused by request from pid ${pause.pid}); continue with: s3mig resume ${id}`);
  const record = await readRecord(jobDir);
  assert.equal(record.state, 'paused');
  assert.equal(record.pausedIn, 'collecting-inventory');
  assert.equal(record.pauseReason, `paused by request from pid ${pause.pid}`);
  assert.ok(!(await exists(sock)), 'the socket is gone with its process');

  const [again, prunePaused] = await Promise.all([s3mig(t, dir, ['pause', id]), s3mig(t, dir, ['prune', id])]);
  assert.equal(again.code, 2);
  assert.equal(again.stderr.trim(), `s3mig: job ${id} is not running (no process answers on its control socket); its state is paused (continue it with: s3mig resume ${id})`);
  assert.equal(prunePaused.code, 2);
  assert.equal(prunePaused.stderr.trim(), `s3mig: job ${id} is paused and can still be resumed (s3mig resume ${id}); only a finished job (${TERMINAL}) can be pruned`);

  stub.release();
  const resumed = await s3mig(t, dir, ['resume', id, '--json'], {}, stub);
  assert.equal(resumed.code, 1, resumed.stderr);
  const events = resumed.stdout.trimEnd().split('\n').map((l) => JSON.parse(l) as Event);
  // The batch stored before the pause is kept: the listing continues after it.
  assert.ok(events.some((e) => e.type === 'log' && e.message === 'source: continuing 1 of 1 range(s) (111,000 entries stored)'), 'continued from the checkpoint');
  const summary = events.at(-1)!;
  assert.equal(summary.type, 'summary');
  assert.deepEqual({ source: (summary.counts as Record<string, number>).source, missing: (summary.counts as Record<string, number>).missing }, { source: 112_000, missing: 111_999 });
  assert.equal((await readRecord(jobDir)).state, 'completed-with-differences');
  assert.ok(!(await exists(sock)));
});

test('cancel JOB with a state directory too long for a socket path: the socket lives in the temp folder behind a pointer; the job ends canceled', async (t) => {
  const dir = await tempDir(t);
  const stub = await startStub(t, 112_000, 111_000);
  const stateDir = join(dir, 'a-state-directory-whose-path-is-longer-than-a-unix-socket-address-allows-'.padEnd(100, 'x'));
  await mkdir(stateDir);
  const { job, id, jobDir } = await heldJob(t, dir, stub, stateDir);
  assert.ok(Buffer.byteLength(join(jobDir, 'control.sock')) > 107);

  const pointer = join(jobDir, 'control.sock.path');
  const target = (await readFile(pointer, 'utf8')).trim();
  assert.equal(target, controlSocketPath(jobDir).path);
  assert.match(target, /\/s3mig-[0-9a-f]{16}\.sock$/);
  assert.equal(join(target, '..'), tmpdir());
  const st = await stat(target);
  assert.ok(st.isSocket());
  assert.equal(st.mode & 0o777, 0o600);
  assert.ok(!(await exists(join(jobDir, 'control.sock'))));

  const cancel = await s3mig(t, dir, ['cancel', id, '--state-dir', stateDir]);
  assert.equal(cancel.code, 0, cancel.stderr);
  assert.equal(cancel.stdout, `job ${id}: cancel requested (pid ${job.pid})`);
  const canceled = await job.done;
  assert.equal(canceled.code, 2);
  assert.equal(canceled.stderr.trim(), `s3mig: job ${id} canceled (canceled by request from pid ${cancel.pid}); its checkpoints are kept`);
  const record = await readRecord(jobDir);
  assert.equal(record.state, 'canceled');
  assert.deepEqual(record.error, { code: 'S3MIG_CANCELED', message: `canceled by request from pid ${cancel.pid}` });
  assert.ok(await exists(join(jobDir, 'db')), 'checkpoints kept');
  assert.ok(!(await exists(pointer)) && !(await exists(target)), 'socket and pointer removed');

  const notRunning = await s3mig(t, dir, ['cancel', id, '--state-dir', stateDir]);
  assert.equal(notRunning.code, 2);
  assert.equal(notRunning.stderr.trim(), `s3mig: job ${id} is not running (no process answers on its control socket); its state is canceled`);
});

/** Inventories of two sides with more than two 10,000-line batches each, some keys missing and different. */
async function inventories(dir: string): Promise<void> {
  const source: LineSpec[] = [];
  const dest: LineSpec[] = [];
  for (let i = 0; i < 25_000; i++) {
    const key = `k/${String(i).padStart(6, '0')}`;
    source.push({ key, size: i % 40, etag: MD5_A });
    if (i % 101 !== 0) dest.push({ key, size: i % 40, etag: i % 307 === 0 ? MD5_B : MD5_A });
  }
  await writeInventory(dir, 'src.ndjson', source);
  await writeInventory(dir, 'dst.ndjson', dest);
}

test('a control socket left by a killed job does not block resume; prune frees a finished job and report/resume then say so in one line', async (t) => {
  const dir = await tempDir(t);
  await inventories(dir);
  const unknown = await s3mig(t, dir, ['pause', 'no-such-job']);
  assert.equal(unknown.code, 2);
  assert.equal(unknown.stderr.trim(), `s3mig: no job no-such-job in ${join(dir, 'state')}`);

  const killed = await s3mig(t, dir, ['reconcile', 'inventory:src.ndjson', 'inventory:dst.ndjson', '--json', '--report-dir', 'rep'], { S3MIG_FAILPOINT: 'ingest:after-batch@2' });
  assert.equal(killed.signal, 'SIGKILL', killed.stderr);
  const id = jobIdOf(killed.stdout);
  const jobDir = join(dir, 'state', 'jobs', id);
  const sock = join(jobDir, 'control.sock');
  assert.ok((await stat(sock)).isSocket(), 'the killed process left its socket file');

  for (const r of await Promise.all(['pause', 'cancel'].map((action) => s3mig(t, dir, [action, id])))) {
    assert.equal(r.code, 2);
    assert.equal(r.stderr.trim(), `s3mig: job ${id} is not running (no process answers on its control socket); its state is collecting-inventory`);
  }
  const resumed = await s3mig(t, dir, ['resume', id]);
  assert.equal(resumed.code, 1, resumed.stderr);
  assert.ok(!(await exists(sock)), 'the resumed process replaced the stale socket and removed its own');

  const finished = await s3mig(t, dir, ['pause', id]);
  assert.equal(finished.code, 2);
  assert.equal(finished.stderr.trim(), `s3mig: job ${id} is not running (no process answers on its control socket); its state is completed-with-differences`);

  const reports = ['summary.json', 'differences.ndjson', 'differences.csv', 'fix.sh', 'fix-plan.ndjson'];
  const before = await Promise.all(reports.map((f) => readFile(join(dir, 'rep', f), 'utf8')));
  const pruned = await s3mig(t, dir, ['prune', id]);
  assert.equal(pruned.code, 0, pruned.stderr);
  assert.match(pruned.stdout, new RegExp(`^job ${id}: pruned \\(\\d+\\.\\d MB freed\\)$`));
  assert.ok(!(await exists(join(jobDir, 'db'))), 'db/ deleted');
  const record = await readRecord(jobDir);
  assert.equal(record.state, 'completed-with-differences');
  assert.match(String(record.prunedAt), /^\d{4}-\d\d-\d\dT/);
  assert.ok(await exists(join(jobDir, 'events.ndjson')));
  assert.deepEqual(await Promise.all(reports.map((f) => readFile(join(dir, 'rep', f), 'utf8'))), before, 'reports kept as they were');

  const twice = await s3mig(t, dir, ['prune', id]);
  assert.equal(twice.code, 0);
  assert.equal(twice.stdout, `job ${id}: already pruned at ${record.prunedAt}`);
  const gone = `s3mig: job ${id} was pruned at ${record.prunedAt}: its inventories are gone; its reports are in ${join(dir, 'rep')}`;
  const [report, resume, jobs] = await Promise.all([s3mig(t, dir, ['report', id]), s3mig(t, dir, ['resume', id]), s3mig(t, dir, ['jobs', '--json'])]);
  for (const r of [report, resume]) {
    assert.equal(r.code, 2);
    assert.equal(r.stderr.trim(), gone);
  }
  assert.equal((JSON.parse(jobs.stdout) as Event).id, id, 'still listed');
});

test('serveControl: one server per job, malformed requests answered with ok:false, stale sockets replaced, everything removed on close', async (t) => {
  const dir = await tempDir(t);
  const stateDir = join(dir, 'state');
  const jobDir = join(stateDir, 'jobs', 'job-1');
  await mkdir(jobDir, { recursive: true });
  await writeFile(join(jobDir, 'job.json'), JSON.stringify({ id: 'job-1', state: 'comparing' }));
  const asked: string[] = [];
  const server = await serveControl({
    jobDir,
    jobId: 'job-1',
    onPause: (reason) => asked.push(reason),
    onCancel: (reason) => asked.push(reason),
    status: () => ({ state: 'comparing', ok: false, pid: -1 }),
  });
  t.after(() => server.close());
  assert.equal(server.path, join(jobDir, 'control.sock'));

  const status = await sendControl(jobDir, 'status');
  assert.deepEqual(status, { state: 'comparing', ok: true, jobId: 'job-1', pid: process.pid, action: 'status' });
  assert.deepEqual(await sendControl(jobDir, 'pause'), { ok: true, jobId: 'job-1', pid: process.pid, action: 'pause' });
  await sendControl(jobDir, 'cancel');
  assert.deepEqual(asked, [`paused by request from pid ${process.pid}`, `canceled by request from pid ${process.pid}`]);

  // Raw lines: anything that is not a request gets an error answer, and the connection stays usable.
  const raw = execa('node', ['-e', `
    const s = require('node:net').createConnection(process.argv[1]);
    let got = '';
    s.setEncoding('utf8');
    s.on('data', (d) => { got += d; if (got.split('\\n').length > 4) { process.stdout.write(got); s.end(); } });
    s.write('not json\\n{"action":"resume","from":1}\\n{"action":"pause"}\\n[1]\\n');
  `, server.path], { cancelSignal: t.signal });
  const lines = String((await raw).stdout).trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
  assert.deepEqual(lines, [
    { ok: false, error: 'the request is not JSON' },
    { ok: false, error: 'unknown action "resume" (pause, cancel, status, fix or retry)' },
    { ok: false, error: '"from" must be the pid of the asking process' },
    { ok: false, error: 'the request is not a JSON object' },
  ]);
  assert.equal(asked.length, 2, 'no action taken for a malformed request');

  // A second server for the same job: the live one answers, so it is refused naming its pid.
  await assert.rejects(
    serveControl({ jobDir, jobId: 'job-1', onPause: () => undefined, onCancel: () => undefined }),
    (err) => isS3migError(err) && err.code === 'S3MIG_STATE_LOCKED' && err.message === `job job-1 is held by another s3mig process (pid ${process.pid} answers on its control socket)`,
  );
  await server.close();
  assert.ok(!(await exists(server.path)));
  await assert.rejects(
    sendControl(jobDir, 'pause'),
    (err) => isS3migError(err) && err.code === 'S3MIG_JOB_NOT_RUNNING' && err.message === 'job job-1 is not running (no process answers on its control socket); its state is comparing',
  );

  // A socket file nobody listens on (a crashed process) is replaced.
  const crashed = execa('node', ['-e', `require('node:net').createServer().listen(process.argv[1], () => process.kill(process.pid, 'SIGKILL'))`, server.path], { reject: false, cancelSignal: t.signal });
  assert.equal((await crashed).signal, 'SIGKILL');
  assert.ok((await stat(server.path)).isSocket(), 'a stale socket file is there');
  const successor = await serveControl({ jobDir, jobId: 'job-1', onPause: () => undefined, onCancel: () => undefined });
  assert.equal((await sendControl(jobDir, 'status')).pid, process.pid);
  await successor.close();
  assert.ok(!(await exists(successor.path)));
});
