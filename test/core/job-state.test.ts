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

/** Every legal move, written out by hand (design §8); everything else is illegal. */
const LEGAL: Record<string, string[]> = {
  initializing: ['validating'],
  validating: ['estimating', 'collecting-inventory'],
  estimating: ['preparing'],
  preparing: ['transferring', 'collecting-inventory'],
  transferring: ['collecting-inventory'],
  'collecting-inventory': ['comparing'],
  comparing: ['generating-report'],
  'generating-report': ['completed', 'completed-with-differences', 'fixing'],
  fixing: ['generating-report'],
  completed: ['fixing'],
  'completed-with-differences': ['fixing'],
  failed: [],
  canceled: [],
};
const ACTIVE = ['initializing', 'validating', 'estimating', 'preparing', 'transferring', 'collecting-inventory', 'comparing', 'generating-report', 'fixing'];

test('every pair of states: legal exactly when the table (plus pause, fail and cancel from an active state) says so', () => {
  for (const from of JOB_STATES) {
    for (const to of JOB_STATES) {
      if (from === 'paused') {
        // A paused job goes back to where it stopped, or is canceled or failed.
        for (const resumeTo of ACTIVE) {
          const want = to === resumeTo || to === 'canceled' || to === 'failed';
          assert.equal(canTransition(from, to, resumeTo as never), want, `paused(${resumeTo}) -> ${to}`);
        }
        continue;
      }
      const want = LEGAL[from]!.includes(to) || (ACTIVE.includes(from) && (to === 'paused' || to === 'failed' || to === 'canceled'));
      assert.equal(canTransition(from, to), want, `${from} -> ${to}`);
      if (!want) assert.throws(() => transition(from, to), TypeError, `${from} -> ${to} throws`);
    }
  }
});
