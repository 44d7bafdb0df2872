// The terminal is given back in every way out of the dashboard, under a real pseudo-terminal: quit asks
// while a job of this process runs (no: it goes on; Ctrl-C then yes: it checkpoints as paused and can be
// resumed), and a crash restores the screen before printing its error.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MD5_A, tempDir, writeInventory } from '../helpers.ts';
import { mcHost } from '../live-harness.ts';
import { startStub } from '../stub-s3.ts';
import { startPty } from './pty.ts';

const BIN = fileURLToPath(new URL('../../bin/s3mig.js', import.meta.url));
/** Leaving the alternate screen and showing the cursor: what blessed sends when it restores the terminal. */
const LEAVE_ALT_SCREEN = '\x1b[?1049l';
const SHOW_CURSOR = '\x1b[?25h';

test('quit while the job runs asks first; no keeps it running; Ctrl-C and yes pause it at a checkpoint and restore the terminal', async (t) => {
  const dir = await tempDir(t);
  const stub = await startStub(t, 112_000, 111_000);
  t.after(() => stub.release());
  await writeInventory(dir, 'dst.ndjson', [{ key: 'obj-000000', size: 5, etag: MD5_A }]);
  const stateDir = join(dir, 'state');
  const s = startPty('node', [BIN, 'reconcile', 'stub/bkt', 'inventory:dst.ndjson', '--list-concurrency', '1', '--report-dir', 'rep', '--state-dir', stateDir], {
    cols: 100,
    rows: 30,
    cwd: dir,
    env: { MC_HOST_stub: mcHost(stub.endpoint, 'stub-secret', 'STUBKEY') },
  });
  t.after(() => s.close());
  // Held in its inventory phase: the stub holds the listing.
  await stub.held;
  const screen = await s.waitForScreen((x) => x.includes('collecting-inventory') && x.includes('Verdicts'), 'the dashboard of the running job');
  assert.ok(!screen.includes('stub-secret') && !s.raw().includes('stub-secret'), 'no secret on screen');
  const id = /\b\d{8}-\d{6}-[0-9a-f]{6}\b/.exec(screen)![0];

  s.press('q');
  await s.waitForScreen((x) => x.includes('Quit?') && x.includes('is running in this window'), 'the quit question');
  s.press('n');
  await s.waitForScreen((x) => !x.includes('Quit?'), 'the question closed');
  const record = JSON.parse(await readFile(join(stateDir, 'jobs', id, 'job.json'), 'utf8')) as { state: string };
  assert.equal(record.state, 'collecting-inventory', 'no: the job goes on');

  // Cancel asks too; no keeps it.
  s.press('c');
  await s.waitForScreen((x) => x.includes('Cancel the job?'), 'the cancel question');
  s.press('n');
  await s.waitForScreen((x) => !x.includes('Cancel the job?'), 'the cancel question closed');

  // p pauses at a checkpoint; p again resumes it in this process, from that checkpoint.
  s.press('p');
  await s.waitForScreen((x) => new RegExp(`${id}\\s+\\S*\\s*reconcile\\s+paused|${id}.*\\bpaused\\b`).test(x), 'the job paused');
  const paused = JSON.parse(await readFile(join(stateDir, 'jobs', id, 'job.json'), 'utf8')) as { state: string };
  assert.equal(paused.state, 'paused');
  s.press('p');
  await s.waitForScreen((x) => x.includes('resume started'), 'the job resumed');
  await s.waitForScreen((x) => new RegExp(`${id}.*collecting-inventory`).test(x), 'running again');

  s.press('C-c');
  await s.waitForScreen((x) => x.includes('Quit?'), 'the question again, for Ctrl-C');
  s.press('y');
  const code = await s.exited;
  assert.equal(code, 2, 'a paused job exits 2, as headless');
  const after = JSON.parse(await readFile(join(stateDir, 'jobs', id, 'job.json'), 'utf8')) as { state: string; pauseReason: string };
  assert.equal(after.state, 'paused');
  assert.match(after.pauseReason, /dashboard was closed/);
  const raw = s.raw();
  const restored = raw.lastIndexOf(LEAVE_ALT_SCREEN);
  assert.ok(restored > 0 && raw.lastIndexOf(SHOW_CURSOR) > 0, 'the terminal is restored');
  assert.match(raw.slice(restored), new RegExp(`s3mig: .*${id}.*paused`), 'the pause is reported after the terminal is restored');
});

test('a crash in the dashboard restores the terminal, then prints its error; exit 2', async (t) => {
  const dir = await tempDir(t);
  const s = startPty('node', [BIN, '--state-dir', join(dir, 'state')], { cols: 80, rows: 24, cwd: dir, env: { S3MIG_FAILPOINT: 'tui:render@2=throw' } });
  t.after(() => s.close());
  await s.waitForScreen((x) => x.includes('No jobs yet'), 'the jobs list');
  // A key makes the next frame, which the failpoint breaks.
  s.press('j');
  const code = await s.exited;
  assert.equal(code, 2);
  const raw = s.raw();
  const restored = raw.lastIndexOf(LEAVE_ALT_SCREEN);
  assert.ok(restored > 0, 'the terminal is restored');
  assert.match(raw.slice(restored), /s3mig: the dashboard crashed: failpoint tui:render/);
  assert.doesNotMatch(raw, /\n\s+at /, 'no stack trace');
});
