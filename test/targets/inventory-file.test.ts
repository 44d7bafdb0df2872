import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { appendFile, readFile, writeFile } from 'node:fs/promises';
import { gzipSync } from 'node:zlib';
import { readInventory, type ListingChunk } from '../../src/targets/inventory-file.ts';
import { parseTarget } from '../../src/targets/target.ts';
import { mcLsLine, tempDir, writeInventory } from '../helpers.ts';

async function collect(path: string, name?: string): Promise<ListingChunk[]> {
  const out: ListingChunk[] = [];
  for await (const c of readInventory(path, { name })) out.push(c);
  return out;
}
const keysOf = (chunks: ListingChunk[]) => chunks.flatMap((c) => c.keys);

test('plain and gzip files give the same entries; summary lines are ignored', async (t) => {
  const dir = await tempDir(t);
  const lines = [{ key: 'a', size: 1 }, { key: 'dir/', type: 'folder' as const }, { key: 'z', size: 3 }, '{"totalObjects":3,"totalSize":4}'];
  const plain = await writeInventory(dir, 'p.ndjson', lines);
  const gz = await writeInventory(dir, 'g.ndjson.gz', lines, true);
  const noExt = await writeInventory(dir, 'gzip-without-extension', lines, true);
  for (const p of [plain, gz, noExt]) {
    const chunks = await collect(p);
    assert.deepEqual(keysOf(chunks), ['a', 'dir/', 'z'], p);
    assert.deepEqual(chunks.flatMap((c) => c.errors), []);
    const last = chunks.at(-1)!;
    assert.deepEqual(last.end, { line: 4, offset: Buffer.byteLength(lines.map((l) => (typeof l === 'string' ? l : mcLsLine(l))).join('\n') + '\n') });
    assert.equal(last.inputBytes, last.totalBytes);
  }
});

test('CRLF line ends, blank lines and a missing final newline are accepted', async (t) => {
  const dir = await tempDir(t);
  const path = join(dir, 'crlf.ndjson');
  await writeFile(path, `${mcLsLine({ key: 'a' })}\r\n\r\n${mcLsLine({ key: 'b' })}`);
  assert.deepEqual(keysOf(await collect(path)), ['a', 'b']);
});

test('multi-byte characters split across read chunks arrive intact', async (t) => {
  const dir = await tempDir(t);
  const keys = Array.from({ length: 20000 }, (_, i) => `p/${i}/ファイル😀é-${'x'.repeat(i % 50)}`);
  const path = await writeInventory(dir, 'big.ndjson', keys.map((key) => ({ key, size: 1 })));
  const chunks = await collect(path);
  assert.ok(chunks.length > 2, 'the file spans several read chunks');
  assert.deepEqual(keysOf(chunks), keys);
});

test('an error object marks the listing incomplete but reading goes on', async (t) => {
  const dir = await tempDir(t);
  const path = await writeInventory(dir, 'err.ndjson', [
    { key: 'a' },
    '{"status":"error","error":{"message":"Unable to list folder.","cause":{"message":"Access Denied.","error":{}},"type":"error"}}',
    { key: 'b' },
  ]);
  const chunks = await collect(path);
  assert.deepEqual(keysOf(chunks), ['a', 'b']);
  assert.deepEqual(chunks.flatMap((c) => c.errors), ['line 2: Unable to list folder.: Access Denied.']);
});

test('a malformed line stops reading with the file name and line number', async (t) => {
  const dir = await tempDir(t);
  const bad = await writeInventory(dir, 'bad.ndjson', [{ key: 'a' }, { key: 'b' }, '{"key":"c","size":', { key: 'd' }]);
  await assert.rejects(collect(bad, 'inv/bad.ndjson'), (err: Error & { code?: string }) => {
    assert.equal(err.code, 'S3MIG_INVENTORY_PARSE');
    assert.match(err.message, /^inv\/bad\.ndjson line 3: not valid JSON/);
    return true;
  });
  const noSize = await writeInventory(dir, 'nosize.ndjson.gz', [{ key: 'a' }, '{"status":"success","type":"file","key":"b"}'], true);
  await assert.rejects(collect(noSize), { code: 'S3MIG_INVENTORY_PARSE', message: `${noSize} line 2: entry "b" has no "size"` });
});

test('a missing file, a directory and a corrupt gzip are one-line errors naming the file', async (t) => {
  const dir = await tempDir(t);
  await assert.rejects(collect(join(dir, 'nope.ndjson'), 'nope.ndjson'), {
    code: 'S3MIG_INVENTORY_UNREADABLE',
    message: 'cannot read inventory file nope.ndjson: no such file',
  });
  await assert.rejects(collect(dir, 'somedir'), { code: 'S3MIG_INVENTORY_UNREADABLE', message: 'cannot read inventory file somedir: is a directory' });
  const corrupt = join(dir, 'corrupt.gz');
  const gz = gzipSync(Buffer.from(mcLsLine({ key: 'a' }).repeat(1000)));
  await writeFile(corrupt, Buffer.concat([gz.subarray(0, 40), Buffer.alloc(40, 7)]));
  await assert.rejects(collect(corrupt, 'corrupt.gz'), (err: Error & { code?: string }) => {
    assert.equal(err.code, 'S3MIG_INVENTORY_UNREADABLE');
    assert.match(err.message, /^cannot read inventory file corrupt\.gz: /);
    assert.doesNotMatch(err.message, /\n/);
    return true;
  });
});

test('targets: inventory:PATH and ALIAS/BUCKET[/PREFIX]', () => {
  assert.deepEqual(parseTarget('inventory:x/y.ndjson', '/base'), { kind: 'inventory', spec: 'inventory:x/y.ndjson', path: '/base/x/y.ndjson' });
  assert.deepEqual(parseTarget('src/media/photos/', '/'), { kind: 'live', spec: 'src/media/photos/', alias: 'src', bucket: 'media', prefix: 'photos/' });
  assert.deepEqual(parseTarget('src/media', '/'), { kind: 'live', spec: 'src/media', alias: 'src', bucket: 'media', prefix: '' });
  assert.throws(() => parseTarget('inventory:'), { code: 'S3MIG_TARGET_INVALID' });
  assert.throws(() => parseTarget('just-a-word'), { code: 'S3MIG_TARGET_INVALID' });
  assert.throws(() => parseTarget('9bad/bucket'), { code: 'S3MIG_TARGET_INVALID' });
});

test('chunks hold exactly chunkEntries entries and end right after their last entry line', async (t) => {
  const dir = await tempDir(t);
  const lines = [
    ...Array.from({ length: 7 }, (_, i) => ({ key: `k${i}`, size: i })),
    '',
    '{"totalObjects":7,"totalSize":21}',
  ];
  const path = await writeInventory(dir, 'c.ndjson', lines);
  const chunks: ListingChunk[] = [];
  for await (const c of readInventory(path, { chunkEntries: 3 })) chunks.push(c);
  assert.deepEqual(chunks.map((c) => c.keys), [['k0', 'k1', 'k2'], ['k3', 'k4', 'k5'], ['k6']]);
  assert.deepEqual(chunks.map((c) => [c.entries, c.bytes]), [[3, 3], [3, 12], [1, 6]]);
  const text = await readFile(path, 'utf8');
  const lineEnd = (n: number) => text.split('\n').slice(0, n).join('\n').length + 1;
  assert.deepEqual(chunks.map((c) => c.end), [
    { line: 3, offset: lineEnd(3) },
    { line: 6, offset: lineEnd(6) },
    { line: 9, offset: Buffer.byteLength(text) },
  ]);
});

test('reading from a checkpoint position gives the rest of the input, plain or gzip, whatever the bytes', async (t) => {
  const dir = await tempDir(t);
  // ASCII, multi-byte UTF-8, an escaped key, CRLF ends and a line with invalid UTF-8 bytes.
  const keys = Array.from({ length: 40 }, (_, i) => (i % 5 === 0 ? `d/ファイル-${i}-😀` : i % 7 === 0 ? `q/"${i}"` : `a/${i}`));
  const body = keys.map((key, i) => mcLsLine({ key, size: i }) + (i % 3 === 0 ? '\r\n' : '\n')).join('');
  const invalid = Buffer.concat([Buffer.from(mcLsLine({ key: 'bad-XX', size: 1 }).replace('XX', '\u0000\u0000')), Buffer.from('\n')]);
  invalid[invalid.indexOf(0)] = 0xff;
  invalid[invalid.indexOf(0)] = 0xc3;
  const bytes = Buffer.concat([Buffer.from(body), invalid, Buffer.from(mcLsLine({ key: 'z/last', size: 2 }))]);
  const plain = join(dir, 'p.ndjson');
  const gz = join(dir, 'g.ndjson.gz');
  await writeFile(plain, bytes);
  await writeFile(gz, gzipSync(bytes));
  for (const path of [plain, gz]) {
    const all: string[] = [];
    const ends: { line: number; offset: number }[] = [];
    for await (const c of readInventory(path, { chunkEntries: 4 })) {
      all.push(...c.keys);
      ends.push(c.end);
    }
    assert.equal(all.length, 42);
    assert.equal(all[40], 'bad-\ufffd\ufffd');
    assert.deepEqual(all.slice(0, 40), keys);
    for (const start of ends) {
      const rest: string[] = [];
      for await (const c of readInventory(path, { chunkEntries: 4, start })) rest.push(...c.keys);
      assert.deepEqual(rest, all.slice(start.line), `${path} from line ${start.line}`);
    }
  }
});

test('a sink receives each entry instead of the chunk arrays, as UTF-8 bytes or strings', async (t) => {
  const dir = await tempDir(t);
  const invalid = '{"status":"success","type":"file","lastModified":"t","size":3,"key":"bad\xff","etag":"","url":"u"}';
  const path = await writeInventory(dir, 's.ndjson', [{ key: 'a', size: 1 }, { key: 'é', size: 2, storageClass: 'GLACIER' }, 'PLACEHOLDER', { key: 'say "hi"', size: 4 }, { key: 'q', size: 5, etag: '"quoted"' }]);
  // A key with a byte that is not UTF-8 (0xff), written raw.
  const text = await readFile(path, 'latin1');
  await writeFile(path, Buffer.from(text.replace('PLACEHOLDER', invalid), 'latin1'));
  const got: [string, string, string][] = [];
  const chunks: ListingChunk[] = [];
  const asText = (x: string | Uint8Array) => (typeof x === 'string' ? x : Buffer.from(x).toString('utf8'));
  const sink = (k: string | Uint8Array, v: string | Uint8Array) => got.push([asText(k), asText(v), typeof k === 'string' ? 'string' : 'bytes']);
  for await (const c of readInventory(path, { sink })) chunks.push(c);
  assert.deepEqual(got, [
    ['a', '1\t\t2025-03-04T10:15:30.512Z', 'bytes'],
    ['é', '2\t\t2025-03-04T10:15:30.512Z\tGLACIER\t\t', 'bytes'],
    ['bad\ufffd', '3\t\tt', 'string'], // never raw invalid bytes into the store
    ['say "hi"', '4\t\t2025-03-04T10:15:30.512Z', 'bytes'], // escapes in a key: still the scanner
    ['q', '5\tquoted\t2025-03-04T10:15:30.512Z', 'string'], // an escaped (quoted) ETag: the slow path
  ]);
  assert.deepEqual(chunks.flatMap((c) => c.keys), []);
  assert.equal(chunks.reduce((n, c) => n + c.entries, 0), 5);
});

test('lines longer than the read buffer, and lines cut by every read, are read whole with exact positions', async (t) => {
  const dir = await tempDir(t);
  // A 5 MiB key (longer than the 2 MiB buffer the reader starts with), then enough lines to cross many reads.
  const huge = 'h/' + 'x'.repeat(5 * 1024 * 1024);
  const specs = [{ key: 'a', size: 1 }, { key: huge, size: 2 }, ...Array.from({ length: 20_000 }, (_, i) => ({ key: `k/${String(i).padStart(6, '0')}-é`, size: i }))];
  const path = await writeInventory(dir, 'long.ndjson', specs);
  const chunks: ListingChunk[] = [];
  for await (const c of readInventory(path, { chunkEntries: 7_000 })) chunks.push(c);
  const keys = chunks.flatMap((c) => c.keys);
  assert.deepEqual(keys, specs.map((s) => s.key));
  // Each chunk's end is the byte offset just after its last line: reading on from there gives the rest.
  const text = await readFile(path);
  for (const c of chunks) assert.equal(text[c.end.offset - 1], 0x0a);
  const rest: string[] = [];
  for await (const c of readInventory(path, { start: chunks[0]!.end })) rest.push(...c.keys);
  assert.deepEqual(rest, keys.slice(chunks[0]!.keys.length));
});

test('each chunk names the key of the last entry read up to its end, from bytes or strings, across reads', async (t) => {
  const dir = await tempDir(t);
  // Multi-byte keys, every 13th line a quoted ETag (the slow path, a string), crossing many 1 MiB reads;
  // the input ends with 3 MiB of blank lines (reads with no entry in them) and a summary line, so the
  // last chunk holds no entry and its last key was read blocks before it.
  const specs = Array.from({ length: 30_000 }, (_, i) => ({ key: `d${i % 3}/ファイル-${String(i).padStart(6, '0')}-${'y'.repeat(i % 90)}`, size: i, ...(i % 13 === 0 ? { etag: '"q"' } : {}) }));
  // The last entry's key has a lone surrogate: the scanner writes it, declines it, and the slow path takes it.
  specs.push({ key: 'z/lone-\ud800', size: 1 });
  const path = await writeInventory(dir, 'last.ndjson', specs);
  await appendFile(path, '\n'.repeat(3 << 20) + '{"totalObjects":30000,"totalSize":1}\n');
  for (const start of [undefined, { line: 0, offset: 0 }]) {
    const seen: string[] = [];
    const sink = (k: string | Uint8Array) => seen.push(typeof k === 'string' ? k : Buffer.from(k).toString('utf8'));
    const lasts: (string | undefined)[] = [];
    const expected: (string | undefined)[] = [];
    for await (const c of readInventory(path, { chunkEntries: 7_000, sink, ...(start ? { start } : {}) })) {
      lasts.push(c.lastKey);
      expected.push(seen.at(-1));
    }
    assert.equal(seen.length, 30_001);
    assert.deepEqual(lasts, expected);
    assert.equal(lasts.length, 5);
    assert.equal(lasts.at(-1), specs.at(-1)!.key, 'a chunk without entries names the last key before it');
  }
  // Read on from a chunk's end: the first chunk names a key of its own read, none before it.
  const first: ListingChunk[] = [];
  for await (const c of readInventory(path, { chunkEntries: 7_000 })) first.push(c);
  const from: ListingChunk[] = [];
  for await (const c of readInventory(path, { chunkEntries: 7_000, start: first[3]!.end })) from.push(c);
  assert.deepEqual(from.map((c) => c.lastKey), [specs.at(-1)!.key]);
  const empty = await writeInventory(dir, 'empty.ndjson', ['{"totalObjects":0,"totalSize":0}']);
  const none: ListingChunk[] = [];
  for await (const c of readInventory(empty)) none.push(c);
  assert.deepEqual(none.map((c) => c.lastKey), [undefined]);
});
