// `s3mig migrate` against a real local S3 server: a bucket with drift (some objects already copied, some
// stale in size or content, extras) migrated plain, then with --overwrite --fix --delete-extras; kills in
// the transfer and in the inventory, then resume; a destination failing copies (retried, or left in the
// failed queue for `s3mig retry`); filters; a dry run; the same migration through the fixture mc;
// --limit-upload (streamed copies between two servers, server-side copies, mc's global flag).
//
// One s3rver serves the file; each test migrates buckets of its own. Every proxy and child process is
// stopped in t.after.
import { after, before, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { CreateBucketCommand, GetObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { startLocalS3, type LocalS3 } from '../../src/testing/s3-server.ts';
import { startFaultProxy } from '../../src/testing/fault-proxy.ts';
import { connect, type S3Connection } from '../../src/s3/client.ts';
import { Secret } from '../../src/core/secret.ts';
import { sendControl } from '../../src/engine/control.ts';
import { allFiles, tempDir } from '../helpers.ts';
import { eventsOf, jobIdOf, logText, mcHost, putObjects, readRows, readSummary, runS3mig, type Event } from '../live-harness.ts';

/** The source: top-level and nested objects, non-ASCII keys, a folder marker. */
const SRC: Record<string, string> = {
  'a.txt': 'alpha',
  'b.txt': 'bravo',
  'stale-size.txt': 'the source is longer',
  'stale-etag.txt': 'AAAA',
  'docs/readme.md': 'readme',
  'docs/guide/one.md': 'one',
  'docs/guide/two.md': 'two',
  'photos/é/ü.png': 'png',
  'x/\u{1F600}': 'smile',
  'logs/2024/app.log': 'log line',
  'logs/2025/app.log': 'log line 2',
  'marker/': '',
};
/** The destination before the migration: some copied already, two stale, two extras. */
const DRIFT: Record<string, string> = {
  'a.txt': 'alpha',
  'docs/readme.md': 'readme',
  'stale-size.txt': 'short',
  'stale-etag.txt': 'BBBB',
  'extra.txt': 'only here',
  'old/gone.txt': 'only here too',
};

let server: LocalS3;
let seeder: S3Connection;
let bucketNo = 0;

before(async () => {
  server = await startLocalS3({ buckets: [] });
  seeder = connect({ url: server.endpoint, region: 'us-east-1', pathStyle: true }, { accessKey: server.accessKey, secretKey: new Secret(server.secretKey) });
});
after(async () => {
  seeder?.destroy();
  await server?.stop();
});

const seed = (bucket: string, objects: Record<string, string>) => putObjects(seeder, bucket, objects, 8);

/** A fresh pair of buckets: the source and a drifted destination. */
async function buckets(dst: Record<string, string> = DRIFT): Promise<{ src: string; dst: string }> {
  const n = ++bucketNo;
  const src = `src${n}`;
  const dstName = `dst${n}`;
  await seeder.client.send(new CreateBucketCommand({ Bucket: src }));
  await seeder.client.send(new CreateBucketCommand({ Bucket: dstName }));
  await Promise.all([seed(src, SRC), seed(dstName, dst)]);
  return { src, dst: dstName };
}

/** Every object of a bucket with its content. */
async function contents(bucket: string, conn: S3Connection = seeder): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  let token: string | undefined;
  do {
    const page = await conn.client.send(new ListObjectsV2Command({ Bucket: bucket, ...(token ? { ContinuationToken: token } : {}) }));
    for (const o of page.Contents ?? []) {
      const got = await conn.client.send(new GetObjectCommand({ Bucket: bucket, Key: o.Key! }));
      out[o.Key!] = await got.Body!.transformToString();
    }
    token = page.NextContinuationToken;
  } while (token);
  return out;
}

/** s3rver checks the access key only, so a secret of our own shows where it could leak. */
const SECRET = 'migrate-secret-51d0';

/** `node bin/s3mig.js ARGS` in `cwd` with no mc on PATH (or the fixture first), alias `s` on the local server; killed when the test ends. */
const s3mig = (t: TestContext, cwd: string, args: string[], env: Record<string, string> = {}, withMc = false) =>
  runS3mig(t, cwd, args, { MC_HOST_s: mcHost(server.endpoint, SECRET), ...env }, { mcOnPath: withMc, timeout: 120_000 });

const statesOf = (events: Event[]) => events.filter((e) => e.type === 'job:state').map((e) => String(e.state));

/** What a plain migration must leave: everything of the source, the stale objects as they were, the extras. */
const afterPlain = () => ({ ...SRC, 'stale-size.txt': DRIFT['stale-size.txt']!, 'stale-etag.txt': DRIFT['stale-etag.txt']!, 'extra.txt': DRIFT['extra.txt']!, 'old/gone.txt': DRIFT['old/gone.txt']! });

test('migrate: copies what is missing, never replaces without --overwrite; stale objects and extras are reported', async (t) => {
  const { src, dst } = await buckets();
  const dir = await tempDir(t, 's3mig-migrate-');
  const r = await s3mig(t, dir, ['migrate', `s/${src}`, `s/${dst}`, '--engine', 'native', '--json', '--report-dir', 'rep']);
  assert.equal(r.code, 1, r.stderr);
  const events = eventsOf(r.stdout);
  assert.deepEqual(statesOf(events), ['validating', 'estimating', 'preparing', 'transferring', 'collecting-inventory', 'comparing', 'generating-report', 'completed-with-differences']);
  assert.deepEqual(await contents(dst), afterPlain());
  const summary = await readSummary(join(dir, 'rep'));
  assert.equal(summary.kind, 'migrate');
  const copied = Object.keys(SRC).filter((k) => !(k in DRIFT)).length;
  assert.deepEqual({ planned: summary.transfer?.planned?.objects, copied: summary.transfer?.copied, failed: summary.transfer?.failed }, { planned: copied, copied, failed: 0 });
  assert.deepEqual(
    (await readRows(join(dir, 'rep', 'differences.ndjson'))).map((x) => [x.key, x.category]),
    [['extra.txt', 'extra'], ['old/gone.txt', 'extra'], ['stale-etag.txt', 'etagMismatch'], ['stale-size.txt', 'sizeMismatch']],
  );
  const last = events.filter((e) => e.type === 'transfer:progress').pop() as Event & { objects: number; totalObjects: number; done: boolean; etaSeconds: number };
  assert.deepEqual({ objects: last.objects, total: last.totalObjects, done: last.done, eta: last.etaSeconds }, { objects: copied, total: copied, done: true, eta: 0 });
  // Inventory progress is measured against the estimate, with the time left.
  const inv = events.filter((e) => e.type === 'inventory:progress' && e.side === 'source' && e.done).pop() as Event & { totalEntries: number; etaSeconds: number };
  assert.deepEqual({ total: inv.totalEntries, eta: inv.etaSeconds }, { total: Object.keys(SRC).length, eta: 0 });
});

test('migrate without --json prints the transfer in its summary', async (t) => {
  const { src, dst } = await buckets();
  const dir = await tempDir(t, 's3mig-migrate-human-');
  const r = await s3mig(t, dir, ['migrate', `s/${src}`, `s/${dst}`, '--engine', 'native', '--report-dir', 'rep']);
  assert.equal(r.code, 1, r.stderr);
  const copied = Object.keys(SRC).filter((k) => !(k in DRIFT)).length;
  assert.match(r.stdout, /^s3mig migrate   job \S+$/m);
  assert.match(r.stdout, new RegExp(`^  transfer       ${copied} copied \\(\\d+ B\\), 0 failed$`, 'm'));
  assert.match(r.stdout, /time: .*\(transfer \d/);
});

test('migrate --overwrite --fix --delete-extras: completed, and a reconcile afterwards is clean', async (t) => {
  const { src, dst } = await buckets();
  const dir = await tempDir(t, 's3mig-migrate-fix-');
  const r = await s3mig(t, dir, ['migrate', `s/${src}`, `s/${dst}`, '--engine', 'native', '--overwrite', '--fix', '--delete-extras', '--json', '--report-dir', 'rep']);
  assert.equal(r.code, 0, r.stderr);
  const events = eventsOf(r.stdout);
  const states = statesOf(events);
  assert.equal(states.at(-1), 'completed');
  assert.ok(states.includes('fixing'), 'the extras were deleted in a fix round');
  assert.deepEqual(await contents(dst), SRC);
  const summary = await readSummary(join(dir, 'rep'));
  assert.equal(summary.fixRounds, 1);
  assert.equal(summary.outcome, 'clean');
  const check = await s3mig(t, dir, ['reconcile', `s/${src}`, `s/${dst}`, '--engine', 'native', '--report-dir', 'check']);
  assert.equal(check.code, 0, check.stdout + check.stderr);
  // The audit trail, job.json, the database and the reports never hold the secret.
  for (const f of await allFiles(dir)) assert.ok(!f.bytes.includes(SECRET), `the secret is in ${f.path}`);
  assert.ok(!r.stdout.includes(SECRET) && !r.stderr.includes(SECRET));
  const log = (await readFile(join(dir, 'state', 'jobs', summary.job, 'events.ndjson'), 'utf8')).split('\n').filter(Boolean).map((l) => JSON.parse(l) as Event);
  assert.deepEqual(statesOf(log), statesOf(events), 'events.ndjson holds every state change the run printed');
});

test('migrate --fix killed in its fix round (fix:after-copy), resumed: the round goes on and the job completes', async (t) => {
  const { src, dst } = await buckets();
  const dir = await tempDir(t, 's3mig-migrate-fix-kill-');
  // Without --overwrite the stale objects wait for the fix round; the kill comes after its first copy.
  const killed = await s3mig(t, dir, ['migrate', `s/${src}`, `s/${dst}`, '--engine', 'native', '--fix', '--delete-extras', '--concurrency', '1', '--json', '--report-dir', 'rep'], {
    S3MIG_FAILPOINT: 'fix:after-copy@1',
  });
  assert.equal(killed.code, undefined, killed.stderr);
  const id = jobIdOf(killed.stdout);
  assert.equal(JSON.parse(await readFile(join(dir, 'state', 'jobs', id, 'job.json'), 'utf8')).state, 'fixing');
  const resumed = await s3mig(t, dir, ['resume', id, '--json']);
  assert.equal(resumed.code, 0, resumed.stderr);
  assert.deepEqual(await contents(dst), SRC);
  const summary = await readSummary(join(dir, 'rep'));
  assert.deepEqual([summary.outcome, summary.fixRounds], ['clean', 1]);
});

test('killed during the transfer (transfer:after-copy@3), resumed: completed, every object once and verified, none copied twice', async (t) => {
  const { src, dst } = await buckets();
  const dir = await tempDir(t, 's3mig-migrate-kill-');
  const killed = await s3mig(t, dir, ['migrate', `s/${src}`, `s/${dst}`, '--engine', 'native', '--overwrite', '--concurrency', '1', '--json', '--report-dir', 'rep'], {
    S3MIG_FAILPOINT: 'transfer:after-copy@3',
  });
  assert.equal(killed.code, undefined, 'killed by its failpoint');
  const id = jobIdOf(killed.stdout);
  const resumed = await s3mig(t, dir, ['resume', id, '--json']);
  assert.equal(resumed.code, 1, resumed.stderr);
  const summary = await readSummary(join(dir, 'rep'));
  const toCopy = Object.keys(SRC).filter((k) => SRC[k] !== DRIFT[k]).length;
  // Two copies were confirmed before the kill; the third was copied but not recorded, so it is copied again.
  assert.deepEqual({ copied: summary.transfer?.copied, skipped: summary.transfer?.skipped }, { copied: toCopy - 2, skipped: 2 });
  assert.deepEqual(summary.counts.missing + summary.counts.sizeMismatch + summary.counts.etagMismatch, 0);
  assert.deepEqual(await contents(dst), { ...SRC, 'extra.txt': DRIFT['extra.txt']!, 'old/gone.txt': DRIFT['old/gone.txt']! });
});

test('stopped (SIGTERM) during the transfer: copies in flight finish and are recorded, the job pauses; resume completes it', async (t) => {
  const { src, dst } = await buckets({});
  const dir = await tempDir(t, 's3mig-migrate-pause-');
  const stopped = await s3mig(t, dir, ['migrate', `s/${src}`, `s/${dst}`, '--engine', 'native', '--concurrency', '4', '--json', '--report-dir', 'rep'], {
    S3MIG_FAILPOINT: 'transfer:after-copy@2=sigterm',
  });
  const id = jobIdOf(stopped.stdout);
  assert.equal(stopped.code, 2, stopped.stderr);
  assert.equal(stopped.stderr.trim(), `s3mig: job ${id} paused (stopped by SIGTERM); continue with: s3mig resume ${id}`);
  const job = JSON.parse(await readFile(join(dir, 'state', 'jobs', id, 'job.json'), 'utf8'));
  assert.deepEqual([job.state, job.pausedIn], ['paused', 'transferring']);
  const resumed = await s3mig(t, dir, ['resume', id, '--json']);
  assert.equal(resumed.code, 0, resumed.stderr);
  const summary = await readSummary(join(dir, 'rep'));
  const all = Object.keys(SRC).length;
  assert.ok(summary.transfer!.skipped >= 2, `the copies before the stop are not made again (skipped ${summary.transfer!.skipped})`);
  assert.equal(summary.transfer!.copied + summary.transfer!.skipped, all);
  assert.equal(summary.transfer!.failed, 0);
  assert.deepEqual(await contents(dst), SRC);
});

test('killed while taking the inventories after the transfer, resumed: the same verdicts', async (t) => {
  const { src, dst } = await buckets();
  const dir = await tempDir(t, 's3mig-migrate-kill-inv-');
  const killed = await s3mig(t, dir, ['migrate', `s/${src}`, `s/${dst}`, '--engine', 'native', '--json', '--report-dir', 'rep'], {
    // The listings before the transfer take 13 batches; the kill comes in the listing after it.
    S3MIG_FAILPOINT: 'ingest:after-batch@18',
  });
  assert.equal(killed.code, undefined, killed.stderr);
  assert.ok(statesOf(eventsOf(killed.stdout)).includes('collecting-inventory'), 'killed after the transfer');
  const resumed = await s3mig(t, dir, ['resume', jobIdOf(killed.stdout), '--json']);
  assert.equal(resumed.code, 1, resumed.stderr);
  assert.deepEqual(
    (await readRows(join(dir, 'rep', 'differences.ndjson'))).map((x) => [x.key, x.category]),
    [['extra.txt', 'extra'], ['old/gone.txt', 'extra'], ['stale-etag.txt', 'etagMismatch'], ['stale-size.txt', 'sizeMismatch']],
  );
  assert.deepEqual(await contents(dst), afterPlain());
});

test('a destination failing copies: retries finish the job; a key that keeps failing goes to the failed queue, and retry copies it', async (t) => {
  const { src, dst } = await buckets({});
  const proxy = await startFaultProxy({ upstream: server.endpoint });
  t.after(() => proxy.stop());
  // Through the proxy the destination is another server: copies stream GET -> PUT, and PUTs fail.
  proxy.addRule({ match: { method: 'PUT', path: new RegExp(`^/${dst}/b\\.txt$`) }, fault: 'internalError', times: 2 });
  const stuck = proxy.addRule({ match: { method: 'PUT', path: new RegExp(`^/${dst}/docs/guide/two\\.md$`) }, fault: 'accessDenied' });
  const dir = await tempDir(t, 's3mig-migrate-faults-');
  const r = await s3mig(t, dir, ['migrate', `s/${src}`, `p/${dst}`, '--engine', 'native', '--json', '--report-dir', 'rep'], { MC_HOST_p: mcHost(proxy.endpoint, SECRET) });
  assert.equal(r.code, 1, r.stderr);
  const summary = await readSummary(join(dir, 'rep'));
  assert.equal(summary.outcome, 'differences', 'never completed with an object missing');
  assert.deepEqual(summary.transfer?.failures.map((f) => f.key), ['docs/guide/two.md']);
  assert.match(summary.transfer!.failures[0]!.error, /AccessDenied/);
  assert.deepEqual((await readRows(join(dir, 'rep', 'differences.ndjson'))).map((x) => [x.key, x.category]), [['docs/guide/two.md', 'missing']]);
  assert.ok(summary.recommendations.some((x) => x.includes(`s3mig retry ${summary.job}`)), summary.recommendations.join('\n'));
  assert.ok((await contents(dst))['b.txt'] === SRC['b.txt'], 'the object that failed twice was copied on its retry');

  stuck();
  const retried = await s3mig(t, dir, ['retry', summary.job, '--json'], { MC_HOST_p: mcHost(proxy.endpoint, SECRET) });
  assert.equal(retried.code, 0, retried.stderr);
  const after_ = await readSummary(join(dir, 'rep'));
  assert.equal(after_.outcome, 'clean');
  assert.equal(after_.transfer?.failed, 0, 'the failed queue is empty');
  assert.deepEqual(await contents(dst), SRC);
});

test('filters: excluded keys are neither copied nor reported; --older-than leaves out what is newer', async (t) => {
  const { src, dst } = await buckets({});
  const dir = await tempDir(t, 's3mig-migrate-filter-');
  const r = await s3mig(t, dir, ['migrate', `s/${src}`, `s/${dst}`, '--engine', 'native', '--exclude', 'logs/*', '--exclude', '*.png', '--json', '--report-dir', 'rep']);
  assert.equal(r.code, 0, r.stderr);
  const copied = await contents(dst);
  assert.deepEqual(Object.keys(copied).sort(), Object.keys(SRC).filter((k) => !k.startsWith('logs/') && !k.endsWith('.png')).sort());
  const summary = await readSummary(join(dir, 'rep'));
  assert.deepEqual(summary.excluded, { keys: 3, source: 3, dest: 0 });
  assert.equal(summary.counts.missing, 0, 'an excluded key is never reported as missing');

  const { src: src2, dst: dst2 } = await buckets({});
  const old = await s3mig(t, join(dir, 'old'), ['migrate', `s/${src2}`, `s/${dst2}`, '--engine', 'native', '--older-than', '1d', '--json', '--report-dir', 'rep']);
  assert.equal(old.code, 0, old.stderr);
  assert.deepEqual(await contents(dst2), {}, 'every object is younger than a day');
  assert.equal((await readSummary(join(dir, 'old', 'rep'))).excluded?.keys, Object.keys(SRC).length);
  const bad = await s3mig(t, join(dir, 'bad'), ['migrate', `s/${src2}`, `s/${dst2}`, '--newer-than', 'yesterday']);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /^s3mig: --newer-than "yesterday": expected a duration like 7d10h/);
});

test('--dry-run changes nothing and lists what the transfer would copy', async (t) => {
  const { src, dst } = await buckets();
  const dir = await tempDir(t, 's3mig-migrate-dry-');
  const r = await s3mig(t, dir, ['migrate', `s/${src}`, `s/${dst}`, '--engine', 'native', '--dry-run', '--overwrite', '--fix', '--json', '--report-dir', 'rep']);
  assert.equal(r.code, 1, r.stderr);
  assert.deepEqual(await contents(dst), DRIFT);
  const plan = (await readRows(join(dir, 'rep', 'transfer-plan.ndjson'))).map((x) => x.key);
  assert.deepEqual(plan, Object.keys(SRC).filter((k) => SRC[k] !== DRIFT[k]).sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b))));
  const summary = await readSummary(join(dir, 'rep'));
  assert.equal(summary.transfer?.dryRun, true);
  assert.ok(summary.recommendations[0]!.startsWith('Dry run: the transfer would copy'));
  assert.ok(!statesOf(eventsOf(r.stdout)).includes('fixing'), 'a dry run never fixes');
});

test('the same migration through mc (the fixture in live mode): mc mirror, then the reconciliation confirms', async (t) => {
  const { src, dst } = await buckets();
  const dir = await tempDir(t, 's3mig-migrate-mc-');
  const r = await s3mig(t, dir, ['migrate', `s/${src}`, `s/${dst}`, '--engine', 'mc', '--json', '--report-dir', 'rep'], {}, true);
  assert.equal(r.code, 1, r.stderr);
  assert.deepEqual(await contents(dst), afterPlain());
  const summary = await readSummary(join(dir, 'rep'));
  assert.equal(summary.transfer?.engine, 'mc');
  assert.equal(summary.transfer?.started, Object.keys(SRC).filter((k) => !(k in DRIFT)).length);
  assert.ok(logText(eventsOf(r.stdout)).some((m) => /mc mirror started \d+ copies; the reconciliation confirms/.test(m)));
  assert.deepEqual(
    (await readRows(join(dir, 'rep', 'differences.ndjson'))).map((x) => [x.key, x.category]),
    [['extra.txt', 'extra'], ['old/gone.txt', 'extra'], ['stale-etag.txt', 'etagMismatch'], ['stale-size.txt', 'sizeMismatch']],
  );
});

test('cancel through the socket from a second process while mc mirror runs: canceled, mc stopped, no child left', async (t) => {
  const { src, dst } = await buckets();
  const dir = await tempDir(t, 's3mig-migrate-cancel-');
  const pids = join(dir, 'pids');
  const record = join(dir, 'mc-record.json');
  const env = { MC_LIVE_FAULT: JSON.stringify({ cmd: 'mirror', afterLines: 0, action: 'hang' }), MC_FIXTURE_PIDS: pids, MC_REPLAY_RECORD: record };
  const running = s3mig(t, dir, ['migrate', `s/${src}`, `s/${dst}`, '--engine', 'mc', '--json', '--report-dir', 'rep'], env, true);
  // Wait (no timer decides anything) until mc mirror has started and hangs.
  let jobDir: string | undefined;
  for (;;) {
    const argv: string[] = await readFile(record, 'utf8').then(
      (x) => (JSON.parse(x) as { argv: string[] }).argv,
      () => [], // not written yet
    );
    if (argv.includes('mirror')) {
      const [id] = await readdir(join(dir, 'state', 'jobs'));
      jobDir = join(dir, 'state', 'jobs', id!);
      const status = await sendControl(jobDir, 'status').catch(() => undefined);
      if (status && (status as { state?: string }).state === 'transferring') break;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  const id = jobDir!.split('/').pop()!;
  const cancel = await s3mig(t, join(dir, 'other'), ['cancel', id], { S3MIG_STATE_DIR: join(dir, 'state') });
  assert.equal(cancel.code, 0, cancel.stderr);
  assert.match(cancel.stdout, new RegExp(`^job ${id}: cancel requested \\(pid \\d+\\)`));
  const r = await running;
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, new RegExp(`^s3mig: job ${id} canceled \\(canceled by request from pid \\d+\\); its checkpoints are kept`));
  assert.equal(JSON.parse(await readFile(join(jobDir!, 'job.json'), 'utf8')).state, 'canceled');
  for (const pid of (await readFile(pids, 'utf8')).trim().split('\n').map(Number)) {
    assert.throws(() => process.kill(pid, 0), { code: 'ESRCH' }, `mc pid ${pid} outlived the job`);
  }
  const jobs = await s3mig(t, join(dir, 'other'), ['jobs'], { S3MIG_STATE_DIR: join(dir, 'state') });
  assert.match(jobs.stdout, new RegExp(`^${id}  migrate canceled`, 'm'));
});

const MiB = 1024 * 1024;
const jobRecordOf = async (dir: string, stdout: string) => JSON.parse(await readFile(join(dir, 'state', 'jobs', jobIdOf(stdout), 'job.json'), 'utf8')) as { options: { limitUpload?: number } };
const SERVER_SIDE_NOTE = /^--limit-upload \S+ does not apply to server-side copies/;

test('--limit-upload 1MiB, native, between two servers: the streamed copies keep to the rate; job.json keeps the limit', async (t) => {
  const other = await startLocalS3({ buckets: [] });
  t.after(() => other.stop());
  const otherConn = connect({ url: other.endpoint, region: 'us-east-1', pathStyle: true }, { accessKey: other.accessKey, secretKey: new Secret(other.secretKey) });
  t.after(() => otherConn.destroy());
  const n = ++bucketNo;
  const [src, dst] = [`src${n}`, `dst${n}`];
  await seeder.client.send(new CreateBucketCommand({ Bucket: src }));
  await otherConn.client.send(new CreateBucketCommand({ Bucket: dst }));
  // 3 MiB and a little: at 1 MiB/s from an empty bucket, at least 3 s however many copies run at once.
  const objects = { 'one.bin': 'a'.repeat(MiB), 'two.bin': 'b'.repeat(MiB), 'deep/three.bin': 'c'.repeat(MiB), 'small.txt': 'tiny' };
  await seed(src, objects);
  const dir = await tempDir(t, 's3mig-migrate-limit-');
  const r = await s3mig(t, dir, ['migrate', `s/${src}`, `o/${dst}`, '--engine', 'native', '--json', '--report-dir', 'rep', '--limit-upload', '1MiB'], { MC_HOST_o: mcHost(other.endpoint, SECRET) });
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(await contents(dst, otherConn), objects);
  const events = eventsOf(r.stdout);
  const states = events.filter((e) => e.type === 'job:state');
  const transferring = states.findIndex((e) => e.state === 'transferring');
  const transferMs = Date.parse(states[transferring + 1]!.ts) - Date.parse(states[transferring]!.ts);
  // A lower bound only: the limit slows the copies (3 s in theory); how fast an unlimited copy is does not matter.
  assert.ok(transferMs >= 2500, `the transfer of 3 MiB at 1 MiB/s took ${transferMs} ms`);
  const logs = logText(events);
  assert.ok(logs.some((m) => /^transfer: 4 object\(s\) to copy, 16 at a time, streamed uploads limited to 1MiB\/s$/.test(m)), logs.join('\n'));
  assert.ok(!logs.some((m) => SERVER_SIDE_NOTE.test(m)), 'every copy was streamed');
  assert.equal((await jobRecordOf(dir, r.stdout)).options.limitUpload, MiB);
});

test('--limit-upload on one server: server-side copies are not limited, and the job says so once', async (t) => {
  const { src, dst } = await buckets();
  const dir = await tempDir(t, 's3mig-migrate-limit-same-');
  const r = await s3mig(t, dir, ['migrate', `s/${src}`, `s/${dst}`, '--engine', 'native', '--json', '--report-dir', 'rep', '--limit-upload', '1KiB/s', '--overwrite', '--fix', '--delete-extras']);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(await contents(dst), SRC);
  const notes = eventsOf(r.stdout).filter((e) => e.type === 'log' && SERVER_SIDE_NOTE.test(String(e.message)));
  assert.equal(notes.length, 1, 'once per job');
  assert.equal(notes[0]!.level, 'info');
  assert.match(String(notes[0]!.message), /^--limit-upload 1KiB\/s does not apply to server-side copies/);
  assert.equal((await jobRecordOf(dir, r.stdout)).options.limitUpload, 1024);
});

test('--limit-upload 10MiB through mc: the global flag on mc mirror and mc cp, on no other mc command', async (t) => {
  const { src, dst } = await buckets();
  const dir = await tempDir(t, 's3mig-migrate-limit-mc-');
  // An mc on PATH that writes down every argv, then is the fixture in live mode.
  const bin = join(dir, 'bin');
  const argvLog = join(dir, 'mc-argv.ndjson');
  const fixture = pathToFileURL(join(dirname(new URL(import.meta.url).pathname), '..', 'fixtures', 'mc-live.mjs')).href;
  await mkdir(bin);
  await writeFile(
    join(bin, 'mc'),
    `#!${process.execPath}\nrequire('node:fs').appendFileSync(process.env.MC_ARGV_LOG, JSON.stringify(process.argv.slice(2)) + '\\n');\nimport(${JSON.stringify(fixture)});\n`,
    { mode: 0o755 },
  );
  const r = await s3mig(t, dir, ['migrate', `s/${src}`, `s/${dst}`, '--engine', 'mc', '--json', '--report-dir', 'rep', '--limit-upload', '10MiB', '--fix', '--delete-extras'], {
    PATH: [bin, dirname(process.execPath), process.env.PATH ?? ''].join(':'),
    MC_ARGV_LOG: argvLog,
  }, true);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(await contents(dst), SRC);
  const runs = (await readFile(argvLog, 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as string[]);
  const command = (argv: string[]) => argv.filter((a, i) => !a.startsWith('-') && argv[i - 1] !== '--limit-upload')[0];
  const mirror = runs.filter((a) => command(a) === 'mirror');
  const cp = runs.filter((a) => command(a) === 'cp');
  assert.equal(mirror.length, 1);
  assert.ok(cp.length >= 1, 'the fix round copied the stale objects with mc cp');
  for (const argv of [...mirror, ...cp]) {
    const at = argv.indexOf('--limit-upload');
    assert.ok(at !== -1 && argv[at + 1] === '10MiB' && at < argv.indexOf(command(argv)!), JSON.stringify(argv));
  }
  const others = runs.filter((a) => command(a) !== 'mirror' && command(a) !== 'cp');
  assert.ok(others.some((a) => command(a) === 'ls' || command(a) === 'stat'), JSON.stringify(runs.map(command)));
  for (const argv of others) assert.ok(!argv.includes('--limit-upload'), JSON.stringify(argv));
  // One alias on both sides: mc copies server-side, which the flag does not slow; said once.
  assert.equal(logText(eventsOf(r.stdout)).filter((m) => SERVER_SIDE_NOTE.test(m)).length, 1);
  assert.equal((await jobRecordOf(dir, r.stdout)).options.limitUpload, 10 * MiB);
});

test('--limit-upload refuses what is not a rate: one line, exit 2', async (t) => {
  const dir = await tempDir(t, 's3mig-migrate-limit-bad-');
  const r = await s3mig(t, dir, ['migrate', 's/a', 's/b', '--limit-upload', '10 MiB per second']);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /^s3mig: --limit-upload "10 MiB per second" is not a rate: expected bytes per second/);
  assert.doesNotMatch(r.stderr.trim(), /\n/);
});

test('migrate needs two live targets: one line, exit 2', async (t) => {
  const dir = await tempDir(t, 's3mig-migrate-usage-');
  const r = await s3mig(t, dir, ['migrate', 'inventory:x.ndjson', 's/b']);
  assert.equal(r.code, 2);
  assert.equal(r.stderr, 's3mig: migrate needs a live source (ALIAS/BUCKET[/PREFIX]), not inventory:x.ndjson');
});
