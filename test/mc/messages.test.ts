// Tests for the mc message parser: every format of reference/mc-json.md, from its example lines.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MC_DIFF, parseMcLine } from '../../src/mc/messages.ts';

const ERROR_LINE =
  '{"status":"error","error":{"message":"Failed to copy `https://s3.example.net/media/a.jpg`.","cause":{"message":"Access Denied.","error":{"Code":"AccessDenied","Message":"Access Denied.","BucketName":"media","Key":"a.jpg","Resource":"/media/a.jpg","RequestID":"17F1…","HostID":"dd9…","Region":"","Server":"MinIO"}},"type":"error"}}';

test('generic error object (§1)', () => {
  const m = parseMcLine(ERROR_LINE);
  assert.equal(m.type, 'error');
  if (m.type !== 'error') return;
  assert.equal(m.severity, 'error');
  assert.equal(m.message, 'Failed to copy `https://s3.example.net/media/a.jpg`.');
  assert.equal(m.causeMessage, 'Access Denied.');
  assert.equal((m.cause as { Code: string }).Code, 'AccessDenied');
});

test('fatal error object, with an empty cause error', () => {
  const m = parseMcLine('{"status":"error","error":{"message":"Unable to list comparison retrying..","cause":{"message":"boom","error":{}},"type":"fatal"}}');
  assert.deepEqual(m, { type: 'error', severity: 'fatal', message: 'Unable to list comparison retrying..', causeMessage: 'boom', cause: {} });
});

test('ls entries and the --summarize line (§2)', () => {
  assert.deepEqual(
    parseMcLine('{"status":"success","type":"file","lastModified":"2025-03-04T10:15:30.512Z","size":1048576,"key":"2025/a.jpg","etag":"9b2cf535f27731c974343645a3985328","url":"https://s3.example.net/media/photos/","versionOrdinal":1,"storageClass":"STANDARD"}'),
    {
      type: 'ls',
      entryType: 'file',
      lastModified: '2025-03-04T10:15:30.512Z',
      size: 1048576,
      key: '2025/a.jpg',
      etag: '9b2cf535f27731c974343645a3985328',
      url: 'https://s3.example.net/media/photos/',
      versionOrdinal: 1,
      storageClass: 'STANDARD',
    },
  );
  const folder = parseMcLine('{"status":"success","type":"folder","lastModified":"2025-11-07T09:00:01.483920117Z","size":0,"key":"2024/","etag":"","url":"https://s3.example.net/media/photos/","versionOrdinal":1}');
  assert.equal(folder.type, 'ls');
  if (folder.type === 'ls') {
    assert.equal(folder.entryType, 'folder');
    assert.equal(folder.lastModified, '2025-11-07T09:00:01.483920117Z', 'nanosecond string kept as is');
    assert.equal(folder.isDeleteMarker, undefined);
  }
  const marker = parseMcLine('{"status":"success","type":"file","lastModified":"2025-03-05T08:00:00Z","size":0,"key":"doc.txt","etag":"","url":"https://s3.example.net/media/","versionId":"8c1e0d52-…","versionOrdinal":3,"isDeleteMarker":true}');
  assert.equal(marker.type, 'ls');
  if (marker.type === 'ls') {
    assert.equal(marker.versionId, '8c1e0d52-…');
    assert.equal(marker.versionOrdinal, 3);
    assert.equal(marker.isDeleteMarker, true);
  }
  assert.deepEqual(parseMcLine('{"totalObjects":1523,"totalSize":73400320}'), { type: 'lsSummary', totalObjects: 1523, totalSize: 73400320 });
});

test('mirror lines (§3): copy, removal, bucket, watch event, retry, summary', () => {
  const copy = parseMcLine('{"status":"success","source":"src/media/a.jpg","target":"dst/bk/a.jpg","size":1048576,"totalCount":17,"totalSize":52428800,"eventTime":"","eventType":""}');
  assert.deepEqual(copy, {
    type: 'mirror', kind: 'copy', source: 'src/media/a.jpg', target: 'dst/bk/a.jpg', size: 1048576,
    totalCount: 17, totalSize: 52428800, eventTime: '', eventType: '',
  });
  const removal = parseMcLine('{"status":"success","source":"","target":"dst/bk/a.jpg","size":0,"totalCount":17,"totalSize":52428800,"eventTime":"","eventType":""}');
  assert.equal(removal.type === 'mirror' && removal.kind, 'removal');
  const bucket = parseMcLine('{"status":"success","source":"src/newbkt","target":"dst/newbkt","size":0,"totalCount":0,"totalSize":0,"eventTime":"","eventType":""}');
  assert.equal(bucket.type === 'mirror' && bucket.kind, 'copy');
  const event = parseMcLine('{"status":"success","source":"src/media/a.jpg","target":"dst/bk/a.jpg","size":5,"totalCount":1,"totalSize":5,"eventTime":"2025-06-01T12:00:00.000Z","eventType":"s3:ObjectCreated:Put"}');
  assert.equal(event.type === 'mirror' && event.kind, 'event');
  assert.equal(event.type === 'mirror' && event.eventType, 's3:ObjectCreated:Put');
  assert.deepEqual(parseMcLine('{"sourceURL":"https://src.example.net/media/a.jpg","targetURL":"https://dst.example.net/bk/a.jpg","retries":1}'), {
    type: 'retry', sourceURL: 'https://src.example.net/media/a.jpg', targetURL: 'https://dst.example.net/bk/a.jpg', retries: 1,
  });
  assert.deepEqual(parseMcLine('{"status":"success","total":52428800,"transferred":52428800,"duration":8123456789,"speed":6454110.2}'), {
    type: 'summary', total: 52428800, transferred: 52428800, duration: 8123456789, speed: 6454110.2,
  });
  assert.deepEqual(parseMcLine('{"status":"success","total":10,"transferred":10}'), { type: 'summary', total: 10, transferred: 10 }, 'no duration on old releases');
});

test('cp lines (§4)', () => {
  assert.deepEqual(parseMcLine('{"status":"success","source":"/home/u/data/a.txt","target":"dst/bk/data/a.txt","size":12,"totalCount":3,"totalSize":4108}'), {
    type: 'copy', source: '/home/u/data/a.txt', target: 'dst/bk/data/a.txt', size: 12, totalCount: 3, totalSize: 4108,
  });
  assert.deepEqual(parseMcLine('{"status":"success","total":4108,"transferred":4108,"duration":35021544,"speed":117302.4}'), {
    type: 'summary', total: 4108, transferred: 4108, duration: 35021544, speed: 117302.4,
  });
});

test('diff lines (§5): integer codes, "" on the missing side', () => {
  assert.deepEqual(parseMcLine('{"status":"success","first":"https://src.example.net/media/a.jpg","second":"","diff":5}'), {
    type: 'diff', first: 'https://src.example.net/media/a.jpg', second: '', diff: MC_DIFF.onlyInFirst,
  });
  assert.deepEqual(parseMcLine('{"status":"success","first":"/srv/data/b.bin","second":"https://dst.example.net/bk/b.bin","diff":2}'), {
    type: 'diff', first: '/srv/data/b.bin', second: 'https://dst.example.net/bk/b.bin', diff: MC_DIFF.size,
  });
});

test('du line (§6)', () => {
  assert.deepEqual(parseMcLine('{"prefix":"media/photos","size":73400320,"objects":1523,"status":"success","isVersions":false}'), {
    type: 'du', prefix: 'media/photos', size: 73400320, objects: 1523, isVersions: false,
  });
});

test('stat line (§7): versionID, checksum, metadata', () => {
  assert.deepEqual(
    parseMcLine('{"status":"success","name":"a.jpg","lastModified":"2025-03-04T10:15:30Z","size":1048576,"etag":"9b2c…","type":"file","metadata":{"Content-Type":"image/jpeg","X-Amz-Meta-Owner":"ops"},"versionID":"…","checksum":{"CRC32C":"…"}}'),
    {
      type: 'stat', name: 'a.jpg', lastModified: '2025-03-04T10:15:30Z', size: 1048576, etag: '9b2c…', entryType: 'file',
      metadata: { 'Content-Type': 'image/jpeg', 'X-Amz-Meta-Owner': 'ops' }, versionID: '…', checksum: { CRC32C: '…' },
    },
  );
});

test('alias line (§8): secrets are not carried over', () => {
  const m = parseMcLine('{"status":"success","alias":"dst","URL":"https://dst.example.net","accessKey":"AK…","secretKey":"SK…","api":"s3v4","path":"auto"}');
  assert.deepEqual(m, { type: 'alias', alias: 'dst', URL: 'https://dst.example.net', api: 's3v4', path: 'auto' });
  assert.doesNotMatch(JSON.stringify(m), /SK…|AK…/);
});

test('rm line (§9)', () => {
  assert.deepEqual(parseMcLine('{"status":"success","key":"dst/bk/old.txt","deleteMarker":false,"versionID":"","modTime":null,"dryRun":false}'), {
    type: 'rm', key: 'dst/bk/old.txt', deleteMarker: false, versionID: '', modTime: null, dryRun: false,
  });
});

test('unknown JSON objects and non-JSON lines', () => {
  const bucketInfo = { status: 'success', Versioning: { status: 'Enabled' }, Usage: {} };
  assert.deepEqual(parseMcLine(JSON.stringify(bucketInfo)), { type: 'unknown', value: bucketInfo });
  for (const line of ['NAME:', '  mc mirror - synchronize object(s)', '', '[1,2]', '"str"', '42', 'null', '{not json', '{"a":1} trailing']) {
    assert.deepEqual(parseMcLine(line), { type: 'text', line }, line);
  }
});

test('escaped characters decode (Go escapes <>& as \\u003c…)', () => {
  const m = parseMcLine('{"status":"success","type":"file","lastModified":"2025-03-04T10:15:30Z","size":1,"key":"a\\u003cb\\u0026c\\u003e 😀","etag":"","url":"/x/"}');
  assert.equal(m.type === 'ls' && m.key, 'a<b&c> 😀');
});
