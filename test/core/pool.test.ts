import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mapPool } from '../../src/core/pool.ts';

test('mapPool keeps input order and never runs more than the limit at once', async () => {
  let running = 0;
  let most = 0;
  const out = await mapPool([5, 1, 4, 2, 3], 2, async (n) => {
    running++;
    most = Math.max(most, running);
    for (let i = 0; i < n; i++) await Promise.resolve();
    running--;
    return n * 10;
  });
  assert.deepEqual(out, [50, 10, 40, 20, 30]);
  assert.equal(most, 2);
  assert.deepEqual(await mapPool([], 4, async () => 1), []);
});

test('mapPool throws the first failure after the calls in flight settle, and starts no new ones', async () => {
  const started: number[] = [];
  let settled = 0;
  await assert.rejects(
    mapPool([1, 2, 3, 4, 5, 6], 2, async (n) => {
      started.push(n);
      await Promise.resolve();
      settled++;
      if (n === 2) throw new Error('boom 2');
    }),
    /boom 2/,
  );
  assert.equal(settled, started.length, 'nothing left running');
  assert.ok(!started.includes(6), `started ${started.join(',')}`);
});
