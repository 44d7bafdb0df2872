// The one keymap table of the TUI (design §11): every key, its action, description, scope and danger; the footer and help are generated from it.

/** Where a binding applies. `global` applies in every scope but `dialog`, which is modal. */
export type Scope = 'global' | 'jobs' | 'dashboard' | 'differences' | 'schedules' | 'dialog';

export const SCOPES: readonly Scope[] = ['global', 'jobs', 'dashboard', 'differences', 'schedules', 'dialog'];

export type ActionName =
  | 'help'
  | 'quit'
  | 'nextView'
  | 'prevView'
  | 'back'
  | 'up'
  | 'down'
  | 'pageUp'
  | 'pageDown'
  | 'top'
  | 'bottom'
  | 'open'
  | 'select'
  | 'search'
  | 'searchNext'
  | 'filter'
  | 'ignore'
  | 'accept'
  | 'fix'
  | 'reverify'
  | 'export'
  | 'retry'
  | 'pause'
  | 'cancel'
  | 'resume'
  | 'prune'
  | 'remove'
  | 'confirm'
  | 'dismiss'
  | 'nextField';

export interface KeyBinding {
  /** blessed key names (the `full` name of a keypress: 'q', 'C-c', 'S-g' for G, 'enter', 'space', '/'). */
  keys: readonly string[];
  action: ActionName;
  /** A short imperative phrase for the footer and the help overlay. */
  description: string;
  scope: Scope;
  /** Destroys or stops work: the app always asks first. */
  dangerous: boolean;
  /** Shown in the footer (all bindings are in the help overlay). */
  footer: boolean;
  /** For a toggle: the footer's words when it would turn the thing on, and off (see footerText's context). */
  toggle?: readonly [string, string];
  /** A longer explanation for the help overlay, where the description is too terse. */
  help?: string;
}

function bind(
  scope: Scope,
  action: ActionName,
  keys: readonly string[],
  description: string,
  flags: { dangerous?: boolean; footer?: boolean; toggle?: readonly [string, string]; help?: string } = {},
): KeyBinding {
  return {
    keys,
    action,
    description,
    scope,
    dangerous: flags.dangerous ?? false,
    footer: flags.footer ?? false,
    ...(flags.toggle ? { toggle: flags.toggle } : {}),
    ...(flags.help ? { help: flags.help } : {}),
  };
}

/** Moving through a list, the same keys in every list. */
function listMoves(scope: Scope): KeyBinding[] {
  return [
    bind(scope, 'up', ['up', 'k'], 'move up'),
    bind(scope, 'down', ['down', 'j'], 'move down'),
    bind(scope, 'pageUp', ['pageup'], 'page up'),
    bind(scope, 'pageDown', ['pagedown'], 'page down'),
    bind(scope, 'top', ['g', 'home'], 'go to the top'),
    bind(scope, 'bottom', ['S-g', 'end'], 'go to the bottom'),
  ];
}

/**
 * Every key of the TUI. `quit` is not marked dangerous: it asks only while a job this process runs is
 * running (the app decides); `fix` asks through its own dialog, and a fix that deletes asks again.
 */
export const KEYMAP: readonly KeyBinding[] = [
  bind('global', 'quit', ['q', 'C-c'], 'quit', { footer: true, help: 'quit (asks while a job of this process runs)' }),
  bind('global', 'help', ['?'], 'help', { footer: true, help: 'show or hide this help' }),
  bind('global', 'nextView', ['tab'], 'next view'),
  bind('global', 'prevView', ['S-tab'], 'previous view'),

  ...listMoves('jobs'),
  bind('jobs', 'open', ['enter'], 'open', { footer: true, help: "open the job's dashboard" }),
  bind('jobs', 'resume', ['S-r'], 'resume', { footer: true, help: 'resume a paused or interrupted job' }),
  bind('jobs', 'retry', ['r'], 'retry failed', { help: 'retry the transfers that failed' }),
  bind('jobs', 'fix', ['f'], 'fix', { footer: true, help: 'copy what is missing or different (asks first)' }),
  bind('jobs', 'reverify', ['v'], 're-verify', { help: 'check the differing keys again' }),
  bind('jobs', 'pause', ['p'], 'pause', { footer: true, help: 'pause the job at its next checkpoint' }),
  bind('jobs', 'cancel', ['c'], 'cancel the job', { dangerous: true, footer: true }),
  bind('jobs', 'prune', ['x'], 'prune', { dangerous: true, help: "delete the job's database (its reports stay)" }),

  bind('dashboard', 'back', ['escape'], 'back', { footer: true, help: 'back to the jobs' }),
  bind('dashboard', 'open', ['enter'], 'differences', { footer: true, help: 'browse the differences (the review queue)' }),
  bind('dashboard', 'pause', ['p'], 'pause or resume', { footer: true, toggle: ['pause', 'resume'] }),
  bind('dashboard', 'cancel', ['c'], 'cancel the job', { dangerous: true, footer: true }),
  bind('dashboard', 'fix', ['f'], 'fix', { footer: true, help: 'copy what is missing or different (asks first)' }),
  bind('dashboard', 'reverify', ['v'], 're-verify', { help: 'check the differing keys again' }),
  bind('dashboard', 'retry', ['r'], 'retry failed', { help: 'retry the transfers that failed' }),
  bind('dashboard', 'export', ['e'], 'export', { help: 'export the report' }),

  bind('differences', 'back', ['escape'], 'back', { footer: true, help: 'back to the dashboard' }),
  ...listMoves('differences'),
  bind('differences', 'open', ['enter'], 'details', { help: "show the key's details" }),
  // The selection box column shows what space does; the footer has no room for it at 80 columns.
  bind('differences', 'select', ['space'], 'select', { help: 'select or unselect the key' }),
  bind('differences', 'search', ['/'], 'search', { footer: true, help: 'search the keys' }),
  bind('differences', 'searchNext', ['n'], 'next match'),
  bind('differences', 'filter', ['t'], 'filter', { footer: true, help: 'next category filter (all, missing, extra, size, etag, unverified)' }),
  bind('differences', 'ignore', ['i'], 'ignore', { footer: true, help: 'mark or unmark the key ignored' }),
  bind('differences', 'accept', ['a'], 'accept', { footer: true, help: 'mark or unmark the key accepted' }),
  bind('differences', 'fix', ['f'], 'fix', { footer: true, help: 'fix the selection, or all when nothing is selected (asks first)' }),
  bind('differences', 'reverify', ['v'], 're-verify', { help: 're-verify the selection, or all when nothing is selected' }),
  bind('differences', 'export', ['e'], 'export', { help: 'export the list as shown' }),

  bind('schedules', 'back', ['escape'], 'back', { footer: true, help: 'back to the jobs' }),
  ...listMoves('schedules'),
  bind('schedules', 'open', ['enter'], 'last run', { footer: true, help: "open the dashboard of the schedule's last run" }),
  bind('schedules', 'pause', ['p'], 'pause or resume', { footer: true, toggle: ['pause', 'resume'], help: 'pause or resume the schedule (a resumed schedule does not catch up)' }),
  bind('schedules', 'remove', ['x'], 'remove', { dangerous: true, footer: true, help: 'remove the schedule (a run in progress goes on)' }),

  bind('dialog', 'confirm', ['y', 'enter'], 'confirm', { footer: true }),
  bind('dialog', 'dismiss', ['n', 'escape'], 'cancel', { footer: true, help: 'close without doing anything' }),
  bind('dialog', 'nextField', ['tab'], 'next field'),
  bind('dialog', 'select', ['space'], 'toggle', { help: 'toggle the option under the cursor (export formats, deleting extras)' }),
];

/** The scopes whose bindings apply in `scope`: its own, then global ones (a dialog is modal: only its own). */
function scopesOf(scope: Scope): Scope[] {
  return scope === 'global' || scope === 'dialog' ? [scope] : [scope, 'global'];
}

/** The bindings that apply in `scope`: its own, then the global ones (none in the modal dialog scope). */
export function bindingsFor(scope: Scope, map: readonly KeyBinding[] = KEYMAP): KeyBinding[] {
  return scopesOf(scope).flatMap((s) => map.filter((b) => b.scope === s));
}

/** The action `key` triggers in `scope`, if any. */
export function actionFor(scope: Scope, key: string, map: readonly KeyBinding[] = KEYMAP): KeyBinding | undefined {
  return bindingsFor(scope, map).find((b) => b.keys.includes(key));
}

/**
 * Keys bound to more than one binding where they apply: twice in one scope, or in a scope and in global
 * (the dialog scope is modal and only checked against itself). A clash with global is reported under the
 * other scope.
 */
export function duplicateKeys(map: readonly KeyBinding[] = KEYMAP): { scope: Scope; key: string; actions: ActionName[] }[] {
  const out: { scope: Scope; key: string; actions: ActionName[] }[] = [];
  for (const scope of SCOPES) {
    const byKey = new Map<string, KeyBinding[]>();
    for (const b of bindingsFor(scope, map)) {
      for (const k of new Set(b.keys)) byKey.set(k, [...(byKey.get(k) ?? []), b]);
    }
    for (const [key, bs] of byKey) {
      // Global's own clashes are reported once, under global.
      if (bs.length > 1 && bs.some((b) => b.scope === scope)) out.push({ scope, key, actions: bs.map((b) => b.action) });
    }
  }
  return out;
}

const NAMED: Record<string, string> = {
  enter: 'enter',
  return: 'enter',
  space: 'space',
  escape: 'Esc',
  tab: 'Tab',
  pageup: 'PgUp',
  pagedown: 'PgDn',
  home: 'Home',
  end: 'End',
  up: '↑',
  down: '↓',
  left: '←',
  right: '→',
  backspace: 'Bksp',
  delete: 'Del',
};

/** A blessed key name as the footer and help show it: 'C-c' -> '^C', 'S-g' -> 'G', 'S-tab' -> 'S-Tab', 'pageup' -> 'PgUp'. */
export function keyLabel(key: string): string {
  const ctrl = /^C-(.)$/.exec(key);
  if (ctrl) return `^${ctrl[1]!.toUpperCase()}`;
  const shiftLetter = /^S-([a-z])$/.exec(key);
  if (shiftLetter) return shiftLetter[1]!.toUpperCase();
  const shift = /^S-(.+)$/.exec(key);
  if (shift) return `S-${keyLabel(shift[1]!)}`;
  return NAMED[key] ?? key;
}
