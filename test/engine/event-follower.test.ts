// Following a job's events.ndjson from another process: history in batches, appends in pieces, late files, torn lines, truncation, replacement, and a clean close.
//
// Nothing here waits on time: each step appends to the file and waits for the callback that the
// append must cause; a final sentinel event proves nothing else (no duplicate) was delivered before it.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { appendFile, mkdir, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { followEvents, readEventsOnce, MAX_BATCH_EVENTS, type EventFollower } from '../../src/engine/event-follower.ts';
import type { EngineEvent } from '../../src/engine/events.ts';
import { EventLog } from '../../src/store/event-log.ts';
import { tempDir } from '../helpers.ts';

const TIMEOUT = { timeout: 30_000 };

function ev(i: number, message = `event ${i}`): EngineEvent {
  return { ts: `2025-01-01T00:00:${String(i % 60).padStart(2, '0')}.000Z`, jobId: 'job-1', type: 'log', level: 'info', message };
}
const line = (e: EngineEvent) => JSON.stringify(e) + '\n';
const bytes = (...events: EngineEvent[]) => Buffer.byteLength(events.map(line).join(''));

/** A follower whose deliveries are recorded; `until(n)` resolves once n events have arrived in all. */
function follow(t: TestContext, path: string, options: Parameters<typeof followEvents>[2] = {}) {
  const events: EngineEvent[] = [];
  const batches: number[] = [];
  const errors: Error[] = [];
  const waiters: { n: number; resolve: () => void }[] = [];
  const settle = () => {
    for (const w of [...waiters]) {
      if (events.length >= w.n) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve();
      }
    }
  };
  const follower: EventFollower = followEvents(
    path,
    (batch) => {
      batches.push(batch.length);
      events.push(...batch);
      settle();
    },
    { pollMs: 50, ...options, onError: (err) => errors.push(err) },
  );
  t.after(() => follower.close());
  const until = (n: number) => new Promise<void>((resolve) => {
    waiters.push({ n, resolve });
    settle();
  });
  return { follower, events, batches, errors, until };
}

test('appends in pieces are delivered once each, in order, only when their line is complete', TIMEOUT, async (t) => {
  const dir = await tempDir(t);
  const path = join(dir, 'events.ndjson');
  const e = Array.from({ length: 7 }, (_, i) => ev(i, i === 4 ? `piece ${i}: é😀 across a split` : `event ${i}`));
  const l2 = Buffer.from(line(e[2]!));
  await writeFile(path, Buffer.concat([Buffer.from(line(e[0]!) + line(e[1]!)), l2.subarray(0, 20)]));

  const f = follow(t, path);
  await f.until(2);
  assert.deepEqual(f.events, [e[0], e[1]]);
  assert.equal(f.follower.offset, bytes(e[0]!, e[1]!), 'the half line is not consumed');

  // The rest of line 2 and the first bytes of line 3.
  const l3 = Buffer.from(line(e[3]!));
  await appendFile(path, Buffer.concat([l2.subarray(20), l3.subarray(0, 5)]));
  await f.until(3);
  assert.deepEqual(f.events, [e[0], e[1], e[2]]);
  assert.equal(f.follower.offset, bytes(e[0]!, e[1]!, e[2]!));

  // Line 4 split inside a multi-byte character, in three appends; then line 5 whole.
  await appendFile(path, l3.subarray(5));
  const l4 = Buffer.from(line(e[4]!));
  const cut = l4.indexOf(Buffer.from('😀')) + 2;
  await appendFile(path, l4.subarray(0, cut));
  await appendFile(path, l4.subarray(cut));
  await appendFile(path, line(e[5]!));
  await f.until(6);
  // The sentinel: everything delivered before it is exactly the lines written.
  await appendFile(path, line(e[6]!));
  await f.until(7);
  assert.deepEqual(f.events, e);
  assert.equal(f.follower.offset, bytes(...e));
  assert.deepEqual(f.errors, []);
});

test('follows what the job\'s EventLog writes while it writes', TIMEOUT, async (t) => {
  const dir = await tempDir(t);
  const path = join(dir, 'events.ndjson');
  const log = new EventLog(path);
  const f = follow(t, path);
  const all = Array.from({ length: 2_000 }, (_, i) => ev(i, `logged ${i} ${'x'.repeat(i % 300)}`));
  for (const e of all.slice(0, 1_000)) log.append(e);
  await f.until(1_000);
  for (const e of all.slice(1_000)) log.append(e);
  assert.equal(await log.close(), undefined);
  await f.until(2_000);
  assert.deepEqual(f.events, all);
  assert.deepEqual(await readEventsOnce(path), all);
});

test('a long history arrives in batches of at most 10,000 events; fromOffset starts later', TIMEOUT, async (t) => {
  const dir = await tempDir(t);
  const path = join(dir, 'events.ndjson');
  const N = 25_003;
  const all = Array.from({ length: N }, (_, i) => ev(i));
  await writeFile(path, all.map(line).join(''));

  const f = follow(t, path);
  await f.until(N);
  assert.ok(f.batches.length >= 3, `${f.batches.length} batches`);
  assert.ok(f.batches.every((n) => n <= MAX_BATCH_EVENTS), `batch sizes ${f.batches.join(',')}`);
  assert.deepEqual(f.events, all);

  const later = follow(t, path, { fromOffset: bytes(...all.slice(0, N - 2)) });
  await later.until(2);
  await appendFile(path, line(ev(N)));
  await later.until(3);
  assert.deepEqual(later.events, [all[N - 2], all[N - 1], ev(N)]);
});

test('a file created after following starts, also in a folder that does not exist yet', TIMEOUT, async (t) => {
  const dir = await tempDir(t);
  const path = join(dir, 'events.ndjson');
  const f = follow(t, path);
  await writeFile(path, line(ev(0)) + line(ev(1)));
  await f.until(2);
  await appendFile(path, line(ev(2)));
  await f.until(3);
  assert.deepEqual(f.events, [ev(0), ev(1), ev(2)]);

  const later = join(dir, 'jobs', 'job-2', 'events.ndjson');
  const g = follow(t, later, { pollMs: 20 });
  await mkdir(join(dir, 'jobs', 'job-2'), { recursive: true });
  await writeFile(later, line(ev(7)));
  await g.until(1);
  await appendFile(later, line(ev(8)));
  await g.until(2);
  assert.deepEqual(g.events, [ev(7), ev(8)]);
  assert.deepEqual([...f.errors, ...g.errors], []);
});

test('fs.watch alone drives delivery (the poll set to an hour): a new file, appends, a replacement', TIMEOUT, async (t) => {
  const dir = await tempDir(t);
  const path = join(dir, 'events.ndjson');
  const f = follow(t, path, { pollMs: 3_600_000 });
  await writeFile(path, line(ev(0)));
  await f.until(1);
  await appendFile(path, line(ev(1)));
  await f.until(2);
  const next = join(dir, 'events.next');
  await writeFile(next, line(ev(5)) + line(ev(6)) + line(ev(7)));
  await rename(next, path);
  await f.until(5);
  await appendFile(path, line(ev(8)));
  await f.until(6);
  assert.deepEqual(f.events, [ev(0), ev(1), ev(5), ev(6), ev(7), ev(8)]);
});

test('a torn line is skipped and reported once; an event appended right after it still arrives', TIMEOUT, async (t) => {
  const dir = await tempDir(t);
  const path = join(dir, 'events.ndjson');
  // A writer crashed in the middle of a line; the resumed job appends after the remains.
  await writeFile(path, line(ev(0)) + '{"ts":"2025-01-01T00:00:01.000Z","jobId":"job-1","type":"log","source":{"al');
  const f = follow(t, path);
  await f.until(1);
  assert.equal(f.errors.length, 0, 'an unfinished line is not an error yet');
  await appendFile(path, line(ev(1)) + 'garbage that is no JSON\n' + line(ev(2)));
  await f.until(3);
  // The sentinel, after more looks at the file: the skipped lines are not reported again.
  await appendFile(path, line(ev(3)));
  await f.until(4);
  assert.deepEqual(f.events, [ev(0), ev(1), ev(2), ev(3)]);
  assert.equal(f.errors.length, 2, f.errors.map((e) => e.message).join(' | '));
  assert.match(f.errors[0]!.message, /events\.ndjson: skipped \d+ bytes at offset \d+ that are not a JSON event/);
  assert.match(f.errors[1]!.message, /garbage that is no JSON/);

  assert.deepEqual(await readEventsOnce(path), [ev(0), ev(1), ev(2), ev(3)]);
  assert.deepEqual(await readEventsOnce(join(dir, 'none.ndjson')), []);
});

test('a truncated or replaced file is read again from its start', TIMEOUT, async (t) => {
  const dir = await tempDir(t);
  const path = join(dir, 'events.ndjson');
  await writeFile(path, line(ev(0)) + line(ev(1)) + line(ev(2)));
  const f = follow(t, path);
  await f.until(3);

  await writeFile(path, line(ev(10)));
  await f.until(4);
  assert.deepEqual(f.events.slice(3), [ev(10)]);

  // Replaced by a longer file (a rename): its size says nothing, its identity does.
  const next = join(dir, 'events.next');
  await writeFile(next, [20, 21, 22, 23, 24].map((i) => line(ev(i))).join(''));
  await rename(next, path);
  await f.until(9);
  await appendFile(path, line(ev(25)));
  await f.until(10);
  assert.deepEqual(f.events.slice(3), [ev(10), ev(20), ev(21), ev(22), ev(23), ev(24), ev(25)]);
});

test('close stops watching and polling, leaves no handles, and nothing is delivered after it', TIMEOUT, async (t) => {
  const dir = await tempDir(t);
  const path = join(dir, 'events.ndjson');
  await writeFile(path, line(ev(0)));
  // The kinds a follower makes: a watcher, a poll timer, file handles and reads in flight.
  const kinds = new Set(['FSEventWrap', 'Timeout', 'FileHandle', 'FSReqPromise', 'FSReqCallback', 'StatWatcher']);
  const resources = () => process.getActiveResourcesInfo().filter((r) => kinds.has(r)).sort();
  const before = resources();

  const f = follow(t, path);
  await f.until(1);
  assert.ok(resources().length > before.length, `the follower holds handles: ${resources().join(',')}`);
  await f.follower.close();
  await new Promise((resolve) => setImmediate(resolve));
  assert.deepEqual(resources(), before);

  // Closing from inside the callback, in the middle of a long history: no further batch.
  await writeFile(path, Array.from({ length: 3 * MAX_BATCH_EVENTS }, (_, i) => line(ev(i))).join(''));
  let follower: EventFollower | undefined;
  const batches: number[] = [];
  let closed!: Promise<void>;
  const first = new Promise<void>((resolve) => {
    follower = followEvents(path, (batch) => {
      batches.push(batch.length);
      closed = follower!.close();
      resolve();
    });
  });
  await first;
  await closed;
  await new Promise((resolve) => setImmediate(resolve));
  assert.deepEqual(batches, [MAX_BATCH_EVENTS]);
  assert.deepEqual(resources(), before);
});
