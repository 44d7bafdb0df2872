// The pure presenters: job views, job lists, differences and the keymap as text rows (src/tui/presenters.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { EngineEvent } from '../../src/engine/events.ts';
import type { JobRecord, TargetRecord } from '../../src/core/job-record.ts';
import type { Summary } from '../../src/core/summary.ts';
import { emptyCounts } from '../../src/core/tally.ts';
import { KEYMAP } from '../../src/tui/keymap.ts';
import {
  countsRows,
  differenceDetail,
  differenceLine,
  etaText,
  filterLabel,
  fitColumns,
  fixDialogText,
  footerText,
  formatEta,
  gauges,
  headerLines,
  helpRows,
  JOB_COLUMNS,
  jobRows,
  jobTable,
  logLine,
  outcomeLine,
  type DifferenceItem,
} from '../../src/tui/presenters.ts';
import { displayWidth } from '../../src/tui/text.ts';
import { at, COUNTS, DEST, env, JOB, SOURCE, summaryWith, T0 } from './fixtures.ts';
import { applyEvent, applyRecord, initialJobView, type JobListItem, type JobView } from '../../src/tui/view-model.ts';

// Local times are shown in the machine's zone: these tests pin one that is not UTC.
process.env.TZ = 'Asia/Tokyo';

const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/;

function viewOf(events: EngineEvent[], kind?: JobView['kind']): JobView {
  const v = initialJobView(JOB);
  if (kind) v.kind = kind;
  for (const e of events) applyEvent(v, e);
  return v;
}

const CREATED: EngineEvent = { type: 'job:created', source: SOURCE, dest: DEST, stateDir: '/st', jobDir: `/st/jobs/${JOB}`, reportDir: '/r', ...env(0) };
const STRATEGY: EngineEvent = {
  type: 'strategy',
  name: 'standard',
  reason: 'about 20,000 objects: one pass',
  batchEntries: 10_000,
  listConcurrency: 8,
  estimate: { source: { objects: 20_000, bytes: 1, exact: true, how: 'listed' }, dest: { objects: 18_000, bytes: 1, exact: true, how: 'listed' } },
  ...env(3),
};

/** A migration in its listing, 3m12s after it started. */
function listingView(): JobView {
  return viewOf([
    CREATED,
    STRATEGY,
    { type: 'job:state', state: 'transferring', previous: 'preparing', ...env(3) },
    { type: 'transfer:progress', engine: 'native', objects: 2_000, totalObjects: 2_000, bytes: 1_048_576, totalBytes: 1_048_576, copied: 1_990, failed: 10, skipped: 0, rate: 60_000, done: true, ...env(23) },
    { type: 'job:state', state: 'collecting-inventory', previous: 'transferring', ...env(23) },
    { type: 'inventory:progress', side: 'source', entries: 12_345, bytes: 600_000, rate: 10_000, inputBytes: 0, totalBytes: 0, totalEntries: 20_000, etaSeconds: 192, done: false, ...env(25) },
    { type: 'inventory:progress', side: 'dest', entries: 4_000, bytes: 200_000, rate: 8_000, inputBytes: 0, totalBytes: 0, rangesDone: 8, rangesTotal: 32, done: false, ...env(25) },
  ]);
}

const SUMMARY: Summary = summaryWith({
  bytes: { matched: 17e6, missing: 1_258_291, extra: 512, sizeMismatch: 3e5, etagMismatch: 1.5e5, unverified: 5e4, source: 19.5e6, dest: 18e6 },
  timings: { startedAt: at(0), finishedAt: at(41.3), ingestMs: 10_000, compareMs: 5_000, reportMs: 1_000, totalMs: 41_300 },
});

function finishedView(summary: Summary = SUMMARY, state: 'completed' | 'completed-with-differences' | 'failed' = 'completed-with-differences'): JobView {
  return viewOf([
    CREATED,
    { type: 'job:state', state: 'generating-report', previous: 'comparing', ...env(40) },
    { type: 'job:state', state, previous: 'generating-report', ...(state === 'failed' ? { reason: 'a listing is incomplete' } : {}), ...env(41) },
    { type: 'summary', ...summary },
  ]);
}

test('headerLines: job, kind, state, elapsed; targets; engine and strategy', () => {
  const v = listingView();
  assert.deepEqual(headerLines(v, T0 + 192_000, 200), [
    `${JOB}  migrate  collecting-inventory  elapsed 3m12s`,
    'a/src (127.0.0.1:42581/src) → b/dst/copy (s3.example.com/dst/copy)',
    'engine native  strategy standard: about 20,000 objects: one pass',
  ]);
  const done = finishedView();
  assert.equal(headerLines(done, T0 + 999_999, 200)[0], `${JOB}  migrate  completed-with-differences  elapsed 41.3 s`, 'a finished job stops its clock');
});

test('headerLines: a pause shows where and why, and the elapsed time survives a long reason', () => {
  const v = listingView();
  applyEvent(v, { type: 'job:state', state: 'paused', previous: 'collecting-inventory', reason: 'no space left on device while writing the destination inventory', ...env(30) });
  assert.equal(headerLines(v, T0 + 60_000, 80)[0], `${JOB}  migrate  paused (no space left on device…)  elapsed 1m0s`, 'narrow: the phase gives way to the reason');
  assert.equal(headerLines(v, T0 + 60_000, 100)[0], `${JOB}  migrate  paused in collecting-inventory (no space left on de…)  elapsed 1m0s`);
  assert.equal(displayWidth(headerLines(v, T0 + 60_000, 100)[0]!), 100);
  for (const w of [30, 50, 80, 100]) assert.ok(displayWidth(headerLines(v, T0, w)[0]!) <= w);
  assert.equal(headerLines(v, T0 + 60_000, 200)[0], `${JOB}  migrate  paused in collecting-inventory (no space left on device while writing the destination inventory)  elapsed 1m0s`);
});

test('headerLines: every line fits the width, CJK specs included; detail goes before the specs are cut', () => {
  const v = viewOf([{ ...CREATED, source: { spec: 'inventory:/data/写真/東京-😀.ndjson', kind: 'inventory', path: '/data/写真/東京-😀.ndjson' }, dest: DEST }]);
  for (const width of [20, 40, 57, 80]) {
    for (const line of headerLines(v, T0, width)) assert.ok(displayWidth(line) <= width, `${width}: ${line}`);
  }
  assert.equal(headerLines(v, T0, 57)[1], 'inventory:/data/写真/東京-😀.ndjson → b/dst/copy');
  assert.equal(headerLines(v, T0, 31)[1], 'inventor…😀.ndjson → b/dst/copy', 'the destination stays on a narrow line');
  assert.equal(headerLines(v, T0, 23)[1], 'inve…djson → b/dst/copy');
  assert.equal(headerLines(initialJobView('j'), T0, 80)[2], '', 'nothing known: an empty third line');
});

test('gauges: transfer objects and bytes, both sides, comparison; unknown totals have no ratio', () => {
  const v = listingView();
  assert.deepEqual(gauges(v), [
    { label: 'transfer', ratio: 1, text: '2,000 / 2,000 objects  100%  10 failed' },
    { label: 'bytes', ratio: 1, text: '1.0 MiB / 1.0 MiB  100%' },
    { label: 'source', ratio: 12_345 / 20_000, text: '12,345 / ~20,000 entries  61%  586 KiB  10,000/s' },
    { label: 'destination', ratio: 8 / 32, text: '4,000 entries  25%  8/32 ranges  195 KiB  8,000/s' },
    { label: 'comparison', ratio: undefined, text: 'waiting' },
  ]);
  const unknown = viewOf([
    { type: 'job:state', state: 'transferring', previous: 'preparing', ...env(0) },
    { type: 'transfer:progress', engine: 'mc', objects: 120, totalObjects: 0, bytes: 5_000, totalBytes: 0, copied: 0, started: 120, failed: 0, skipped: 3, rate: 1_000, done: false, ...env(1) },
    { type: 'inventory:progress', side: 'source', entries: 10, bytes: 10, rate: 0, inputBytes: 0, totalBytes: 0, done: false, ...env(1) },
  ]);
  const g = gauges(unknown);
  assert.deepEqual(g[0], { label: 'transfer', ratio: undefined, text: '120 started  3 skipped' });
  assert.deepEqual(g[1], { label: 'bytes', ratio: undefined, text: '4.9 KiB  1000 B/s' });
  assert.deepEqual(g[2], { label: 'source', ratio: undefined, text: '10 entries  10 B' });
  assert.deepEqual(g[3], { label: 'destination', ratio: undefined, text: 'waiting' });
});

test('gauges: an inventory file by its byte position, an estimate never full before the end, a reconcile without transfer, a fix', () => {
  const v = viewOf([
    { type: 'job:state', state: 'comparing', previous: 'collecting-inventory', ...env(0) },
    { type: 'inventory:progress', side: 'source', entries: 900, bytes: 10, rate: 0, inputBytes: 750, totalBytes: 1_000, totalEntries: 500, done: false, ...env(1) },
    { type: 'inventory:progress', side: 'dest', entries: 900, bytes: 10, rate: 0, inputBytes: 0, totalBytes: 0, totalEntries: 500, done: false, ...env(1) },
    { type: 'compare:progress', keys: 45_000, entries: 87_361, totalEntries: 196_178, rate: 20_055, etaSeconds: 6, counts: emptyCounts(), done: false, ...env(2) },
    { type: 'fix:progress', total: 200, processed: 50, copied: 48, deleted: 1, failed: 1, skipped: 0, leftForNative: 2, bytes: 2_048, done: false, ...env(3) },
  ], 'reconcile');
  const g = gauges(v);
  assert.deepEqual(g.map((x) => x.label), ['source', 'destination', 'comparison', 'fix']);
  assert.equal(g[0]!.ratio, 0.75);
  assert.equal(g[1]!.ratio, 0.99, 'past its estimate but not done');
  assert.deepEqual(g[2], { label: 'comparison', ratio: 87_361 / 196_178, text: '45,000 keys  44%  87,361 / 196,178 entries  20,055/s' });
  assert.deepEqual(g[3], { label: 'fix', ratio: 0.25, text: '50 / 200 actions  25%  48 copied (2.0 KiB)  1 deleted  1 failed  2 left for --engine native' });
});

test('gauges: a finished job known only from job.json shows its phases done', () => {
  const record: JobRecord = {
    id: JOB,
    kind: 'migrate',
    source: SOURCE,
    dest: DEST,
    options: { reportDir: '/r', deleteExtras: false },
    state: 'completed',
    createdAt: at(0),
    updatedAt: at(50),
    finishedAt: at(50),
    pid: 1,
    counts: { ...emptyCounts(), matched: 5, source: 5, dest: 5 },
    outcome: 'clean',
    complete: true,
  };
  const v = applyRecord(initialJobView(JOB), record);
  assert.deepEqual(
    gauges(v).map((g) => [g.label, g.ratio, g.text]),
    ['transfer', 'bytes', 'source', 'destination', 'comparison'].map((l) => [l, 1, 'done']),
  );
  const failed = applyRecord(initialJobView(JOB), { ...record, state: 'failed' });
  assert.deepEqual(gauges(failed)[2], { label: 'source', ratio: undefined, text: '-' });
});

test('etaText: phase ETA, unknown, paused, finished, failed', () => {
  const cases: [string, JobView, string][] = [
    ['listing, one side without a total', listingView(), 'ETA unknown (inventory)'],
    [
      'listing with an ETA',
      applyEvent(listingView(), { type: 'inventory:progress', side: 'dest', entries: 9_000, bytes: 1, rate: 0, inputBytes: 0, totalBytes: 0, done: true, ...env(30) }),
      'ETA 3m12s (inventory)',
    ],
    [
      'comparison',
      viewOf([
        { type: 'job:state', state: 'comparing', previous: 'collecting-inventory', ...env(0) },
        { type: 'compare:progress', keys: 1, entries: 1, totalEntries: 100, rate: 0, counts: emptyCounts(), done: false, ...env(1) },
      ]),
      'ETA unknown (comparison)',
    ],
    ['nothing known', initialJobView('x'), 'ETA unknown'],
    ['paused', viewOf([{ type: 'job:state', state: 'paused', previous: 'comparing', reason: 'r', ...env(1) }]), 'paused, no ETA'],
    ['finished', finishedView(), 'finished in 41.3 s'],
    ['failed', viewOf([CREATED, { type: 'job:state', state: 'failed', previous: 'validating', reason: 'x', ...env(2) }]), 'failed after 2.0 s'],
    ['canceled', viewOf([CREATED, { type: 'job:state', state: 'canceled', previous: 'comparing', ...env(3) }]), 'canceled after 3.0 s'],
  ];
  for (const [name, view, want] of cases) assert.equal(etaText(view), want, name);
  const cases2: [number, string][] = [
    [0, '0s'],
    [45, '45s'],
    [192, '3m12s'],
    [7_500, '2h05m'],
  ];
  for (const [s, want] of cases2) assert.equal(formatEta(s), want);
});

test('countsRows: from the summary with bytes, else the running counts', () => {
  assert.deepEqual(countsRows(finishedView()), [
    ['matched', '17,000', '16.2 MiB'],
    ['missing', '2,000', '1.2 MiB'],
    ['extra', '500', '512 B'],
    ['size mismatch', '300', '293 KiB'],
    ['etag mismatch', '150', '146 KiB'],
    ['unverified', '50', '48.8 KiB'],
    ['source total', '19,500', '18.6 MiB'],
    ['dest total', '18,000', '17.2 MiB'],
  ]);
  const running = viewOf([{ type: 'compare:progress', keys: 3, entries: 5, totalEntries: 9, rate: 1, counts: { ...emptyCounts(), matched: 2, missing: 1, source: 3, dest: 2 }, done: false, ...env(1) }]);
  assert.deepEqual(countsRows(running).map((r) => r.join('|')), [
    'matched|2|',
    'missing|1|',
    'extra|0|',
    'size mismatch|0|',
    'etag mismatch|0|',
    'unverified|0|',
    'source total|3|',
    'dest total|2|',
  ]);
});

test('outcomeLine: empty while running, then the verdict', () => {
  const clean: Summary = { ...SUMMARY, outcome: 'clean', exitCode: 0, counts: { ...emptyCounts(), matched: 10, unverified: 2, source: 12, dest: 12 } };
  const incomplete: Summary = { ...SUMMARY, outcome: 'incomplete', complete: false, exitCode: 2, incomplete: [{ side: 'dest', message: 'range a..b failed: 403\nAccessDenied' }] };
  const cases: [string, JobView, string][] = [
    ['running', listingView(), ''],
    ['paused', viewOf([{ type: 'job:state', state: 'paused', previous: 'comparing', ...env(1) }]), ''],
    ['differences', finishedView(), 'DIFFERENCES FOUND: 2,000 missing, 500 extra, 300 size mismatch, 150 etag mismatch; 50 unverified (same size, ETags not comparable)'],
    ['clean', finishedView(clean, 'completed'), 'CLEAN: every source object is in the destination; 2 unverified (same size, ETags not comparable)'],
    ['incomplete', finishedView(incomplete, 'failed'), 'INCOMPLETE: the destination listing is incomplete ("range a..b failed: 403\\nAccessDenied"); the counts are not final'],
    ['failed', viewOf([{ type: 'job:state', state: 'failed', previous: 'validating', reason: 'source: credentials rejected', ...env(1) }]), 'FAILED: source: credentials rejected'],
    ['canceled', viewOf([{ type: 'job:state', state: 'canceled', previous: 'comparing', reason: 'canceled by request from pid 7', ...env(1) }]), 'CANCELED: canceled by request from pid 7; the counts are not final'],
    [
      'from job.json only',
      applyRecord(initialJobView(JOB), {
        id: JOB, kind: 'reconcile', source: SOURCE, dest: DEST, options: { reportDir: '/r', deleteExtras: false }, state: 'completed-with-differences',
        createdAt: at(0), updatedAt: at(9), pid: 1, counts: { ...emptyCounts(), matched: 3, extra: 4, source: 3, dest: 7 }, outcome: 'differences', complete: true,
      }),
      'DIFFERENCES FOUND: 4 extra',
    ],
  ];
  for (const [name, view, want] of cases) assert.equal(outcomeLine(view), want, name);
});

function record(id: string, patch: Partial<JobRecord> = {}): JobRecord {
  return {
    id,
    kind: 'reconcile',
    source: SOURCE,
    dest: DEST,
    options: { reportDir: '/r', deleteExtras: false },
    state: 'completed',
    createdAt: at(0),
    updatedAt: at(30),
    pid: 1,
    ...patch,
  };
}

test('jobRows: newest first, live and interrupted markers, counts in words, local start time, elapsed', () => {
  const items: JobListItem[] = [
    { record: record('20261129-080000-aaaaaa', { createdAt: '2026-11-29T08:00:00.000Z', finishedAt: '2026-11-29T08:00:41.300Z', counts: { ...emptyCounts(), matched: 9, source: 9, dest: 9 } }), live: false },
    { record: record('20261130-021333-bbbbbb', { kind: 'migrate', state: 'comparing', createdAt: at(0) }), live: true, pid: 4242 },
    { record: record('20261130-001000-cccccc', { state: 'collecting-inventory', createdAt: '2026-11-30T00:10:00.000Z' }), live: false },
    { record: record('20261129-235959-dddddd', { state: 'completed-with-differences', createdAt: '2026-11-29T23:59:59.000Z', counts: { ...COUNTS }, prunedAt: at(1) }), live: false },
    { record: record('20261129-120000-eeeeee', { state: 'paused', createdAt: '2026-11-29T12:00:00.000Z', source: { spec: 'evil\u001b]0;pwned\u0007', kind: 'live' } }), live: false },
  ];
  const rows = jobRows(items, T0 + 192_000);
  assert.deepEqual(rows, [
    ['20261130-021333-bbbbbb', '● comparing', 'migrate', 'a/src → b/dst/copy', '-', '2026-11-30 11:13', '3m12s'],
    ['20261130-001000-cccccc', '✗ collecting-inventory', 'reconcile', 'a/src → b/dst/copy', '-', '2026-11-30 09:10', '2h4m'],
    ['20261129-235959-dddddd', '  completed-with-differences (pruned)', 'reconcile', 'a/src → b/dst/copy', '2,000 missing, 500 extra, 300 size mismatch, 150 etag mismatch', '2026-11-30 08:59', '2h14m'],
    ['20261129-120000-eeeeee', '  paused', 'reconcile', '"evil\\u001b]0;pwned\\u0007" → b/dst/copy', '-', '2026-11-29 21:00', '14h14m'],
    ['20261129-080000-aaaaaa', '  completed', 'reconcile', 'a/src → b/dst/copy', 'clean', '2026-11-29 17:00', '41.3 s'],
  ]);
  for (const row of rows) for (const cell of row) assert.doesNotMatch(cell, CONTROL);
});

test('jobRows: a live view overrides the record: its state and running counts', () => {
  const view = viewOf([
    { type: 'job:state', state: 'comparing', previous: 'collecting-inventory', ...env(1) },
    { type: 'compare:progress', keys: 10, entries: 10, totalEntries: 20, rate: 1, counts: { ...emptyCounts(), matched: 7, missing: 3, source: 10, dest: 7 }, done: false, ...env(2) },
  ]);
  const [row] = jobRows([{ record: record(JOB, { state: 'collecting-inventory', createdAt: at(0) }), live: true, view }], T0 + 5_000);
  assert.equal(row![1], '● comparing');
  assert.equal(row![4], '3 missing');
  const quiet = viewOf([
    { type: 'job:state', state: 'comparing', previous: 'collecting-inventory', ...env(1) },
    { type: 'compare:progress', keys: 10, entries: 10, totalEntries: 20, rate: 1, counts: { ...emptyCounts(), matched: 10, source: 10, dest: 10 }, done: false, ...env(2) },
  ]);
  assert.equal(jobRows([{ record: record(JOB, { state: 'comparing' }), live: true, view: quiet }], T0)[0]![4], 'none so far', 'no differences yet is not clean');
});

test('jobTable and fitColumns: at 80 columns KIND, STARTED and ELAPSED give way; every line fits', () => {
  const items: JobListItem[] = [
    { record: record('20261130-021333-bbbbbb', { kind: 'migrate', state: 'comparing', source: { spec: 'alias/写真-bucket/東京/😀', kind: 'live' } }), live: true },
    { record: record('20261129-235959-dddddd', { state: 'completed-with-differences', counts: { ...COUNTS } }), live: false },
  ];
  assert.deepEqual(fitColumns(JOB_COLUMNS, 80), [22, 28, 0, 7, 20, 0, 0]);
  assert.deepEqual(fitColumns(JOB_COLUMNS, 140), [22, 28, 9, 31, 20, 16, 8]);
  for (const width of [60, 80, 100, 140]) {
    const t = jobTable(items, T0, width);
    for (const line of [t.header, ...t.lines]) assert.ok(displayWidth(line) <= width, `${width}: ${line}`);
  }
  // The STATE column is as wide as its widest cell: without the longest state the targets get the room.
  const short = jobTable([items[0]!], T0, 80);
  assert.equal(short.header, 'JOB                    STATE       SOURCE → DEST            COUNTS              ');
  assert.equal(short.lines[0], '20261130-021333-bbbbbb ● comparing alias/写真-bucket/東京/… -                   ');
  const long = jobTable(items, T0, 80);
  assert.equal(long.lines[1], '20261129-235959-dddddd   completed-with-differences a/src … 2,000 missing, 500 …');
});

const PHOTO: DifferenceItem = {
  key: 'photos/2024/summer/IMG_0001.jpg',
  category: 'missing',
  source: { size: 1_258_291, etag: '9e107d9d372bb6826bd81d3542a419d6', lastModified: '2024-07-01T10:00:00Z', storageClass: 'STANDARD' },
  dest: null,
};

test('differenceLine: box, mark, category, sizes, the key cut in the middle; exactly the width', () => {
  assert.equal(differenceLine(PHOTO, true, 80), '[x]   missing        1.2 MiB        -  photos/2024/summer/IMG_0001.jpg          ');
  assert.equal(differenceLine({ ...PHOTO, mark: 'ignore' }, false, 60), '[ ] I missing        1.2 MiB        -  photos/202…G_0001.jpg');
  assert.equal(
    differenceLine({ key: 'old/x.bin', category: 'extra', source: null, dest: { size: 10, etag: '', lastModified: '' }, mark: 'accept' }, false, 50),
    '[ ] A extra                -     10 B  old/x.bin  ',
  );
  const keys = [
    '写真/東京/スカイツリー-夜景-2024-最終版.jpg',
    `emoji/😀/👨‍👩‍👧‍👦/🇯🇵/${'x'.repeat(40)}.png`,
    'cafe\u0301/re\u0301sume\u0301.pdf',
    'evil/\u001b[2J\u001b]0;owned\u0007\r\nrm -rf.txt',
    'bidi/\u202egpj.exe',
  ];
  for (const key of keys) {
    for (const width of [20, 39, 40, 41, 60, 80, 133]) {
      for (const category of ['missing', 'sizeMismatch', 'unverified'] as const) {
        const line = differenceLine({ ...PHOTO, key, category }, width % 2 === 0, width);
        assert.equal(displayWidth(line), width, `${width}: ${line}`);
        assert.doesNotMatch(line, CONTROL);
      }
    }
  }
  assert.equal(differenceLine({ ...PHOTO, key: keys[3]! }, false, 120).trimEnd().split('  ').at(-1), '"evil/\\u001b[2J\\u001b]0;owned\\u0007\\r\\nrm -rf.txt"');
});

test('differenceDetail: the full key, the category and why, both sides, the mark', () => {
  assert.deepEqual(differenceDetail(PHOTO), [
    'key            photos/2024/summer/IMG_0001.jpg',
    'category       missing',
    'why            only in the source',
    'review mark    none',
    '',
    'source',
    '  size         1,258,291 B (1.2 MiB)',
    '  ETag         9e107d9d372bb6826bd81d3542a419d6',
    '  modified     2024-07-01T10:00:00Z',
    '  class        STANDARD',
    'destination    absent',
  ]);
  assert.equal(differenceDetail(PHOTO, 'accept')[3], 'review mark    accepted');
  assert.equal(differenceDetail({ ...PHOTO, mark: 'ignore' })[3], 'review mark    ignored');
  const side = (size: number, etag: string) => ({ size, etag, lastModified: '' });
  const why: [DifferenceItem, string][] = [
    [{ key: 'k', category: 'extra', source: null, dest: side(1, 'a') }, 'only in the destination'],
    [{ key: 'k', category: 'sizeMismatch', source: side(1_234, 'a'), dest: side(999, 'b') }, 'sizes differ: 1,234 B vs 999 B'],
    [{ key: 'k', category: 'etagMismatch', source: side(5, 'aa'), dest: side(5, 'bb') }, 'same size, both ETags plain MD5s, and they differ'],
    [{ key: 'k', category: 'unverified', source: side(5, 'abc-3'), dest: side(5, 'def') }, 'same size, but the ETags cannot be compared: the source ETag is multipart (ends -3)'],
    [{ key: 'k', category: 'unverified', source: side(5, 'abc'), dest: side(5, '') }, 'same size, but the ETags cannot be compared: the destination ETag is empty'],
    [
      { key: 'k', category: 'unverified', source: side(5, 'abc-2'), dest: side(5, 'def-12') },
      'same size, but the ETags cannot be compared: the source ETag is multipart (ends -2) and the destination ETag is multipart (ends -12)',
    ],
    [
      { key: 'k', category: 'unverified', source: side(5, 'aaa'), dest: side(5, 'bbb') },
      'same size, but the ETags cannot be compared: the objects are encrypted (SSE-KMS or SSE-C), so their ETags are not MD5s of the content',
    ],
  ];
  for (const [row, want] of why) assert.equal(differenceDetail(row)[2], `why            ${want}`, want);
  const hostile = differenceDetail({ key: 'a\nb', category: 'etagMismatch', source: side(5, 'e\u001b[1m'), dest: { size: 5, etag: 'x', lastModified: '\u009b2J', storageClass: 'GLACIER\r' } });
  for (const line of hostile) assert.doesNotMatch(line, CONTROL);
  assert.equal(hostile[0], 'key            "a\\nb"');
  assert.ok(hostile.includes('  class        "GLACIER\\r"'));
});

test('fixDialogText: copies, deletes with their own confirmation, the rest', () => {
  assert.deepEqual(fixDialogText({ copies: 1_200, deletes: 0, selection: false, total: 1_250 }), [
    'Fix all 1,250 difference(s):',
    '  copy 1,200 object(s) from the source to the destination',
    '  delete nothing (keys only in the destination stay)',
    '  50 other key(s) get no action',
  ]);
  assert.deepEqual(fixDialogText({ copies: 3, deletes: 2, selection: true, total: 5 }), [
    'Fix the 5 selected difference(s):',
    '  copy 3 object(s) from the source to the destination',
    '  delete 2 object(s) that exist only in the destination',
    '',
    'Deleting needs its own confirmation after this one.',
  ]);
});

test('footerText: generated from the keymap, global first, toggles and hidden actions, cut to the width', () => {
  const cases: [Parameters<typeof footerText>, string][] = [
    [['jobs', 200], 'q quit  ? help  enter open  R resume  f fix  p pause  c cancel the job'],
    [['dashboard', 200], 'q quit  ? help  Esc back  enter differences  p pause or resume  c cancel the job  f fix'],
    [['dashboard', 80, { canPause: true }], 'q quit  ? help  Esc back  enter differences  p pause  c cancel the job  f fix'],
    [['dashboard', 80, { canPause: false }], 'q quit  ? help  Esc back  enter differences  p resume  c cancel the job  f fix'],
    [['dashboard', 80, { hide: ['cancel', 'pause'] }], 'q quit  ? help  Esc back  enter differences  f fix'],
    [['differences', 80], 'q quit  ? help  Esc back  / search  t filter  i ignore  a accept  f fix'],
    [['dialog', 80], 'y confirm  n cancel'],
    [['jobs', 30], 'q quit  ? help  enter open  R…'],
  ];
  for (const [args, want] of cases) assert.equal(footerText(...args), want, JSON.stringify(args));
  // At 80 columns the footer of every scope fits whole once the toggle is known.
  for (const scope of ['jobs', 'dashboard', 'differences', 'dialog'] as const) assert.doesNotMatch(footerText(scope, 80, { canPause: true }), /…$/, scope);
});

test('helpRows: all of the scope and global, keys as labels, danger marked', () => {
  const rows = helpRows('jobs');
  assert.deepEqual(rows[0], ['↑, k', 'move up', '']);
  assert.ok(rows.some((r) => r[0] === 'G, End' && r[1] === 'go to the bottom'));
  assert.ok(rows.some((r) => r[0] === 'x' && r[2] === '!'));
  assert.ok(rows.some((r) => r[0] === 'c' && r[1] === 'cancel the job' && r[2] === '!'));
  assert.ok(rows.some((r) => r[0] === 'R' && r[1] === 'resume a paused or interrupted job'));
  assert.deepEqual(rows.at(-1), ['S-Tab', 'previous view', '']);
  assert.ok(rows.some((r) => r[0] === 'q, ^C'));
  assert.equal(rows.length, KEYMAP.filter((k) => k.scope === 'jobs' || k.scope === 'global').length);
  assert.deepEqual(helpRows('dialog').map((r) => r[0]), ['y, enter', 'n, Esc', 'Tab', 'space']);
});

test('logLine: local time, level, sanitized message', () => {
  assert.equal(logLine({ ts: '2026-11-30T02:13:34.395Z', level: 'warn', message: 'dest: throttled' }), '11:13:34 WARN  dest: throttled');
  assert.equal(logLine({ ts: '2026-11-30T15:00:00.000Z', level: 'error', message: 'copy "a\nb" failed\u001b[2J' }), '00:00:00 ERROR "copy \\"a\\nb\\" failed\\u001b[2J"');
  assert.equal(logLine({ ts: 'garbage', level: 'info', message: 'x' }), '--:--:-- INFO  x');
});

test('filterLabel', () => {
  assert.equal(filterLabel(null), 'all');
  assert.equal(filterLabel(['sizeMismatch']), 'size mismatch');
  assert.equal(filterLabel(['missing', 'extra']), 'missing, extra');
  assert.equal(filterLabel([]), 'none');
});

test('no control character from the data reaches any presenter output', () => {
  const bad = 'x\u001b[31m\u0007\r\n\u009b\u2028\u202e';
  const t: TargetRecord = { spec: `s3/${bad}`, kind: 'live', endpoint: `http://${bad}`, bucket: bad, prefix: bad };
  const v = viewOf([
    { ...CREATED, source: t, dest: t },
    { ...STRATEGY, name: 'standard', reason: bad } as EngineEvent,
    { type: 'job:state', state: 'paused', previous: 'comparing', reason: bad, ...env(2) },
    { type: 'log', level: 'error', message: bad, ...env(3) },
  ]);
  v.jobId = bad;
  const out = [
    ...headerLines(v, T0, 300),
    ...gauges(v).flatMap((g) => [g.label, g.text]),
    etaText(v),
    outcomeLine({ ...v, state: 'failed' }),
    outcomeLine({ ...v, state: 'canceled' }),
    ...v.log.map(logLine),
    ...jobRows([{ record: record(bad, { source: t, dest: t }), live: false, view: v }], T0).flat(),
  ];
  for (const s of out) assert.doesNotMatch(s, CONTROL, JSON.stringify(s));
});
