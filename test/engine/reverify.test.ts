// Re-verify (the TUI's `v`) and fix of a selection, against a real local S3 server: re-checks without copying; fixes only the keys named.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CreateBucketCommand, DeleteObjectCommand, HeadObjectCommand, ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
import { startLocalS3, type LocalS3 } from '../../src/testing/s3-server.ts';
import { connect, type S3Connection } from '../../src/s3/client.ts';
import { Secret } from '../../src/core/secret.ts';
import { runReconcile } from '../../src/engine/reconcile-job.ts';
import { fixJob, reverifyJob } from '../../src/engine/fix-job.ts';
import { EventBus, type EngineEvent } from '../../src/engine/events.ts';
import { readJobRecord } from '../../src/store/state-dir.ts';
import type { DifferenceRow } from '../../src/report/differences.ts';
import { tempDir, writeInventory } from '../helpers.ts';
import { FIXTURE_MC } from '../live-harness.ts';

let s3: LocalS3;
let conn: S3Connection;
let bucketNo = 0;

before(async () => {
  s3 = await startLocalS3();
  conn = connect({ url: s3.endpoint, region: 'us-east-1', pathStyle: true }, { accessKey: 'S3RVER', secretKey: new Secret('S3RVER') });
});
after(async () => {
  conn?.destroy();
  await s3?.stop();
});

async function bucket(): Promise<string> {
  const name = `reverify-${++bucketNo}`;
  await conn.client.send(new CreateBucketCommand({ Bucket: name }));
  return name;
}

/** Puts an object marked with who wrote it: a copy by s3mig would carry the source's mark. */
async function put(b: string, key: string, body: string, writer: 'source' | 'test'): Promise<void> {
  await conn.client.send(new PutObjectCommand({ Bucket: b, Key: key, Body: body, ContentLength: Buffer.byteLength(body), Metadata: { writer } }));
}

/** Every object of a bucket: key -> [ETag, the writer mark]. */
async function contents(b: string): Promise<Record<string, [string, string | undefined]>> {
  const out: Record<string, [string, string | undefined]> = {};
  const listed = await conn.client.send(new ListObjectsV2Command({ Bucket: b }));
  for (const o of listed.Contents ?? []) {
    const head = await conn.client.send(new HeadObjectCommand({ Bucket: b, Key: o.Key! }));
    out[o.Key!] = [o.ETag!, head.Metadata?.writer];
  }
  return out;
}

const readRows = async (path: string) => (await readFile(path, 'utf8')).split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as DifferenceRow);

function recorder() {
  const events: EngineEvent[] = [];
  const bus = new EventBus();
  bus.subscribe((e) => events.push(e));
  return { bus, events };
}
type Progress = Extract<EngineEvent, { type: 'fix:progress' }>;
const lastProgress = (events: EngineEvent[]) => events.filter((e): e is Progress => e.type === 'fix:progress').at(-1)!;
const states = (events: EngineEvent[]) =>
  events.filter((e): e is Extract<EngineEvent, { type: 'job:state' }> => e.type === 'job:state').map((e) => [e.state, e.reason]);

test('re-verify re-checks only the keys given, then all; it copies and deletes nothing, and the job ends clean', async (t) => {
  const dir = await tempDir(t);
  const src = await bucket();
  const dst = await bucket();
  await put(src, 'same.txt', 'same', 'source');
  await put(dst, 'same.txt', 'same', 'test');
  await put(src, 'missing.txt', 'missing body', 'source');
  await put(src, 'size.bin', 'longer body', 'source');
  await put(dst, 'size.bin', 'short', 'test');
  await put(src, 'vanished.txt', 'soon gone', 'source');
  const aliasEnv = { env: { MC_HOST_s: `http://S3RVER:S3RVER@127.0.0.1:${s3.port}` }, home: dir };
  const stateDir = join(dir, 'state');
  const first = await runReconcile({ source: `s/${src}`, dest: `s/${dst}`, stateDir, reportDir: join(dir, 'rep'), aliasEnv, engine: 'native' });
  assert.deepEqual([first.counts.missing, first.counts.sizeMismatch, first.counts.matched], [2, 1, 1]);

  // Behind the job's back: the missing object arrives, the mismatched one is corrected, one source object goes.
  await put(dst, 'missing.txt', 'missing body', 'test');
  await put(dst, 'size.bin', 'longer body', 'test');
  await conn.client.send(new DeleteObjectCommand({ Bucket: src, Key: 'vanished.txt' }));
  const destByTest = await contents(dst);

  const one = recorder();
  const partial = await reverifyJob({ stateDir, id: first.job, aliasEnv, bus: one.bus, keys: ['missing.txt'] });
  const p1 = lastProgress(one.events);
  assert.deepEqual([p1.total, p1.processed, p1.copied, p1.deleted, p1.failed, p1.done], [1, 1, 0, 0, 0, true]);
  assert.deepEqual(states(one.events), [['fixing', 're-verify'], ['generating-report', undefined], ['completed-with-differences', undefined]]);
  // Only missing.txt was re-checked: the others are still the differences the job had.
  assert.deepEqual((await readRows(partial.reports.differencesNdjson)).map((r) => [r.key, r.category]), [['size.bin', 'sizeMismatch'], ['vanished.txt', 'missing']]);
  assert.deepEqual([partial.counts.missing, partial.counts.sizeMismatch, partial.counts.matched], [1, 1, 2]);
  assert.equal(partial.exitCode, 1);

  const all = recorder();
  const clean = await reverifyJob({ stateDir, id: first.job, aliasEnv, bus: all.bus });
  const p2 = lastProgress(all.events);
  assert.deepEqual([p2.total, p2.processed, p2.copied, p2.deleted, p2.done], [2, 2, 0, 0, true]);
  assert.equal(clean.outcome, 'clean');
  assert.equal(clean.exitCode, 0);
  // vanished.txt is on neither side now: gone from the inventories and the reports.
  assert.deepEqual([clean.counts.matched, clean.counts.source, clean.counts.dest], [3, 3, 3]);
  assert.deepEqual(await readRows(clean.reports.differencesNdjson), []);
  assert.equal((await readJobRecord(stateDir, first.job)).state, 'completed');
  assert.ok(all.events.some((e) => e.type === 'log' && /^re-verify: 2 re-checked \(1 gone from both sides\), 0 failed; nothing copied or deleted$/.test(e.message)));

  // s3mig wrote nothing: the destination is exactly what the test put there.
  assert.deepEqual(await contents(dst), destByTest);
  assert.ok(Object.values(destByTest).every(([, writer]) => writer === 'test'));
});

test('re-verify with the mc engine re-checks with mc stat; a key mc cannot address is left as it was', async (t) => {
  const dir = await tempDir(t);
  const src = await bucket();
  const dst = await bucket();
  await put(src, 'missing.txt', 'missing body', 'source');
  await put(src, 'size.bin', 'longer body', 'source');
  await put(dst, 'size.bin', 'short', 'test');
  await put(src, 'marker/', '', 'source');
  const aliasEnv = { env: { MC_HOST_s: `http://S3RVER:S3RVER@127.0.0.1:${s3.port}` }, home: dir };
  const stateDir = join(dir, 'state');
  const first = await runReconcile({ source: `s/${src}`, dest: `s/${dst}`, stateDir, reportDir: join(dir, 'rep'), aliasEnv, engine: 'native' });
  assert.deepEqual([first.counts.missing, first.counts.sizeMismatch], [2, 1]);
  await put(dst, 'missing.txt', 'missing body', 'test');
  await put(dst, 'size.bin', 'longer body', 'test');
  const destByTest = await contents(dst);

  const r = recorder();
  const summary = await reverifyJob({ stateDir, id: first.job, aliasEnv, bus: r.bus, engine: 'mc', mcPath: FIXTURE_MC });
  const p = lastProgress(r.events);
  assert.deepEqual([p.total, p.processed, p.leftForNative, p.copied, p.deleted, p.failed], [3, 3, 1, 0, 0, 0]);
  assert.deepEqual((await readRows(summary.reports.differencesNdjson)).map((row) => [row.key, row.category]), [['marker/', 'missing']]);
  assert.ok(r.events.some((e) => e.type === 'log' && /^re-verify: 2 re-checked \(0 gone from both sides\), 0 failed, 1 left unchecked/.test(e.message)));
  assert.deepEqual(await contents(dst), destByTest);
});

test('fix with keys copies only those keys', async (t) => {
  const dir = await tempDir(t);
  const src = await bucket();
  const dst = await bucket();
  for (const k of ['a.txt', 'b.txt', 'c.txt']) await put(src, k, `body ${k}`, 'source');
  await put(src, 'size.bin', 'longer body', 'source');
  await put(dst, 'size.bin', 'short', 'test');
  const aliasEnv = { env: { MC_HOST_s: `http://S3RVER:S3RVER@127.0.0.1:${s3.port}` }, home: dir };
  const stateDir = join(dir, 'state');
  const first = await runReconcile({ source: `s/${src}`, dest: `s/${dst}`, stateDir, reportDir: join(dir, 'rep'), aliasEnv, engine: 'native' });
  assert.deepEqual([first.counts.missing, first.counts.sizeMismatch], [3, 1]);

  const r = recorder();
  const fixed = await fixJob({ stateDir, id: first.job, aliasEnv, bus: r.bus, keys: ['b.txt', 'size.bin', 'not-a-difference'] });
  const p = lastProgress(r.events);
  assert.deepEqual([p.total, p.copied, p.failed], [2, 2, 0]);
  const dest = await contents(dst);
  assert.deepEqual(Object.keys(dest).sort(), ['b.txt', 'size.bin']);
  assert.equal(dest['size.bin']![1], 'source');
  assert.deepEqual((await readRows(fixed.reports.differencesNdjson)).map((row) => [row.key, row.category]), [['a.txt', 'missing'], ['c.txt', 'missing']]);
  assert.equal(fixed.exitCode, 1);
});

test('re-verify refuses a job on a saved listing, as fix does', async (t) => {
  const dir = await tempDir(t);
  await writeInventory(dir, 'src.ndjson', [{ key: 'k', size: 1 }]);
  await writeInventory(dir, 'dst.ndjson', []);
  const stateDir = join(dir, 'state');
  const job = await runReconcile({ source: 'inventory:src.ndjson', dest: 'inventory:dst.ndjson', stateDir, reportDir: 'rep', cwd: dir });
  await assert.rejects(reverifyJob({ stateDir, id: job.job }), {
    code: 'S3MIG_TARGET_UNSUPPORTED',
    message: new RegExp(`^job ${job.job}: the source is inventory:src\\.ndjson, a saved listing; re-verify needs two live targets$`),
  });
  assert.equal((await readJobRecord(stateDir, job.job)).state, 'completed-with-differences');
});
