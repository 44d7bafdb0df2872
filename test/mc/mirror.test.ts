// Tests for src/mc/mirror.ts: argv building and validation, key attribution, and runs against the replay fixture test/fixtures/mc-replay.
import { test } from 'node:test';
import type { TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { access, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  mirrorArgs,
  planMirrorArgs,
  runMirror,
  isOverwriteNotAllowed,
  isMcTimeFilter,
  toMirrorKeyError,
  describeDroppedFlag,
} from '../../src/mc/mirror.ts';
import type { MirrorDroppedFlag, MirrorFlags, MirrorKeyError, MirrorProgress } from '../../src/mc/mirror.ts';
import { keyOfMcUrl, type McUrlBase } from '../../src/mc/urls.ts';
import { clearMcVersionCache, parseMcRelease } from '../../src/mc/runner.ts';
import type { McErrorMessage } from '../../src/mc/messages.ts';
import { S3migError } from '../../src/core/errors.ts';
import { formatRate, parseRate } from '../../src/core/rate-limit.ts';
import { replayScenario, type Scenario } from './replay.ts';

const FIXTURE = fileURLToPath(new URL('../fixtures/mc-replay', import.meta.url));

const R_OLD = parseMcRelease('RELEASE.2024-10-02T17-50-41Z')!;
const R_EDGE = parseMcRelease('RELEASE.2025-07-16T00-00-00Z')!;
const R_NEW = parseMcRelease('RELEASE.2025-08-13T08-35-41Z')!;

const SRC_BASE: McUrlBase = { endpoint: 'https://src.example.net', bucket: 'media', prefix: 'photos' };
const DST_BASE: McUrlBase = { endpoint: 'https://dst.example.net', bucket: 'bk', prefix: 'photos/' };

const copyLine = (key: string, size: number, totalCount: number, totalSize: number): string =>
  JSON.stringify({ status: 'success', source: `src/media/photos/${key}`, target: `dst/bk/photos/${key}`, size, totalCount, totalSize, eventTime: '', eventType: '' });
const errorLine = (message: string, cause: string, type = 'error'): string =>
  JSON.stringify({ status: 'error', error: { message, cause: { message: cause, error: {} }, type } });
const RETRY = '{"sourceURL":"https://src.example.net/media/photos/2025/a.jpg","targetURL":"https://dst.example.net/bk/photos/2025/a.jpg","retries":1}';
const SUMMARY = '{"status":"success","total":3072,"transferred":3072,"duration":8123456789,"speed":6454110.2}';
const OVERWRITE = errorLine(
  'Failed to perform mirroring, with error condition (size)',
  'Overwrite not allowed for `https://dst.example.net/bk/photos/2025/b b.jpg`. Use `--overwrite` to override this behavior.',
);
const COPY_FAILED = errorLine('Failed to copy `https://src.example.net/media/photos/2025/c`d.jpg`.', 'Access Denied.');
const LIST_STOPPED = errorLine('Unable to list comparison retrying..', 'Get "https://src.example.net/media/?list-type=2": dial tcp 10.0.0.1:443: connect: connection refused');

/** A scenario file and a record path; after the test, the child (if it recorded its pid) is made sure dead. */
async function setup(t: TestContext, sc: Scenario) {
  const r = await replayScenario(t, sc, 's3mig-mirror-');
  return { ...r, argv: async () => (await r.record()).argv };
}

/** mcVersion takes only a path: a wrapper script that carries the scenario (and so its `version`). */
async function versionedMc(dir: string, scenarioPath: string): Promise<string> {
  const wrapper = join(dir, 'mc-wrapped');
  await writeFile(wrapper, `#!/bin/sh\nMC_REPLAY_SCENARIO='${scenarioPath}' exec '${FIXTURE}' "$@"\n`, { mode: 0o755 });
  return wrapper;
}

const exists = (p: string): Promise<boolean> => access(p).then(() => true, () => false);

function assertConfigInvalid(fn: () => unknown, flag: RegExp, value?: string): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof S3migError, String(err));
    assert.equal(err.code, 'S3MIG_CONFIG_INVALID');
    assert.match(err.message, flag);
    if (value !== undefined) assert.ok(err.message.includes(value), `${err.message} names ${value}`);
    assert.doesNotMatch(err.message, /\n/);
    return true;
  });
}

// ---- argv ----

test('mirrorArgs: each flag, in order, with the global --limit-upload before the command', () => {
  const cases: [MirrorFlags, string[]][] = [
    [{}, ['mirror', 's/b/p', 'd/b/p']],
    [{ overwrite: true }, ['mirror', '--overwrite', 's/b/p', 'd/b/p']],
    [{ remove: true }, ['mirror', '--remove', 's/b/p', 'd/b/p']],
    [{ exclude: ['*.tmp', '-odd*'] }, ['mirror', '--exclude=*.tmp', '--exclude=-odd*', 's/b/p', 'd/b/p']],
    [{ newerThan: '7d10h' }, ['mirror', '--newer-than', '7d10h', 's/b/p', 'd/b/p']],
    [{ olderThan: '2024.02.29T10:30' }, ['mirror', '--older-than', '2024.02.29T10:30', 's/b/p', 'd/b/p']],
    [{ limitUpload: '10MiB' }, ['--limit-upload', '10MiB', 'mirror', 's/b/p', 'd/b/p']],
    [{ skipErrors: true }, ['mirror', '--skip-errors', 's/b/p', 'd/b/p']],
    [{ retry: true }, ['mirror', '--retry', 's/b/p', 'd/b/p']],
    [{ preserve: true }, ['mirror', '--preserve', 's/b/p', 'd/b/p']],
    [{ storageClass: 'STANDARD_IA' }, ['mirror', '--storage-class', 'STANDARD_IA', 's/b/p', 'd/b/p']],
    [{ maxWorkers: 16 }, ['mirror', '--max-workers', '16', 's/b/p', 'd/b/p']],
    [{ summaryOnly: true }, ['mirror', '--summary', 's/b/p', 'd/b/p']],
    [{ overwrite: false, remove: false, retry: false, exclude: [] }, ['mirror', 's/b/p', 'd/b/p']],
    [
      { overwrite: true, remove: true, exclude: ['a*'], newerThan: '1h', olderThan: '2024-02-29T10:30:05Z', limitUpload: '512KiB', skipErrors: true, retry: true, preserve: true, storageClass: 'GLACIER_IR', maxWorkers: 4, summaryOnly: true },
      ['--limit-upload', '512KiB', 'mirror', '--overwrite', '--remove', '--exclude=a*', '--newer-than', '1h', '--older-than', '2024-02-29T10:30:05Z', '--storage-class', 'GLACIER_IR', '--preserve', '--retry', '--skip-errors', '--summary', '--max-workers', '4', 's/b/p', 'd/b/p'],
    ],
  ];
  for (const [flags, want] of cases) {
    assert.deepEqual(mirrorArgs('s/b/p', 'd/b/p', flags, R_NEW), want, JSON.stringify(flags));
    assert.ok(!want.includes('--dry-run') && !want.includes('--watch'));
  }
});

test('mirrorArgs: --max-workers kept from RELEASE.2025-07-16, dropped with a note on RELEASE.2024-10-02', () => {
  assert.deepEqual(mirrorArgs('s/b', 'd/b', { maxWorkers: 8 }, R_EDGE), ['mirror', '--max-workers', '8', 's/b', 'd/b']);
  assert.deepEqual(planMirrorArgs('s/b', 'd/b', { maxWorkers: 8 }, R_NEW).dropped, []);

  const dropped: MirrorDroppedFlag[] = [];
  const args = mirrorArgs('s/b', 'd/b', { maxWorkers: 8, retry: true }, R_OLD, (d) => dropped.push(d));
  assert.deepEqual(args, ['mirror', '--retry', 's/b', 'd/b']);
  assert.deepEqual(dropped, [{ flag: '--max-workers', value: '8', reason: 'needs mc RELEASE.2025-07-16 or newer; installed RELEASE.2024-10-02T17-50-41Z' }]);
  assert.equal(describeDroppedFlag(dropped[0]!), '--max-workers 8 dropped: needs mc RELEASE.2025-07-16 or newer; installed RELEASE.2024-10-02T17-50-41Z');
  assert.deepEqual(planMirrorArgs('s/b', 'd/b', { maxWorkers: 8 }, R_OLD).dropped.map((d) => d.flag), ['--max-workers']);
  assert.deepEqual(planMirrorArgs('s/b', 'd/b', {}, R_OLD).dropped, [], 'nothing dropped when not asked');
});

test('mirrorArgs: refuses sources/targets that would read as flags, and bad values, naming flag and value', () => {
  assertConfigInvalid(() => mirrorArgs('-x', 'd/b', {}, R_NEW), /source/, '-x');
  assertConfigInvalid(() => mirrorArgs('s/b', '--remove', {}, R_NEW), /target/, '--remove');
  assertConfigInvalid(() => mirrorArgs('', 'd/b', {}, R_NEW), /source is empty/);
  assertConfigInvalid(() => mirrorArgs('s/b', 'd/b', { storageClass: 'standard' }, R_NEW), /--storage-class/, 'standard');
  assertConfigInvalid(() => mirrorArgs('s/b', 'd/b', { storageClass: 'STANDARD-IA' }, R_NEW), /--storage-class/, 'STANDARD-IA');
  assertConfigInvalid(() => mirrorArgs('s/b', 'd/b', { storageClass: '' }, R_NEW), /--storage-class/);
  for (const bad of ['7 days', '7x', '', 'd7', '7d-1h', '-7d', '2024.13.01', '2024.02.30', '2024.02.29T25:00', '2024-02-29', '2024-02-30T00:00:00Z', '2024-02-29T10:30:05']) {
    assertConfigInvalid(() => mirrorArgs('s/b', 'd/b', { newerThan: bad }, R_NEW), /--newer-than/, JSON.stringify(bad));
    assertConfigInvalid(() => mirrorArgs('s/b', 'd/b', { olderThan: bad }, R_NEW), /--older-than/, JSON.stringify(bad));
  }
  for (const bad of ['fast', '10 MiB', '-1MiB', '0MiB', '0', '10MiBs', '']) {
    assertConfigInvalid(() => mirrorArgs('s/b', 'd/b', { limitUpload: bad }, R_NEW), /--limit-upload/, JSON.stringify(bad));
  }
  assertConfigInvalid(() => mirrorArgs('s/b', 'd/b', { exclude: ['*.tmp', ''] }, R_NEW), /--exclude/);
  for (const bad of [0, -1, 1.5, Number.NaN]) {
    assertConfigInvalid(() => mirrorArgs('s/b', 'd/b', { maxWorkers: bad }, R_NEW), /--max-workers/);
  }
  // Validated even on a release where it would be dropped.
  assertConfigInvalid(() => mirrorArgs('s/b', 'd/b', { maxWorkers: 0 }, R_OLD), /--max-workers/, '0');
});

test('isMcTimeFilter accepts mc durations and dates', () => {
  for (const ok of ['7d10h', '7d10h31s', '30m', '1.5h', '500ms', '2w', '1y', '90s', '2024.02.29', '2024.02.29T10:30', '2024.02.29T10:30:05', '2024-02-29T10:30:05Z', '2024-02-29T10:30:05.123+02:00']) {
    assert.equal(isMcTimeFilter(ok), true, ok);
  }
  for (const bad of ['7', '7D', 'h', '2024.2.29', '2024-02-29T10:30:05+25:00']) assert.equal(isMcTimeFilter(bad), false, bad);
});

test('mirrorArgs accepts humanize byte rates', () => {
  for (const v of ['10MiB', '512KiB', '1GB', '1.5GiB', '100', '64k', '2mib']) {
    assert.deepEqual(mirrorArgs('s/b', 'd/b', { limitUpload: v }, R_NEW).slice(0, 3), ['--limit-upload', v, 'mirror']);
  }
});

test("a job's --limit-upload reaches mirror as formatRate writes it: a form mirror accepts, the same bytes per second", () => {
  for (const text of ['1', '1000', '512KiB', '10MiB', '10MiB/s', '10MB', '1.5GiB', '3TiB', '64k']) {
    const value = formatRate(parseRate(text));
    assert.deepEqual(mirrorArgs('s/b', 'd/b', { limitUpload: value }, R_NEW).slice(0, 3), ['--limit-upload', value, 'mirror'], text);
    assert.equal(parseRate(value), parseRate(text), `${text} → ${value}`);
  }
  assert.equal(formatRate(parseRate('10MiB')), '10MiB');
  assert.equal(formatRate(parseRate('10MB')), '10000000B', '10MB is not 10MiB');
});

// ---- attribution ----

test('keyOfMcUrl strips endpoint/bucket/prefix, raw (no percent-decoding), and refuses URLs outside the base', () => {
  assert.equal(keyOfMcUrl('https://src.example.net/media/photos/2025/a.jpg', SRC_BASE), '2025/a.jpg');
  assert.equal(keyOfMcUrl('https://src.example.net/media/photos/é/ü 😀 ключ.jpg', SRC_BASE), 'é/ü 😀 ключ.jpg');
  assert.equal(keyOfMcUrl('https://src.example.net/media/photos/a%20b.jpg', SRC_BASE), 'a%20b.jpg', 'mc prints keys raw: a % is part of the key');
  assert.equal(keyOfMcUrl('https://SRC.example.net:443/media/photos/a.jpg', SRC_BASE), 'a.jpg', 'host case and default port');
  assert.equal(keyOfMcUrl('https://src.example.net/media/photos/a.jpg', { ...SRC_BASE, endpoint: 'https://src.example.net/' }), 'a.jpg');
  assert.equal(keyOfMcUrl('https://src.example.net/media/photosX/a.jpg', SRC_BASE), undefined, 'prefix is a folder');
  assert.equal(keyOfMcUrl('https://src.example.net/media/photos/', SRC_BASE), undefined, 'the base itself');
  assert.equal(keyOfMcUrl('https://src.example.net/other/photos/a.jpg', SRC_BASE), undefined, 'other bucket');
  assert.equal(keyOfMcUrl('https://dst.example.net/media/photos/a.jpg', SRC_BASE), undefined, 'other host');
  assert.equal(keyOfMcUrl('http://src.example.net/media/photos/a.jpg', SRC_BASE), undefined, 'other scheme');
  assert.equal(keyOfMcUrl('https://src.example.net:9000/media/photos/a.jpg', SRC_BASE), undefined, 'other port');
  assert.equal(keyOfMcUrl('/srv/data/a.jpg', SRC_BASE), undefined, 'a local path');
  assert.equal(keyOfMcUrl('https://src.example.net/media/photos/a.jpg', { ...SRC_BASE, prefix: '' }), 'photos/a.jpg', 'whole bucket');
  assert.equal(keyOfMcUrl('http://127.0.0.1:9000/media/x/y', { endpoint: 'http://127.0.0.1:9000', bucket: 'media', prefix: '/x/' }), 'y');
  const aws = { endpoint: 'https://s3.eu-west-1.amazonaws.com', bucket: 'media', prefix: 'photos/' };
  assert.equal(keyOfMcUrl('https://media.s3.eu-west-1.amazonaws.com/photos/a.jpg', aws), 'a.jpg', 'virtual-host style: the bucket in the host name');
  assert.equal(keyOfMcUrl('https://s3.eu-west-1.amazonaws.com/media/photos/a.jpg', aws), 'a.jpg', 'path style on the same endpoint');
  assert.equal(keyOfMcUrl('https://other.s3.eu-west-1.amazonaws.com/photos/a.jpg', aws), undefined, 'another bucket in the host name');
});

test('isOverwriteNotAllowed and toMirrorKeyError classify mc error objects', () => {
  const err = (message: string, causeMessage?: string): McErrorMessage => ({ type: 'error', severity: 'error', message, ...(causeMessage ? { causeMessage } : {}) });
  const ow = err('Failed to perform mirroring, with error condition (mm-source-mtime)', 'Overwrite not allowed for `https://dst.example.net/bk/photos/x.jpg`. Use `--overwrite` to override this behavior.');
  assert.equal(isOverwriteNotAllowed(ow), true);
  assert.equal(isOverwriteNotAllowed(err('Failed to perform mirroring, with error condition (type)', 'Invalid target `x`.')), false);
  assert.equal(isOverwriteNotAllowed(err('Failed to copy `https://h/b/k`.', 'Overwrite not allowed for `x`')), false);
  assert.equal(isOverwriteNotAllowed(err('Failed to perform mirroring')), false);

  assert.deepEqual(toMirrorKeyError(ow, SRC_BASE, DST_BASE), {
    kind: 'overwrite-not-allowed', key: 'x.jpg', url: 'https://dst.example.net/bk/photos/x.jpg', message: ow.message, cause: ow.causeMessage,
  });
  const cf = err('Failed to copy `https://src.example.net/media/photos/we`ird.jpg`.', 'Access Denied.');
  assert.deepEqual(toMirrorKeyError(cf, SRC_BASE, DST_BASE), {
    kind: 'copy-failed', key: 'we`ird.jpg', url: 'https://src.example.net/media/photos/we`ird.jpg', message: cf.message, cause: 'Access Denied.',
  });
  assert.equal(toMirrorKeyError(cf).key, undefined, 'no base, no key');
  assert.equal(toMirrorKeyError(cf, DST_BASE, SRC_BASE).key, undefined, 'a copy URL names the source, never the target');
  const rm = toMirrorKeyError(err('Failed to remove `https://dst.example.net/bk/photos/old.txt`.', 'Access Denied.'), SRC_BASE, DST_BASE);
  assert.equal(rm.kind, 'other');
  assert.equal(rm.key, 'old.txt');
  const list = toMirrorKeyError(err('Unable to list comparison retrying..', 'boom'), SRC_BASE, DST_BASE);
  assert.deepEqual(list, { kind: 'other', message: 'Unable to list comparison retrying..', cause: 'boom' });
});

// ---- runs ----

test('a run: unordered copy lines, a retry, an overwrite skip and the summary → ok, started counters, key attributed', async (t) => {
  const { env } = await setup(t, {
    stdout: [copyLine('2025/c.jpg', 2048, 3, 3072), copyLine('2025/a.jpg', 1024, 1, 1024), RETRY, 'not json', OVERWRITE, copyLine('2025/e.jpg', 0, 2, 1024), SUMMARY],
    exit: 0,
  });
  const keyErrors: MirrorKeyError[] = [];
  const reports: MirrorProgress[] = [];
  const r = await runMirror({
    source: 'src/media/photos', dest: 'dst/bk/photos', flags: { retry: true }, env, mcPath: FIXTURE,
    sourceBase: SRC_BASE, destBase: DST_BASE,
    onKeyError: (e) => keyErrors.push(e),
    onProgress: (p) => reports.push(p),
    progressIntervalMs: 60_000,
  });
  assert.equal(r.ok, true, r.failure);
  assert.equal(r.failure, undefined);
  assert.equal(r.exitCode, 0);
  assert.equal(r.interrupted, false);
  assert.deepEqual(r.progress, {
    startedObjects: 3, startedBytes: 3072, removedObjects: 0, retries: 1, errors: 0, overwriteSkipped: 1, queuedObjects: 3, queuedBytes: 3072, done: true,
  });
  assert.deepEqual(r.summary, { type: 'summary', total: 3072, transferred: 3072, duration: 8123456789, speed: 6454110.2 });
  assert.deepEqual(r.keyErrors, [], 'an overwrite skip is not a failure');
  assert.equal(r.overwriteSkips.length, 1);
  assert.equal(keyErrors.length, 1);
  assert.equal(keyErrors[0]?.kind, 'overwrite-not-allowed');
  assert.equal(keyErrors[0]?.key, '2025/b b.jpg', 'named by the TARGET URL under destBase');
  assert.deepEqual(r.droppedFlags, []);
  assert.equal(r.release, 'RELEASE.2025-08-13T08-35-41Z');
  // Throttled: the first message reports at once; the rest wait for the interval, which the end pre-empts.
  assert.equal(reports.length, 2);
  assert.deepEqual([reports[0]?.startedObjects, reports[0]?.done], [1, false]);
  assert.deepEqual(reports[1], r.progress);
});

test('progress reports follow the interval while mc runs', async (t) => {
  const lines = Array.from({ length: 40 }, (_, i) => copyLine(`k${i}`, 1, i + 1, i + 1));
  const { env } = await setup(t, { stdout: [...lines, SUMMARY], exit: 0 });
  const reports: MirrorProgress[] = [];
  const r = await runMirror({ source: 'src/media/photos', dest: 'dst/bk/photos', flags: {}, env, mcPath: FIXTURE, onProgress: (p) => reports.push(p), progressIntervalMs: 0 });
  assert.equal(r.ok, true);
  assert.ok(reports.length >= 2, `${reports.length} reports`);
  for (let i = 1; i < reports.length; i++) assert.ok(reports[i]!.startedObjects >= reports[i - 1]!.startedObjects, 'monotone');
  assert.equal(reports.filter((p) => p.done).length, 1);
  assert.equal(reports.at(-1)?.startedObjects, 40);
});

test('a copy error object and exit 1 → not ok, key attributed, one-line failure', async (t) => {
  const { env } = await setup(t, { stdout: [copyLine('2025/a.jpg', 10, 1, 10), COPY_FAILED, SUMMARY], exit: 1 });
  const seen: MirrorKeyError[] = [];
  const r = await runMirror({ source: 'src/media/photos', dest: 'dst/bk/photos', flags: {}, env, mcPath: FIXTURE, sourceBase: SRC_BASE, destBase: DST_BASE, onKeyError: (e) => seen.push(e) });
  assert.equal(r.ok, false);
  assert.equal(r.exitCode, 1);
  assert.equal(r.progress.errors, 1);
  assert.equal(r.keyErrors.length, 1);
  assert.deepEqual(r.keyErrors[0], seen[0]);
  assert.equal(r.keyErrors[0]?.kind, 'copy-failed');
  assert.equal(r.keyErrors[0]?.key, '2025/c`d.jpg');
  assert.equal(r.failure, 'mc mirror exited 1 after 1 error(s): Failed to copy `https://src.example.net/media/photos/2025/c`d.jpg`. (Access Denied.)');
});

test('exit 0 after "Unable to list comparison retrying.." → not ok', async (t) => {
  const { env } = await setup(t, { stdout: [copyLine('a', 1, 1, 1), LIST_STOPPED, SUMMARY], exit: 0 });
  const r = await runMirror({ source: 'src/media/photos', dest: 'dst/bk/photos', flags: {}, env, mcPath: FIXTURE });
  assert.equal(r.exitCode, 0);
  assert.equal(r.ok, false);
  assert.equal(r.progress.errors, 1);
  assert.equal(r.keyErrors[0]?.kind, 'other');
  assert.equal(r.keyErrors[0]?.key, undefined);
  assert.match(r.failure ?? '', /^mc mirror stopped comparing early on a listing error but exited 0: Unable to list comparison retrying\.\. \(Get /);
  assert.doesNotMatch(r.failure ?? '', /\n/);
});

test('exit 0 with a copy error object → not ok', async (t) => {
  const { env } = await setup(t, { stdout: [COPY_FAILED, SUMMARY], exit: 0 });
  const r = await runMirror({ source: 'src/media/photos', dest: 'dst/bk/photos', flags: {}, env, mcPath: FIXTURE });
  assert.equal(r.ok, false);
  assert.match(r.failure ?? '', /^mc mirror printed an error object but exited 0: Failed to copy/);
});

test('a missing summary → not ok', async (t) => {
  const { env } = await setup(t, { stdout: [copyLine('a', 1, 1, 1)], exit: 0 });
  const r = await runMirror({ source: 'src/media/photos', dest: 'dst/bk/photos', flags: {}, env, mcPath: FIXTURE });
  assert.equal(r.ok, false);
  assert.equal(r.summary, undefined);
  assert.equal(r.failure, 'mc mirror ended without its summary line');
});

test('a usage error (exit 1, text on stderr) names the stderr line', async (t) => {
  const { env } = await setup(t, { stderr: ['mc: <ERROR> Invalid command usage. flag provided but not defined: -max-workers'], exit: 1 });
  const r = await runMirror({ source: 'src/media/photos', dest: 'dst/bk/photos', flags: {}, env, mcPath: FIXTURE });
  assert.equal(r.ok, false);
  assert.equal(r.failure, 'mc mirror exited 1: mc: <ERROR> Invalid command usage. flag provided but not defined: -max-workers');
});

test('the recorded argv has --json --no-color, then the flags in order', async (t) => {
  const { env, argv } = await setup(t, { stdout: [SUMMARY], exit: 0 });
  const r = await runMirror({
    source: 'src/media/photos', dest: 'dst/bk/photos', env, mcPath: FIXTURE,
    flags: { limitUpload: '10MiB', overwrite: true, remove: true, exclude: ['*.tmp'], newerThan: '7d', storageClass: 'STANDARD', retry: true, skipErrors: true, maxWorkers: 8 },
  });
  assert.equal(r.ok, true, r.failure);
  assert.deepEqual(await argv(), [
    '--json', '--no-color', '--limit-upload', '10MiB', 'mirror', '--overwrite', '--remove', '--exclude=*.tmp', '--newer-than', '7d',
    '--storage-class', 'STANDARD', '--retry', '--skip-errors', '--max-workers', '8', 'src/media/photos', 'dst/bk/photos',
  ]);
});

test('abort on a hanging mirror → interrupted, and the child is gone', async (t) => {
  const { env } = await setup(t, { stdout: [copyLine('a', 1, 1, 1)], hang: true });
  const ac = new AbortController();
  const r = await runMirror({
    source: 'src/media/photos', dest: 'dst/bk/photos', flags: {}, env, mcPath: FIXTURE, signal: ac.signal, graceMs: 2000,
    onProgress: (p) => { if (p.startedObjects === 1) ac.abort(); },
    progressIntervalMs: 0,
  });
  assert.equal(r.interrupted, true);
  assert.equal(r.ok, false);
  assert.equal(r.exitCode, 143);
  assert.equal(r.progress.startedObjects, 1);
  assert.equal(r.failure, 'mc mirror was interrupted (exit 143)');
});

test('a throwing callback stops mc and rejects with its error', async (t) => {
  const { env } = await setup(t, { stdout: [copyLine('a', 1, 1, 1)], hang: true });
  await assert.rejects(
    runMirror({ source: 'src/media/photos', dest: 'dst/bk/photos', flags: {}, env, mcPath: FIXTURE, graceMs: 2000, onProgress: () => { throw new Error('consumer broke'); }, progressIntervalMs: 0 }),
    /consumer broke/,
  );
});

test('bad flags reject before mc runs', async (t) => {
  const { env, recordPath } = await setup(t, { stdout: [SUMMARY] });
  await assert.rejects(runMirror({ source: 'src/media', dest: 'dst/bk', flags: { storageClass: 'cold' }, env, mcPath: FIXTURE }), (err: unknown) => {
    assert.ok(err instanceof S3migError);
    assert.equal(err.code, 'S3MIG_CONFIG_INVALID');
    return true;
  });
  await assert.rejects(runMirror({ source: '-x', dest: 'dst/bk', flags: {}, env, mcPath: FIXTURE }), /starts with "-"/);
  assert.equal(await exists(recordPath), false);
});

test('an mc older than RELEASE.2024-08-13 is refused before mirror runs', async (t) => {
  clearMcVersionCache();
  t.after(clearMcVersionCache);
  const { env, dir, recordPath } = await setup(t, { stdout: [SUMMARY], version: 'RELEASE.2024-01-01T00-00-00Z' });
  const mc = await versionedMc(dir, env.MC_REPLAY_SCENARIO!);
  await assert.rejects(runMirror({ source: 'src/media', dest: 'dst/bk', flags: {}, env, mcPath: mc }), (err: unknown) => {
    assert.ok(err instanceof S3migError);
    assert.equal(err.code, 'S3MIG_TARGET_UNSUPPORTED');
    assert.match(err.message, /RELEASE\.2024-01-01T00-00-00Z is too old/);
    return true;
  });
  assert.equal(await exists(recordPath), false, 'mirror never started');
});

test('on RELEASE.2024-10-02 --max-workers is dropped from the argv and reported', async (t) => {
  clearMcVersionCache();
  t.after(clearMcVersionCache);
  const { env, dir, argv } = await setup(t, { stdout: [SUMMARY], exit: 0, version: 'RELEASE.2024-10-02T17-50-41Z' });
  const mc = await versionedMc(dir, env.MC_REPLAY_SCENARIO!);
  const notes: string[] = [];
  const r = await runMirror({ source: 'src/media', dest: 'dst/bk', flags: { maxWorkers: 8, retry: true }, env, mcPath: mc, onDroppedFlag: (n) => notes.push(n) });
  assert.equal(r.ok, true, r.failure);
  assert.equal(r.release, 'RELEASE.2024-10-02T17-50-41Z');
  assert.deepEqual(await argv(), ['--json', '--no-color', 'mirror', '--retry', 'src/media', 'dst/bk']);
  assert.deepEqual(r.droppedFlags, ['--max-workers 8 dropped: needs mc RELEASE.2025-07-16 or newer; installed RELEASE.2024-10-02T17-50-41Z']);
  assert.deepEqual(notes, r.droppedFlags);
});
