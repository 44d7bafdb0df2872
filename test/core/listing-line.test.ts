import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isUtf8 } from 'node:buffer';
import { ListingLineError, McLsLineScanner, parseListingLine } from '../../src/core/listing-line.ts';
import { encodeEntryValue } from '../../src/core/entry-codec.ts';
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

/** An entry as the store holds it: key, encoded value (entry-codec) and object size. */
interface EncodedEntry {
  key: string;
  value: string;
  size: number;
}

/** What the slow path (JSON.parse of the UTF-8 decoded line) stores for a line, or undefined for a non-entry. */
function slow(line: string): EncodedEntry | undefined {
  const p = parseListingLine(line);
  return p.kind === 'entry' ? { key: p.entry.key, value: encodeEntryValue(p.entry), size: p.entry.size } : undefined;
}

/** What the byte scanner gives for one line (bytes, without a newline): strings, bytes as text, the offset. */
function scanned(bytes: Buffer): { entry: EncodedEntry; keyBytes?: string; valueBytes?: string } | undefined {
  const scanner = new McLsLineScanner();
  const withNewline = Buffer.concat([bytes, Buffer.from('\n')]);
  const next = scanner.scan(withNewline, 0, withNewline.length);
  if (next < 0) return undefined;
  assert.equal(next, withNewline.length);
  const keyBytes = scanner.keyBytes();
  const valueBytes = scanner.valueBytes();
  return {
    entry: { key: scanner.key(), value: scanner.value(), size: scanner.size },
    ...(keyBytes ? { keyBytes: keyBytes.toString('utf8') } : {}),
    ...(valueBytes ? { valueBytes: valueBytes.toString('utf8') } : {}),
  };
}

/** The scanner against the slow path, for one line: what it accepts it gives exactly as JSON.parse does. */
function agree(bytes: Buffer, expectAccepted?: boolean): boolean {
  const text = bytes.toString('utf8');
  let expected: EncodedEntry | undefined;
  try {
    expected = slow(text);
  } catch {
    expected = undefined;
  }
  const viaScan = scanned(bytes);
  if (expectAccepted !== undefined) assert.equal(viaScan !== undefined, expectAccepted, `scanner on ${JSON.stringify(text)}`);
  if (viaScan) {
    assert.deepEqual(viaScan.entry, expected, text);
    // Bytes handed to the store decode to the same strings; invalid UTF-8 is never handed over as bytes.
    if (viaScan.keyBytes !== undefined) assert.equal(viaScan.keyBytes, expected!.key);
    else assert.equal(isUtf8(bytes), false, text);
    if (viaScan.valueBytes !== undefined) assert.equal(viaScan.valueBytes, expected!.value);
  }
  return viaScan !== undefined;
}

const ACCEPTED = [
  mcLsLine({ key: 'a/b c.txt', size: 12, etag: MD5, storageClass: 'STANDARD' }),
  mcLsLine({ key: 'dir/', type: 'folder' }),
  mcLsLine({ key: '~!#$%&()*+,-.:;<=>?@[]^_`{|}', size: 9007199254740991 % 1e15 }),
  '{"status":"success","type":"file","lastModified":"2025-01-01T00:00:00Z","size":0,"key":"k","etag":"","url":"u"}',
  '{"status":"success","type":"file","lastModified":"","size":7,"key":"k","etag":"e","url":"","versionOrdinal":1}',
  '{"status":"success","type":"folder","lastModified":"","size":0,"key":"d/","etag":"","url":"","storageClass":"GLACIER"}',
  mcLsLine({ key: 'caf\u00e9.txt', size: 1 }),
  mcLsLine({ key: '写真/東京タワー.jpg', size: 2_227_255, etag: MD5, storageClass: 'STANDARD' }),
  mcLsLine({ key: 'emoji/😀.txt', size: 120 }),
  mcLsLine({ key: 'sep\u2028line', size: 3 }),
  mcLsLine({ key: 'c1\u0085control', size: 3 }),
  mcLsLine({ key: 'x'.repeat(3000), size: 1 }), // longer than the scanner's first scratch buffer
  mcLsLine({ key: 'k', size: 1, storageClass: 'クラス' }),
  // Escapes in the key: JSON.stringify writes quotes, backslashes and control characters so.
  mcLsLine({ key: 'say "hi"', size: 1 }),
  mcLsLine({ key: 'back\\slash', size: 1 }),
  mcLsLine({ key: 'tab\tkey\nline\u0000nul\u001f', size: 1 }),
  mcLsLine({ key: 'caf\u00e9 "quoted"', size: 1 }),
  '{"status":"success","type":"file","lastModified":"t","size":1,"key":"\\u00e9\\u6771\\ud83d\\ude00\\/x\\b\\f\\r","etag":"","url":"u"}',
];

const DECLINED = [
  mcLsLine({ key: 'del\u007fkey', size: 1 }),
  '{"status":"success","type":"file","lastModified":"t","size":1,"key":"lone\\ud83d","etag":"","url":"u"}', // a lone surrogate: the slow path
  '{"status":"success","type":"file","lastModified":"t","size":1,"key":"low\\ude00first","etag":"","url":"u"}',
  '{"status":"success","type":"file","lastModified":"t","size":1,"key":"bad\\q","etag":"","url":"u"}', // not JSON
  '{"status":"success","type":"file","lastModified":"t","size":1,"key":"bad\\u12g4","etag":"","url":"u"}',
  '{"status":"success","type":"file","lastModified":"t","size":1,"key":"cut\\u12","etag":"","url":"u"}',
  '{"status":"success","type":"file","lastModified":"t","size":1,"key":"k","etag":"e\\"q","url":"u"}', // escapes elsewhere: the slow path
  mcLsLine({ key: 'x', size: 1, etag: `"${MD5}"` }), // quoted ETag: stripped by the slow path
  '{"status":"success","type":"file","lastModified":"t","size":1,"key":"","etag":"","url":"u"}', // empty key: an error
  '{"status":"success","type":"file","lastModified":"t","size":01,"key":"k","etag":"","url":"u"}', // not JSON
  '{"status":"success","type":"file","lastModified":"t","size":1234567890123456,"key":"k","etag":"","url":"u"}', // 16 digits
  '{"status":"success", "type":"file","lastModified":"t","size":1,"key":"k","etag":"","url":"u"}', // other spacing
  '{"status":"success","type":"file","lastModified":"t","size":1,"key":"k","etag":"","url":"u","versionId":"v"}',
  '{"status":"success","type":"file","lastModified":"t","size":1,"key":"k","etag":"","url":"u"} ',
  '{"status":"success","type":"file","lastModified":"t","size":1,"key":"k","etag":"","url":"u"',
  '{"status":"success","type":"files","lastModified":"t","size":1,"key":"k","etag":"","url":"u"}',
  '{"status":"success","type":"file","lastModified":"t","size":1,"key":"k","etag":"","url":"u\\/x"}',
  '{"status":"success","type":"file","lastModified":"t","size":1,"key":"k","etag":"","url":"u","versionOrdinal":01}',
  '{"status":"error","error":{"message":"Access Denied."}}',
  '{"totalObjects":3,"totalSize":10}',
];

test('mc-layout lines: the byte scanner stores exactly what JSON.parse gives, and declines every other line', () => {
  for (const line of ACCEPTED) agree(Buffer.from(line), true);
  for (const line of DECLINED) agree(Buffer.from(line), false);
});

test('the byte scanner takes invalid UTF-8 as every decoder does (U+FFFD), never handing the raw bytes to the store', () => {
  const line = (key: Buffer) =>
    Buffer.concat([Buffer.from('{"status":"success","type":"file","lastModified":"t","size":5,"key":"'), key, Buffer.from('","etag":"e","url":"u"}')]);
  for (const key of [Buffer.from([0x61, 0xff, 0x62]), Buffer.from([0xe6, 0x97]), Buffer.from([0xed, 0xa0, 0x80]), Buffer.from([0xc3, 0x22 - 0x22 + 0x41])]) {
    agree(line(key), true);
    const s = scanned(line(key))!;
    assert.equal(s.keyBytes, undefined);
    assert.match(s.entry.key, /\ufffd/);
  }
  // A truncated sequence right before the closing quote: the quote still ends the field.
  agree(line(Buffer.from([0x61, 0xe6])), true);
});

test('the byte scanner agrees with JSON.parse on mutated lines (a deterministic fuzz of 20,000 lines)', () => {
  let seed = 12345;
  const rand = (n: number) => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed % n;
  };
  // The short lines, and two with escaped keys (ACCEPTED's last): not the 3,000-byte key.
  const bases = [...ACCEPTED.slice(0, 11), ...ACCEPTED.slice(-2)].map((l) => Buffer.from(l));
  let accepted = 0;
  let declined = 0;
  const interesting = [0x00, 0x09, 0x0a, 0x0d, 0x20, 0x22, 0x2c, 0x30, 0x31, 0x39, 0x3a, 0x5c, 0x7b, 0x7d, 0x7f, 0x80, 0xbf, 0xc3, 0xe6, 0xf0, 0xff];
  for (let n = 0; n < 20_000; n++) {
    const base = bases[rand(bases.length)]!;
    const bytes = Buffer.from(base);
    const edits = 1 + rand(2);
    let mutated: Buffer = bytes;
    for (let e = 0; e < edits; e++) {
      const at = rand(mutated.length);
      const kind = rand(3);
      const b = rand(2) === 0 ? interesting[rand(interesting.length)]! : rand(256);
      if (kind === 0) mutated[at] = b;
      else if (kind === 1) mutated = Buffer.concat([mutated.subarray(0, at), Buffer.from([b]), mutated.subarray(at)]);
      else mutated = Buffer.concat([mutated.subarray(0, at), mutated.subarray(at + 1)]);
    }
    if (mutated.includes(0x0a)) continue; // one line at a time
    if (agree(mutated)) accepted++;
    else declined++;
  }
  // Both outcomes are well represented (a mutation inside a field's text often keeps the line valid).
  assert.ok(accepted > 2_000 && declined > 2_000, `accepted ${accepted}, declined ${declined}`);
});

test('the byte scanner needs the newline: a line cut at the end of the bytes is left for the next block', () => {
  const line = Buffer.from(ACCEPTED[0]! + '\r\n');
  const scanner = new McLsLineScanner();
  for (let cut = 0; cut < line.length; cut++) assert.equal(scanner.scan(line, 0, cut), -1, `cut at ${cut}`);
  assert.equal(scanner.scan(line, 0, line.length), line.length);
  // Two lines back to back: the second starts where the first's newline ends.
  const two = Buffer.from(ACCEPTED[1]! + '\n' + ACCEPTED[6]! + '\n');
  const first = scanner.scan(two, 0, two.length);
  assert.equal(scanner.key(), 'dir/');
  assert.equal(scanner.scan(two, first, two.length), two.length);
  assert.equal(scanner.key(), 'caf\u00e9.txt');
});
