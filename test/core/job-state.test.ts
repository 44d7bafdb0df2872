import { test } from 'node:test';
import assert from 'node:assert/strict';
import { JOB_STATES, TERMINAL_STATES, canTransition, transition } from '../../src/core/job-state.ts';

test('the reconcile path is legal step by step', () => {
  const path = ['initializing', 'validating', 'collecting-inventory', 'comparing', 'generating-report', 'completed-with-differences', 'fixing', 'generating-report', 'completed'] as const;
  for (let i = 0; i + 1 < path.length; i++) assert.equal(transition(path[i]!, path[i + 1]!), path[i + 1]);
});

test('the migration path is legal step by step', () => {
  const path = ['initializing', 'validating', 'estimating', 'preparing', 'transferring', 'collecting-inventory', 'comparing', 'generating-report', 'completed'] as const;
  for (let i = 0; i + 1 < path.length; i++) assert.ok(canTransition(path[i]!, path[i + 1]!), `${path[i]} -> ${path[i + 1]}`);
});

test('every active state can fail, pause or be canceled; no terminal failure moves again', () => {
  for (const s of JOB_STATES) {
    const active = !TERMINAL_STATES.includes(s) && s !== 'paused';
    for (const to of ['failed', 'paused', 'canceled'] as const) {
      if (active) assert.ok(canTransition(s, to), `${s} -> ${to}`);
    }
  }
  for (const to of JOB_STATES) {
    assert.equal(canTransition('failed', to), false, `failed -> ${to}`);
    assert.equal(canTransition('canceled', to), false, `canceled -> ${to}`);
  }
});

test('a paused job resumes only to the state it was paused in', () => {
  assert.ok(canTransition('paused', 'comparing', 'comparing'));
  assert.equal(canTransition('paused', 'generating-report', 'comparing'), false);
  assert.ok(canTransition('paused', 'canceled'));
});

test('illegal transitions throw a TypeError', () => {
  assert.throws(() => transition('initializing', 'comparing'), TypeError);
  assert.throws(() => transition('completed', 'comparing'), TypeError);
  assert.throws(() => transition('comparing', 'collecting-inventory'), TypeError);
});
