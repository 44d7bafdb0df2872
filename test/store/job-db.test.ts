import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { Level } from 'level';
import { JobDb, SCHEMA_VERSION } from '../../src/store/job-db.ts';
import { StoredEntry, decodeEntryValue, encodeEntryValue } from '../../src/core/entry-codec.ts';
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
  for (const e of cases) {
    assert.deepEqual(decodeEntryValue(e.key, encodeEntryValue(e)), e);
    const lazy = new StoredEntry(e.key, encodeEntryValue(e));
    assert.equal(lazy.size, e.size);
    assert.equal(lazy.etag, e.etag);
    assert.deepEqual(
      { key: lazy.key, size: lazy.size, etag: lazy.etag, lastModified: lazy.lastModified, storageClass: lazy.storageClass, versionId: lazy.versionId, isDeleteMarker: lazy.isDeleteMarker, folder: lazy.folder },
      { storageClass: undefined, versionId: undefined, isDeleteMarker: undefined, folder: undefined, ...e },
    );
  }
  assert.equal(encodeEntryValue(entry('a', 12, 'abc')), '12\tabc\t2025-01-01T00:00:00Z', 'the common case stays compact');
});

test('entries read back in UTF-8 byte order, per side, last write of a key wins', async (t) => {
  const dir = await tempDir(t);
  const db = await JobDb.open(join(dir, 'db'));
  t.after(() => db.close());
  const keys = ['b', '😀', '\uff5e', 'a/b', 'a-b', 'a', 'é', 'e\u0301'];
  const source = db.side('source');
  await source.writeEntries(keys.map((k, i) => entry(k, i)));
  await source.writeEntries([entry('a', 99), entry('b', 98)], { key: 'ingest', value: { n: 1 } });
  await db.side('dest').writeEntries([entry('only-dest', 1)]);
  assert.deepEqual(await source.getJson('ingest'), { n: 1 }, 'the checkpoint is not an entry');
  const read: ObjectEntry[] = [];
  for await (const batch of source.entries(3)) read.push(...batch);
  assert.deepEqual(read.map((e) => e.key), [...keys].sort(compareKeys));
  assert.equal(read.find((e) => e.key === 'a')!.size, 99);
  assert.equal(read.find((e) => e.key === 'b')!.size, 98);
  const dest: string[] = [];
  for await (const batch of db.side('dest').entries()) dest.push(...batch.map((e) => e.key));
  const after: string[] = [];
  for await (const batch of source.entries(2, 'a-b')) after.push(...batch.map((e) => e.key));
  assert.deepEqual(after, [...keys].sort(compareKeys).slice([...keys].sort(compareKeys).indexOf('a-b') + 1), 'a read can start after a key');
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
    assert.match(err.message, /db has schema version 999; this s3mig reads version 2/);
    return true;
  });
  const raw = new Level<string, string>(join(location, 'main'));
  await raw.sublevel<string, string>('meta', {}).put('schema', '0');
  await raw.close();
  await assert.rejects(JobDb.open(location), { code: 'S3MIG_STATE_UNREADABLE', message: /db has schema version 0; this s3mig reads version 2/ });
});

test('a job of schema 1 (one LevelDB holding both sides) is refused with its version, and left as it was', async (t) => {
  const dir = await tempDir(t);
  const location = join(dir, 'db');
  const old = new Level<string, string>(location);
  await old.sublevel<string, string>('meta', {}).put('schema', '1');
  await old.sublevel<string, string>('src', {}).put('a', '1\t\t');
  await old.close();
  await assert.rejects(JobDb.open(location), { code: 'S3MIG_STATE_UNREADABLE', message: /db has schema version 1; this s3mig reads version 2$/ });
  const again = new Level<string, string>(location);
  assert.equal(await again.sublevel<string, string>('src', {}).get('a'), '1\t\t', 'nothing of it was changed');
  await again.close();
  await assert.rejects(JobDb.open(location), { code: 'S3MIG_STATE_UNREADABLE' });
});

test("each side's entries live in a database of their own, with nothing else in it", async (t) => {
  const dir = await tempDir(t);
  const location = join(dir, 'db');
  const db = await JobDb.open(location);
  await db.side('source').writeEntries([entry('b', 2), entry('a', 1)], { key: 'ingest', value: { n: 2 } });
  await db.side('dest').writeEntries([entry('c', 3)]);
  await db.close();
  const keysOf = async (path: string) => {
    const level = new Level<string, string>(path);
    const keys = await level.keys().all();
    await level.close();
    return keys;
  };
  assert.deepEqual(await keysOf(join(location, 'source')), ['a', 'b']);
  assert.deepEqual(await keysOf(join(location, 'dest')), ['c']);
  assert.ok((await keysOf(join(location, 'main'))).includes('!meta!source:ingest'), 'the checkpoint is in the job\'s metadata');
});

test('stopping a read early closes the iterator so the database can close', async (t) => {
  const dir = await tempDir(t);
  const db = await JobDb.open(join(dir, 'db'));
  await db.side('source').writeEntries(Array.from({ length: 5000 }, (_, i) => entry(`k${String(i).padStart(5, '0')}`)));
  let n = 0;
  for await (const batch of db.side('source').entries(100)) {
    n += batch.length;
    if (n >= 300) break;
  }
  assert.equal(n, 300);
  await db.close();
});
