import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ListingLineError, parseListingLine } from '../../src/core/listing-line.ts';
import { MD5_A as MD5, mcLsLine } from '../helpers.ts';

test('a file line becomes an entry with quotes stripped from the ETag', () => {
  const line = JSON.stringify({
    status: 'success',
    type: 'file',
    lastModified: '2025-03-04T10:15:30.512Z',
    size: 1048576,
    key: '2025/a.jpg',
    etag: '"9b2cf535f27731c974343645a3985328"',
    url: 'https://s3.example.net/media/photos/',
    versionOrdinal: 1,
    storageClass: 'STANDARD',
    somethingNew: { ignored: true },
  });
  assert.deepEqual(parseListingLine(line), {
    kind: 'entry',
    entry: { key: '2025/a.jpg', size: 1048576, etag: '9b2cf535f27731c974343645a3985328', lastModified: '2025-03-04T10:15:30.512Z', storageClass: 'STANDARD' },
  });
});

test('a folder marker is an entry flagged as folder', () => {
  const r = parseListingLine(mcLsLine({ key: '2024/', type: 'folder' }));
  assert.equal(r.kind, 'entry');
  assert.equal(r.kind === 'entry' && r.entry.folder, true);
});

test('a delete marker and a version id are kept', () => {
  const r = parseListingLine('{"status":"success","type":"file","lastModified":"2025-03-05T08:00:00Z","size":0,"key":"doc.txt","etag":"","url":"u","versionId":"8c1e","versionOrdinal":3,"isDeleteMarker":true}');
  assert.deepEqual(r.kind === 'entry' && r.entry, { key: 'doc.txt', size: 0, etag: '', lastModified: '2025-03-05T08:00:00Z', versionId: '8c1e', isDeleteMarker: true });
});

test('summary lines are recognised and blank lines skipped', () => {
  assert.deepEqual(parseListingLine('{"totalObjects":1523,"totalSize":73400320}'), { kind: 'summary', totalObjects: 1523, totalSize: 73400320 });
  assert.deepEqual(parseListingLine(''), { kind: 'skip' });
  assert.deepEqual(parseListingLine('   '), { kind: 'skip' });
});

test('an mc error object is reported with its cause', () => {
  const line =
    '{"status":"error","error":{"message":"Unable to list folder.","cause":{"message":"Access Denied.","error":{"Code":"AccessDenied"}},"type":"error"}}';
  assert.deepEqual(parseListingLine(line), { kind: 'error', message: 'Unable to list folder.: Access Denied.' });
});

test('table: malformed lines throw ListingLineError with a reason', () => {
  const cases: [string, RegExp][] = [
    ['{"key":"a","size":1', /^not valid JSON/],
    ['mc: <ERROR> Invalid command usage', /^not valid JSON/],
    ['[1,2]', /not a JSON object/],
    ['"text"', /not a JSON object/],
    ['{"size":1}', /no "key"/],
    ['{"key":"a"}', /entry "a" has no "size"/],
    ['{"key":"a","size":"12"}', /invalid "size" "12"/],
    ['{"key":"a","size":-1}', /invalid "size" -1/],
    ['{"key":"a","size":1.5}', /invalid "size" 1.5/],
    ['{"key":"","size":1}', /not a non-empty string/],
    ['{"key":7,"size":1}', /not a non-empty string/],
  ];
  for (const [line, re] of cases) {
    assert.throws(() => parseListingLine(line), (err: unknown) => err instanceof ListingLineError && re.test(err.message), line);
  }
});

test('the mc-layout fast path gives exactly what JSON.parse gives, and declines every other line', async () => {
  const { encodeMcLsLine } = await import('../../src/core/listing-line.ts');
  const { encodeEntryValue } = await import('../../src/core/entry-codec.ts');
  const slow = (line: string) => {
    const p = parseListingLine(line);
    return p.kind === 'entry' ? { key: p.entry.key, value: encodeEntryValue(p.entry), size: p.entry.size } : undefined;
  };
  const accepted = [
    mcLsLine({ key: 'a/b c.txt', size: 12, etag: MD5, storageClass: 'STANDARD' }),
    mcLsLine({ key: 'dir/', type: 'folder' }),
    mcLsLine({ key: '~!#$%&()*+,-.:;<=>?@[]^_`{|}', size: 9007199254740991 % 1e15 }),
    '{"status":"success","type":"file","lastModified":"2025-01-01T00:00:00Z","size":0,"key":"k","etag":"","url":"u"}',
    '{"status":"success","type":"file","lastModified":"","size":7,"key":"k","etag":"e","url":"","versionOrdinal":1}',
  ];
  for (const line of accepted) {
    assert.deepEqual(encodeMcLsLine(line), slow(line), line);
  }
  const declined = [
    mcLsLine({ key: 'caf\u00e9.txt', size: 1 }), // non-ASCII: a latin1 reader must decode it again
    mcLsLine({ key: 'say "hi"', size: 1 }), // escapes
    mcLsLine({ key: 'back\\slash', size: 1 }),
    mcLsLine({ key: 'tab\tkey', size: 1 }),
    mcLsLine({ key: 'x', size: 1, etag: `"${MD5}"` }), // quoted ETag: stripped by the slow path
    '{"status":"success","type":"file","lastModified":"t","size":1,"key":"","etag":"","url":"u"}', // empty key: an error
    '{"status":"success","type":"file","lastModified":"t","size":01,"key":"k","etag":"","url":"u"}', // not JSON
    '{"status":"success","type":"file","lastModified":"t","size":1234567890123456,"key":"k","etag":"","url":"u"}', // 16 digits
    '{"status":"success", "type":"file","lastModified":"t","size":1,"key":"k","etag":"","url":"u"}', // other spacing
    '{"status":"success","type":"file","lastModified":"t","size":1,"key":"k","etag":"","url":"u","versionId":"v"}',
    '{"status":"success","type":"file","lastModified":"t","size":1,"key":"k","etag":"","url":"u"} ',
    '{"status":"success","type":"file","lastModified":"t","size":1,"key":"k","etag":"","url":"u"',
  ];
  for (const line of declined) assert.equal(encodeMcLsLine(line), undefined, line);
});

test('the UTF-8 fast path takes non-ASCII fields in mc layout exactly as JSON.parse does, and declines the rest', async () => {
  const { encodeMcLsLine, encodeMcLsLineUtf8 } = await import('../../src/core/listing-line.ts');
  const { encodeEntryValue } = await import('../../src/core/entry-codec.ts');
  const slow = (line: string) => {
    const p = parseListingLine(line);
    return p.kind === 'entry' ? { key: p.entry.key, value: encodeEntryValue(p.entry), size: p.entry.size } : undefined;
  };
  const accepted = [
    mcLsLine({ key: 'caf\u00e9.txt', size: 1 }),
    mcLsLine({ key: '写真/東京タワー.jpg', size: 2_227_255, etag: MD5, storageClass: 'STANDARD' }),
    mcLsLine({ key: 'emoji/😀.txt', size: 120 }),
    mcLsLine({ key: 'sep\u2028line', size: 3 }),
    mcLsLine({ key: 'plain/ascii.txt', size: 5 }),
  ];
  for (const line of accepted) {
    assert.deepEqual(encodeMcLsLineUtf8(line), slow(line), line);
    assert.notEqual(encodeMcLsLineUtf8(line), undefined, line);
  }
  // The latin1 path still declines non-ASCII lines (the reader decodes them again as UTF-8 first).
  assert.equal(encodeMcLsLine(accepted[0]!), undefined);
  const declined = [
    mcLsLine({ key: 'caf\u00e9 "quoted"', size: 1 }), // escapes: the slow path
    mcLsLine({ key: '写真\\back', size: 1 }),
    mcLsLine({ key: 'tab\t写真', size: 1 }),
    mcLsLine({ key: '写真', size: 1, etag: `"${MD5}"` }),
    '{"status":"success","type":"file","lastModified":"t","size":1,"key":"写真","etag":"","url":"u"} ',
  ];
  for (const line of declined) assert.equal(encodeMcLsLineUtf8(line), undefined, line);
});
