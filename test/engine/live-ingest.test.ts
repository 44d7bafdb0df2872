// The estimate counts a live side by listing it into its inventory and stops past the threshold; the
// inventory phase then continues every range from its checkpoint, so nothing is listed twice.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { CreateBucketCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { startLocalS3, type LocalS3 } from '../../src/testing/s3-server.ts';
import { connect, type S3Connection } from '../../src/s3/client.ts';
import { Secret } from '../../src/core/secret.ts';
import { JobDb } from '../../src/store/job-db.ts';
import { ingestLive } from '../../src/engine/live-ingest.ts';
import type { EventInput } from '../../src/engine/events.ts';
import { compareKeys } from '../../src/core/key-order.ts';
import { tempDir } from '../helpers.ts';

let server: LocalS3;
let conn: S3Connection;
const KEYS = [...['a', 'b', 'c'].flatMap((f) => Array.from({ length: 20 }, (_, i) => `${f}/${String(i).padStart(2, '0')}`)), 'top1', 'top2'];

before(async () => {
  server = await startLocalS3({ buckets: ['est'] });
  conn = connect({ url: server.endpoint, region: 'us-east-1', pathStyle: true }, { accessKey: 'S3RVER', secretKey: new Secret('S3RVER') });
  await conn.client.send(new CreateBucketCommand({ Bucket: 'empty' }));
  await Promise.all(KEYS.map((k) => conn.client.send(new PutObjectCommand({ Bucket: 'est', Key: k, Body: k }))));
});
after(async () => {
  conn?.destroy();
  await server?.stop();
});

test('a count stopped past its limit is continued by the full listing: every key once', async (t) => {
  const db = await JobDb.open(join(await tempDir(t), 'db'));
  t.after(() => db.close());
  const events: EventInput[] = [];
  const side = db.side('source');
  const target = { conn, bucket: 'est', prefix: '' };
  const counted = await ingestLive(side, 'source', target, { concurrency: 2, batchEntries: 5, emit: (e) => events.push(e), stopAfterEntries: 20 });
  assert.equal(counted.finished, false);
  assert.ok(counted.entries >= 20 && counted.entries < KEYS.length, `stopped at ${counted.entries}`);
  const plan = events.find((e) => e.type === 'log' && /key range\(s\)/.test(e.message));
  assert.ok(plan, 'the plan is logged once');

  const full = await ingestLive(side, 'source', target, { concurrency: 2, batchEntries: 5, emit: (e) => events.push(e) });
  assert.equal(full.finished, true);
  assert.equal(full.entries, KEYS.length, 'no key counted twice');
  assert.equal(full.checkpoint?.errorCount, 0);
  assert.equal(events.filter((e) => e.type === 'log' && /key range\(s\)/.test(e.message)).length, 1, 'the ranges are planned once');
  const stored: string[] = [];
  for await (const batch of side.entries(7)) stored.push(...batch.map((e) => e.key));
  assert.deepEqual(stored, [...KEYS].sort(compareKeys));
  // Done is done: a further call lists nothing.
  const again = await ingestLive(side, 'source', target, { concurrency: 2, batchEntries: 5, emit: () => assert.fail('no events') });
  assert.equal(again.entries, KEYS.length);
});

test('an empty bucket is one range and a finished, empty side', async (t) => {
  const db = await JobDb.open(join(await tempDir(t), 'db'));
  t.after(() => db.close());
  const events: EventInput[] = [];
  const r = await ingestLive(db.side('dest'), 'dest', { conn, bucket: 'empty', prefix: '' }, { concurrency: 8, batchEntries: 1000, emit: (e) => events.push(e) });
  assert.deepEqual([r.finished, r.entries, r.bytes], [true, 0, 0]);
  assert.match((events.find((e) => e.type === 'log') as { message: string }).message, /^dest: listing 1 key range\(s\) with 8 lister\(s\), split by 0 object\(s\), one page$/);
});
