import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { MD5_A, MD5_B, tempDir, writeInventory } from '../helpers.ts';

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
  ];
  for (const [args, re] of cases) {
    const r = await s3mig(t, args, dir);
    assert.equal(r.code, 2, args.join(' '));
    assert.match(r.stderr, re, args.join(' '));
    assert.equal(r.stderr.trimEnd().split('\n').length, 1, `one line for ${args.join(' ')}: ${r.stderr}`);
    assert.doesNotMatch(r.stderr, /\bat .*\.ts:\d+/);
  }
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

test('--help lists the commands; the demo reconciles the sample data and exits 0', async (t) => {
  const dir = await tempDir(t);
  const help = await s3mig(t, ['--help'], dir);
  assert.equal(help.code, 0);
  for (const c of ['reconcile <source> <dest>', 'jobs', 'demo']) assert.ok(help.stdout.includes(c), c);
  const demo = await s3mig(t, ['demo', '--report-dir', 'demo-reports'], dir);
  assert.equal(demo.code, 0, demo.stderr);
  assert.match(demo.stdout, /DIFFERENCES FOUND/);
  const summary = JSON.parse(await readFile(join(dir, 'demo-reports', 'summary.json'), 'utf8'));
  for (const c of ['matched', 'missing', 'extra', 'sizeMismatch', 'etagMismatch', 'unverified']) {
    assert.ok(summary.counts[c] > 0, `the sample data has ${c} keys`);
  }
  assert.equal(summary.duplicates.dest, 1);
});
