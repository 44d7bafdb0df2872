// Tests for the mc fixture in live mode (test/fixtures/mc): the exact `mc --json` lines it prints against a local S3 server.
import { describe, test, before, after } from 'node:test';
import type { TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { execa } from 'execa';
import { GetObjectCommand, HeadObjectCommand, ListObjectsV2Command, PutObjectCommand, type HeadObjectCommandOutput } from '@aws-sdk/client-s3';
import { startLocalS3, type LocalS3 } from '../../src/testing/s3-server.ts';
import { connect, type S3Connection } from '../../src/s3/client.ts';
import { Secret } from '../../src/core/secret.ts';
import { tempDir } from '../helpers.ts';

const FIXTURE = fileURLToPath(new URL('../fixtures/mc', import.meta.url));

// Keys whose UTF-8 byte order differs from JavaScript's UTF-16 order: U+FF5E before U+1F600 in bytes, after it in UTF-16.
const MEDIA_ORDER = [
  'a.txt',
  'phone.txt',
  'photos/',
  'photos/2024/b.jpg',
  'photos/é.jpg',
  'photos/\uFF5E.jpg',
  'photos/\u{1F600}.jpg',
  'stat/a.jpg',
  'stat/a.jpg.bak',
  'z.txt',
];
const PHOTOS = MEDIA_ORDER.filter((k) => k.startsWith('photos/'));

// Mirror and diff: `older` objects are written a second before the rest, so the source's newer.txt is newer.
const MIRROR_TARGETS = ['mdst1', 'mdst2', 'mdst3', 'mdiff'];
const TARGET_OBJECTS = { 'keep.log': 'kept', 'newer.txt': 'old!', 'only-dst.txt': 'gone', 'size.txt': 'short' };
const SOURCE_OBJECTS = {
  'newer.txt': 'new!',
  'only-src/é.txt': 'e',
  'only-src/\uFF5E.txt': 'tilde',
  'only-src/\u{1F600}.txt': 'smile',
  'size.txt': 'much longer',
  'skip.log': 'log',
};

let server: LocalS3;
let conn: S3Connection;
let env: Record<string, string>;
let mediaUrl: string;
const listed = new Map<string, { lastModified: Date; etag: string; size: number }>();

const bytes = (s: string) => Buffer.byteLength(s);
const rfc3339 = (d: Date) => d.toISOString().replace(/\.000Z$/, 'Z');

async function put(bucket: string, key: string, body: string, extra: { ContentType?: string; Metadata?: Record<string, string> } = {}) {
  await conn.client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: Buffer.from(body), ContentType: extra.ContentType ?? 'text/plain', Metadata: extra.Metadata }));
}

async function listKeys(bucket: string): Promise<string[]> {
  const out = await conn.client.send(new ListObjectsV2Command({ Bucket: bucket }));
  return (out.Contents ?? []).map((c) => c.Key!);
}

async function body(bucket: string, key: string): Promise<string> {
  const out = await conn.client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  return out.Body!.transformToString();
}

before(async () => {
  server = await startLocalS3({ buckets: ['media', 'cp1', 'cp2', 'cp3', 'msrc', ...MIRROR_TARGETS] });
  conn = connect({ url: server.endpoint, region: 'us-east-1', pathStyle: true }, { accessKey: server.accessKey, secretKey: new Secret(server.secretKey) });
  env = {
    MC_HOST_src: `http://${server.accessKey}:${server.secretKey}@127.0.0.1:${server.port}`,
    // Same server under another host name: not "the same alias", so copies stream through GET and PUT.
    MC_HOST_far: `http://${server.accessKey}:${server.secretKey}@localhost:${server.port}`,
    TZ: 'UTC',
  };
  mediaUrl = `http://127.0.0.1:${server.port}/media/`;
  for (const key of MEDIA_ORDER) {
    const meta = key === 'a.txt' ? { Metadata: { owner: 'ops', 'cost-center': 'x1' } } : {};
    await put('media', key, key.endsWith('/') ? '' : `body of ${key}`, { ContentType: key.endsWith('.jpg') ? 'image/jpeg' : 'text/plain', ...meta });
  }
  const out = await conn.client.send(new ListObjectsV2Command({ Bucket: 'media' }));
  for (const c of out.Contents ?? []) listed.set(c.Key!, { lastModified: c.LastModified!, etag: c.ETag!.replace(/"/g, ''), size: c.Size! });

  for (const b of MIRROR_TARGETS) for (const [k, v] of Object.entries(TARGET_OBJECTS)) await put(b, k, v);
  await sleep(1100); // s3rver's mtimes have whole seconds
  for (const [k, v] of Object.entries(SOURCE_OBJECTS)) await put('msrc', k, v);
  // same.txt: the target's copy is written after the source's, so the source is never newer.
  await put('msrc', 'same.txt', 'same');
  for (const b of MIRROR_TARGETS) await put(b, 'same.txt', 'same');
});

after(async () => {
  conn?.destroy();
  await server?.stop();
});

interface Run {
  lines: string[];
  exitCode: number | undefined;
  signal: string | undefined;
  stderr: string;
}

/** Runs the fixture with --json --no-color; the child is killed after the test if it is still running. */
async function mc(t: TestContext, args: string[], extraEnv: Record<string, string> = {}): Promise<Run> {
  const child = execa(FIXTURE, ['--json', '--no-color', ...args], { env: { ...env, ...extraEnv }, reject: false });
  t.after(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  const r = await child;
  return { lines: r.stdout === '' ? [] : r.stdout.split('\n'), exitCode: r.exitCode, signal: r.signal, stderr: r.stderr };
}

/** One `mc ls` line for a media object, the key as printed (relative to the listed folder). */
function lsLine(fullKey: string, key: string, url: string): string {
  const o = listed.get(fullKey)!;
  return JSON.stringify({
    status: 'success',
    type: fullKey.endsWith('/') ? 'folder' : 'file',
    lastModified: rfc3339(o.lastModified),
    size: o.size,
    key,
    etag: o.etag,
    url,
    versionOrdinal: 1,
    storageClass: 'STANDARD',
  });
}

/** A common prefix of a non-recursive listing, dated "now": the date is checked, then replaced by NOW. */
function prefixLine(key: string, url: string): string {
  return JSON.stringify({ status: 'success', type: 'folder', lastModified: 'NOW', size: 0, key, etag: '', url, versionOrdinal: 1 });
}

function withNow(lines: string[], from: number): string[] {
  return lines.map((l) => {
    const o = JSON.parse(l) as { type?: string; etag?: string; lastModified?: string };
    if (o.type !== 'folder' || o.etag !== '') return l;
    const at = Date.parse(o.lastModified!);
    assert.ok(at >= from - 1000 && at <= Date.now() + 1000, `common prefix dated now: ${o.lastModified}`);
    assert.match(o.lastModified!, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,3})?Z$/);
    return JSON.stringify({ ...o, lastModified: 'NOW' });
  });
}

function assertSummary(line: string | undefined, total: number): void {
  const s = JSON.parse(line ?? 'null') as Record<string, unknown>;
  assert.deepEqual(Object.keys(s), ['status', 'total', 'transferred', 'duration', 'speed']);
  assert.equal(s.status, 'success');
  assert.equal(s.total, total);
  assert.equal(s.transferred, total);
  assert.ok(Number.isInteger(s.duration) && (s.duration as number) > 0, 'duration in ns');
  assert.equal(typeof s.speed, 'number');
}

function parseError(line: string | undefined): { message: string; cause: { message: string; error: Record<string, unknown> }; type: string } {
  const o = JSON.parse(line ?? 'null') as { status: string; error: { message: string; cause: { message: string; error: Record<string, unknown> }; type: string } };
  assert.equal(o.status, 'error');
  assert.deepEqual(Object.keys(o.error), ['message', 'cause', 'type']);
  return o.error;
}

const copyLine = (source: string, target: string, size: number, totalCount: number, totalSize: number, mirror: boolean) =>
  JSON.stringify({ status: 'success', source, target, size, totalCount, totalSize, ...(mirror ? { eventTime: '', eventType: '' } : {}) });

const sorted = (lines: string[]) => [...lines].sort();

async function headOf(bucket: string, key: string): Promise<HeadObjectCommandOutput> {
  return conn.client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
}

describe('mc fixture, live mode', { concurrency: 4 }, () => {
  test('the test keys really order differently in UTF-8 bytes and in UTF-16', () => {
    assert.notDeepEqual([...MEDIA_ORDER].sort(), MEDIA_ORDER);
    assert.deepEqual([...MEDIA_ORDER].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b))), MEDIA_ORDER);
  });

  test('ls -r of a bucket root (with and without slash): full keys in byte order, folder markers; --summarize', async (t) => {
    const r = await mc(t, ['ls', '-r', '--summarize', 'src/media', 'src/media/']);
    const block = MEDIA_ORDER.map((k) => lsLine(k, k, mediaUrl));
    const size = MEDIA_ORDER.reduce((n, k) => n + listed.get(k)!.size, 0);
    assert.deepEqual(r.lines, [...block, ...block, JSON.stringify({ totalObjects: 20, totalSize: 2 * size })]);
    assert.equal(r.exitCode, 0);
    assert.equal(r.stderr, '');
  });

  test('ls -r of a folder with and without slash, and of a prefix match (pho)', async (t) => {
    const r = await mc(t, ['ls', '-r', 'src/media/photos/', 'src/media/photos', 'src/media/pho']);
    const photosUrl = `${mediaUrl}photos/`;
    // The folder's own marker photos/ is printed with the key "/" (mc's getKey adds "/" to the empty relative key).
    const photos = PHOTOS.map((k) => lsLine(k, k === 'photos/' ? '/' : k.slice('photos/'.length), photosUrl));
    const pho = ['phone.txt', ...PHOTOS].map((k) => lsLine(k, k, `${mediaUrl}pho`));
    assert.deepEqual(r.lines, [...photos, ...photos, ...pho]);
    assert.equal(r.exitCode, 0);
  });

  test('ls without -r: each page lists its objects before its common prefixes; the listed marker is skipped', async (t) => {
    const from = Date.now();
    const r = await mc(t, ['ls', 'src/media/', 'src/media/photos']);
    const photosUrl = `${mediaUrl}photos/`;
    assert.deepEqual(withNow(r.lines, from), [
      lsLine('a.txt', 'a.txt', mediaUrl),
      lsLine('phone.txt', 'phone.txt', mediaUrl),
      lsLine('z.txt', 'z.txt', mediaUrl),
      prefixLine('photos/', mediaUrl),
      prefixLine('stat/', mediaUrl),
      ...['é.jpg', '\uFF5E.jpg', '\u{1F600}.jpg'].map((k) => lsLine(`photos/${k}`, k, photosUrl)),
      prefixLine('2024/', photosUrl),
    ]);
    assert.equal(r.exitCode, 0);
  });

  test('an unknown alias is a local path: no output, exit 0; the record holds argv, TZ and MC_HOST_ names', async (t) => {
    const record = join(await tempDir(t, 's3mig-mc-live-'), 'record.json');
    const r = await mc(t, ['ls', '-r', 'typo/media'], { MC_REPLAY_RECORD: record });
    assert.deepEqual(r.lines, []);
    assert.equal(r.exitCode, 0);
    const rec = JSON.parse(await readFile(record, 'utf8')) as { argv: string[]; tz: string; mcHostKeys: string[]; pid: number };
    assert.deepEqual(rec.argv, ['--json', '--no-color', 'ls', '-r', 'typo/media']);
    assert.equal(rec.tz, 'UTC');
    assert.deepEqual(rec.mcHostKeys, ['MC_HOST_far', 'MC_HOST_src']);
    assert.equal(typeof rec.pid, 'number');
  });

  test('a missing bucket: "Unable to list folder." error object, exit 1', async (t) => {
    const r = await mc(t, ['ls', '-r', 'src/nobucket']);
    assert.equal(r.lines.length, 1);
    const e = parseError(r.lines[0]);
    assert.equal(e.message, 'Unable to list folder.');
    assert.equal(e.type, 'error');
    assert.equal(e.cause.error.Code, 'NoSuchBucket');
    assert.equal(r.exitCode, 1);
  });

  test('du: one line per target, every key counted', async (t) => {
    const r = await mc(t, ['du', 'src/media/photos', 'src/media']);
    const sum = (keys: string[]) => keys.reduce((n, k) => n + listed.get(k)!.size, 0);
    assert.deepEqual(r.lines, [
      JSON.stringify({ prefix: 'media/photos', size: sum(PHOTOS), objects: PHOTOS.length, status: 'success', isVersions: false }),
      JSON.stringify({ prefix: 'media', size: sum(MEDIA_ORDER), objects: MEDIA_ORDER.length, status: 'success', isVersions: false }),
    ]);
    assert.equal(r.exitCode, 0);
  });

  test('stat --no-list: targets in order; a missing one is fatal (exit 1) and later targets are not stat-ed', async (t) => {
    const r = await mc(t, ['stat', '--no-list', 'src/media/a.txt', 'src/media/missing.txt', 'src/media/z.txt']);
    const h = await headOf('media', 'a.txt');
    assert.equal(r.lines.length, 2);
    assert.equal(
      r.lines[0],
      JSON.stringify({
        status: 'success',
        name: 'a.txt',
        lastModified: h.LastModified!.toISOString().replace(/\.\d+Z$/, 'Z'),
        size: 5 + 'body of '.length,
        etag: listed.get('a.txt')!.etag,
        type: 'file',
        metadata: { 'Content-Type': 'text/plain', 'X-Amz-Meta-Cost-Center': 'x1', 'X-Amz-Meta-Owner': 'ops' },
      }),
    );
    const e = parseError(r.lines[1]);
    assert.equal(e.message, 'Unable to stat `src/media/missing.txt`.');
    assert.equal(e.cause.message, 'Object does not exist');
    assert.equal(e.cause.error.Code, 'NoSuchKey');
    assert.equal(e.type, 'fatal');
    assert.equal(r.exitCode, 1);
  });

  test('stat without --no-list: every object starting with the key (mc\'s trap)', async (t) => {
    const r = await mc(t, ['stat', 'src/media/stat/a.jpg']);
    assert.deepEqual(
      r.lines.map((l) => (JSON.parse(l) as { name: string }).name),
      ['a.jpg', 'a.jpg.bak'],
    );
    assert.equal(r.exitCode, 0);
  });

  test('timestamps are in the local zone, as mc prints them: TZ other than UTC gives an offset', async (t) => {
    const r = await mc(t, ['stat', '--no-list', 'src/media/z.txt'], { TZ: 'Asia/Kolkata' });
    const utc = listed.get('z.txt')!.lastModified;
    const local = new Date(utc.getTime() + 330 * 60_000).toISOString().replace(/\.\d+Z$/, '+05:30');
    assert.equal((JSON.parse(r.lines[0]!) as { lastModified: string }).lastModified, local);
  });

  test('cp of one object to an exact target: server-side copy, copy line then summary', async (t) => {
    const r = await mc(t, ['cp', 'src/media/a.txt', 'src/cp1/copied.txt']);
    const size = listed.get('a.txt')!.size;
    assert.equal(r.lines.length, 2);
    assert.equal(r.lines[0], copyLine('src/media/a.txt', 'src/cp1/copied.txt', size, 1, size, false));
    assertSummary(r.lines[1], size);
    assert.equal(r.exitCode, 0);
    const h = await headOf('cp1', 'copied.txt');
    assert.equal(h.ContentType, 'text/plain');
    assert.deepEqual(h.Metadata, { owner: 'ops', 'cost-center': 'x1' });
  });

  test('cp of several sources into a folder of another alias: streamed copies, running totals', async (t) => {
    const r = await mc(t, ['cp', 'src/media/a.txt', 'src/media/photos/é.jpg', 'far/cp2/multi/']);
    const a = listed.get('a.txt')!.size;
    const e = listed.get('photos/é.jpg')!.size;
    assert.equal(r.lines.length, 3);
    assert.deepEqual(
      sorted(r.lines.slice(0, 2)),
      sorted([copyLine('src/media/a.txt', 'far/cp2/multi/a.txt', a, 1, a, false), copyLine('src/media/photos/é.jpg', 'far/cp2/multi/é.jpg', e, 2, a + e, false)]),
    );
    assertSummary(r.lines[2], a + e);
    assert.equal(r.exitCode, 0);
    assert.equal(await body('cp2', 'multi/é.jpg'), 'body of photos/é.jpg');
    const h = await headOf('cp2', 'multi/a.txt');
    assert.equal(h.ContentType, 'text/plain');
    assert.deepEqual(h.Metadata, { owner: 'ops', 'cost-center': 'x1' });
  });

  test('cp with a missing source: an error object, the rest copied, no summary, exit 1', async (t) => {
    const r = await mc(t, ['cp', 'src/media/a.txt', 'src/media/nope.txt', 'src/cp3/m/']);
    const a = listed.get('a.txt')!.size;
    assert.equal(r.lines.length, 2);
    assert.ok(r.lines.includes(copyLine('src/media/a.txt', 'src/cp3/m/a.txt', a, 1, a, false)));
    const e = parseError(r.lines.find((l) => l.includes('"status":"error"')));
    assert.equal(e.message, 'Unable to prepare URL for copying.');
    assert.equal(e.cause.message, 'Object does not exist');
    assert.equal(e.type, 'error');
    assert.equal(r.exitCode, 1);
    assert.deepEqual(await listKeys('cp3'), ['m/a.txt']);
  });

  test('mirror: copies what is missing; differing objects are "Overwrite not allowed" errors, yet exit 0', async (t) => {
    const r = await mc(t, ['mirror', 'src/msrc', 'src/mdst1']);
    const size = (k: keyof typeof SOURCE_OBJECTS) => bytes(SOURCE_OBJECTS[k]);
    const [e, tilde, smile] = ['only-src/é.txt', 'only-src/\uFF5E.txt', 'only-src/\u{1F600}.txt'] as const;
    // Queued in merge order (UTF-8 bytes): é, ～, 😀, (size.txt differs), skip.log; printed by parallel workers, so unordered.
    const copies = [
      copyLine(`src/msrc/${e}`, `src/mdst1/${e}`, size(e), 1, size(e), true),
      copyLine(`src/msrc/${tilde}`, `src/mdst1/${tilde}`, size(tilde), 2, size(e) + size(tilde), true),
      copyLine(`src/msrc/${smile}`, `src/mdst1/${smile}`, size(smile), 3, size(e) + size(tilde) + size(smile), true),
      copyLine('src/msrc/skip.log', 'src/mdst1/skip.log', size('skip.log'), 4, size(e) + size(tilde) + size(smile) + size('skip.log'), true),
    ];
    const errors = r.lines.filter((l) => l.startsWith('{"status":"error"'));
    assert.deepEqual(sorted(r.lines.slice(0, -1).filter((l) => !errors.includes(l))), sorted(copies));
    assert.deepEqual(
      errors.map((l) => parseError(l)),
      [
        {
          message: 'Failed to perform mirroring, with error condition (mm-source-mtime)',
          cause: { message: `Overwrite not allowed for \`http://127.0.0.1:${server.port}/mdst1/newer.txt\`. Use \`--overwrite\` to override this behavior.`, error: {} },
          type: 'error',
        },
        {
          message: 'Failed to perform mirroring, with error condition (size)',
          cause: { message: `Overwrite not allowed for \`http://127.0.0.1:${server.port}/mdst1/size.txt\`. Use \`--overwrite\` to override this behavior.`, error: {} },
          type: 'error',
        },
      ],
    );
    assertSummary(r.lines.at(-1), size(e) + size(tilde) + size(smile) + size('skip.log'));
    assert.equal(r.exitCode, 0);
    assert.equal(await body('mdst1', 'size.txt'), 'short');
    assert.equal(await body('mdst1', smile), 'smile');
  });

  test('mirror --overwrite --remove --exclude: overwrites, deletes, leaves excluded keys alone', async (t) => {
    const r = await mc(t, ['mirror', '--overwrite', '--remove', '--exclude', '*.log', 'src/msrc', 'src/mdst2']);
    const keys = ['newer.txt', 'only-src/é.txt', 'only-src/\uFF5E.txt', 'only-src/\u{1F600}.txt', 'size.txt'] as const;
    let total = 0;
    const copies = keys.map((k, i) => {
      total += bytes(SOURCE_OBJECTS[k]);
      return copyLine(`src/msrc/${k}`, `src/mdst2/${k}`, bytes(SOURCE_OBJECTS[k]), i + 1, total, true);
    });
    // only-dst.txt is removed after newer.txt was queued: the running totals are those of that moment.
    const removal = copyLine('', 'src/mdst2/only-dst.txt', 0, 1, bytes(SOURCE_OBJECTS['newer.txt']), true);
    assert.deepEqual(sorted(r.lines.slice(0, -1)), sorted([...copies, removal]));
    assertSummary(r.lines.at(-1), total);
    assert.equal(r.exitCode, 0);
    assert.deepEqual(await listKeys('mdst2'), ['keep.log', ...keys.slice(0, 4), 'same.txt', 'size.txt']);
    assert.equal(await body('mdst2', 'size.txt'), 'much longer');
  });

  test('mirror --dry-run prints only the summary, numbers doubled, and changes nothing', async (t) => {
    const r = await mc(t, ['mirror', '--dry-run', '--overwrite', '--remove', 'src/msrc', 'src/mdst3']);
    const total = Object.values(SOURCE_OBJECTS).reduce((n, v) => n + bytes(v), 0);
    assert.equal(r.lines.length, 1);
    assertSummary(r.lines[0], 2 * total);
    assert.equal(r.exitCode, 0);
    assert.deepEqual(await listKeys('mdst3'), ['keep.log', 'newer.txt', 'only-dst.txt', 'same.txt', 'size.txt']);
  });

  test('diff: codes 5/6/2/7 in UTF-8 byte order of the relative keys, endpoint URLs, exit 0', async (t) => {
    const r = await mc(t, ['diff', 'src/msrc', 'src/mdiff']);
    const src = (k: string) => `http://127.0.0.1:${server.port}/msrc/${k}`;
    const dst = (k: string) => `http://127.0.0.1:${server.port}/mdiff/${k}`;
    const line = (first: string, second: string, diff: number) => JSON.stringify({ status: 'success', first, second, diff });
    assert.deepEqual(r.lines, [
      line('', dst('keep.log'), 6),
      line(src('newer.txt'), dst('newer.txt'), 7),
      line('', dst('only-dst.txt'), 6),
      line(src('only-src/é.txt'), '', 5),
      line(src('only-src/\uFF5E.txt'), '', 5),
      line(src('only-src/\u{1F600}.txt'), '', 5),
      line(src('size.txt'), dst('size.txt'), 2),
      line(src('skip.log'), '', 5),
    ]);
    assert.equal(r.exitCode, 0);
  });

  test('MC_LIVE_FAULT error: the lines so far, then an error object, exit 1; other commands are untouched', async (t) => {
    const fault = JSON.stringify({ cmd: 'ls', match: 'media', afterLines: 2, action: 'error' });
    const r = await mc(t, ['ls', '-r', 'src/media'], { MC_LIVE_FAULT: fault });
    assert.deepEqual(r.lines.slice(0, 2), MEDIA_ORDER.slice(0, 2).map((k) => lsLine(k, k, mediaUrl)));
    assert.equal(r.lines.length, 3);
    assert.equal(parseError(r.lines[2]).message, 'Unable to list folder.');
    assert.equal(r.exitCode, 1);

    const other = await mc(t, ['du', 'src/media/photos'], { MC_LIVE_FAULT: fault });
    assert.equal(other.lines.length, 1);
    assert.equal(other.exitCode, 0);
  });

  test('MC_LIVE_FAULT hang: output stops, SIGTERM ends it with 143', async (t) => {
    const child = execa(FIXTURE, ['--json', '--no-color', 'ls', '-r', 'src/media'], {
      env: { ...env, MC_LIVE_FAULT: JSON.stringify({ cmd: 'ls', afterLines: 1, action: 'hang' }) },
      reject: false,
    });
    t.after(() => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    });
    let out = '';
    await new Promise<void>((resolve) => {
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString('utf8');
        if (out.includes('\n')) resolve();
      });
    });
    await sleep(300);
    assert.equal(child.exitCode, null, 'still running');
    child.kill('SIGTERM');
    const r = await child;
    assert.equal(r.exitCode, 143);
    assert.deepEqual(r.stdout.split('\n'), [lsLine('a.txt', 'a.txt', mediaUrl)]);
  });

  test('MC_LIVE_FAULT kill: the process dies by SIGKILL after its lines', async (t) => {
    const r = await mc(t, ['diff', 'src/msrc', 'src/mdiff'], { MC_LIVE_FAULT: JSON.stringify({ cmd: 'diff', afterLines: 1, action: 'kill' }) });
    assert.equal(r.signal, 'SIGKILL');
    assert.equal(r.lines.length, 1);
  });

  test('--version (MC_FIXTURE_VERSION), usage text for a wrong argument count, unknown flags on stderr', async (t) => {
    const v = await mc(t, ['--version'], { MC_FIXTURE_VERSION: 'RELEASE.2024-10-02T17-50-41Z' });
    assert.deepEqual(v.lines, ['mc version RELEASE.2024-10-02T17-50-41Z (commit-id=0000000)', 'Runtime: go1.24 linux/amd64']);
    const u = await mc(t, ['mirror', 'src/msrc']);
    assert.equal(u.exitCode, 1);
    assert.equal(u.lines[0], 'NAME:');
    assert.ok(u.lines.every((l) => !l.startsWith('{')));
    const f = await mc(t, ['ls', '--bogus', 'src/media']);
    assert.equal(f.exitCode, 1);
    assert.deepEqual(f.lines, []);
    assert.match(f.stderr, /^mc: <ERROR> .*--bogus/);
  });

  test('with MC_REPLAY_SCENARIO set, test/fixtures/mc replays the scenario', async (t) => {
    const scenario = join(await tempDir(t, 's3mig-mc-live-'), 'scenario.json');
    await writeFile(scenario, JSON.stringify({ stdout: ['{"a":1}', 'text'], exit: 3 }));
    const r = await mc(t, ['ls', 'src/media'], { MC_REPLAY_SCENARIO: scenario });
    assert.deepEqual(r.lines, ['{"a":1}', 'text']);
    assert.equal(r.exitCode, 3);
  });
});
