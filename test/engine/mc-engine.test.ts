// The mc engine end to end: s3mig drives the fixture `mc` (test/fixtures/mc, live mode) against a real
// local S3 server. The same buckets reconciled by both engines give the same reports; the estimate comes
// from mc du, ETag re-checks from mc stat; a kill mid-listing resumes per first-level folder; an mc
// error object makes a folder incomplete (no action in it); --cross-check mc-diff; fix --engine mc with
// mc cp / mc rm, leaving keys mc cannot address to the native engine; engine choice and version checks.
//
// One s3rver serves the file; every proxy and child process is stopped in t.after or after().
import { after, before, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DeleteObjectCommand } from '@aws-sdk/client-s3';
import { execa } from 'execa';
import { startLocalS3, type LocalS3 } from '../../src/testing/s3-server.ts';
import { startFaultProxy } from '../../src/testing/fault-proxy.ts';
import { connect, type S3Connection } from '../../src/s3/client.ts';
import { Secret } from '../../src/core/secret.ts';
import { clearMcVersionCache } from '../../src/mc/runner.ts';
import { JobDb } from '../../src/store/job-db.ts';
import { ingestMc, type McSideTarget } from '../../src/engine/mc-ingest.ts';
import { openMc } from '../../src/mc/context.ts';
import { resolveAlias } from '../../src/targets/alias.ts';
import { statMc } from '../../src/mc/stat.ts';
import { runMirror, type MirrorKeyError } from '../../src/mc/mirror.ts';
import type { EngineEvent } from '../../src/engine/events.ts';
import { allFiles, tempDir } from '../helpers.ts';
import {
  FIXTURE_MC as MC,
  eventsOf,
  jobIdOf,
  logText,
  mcHost,
  once,
  putObjects,
  readRows,
  readSummary,
  runS3mig,
  type Event,
  type SharedChildren,
} from '../live-harness.ts';

const byteOrder = (a: string, b: string) => Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));

// ---------------------------------------------------------------------------------------------
// The buckets
// ---------------------------------------------------------------------------------------------

const SRC: Record<string, string> = {
  'same.txt': 'same content',
  'missing.txt': 'only in the source',
  'size.txt': 'abc',
  'etag.txt': 'aaaa',
  'folder/': '',
  'docs/readme.md': 'readme',
  'docs/sub/deep/x.md': 'deep',
  'photos/2024/jan/a.jpg': 'jpeg-a',
  'photos/2024/feb/b.jpg': 'jpeg-b',
  'photos/2024/mar/c.jpg': 'jpeg-c',
  'photos/é/ü.png': 'png',
  'é.txt': 'accent',
  'x/\uFF5E': 'wave',
  'x/\u{1F600}': 'smile',
  'a b+c.txt': 'plus',
  '%41.txt': 'percent, not A',
};
const DST: Record<string, string> = {
  'same.txt': 'same content',
  'size.txt': 'abcdef',
  'etag.txt': 'bbbb',
  'folder/': '',
  'docs/readme.md': 'readme',
  'photos/2024/jan/a.jpg': 'jpeg-a',
  'photos/2024/mar/c.jpg': 'jpeg-C',
  'photos/2023/c.jpg': 'jpeg-c',
  photosx: 'not a folder',
  'x/\uFF5E': 'wave',
  'x/\u{1F600}': 'smile',
  'only-dst.txt': 'extra',
  '\u{1F600}/smile.txt': 'smile',
};
const EXPECTED: Record<string, string> = {
  'missing.txt': 'missing',
  'docs/sub/deep/x.md': 'missing',
  'photos/2024/feb/b.jpg': 'missing',
  'photos/é/ü.png': 'missing',
  'é.txt': 'missing',
  'a b+c.txt': 'missing',
  '%41.txt': 'missing',
  'photos/2023/c.jpg': 'extra',
  photosx: 'extra',
  'only-dst.txt': 'extra',
  '\u{1F600}/smile.txt': 'extra',
  'size.txt': 'sizeMismatch',
  'etag.txt': 'etagMismatch',
  'photos/2024/mar/c.jpg': 'etagMismatch',
};

/** Fix buckets: what fix --engine mc must copy, replace and delete, and a key mc cannot address. */
const FSRC: Record<string, string> = {
  'keep.txt': 'keep',
  'new/one.txt': 'one',
  'new/two.txt': 'two',
  'new/deeper/three.txt': 'three',
  'grow.txt': 'grown content',
  'flip.txt': 'AAAA',
  'marker/': '', // a folder marker: mc takes a key ending in '/' for a folder, so the plan leaves it to native
};
const FDST: Record<string, string> = {
  'keep.txt': 'keep',
  'grow.txt': 'small',
  'flip.txt': 'BBBB',
  'gone/old.txt': 'old',
  'stale.txt': 'stale',
};

let server: LocalS3;
let seeder: S3Connection;
const runsDir = mkdtemp(join(tmpdir(), 's3mig-mc-runs-'));

const seed = (bucket: string, objects: Record<string, string>) => putObjects(seeder, bucket, objects, 16);

before(async () => {
  server = await startLocalS3({ buckets: ['src', 'dst', 'fsrc', 'fdst', 'kfsrc', 'kfdst', 'unit', 'msrc', 'mdst'] });
  seeder = connect({ url: server.endpoint, region: 'us-east-1', pathStyle: true }, { accessKey: server.accessKey, secretKey: new Secret(server.secretKey) });
  await Promise.all([seed('src', SRC), seed('dst', DST), seed('fsrc', FSRC), seed('fdst', FDST)]);
});

const sharedChildren: SharedChildren = [];
after(async () => {
  for (const c of sharedChildren) c.kill('SIGKILL');
  seeder?.destroy();
  await server?.stop();
  await rm(await runsDir, { recursive: true, force: true });
});

// ---------------------------------------------------------------------------------------------
// Running s3mig
// ---------------------------------------------------------------------------------------------

/** s3rver checks the access key only, so a secret of our own shows where it could leak. */
const SECRET = 'mc-secret-8f3a1c';

/**
 * `node bin/s3mig.js ARGS` in `cwd` with the fixture first on PATH (or no mc at all), alias `s` on the local
 * server; killed when the test ends, or without a test when the file is done.
 */
const s3mig = (t: TestContext | undefined, cwd: string, args: string[], env: Record<string, string> = {}, withMc = true) =>
  runS3mig(t ?? sharedChildren, cwd, args, { MC_HOST_s: mcHost(server.endpoint, SECRET), ...env }, { mcOnPath: withMc, timeout: 120_000 });

/** s/src s/dst with each engine, once per file. */
const engineRun = (engine: 'mc' | 'native') => engineRuns[engine]();
const engineRuns = {
  mc: once(async () => {
    const dir = join(await runsDir, 'mc');
    const run = await s3mig(undefined, dir, ['reconcile', 's/src', 's/dst', '--engine', 'mc', '--json', '--report-dir', 'rep'], { MC_REPLAY_RECORD: join(dir, 'mc-record.json') });
    return { dir, run, rep: join(dir, 'rep') };
  }),
  native: once(async () => {
    const dir = join(await runsDir, 'native');
    const run = await s3mig(undefined, dir, ['reconcile', 's/src', 's/dst', '--engine', 'native', '--json', '--report-dir', 'rep']);
    return { dir, run, rep: join(dir, 'rep') };
  }),
};

// ---------------------------------------------------------------------------------------------
// Reconcile through mc
// ---------------------------------------------------------------------------------------------

test('reconcile --engine mc: every verdict, the estimate from mc du, and the same report files as the native engine', async () => {
  const [mc, native] = await Promise.all([engineRun('mc'), engineRun('native')]);
  assert.equal(mc.run.code, 1, mc.run.stderr);
  assert.equal(native.run.code, 1, native.run.stderr);
  const events = eventsOf(mc.run.stdout);
  const rows = await readRows(join(mc.rep, 'differences.ndjson'));
  assert.deepEqual(
    rows.map((r) => [r.key, r.category]),
    Object.keys(EXPECTED).sort(byteOrder).map((k) => [k, EXPECTED[k]]),
  );
  for (const file of ['differences.ndjson', 'differences.csv', 'fix-plan.ndjson']) {
    assert.equal(await readFile(join(mc.rep, file), 'utf8'), await readFile(join(native.rep, file), 'utf8'), `${file} differs between the engines`);
  }
  const [sm, sn] = [await readSummary(mc.rep), await readSummary(native.rep)];
  assert.deepEqual(sm.counts, sn.counts);
  assert.deepEqual(sm.bytes, sn.bytes);
  assert.equal(sm.exitCode, 1);
  const strategy = events.find((e) => e.type === 'strategy') as Event & { estimate: { source: { how: string; objects: number } } };
  assert.equal(strategy.estimate.source.how, 'mc du');
  assert.equal(strategy.estimate.source.objects, Object.keys(SRC).length);
  assert.ok(logText(events).some((m) => /^engine mc \(RELEASE\.2025-08-13T08-35-41Z\)$/.test(m)), logText(events).join('\n'));
  assert.ok(logText(events).some((m) => /listing \d+ top-level object\(s\) and \d+ folder\(s\) with mc/.test(m)));
  const job = JSON.parse(await readFile(join(mc.dir, 'state', 'jobs', jobIdOf(mc.run.stdout), 'job.json'), 'utf8'));
  assert.equal(job.options.engine, 'mc');
});

test('mc gets the aliases only as MC_HOST_<alias> in its environment: argv holds no secret, TZ is UTC, --json --no-color first', async () => {
  const { dir, run } = await engineRun('mc');
  const record = JSON.parse(await readFile(join(dir, 'mc-record.json'), 'utf8')) as { argv: string[]; tz: string; mcHostKeys: string[] };
  assert.deepEqual(record.argv.slice(0, 2), ['--json', '--no-color']);
  assert.equal(record.tz, 'UTC');
  assert.deepEqual(record.mcHostKeys, ['MC_HOST_s']);
  assert.ok(!record.argv.some((a) => a.includes(SECRET)), record.argv.join(' '));
  // Nor anywhere s3mig writes: the state directory (LevelDB included), the reports, its output.
  for (const f of await allFiles(dir)) {
    if (f.path.endsWith('mc-record.json')) continue;
    assert.ok(!f.bytes.includes(SECRET), `the secret is in ${f.path}`);
  }
  assert.ok(!run.stdout.includes(SECRET) && !run.stderr.includes(SECRET));
});

test('killed mid-listing through mc (ingest:after-batch@4), resumed: the same reports as an uninterrupted run', async (t) => {
  const dir = await tempDir(t, 's3mig-mc-resume-');
  const killed = await s3mig(t, dir, ['reconcile', 's/src', 's/dst', '--engine', 'mc', '--json', '--report-dir', 'rep', '--list-concurrency', '2'], {
    S3MIG_FAILPOINT: 'ingest:after-batch@4',
  });
  assert.equal(killed.code, undefined, 'killed by its failpoint');
  const id = jobIdOf(killed.stdout);
  const resumed = await s3mig(t, dir, ['resume', id, '--json']);
  assert.equal(resumed.code, 1, resumed.stderr);
  assert.ok(logText(eventsOf(resumed.stdout)).some((m) => /continuing \d+ of \d+ folder\(s\) with mc|listing \d+ top-level/.test(m)));
  const { rep } = await engineRun('mc');
  for (const file of ['differences.ndjson', 'differences.csv', 'fix-plan.ndjson']) {
    assert.equal(await readFile(join(dir, 'rep', file), 'utf8'), await readFile(join(rep, file), 'utf8'), file);
  }
  assert.deepEqual((await readSummary(join(dir, 'rep'))).counts, (await readSummary(rep)).counts);
});

test('stopped (SIGTERM) while mc hangs listing a folder: mc is stopped with the job (no child outlives it), paused, resumed to the same reports', async (t) => {
  const dir = await tempDir(t, 's3mig-mc-pause-');
  const pids = join(dir, 'pids');
  const stopped = await s3mig(t, dir, ['reconcile', 's/src', 's/dst', '--engine', 'mc', '--json', '--report-dir', 'rep'], {
    MC_LIVE_FAULT: JSON.stringify({ cmd: 'ls', match: '/photos/', afterLines: 0, action: 'hang' }),
    MC_FIXTURE_PIDS: pids,
    S3MIG_FAILPOINT: 'ingest:after-batch@3=sigterm',
  });
  const id = jobIdOf(stopped.stdout);
  assert.equal(stopped.code, 2, stopped.stderr);
  assert.equal(stopped.stderr.trim(), `s3mig: job ${id} paused (stopped by SIGTERM); continue with: s3mig resume ${id}`);
  const started = (await readFile(pids, 'utf8')).trim().split('\n').map(Number);
  assert.ok(started.length >= 4, `mc ran ${started.length} times`);
  for (const pid of started) {
    assert.throws(() => process.kill(pid, 0), { code: 'ESRCH' }, `mc pid ${pid} outlived its job`);
  }
  // Resumed where mc is missing: one line, and the job stays paused for a machine that has mc.
  const jobJson = join(dir, 'state', 'jobs', id, 'job.json');
  const noMc = await s3mig(t, dir, ['resume', id], {}, false);
  assert.equal(noMc.code, 2);
  assert.equal(noMc.stderr, `s3mig: job ${id} uses mc (engine mc): mc (the MinIO client) is not on PATH: install it or use --engine native; fix that and resume it`);
  assert.equal(JSON.parse(await readFile(jobJson, 'utf8')).state, 'paused');
  const resumed = await s3mig(t, dir, ['resume', id, '--json']);
  assert.equal(resumed.code, 1, resumed.stderr);
  const { rep } = await engineRun('mc');
  for (const file of ['differences.ndjson', 'fix-plan.ndjson']) {
    assert.equal(await readFile(join(dir, 'rep', file), 'utf8'), await readFile(join(rep, file), 'utf8'), file);
  }
});

test('a folder half listed when the process died is cleared and listed again: no key twice, none that is gone', async (t) => {
  const dir = await tempDir(t, 's3mig-mc-unit-');
  const keys = ['top.txt', 'f/1', 'f/2', 'f/3', 'f/4', 'f/5', 'f/6', 'g/1', 'g/2'];
  await seed('unit', Object.fromEntries(keys.map((k) => [k, `body ${k}`])));
  const script = `
    import { JobDb } from ${JSON.stringify(new URL('../../src/store/job-db.ts', import.meta.url).href)};
    import { ingestMc } from ${JSON.stringify(new URL('../../src/engine/mc-ingest.ts', import.meta.url).href)};
    import { openMc } from ${JSON.stringify(new URL('../../src/mc/context.ts', import.meta.url).href)};
    import { resolveAlias } from ${JSON.stringify(new URL('../../src/targets/alias.ts', import.meta.url).href)};
    const db = await JobDb.open(process.argv[1]);
    const ctx = await openMc([resolveAlias('s')], { mcPath: ${JSON.stringify(MC)} });
    await ingestMc(db.side('source'), 'source', { ctx, alias: 's', bucket: 'unit', prefix: '' }, { concurrency: 1, batchEntries: 2, emit: () => {} });
  `;
  const dbPath = join(dir, 'db');
  // Batches: the top level (1), then f/ in batches of 2: the kill lands after f/1 and f/2 are stored.
  const child = execa('node', ['--import', 'tsx', '--input-type=module', '-e', script, dbPath], {
    reject: false,
    env: { S3MIG_FAILPOINT: 'ingest:after-batch@2', MC_HOST_s: mcHost(server.endpoint, SECRET) },
  });
  t.after(() => void child.kill('SIGKILL'));
  const r = await child;
  assert.equal(r.signal, 'SIGKILL', r.stderr);
  // While it was down, f/2 went away.
  await seeder.client.send(new DeleteObjectCommand({ Bucket: 'unit', Key: 'f/2' }));
  const db = await JobDb.open(dbPath);
  t.after(() => db.close());
  const before: string[] = [];
  for await (const batch of db.side('source').entries()) before.push(...batch.map((e) => e.key));
  assert.deepEqual(before, ['f/1', 'f/2', 'top.txt'], 'f/ was half stored when the process died');
  const events: EngineEvent[] = [];
  const ctx = await openMc([resolveAlias('s', { env: { MC_HOST_s: mcHost(server.endpoint, SECRET) } })], { mcPath: MC });
  const target: McSideTarget = { ctx, alias: 's', bucket: 'unit', prefix: '' };
  const cp = await ingestMc(db.side('source'), 'source', target, { concurrency: 2, batchEntries: 2, emit: (e) => events.push(e as EngineEvent) });
  const after_: string[] = [];
  for await (const batch of db.side('source').entries()) after_.push(...batch.map((e) => e.key));
  assert.deepEqual(after_, ['f/1', 'f/3', 'f/4', 'f/5', 'f/6', 'g/1', 'g/2', 'top.txt']);
  assert.equal(cp.entries, 8, 'the count is of what is stored, not of what was listed twice');
  assert.equal(cp.errorCount, 0);
});

test('an mc error object for one folder: that side incomplete (exit 2), no action for keys in the folder, actions elsewhere', async (t) => {
  const proxy = await startFaultProxy({ upstream: server.endpoint });
  t.after(() => proxy.stop());
  // Only mc's recursive listing of photos/ in the destination fails, every time.
  proxy.addRule({ match: { method: 'GET', path: /^\/dst\/?$/, query: /(^|&)prefix=photos%2F(&|$)/ }, fault: 'accessDenied' });
  const dir = await tempDir(t, 's3mig-mc-incomplete-');
  const r = await s3mig(t, dir, ['reconcile', 's/src', 'p/dst', '--engine', 'mc', '--json', '--report-dir', 'rep', '--delete-extras'], { MC_HOST_p: mcHost(proxy.endpoint, SECRET) });
  assert.equal(r.code, 2, r.stderr);
  const summary = await readSummary(join(dir, 'rep'));
  assert.equal(summary.complete, false);
  assert.equal(summary.incomplete[0]!.side, 'dest');
  assert.match(summary.incomplete[0]!.message, /folder p\/dst\/photos\/: mc ls: Unable to list folder/);
  const plan = await readRows(join(dir, 'rep', 'fix-plan.ndjson'));
  assert.ok(!plan.some((p) => p.key.startsWith('photos/')), 'nothing under the unlisted folder is acted on');
  assert.ok(plan.some((p) => p.key === 'missing.txt' && p.action === 'copy'));
  assert.ok(!plan.some((p) => p.action === 'delete'), 'an incomplete run deletes nothing');
});

test('mc du failing only leaves the estimate unknown: the strategy says so and the reconcile goes on', async (t) => {
  const dir = await tempDir(t, 's3mig-mc-du-');
  const r = await s3mig(t, dir, ['reconcile', 's/src', 's/dst', '--engine', 'mc', '--json', '--report-dir', 'rep'], {
    MC_LIVE_FAULT: JSON.stringify({ cmd: 'du', match: 's/src', afterLines: 0, action: 'fatal' }),
  });
  assert.equal(r.code, 1, r.stderr);
  const strategy = eventsOf(r.stdout).find((e) => e.type === 'strategy') as Event & { name: string; estimate: { source: { how: string; exact: boolean } } };
  assert.match(strategy.estimate.source.how, /^unknown: mc du s\/src\/: /);
  assert.equal(strategy.estimate.source.exact, false);
  assert.equal(strategy.name, 'standard');
  assert.deepEqual((await readSummary(join(dir, 'rep'))).counts, (await readSummary((await engineRun('mc')).rep)).counts);
});

test('ETag mismatches are re-checked with mc stat: SSE-KMS on HEAD makes the key unverified', async (t) => {
  const proxy = await startFaultProxy({ upstream: server.endpoint });
  t.after(() => proxy.stop());
  proxy.addRule({ match: { method: 'HEAD', path: /^\/dst\/etag\.txt$/ }, responseHeaders: { 'x-amz-server-side-encryption': 'aws:kms' } });
  const dir = await tempDir(t, 's3mig-mc-sse-');
  const r = await s3mig(t, dir, ['reconcile', 's/src', 'p/dst', '--engine', 'mc', '--json', '--report-dir', 'rep'], { MC_HOST_p: mcHost(proxy.endpoint, SECRET) });
  assert.equal(r.code, 1, r.stderr);
  const rows = await readRows(join(dir, 'rep', 'differences.ndjson'));
  assert.equal(rows.find((x) => x.key === 'etag.txt')?.category, 'unverified');
  assert.equal(rows.find((x) => x.key === 'photos/2024/mar/c.jpg')?.category, 'etagMismatch');
});

test('statMc: one outcome per URL in order, a missing object in the middle of a batch does not hide the rest', async (t) => {
  const ctx = await openMc([resolveAlias('s', { env: { MC_HOST_s: mcHost(server.endpoint, SECRET) } })], { mcPath: MC });
  const out = await statMc(ctx, ['s/src/same.txt', 's/src/nope.txt', 's/src/x/\u{1F600}', 's/src/nope2', 's/src/é.txt'], t.signal);
  assert.deepEqual(
    out.map((o) => (o.kind === 'found' ? o.stat.size : o.kind)),
    [Buffer.byteLength(SRC['same.txt']!), 'absent', Buffer.byteLength(SRC['x/\u{1F600}']!), 'absent', Buffer.byteLength(SRC['é.txt']!)],
  );
});

// ---------------------------------------------------------------------------------------------
// Cross-check
// ---------------------------------------------------------------------------------------------

test('--cross-check mc-diff: mc diff agrees on every key it can see; ETag differences are counted as beyond it', async (t) => {
  const dir = await tempDir(t, 's3mig-mc-cross-');
  const r = await s3mig(t, dir, ['reconcile', 's/src', 's/dst', '--engine', 'native', '--cross-check', 'mc-diff', '--json', '--report-dir', 'rep']);
  assert.equal(r.code, 1, r.stderr);
  const summary = await readSummary(join(dir, 'rep'));
  const missingOrExtra = Object.values(EXPECTED).filter((c) => c === 'missing' || c === 'extra' || c === 'sizeMismatch').length;
  assert.deepEqual(
    { ...summary.crossCheck, file: undefined },
    { tool: 'mc-diff', complete: true, mcDifferences: missingOrExtra, agreed: missingOrExtra, etagOnly: 2, disagreements: 0, file: undefined },
  );
  assert.equal(await readFile(join(dir, 'rep', 'cross-check.ndjson'), 'utf8'), '');
  assert.ok(!summary.recommendations.some((x) => /mc diff/.test(x)));
});

test('--cross-check mc-diff: an mc diff that fails part way is reported partial, with a recommendation', async (t) => {
  const dir = await tempDir(t, 's3mig-mc-cross-fail-');
  const r = await s3mig(t, dir, ['reconcile', 's/src', 's/dst', '--cross-check', 'mc-diff', '--json', '--report-dir', 'rep'], {
    MC_LIVE_FAULT: JSON.stringify({ cmd: 'diff', afterLines: 2, action: 'error' }),
  });
  assert.equal(r.code, 1, r.stderr);
  const summary = await readSummary(join(dir, 'rep'));
  assert.equal(summary.crossCheck?.complete, false);
  assert.ok(summary.recommendations.some((x) => /^mc diff did not finish/.test(x)), summary.recommendations.join('\n'));
  // What mc did not print is not agreement: the keys after its failure are disagreements to look at.
  assert.ok(summary.crossCheck!.disagreements > 0);
});

test('--cross-check mc-diff needs two live targets: one line, exit 2', async (t) => {
  const dir = await tempDir(t, 's3mig-mc-cross-inv-');
  await writeFile(join(dir, 'inv.ndjson'), '');
  const r = await s3mig(t, dir, ['reconcile', 's/src', 'inventory:inv.ndjson', '--cross-check', 'mc-diff']);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /^s3mig: --cross-check mc-diff needs two live targets/);
  assert.equal(r.stderr.trim().split('\n').length, 1);
});

// ---------------------------------------------------------------------------------------------
// Fix through mc
// ---------------------------------------------------------------------------------------------

test('fix --engine mc: mc cp per folder, mc rm for extras, mc stat re-checks; a key mc cannot address is left for native', async (t) => {
  const dir = await tempDir(t, 's3mig-mc-fix-');
  const rec = await s3mig(t, dir, ['reconcile', 's/fsrc', 's/fdst', '--engine', 'mc', '--json', '--report-dir', 'rep']);
  assert.equal(rec.code, 1, rec.stderr);
  const id = jobIdOf(rec.stdout);
  const before_ = await readSummary(join(dir, 'rep'));
  assert.deepEqual(
    { missing: before_.counts.missing, extra: before_.counts.extra, sizeMismatch: before_.counts.sizeMismatch, etagMismatch: before_.counts.etagMismatch },
    { missing: 4, extra: 2, sizeMismatch: 1, etagMismatch: 1 },
  );
  // Without mc on PATH the job is left as it was.
  const noMc = await s3mig(t, dir, ['fix', id], {}, false);
  assert.equal(noMc.code, 2);
  assert.equal(noMc.stderr, 's3mig: mc (the MinIO client) is not on PATH: install it or use --engine native');
  assert.equal(JSON.parse(await readFile(join(dir, 'state', 'jobs', id, 'job.json'), 'utf8')).state, 'completed-with-differences');
  const fixed = await s3mig(t, dir, ['fix', id, '--engine', 'mc', '--delete-extras', '--json', '--concurrency', '2'], { MC_REPLAY_RECORD: join(dir, 'record.json') });
  assert.equal(fixed.code, 1, fixed.stderr);
  const events = eventsOf(fixed.stdout);
  const progress = events.filter((e) => e.type === 'fix:progress').pop() as Event & { copied: number; deleted: number; failed: number; leftForNative: number };
  assert.deepEqual({ copied: progress.copied, deleted: progress.deleted, failed: progress.failed, leftForNative: progress.leftForNative }, { copied: 5, deleted: 2, failed: 0, leftForNative: 1 });
  assert.ok(logText(events).some((m) => /1 left for s3mig fix --engine native/.test(m)));
  const after_ = await readSummary(join(dir, 'rep'));
  const rows = await readRows(join(dir, 'rep', 'differences.ndjson'));
  assert.deepEqual(rows.map((r) => [r.key, r.category]), [['marker/', 'missing']]);
  assert.equal(after_.counts.extra, 0);
  // The native engine takes the key mc cannot name.
  const native = await s3mig(t, dir, ['fix', id, '--engine', 'native', '--json']);
  assert.equal(native.code, 0, native.stderr);
  assert.equal((await readSummary(join(dir, 'rep'))).outcome, 'clean');
});

test('fix --engine mc killed after a copy (fix:after-copy@2), run again: confirmed keys are not copied twice, same end', async (t) => {
  await seed('kfsrc', FSRC);
  await seed('kfdst', FDST);
  const dir = await tempDir(t, 's3mig-mc-fix-kill-');
  const rec = await s3mig(t, dir, ['reconcile', 's/kfsrc', 's/kfdst', '--engine', 'mc', '--json', '--report-dir', 'rep']);
  assert.equal(rec.code, 1, rec.stderr);
  const id = jobIdOf(rec.stdout);
  // One group at a time: flip.txt is copied and confirmed, gone/old.txt deleted, then the kill lands
  // right after the copy of grow.txt, before its re-check.
  const killed = await s3mig(t, dir, ['fix', id, '--engine', 'mc', '--delete-extras', '--json', '--concurrency', '1'], { S3MIG_FAILPOINT: 'fix:after-copy@2' });
  assert.equal(killed.code, undefined, 'killed by its failpoint');
  const again = await s3mig(t, dir, ['fix', id, '--engine', 'mc', '--json', '--concurrency', '1']);
  assert.equal(again.code, 1, again.stderr);
  const progress = eventsOf(again.stdout).filter((e) => e.type === 'fix:progress').pop() as Event & Record<string, number>;
  assert.deepEqual(
    { skipped: progress.skipped, copied: progress.copied, deleted: progress.deleted, leftForNative: progress.leftForNative, failed: progress.failed },
    { skipped: 2, copied: 4, deleted: 1, leftForNative: 1, failed: 0 },
    'the delete-extras choice of the interrupted run is kept',
  );
  const rows = await readRows(join(dir, 'rep', 'differences.ndjson'));
  assert.deepEqual(rows.map((r) => [r.key, r.category]), [['marker/', 'missing']]);
});

// ---------------------------------------------------------------------------------------------
// Choosing the engine
// ---------------------------------------------------------------------------------------------

test('--engine auto takes mc when it is on PATH and the native engine when it is not, saying which', async (t) => {
  const dir = await tempDir(t, 's3mig-mc-auto-');
  const withMc = await s3mig(t, join(dir, 'a'), ['reconcile', 's/src/docs', 's/dst/docs', '--json']);
  assert.equal(withMc.code, 1, withMc.stderr);
  assert.ok(logText(eventsOf(withMc.stdout)).some((m) => /^engine mc \(RELEASE\.2025-08-13T08-35-41Z at .*\/mc\)$/.test(m)));
  const without = await s3mig(t, join(dir, 'b'), ['reconcile', 's/src/docs', 's/dst/docs', '--json'], {}, false);
  assert.equal(without.code, 1, without.stderr);
  assert.ok(logText(eventsOf(without.stdout)).includes('engine native: no mc on PATH'));
  const old = await s3mig(t, join(dir, 'c'), ['reconcile', 's/src/docs', 's/dst/docs', '--json'], { MC_FIXTURE_VERSION: 'RELEASE.2024-01-01T00-00-00Z' });
  assert.equal(old.code, 1, old.stderr);
  assert.ok(logText(eventsOf(old.stdout)).some((m) => /^engine native: mc RELEASE\.2024-01-01T00-00-00Z is too old/.test(m)));
});

test('--engine mc without mc, or with one too old: one line naming what is missing, exit 2', async (t) => {
  const dir = await tempDir(t, 's3mig-mc-none-');
  const none = await s3mig(t, dir, ['reconcile', 's/src', 's/dst', '--engine', 'mc'], {}, false);
  assert.equal(none.code, 2);
  assert.equal(none.stderr, 's3mig: mc (the MinIO client) is not on PATH: install it or use --engine native');
  const old = await s3mig(t, dir, ['reconcile', 's/src', 's/dst', '--engine', 'mc'], { MC_FIXTURE_VERSION: 'RELEASE.2024-01-01T00-00-00Z' });
  assert.equal(old.code, 2);
  assert.equal(old.stderr, 's3mig: mc RELEASE.2024-01-01T00-00-00Z is too old: s3mig needs mc RELEASE.2024-08-13 or newer (the first with stat --no-list)');
  clearMcVersionCache();
});

// ---------------------------------------------------------------------------------------------
// Mirror through the live fixture
// ---------------------------------------------------------------------------------------------

test('runMirror against the server: copies reported as started, a differing object left alone without --overwrite and copied with it', async (t) => {
  await seed('msrc', { 'a.txt': 'aaa', 'd/b.txt': 'bbbb', 'd/é/c.txt': 'ccccc' });
  const ctx = await openMc([resolveAlias('s', { env: { MC_HOST_s: mcHost(server.endpoint, SECRET) } })], { mcPath: MC });
  const bases = { sourceBase: { endpoint: server.endpoint, bucket: 'msrc', prefix: '' }, destBase: { endpoint: server.endpoint, bucket: 'mdst', prefix: '' } };
  const first = await runMirror({ source: 's/msrc', dest: 's/mdst', flags: {}, env: ctx.env, mcPath: MC, signal: t.signal, ...bases });
  assert.equal(first.ok, true, first.failure);
  assert.deepEqual(
    { started: first.progress.startedObjects, bytes: first.progress.startedBytes, total: first.summary?.total },
    { started: 3, bytes: 12, total: 12 },
  );
  const copied = await statMc(ctx, ['s/mdst/a.txt', 's/mdst/d/b.txt', 's/mdst/d/é/c.txt']);
  assert.deepEqual(copied.map((o) => o.kind), ['found', 'found', 'found']);

  await seed('msrc', { 'd/b.txt': 'changed, longer' });
  const skipped: MirrorKeyError[] = [];
  const second = await runMirror({ source: 's/msrc', dest: 's/mdst', flags: {}, env: ctx.env, mcPath: MC, signal: t.signal, onKeyError: (e) => skipped.push(e), ...bases });
  assert.equal(second.ok, true, 'an object left in place on purpose is not a failure');
  assert.equal(second.progress.overwriteSkipped, 1);
  assert.deepEqual(skipped.map((e) => [e.kind, e.key]), [['overwrite-not-allowed', 'd/b.txt']]);
  assert.equal(second.progress.startedObjects, 0);

  const third = await runMirror({ source: 's/msrc', dest: 's/mdst', flags: { overwrite: true }, env: ctx.env, mcPath: MC, signal: t.signal, ...bases });
  assert.equal(third.ok, true, third.failure);
  assert.equal(third.progress.startedObjects, 1);
  const [b] = await statMc(ctx, ['s/mdst/d/b.txt']);
  assert.equal(b?.kind === 'found' ? b.stat.size : -1, Buffer.byteLength('changed, longer'));
});
