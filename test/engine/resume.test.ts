// Crash and stop tests: a child process killed (or stopped, or out of disk) at each failpoint, then resumed, must
// give the same reports as an uninterrupted run.
import { after, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { Level } from 'level';
import { JobDb } from '../../src/store/job-db.ts';
import { MD5_A, MD5_B, tempDir, writeInventory, type LineSpec } from '../helpers.ts';

const BIN = fileURLToPath(new URL('../../bin/s3mig.js', import.meta.url));
const N = 32_000;
const HOSTILE = ['$(touch pwned)', '`id`', "it's", 'new\nline', 'cr\rx', '-rf', 'a//b', '😀', '\uff5e'];

async function inputs(dir: string): Promise<void> {
  const source: LineSpec[] = [];
  const dest: (LineSpec | string)[] = [];
  for (let i = 0; i < N; i++) {
    const key = `p${i % 7}/${String(i).padStart(6, '0')}-é`;
    source.push({ key, size: i % 50, etag: i % 11 === 0 ? `${MD5_A}-2` : MD5_A });
    if (i % 97 === 0) continue; // missing
    dest.push({ key, size: i % 89 === 0 ? 1000 : i % 50, etag: i % 83 === 0 ? MD5_B : i % 11 === 0 ? `${MD5_B}-3` : MD5_A });
  }
  for (let i = 0; i < 300; i++) dest.push({ key: `zz-extra/${i}`, size: 5, etag: MD5_B });
  for (const key of HOSTILE) source.push({ key, size: 3, etag: MD5_A });
  dest.push('{"totalObjects":1,"totalSize":1}');
  await writeInventory(dir, 'src.ndjson', source);
  await writeInventory(dir, 'dst.ndjson.gz', dest, true);
}

interface Run {
  code: number | undefined;
  signal: string | undefined;
  stdout: string;
  stderr: string;
}

async function s3mig(t: TestContext, dir: string, args: string[], env: Record<string, string> = {}): Promise<Run> {
  const child = execa('node', [BIN, ...args], {
    cwd: dir,
    reject: false,
    env: { S3MIG_STATE_DIR: join(dir, 'state'), S3MIG_FAILPOINT: '', ...env },
    cancelSignal: t.signal,
  });
  t.after(() => {
    child.kill('SIGKILL');
  });
  const r = await child;
  return { code: r.exitCode, signal: r.signal, stdout: r.stdout, stderr: r.stderr };
}

const REPORTS = ['differences.ndjson', 'differences.csv', 'fix.sh', 'fix-plan.ndjson'];

/** The reports of a run with what may differ between runs (job id, folders, timings, rates, memory) taken out. */
async function reports(dir: string, jobId: string): Promise<Record<string, unknown>> {
  const runDir = join(dir, '..');
  const read = async (f: string) => (await readFile(join(dir, f), 'utf8')).replaceAll(jobId, 'JOB').replaceAll(runDir, 'DIR');
  const out: Record<string, unknown> = {};
  for (const f of REPORTS) out[f] = await read(f);
  const s = JSON.parse(await read('summary.json'));
  delete s.job;
  delete s.timings;
  delete s.rates;
  delete s.peakRssBytes;
  delete s.reports;
  out['summary.json'] = s;
  return out;
}

/**
 * Each side's checkpoint names exactly the entries its database holds (every input key is distinct): a
 * batch and its checkpoint land together or not at all, wherever the process stopped.
 */
async function assertCheckpointsMatchEntries(dir: string, jobId: string): Promise<void> {
  const db = await JobDb.open(join(dir, 'state', 'jobs', jobId, 'db'));
  try {
    for (const side of ['source', 'dest'] as const) {
      const cp = await db.side(side).getJson<{ entries: number }>('ingest');
      let stored = 0;
      for await (const rows of db.side(side).entries()) stored += rows.length;
      assert.equal(cp?.entries ?? 0, stored, `${side}: the checkpoint counts the entries stored`);
    }
  } finally {
    await db.close();
  }
}

const jobIdOf = (stdout: string) => JSON.parse(stdout.split('\n')[0]!).jobId as string;

// Shared by every test of this file, so removed when the file is done rather than after the first test.
const baselineDir = mkdtemp(join(tmpdir(), 's3mig-baseline-'));
after(async () => rm(await baselineDir, { recursive: true, force: true }));

let baseline: Promise<{ dir: string; reports: Record<string, unknown> }> | undefined;
function getBaseline(t: TestContext) {
  baseline ??= (async () => {
    const dir = await baselineDir;
    await inputs(dir);
    const r = await s3mig(t, dir, ['reconcile', 'inventory:src.ndjson', 'inventory:dst.ndjson.gz', '--report-dir', 'base', '--json']);
    assert.equal(r.code, 1, r.stderr);
    return { dir, reports: await reports(join(dir, 'base'), jobIdOf(r.stdout)) };
  })();
  return baseline;
}

/** Fresh inputs in a new folder, reconciled with --json and the failpoint armed; reports go to rep/. */
async function reconcileWithFailpoint(t: TestContext, fp: string): Promise<{ dir: string; run: Run }> {
  const dir = await tempDir(t);
  await inputs(dir);
  const run = await s3mig(t, dir, ['reconcile', 'inventory:src.ndjson', 'inventory:dst.ndjson.gz', '--report-dir', 'rep', '--json'], {
    S3MIG_FAILPOINT: fp,
  });
  return { dir, run };
}

// ingest:before-batch@3: the third batch to start is some side's second, which starts only after that
// side's first has landed with its checkpoint, so the resumed run has something to continue from.
// ingest:entries-written: a batch's entries and its seal (with the checkpoint) are stored, the copy of
// the checkpoint in the job's metadata is not; opening the job makes that copy.
const KILLS = [
  'ingest:before-batch@3',
  'ingest:entries-written@3',
  'ingest:after-batch@3',
  'compare:before-checkpoint@2',
  'compare:after-checkpoint@1',
  'report:before-rename',
  'report:before-summary',
  'report:before-state',
];

for (const fp of KILLS) {
  test(`killed at ${fp}, resumed: the same reports as an uninterrupted run`, async (t) => {
    const base = await getBaseline(t);
    const { dir, run: killed } = await reconcileWithFailpoint(t, fp);
    assert.equal(killed.signal, 'SIGKILL', `the failpoint killed the process (${killed.stderr})`);
    const id = jobIdOf(killed.stdout);
    if (fp.startsWith('ingest:')) await assertCheckpointsMatchEntries(dir, id);
    const resumed = await s3mig(t, dir, ['resume', id, '--json']);
    assert.equal(resumed.code, 1, resumed.stderr);
    const events = resumed.stdout.trimEnd().split('\n').map((l) => JSON.parse(l) as { type: string; message?: string });
    assert.equal(events.at(-1)!.type, 'summary');
    // The resumed run continued from its checkpoints rather than starting over.
    const continued = events.filter((e) => e.type === 'log' && /^(source|dest|compare): continuing after /.test(e.message ?? ''));
    if (fp.startsWith('ingest:')) {
      const side = continued.find((e) => /^(source|dest):/.test(e.message!));
      assert.ok(side, 'an inventory continued');
      // The checkpoint names the input position and the last key stored.
      assert.match(side.message!, /^(source|dest): continuing after line [\d,]+ \([\d,]+ entries stored, the last "p\d\/\d{6}-é"\)$/);
    }
    if (fp.startsWith('compare:')) assert.ok(continued.some((e) => /^compare: continuing after .* \(10,000 keys compared\)$/.test(e.message!)), 'the comparison continued');
    if (fp.startsWith('report:')) assert.ok(!events.some((e) => e.type === 'compare:progress' || e.type === 'inventory:progress'), 'nothing read again');
    assert.deepEqual(await reports(join(dir, 'rep'), id), base.reports);
    const jobs = await s3mig(t, dir, ['jobs', '--json']);
    assert.equal(JSON.parse(jobs.stdout).state, 'completed-with-differences');
  });
}

for (const [sig, fp] of [
  ['SIGTERM', 'ingest:after-batch@2=sigterm'],
  ['SIGINT', 'compare:after-checkpoint@1=sigint'],
  ['SIGHUP', 'ingest:after-batch@3=sighup'],
] as const) {
  test(`${sig} pauses at a batch boundary; resume finishes with the same reports`, async (t) => {
    const base = await getBaseline(t);
    const { dir, run: stopped } = await reconcileWithFailpoint(t, fp);
    assert.equal(stopped.code, 2);
    const id = jobIdOf(stopped.stdout);
    assert.equal(stopped.stderr.trim(), `s3mig: job ${id} paused (stopped by ${sig}); continue with: s3mig resume ${id}`);
    const record = JSON.parse(await readFile(join(dir, 'state', 'jobs', id, 'job.json'), 'utf8'));
    assert.equal(record.state, 'paused');
    assert.equal(record.pausedIn, fp.startsWith('ingest') ? 'collecting-inventory' : 'comparing');
    const resumed = await s3mig(t, dir, ['resume', id]);
    assert.equal(resumed.code, 1, resumed.stderr);
    assert.deepEqual(await reports(join(dir, 'rep'), id), base.reports);
  });
}

for (const fp of ['ingest:before-batch@3=enospc', 'ingest:entries-written@3=enospc', 'compare:before-checkpoint@2=enospc']) {
  test(`a full disk (${fp}) pauses the job with a clear message; resume continues`, async (t) => {
    const base = await getBaseline(t);
    const { dir, run: full } = await reconcileWithFailpoint(t, fp);
    assert.equal(full.code, 2);
    const id = jobIdOf(full.stdout);
    assert.match(full.stderr, new RegExp(`^s3mig: job ${id} paused \\(disk full: ENOSPC: no space left on device \\(failpoint [a-z:-]+\\)\\); continue with: s3mig resume ${id}$`));
    if (fp.startsWith('ingest:')) await assertCheckpointsMatchEntries(dir, id);
    const resumed = await s3mig(t, dir, ['resume', id]);
    assert.equal(resumed.code, 1, resumed.stderr);
    assert.deepEqual(await reports(join(dir, 'rep'), id), base.reports);
  });
}

test('report JOB rewrites every report from stored data; resume refuses finished, unknown and held jobs', async (t) => {
  const base = await getBaseline(t);
  const dir = base.dir;
  const list = await s3mig(t, dir, ['jobs', '--json']);
  const id = JSON.parse(list.stdout.split('\n')[0]!).id as string;
  const again = await s3mig(t, dir, ['report', id, '--report-dir', 'again', '--json']);
  assert.equal(again.code, 1, again.stderr);
  assert.deepEqual(await reports(join(dir, 'again'), id), base.reports);

  const finished = await s3mig(t, dir, ['resume', id]);
  assert.equal(finished.code, 2);
  assert.equal(finished.stderr.trim(), `s3mig: job ${id} is completed-with-differences; nothing to resume (rewrite its reports with: s3mig report ${id})`);
  const unknown = await s3mig(t, dir, ['resume', 'no-such-job']);
  assert.equal(unknown.code, 2);
  assert.equal(unknown.stderr.trim(), `s3mig: no job no-such-job in ${join(dir, 'state')}`);

  const held = await JobDb.open(join(dir, 'state', 'jobs', id, 'db'));
  t.after(() => held.close());
  const locked = await s3mig(t, dir, ['report', id]);
  assert.equal(locked.code, 2);
  assert.match(locked.stderr, new RegExp(`^s3mig: job ${id} is held by another s3mig process \\(pid \\d+ per job\\.json\\)$`));
});

test('a job written by an incompatible schema version is refused, never misread', async (t) => {
  const dir = await tempDir(t);
  await inputs(dir);
  const killed = await s3mig(t, dir, ['reconcile', 'inventory:src.ndjson', 'inventory:dst.ndjson.gz', '--json'], { S3MIG_FAILPOINT: 'compare:after-checkpoint@1' });
  assert.equal(killed.signal, 'SIGKILL');
  const id = jobIdOf(killed.stdout);
  const raw = new Level<string, string>(join(dir, 'state', 'jobs', id, 'db', 'main'));
  await raw.sublevel<string, string>('meta', {}).put('schema', '0');
  await raw.close();
  const r = await s3mig(t, dir, ['resume', id]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /^s3mig: the job database .*\/db has schema version 0; this s3mig reads version 2$/);
});

test('a resume refuses an inventory file that changed since the job started', async (t) => {
  const dir = await tempDir(t);
  await inputs(dir);
  const killed = await s3mig(t, dir, ['reconcile', 'inventory:src.ndjson', 'inventory:dst.ndjson.gz', '--json'], { S3MIG_FAILPOINT: 'ingest:after-batch@1' });
  const id = jobIdOf(killed.stdout);
  await writeInventory(dir, 'src.ndjson', [{ key: 'other', size: 1 }]);
  const r = await s3mig(t, dir, ['resume', id]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /^s3mig: source inventory file src\.ndjson changed since the job started \(size \d+ -> \d+\); start a new reconcile$/);
});
