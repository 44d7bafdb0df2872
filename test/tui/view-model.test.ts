// The dashboard's state built from engine events and job records (src/tui/view-model.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { EngineEvent } from '../../src/engine/events.ts';
import type { JobRecord, Strategy } from '../../src/core/job-record.ts';
import type { Summary } from '../../src/core/summary.ts';
import { emptyCounts } from '../../src/core/tally.ts';
import {
  applyEvent,
  applyRecord,
  currentPhase,
  etaSeconds,
  FILTER_CYCLE,
  initialJobView,
  LOG_LINES,
  nextFilter,
  sampleThroughput,
  THROUGHPUT_SAMPLES,
  type JobView,
} from '../../src/tui/view-model.ts';
import { at, COUNTS, DEST, env, JOB, SOURCE, summaryWith } from './fixtures.ts';


const STRATEGY: Strategy = {
  name: 'standard',
  reason: 'about 20,000 objects per side: one pass',
  batchEntries: 10_000,
  listConcurrency: 8,
  estimate: {
    source: { objects: 20_000, bytes: 1_000_000, exact: true, how: 'listed' },
    dest: { objects: 18_000, bytes: 900_000, exact: true, how: 'listed' },
  },
};

const SUMMARY: Summary = summaryWith({
  timings: { startedAt: at(0), finishedAt: at(60), transferMs: 20_000, ingestMs: 10_000, compareMs: 5_000, reportMs: 1_000, totalMs: 60_000 },
  peakRssBytes: 150_000_000,
  strategy: STRATEGY,
  reports: { dir: '/r', summary: '/r/summary.json', differencesNdjson: '', differencesCsv: '', fixScript: '', fixPlan: '' },
});

/** A migration as the engine emits it: created, validated, estimated, transferred, listed, compared, reported. */
const MIGRATION: EngineEvent[] = [
  { type: 'job:created', source: SOURCE, dest: DEST, stateDir: '/st', jobDir: `/st/jobs/${JOB}`, reportDir: '/r', ...env(0) },
  { type: 'job:state', state: 'validating', previous: 'initializing', ...env(0) },
  { type: 'log', level: 'info', side: 'source', message: 'source: a/src is bucket "src"', ...env(1) },
  { type: 'job:state', state: 'estimating', previous: 'validating', ...env(1) },
  { type: 'inventory:progress', side: 'source', entries: 10_000, bytes: 500_000, rate: 20_000, inputBytes: 0, totalBytes: 0, rangesDone: 3, rangesTotal: 8, done: false, ...env(2) },
  { type: 'strategy', ...STRATEGY, ...env(3) },
  { type: 'job:state', state: 'preparing', previous: 'estimating', reason: STRATEGY.reason, ...env(3) },
  { type: 'job:state', state: 'transferring', previous: 'preparing', ...env(3) },
  { type: 'transfer:progress', engine: 'native', objects: 500, totalObjects: 2_000, bytes: 250_000, totalBytes: 1_000_000, copied: 490, failed: 10, skipped: 0, rate: 50_000, etaSeconds: 15, done: false, ...env(8) },
  { type: 'transfer:progress', engine: 'native', objects: 2_000, totalObjects: 2_000, bytes: 1_000_000, totalBytes: 1_000_000, copied: 1_990, failed: 10, skipped: 0, rate: 60_000, done: true, ...env(23) },
  { type: 'job:state', state: 'collecting-inventory', previous: 'transferring', ...env(23) },
  { type: 'inventory:progress', side: 'source', entries: 5_000, bytes: 250_000, rate: 10_000, inputBytes: 0, totalBytes: 0, totalEntries: 20_000, etaSeconds: 12, done: false, ...env(25) },
  { type: 'inventory:progress', side: 'dest', entries: 4_000, bytes: 200_000, rate: 8_000, inputBytes: 0, totalBytes: 0, totalEntries: 18_000, done: false, ...env(25) },
  { type: 'log', level: 'warn', message: 'dest: listing throttled (503 SlowDown), retrying', side: 'dest', code: 'S3MIG_THROTTLED', ...env(26) },
];

const AFTER_LISTING: EngineEvent[] = [
  { type: 'inventory:progress', side: 'source', entries: 20_000, bytes: 1_000_000, rate: 10_000, inputBytes: 0, totalBytes: 0, totalEntries: 20_000, done: true, ...env(30) },
  { type: 'inventory:progress', side: 'dest', entries: 18_000, bytes: 900_000, rate: 9_000, inputBytes: 0, totalBytes: 0, totalEntries: 18_000, done: true, ...env(31) },
  { type: 'job:state', state: 'comparing', previous: 'collecting-inventory', ...env(31) },
  { type: 'compare:progress', keys: 10_000, entries: 19_000, totalEntries: 38_000, rate: 19_000, etaSeconds: 1, counts: { ...emptyCounts(), matched: 9_000, missing: 1_000, source: 10_000, dest: 9_000 }, done: false, ...env(32) },
  { type: 'compare:progress', keys: 20_500, entries: 38_000, totalEntries: 38_000, rate: 19_000, etaSeconds: 0, counts: COUNTS, done: true, ...env(33) },
  { type: 'job:state', state: 'generating-report', previous: 'comparing', ...env(33) },
  { type: 'report:written', files: ['/r/summary.json', '/r/differences.ndjson'], ...env(34) },
  { type: 'job:state', state: 'fixing', previous: 'generating-report', reason: 'fix round 1 of 2: 2,450 difference(s)', ...env(34) },
  { type: 'fix:progress', total: 2_450, processed: 1_000, copied: 990, deleted: 0, failed: 10, skipped: 0, leftForNative: 0, bytes: 495_000, done: false, ...env(40) },
];

function feed(events: EngineEvent[], view: JobView = initialJobView(JOB)): JobView {
  for (const e of events) applyEvent(view, e);
  return view;
}

test('a migration in its listing: targets, dirs, strategy, transfer totals, both sides, the log', () => {
  const v = feed(MIGRATION);
  assert.equal(v.jobId, JOB);
  assert.equal(v.kind, 'migrate');
  assert.deepEqual(v.source, SOURCE);
  assert.deepEqual(v.dest, DEST);
  assert.equal(v.jobDir, `/st/jobs/${JOB}`);
  assert.equal(v.reportDir, '/r');
  assert.equal(v.startedAt, at(0));
  assert.equal(v.lastEventAt, at(26));
  assert.equal(v.state, 'collecting-inventory');
  assert.equal(v.stateReason, undefined, 'a state without a reason clears the last one');
  assert.deepEqual(v.strategy, { name: 'standard', reason: STRATEGY.reason });
  assert.equal(v.engine, 'native');
  assert.deepEqual(v.transfer, {
    engine: 'native',
    objects: 2_000,
    totalObjects: 2_000,
    bytes: 1_000_000,
    totalBytes: 1_000_000,
    copied: 1_990,
    failed: 10,
    skipped: 0,
    rate: 60_000,
    done: true,
  });
  // The estimate's listing (10,000 entries, 3/8 ranges) was reset when the listing proper began.
  assert.deepEqual(v.inventory.source, { entries: 5_000, bytes: 250_000, rate: 10_000, done: false, total: 20_000, etaSeconds: 12 });
  assert.deepEqual(v.inventory.dest, { entries: 4_000, bytes: 200_000, rate: 8_000, done: false, total: 18_000 });
  assert.deepEqual(
    v.log.map((l) => [l.level, l.message]),
    [
      ['info', 'source: a/src is bucket "src"'],
      ['warn', 'dest: listing throttled (503 SlowDown), retrying'],
    ],
  );
  assert.equal(currentPhase(v), 'inventory');
  // The destination side has no ETA of its own: 14,000 left at 8,000/s is 2 s; the source says 12 s.
  assert.equal(etaSeconds(v), 12);
  // Objects: 10,000 (estimate) + 2,000 (transfer) + 5,000 + 4,000; bytes likewise.
  assert.equal(v.cumulative.objects, 21_000);
  assert.equal(v.cumulative.bytes, 500_000 + 1_000_000 + 250_000 + 200_000);
});

test('comparison, report and a fix round: counts, files, phase and the fix progress', () => {
  const v = feed([...MIGRATION, ...AFTER_LISTING]);
  assert.equal(v.state, 'fixing');
  assert.equal(v.stateReason, 'fix round 1 of 2: 2,450 difference(s)');
  assert.deepEqual(v.counts, COUNTS);
  assert.deepEqual(v.compare, { keys: 20_500, entries: 38_000, totalEntries: 38_000, rate: 19_000, etaSeconds: 0, done: true });
  assert.deepEqual(v.reportFiles, ['/r/summary.json', '/r/differences.ndjson']);
  assert.deepEqual(v.fix, { total: 2_450, processed: 1_000, copied: 990, deleted: 0, failed: 10, skipped: 0, leftForNative: 0, bytes: 495_000, done: false });
  assert.equal(currentPhase(v), 'fix');
  assert.equal(etaSeconds(v), undefined, 'a fix has no rate of its own');
  assert.equal(v.finishedAt, undefined);
  assert.equal(v.cumulative.objects, 21_000 + 15_000 + 14_000 + 20_500 + 1_000);
});

test('the end: terminal state and summary set the outcome, counts and finish time', () => {
  const v = feed([
    ...MIGRATION,
    ...AFTER_LISTING,
    { type: 'fix:progress', total: 2_450, processed: 2_450, copied: 2_440, deleted: 0, failed: 10, skipped: 0, leftForNative: 0, bytes: 1_200_000, done: true, ...env(50) },
    { type: 'job:state', state: 'generating-report', previous: 'fixing', ...env(55) },
    { type: 'job:state', state: 'completed-with-differences', previous: 'generating-report', ...env(59) },
    { type: 'summary', ...SUMMARY },
  ]);
  assert.equal(v.state, 'completed-with-differences');
  assert.equal(currentPhase(v), 'done');
  assert.equal(etaSeconds(v), undefined);
  assert.deepEqual(v.summary, SUMMARY);
  assert.equal(v.outcome, 'differences');
  assert.equal(v.complete, true);
  assert.deepEqual(v.counts, COUNTS);
  assert.equal(v.finishedAt, at(60), "the summary's finish time");
  assert.equal(v.lastEventAt, at(60));
});

test('a pause keeps the phase it stopped in and its reason; resuming clears them', () => {
  const v = feed([
    ...MIGRATION,
    { type: 'job:state', state: 'paused', previous: 'collecting-inventory', reason: 'paused by request from pid 4242', ...env(27) },
  ]);
  assert.equal(v.state, 'paused');
  assert.equal(v.pausedIn, 'collecting-inventory');
  assert.equal(v.stateReason, 'paused by request from pid 4242');
  assert.equal(currentPhase(v), 'inventory');
  assert.equal(etaSeconds(v), undefined, 'nothing moves while paused');
  applyEvent(v, { type: 'job:state', state: 'collecting-inventory', previous: 'paused', reason: 'resumed', ...env(90) });
  assert.equal(v.pausedIn, undefined);
  assert.equal(v.stateReason, 'resumed');
  assert.equal(v.inventory.source.entries, 5_000, 'a resumed phase keeps its progress');
  assert.equal(etaSeconds(v), 12);
});

test('failed and canceled states set the finish time; a later fix clears it', () => {
  const v = feed([
    { type: 'job:created', source: SOURCE, dest: DEST, stateDir: '/st', jobDir: '/st/jobs/x', reportDir: '/r', ...env(0) },
    { type: 'job:state', state: 'validating', previous: 'initializing', ...env(0) },
    { type: 'job:state', state: 'failed', previous: 'validating', reason: 'source: credentials rejected (403)', ...env(2) },
  ]);
  assert.equal(v.finishedAt, at(2));
  assert.equal(v.stateReason, 'source: credentials rejected (403)');
  assert.equal(currentPhase(v), 'done');
  const w = feed([
    { type: 'job:state', state: 'completed-with-differences', previous: 'generating-report', ...env(5) },
    { type: 'job:state', state: 'fixing', previous: 'completed-with-differences', reason: 'fix', ...env(9) },
  ]);
  assert.equal(w.finishedAt, undefined);
  assert.equal(w.state, 'fixing');
});

test('ETAs computed from the rate when the events carry none', () => {
  const v = feed([
    { type: 'job:state', state: 'comparing', previous: 'collecting-inventory', ...env(0) },
    { type: 'compare:progress', keys: 100, entries: 1_000, totalEntries: 5_000, rate: 400, counts: emptyCounts(), done: false, ...env(1) },
  ]);
  assert.equal(etaSeconds(v), 10);
  const t = feed([
    { type: 'job:state', state: 'transferring', previous: 'preparing', ...env(0) },
    { type: 'transfer:progress', engine: 'mc', objects: 10, totalObjects: 0, bytes: 1_000, totalBytes: 0, copied: 0, started: 10, failed: 0, skipped: 0, rate: 100, done: false, ...env(1) },
  ]);
  assert.equal(t.engine, 'mc');
  assert.equal(t.transfer?.started, 10);
  assert.equal(etaSeconds(t), undefined, 'no total, no ETA');
  applyEvent(t, { type: 'transfer:progress', engine: 'mc', objects: 10, totalObjects: 40, bytes: 1_000, totalBytes: 3_000, copied: 0, started: 10, failed: 0, skipped: 0, rate: 100, done: false, ...env(2) });
  assert.equal(etaSeconds(t), 20);
  const i = feed([
    { type: 'job:state', state: 'collecting-inventory', previous: 'validating', ...env(0) },
    { type: 'inventory:progress', side: 'source', entries: 100, bytes: 10, rate: 50, inputBytes: 500, totalBytes: 1_000, totalEntries: 300, done: false, ...env(1) },
  ]);
  assert.equal(etaSeconds(i), undefined, 'the destination has not said anything yet');
  applyEvent(i, { type: 'inventory:progress', side: 'dest', entries: 100, bytes: 10, rate: 10, inputBytes: 100, totalBytes: 1_000, done: true, ...env(2) });
  assert.equal(etaSeconds(i), 4, 'the source: 200 left at 50/s');
  assert.deepEqual(i.inventory.source, { entries: 100, bytes: 10, rate: 50, done: false, total: 300, inputBytes: 500, totalBytes: 1_000 });
});

test('currentPhase for every state', () => {
  const cases: [JobView['state'], string][] = [
    ['unknown', 'idle'],
    ['initializing', 'idle'],
    ['validating', 'idle'],
    ['estimating', 'inventory'],
    ['preparing', 'idle'],
    ['transferring', 'transfer'],
    ['collecting-inventory', 'inventory'],
    ['comparing', 'compare'],
    ['generating-report', 'report'],
    ['fixing', 'fix'],
    ['completed', 'done'],
    ['completed-with-differences', 'done'],
    ['failed', 'done'],
    ['canceled', 'done'],
    ['paused', 'idle'],
  ];
  for (const [state, phase] of cases) assert.equal(currentPhase({ ...initialJobView('x'), state }), phase, state);
});

test('the log keeps the last 500 lines, oldest first', () => {
  const v = initialJobView(JOB);
  for (let i = 0; i < LOG_LINES + 120; i++) applyEvent(v, { type: 'log', level: 'info', message: `line ${i}`, ...env(i) });
  assert.equal(v.log.length, LOG_LINES);
  assert.equal(v.log[0]!.message, 'line 120');
  assert.equal(v.log.at(-1)!.message, `line ${LOG_LINES + 119}`);
});

test('throughput: the first sample is the baseline, then deltas per second, capped at 60 samples', () => {
  const v = initialJobView(JOB);
  sampleThroughput(v, 1_000);
  assert.deepEqual(v.throughput, { objectsPerSec: [], bytesPerSec: [] });
  applyEvent(v, { type: 'transfer:progress', engine: 'native', objects: 100, totalObjects: 1_000, bytes: 4_096, totalBytes: 40_960, copied: 100, failed: 0, skipped: 0, rate: 4_096, done: false, ...env(1) });
  sampleThroughput(v, 3_000);
  assert.deepEqual(v.throughput, { objectsPerSec: [50], bytesPerSec: [2_048] });
  sampleThroughput(v, 3_000);
  assert.equal(v.throughput.objectsPerSec.length, 1, 'no time passed: no sample');
  applyEvent(v, { type: 'inventory:progress', side: 'source', entries: 1_000, bytes: 8_192, rate: 1_000, inputBytes: 0, totalBytes: 0, done: false, ...env(2) });
  applyEvent(v, { type: 'compare:progress', keys: 500, entries: 900, totalEntries: 2_000, rate: 900, counts: emptyCounts(), done: false, ...env(2) });
  applyEvent(v, { type: 'fix:progress', total: 10, processed: 10, copied: 10, deleted: 0, failed: 0, skipped: 0, leftForNative: 0, bytes: 2_048, done: true, ...env(2) });
  sampleThroughput(v, 3_500);
  assert.deepEqual(v.throughput.objectsPerSec, [50, (1_000 + 500 + 10) / 0.5]);
  assert.deepEqual(v.throughput.bytesPerSec, [2_048, (8_192 + 2_048) / 0.5]);
  // A counter that starts again (a second fix round) adds its new value, never a negative one.
  applyEvent(v, { type: 'fix:progress', total: 4, processed: 4, copied: 4, deleted: 0, failed: 0, skipped: 0, leftForNative: 0, bytes: 100, done: true, ...env(3) });
  sampleThroughput(v, 4_500);
  assert.deepEqual([v.throughput.objectsPerSec.at(-1), v.throughput.bytesPerSec.at(-1)], [4, 100]);
  // A listing that goes on where the estimate stopped counts only what it adds, though its gauge starts afresh.
  applyEvent(v, { type: 'job:state', state: 'collecting-inventory', previous: 'preparing', ...env(4) });
  assert.equal(v.inventory.source.entries, 0);
  applyEvent(v, { type: 'inventory:progress', side: 'source', entries: 1_250, bytes: 8_192, rate: 1_000, inputBytes: 0, totalBytes: 0, done: false, ...env(4) });
  sampleThroughput(v, 5_500);
  assert.deepEqual([v.throughput.objectsPerSec.at(-1), v.throughput.bytesPerSec.at(-1)], [250, 0]);
  for (let s = 0; s < 100; s++) sampleThroughput(v, 6_000 + s * 1_000);
  assert.equal(v.throughput.objectsPerSec.length, THROUGHPUT_SAMPLES);
  assert.equal(v.throughput.bytesPerSec.length, THROUGHPUT_SAMPLES);
  assert.equal(v.cumulative.atMs, 6_000 + 99 * 1_000);
});

const RECORD: JobRecord = {
  id: JOB,
  kind: 'migrate',
  source: SOURCE,
  dest: DEST,
  options: { reportDir: '/r', deleteExtras: false, engine: 'mc' },
  strategy: STRATEGY,
  fixRound: 1,
  state: 'paused',
  pausedIn: 'comparing',
  pauseReason: 'no space left on device',
  createdAt: at(0),
  updatedAt: at(40),
  pid: 4242,
  counts: COUNTS,
};

test('applyRecord seeds a view from job.json', () => {
  const v = applyRecord(initialJobView(JOB), RECORD);
  assert.equal(v.kind, 'migrate');
  assert.deepEqual([v.source, v.dest], [SOURCE, DEST]);
  assert.equal(v.engine, 'mc');
  assert.deepEqual(v.strategy, { name: 'standard', reason: STRATEGY.reason });
  assert.equal(v.state, 'paused');
  assert.equal(v.pausedIn, 'comparing');
  assert.equal(v.stateReason, 'no space left on device');
  assert.equal(currentPhase(v), 'compare');
  assert.deepEqual(v.counts, COUNTS);
  assert.notEqual(v.counts, RECORD.counts, 'a copy, not the record');
  assert.equal(v.startedAt, at(0));
  assert.equal(v.finishedAt, undefined);
  assert.equal(v.reportDir, '/r');
  assert.equal(v.fixRound, 1);

  const done = applyRecord(initialJobView(JOB), {
    ...RECORD,
    options: { reportDir: '/r', deleteExtras: false },
    state: 'failed',
    pausedIn: undefined,
    pauseReason: undefined,
    error: { code: 'S3MIG_LISTING_INCOMPLETE', message: 'a listing is incomplete' },
    outcome: 'incomplete',
    complete: false,
  });
  assert.equal(done.engine, 'native', 'no engine in the options means native');
  assert.equal(done.stateReason, 'a listing is incomplete');
  assert.equal(done.finishedAt, at(40), 'a finished record without finishedAt ended at its last update');
  assert.equal(done.outcome, 'incomplete');
  assert.equal(done.complete, false);
});

test('events read after applyRecord take over from it', () => {
  const v = applyRecord(initialJobView(JOB), RECORD);
  applyEvent(v, { type: 'job:state', state: 'comparing', previous: 'paused', reason: 'resumed', ...env(100) });
  assert.equal(v.state, 'comparing');
  assert.equal(v.pausedIn, undefined);
  assert.equal(v.stateReason, 'resumed');
});

test('the category filter cycles all → missing → extra → size → etag → unverified → all', () => {
  const seen: (string | null)[] = [];
  let f = nextFilter(null);
  for (let i = 0; i < FILTER_CYCLE.length; i++) {
    seen.push(f === null ? null : f.join(','));
    f = nextFilter(f);
  }
  assert.deepEqual(seen, ['missing', 'extra', 'sizeMismatch', 'etagMismatch', 'unverified', null]);
  assert.equal(nextFilter(['missing', 'extra']), null, 'a filter outside the cycle goes back to all');
});
