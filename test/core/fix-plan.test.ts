// Tests for the fix plan: which keys mc can address, and which verdicts call for a copy or a delete.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mcAddressable, planFor } from '../../src/core/fix-plan.ts';
import type { Verdict } from '../../src/core/reconcile.ts';
import type { Category } from '../../src/core/verdict.ts';
import { entry, MD5_A, MD5_B } from '../helpers.ts';

test('table: mcAddressable', () => {
  const cases: { key: string; want: boolean }[] = [
    { key: 'a', want: true },
    { key: 'a/b/c.txt', want: true },
    { key: '.hidden', want: true },
    { key: 'a/.b', want: true },
    { key: '..a', want: true },
    { key: 'a..', want: true },
    { key: '...', want: true },
    { key: 'a/.../b', want: true },
    { key: ' ', want: true },
    { key: '-rf', want: true },
    { key: 'a\nb', want: true },
    { key: 'a\\b', want: true },
    { key: '😀/é', want: true },
    { key: '', want: false },
    { key: '/', want: false },
    { key: '/a', want: false },
    { key: 'a//b', want: false },
    { key: 'a/', want: false },
    { key: 'dir/sub/', want: false },
    { key: '.', want: false },
    { key: '..', want: false },
    { key: './a', want: false },
    { key: '../a', want: false },
    { key: 'a/./b', want: false },
    { key: 'a/../b', want: false },
    { key: 'a/.', want: false },
    { key: 'a/..', want: false },
    { key: 'a\u0000b', want: false },
  ];
  for (const c of cases) assert.equal(mcAddressable(c.key), c.want, JSON.stringify(c.key));
});

function verdict(category: Category, key = 'k'): Verdict {
  switch (category) {
    case 'missing':
      return { key, category, source: entry(key, 10, MD5_A), dest: null };
    case 'extra':
      return { key, category, source: null, dest: entry(key, 10, MD5_A) };
    case 'sizeMismatch':
      return { key, category, source: entry(key, 10, MD5_A), dest: entry(key, 11, MD5_A) };
    case 'etagMismatch':
      return { key, category, source: entry(key, 10, MD5_A), dest: entry(key, 10, MD5_B) };
    case 'unverified':
      return { key, category, source: entry(key, 10, `${MD5_A}-2`), dest: entry(key, 10, MD5_B) };
    case 'matched':
      return { key, category, source: entry(key, 10, MD5_A), dest: entry(key, 10, MD5_A) };
  }
}

test('table: planFor across deleteExtras and complete', () => {
  const all = [
    { deleteExtras: false, complete: false },
    { deleteExtras: false, complete: true },
    { deleteExtras: true, complete: false },
    { deleteExtras: true, complete: true },
  ];
  const cases: { category: Category; want: (o: { deleteExtras: boolean; complete: boolean }) => 'copy' | 'delete' | null }[] = [
    { category: 'missing', want: () => 'copy' },
    { category: 'sizeMismatch', want: () => 'copy' },
    { category: 'etagMismatch', want: () => 'copy' },
    { category: 'unverified', want: () => null },
    { category: 'matched', want: () => null },
    { category: 'extra', want: (o) => (o.deleteExtras && o.complete ? 'delete' : null) },
  ];
  for (const c of cases) {
    for (const o of all) {
      const got = planFor(verdict(c.category), o);
      assert.equal(got?.action ?? null, c.want(o), `${c.category} ${JSON.stringify(o)}`);
      if (got) {
        assert.equal(got.key, 'k');
        assert.equal(got.category, c.category);
        assert.equal(got.engine, 'mc');
        assert.ok(got.reason.length > 0);
      }
    }
  }
});

test('planFor: the full action, with snapshots and a plain-words reason', () => {
  const v = verdict('sizeMismatch', 'photos/a.jpg');
  assert.deepEqual(planFor(v, { deleteExtras: false, complete: true }), {
    action: 'copy',
    key: 'photos/a.jpg',
    category: 'sizeMismatch',
    reason: 'sizes differ: 10 bytes in the source, 11 in the destination',
    engine: 'mc',
    source: { size: 10, etag: MD5_A, lastModified: '2025-01-01T00:00:00Z' },
    dest: { size: 11, etag: MD5_A, lastModified: '2025-01-01T00:00:00Z' },
  });
  const d = planFor(verdict('extra', 'old.txt'), { deleteExtras: true, complete: true });
  assert.equal(d?.action, 'delete');
  assert.equal(d?.reason, 'only in the destination');
  assert.equal(d?.source, null);
});

test('table: planFor sends keys mc would rewrite to the native engine', () => {
  const o = { deleteExtras: true, complete: true };
  const cases: { key: string; category: Category; engine: 'mc' | 'native' }[] = [
    { key: 'a//b', category: 'missing', engine: 'native' },
    { key: 'dir/', category: 'extra', engine: 'native' },
    { key: '../up', category: 'etagMismatch', engine: 'native' },
    { key: 'a/./b', category: 'sizeMismatch', engine: 'native' },
    { key: '-rf', category: 'missing', engine: 'mc' },
    { key: 'a\nb', category: 'extra', engine: 'mc' },
  ];
  for (const c of cases) assert.equal(planFor(verdict(c.category, c.key), o)?.engine, c.engine, JSON.stringify(c.key));
});
