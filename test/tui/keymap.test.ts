// The one keymap table: no clashes, every binding described, a way out of every scope, danger marked (src/tui/keymap.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { actionFor, bindingsFor, duplicateKeys, keyLabel, KEYMAP, SCOPES, type KeyBinding } from '../../src/tui/keymap.ts';

test('no key is bound twice where it applies', () => {
  assert.deepEqual(duplicateKeys(KEYMAP), []);
  assert.deepEqual(duplicateKeys(), []);
});

test('duplicateKeys finds a clash in one scope, with global, and not across a modal dialog', () => {
  const b = (scope: KeyBinding['scope'], action: KeyBinding['action'], keys: string[]): KeyBinding => ({
    scope,
    action,
    keys,
    description: action,
    dangerous: false,
    footer: false,
  });
  const clashes = duplicateKeys([
    b('global', 'quit', ['q']),
    b('jobs', 'up', ['k', 'up']),
    b('jobs', 'top', ['k']),
    b('differences', 'filter', ['q']),
    b('dialog', 'dismiss', ['q']),
    b('dashboard', 'pause', ['p', 'p']),
  ]);
  assert.deepEqual(clashes, [
    { scope: 'jobs', key: 'k', actions: ['up', 'top'] },
    { scope: 'differences', key: 'q', actions: ['filter', 'quit'] },
  ]);
  assert.deepEqual(duplicateKeys([b('global', 'help', ['?']), b('global', 'quit', ['?'])]), [{ scope: 'global', key: '?', actions: ['help', 'quit'] }]);
});

test('every binding has keys and a short description', () => {
  for (const k of KEYMAP) {
    assert.ok(k.keys.length > 0, k.action);
    assert.ok(k.description.trim().length > 0, k.action);
    assert.ok(k.description.length <= 20, `${k.scope}/${k.action}: "${k.description}" is short enough for the footer`);
    assert.ok(SCOPES.includes(k.scope));
  }
});

test('every scope has a way out: global quit, or the dialog dismissing', () => {
  for (const scope of SCOPES) {
    const actions = bindingsFor(scope).map((b) => b.action);
    assert.ok(actions.includes('quit') || actions.includes('dismiss'), scope);
  }
  assert.equal(actionFor('dialog', 'escape')?.action, 'dismiss');
  assert.equal(actionFor('dialog', 'q'), undefined, 'global keys do not apply in a modal dialog');
  assert.equal(actionFor('differences', 'q')?.action, 'quit');
  assert.equal(actionFor('dashboard', 'escape')?.action, 'back');
});

test('the dangerous actions are exactly cancel, prune and remove', () => {
  const dangerous = new Set(KEYMAP.filter((k) => k.dangerous).map((k) => k.action));
  assert.deepEqual([...dangerous].sort(), ['cancel', 'prune', 'remove']);
  for (const k of KEYMAP.filter((k) => k.action === 'cancel' || k.action === 'prune' || k.action === 'remove')) assert.ok(k.dangerous, `${k.scope}/${k.action}`);
  assert.ok(KEYMAP.filter((k) => k.action === 'fix').every((k) => !k.dangerous), 'fix asks through its own dialog');
});

test('bindingsFor: the scope own bindings, then global ones; a dialog only its own', () => {
  const jobs = bindingsFor('jobs');
  const firstGlobal = jobs.findIndex((b) => b.scope === 'global');
  assert.ok(firstGlobal > 0);
  assert.ok(jobs.slice(0, firstGlobal).every((b) => b.scope === 'jobs'));
  assert.ok(jobs.slice(firstGlobal).every((b) => b.scope === 'global'));
  assert.ok(bindingsFor('dialog').every((b) => b.scope === 'dialog'));
  assert.ok(bindingsFor('global').every((b) => b.scope === 'global'));
});

test('the keys of the design: G and R as blessed names them, / search, t filter, enter opens', () => {
  const cases: [KeyBinding['scope'], string, KeyBinding['action']][] = [
    ['global', '?', 'help'],
    ['global', 'C-c', 'quit'],
    ['global', 'tab', 'nextView'],
    ['global', 'S-tab', 'prevView'],
    ['jobs', 'S-g', 'bottom'],
    ['jobs', 'g', 'top'],
    ['jobs', 'S-r', 'resume'],
    ['jobs', 'r', 'retry'],
    ['jobs', 'x', 'prune'],
    ['jobs', 'enter', 'open'],
    ['dashboard', 'p', 'pause'],
    ['dashboard', 'enter', 'open'],
    ['dashboard', 'e', 'export'],
    ['differences', 'j', 'down'],
    ['differences', 'pagedown', 'pageDown'],
    ['differences', 'space', 'select'],
    ['differences', '/', 'search'],
    ['differences', 'n', 'searchNext'],
    ['differences', 't', 'filter'],
    ['differences', 'i', 'ignore'],
    ['differences', 'a', 'accept'],
    ['dialog', 'y', 'confirm'],
    ['dialog', 'enter', 'confirm'],
    ['dialog', 'n', 'dismiss'],
    ['dialog', 'tab', 'nextField'],
  ];
  for (const [scope, key, action] of cases) assert.equal(actionFor(scope, key)?.action, action, `${scope} ${key}`);
});

test('keyLabel turns blessed names into short labels', () => {
  const cases: [string, string][] = [
    ['enter', 'enter'],
    ['space', 'space'],
    ['pageup', 'PgUp'],
    ['pagedown', 'PgDn'],
    ['S-tab', 'S-Tab'],
    ['tab', 'Tab'],
    ['C-c', '^C'],
    ['up', '↑'],
    ['down', '↓'],
    ['escape', 'Esc'],
    ['S-g', 'G'],
    ['S-r', 'R'],
    ['?', '?'],
    ['/', '/'],
    ['q', 'q'],
  ];
  for (const [key, label] of cases) assert.equal(keyLabel(key), label, key);
});
