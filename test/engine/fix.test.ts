// s3mig fix against real local S3 servers: copies, deletes with permission, re-check, resumable.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { GetObjectCommand, HeadObjectCommand, ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
import { startLocalS3, type LocalS3 } from '../../src/testing/s3-server.ts';
import { connect, type S3Connection } from '../../src/s3/client.ts';
import { Secret } from '../../src/core/secret.ts';
import { runReconcile } from '../../src/engine/reconcile-job.ts';
import { fixJob } from '../../src/engine/fix-job.ts';
import { EventBus, type EngineEvent } from '../../src/engine/events.ts';
import { readJobRecord } from '../../src/store/state-dir.ts';
import { tempDir } from '../helpers.ts';

const BIN = join(import.meta.dirname, '..', '..', 'bin', 's3mig.js');
let one: LocalS3;
let two: LocalS3;
let c1: S3Connection;
let c2: S3Connection;
let bucketNo = 0;

before(async () => {
  [one, two] = await Promise.all([startLocalS3(), startLocalS3()]);
  const conn = (s: LocalS3) => connect({ url: s.endpoint, region: 'us-east-1', pathStyle: true }, { accessKey: 'S3RVER', secretKey: new Secret('S3RVER') });
  c1 = conn(one);
  c2 = conn(two);
});
after(async () => {
  c1?.destroy();
  c2?.destroy();
  await Promise.all([one?.stop(), two?.stop()]);
});

async function bucket(c: S3Connection): Promise<string> {
  const name = `fix-bucket-${++bucketNo}`;
  await c.client.send(new (await import('@aws-sdk/client-s3')).CreateBucketCommand({ Bucket: name }));
  return name;
}

const META = { ContentType: 'text/x-s3mig', CacheControl: 'max-age=60', ContentDisposition: 'attachment; filename="r.txt"', ContentEncoding: 'identity', Metadata: { owner: 'ops', note: 'kept' } };

async function put(c: S3Connection, b: string, key: string, body: string, meta = true): Promise<void> {
  await c.client.send(new PutObjectCommand({ Bucket: b, Key: key, Body: body, ...(meta ? META : {}) }));
}

async function keysOf(c: S3Connection, b: string): Promise<string[]> {
  const out = await c.client.send(new ListObjectsV2Command({ Bucket: b }));
  return (out.Contents ?? []).map((o) => o.Key!);
}

async function body(c: S3Connection, b: string, key: string): Promise<string> {
  const out = await c.client.send(new GetObjectCommand({ Bucket: b, Key: key }));
  return out.Body!.transformToString();
}

/** Source and destination buckets with every fixable difference; returns the keys by category. */
async function drift(src: { c: S3Connection; b: string }, dst: { c: S3Connection; b: string }) {
  const same = ['docs/a.txt', 'docs/b.txt', 'z é+1.txt'];
  const missing = ['docs/new.txt', 'photos/2024/ü ñ.jpg', 'q?r#s&t=u'];
  for (const k of same) {
    await put(src.c, src.b, k, `same ${k}`);
    await put(dst.c, dst.b, k, `same ${k}`);
  }
  for (const k of missing) await put(src.c, src.b, k, `new ${k}`);
  await put(src.c, src.b, 'size.bin', 'longer body');
  await put(dst.c, dst.b, 'size.bin', 'short');
  await put(src.c, src.b, 'etag.bin', 'AAAA');
  await put(dst.c, dst.b, 'etag.bin', 'BBBB');
  await put(dst.c, dst.b, 'extra/old.txt', 'stale');
  return { same, missing };
}

function aliasEnv(home: string) {
  return { env: { MC_HOST_one: `http://S3RVER:S3RVER@127.0.0.1:${one.port}`, MC_HOST_two: `http://S3RVER:S3RVER@127.0.0.1:${two.port}` }, home };
}

for (const path of ['server-side (same endpoint)', 'streamed (two endpoints)'] as const) {
  test(`fix copies missing and different objects ${path}, keeps metadata, re-checks, and deletes extras only when asked`, async (t) => {
    const dir = await tempDir(t);
    const cross = path.startsWith('streamed');
    const src = { c: c1, b: await bucket(c1) };
    const dst = cross ? { c: c2, b: await bucket(c2) } : { c: c1, b: await bucket(c1) };
    const { missing } = await drift(src, dst);
    const env = aliasEnv(dir);
    const stateDir = join(dir, 'state');
    const first = await runReconcile({ source: `one/${src.b}`, dest: `${cross ? 'two' : 'one'}/${dst.b}`, stateDir, reportDir: join(dir, 'rep'), aliasEnv: env });
    assert.deepEqual([first.counts.missing, first.counts.sizeMismatch, first.counts.etagMismatch, first.counts.extra], [3, 1, 1, 1]);

    const events: EngineEvent[] = [];
    const bus = new EventBus();
    bus.subscribe((e) => events.push(e));
    const fixed = await fixJob({ stateDir, id: first.job, aliasEnv: env, bus });
    // Everything copied and re-checked; the extra is kept (no --delete-extras) and still reported.
    assert.deepEqual(fixed.counts, { ...fixed.counts, matched: 8, missing: 0, sizeMismatch: 0, etagMismatch: 0, extra: 1 });
    assert.equal(fixed.exitCode, 1);
    assert.deepEqual((await keysOf(dst.c, dst.b)).sort(), [...(await keysOf(src.c, src.b)), 'extra/old.txt'].sort());
    for (const k of [...missing, 'size.bin', 'etag.bin']) assert.equal(await body(dst.c, dst.b, k), await body(src.c, src.b, k), k);
    const head = await dst.c.client.send(new HeadObjectCommand({ Bucket: dst.b, Key: 'photos/2024/ü ñ.jpg' }));
    assert.equal(head.ContentType, META.ContentType);
    assert.equal(head.CacheControl, META.CacheControl);
    assert.equal(head.ContentDisposition, META.ContentDisposition);
    assert.equal(head.ContentEncoding, META.ContentEncoding);
    assert.deepEqual(head.Metadata, META.Metadata);
    const progress = events.filter((e) => e.type === 'fix:progress').at(-1) as { copied: number; deleted: number; failed: number; done: boolean };
    assert.deepEqual([progress.copied, progress.deleted, progress.failed, progress.done], [5, 0, 0, true]);
    // The reports were rewritten from the re-checked inventories.
    const diff = (await readFile(join(dir, 'rep', 'differences.ndjson'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l));
    assert.deepEqual(diff.map((d) => [d.key, d.category]), [['extra/old.txt', 'extra']]);
    assert.equal((await readJobRecord(stateDir, first.job)).state, 'completed-with-differences');

    const clean = await fixJob({ stateDir, id: first.job, aliasEnv: env, deleteExtras: true });
    assert.equal(clean.exitCode, 0);
    assert.equal(clean.counts.extra, 0);
    assert.ok(!(await keysOf(dst.c, dst.b)).includes('extra/old.txt'));
    assert.equal((await readJobRecord(stateDir, first.job)).state, 'completed');
    // A new reconcile agrees: the destination is clean.
    const again = await runReconcile({ source: `one/${src.b}`, dest: `${cross ? 'two' : 'one'}/${dst.b}`, stateDir, reportDir: join(dir, 'rep2'), aliasEnv: env });
    assert.equal(again.outcome, 'clean');
  });
}

test('fix refuses jobs on saved listings and jobs whose listing was incomplete, with one line', async (t) => {
  const dir = await tempDir(t);
  const src = await bucket(c1);
  await put(c1, src, 'k', 'v');
  const inv = join(dir, 'dst.ndjson');
  await (await import('node:fs/promises')).writeFile(inv, '');
  const stateDir = join(dir, 'state');
  const job = await runReconcile({ source: `one/${src}`, dest: `inventory:${inv}`, stateDir, reportDir: join(dir, 'rep'), aliasEnv: aliasEnv(dir) });
  await assert.rejects(fixJob({ stateDir, id: job.job, aliasEnv: aliasEnv(dir) }), {
    code: 'S3MIG_TARGET_UNSUPPORTED',
    message: new RegExp(`^job ${job.job}: the dest is inventory:.*a saved listing; fix needs two live targets`),
  });
});

test('a fix killed after some copies, run again, copies only what it had not confirmed', async (t) => {
  const dir = await tempDir(t);
  const src = await bucket(c1);
  const dst = await bucket(c2);
  const keys = Array.from({ length: 12 }, (_, i) => `f/${String(i).padStart(2, '0')}.txt`);
  await Promise.all(keys.map((k) => put(c1, src, k, `body ${k}`, false)));
  const env = { ...process.env, ...aliasEnv(dir).env, S3MIG_STATE_DIR: join(dir, 'state') };
  const run = (args: string[], extra: Record<string, string> = {}) =>
    execa(process.execPath, [BIN, ...args], { cwd: dir, env: { ...env, ...extra }, reject: false, stdin: 'ignore' });
  const rec = await run(['reconcile', `one/${src}`, `two/${dst}`, '--report-dir', 'rep', '--json']);
  assert.equal(rec.exitCode, 1, rec.stderr);
  const id = JSON.parse(rec.stdout.split('\n')[0]!).jobId as string;

  const killed = await run(['fix', id, '--concurrency', '1'], { S3MIG_FAILPOINT: 'fix:after-copy@5=kill' });
  assert.equal(killed.signal, 'SIGKILL');
  assert.equal((await readJobRecord(join(dir, 'state'), id)).state, 'fixing');
  const resumed = await run(['resume', id]);
  assert.equal(resumed.exitCode, 2);
  assert.match(resumed.stderr, new RegExp(`^s3mig: job ${id} stopped while fixing; continue it with: s3mig fix ${id}$`));

  const again = await run(['fix', id, '--json', '--concurrency', '1']);
  assert.equal(again.exitCode, 0, again.stderr);
  const events = again.stdout.trim().split('\n').map((l) => JSON.parse(l));
  const last = events.filter((e) => e.type === 'fix:progress').at(-1);
  // Four copies were confirmed before the kill; the fifth was copied but not recorded, so it is copied again.
  assert.equal(last.skipped, 4);
  assert.equal(last.copied, 8);
  assert.equal(events.at(-1).outcome, 'clean');
  assert.deepEqual((await keysOf(c2, dst)).sort(), keys);
});

test('an ETag mismatch re-checked with HEAD becomes unverified when an object is SSE-KMS; the outcome is kept for rewritten reports', async (t) => {
  const { startFaultProxy } = await import('../../src/testing/fault-proxy.ts');
  const { rewriteReports } = await import('../../src/engine/reconcile-job.ts');
  const dir = await tempDir(t);
  const proxy = await startFaultProxy({ upstream: one.endpoint });
  t.after(() => proxy.stop());
  // Encryption shows only on HEAD: the proxy adds the header S3 sends for an SSE-KMS object.
  proxy.addRule({ match: { method: 'HEAD', path: /enc\.bin$/ }, responseHeaders: { 'x-amz-server-side-encryption': 'aws:kms' } });
  const src = await bucket(c1);
  const dst = await bucket(c1);
  for (const k of ['enc.bin', 'plain.bin']) {
    await put(c1, src, k, 'AAAA', false);
    await put(c1, dst, k, 'BBBB', false);
  }
  const env = { env: { MC_HOST_p: `http://S3RVER:S3RVER@127.0.0.1:${proxy.port}` }, home: dir };
  const stateDir = join(dir, 'state');
  const summary = await runReconcile({ source: `p/${src}`, dest: `p/${dst}`, stateDir, reportDir: join(dir, 'rep'), aliasEnv: env });
  assert.equal(summary.counts.etagMismatch, 1);
  assert.equal(summary.counts.unverified, 1);
  const rows = (await readFile(join(dir, 'rep', 'differences.ndjson'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l));
  assert.deepEqual(rows.map((r) => [r.key, r.category]), [['enc.bin', 'unverified'], ['plain.bin', 'etagMismatch']]);
  // The fix plan copies the plain mismatch only.
  const plan = (await readFile(join(dir, 'rep', 'fix-plan.ndjson'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l));
  assert.deepEqual(plan.map((a) => [a.action, a.key]), [['copy', 'plain.bin']]);
  // `s3mig report` decides the same without asking the server (the proxy is gone).
  await proxy.stop();
  const again = await rewriteReports({ stateDir, id: summary.job, reportDir: join(dir, 'rep2') });
  assert.deepEqual([again.counts.etagMismatch, again.counts.unverified], [1, 1]);
});
