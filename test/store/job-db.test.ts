import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { JobDb, SCHEMA_VERSION } from '../../src/store/job-db.ts';
import { decodeEntryValue, encodeEntryValue } from '../../src/store/entry-codec.ts';
import type { ObjectEntry } from '../../src/core/entry.ts';
import { compareKeys } from '../../src/core/key-order.ts';
import { entry, tempDir } from '../helpers.ts';

test('entry values round-trip, including tabs and backslashes in fields', () => {
  const cases: ObjectEntry[] = [
    entry('a', 12, 'abc'),
    { key: 'b', size: 0, etag: '', lastModified: '' },
    { key: 'c/', size: 0, etag: '', lastModified: '2025-01-01T00:00:00Z', folder: true },
    { key: 'd', size: 5, etag: 'x\ty\\z\\t', lastModified: 'l\tm', storageClass: 'GLACIER', versionId: 'v\\1', isDeleteMarker: true },
    { key: 'e', size: 2 ** 52, etag: `${'f'.repeat(32)}-10000`, lastModified: '2025-01-01T00:00:00.123456789Z', storageClass: 'STANDARD_IA' },
  ];
  for (const e of cases) assert.deepEqual(decodeEntryValue(e.key, encodeEntryValue(e)), e);
  assert.equal(encodeEntryValue(entry('a', 12, 'abc')), '12\tabc\t2025-01-01T00:00:00Z', 'the common case stays compact');
});

test('entries read back in UTF-8 byte order, per side, last write of a key wins', async (t) => {
  const dir = await tempDir(t);
  const db = await JobDb.open(join(dir, 'db'));
  t.after(() => db.close());
  const keys = ['b', '😀', '\uff5e', 'a/b', 'a-b', 'a', 'é', 'e\u0301'];
  await db.writeEntries('source', keys.map((k, i) => entry(k, i)));
  await db.writeEntries('source', [entry('a', 99), entry('b', 98)]);
  await db.writeEntries('dest', [entry('only-dest', 1)]);
  const read: ObjectEntry[] = [];
  for await (const batch of db.entries('source', 3)) read.push(...batch);
  assert.deepEqual(read.map((e) => e.key), [...keys].sort(compareKeys));
  assert.equal(read.find((e) => e.key === 'a')!.size, 99);
  assert.equal(read.find((e) => e.key === 'b')!.size, 98);
  const dest: string[] = [];
  for await (const batch of db.entries('dest')) dest.push(...batch.map((e) => e.key));
  assert.deepEqual(dest, ['only-dest']);
});

test('a database written by another schema version is refused, never misread', async (t) => {
  const dir = await tempDir(t);
  const location = join(dir, 'db');
  const db = await JobDb.open(location);
  assert.equal(await db.getMeta('schema'), String(SCHEMA_VERSION));
  await db.putMeta('schema', '999');
  await db.close();
  await assert.rejects(JobDb.open(location), (err: Error & { code?: string }) => {
    assert.equal(err.code, 'S3MIG_STATE_UNREADABLE');
    assert.match(err.message, /schema version 999; this s3mig reads version 1/);
    return true;
  });
});

test('stopping a read early closes the iterator so the database can close', async (t) => {
  const dir = await tempDir(t);
  const db = await JobDb.open(join(dir, 'db'));
  await db.writeEntries('source', Array.from({ length: 5000 }, (_, i) => entry(`k${String(i).padStart(5, '0')}`)));
  let n = 0;
  for await (const batch of db.entries('source', 100)) {
    n += batch.length;
    if (n >= 300) break;
  }
  assert.equal(n, 300);
  await db.close();
});
