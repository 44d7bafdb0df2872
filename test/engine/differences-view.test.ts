// The differences browser's index over differences.ndjson: counts, filters, rows by position, search, errors, and a flat memory cost at a million rows.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { open, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DifferencesView, SCAN_ROWS, type DifferenceItem } from '../../src/engine/differences-view.ts';
import { isS3migError } from '../../src/core/errors.ts';
import { CATEGORIES, type Category } from '../../src/core/verdict.ts';
import { tempDir } from '../helpers.ts';

const MD5 = '9b2cf535f27731c974343645a3985328';
const ROWS = 50_000;
/** Rows whose keys hold the search word, in mixed case. */
const NEEDLES = [100, 25_000, 49_900];

function keyOf(i: number): string {
  if (NEEDLES.includes(i)) return `needles/${i}/NeEdLe-${i}.bin`;
  switch (i % 10) {
    case 0:
      return `写真/二〇二四/${i}-画像.jpg`;
    case 1:
      return `emoji/😀🎉/${i}-\u{1F600}.png`;
    case 2:
      return `quotes/"${i}" 'single' \\back\\slash.txt`;
    case 3:
      return `lines/a\nb\r\n${i}\t.txt`;
    case 4: {
      const head = `long/${i}/`;
      return head + 'k'.repeat(1024 - head.length);
    }
    case 5:
      return `controls/\u0001\u001f\u2028\u2029/${i}/ÄÖÜ`;
    default:
      return `plain/${String(i).padStart(6, '0')}.dat`;
  }
}

/** A report row as the writer makes it, with some marks, storage classes and odd numbers. */
function itemOf(i: number): DifferenceItem {
  const category = CATEGORIES[(i * 7 + (i >> 3)) % CATEGORIES.length]!;
  const snap = (size: number) => ({ size, etag: i % 9 === 0 ? `${MD5}-3` : MD5, lastModified: '2025-01-01T00:00:00Z', ...(i % 11 === 0 ? { storageClass: 'GLACIER' } : {}) });
  const item: DifferenceItem = {
    key: keyOf(i),
    category,
    source: category === 'extra' ? null : snap(i % 23 === 0 ? Number.MAX_SAFE_INTEGER : i),
    dest: category === 'missing' ? null : snap(category === 'sizeMismatch' ? i + 1 : i),
  };
  if (i % 13 === 0) item.mark = 'ignore';
  else if (i % 17 === 0) item.mark = 'accept';
  return item;
}

/** The line of a row: mostly the writer's layout, sometimes another field order or spacing (valid JSON all the same). */
function lineOf(item: DifferenceItem, i: number): string {
  if (i % 101 === 0) return JSON.stringify({ category: item.category, dest: item.dest, key: item.key, source: item.source, ...(item.mark ? { mark: item.mark } : {}) });
  if (i % 211 === 0) return JSON.stringify(item, null, 1).replace(/\n/g, ' ');
  return JSON.stringify(item);
}

async function writeRows(dir: string, name: string, items: DifferenceItem[]): Promise<{ path: string; lines: string[] }> {
  const lines = items.map((it, i) => lineOf(it, i));
  const path = join(dir, name);
  await writeFile(path, lines.join('\n') + '\n');
  return { path, lines };
}

function expectedFind(keys: string[], text: string, from: number, direction: 1 | -1): number {
  const n = keys.length;
  const needle = text.toLowerCase();
  for (let step = 0; step < n; step++) {
    const i = (((from + direction * step) % n) + n) % n;
    if (keys[i]!.toLowerCase().includes(needle)) return i;
  }
  return -1;
}

async function rejectsWith(p: Promise<unknown>, pattern: RegExp): Promise<void> {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(isS3migError(err), `expected an S3migError, got ${String(err)}`);
    assert.equal(err.code, 'S3MIG_STATE_UNREADABLE');
    assert.match(err.message, pattern);
    assert.ok(!err.message.includes('\n'), 'the message is one line');
    return true;
  });
}

test('50,000 rows: counts, filters, rows at any position, keys', async (t) => {
  const dir = await tempDir(t);
  const items = Array.from({ length: ROWS }, (_, i) => itemOf(i));
  const { path, lines } = await writeRows(dir, 'differences.ndjson', items);
  const progress: number[] = [];
  const view = await DifferencesView.open(path, { onProgress: (rows) => progress.push(rows) });
  t.after(() => view.close());

  assert.equal(view.total, ROWS);
  assert.equal(view.path, path);
  assert.equal(progress.at(-1), ROWS);
  const counts = Object.fromEntries(CATEGORIES.map((c) => [c, items.filter((it) => it.category === c).length]));
  assert.deepEqual(view.counts(), counts);
  for (const c of CATEGORIES) assert.ok(counts[c]! > 0, `the file has ${c} rows`);

  const all = view.filter(null);
  assert.equal(all.length, ROWS);
  for (const from of [0, 1, 4_999, ROWS / 2 - 3, ROWS - 10]) {
    const got = await all.rows(from, 10);
    assert.deepEqual(got, lines.slice(from, from + 10).map((l) => JSON.parse(l) as DifferenceItem), `rows from ${from}`);
  }
  assert.equal((await all.rows(ROWS - 2, 10)).length, 2, 'clamped at the end');
  assert.deepEqual(await all.rows(ROWS, 5), []);
  assert.deepEqual((await all.rows(0, 1))[0], items[0]);
  assert.deepEqual((await all.rows(13, 1))[0]!.mark, 'ignore');

  const filters: Category[][] = [['extra'], ['matched'], ['missing', 'unverified'], ['sizeMismatch', 'etagMismatch', 'extra']];
  for (const cats of filters) {
    const want = items.map((it, i) => ({ it, i })).filter(({ it }) => cats.includes(it.category));
    const view2 = view.filter(cats);
    assert.equal(view2.length, want.length, `length of ${cats.join('+')}`);
    for (const from of [0, 1, Math.floor(want.length / 2), want.length - 7]) {
      const got = await view2.rows(from, 7);
      assert.deepEqual(got, want.slice(from, from + 7).map(({ i }) => JSON.parse(lines[i]!) as DifferenceItem), `${cats.join('+')} rows from ${from}`);
    }
    assert.deepEqual(await view2.keysOf(3, 5), want.slice(3, 8).map(({ it }) => it.key));
    const batches: string[][] = [];
    for await (const batch of view2.allKeys()) batches.push(batch);
    assert.ok(batches.every((b) => b.length <= SCAN_ROWS));
    assert.deepEqual(batches.flat(), want.map(({ it }) => it.key), `allKeys of ${cats.join('+')}`);
  }
  assert.equal(view.filter([]).length, 0);
  assert.deepEqual(await view.filter([]).rows(0, 10), []);
  assert.equal(await view.filter([]).find('a', 0), -1);
});

test('find: forward, backward, wrapping once, case-insensitive, in a filter, not found', async (t) => {
  const dir = await tempDir(t);
  const items = Array.from({ length: ROWS }, (_, i) => itemOf(i));
  const { path } = await writeRows(dir, 'differences.ndjson', items);
  const view = await DifferencesView.open(path);
  t.after(() => view.close());
  const all = view.filter(null);
  const [a, b, c] = NEEDLES as [number, number, number];

  assert.equal(await all.find('needle', 0), a);
  assert.equal(await all.find('NEEDLE', a), a, 'from is inclusive');
  assert.equal(await all.find('needle', a + 1), b);
  assert.equal(await all.find('needle', c + 1), a, 'wraps around');
  assert.equal(await all.find('needle', c - 1, -1), b);
  assert.equal(await all.find('needle', c, -1), c);
  assert.equal(await all.find('needle', a - 1, -1), c, 'wraps around backwards');
  assert.equal(await all.find('no such text anywhere', 123), -1);
  assert.equal(await all.find('no such text anywhere', 123, -1), -1);
  assert.equal(await all.find(`needle-${b}`, b + 1), b, 'the only hit, reached after wrapping');

  const keys = items.map((it) => it.key);
  const cases: [string, number, 1 | -1][] = [
    ['画像', 7, 1],
    ['😀🎉', ROWS - 5, 1],
    ['äöü', 40_000, -1],
    ['"1234" \'single\'', 0, 1],
    ['a\nb\r\n4', 100, 1],
    ['\u2028', 33, -1],
    ['kkkkk', 49_999, 1],
  ];
  for (const [text, from, dir2] of cases) assert.equal(await all.find(text, from, dir2), expectedFind(keys, text, from, dir2), `find ${JSON.stringify(text)} from ${from}`);

  const cats: Category[] = ['missing', 'etagMismatch'];
  const fkeys = items.filter((it) => cats.includes(it.category)).map((it) => it.key);
  const f = view.filter(cats);
  for (const [text, from, dir2] of cases) assert.equal(await f.find(text, from % f.length, dir2), expectedFind(fkeys, text, from % f.length, dir2), `filtered find ${JSON.stringify(text)}`);
});

test('blank lines, CRLF line ends and a last line without newline are read; line numbers count blank lines', async (t) => {
  const dir = await tempDir(t);
  const rows = [itemOf(0), itemOf(1), itemOf(2), itemOf(3)];
  const path = join(dir, 'crlf.ndjson');
  await writeFile(path, `${JSON.stringify(rows[0])}\r\n\r\n${JSON.stringify(rows[1])}\r\n  \n${JSON.stringify(rows[2])}\n${JSON.stringify(rows[3])}`);
  const view = await DifferencesView.open(path);
  t.after(() => view.close());
  assert.equal(view.total, 4);
  assert.deepEqual(await view.filter(null).rows(0, 10), rows);
  assert.deepEqual(await view.filter(null).keysOf(0, 10), rows.map((r) => r.key));

  await writeFile(path, `${JSON.stringify(rows[0])}\n\n\n${JSON.stringify(rows[1])}\nnot json\n`);
  await rejectsWith(DifferencesView.open(path), new RegExp(`^${path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} line 5: not a difference record; rewrite the reports with s3mig report JOB$`));
});

test('a line that is not a difference record fails naming its line; a missing file fails naming the file', async (t) => {
  const dir = await tempDir(t);
  const good = JSON.stringify(itemOf(7));
  const bad = [
    'not json',
    '{"key":"a"}',
    '{"category":"missing"}',
    '{"key":5,"category":"missing","source":null,"dest":null}',
    '{"key":"a","category":"bogus","source":null,"dest":null}',
    '[1,2]',
    'null',
    '{"key":"a","category":"missing","source":null,"dest":null}}',
    '{"key":"a","category":"missing","source":null,"dest":nul}',
  ];
  for (const [n, line] of bad.entries()) {
    const path = join(dir, `bad-${n}.ndjson`);
    await writeFile(path, `${good}\n${good}\n${line}\n${good}\n`);
    await rejectsWith(DifferencesView.open(path), /bad-\d\.ndjson line 3: not a difference record/);
  }
  const torn = join(dir, 'torn.ndjson');
  await writeFile(torn, `${good}\n${good.slice(0, 30)}`);
  await rejectsWith(DifferencesView.open(torn), /torn\.ndjson line 2: not a difference record/);

  const missing = join(dir, 'nope', 'differences.ndjson');
  await rejectsWith(DifferencesView.open(missing), new RegExp(`^${missing.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: no such file`));
  await rejectsWith(DifferencesView.open(dir), /cannot read .*EISDIR/);
});

test('an empty report has no rows; an aborted scan stops; the view keeps reading the file it indexed', async (t) => {
  const dir = await tempDir(t);
  const empty = join(dir, 'empty.ndjson');
  await writeFile(empty, '');
  const ev = await DifferencesView.open(empty);
  assert.equal(ev.total, 0);
  assert.deepEqual(await ev.filter(null).rows(0, 5), []);
  assert.equal(await ev.filter(null).find('x', 0), -1);
  await ev.close();

  const ac = new AbortController();
  ac.abort();
  await assert.rejects(DifferencesView.open(empty, { signal: ac.signal }), { code: 'S3MIG_CANCELED' });

  // Reports are rewritten by rename: an open view goes on showing the report it indexed.
  const path = join(dir, 'differences.ndjson');
  await writeFile(path, [itemOf(1), itemOf(2)].map((r) => JSON.stringify(r)).join('\n') + '\n');
  const view = await DifferencesView.open(path);
  t.after(() => view.close());
  await writeFile(join(dir, 'next'), JSON.stringify(itemOf(9)) + '\n');
  await rename(join(dir, 'next'), path);
  assert.deepEqual(await view.filter(null).rows(0, 2), [itemOf(1), itemOf(2)]);
});

test('1,000,000 rows are indexed with flat memory (index rate and memory reported)', async (t) => {
  const dir = await tempDir(t);
  const path = join(dir, 'differences.ndjson');
  const N = 1_000_000;
  const fh = await open(path, 'w');
  const cats: Category[] = ['missing', 'extra', 'sizeMismatch', 'etagMismatch', 'unverified'];
  for (let start = 0; start < N; start += 10_000) {
    let text = '';
    for (let i = start; i < start + 10_000; i++) {
      const category = cats[i % cats.length]!;
      const snap = { size: i * 7, etag: MD5, lastModified: '2025-01-01T00:00:00Z' };
      text += JSON.stringify({ key: `photos/2024/${String(i).padStart(8, '0')}-image.jpg`, category, source: category === 'extra' ? null : snap, dest: category === 'missing' ? null : snap }) + '\n';
    }
    await fh.write(text);
  }
  const { size } = await fh.stat();
  await fh.close();

  const before = process.memoryUsage().rss;
  let peak = before;
  const t0 = performance.now();
  const view = await DifferencesView.open(path, { onProgress: () => (peak = Math.max(peak, process.memoryUsage().rss)) });
  const ms = performance.now() - t0;
  t.after(() => view.close());
  peak = Math.max(peak, process.memoryUsage().rss);
  const growthMb = (peak - before) / 2 ** 20;
  t.diagnostic(`indexed ${N} rows (${(size / 2 ** 20).toFixed(0)} MiB) in ${ms.toFixed(0)} ms: ${Math.round((N / ms) * 1000)} rows/s; peak RSS growth ${growthMb.toFixed(1)} MB`);

  assert.equal(view.total, N);
  assert.deepEqual(view.counts(), { matched: 0, missing: N / 5, extra: N / 5, sizeMismatch: N / 5, etagMismatch: N / 5, unverified: N / 5 });
  assert.ok(growthMb < 60, `RSS grew ${growthMb.toFixed(1)} MB while indexing (bound: 60 MB)`);

  const extra = view.filter(['extra']);
  assert.equal(extra.length, N / 5);
  const [last] = await extra.rows(N / 5 - 1, 1);
  assert.equal(last!.key, `photos/2024/${String(N - 4).padStart(8, '0')}-image.jpg`);
  const t1 = performance.now();
  assert.equal(await view.filter(null).find('no such key', N / 2), -1);
  t.diagnostic(`a search through all ${N} keys that finds nothing: ${(performance.now() - t1).toFixed(0)} ms`);
});
