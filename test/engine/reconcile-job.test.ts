import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parse as parseCsv } from 'csv-parse/sync';
import { runReconcile } from '../../src/engine/reconcile-job.ts';
import { EventBus, type EngineEvent } from '../../src/engine/events.ts';
import { readJobRecord } from '../../src/store/state-dir.ts';
import { readEventLog } from '../../src/store/event-log.ts';
import { CSV_COLUMNS, type DifferenceRow } from '../../src/report/differences.ts';
import { MD5_A, MD5_B, tempDir, writeInventory, type LineSpec } from '../helpers.ts';

const HOSTILE = ['quote"d, and comma', 'new\nline', 'cr\rreturn', 'tab\tkey', '$(rm -rf ~)', '`uname`', '-leading-dash', '😀/\uff5e'];

function fixture(): { source: LineSpec[]; dest: (LineSpec | string)[] } {
  const source: LineSpec[] = [
    { key: 'dir/', type: 'folder' },
    { key: 'empty', size: 0, etag: '' },
    { key: 'etag', size: 5, etag: MD5_A },
    { key: 'matched', size: 5, etag: MD5_A },
    { key: 'missing', size: 7, etag: MD5_A },
    { key: 'multipart', size: 9, etag: `${MD5_A}-2` },
    { key: 'size', size: 5, etag: MD5_A },
    ...HOSTILE.map((key) => ({ key, size: 3, etag: MD5_B })),
  ];
  const dest: (LineSpec | string)[] = [
    { key: 'matched', size: 5, etag: MD5_B }, // replaced below by a later line for the same key
    { key: 'size', size: 6, etag: MD5_A },
    { key: 'extra', size: 11, etag: MD5_B },
    { key: 'dir/', type: 'folder' },
    { key: 'empty', size: 0, etag: '' },
    { key: 'etag', size: 5, etag: MD5_B },
    { key: 'multipart', size: 9, etag: `${MD5_B}-1` },
    { key: 'matched', size: 5, etag: MD5_A },
    ...HOSTILE.map((key) => ({ key, size: 3, etag: MD5_B })),
    '{"totalObjects":99,"totalSize":0}',
  ];
  return { source, dest };
}

async function setup(t: import('node:test').TestContext, dest?: (LineSpec | string)[]) {
  const dir = await tempDir(t);
  const f = fixture();
  await writeInventory(dir, 'src.ndjson', f.source);
  await writeInventory(dir, 'dst.ndjson.gz', dest ?? f.dest, true);
  const events: EngineEvent[] = [];
  const bus = new EventBus();
  bus.subscribe((e) => events.push(e));
  const req = {
    source: 'inventory:src.ndjson',
    dest: 'inventory:dst.ndjson.gz',
    stateDir: join(dir, 'state'),
    reportDir: 'reports',
    cwd: dir,
    bus,
  };
  return { dir, events, req };
}

test('a reconcile job ingests both sides, merge-joins, and writes reports and its job folder', async (t) => {
  const { dir, events, req } = await setup(t);
  const summary = await runReconcile(req);

  assert.deepEqual(summary.counts, { matched: 3 + HOSTILE.length, missing: 1, extra: 1, sizeMismatch: 1, etagMismatch: 1, unverified: 1, source: 7 + HOSTILE.length, dest: 7 + HOSTILE.length });
  assert.equal(summary.bytes.missing, 7);
  assert.equal(summary.bytes.extra, 11);
  assert.deepEqual(summary.duplicates, { source: 0, dest: 1 });
  assert.equal(summary.complete, true);
  assert.equal(summary.outcome, 'differences');
  assert.equal(summary.exitCode, 1);
  assert.equal(summary.reports.dir, join(dir, 'reports'));
  assert.ok(summary.peakRssBytes > 0);
  assert.ok(summary.recommendations.some((r) => /Copy 3 object/.test(r)));

  // The first event names the job; states are announced in order; the summary comes last.
  assert.equal(events[0]!.type, 'job:created');
  assert.equal((events[0] as { jobId: string }).jobId, summary.job);
  const states = events.filter((e) => e.type === 'job:state').map((e) => (e as { state: string }).state);
  assert.deepEqual(states, ['validating', 'estimating', 'preparing', 'collecting-inventory', 'comparing', 'generating-report', 'completed-with-differences']);
  // The strategy is chosen from an estimate (sampled from inventory files) and said with its reason.
  const strategy = events.find((e) => e.type === 'strategy') as { name: string; reason: string } | undefined;
  assert.equal(strategy?.name, 'standard');
  assert.match(strategy!.reason, /^15 source objects \(counted in the file\): at most 100,000; batches of 1,000 entries, a comparison checkpoint every 10,000 keys, 8 lister\(s\) per side$/);
  assert.equal(summary.strategy?.name, 'standard');
  const last = events.at(-1)!;
  assert.equal(last.type, 'summary');
  const { type: _t, ...fromEvent } = last as { type: string };
  const fromFile = JSON.parse(await readFile(summary.reports.summary, 'utf8'));
  assert.deepEqual(fromEvent, fromFile);
  for (const side of ['source', 'dest']) {
    const done = events.filter((e) => e.type === 'inventory:progress' && e.side === side && e.done);
    assert.equal(done.length, 1, `${side} reports its end once`);
  }

  // job.json and events.ndjson
  const record = await readJobRecord(req.stateDir, summary.job);
  assert.equal(record.state, 'completed-with-differences');
  assert.deepEqual(record.counts, summary.counts);
  assert.equal(record.options.reportDir, join(dir, 'reports'));
  assert.equal(record.source.path, join(dir, 'src.ndjson'));
  const logged = await readEventLog(join(req.stateDir, 'jobs', summary.job, 'events.ndjson'));
  assert.deepEqual(logged, JSON.parse(JSON.stringify(events)));

  // differences.ndjson: every key that is not matched, in key order, with both sides.
  const rows = (await readFile(summary.reports.differencesNdjson, 'utf8')).trimEnd().split('\n').map((l) => JSON.parse(l) as DifferenceRow);
  assert.deepEqual(rows.map((r) => [r.key, r.category]), [['etag', 'etagMismatch'], ['extra', 'extra'], ['missing', 'missing'], ['multipart', 'unverified'], ['size', 'sizeMismatch']]);
  assert.deepEqual(rows[2], { key: 'missing', category: 'missing', source: { size: 7, etag: MD5_A, lastModified: '2025-03-04T10:15:30.512Z' }, dest: null });

  // differences.csv parses back to the same rows.
  const csv = parseCsv(await readFile(summary.reports.differencesCsv, 'utf8'), { columns: true }) as Record<string, string>[];
  assert.deepEqual(Object.keys(csv[0]!), [...CSV_COLUMNS]);
  const back = csv.map((c) => ({
    key: c.key,
    category: c.category,
    source: c.source_size === '' ? null : { size: Number(c.source_size), etag: c.source_etag, lastModified: c.source_last_modified, ...(c.source_storage_class ? { storageClass: c.source_storage_class } : {}) },
    dest: c.dest_size === '' ? null : { size: Number(c.dest_size), etag: c.dest_etag, lastModified: c.dest_last_modified, ...(c.dest_storage_class ? { storageClass: c.dest_storage_class } : {}) },
  }));
  assert.deepEqual(back, rows);
});

test('hostile keys round-trip through CSV and NDJSON reports', async (t) => {
  const { events: _e, req } = await setup(t, [{ key: 'other' }]);
  const summary = await runReconcile(req);
  const rows = (await readFile(summary.reports.differencesNdjson, 'utf8')).trimEnd().split('\n').map((l) => JSON.parse(l) as DifferenceRow);
  const csv = parseCsv(await readFile(summary.reports.differencesCsv, 'utf8'), { columns: true }) as Record<string, string>[];
  for (const key of HOSTILE) {
    assert.ok(rows.some((r) => r.key === key && r.category === 'missing'), `ndjson has ${JSON.stringify(key)}`);
    assert.ok(csv.some((r) => r.key === key && r.category === 'missing'), `csv has ${JSON.stringify(key)}`);
  }
  assert.equal(csv.length, rows.length);
});

test('progress is reported at least every 10,000 entries per side', async (t) => {
  const dir = await tempDir(t);
  const many = Array.from({ length: 35_000 }, (_, i) => ({ key: `k/${String(i).padStart(6, '0')}`, size: 1, etag: MD5_A }));
  await writeInventory(dir, 's.ndjson', many);
  await writeInventory(dir, 'd.ndjson', many.slice(0, 34_000));
  const events: EngineEvent[] = [];
  const bus = new EventBus();
  bus.subscribe((e) => events.push(e));
  const summary = await runReconcile({ source: 'inventory:s.ndjson', dest: 'inventory:d.ndjson', stateDir: join(dir, 'st'), reportDir: 'r', cwd: dir, bus });
  assert.equal(summary.counts.missing, 1000);
  for (const side of ['source', 'dest'] as const) {
    const seen = events.filter((e): e is Extract<EngineEvent, { type: 'inventory:progress' }> => e.type === 'inventory:progress' && e.side === side).map((e) => e.entries);
    let prev = 0;
    for (const n of seen) {
      assert.ok(n - prev <= 10_000, `${side}: ${prev} -> ${n}`);
      prev = n;
    }
    assert.equal(prev, side === 'source' ? 35_000 : 34_000);
  }
  const compare = events.filter((e): e is Extract<EngineEvent, { type: 'compare:progress' }> => e.type === 'compare:progress');
  assert.ok(compare.length >= 3);
  let prev = 0;
  for (const c of compare) {
    assert.ok(c.keys - prev <= 11_000, `compare ${prev} -> ${c.keys}`);
    prev = c.keys;
  }
  assert.equal(compare.at(-1)!.done, true);
  assert.equal(compare.at(-1)!.keys, 35_000);
});

test('an error object in a listing makes the run incomplete: counted, exit 2, job failed', async (t) => {
  const f = fixture();
  const { req } = await setup(t, [
    ...f.dest,
    '{"status":"error","error":{"message":"Unable to list folder.","cause":{"message":"Connection reset.","error":{}},"type":"error"}}',
  ]);
  const summary = await runReconcile(req);
  assert.equal(summary.complete, false);
  assert.equal(summary.dest.complete, false);
  assert.equal(summary.source.complete, true);
  assert.equal(summary.outcome, 'incomplete');
  assert.equal(summary.exitCode, 2);
  assert.match(summary.incomplete[0]!.message, /Connection reset/);
  assert.match(summary.recommendations[0]!, /dest listing is incomplete/);
  const record = await readJobRecord(req.stateDir, summary.job);
  assert.equal(record.state, 'failed');
  assert.equal(record.error?.code, 'S3MIG_LISTING_INCOMPLETE');
});

test('a malformed line fails the job with the file and line, and keeps what it stored', async (t) => {
  const { events, req } = await setup(t, [{ key: 'a' }, { key: 'b' }, 'not json']);
  await assert.rejects(runReconcile(req), { code: 'S3MIG_INVENTORY_PARSE', message: /^dst\.ndjson\.gz line 3: not valid JSON/ });
  const jobId = (events[0] as { jobId: string }).jobId;
  const record = await readJobRecord(req.stateDir, jobId);
  assert.equal(record.state, 'failed');
  assert.equal(record.error?.code, 'S3MIG_INVENTORY_PARSE');
  const logged = await readEventLog(join(req.stateDir, 'jobs', jobId, 'events.ndjson'));
  assert.ok(logged.some((e) => (e as { type: string; level?: string }).type === 'log' && (e as { level: string }).level === 'error'));
});

test('a canceled run stops with state canceled', async (t) => {
  const { events, req } = await setup(t);
  const ac = new AbortController();
  ac.abort();
  await assert.rejects(runReconcile({ ...req, signal: ac.signal }), { code: 'S3MIG_CANCELED' });
  const record = await readJobRecord(req.stateDir, (events[0] as { jobId: string }).jobId);
  assert.equal(record.state, 'canceled');
});

test('a live target with an unknown alias is refused with a message naming it, before any listing', async (t) => {
  const { req } = await setup(t);
  const home = await tempDir(t);
  await assert.rejects(runReconcile({ ...req, dest: 'dst/bucket/prefix', aliasEnv: { env: {}, home } }), {
    code: 'S3MIG_ALIAS_UNKNOWN',
    message: /^dest dst\/bucket\/prefix: unknown alias "dst": set MC_HOST_dst=/,
  });
});

test('over 100,000 source objects the strategy is large-scale, estimated by sampling, and said why', async (t) => {
  const dir = await tempDir(t);
  const lines = Array.from({ length: 120_000 }, (_, i) => ({ key: `k/${String(i).padStart(7, '0')}`, size: 1, etag: MD5_A }));
  await writeInventory(dir, 'src.ndjson', lines);
  await writeInventory(dir, 'dst.ndjson.gz', lines, true);
  const events: EngineEvent[] = [];
  const bus = new EventBus();
  bus.subscribe((e) => events.push(e));
  const summary = await runReconcile({ source: `inventory:${join(dir, 'src.ndjson')}`, dest: `inventory:${join(dir, 'dst.ndjson.gz')}`, stateDir: join(dir, 'state'), reportDir: join(dir, 'rep'), bus });
  assert.equal(summary.outcome, 'clean');
  assert.equal(summary.strategy?.name, 'large-scale');
  assert.equal(summary.strategy?.batchEntries, 10_000);
  assert.match(summary.strategy!.reason, /^about [\d,]+ source objects \(sampled from the first 65,536 bytes of the file\): more than 100,000; batches of 10,000 entries, a comparison checkpoint every 100,000 keys/);
  const est = summary.strategy!.estimate;
  // The sample is close: within 2 % of the truth; the gzip side reads its size from the trailer.
  for (const side of [est.source, est.dest]) assert.ok(Math.abs(side.objects - 120_000) < 2_400, `${side.objects}`);
  const stateEvents = events.filter((e) => e.type === 'job:state').map((e) => (e as { state: string; reason?: string }));
  assert.equal(stateEvents.find((e) => e.state === 'preparing')?.reason, summary.strategy!.reason);
});

test('a comparison read in windows, the sides reopened between them, gives exactly the reports of one read', async (t) => {
  const dir = await tempDir(t);
  // 5,000 keys per side with every kind of difference spread through them, non-ASCII keys among them.
  const src: LineSpec[] = [];
  const dst: LineSpec[] = [];
  for (let i = 0; i < 5000; i++) {
    const key = `${i % 3 === 0 ? 'é' : 'k'}/${String(i).padStart(4, '0')}`;
    if (i % 17 !== 5) src.push({ key, size: i, etag: MD5_A });
    if (i % 19 !== 7) dst.push({ key, size: i % 23 === 0 ? i + 1 : i, etag: i % 29 === 0 ? MD5_B : MD5_A });
  }
  await writeInventory(dir, 's.ndjson', src);
  await writeInventory(dir, 'd.ndjson', dst);
  const run = (name: string) => runReconcile({ source: 'inventory:s.ndjson', dest: 'inventory:d.ndjson', stateDir: join(dir, 'st'), reportDir: name, cwd: dir, bus: new EventBus() });
  const files = async (summary: { reports: { differencesNdjson: string; differencesCsv: string } }) => [
    await readFile(summary.reports.differencesNdjson, 'utf8'),
    await readFile(summary.reports.differencesCsv, 'utf8'),
  ];
  const whole = await run('whole');

  const { JobDb } = await import('../../src/store/job-db.ts');
  const { compareTuning } = await import('../../src/engine/reconcile-job.ts');
  const reopen = JobDb.prototype.reopenSides;
  let reopened = 0;
  JobDb.prototype.reopenSides = async function (this: typeof JobDb.prototype) {
    reopened++;
    return reopen.call(this);
  };
  const window = compareTuning.readWindowKeys;
  compareTuning.readWindowKeys = 1000; // the merge-join yields its verdicts a thousand at a time
  t.after(() => {
    JobDb.prototype.reopenSides = reopen;
    compareTuning.readWindowKeys = window;
  });
  const windowed = await run('windowed');
  assert.ok(reopened >= 4, `the databases were reopened ${reopened} times`);
  assert.deepEqual(windowed.counts, whole.counts);
  assert.deepEqual(await files(windowed), await files(whole));
  assert.ok(whole.counts.missing > 0 && whole.counts.extra > 0 && whole.counts.sizeMismatch > 0 && whole.counts.etagMismatch > 0);
});
