import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, readdir, symlink } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { MD5_A, MD5_B, parseMcRecord, tempDir, writeInventory } from '../helpers.ts';

const BIN = fileURLToPath(new URL('../../bin/s3mig.js', import.meta.url));

async function s3mig(t: TestContext, args: string[], cwd: string, env: Record<string, string> = {}) {
  const child = execa('node', [BIN, ...args], { cwd, reject: false, env: { S3MIG_STATE_DIR: join(cwd, 'state'), ...env }, cancelSignal: t.signal });
  t.after(() => {
    child.kill('SIGKILL');
  });
  const r = await child;
  return { code: r.exitCode, stdout: r.stdout, stderr: r.stderr };
}

async function inventories(t: TestContext, destLines: Parameters<typeof writeInventory>[2]) {
  const dir = await tempDir(t);
  await writeInventory(dir, 'src.ndjson', [
    { key: 'a', size: 1, etag: MD5_A },
    { key: 'b', size: 2, etag: `${MD5_A}-2` },
    { key: 'c/', type: 'folder' },
  ]);
  await writeInventory(dir, 'dst.ndjson', destLines);
  return dir;
}

const CLEAN = [{ key: 'a', size: 1, etag: MD5_A }, { key: 'b', size: 2, etag: `${MD5_B}-1` }, { key: 'c/', type: 'folder' as const }];

test('exit 0 when only unverified keys remain, with a readable summary', async (t) => {
  const dir = await inventories(t, CLEAN);
  const r = await s3mig(t, ['reconcile', 'inventory:src.ndjson', 'inventory:dst.ndjson', '--report-dir', 'rep'], dir);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /verdict: CLEAN/);
  assert.match(r.stdout, /unverified\s+1/);
  assert.match(r.stdout, /same size but ETags that cannot be compared/);
  assert.equal(r.stderr, '', 'no progress on stderr when it is not a terminal');
});

test('exit 1 when differences exist; --json prints events whose last line is the summary', async (t) => {
  const dir = await inventories(t, [{ key: 'a', size: 1, etag: MD5_B }, { key: 'z', size: 1 }]);
  const r = await s3mig(t, ['reconcile', 'inventory:src.ndjson', 'inventory:dst.ndjson', '--report-dir', 'rep', '--json'], dir);
  assert.equal(r.code, 1, r.stderr);
  const lines = r.stdout.trimEnd().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
  assert.equal(lines[0]!.type, 'job:created');
  assert.match(String(lines[0]!.jobId), /^\d{8}-\d{6}-[0-9a-f]{6}$/);
  const last = lines.at(-1)!;
  assert.equal(last.type, 'summary');
  const { type: _t, ...summary } = last;
  const file = JSON.parse(await readFile(join(dir, 'rep', 'summary.json'), 'utf8'));
  assert.deepEqual(summary, file);
  assert.deepEqual(file.counts, { matched: 0, missing: 2, extra: 1, sizeMismatch: 0, etagMismatch: 1, unverified: 0, source: 3, dest: 2 });
  assert.equal(file.exitCode, 1);
});

test('exit 2 for an incomplete listing, with the counts still reported', async (t) => {
  const dir = await inventories(t, [...CLEAN, '{"status":"error","error":{"message":"Unable to list.","cause":{"message":"Access Denied."},"type":"error"}}']);
  const r = await s3mig(t, ['reconcile', 'inventory:src.ndjson', 'inventory:dst.ndjson', '--report-dir', 'rep'], dir);
  assert.equal(r.code, 2);
  assert.match(r.stdout, /INCOMPLETE/);
  assert.match(r.stdout, /matched\s+2/);
});

test('operator mistakes: one line on stderr naming the thing, exit 2, no stack trace', async (t) => {
  const dir = await inventories(t, [{ key: 'a', size: 1 }, '{"key":"b"}']);
  const cases: [string[], RegExp][] = [
    [['reconcile', 'inventory:nope.ndjson', 'inventory:dst.ndjson'], /^s3mig: cannot read source inventory file nope\.ndjson: no such file$/],
    [['reconcile', 'inventory:src.ndjson', 'inventory:dst.ndjson'], /^s3mig: dst\.ndjson line 2: entry "b" has no "size"$/],
    [['reconcile', 'inventory:src.ndjson'], /^s3mig: Not enough non-option arguments: got 1, need at least 2 \(see s3mig --help\)$/],
    [['reconcile', 'inventory:src.ndjson', 'bogus'], /^s3mig: target "bogus" is neither inventory:FILE nor ALIAS\/BUCKET\[\/PREFIX\]$/],
    [['frobnicate'], /^s3mig: Unknown argument: frobnicate \(see s3mig --help\)$/],
    [['reconcile', 'inventory:src.ndjson', 'inventory:dst.ndjson', '--bogus-flag'], /^s3mig: Unknown arguments?: bogus-flag/],
    [['reconcile', 'inventory:src.ndjson', 'inventory:dst.ndjson', '--cross-check', 'mc-diff'], /^s3mig: --cross-check mc-diff needs two live targets \(ALIAS\/BUCKET\[\/PREFIX\]\); mc diff cannot read a saved inventory$/],
    [['reconcile', 'inventory:src.ndjson', 'inventory:dst.ndjson', '--engine', 'rclone'], /^s3mig: Invalid values:/],
    [['reconcile', 'inventory:src.ndjson', 'inventory:dst.ndjson', '--list-concurrency', '0'], /^s3mig: --list-concurrency must be a whole number from 1 to 256, not 0$/],
    [['fix', 'nojob', '--concurrency', '1.5'], /^s3mig: --concurrency must be a whole number from 1 to 256, not 1\.5$/],
    [['fix', 'nojob'], /nojob/],
  ];
  for (const [args, re] of cases) {
    const r = await s3mig(t, args, dir);
    assert.equal(r.code, 2, args.join(' '));
    assert.match(r.stderr, re, args.join(' '));
    assert.equal(r.stderr.trimEnd().split('\n').length, 1, `one line for ${args.join(' ')}: ${r.stderr}`);
    assert.doesNotMatch(r.stderr, /\bat .*\.ts:\d+/);
  }
});

test('a CA bundle that cannot be read is a one-line error naming it', async (t) => {
  const dir = await inventories(t, CLEAN);
  const r = await s3mig(t, ['reconcile', 'a/bucket', 'inventory:dst.ndjson', '--ca-bundle', 'missing.pem'], dir, { MC_HOST_a: 'https://K:S@127.0.0.1:9' });
  assert.equal(r.code, 2);
  assert.equal(r.stderr, `s3mig: cannot read CA bundle ${dir}/missing.pem: ENOENT`);
});

test('jobs lists every job of the state directory from its job.json', async (t) => {
  const dir = await inventories(t, CLEAN);
  const empty = await s3mig(t, ['jobs'], dir);
  assert.equal(empty.code, 0);
  assert.equal(empty.stdout, 'no jobs');
  const run = await s3mig(t, ['reconcile', 'inventory:src.ndjson', 'inventory:dst.ndjson', '--report-dir', 'rep', '--json'], dir);
  const jobId = JSON.parse(run.stdout.split('\n')[0]!).jobId as string;
  await s3mig(t, ['reconcile', 'inventory:src.ndjson', 'inventory:missing.ndjson'], dir);
  const r = await s3mig(t, ['jobs'], dir);
  assert.equal(r.code, 0);
  const rows = r.stdout.trimEnd().split('\n');
  assert.match(rows[0]!, /^JOB\s+STATE\s+STARTED\s+TARGETS\s+COUNTS$/);
  assert.equal(rows.length, 3);
  assert.match(rows[1]!, new RegExp(`^${jobId}\\s+completed\\s+\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\dZ\\s+inventory:src.ndjson -> inventory:dst.ndjson\\s+matched 2, missing 0, extra 0, size 0, etag 0, unverified 1$`));
  assert.match(rows[2]!, /\sfailed\s/);
  const json = await s3mig(t, ['jobs', '--json'], dir);
  const records = json.stdout.trimEnd().split('\n').map((l) => JSON.parse(l));
  assert.equal(records[0].id, jobId);
  assert.equal(records[1].error.code, 'S3MIG_INVENTORY_UNREADABLE');
});

test('--help lists the commands; the sample inventories hold every kind of difference', async (t) => {
  const dir = await tempDir(t);
  const help = await s3mig(t, ['--help'], dir);
  assert.equal(help.code, 0);
  for (const c of ['reconcile <source> <dest>', 'migrate <source> <dest>', 'jobs', 'demo']) assert.ok(help.stdout.includes(c), c);
  const samples = fileURLToPath(new URL('../../sample-data/', import.meta.url));
  const r = await s3mig(t, ['reconcile', `inventory:${samples}source.ndjson`, `inventory:${samples}dest.ndjson.gz`, '--report-dir', 'rep'], dir);
  assert.equal(r.code, 1, r.stderr);
  const summary = JSON.parse(await readFile(join(dir, 'rep', 'summary.json'), 'utf8'));
  for (const c of ['matched', 'missing', 'extra', 'sizeMismatch', 'etagMismatch', 'unverified']) {
    assert.ok(summary.counts[c] > 0, `the sample data has ${c} keys`);
  }
  assert.equal(summary.duplicates.dest, 1);
});

test('the demo migrates a sample bucket between two local S3 endpoints it starts, with drift, and exits 0', async (t) => {
  const dir = await tempDir(t);
  const demo = await s3mig(t, ['demo', '--report-dir', 'demo-reports'], dir);
  assert.equal(demo.code, 0, demo.stderr);
  assert.match(demo.stdout, /^s3mig demo: two local S3 endpoints on 127\.0\.0\.1/);
  assert.match(demo.stdout, /verdict: DIFFERENCES FOUND \(s3mig migrate would exit 1; the demo exits 0\)/);
  const summary = JSON.parse(await readFile(join(dir, 'demo-reports', 'summary.json'), 'utf8'));
  assert.equal(summary.kind, 'migrate');
  assert.equal(summary.counts.missing, 0, 'the transfer copied everything missing');
  assert.ok(summary.transfer.copied > 0);
  for (const c of ['matched', 'extra', 'sizeMismatch', 'etagMismatch']) assert.ok(summary.counts[c] > 0, `the demo shows ${c} keys`);
  assert.ok(Object.keys(summary.source).includes('endpoint') && summary.source.endpoint.startsWith('http://127.0.0.1:'));
  assert.doesNotMatch(demo.stdout + demo.stderr, /S3RVER@/, 'no credentials on screen');
});

const MC_FIXTURE = fileURLToPath(new URL('../fixtures/mc-record', import.meta.url));

/** Runs a report folder's fix.sh under bash with the recording fixture as `mc`; returns its exit status and the mc calls. */
async function runFixSh(t: TestContext, reportDir: string, env: Record<string, string>) {
  const bin = await tempDir(t, 's3mig-bin-');
  await symlink(MC_FIXTURE, join(bin, 'mc'));
  const record = join(bin, 'record');
  const r = await execa('bash', [join(reportDir, 'fix.sh')], {
    cwd: bin,
    reject: false,
    env: { PATH: `${bin}:${process.env.PATH}`, MC_RECORD: record, ...env },
    extendEnv: false,
  });
  const calls = parseMcRecord(await readFile(record).catch(() => Buffer.alloc(0)));
  return { code: r.exitCode, stderr: r.stderr, calls, files: await readdir(bin) };
}

test('end to end: reconcile --delete-extras writes a fix.sh and fix plan that act on exactly the hostile keys', async (t) => {
  const dir = await tempDir(t);
  const hostile = ['$(touch pwned)', '`touch pwned2`', "'; touch pwned3; '", 'a\nb', 'cr\rx', '\u001b[31mred', 'back\\slash', '-rf', '--help', 'é/e\u0301', '😀 ～', 'x'.repeat(1024)];
  await writeInventory(dir, 'src.ndjson', [...hostile.map((key) => ({ key, size: 1, etag: MD5_A })), { key: 'same', size: 1, etag: MD5_A }, { key: 'a//b', size: 1, etag: MD5_A }]);
  await writeInventory(dir, 'dst.ndjson', [{ key: 'same', size: 1, etag: MD5_A }, { key: 'old/$(reboot)', size: 1, etag: MD5_B }, { key: 'old/x y', size: 1, etag: MD5_B }]);
  const r = await s3mig(t, ['reconcile', 'inventory:src.ndjson', 'inventory:dst.ndjson', '--report-dir', 'rep', '--delete-extras'], dir);
  assert.equal(r.code, 1, r.stderr);

  const plan = (await readFile(join(dir, 'rep', 'fix-plan.ndjson'), 'utf8')).trimEnd().split('\n').map((l) => JSON.parse(l));
  assert.deepEqual(plan.filter((p) => p.engine === 'mc' && p.action === 'copy').map((p) => p.key).sort(), [...hostile].sort());
  assert.deepEqual(plan.filter((p) => p.action === 'delete').map((p) => p.key), ['old/$(reboot)', 'old/x y']);
  assert.deepEqual(plan.filter((p) => p.engine === 'native').map((p) => [p.key, p.action]), [['a//b', 'copy']]);
  assert.deepEqual(plan.find((p) => p.key === '-rf').source, { size: 1, etag: MD5_A, lastModified: '2025-03-04T10:15:30.512Z' });

  // The script refuses to run until both sides (saved inventories here) are named.
  const refused = await runFixSh(t, join(dir, 'rep'), {});
  assert.equal(refused.code, 2);
  assert.deepEqual(refused.calls, []);

  const ran = await runFixSh(t, join(dir, 'rep'), { SRC: 'src/media', DST: 'dst/copy' });
  assert.equal(ran.code, 0, ran.stderr);
  const copies = ran.calls.filter((c) => c[0] === 'cp');
  assert.deepEqual(copies.map((c) => c[1]!.slice('src/media/'.length)).sort(), [...hostile].sort());
  for (const c of copies) assert.equal(c[2], `dst/copy/${c[1]!.slice('src/media/'.length)}`);
  assert.deepEqual(ran.calls.filter((c) => c[0] === 'rm'), [['rm', 'dst/copy/old/$(reboot)'], ['rm', 'dst/copy/old/x y']]);
  assert.equal(ran.calls.length, hostile.length + 2, 'nothing but those mc calls');
  assert.deepEqual(ran.files.filter((f) => f.startsWith('pwned')), [], 'no key ran as a command');
});

test('end to end: an incomplete run writes a fix.sh that deletes nothing, even with --delete-extras', async (t) => {
  const dir = await tempDir(t);
  await writeInventory(dir, 'src.ndjson', [{ key: 'new', size: 1, etag: MD5_A }]);
  await writeInventory(dir, 'dst.ndjson', [{ key: 'extra', size: 1, etag: MD5_A }, '{"status":"error","error":{"message":"Unable to list.","cause":{"message":"Connection reset."},"type":"error"}}']);
  const r = await s3mig(t, ['reconcile', 'inventory:src.ndjson', 'inventory:dst.ndjson', '--report-dir', 'rep', '--delete-extras'], dir);
  assert.equal(r.code, 2);
  const plan = (await readFile(join(dir, 'rep', 'fix-plan.ndjson'), 'utf8')).trimEnd().split('\n').map((l) => JSON.parse(l));
  assert.deepEqual(plan.map((p) => [p.action, p.key]), [['copy', 'new']]);
  const ran = await runFixSh(t, join(dir, 'rep'), { SRC: 'src/b', DST: 'dst/b' });
  assert.deepEqual(ran.calls, [['cp', 'src/b/new', 'dst/b/new']]);
});
