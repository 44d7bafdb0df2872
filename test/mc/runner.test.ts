// Tests for the mc runner against the replay fixture test/fixtures/mc-replay standing in for mc.
import { test } from 'node:test';
import type { TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runMc, mcVersion, checkMcVersion, parseMcRelease, clearMcVersionCache, STDERR_TAIL_BYTES, LineSplitter } from '../../src/mc/runner.ts';
import type { McMessage, McTextLine } from '../../src/mc/messages.ts';
import { S3migError } from '../../src/core/errors.ts';
import { replayScenario, type Scenario } from './replay.ts';

const FIXTURE = fileURLToPath(new URL('../fixtures/mc-replay', import.meta.url));

const LS_A = '{"status":"success","type":"file","lastModified":"2025-03-04T10:15:30.512Z","size":1048576,"key":"2025/a.jpg","etag":"9b2cf535f27731c974343645a3985328","url":"https://s3.example.net/media/photos/","versionOrdinal":1,"storageClass":"STANDARD"}';
const COPY = '{"status":"success","source":"src/media/a.jpg","target":"dst/bk/a.jpg","size":1048576,"totalCount":17,"totalSize":52428800,"eventTime":"","eventType":""}';
const SUMMARY = '{"status":"success","total":52428800,"transferred":52428800,"duration":8123456789,"speed":6454110.2}';
const ERROR_LINE = '{"status":"error","error":{"message":"Failed to copy `https://s3.example.net/media/a.jpg`.","cause":{"message":"Access Denied.","error":{"Code":"AccessDenied"}},"type":"error"}}';
const FATAL_LINE = '{"status":"error","error":{"message":"Unable to list.","cause":{"message":"boom","error":{}},"type":"fatal"}}';

/** A scenario file and a record path; after the test, the child (if it recorded its pid) is made sure dead. */
const setup = (t: TestContext, sc: Scenario) => replayScenario(t, sc);

function collect(): { messages: (McMessage | McTextLine)[]; onMessage: (m: McMessage | McTextLine) => void } {
  const messages: (McMessage | McTextLine)[] = [];
  return { messages, onMessage: (m) => messages.push(m) };
}

test('argv arrives intact as an array (no shell), with --json --no-color, TZ=UTC and MC_HOST_ names only', async (t) => {
  const { env, record } = await setup(t, { stdout: [LS_A], exit: 0 });
  const key = `a/media/my key "q" 'x' $(touch /tmp/pwned) \`id\` ; | & *`;
  const secret = 'https://AKID:SECRETVALUE123@s3.example.net';
  const r = await runMc(['ls', '-r', key], { mcPath: FIXTURE, env: { ...env, MC_HOST_src: secret, TZ: 'Europe/Paris' } });
  const rec = await record();
  assert.deepEqual(rec.argv, ['--json', '--no-color', 'ls', '-r', key]);
  assert.equal(rec.tz, 'UTC');
  assert.deepEqual(rec.mcHostKeys, ['MC_HOST_src']);
  assert.equal(r.ok, true);
  assert.equal(r.exitCode, 0);
  assert.doesNotMatch(JSON.stringify(r), /SECRETVALUE123/);
});

test('mc found on PATH through a symlink named mc', async (t) => {
  const { env, dir, record } = await setup(t, { stdout: [LS_A] });
  await symlink(FIXTURE, join(dir, 'mc'));
  const { messages, onMessage } = collect();
  const r = await runMc(['ls', 'a/b'], { env: { ...env, PATH: `${dir}:${process.env.PATH ?? ''}` }, onMessage });
  assert.equal(r.ok, true);
  assert.equal(messages[0]?.type, 'ls');
  assert.equal((await record()).argv[0], '--json');
});

test('messages stream in order, as they arrive, and are counted', async (t) => {
  const lines = [COPY, COPY.replace('a.jpg', 'b.jpg').replace('a.jpg', 'b.jpg'), SUMMARY];
  const { env } = await setup(t, { stdout: lines, hang: true });
  const ac = new AbortController();
  const seen: string[] = [];
  // The child hangs after its lines: receiving all three before exit proves streaming; then we cancel.
  const r = await runMc(['mirror', 'src/media', 'dst/bk'], {
    mcPath: FIXTURE,
    env,
    signal: ac.signal,
    onMessage: (m) => {
      seen.push(m.type === 'mirror' ? m.target : m.type);
      if (m.type === 'summary') ac.abort();
    },
  });
  assert.deepEqual(seen, ['dst/bk/a.jpg', 'dst/bk/b.jpg', 'summary']);
  assert.equal(r.lineCount, 3);
  assert.deepEqual(r.counts, { mirror: 2, summary: 1 });
  assert.equal(r.sawSummary, true);
  assert.equal(r.interrupted, true);
  assert.equal(r.ok, false, 'an interrupted run is not ok even with a summary');
});

test('lines split across chunks (inside multi-byte characters), \\r\\n, and a last line without newline', async (t) => {
  const uni = LS_A.replace('2025/a.jpg', 'é/ü/😀 ключ.jpg');
  const { env } = await setup(t, { stdout: [uni, 'plain text', LS_A, SUMMARY], chunkSplit: true, crlf: true, noFinalNewline: true });
  const { messages, onMessage } = collect();
  const r = await runMc(['ls', '-r', 'a/media/photos'], { mcPath: FIXTURE, env, onMessage, expectSummary: true });
  assert.equal(messages.length, 4);
  assert.equal(messages[0]?.type === 'ls' && messages[0].key, 'é/ü/😀 ключ.jpg');
  assert.deepEqual(messages[1], { type: 'text', line: 'plain text' });
  assert.equal(messages[2]?.type === 'ls' && messages[2].key, '2025/a.jpg');
  assert.equal(messages[3]?.type, 'summary');
  assert.equal(r.ok, true);
});

test('LineSplitter: arbitrary chunk boundaries give the same lines', () => {
  const text = 'one\r\ntwo\n\nthree\r\nfour';
  for (let size = 1; size <= text.length; size++) {
    const got: string[] = [];
    const s = new LineSplitter((l) => got.push(l));
    for (let i = 0; i < text.length; i += size) s.push(text.slice(i, i + size));
    s.end();
    assert.deepEqual(got, ['one', 'two', '', 'three', 'four'], `chunk size ${size}`);
  }
});

test('help text on stdout becomes text lines; exit 1 is a failure', async (t) => {
  const { env } = await setup(t, { stdout: ['NAME:', '  mc mirror - synchronize object(s)', '', 'USAGE:'], exit: 1 });
  const { messages, onMessage } = collect();
  const r = await runMc(['mirror'], { mcPath: FIXTURE, env, onMessage });
  assert.deepEqual(messages.map((m) => m.type), ['text', 'text', 'text', 'text']);
  assert.equal(r.exitCode, 1);
  assert.equal(r.ok, false);
  assert.equal(r.interrupted, false);
});

test('an error object makes ok false even with exit 0', async (t) => {
  const { env } = await setup(t, { stdout: [COPY, ERROR_LINE, SUMMARY], exit: 0 });
  const r = await runMc(['mirror', 'src/media', 'dst/bk'], { mcPath: FIXTURE, env, expectSummary: true });
  assert.equal(r.exitCode, 0);
  assert.equal(r.sawSummary, true);
  assert.equal(r.errorCount, 1);
  assert.equal(r.errors[0]?.causeMessage, 'Access Denied.');
  assert.equal(r.ok, false);
});

test('exit 1 after errors; errors kept bounded with a full count', async (t) => {
  const { env } = await setup(t, { stdout: [...Array.from({ length: 150 }, () => ERROR_LINE), FATAL_LINE], exit: 1 });
  const r = await runMc(['cp', '-r', 'a', 'b'], { mcPath: FIXTURE, env });
  assert.equal(r.exitCode, 1);
  assert.equal(r.errorCount, 151);
  assert.equal(r.errors.length, 100);
  assert.equal(r.ok, false);
});

test('a missing summary fails only with expectSummary', async (t) => {
  const { env } = await setup(t, { stdout: [COPY], exit: 0 });
  const without = await runMc(['cp', 'a', 'b'], { mcPath: FIXTURE, env });
  assert.equal(without.ok, true);
  assert.equal(without.sawSummary, false);
  const withExpect = await runMc(['cp', 'a', 'b'], { mcPath: FIXTURE, env, expectSummary: true });
  assert.equal(withExpect.exitCode, 0);
  assert.equal(withExpect.ok, false);
});

test('a hang is cancelled by abort: SIGTERM, exit 143, interrupted', async (t) => {
  const { env } = await setup(t, { stdout: [COPY], hang: true });
  const ac = new AbortController();
  const started = Date.now();
  const r = await runMc(['mirror', '--watch', 'a', 'b'], {
    mcPath: FIXTURE, env, signal: ac.signal, graceMs: 10_000,
    onMessage: () => ac.abort(),
  });
  assert.equal(r.exitCode, 143);
  assert.equal(r.interrupted, true);
  assert.equal(r.ok, false);
  assert.ok(Date.now() - started < 5000, 'ended by SIGTERM, not by the SIGKILL grace');
});

test('a child ignoring SIGTERM is killed with SIGKILL after graceMs', async (t) => {
  const { env, record } = await setup(t, { stdout: [COPY], ignoreSigterm: true });
  const ac = new AbortController();
  let abortedAt = 0;
  const r = await runMc(['mirror', 'a', 'b'], {
    mcPath: FIXTURE, env, signal: ac.signal, graceMs: 200,
    onMessage: () => { abortedAt = Date.now(); ac.abort(); },
  });
  const elapsed = Date.now() - abortedAt;
  assert.equal(r.signal, 'SIGKILL');
  assert.equal(r.interrupted, true);
  assert.equal(r.ok, false);
  assert.ok(elapsed >= 150, `waited the grace period (${elapsed} ms)`);
  const { pid } = await record();
  assert.throws(() => process.kill(pid, 0), 'the child is gone when the promise settles');
});

test('an already-aborted signal still waits for the child to exit', async (t) => {
  const { env } = await setup(t, { stdout: [COPY], hang: true });
  const r = await runMc(['mirror', 'a', 'b'], { mcPath: FIXTURE, env, signal: AbortSignal.abort(), graceMs: 200 });
  assert.equal(r.interrupted, true);
  assert.equal(r.ok, false);
});

test('a crash (Go panic, exit 2) and a death by signal', async (t) => {
  const { env } = await setup(t, { stdout: [COPY], crash: true });
  const r = await runMc(['mirror', 'a', 'b'], { mcPath: FIXTURE, env });
  assert.equal(r.exitCode, 2);
  assert.equal(r.ok, false);
  assert.equal(r.interrupted, false);
  assert.match(r.stderrTail, /^panic: runtime error/);

  const killed = await setup(t, { stdout: [COPY], crash: 'signal' });
  const k = await runMc(['mirror', 'a', 'b'], { mcPath: FIXTURE, env: killed.env });
  assert.equal(k.signal, 'SIGKILL');
  assert.equal(k.interrupted, false, 'not our abort');
  assert.equal(k.ok, false);
});

test('stderr is kept bounded to its last 16 KiB', async (t) => {
  const lines = Array.from({ length: 100 }, (_, i) => `line ${String(i).padStart(3, '0')} ${'x'.repeat(1000)}`);
  const { env } = await setup(t, { stderr: lines, exit: 1 });
  const r = await runMc(['ls'], { mcPath: FIXTURE, env });
  assert.equal(Buffer.byteLength(r.stderrTail), STDERR_TAIL_BYTES);
  assert.match(r.stderrTail, /line 099 x+\n$/);
  assert.doesNotMatch(r.stderrTail, /line 000/);
});

test('a missing mc binary is an S3migError naming the path', async () => {
  await assert.rejects(runMc(['ls'], { mcPath: '/nonexistent/mc' }), (err: unknown) => {
    assert.ok(err instanceof S3migError);
    assert.equal(err.code, 'S3MIG_TARGET_UNSUPPORTED');
    assert.match(err.message, /\/nonexistent\/mc: ENOENT/);
    return true;
  });
});

test('mc --version is parsed and cached per path', async (t) => {
  clearMcVersionCache();
  const { env, dir } = await setup(t, { version: 'RELEASE.2024-10-02T17-50-41Z' });
  // mcVersion takes only a path: a wrapper script carries the scenario.
  const wrapper = join(dir, 'mc-wrapped');
  await writeFile(wrapper, `#!/bin/sh\necho run >> '${join(dir, 'calls')}'\nMC_REPLAY_SCENARIO='${env.MC_REPLAY_SCENARIO}' exec '${FIXTURE}' "$@"\n`, { mode: 0o755 });
  const v = await mcVersion(wrapper);
  assert.equal(v.release, 'RELEASE.2024-10-02T17-50-41Z');
  assert.equal(v.date.toISOString(), '2024-10-02T17:50:41.000Z');
  await mcVersion(wrapper);
  assert.equal((await readFile(join(dir, 'calls'), 'utf8')).trim().split('\n').length, 1, 'ran once');
  assert.equal(checkMcVersion(v.release).release, v.release);
});

test('checkMcVersion refuses releases older than RELEASE.2024-08-13, naming both', () => {
  assert.throws(() => checkMcVersion('mc version RELEASE.2024-07-31T15-58-33Z (commit-id=abc)'), (err: unknown) => {
    assert.ok(err instanceof S3migError);
    assert.equal(err.code, 'S3MIG_TARGET_UNSUPPORTED');
    assert.match(err.message, /RELEASE\.2024-07-31T15-58-33Z/);
    assert.match(err.message, /RELEASE\.2024-08-13/);
    assert.doesNotMatch(err.message, /\n/);
    return true;
  });
  assert.equal(checkMcVersion('RELEASE.2024-08-13T05-33-17Z').release, 'RELEASE.2024-08-13T05-33-17Z');
  assert.equal(checkMcVersion('RELEASE.2025-08-13T08-35-41Z').date.getUTCFullYear(), 2025);
  assert.throws(() => checkMcVersion('mc version DEVELOPMENT.GOGET'), /RELEASE\.2024-08-13/);
  assert.equal(parseMcRelease('no tag here'), undefined);
});

const OVERWRITE_LINE = '{"status":"error","error":{"message":"Failed to perform mirroring, with error condition (size)","cause":{"message":"Overwrite not allowed for `https://s3.example.net/bk/a.jpg`. Use `--overwrite` to override this behavior.","error":{}},"type":"error"}}';
const isOverwrite = (e: { message: string; causeMessage?: string }): boolean => /Overwrite not allowed/.test(e.causeMessage ?? '');

test('isExpectedError: accepted error objects are delivered and counted apart, and leave ok alone', async (t) => {
  const { env } = await setup(t, { stdout: [COPY, OVERWRITE_LINE, SUMMARY], exit: 0 });
  const { messages, onMessage } = collect();
  const r = await runMc(['mirror', 'src/media', 'dst/bk'], { mcPath: FIXTURE, env, onMessage, expectSummary: true, isExpectedError: isOverwrite });
  assert.equal(r.ok, true);
  assert.equal(r.errorCount, 0);
  assert.deepEqual(r.errors, []);
  assert.equal(r.expectedErrors, 1);
  assert.equal(r.expectedErrorSamples[0]?.message, 'Failed to perform mirroring, with error condition (size)');
  assert.deepEqual(messages.map((m) => m.type), ['mirror', 'error', 'summary'], 'still delivered to onMessage');
  assert.equal(r.counts.error, 1, 'counts stay per message type');
});

test('isExpectedError: other error objects still fail the run; without the option nothing is expected', async (t) => {
  const { env } = await setup(t, { stdout: [OVERWRITE_LINE, ERROR_LINE, SUMMARY], exit: 0 });
  const r = await runMc(['mirror', 'a', 'b'], { mcPath: FIXTURE, env, expectSummary: true, isExpectedError: isOverwrite });
  assert.equal(r.ok, false);
  assert.equal(r.errorCount, 1);
  assert.equal(r.errors[0]?.causeMessage, 'Access Denied.');
  assert.equal(r.expectedErrors, 1);

  const plain = await setup(t, { stdout: [OVERWRITE_LINE, SUMMARY], exit: 0 });
  const p = await runMc(['mirror', 'a', 'b'], { mcPath: FIXTURE, env: plain.env, expectSummary: true });
  assert.equal(p.ok, false);
  assert.equal(p.errorCount, 1);
  assert.equal(p.expectedErrors, 0);
  assert.deepEqual(p.expectedErrorSamples, []);
});

test('isExpectedError: samples are bounded, the count is not; a non-zero exit still fails', async (t) => {
  const { env } = await setup(t, { stdout: [...Array.from({ length: 150 }, () => OVERWRITE_LINE), SUMMARY], exit: 1 });
  const r = await runMc(['mirror', 'a', 'b'], { mcPath: FIXTURE, env, expectSummary: true, isExpectedError: isOverwrite });
  assert.equal(r.expectedErrors, 150);
  assert.equal(r.expectedErrorSamples.length, 100);
  assert.equal(r.errorCount, 0);
  assert.equal(r.ok, false, 'exit 1');
});

test('isExpectedError: a throwing predicate rejects the run once mc has exited', async (t) => {
  const { env } = await setup(t, { stdout: [OVERWRITE_LINE, SUMMARY], exit: 0 });
  await assert.rejects(
    runMc(['mirror', 'a', 'b'], { mcPath: FIXTURE, env, isExpectedError: () => { throw new Error('predicate broke'); } }),
    /predicate broke/,
  );
});
