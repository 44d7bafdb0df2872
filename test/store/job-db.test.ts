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

/** Every key and value of a side's LevelDB, read raw: keys as bytes, seals decoded. */
interface RawSeal {
  key: Buffer;
  seal: number;
  next: string;
  records: [string, string][];
}

async function rawSide(path: string): Promise<{ entries: string[]; seals: RawSeal[] }> {
  const level = new Level<Buffer, string>(path, { keyEncoding: 'buffer', valueEncoding: 'utf8' });
  const rows = await level.iterator().all();
  await level.close();
  const entries: string[] = [];
  const seals: RawSeal[] = [];
  for (const [key, value] of rows) {
    if (key.at(-1) === 0xff) seals.push({ key, ...(JSON.parse(value) as Omit<RawSeal, 'key'>) });
    else entries.push(key.toString('utf8'));
  }
  return { entries, seals };
}

/** Changes the job's metadata behind its back (copies a machine crash lost), with the job closed. */
async function rewriteMeta(location: string, operations: ({ type: 'put'; key: string; value: string } | { type: 'del'; key: string })[]): Promise<void> {
  const main = new Level<string, string>(join(location, 'main'));
  await main.sublevel<string, string>('meta', {}).batch(operations);
  await main.close();
}

test("each side's entries live in a database of their own, each batch sealed there with the side's checkpoint", async (t) => {
  const dir = await tempDir(t);
  const location = join(dir, 'db');
  const db = await JobDb.open(location);
  await db.side('source').writeEntries([entry('b', 2), entry('a', 1)], { key: 'ingest', value: { n: 2 } });
  await db.side('dest').writeEntries([entry('c', 3)]);
  await db.close();
  const source = await rawSide(join(location, 'source'));
  assert.deepEqual(source.entries, ['a', 'b']);
  assert.deepEqual(
    source.seals.map((s) => [s.key.toString('latin1'), s.seal, s.records]),
    [['\x00\xff', 1, [['source:ingest', '{"n":2}']]]],
    'the first seal goes before the keys and holds the checkpoint',
  );
  assert.equal(source.seals[0]!.next, Buffer.from('a\xff', 'latin1').toString('hex'), 'it names the next seal\'s place: after the batch\'s last key');
  const dest = await rawSide(join(location, 'dest'));
  assert.deepEqual(dest.entries, ['c']);
  assert.deepEqual(dest.seals.map((s) => s.records), [[['dest:written', 'true']]]);
  const main = new Level<string, string>(join(location, 'main'));
  const meta = Object.fromEntries(await main.iterator().all());
  await main.close();
  assert.equal(meta['!meta!source:ingest'], '{"n":2}', 'the checkpoint is copied into the job\'s metadata');
  assert.equal(meta['!meta!seal:source:'], JSON.stringify({ seal: 1, next: source.seals[0]!.next }), 'with the seal\'s number and the next place');
  assert.equal(JSON.parse(meta['!meta!seal:dest:']!).seal, 1);
});

test('stopped between the seal and its copy, the job opens with the checkpoint of exactly the entries stored', async (t) => {
  const dir = await tempDir(t);
  const location = join(dir, 'db');
  let db = await JobDb.open(location);
  const side = db.side('source');
  await side.writeEntries([entry('a'), entry('b')], { key: 'ingest', value: { entries: 2 } });
  const batch = side.batch();
  batch.put(Buffer.from('😀'), encodeEntryValue(entry('😀')));
  batch.put('c', encodeEntryValue(entry('c')));
  batch.putJson('unit/0', { done: true });
  await assert.rejects(
    batch.write({ key: 'ingest', value: { entries: 3 } }, () => {
      throw new Error('stopped here');
    }),
    /stopped here/,
  );
  assert.deepEqual(await side.getJson('ingest'), { entries: 2 }, 'the copy was not made');
  await db.close();

  db = await JobDb.open(location);
  t.after(() => db.close());
  assert.deepEqual(await db.side('source').getJson('ingest'), { entries: 3 }, 'opening copies the seal');
  assert.deepEqual(await db.side('source').getJson('unit/0'), { done: true }, 'with every record of its batch');
  const keys: string[] = [];
  for await (const rows of db.side('source').entries()) keys.push(...rows.map((e) => e.key));
  assert.deepEqual(keys, ['a', 'b', 'c', '😀']);
  // Opened again, nothing older is copied over the newer records.
  await db.side('source').putJson('unit/0', { done: false });
  await db.close();
  db = await JobDb.open(location);
  assert.deepEqual(await db.side('source').getJson('unit/0'), { done: false });
});

test('records whose copy failed go with the next seal and its copy', async (t) => {
  const dir = await tempDir(t);
  const db = await JobDb.open(join(dir, 'db'));
  t.after(() => db.close());
  const side = db.side('dest');
  const first = side.batch();
  first.put('k1', encodeEntryValue(entry('k1')));
  await assert.rejects(first.write({ key: 'range/0', value: { after: 'k1' } }, () => {
    throw Object.assign(new Error('ENOSPC: no space left on device'), { code: 'ENOSPC' });
  }));
  const second = side.batch();
  second.put('k2', encodeEntryValue(entry('k2')));
  await second.write({ key: 'range/1', value: { after: 'k2' } });
  assert.deepEqual(await side.getJson('range/0'), { after: 'k1' });
  assert.deepEqual(await side.getJson('range/1'), { after: 'k2' });
});

test('seals are found from the last one copied, whatever the order of keys and writers; readers skip them', async (t) => {
  const dir = await tempDir(t);
  const location = join(dir, 'db');
  let db = await JobDb.open(location);
  let side = db.side('source');
  // Deterministic keys in no order, multi-byte ones among them, put as bytes by eight writers at once.
  const all: string[] = [];
  for (let i = 0; i < 4000; i++) all.push(`${['x', 'é', '😀', 'a/'][i % 4]}${String((i * 7919) % 4000).padStart(4, '0')}`);
  await Promise.all(
    Array.from({ length: 8 }, async (_, w) => {
      for (let b = 0; b < 10; b++) {
        const batch = side.batch();
        const keys = all.slice(w * 500 + b * 50, w * 500 + b * 50 + 50);
        for (const key of keys) batch.put(Buffer.from(key), encodeEntryValue(entry(key)));
        await batch.write({ key: `range/${w}`, value: { batch: b } }, undefined, keys.at(-1));
      }
    }),
  );
  // Then keys in order, as strings, each batch with its checkpoint.
  for (let b = 1; b <= 5; b++) {
    await side.writeEntries(Array.from({ length: 20 }, (_, i) => entry(`zz/${b}/${i}`)), { key: 'ingest', value: { b } });
  }
  const expected = [...all, ...Array.from({ length: 100 }, (_, i) => `zz/${Math.floor(i / 20) + 1}/${i % 20}`)].sort(compareKeys);
  const read: string[] = [];
  for await (const rows of side.entries(7)) read.push(...rows.map((e) => e.key));
  assert.deepEqual(read, expected, 'every entry once, in order, and no seal');
  const after: string[] = [];
  for await (const rows of side.entries(3, 'zz/2/19')) after.push(...rows.map((e) => e.key));
  assert.deepEqual(after, expected.slice(expected.indexOf('zz/2/19') + 1));
  await db.close();

  const raw = await rawSide(join(location, 'source'));
  assert.equal(raw.entries.length, 4100);
  assert.equal(raw.seals.length, 85, 'one seal per batch, between the entries');
  assert.equal(raw.seals.find((s) => s.seal === 85)!.key.toString('latin1'), 'zz/4/19\xff', 'after the previous batch\'s last key');

  // The copies of the last three seals lost (a machine crash loses unsynced writes): opening follows the seals.
  const s82 = raw.seals.find((s) => s.seal === 82)!;
  await rewriteMeta(location, [
    { type: 'put', key: 'seal:source:', value: JSON.stringify({ seal: 82, next: s82.next }) },
    { type: 'put', key: 'source:ingest', value: JSON.stringify({ b: 2 }) },
    { type: 'put', key: 'source:range/3', value: 'null' },
  ]);
  db = await JobDb.open(location);
  t.after(() => db.close());
  side = db.side('source');
  assert.deepEqual(await side.getJson('ingest'), { b: 5 });
  assert.deepEqual(await side.getJson('range/3'), null, 'a record of a seal copied before is left as it is');
  // And writing on continues the chain.
  const batch = side.batch();
  batch.put('zz/6/0', encodeEntryValue(entry('zz/6/0')));
  await assert.rejects(batch.write({ key: 'ingest', value: { b: 6 } }, () => { throw new Error('stopped'); }));
  await db.close();
  db = await JobDb.open(location);
  assert.deepEqual(await db.side('source').getJson('ingest'), { b: 6 });
});

test('a seal put over the last one (its batch had no entries) keeps that one\'s records', async (t) => {
  const dir = await tempDir(t);
  const location = join(dir, 'db');
  let db = await JobDb.open(location);
  const side = db.side('dest');
  await side.writeEntries([entry('k')], { key: 'range/0', value: 'a' });
  await side.writeEntries([], { key: 'range/1', value: 'done' });
  await side.writeEntries([], { key: 'range/2', value: 'done' });
  await side.writeEntries([], { key: 'range/1', value: 'again' });
  await db.close();
  const raw = await rawSide(join(location, 'dest'));
  assert.deepEqual(
    raw.seals.map((s) => [s.seal, s.records]),
    [
      [1, [['dest:range/0', '"a"']]],
      [4, [['dest:range/2', '"done"'], ['dest:range/1', '"again"']]],
    ],
  );
  // The copies of seals 2 to 4 lost: opening restores every record from the one seal left.
  await rewriteMeta(location, [
    { type: 'put', key: 'seal:dest:', value: JSON.stringify({ seal: 1, next: raw.seals[0]!.next }) },
    { type: 'del', key: 'dest:range/1' },
    { type: 'del', key: 'dest:range/2' },
  ]);
  db = await JobDb.open(location);
  t.after(() => db.close());
  assert.equal(await db.side('dest').getJson('range/1'), 'again');
  assert.equal(await db.side('dest').getJson('range/2'), 'done');
});

test('an emptied side goes on sealing where it left off', async (t) => {
  const dir = await tempDir(t);
  const location = join(dir, 'db');
  let db = await JobDb.open(location);
  await db.side('dest').writeEntries([entry('zzz')]);
  await db.side('dest').clearEntries();
  const batch = db.side('dest').batch();
  batch.put('a', encodeEntryValue(entry('a')));
  await assert.rejects(batch.write({ key: 'ingest', value: 2 }, () => { throw new Error('stopped'); }));
  await db.close();
  db = await JobDb.open(location);
  t.after(() => db.close());
  assert.equal(await db.side('dest').getJson('ingest'), 2);
  const keys: string[] = [];
  for await (const rows of db.side('dest').entries()) keys.push(...rows.map((e) => e.key));
  assert.deepEqual(keys, ['a']);
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
  assert.ok(n >= 300 && n < 400, `stopped after the fourth batch at most (${n})`);
  await db.close();
});
