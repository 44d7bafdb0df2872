// Test harness: runs a full-screen program under a real pseudo-terminal (util-linux `script`) and reads its screen with @xterm/headless.
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { StringDecoder } from 'node:string_decoder';
import type { Readable } from 'node:stream';
import xtermHeadless, { type IUnicodeVersionProvider } from '@xterm/headless';
import stringWidth from 'string-width';

const { Terminal } = xtermHeadless;
type XTerminal = InstanceType<typeof Terminal>;

/**
 * Character widths of a present-day terminal (VTE, kitty, xterm.js with its unicode11 addon, Windows Terminal):
 * emoji such as 😀 take two columns. xterm.js alone knows only Unicode 6 widths, where they take one. Widths come
 * from string-width (which the TUI's presenters use too); the joining rule is xterm.js's own UnicodeV6 one.
 */
const MODERN_WIDTHS: IUnicodeVersionProvider = (() => {
  const cache = new Map<number, 0 | 1 | 2>();
  const wcwidth = (cp: number): 0 | 1 | 2 => {
    if (cp < 32) return 0;
    if (cp < 127) return 1;
    let w = cache.get(cp);
    if (w === undefined) {
      w = Math.min(2, stringWidth(String.fromCodePoint(cp))) as 0 | 1 | 2;
      cache.set(cp, w);
    }
    return w;
  };
  // xterm.js packs (kind << 3) | (width << 1) | joinsPreceding into a property value (UnicodeService.createPropertyValue).
  const widthOf = (props: number): number => (props >> 1) & 3;
  return {
    version: 'modern',
    wcwidth,
    charProperties(cp: number, preceding: number): number {
      let w: number = wcwidth(cp);
      let join = w === 0 && preceding !== 0;
      if (join) {
        const pw = widthOf(preceding);
        if (pw === 0) join = false;
        else if (pw > w) w = pw;
      }
      return ((w & 3) << 1) | (join ? 1 : 0);
    },
  };
})();

/** A program running under a pseudo-terminal, its screen kept by a headless terminal emulator. */
export interface PtySession {
  /**
   * Sends keys: each argument is a named key ('enter', 'escape', 'tab', 'S-tab', 'up', 'down', 'left', 'right',
   * 'home', 'end', 'pageup', 'pagedown', 'delete', 'space', 'backspace', 'C-a'...'C-z') or else text sent as typed.
   * All keys of one call go out in one write; the program may read them in one chunk, so 'escape' followed by
   * more keys in the same call can be read as Meta-<key> — wait for the screen between such keys.
   */
  press(...keys: string[]): void;
  /** Sends text exactly as typed. */
  type(text: string): void;
  /** The screen as text lines (trailing spaces trimmed), from the emulator's active buffer (wide characters once). */
  screen(): string[];
  /** screen() joined with '\n'. */
  screenText(): string;
  /**
   * Resolves with the screen text once predicate(screenText) holds: checked on the current screen (after all output
   * received so far is parsed) and again after each output chunk is parsed, never by polling. Rejects, with the last
   * screen in the message, after timeoutMs (default 20 s; a deadline, not a sequencing sleep), when the program exits
   * without the predicate holding, or when the session is closed.
   */
  waitForScreen(predicate: (text: string) => boolean, description: string, timeoutMs?: number): Promise<string>;
  /**
   * Resizes the emulator at once and the pseudo-terminal (`stty -F <pty> cols C rows R`, whose TIOCSWINSZ makes the
   * kernel send SIGWINCH to the program's foreground process group). Before the pty's name is known (the first
   * milliseconds) the size, and any keys sent after it, are held and applied then, so calls take effect in order.
   */
  resize(cols: number, rows: number): void;
  /**
   * Resolves with the program's exit code (128+N when it died of signal N; null when `script` could not start or
   * itself died of a signal), after its last output is parsed.
   */
  exited: Promise<number | null>;
  /** Ends the program (SIGTERM, then SIGKILL after 5 s, to both process groups) and disposes the emulator; safe to call twice. */
  close(): Promise<void>;
  /** All raw output so far, decoded as UTF-8 (for diagnostics). */
  raw(): string;
}

/** Options of startPty. `env` is merged over process.env and the harness defaults; a key set to undefined removes it. */
export interface PtyOptions {
  cols?: number;
  rows?: number;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

/** Named keys and the bytes a terminal sends for them (xterm, normal cursor mode). */
const KEYS: Readonly<Record<string, string>> = {
  enter: '\r',
  escape: '\x1b',
  tab: '\t',
  'S-tab': '\x1b[Z',
  up: '\x1b[A',
  down: '\x1b[B',
  right: '\x1b[C',
  left: '\x1b[D',
  home: '\x1b[H',
  end: '\x1b[F',
  pageup: '\x1b[5~',
  pagedown: '\x1b[6~',
  delete: '\x1b[3~',
  space: ' ',
  backspace: '\x7f',
};

/** The bytes for one press() argument: a named key, C-<letter>, or the text itself. */
export function keyBytes(key: string): string {
  const named = KEYS[key];
  if (named !== undefined) return named;
  const ctrl = /^C-([a-z])$/.exec(key);
  if (ctrl) return String.fromCharCode(ctrl[1]!.charCodeAt(0) - 96);
  return key;
}

/** A POSIX sh word that evaluates to exactly `s` (single quotes, `'` as `'\''`; newlines stay literal inside). */
export function shQuote(s: string): string {
  if (s.includes('\u0000')) throw new RangeError('a shell word cannot hold a NUL character');
  return `'${s.replace(/'/g, "'\\''")}'`;
}

const DEFAULT_TIMEOUT_MS = 20_000;
const KILL_GRACE_MS = 5_000;

interface Waiter {
  predicate: (text: string) => boolean;
  description: string;
  resolve: (text: string) => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout;
}

function killGroup(pgid: number | undefined, signal: NodeJS.Signals): void {
  if (pgid === undefined || pgid <= 1) return;
  try {
    process.kill(-pgid, signal);
  } catch {
    // already gone (ESRCH)
  }
}

/**
 * Starts `command args...` under a pseudo-terminal of cols x rows (default 100x30) through
 * `script -q -e -E never -c <sh line> /dev/null`; the child gets TERM=xterm-256color, NCURSES_NO_UTF8_ACS=1 and
 * LANG=C.UTF-8 (LC_ALL, COLUMNS, LINES and NODE_TEST_CONTEXT removed) unless options.env says otherwise.
 */
export function startPty(command: string, args: string[], options: PtyOptions = {}): PtySession {
  const cols = options.cols ?? 100;
  const rows = options.rows ?? 30;
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const name of ['LC_ALL', 'COLUMNS', 'LINES', 'NODE_TEST_CONTEXT']) delete env[name];
  Object.assign(env, { TERM: 'xterm-256color', NCURSES_NO_UTF8_ACS: '1', LANG: 'C.UTF-8' }, options.env);
  for (const [name, value] of Object.entries(env)) if (value === undefined) delete env[name];
  // `script` runs the line with $SHELL -c: force /bin/sh (the quoting is POSIX) and give the program its own SHELL back.
  const shellRestore = env.SHELL === undefined ? 'unset SHELL; ' : `SHELL=${shQuote(env.SHELL)}; export SHELL; `;
  const line =
    shellRestore +
    // The size first, so that a resize() sent as soon as the pty is announced is not undone by it.
    `stty cols ${cols} rows ${rows} 2>/dev/null; ` +
    // Our fd 3 (inherited through `script`) learns the pty's name and the pid that becomes the program (and,
    // since `script` setsid()s its child, its process group); then fd 3 is closed so the program does not hold it.
    `printf '%s %s\\n' "$$" "$(tty)" >&3; exec 3>&-; ` +
    `exec ${[command, ...args].map(shQuote).join(' ')}`;

  const child: ChildProcess = spawn('script', ['--quiet', '--return', '--echo', 'never', '--command', line, '/dev/null'], {
    cwd: options.cwd,
    env: { ...env, SHELL: '/bin/sh' },
    stdio: ['pipe', 'pipe', 'pipe', 'pipe'],
    detached: true, // its own process group, so close() can signal `script` and anything it left behind
  });

  const terminal: XTerminal = new Terminal({ cols, rows, allowProposedApi: true, scrollback: 0 });
  terminal.unicode.register(MODERN_WIDTHS);
  terminal.unicode.activeVersion = MODERN_WIDTHS.version;
  const decoder = new StringDecoder('utf8');
  let rawText = '';
  let diagnostics = '';
  let pendingWrites = 0;
  let disposed = false;
  let ended = false; // `script` exited and all its output is parsed
  let exitCode: number | null = null;
  let ttyPath: string | undefined;
  let programPid: number | undefined;
  let pendingSize: { cols: number; rows: number } | undefined;
  let pendingInput = ''; // keys sent before the pty is announced, held so that they follow any earlier resize()
  const waiters = new Set<Waiter>();

  const screen = (): string[] => {
    if (disposed) return [];
    const buffer = terminal.buffer.active;
    const lines: string[] = [];
    for (let i = 0; i < terminal.rows; i++) lines.push(buffer.getLine(buffer.baseY + i)?.translateToString(true) ?? '');
    return lines;
  };
  const screenText = (): string => screen().join('\n');

  const settle = (w: Waiter, err?: Error): void => {
    waiters.delete(w);
    clearTimeout(w.timer);
    if (err) w.reject(err);
    else w.resolve(screenText());
  };
  const checkWaiters = (): void => {
    if (waiters.size === 0 || disposed) return;
    const text = screenText();
    for (const w of [...waiters]) {
      let ok: boolean;
      try {
        ok = w.predicate(text);
      } catch (err) {
        settle(w, err instanceof Error ? err : new Error(String(err)));
        continue;
      }
      if (ok) settle(w);
      else if (ended) settle(w, new Error(`program exited (code ${exitCode}) before ${w.description}; screen:\n${text}${diagnosticsNote()}`));
    }
  };
  const diagnosticsNote = (): string => (diagnostics ? `\nscript stderr: ${diagnostics.trim()}` : '');

  const feed = (data: Buffer | string): void => {
    if (disposed) return;
    pendingWrites++;
    terminal.write(data, () => {
      pendingWrites--;
      checkWaiters();
    });
  };

  (child.stdout as Readable).on('data', (chunk: Buffer) => {
    rawText += decoder.write(chunk);
    feed(chunk); // xterm decodes UTF-8 itself, also across chunk boundaries
  });
  (child.stderr as Readable).on('data', (chunk: Buffer) => {
    diagnostics += chunk.toString('utf8');
  });
  let fd3 = '';
  (child.stdio[3] as Readable).on('data', (chunk: Buffer) => {
    fd3 += chunk.toString('utf8');
    const match = /^(\d+) (\/dev\/\S+)\n/.exec(fd3);
    if (match && ttyPath === undefined) {
      programPid = Number(match[1]);
      ttyPath = match[2];
      if (pendingSize) applySize(pendingSize.cols, pendingSize.rows);
      if (pendingInput) child.stdin?.write(pendingInput);
      pendingInput = '';
    }
  });
  child.stdin?.on('error', () => {
    // EPIPE after the program ended: nothing to deliver any more
  });

  const applySize = (c: number, r: number): void => {
    if (ttyPath === undefined || ended) {
      pendingSize = { cols: c, rows: r };
      return;
    }
    pendingSize = undefined;
    try {
      execFileSync('stty', ['-F', ttyPath, 'cols', String(c), 'rows', String(r)], { stdio: 'ignore' });
    } catch {
      // the pty is gone (program exited meanwhile)
    }
  };

  const send = (bytes: string): void => {
    if (ended || disposed) return;
    if (ttyPath === undefined) pendingInput += bytes;
    else child.stdin?.write(bytes);
  };

  const exited = new Promise<number | null>((resolve) => {
    let spawnFailed = false;
    child.on('error', (err) => {
      spawnFailed ||= child.pid === undefined;
      diagnostics += `script: ${err.message}\n`;
    });
    child.on('close', (code) => {
      rawText += decoder.end();
      const finish = (): void => {
        ended = true;
        exitCode = spawnFailed ? null : code;
        checkWaiters();
        resolve(exitCode);
      };
      if (disposed || pendingWrites === 0) finish();
      else terminal.write('', finish); // after every earlier chunk is parsed
    });
  });

  const waitForScreen = (predicate: (text: string) => boolean, description: string, timeoutMs = DEFAULT_TIMEOUT_MS): Promise<string> =>
    new Promise<string>((resolve, reject) => {
      if (disposed) {
        reject(new Error(`session closed before ${description}`));
        return;
      }
      const w: Waiter = {
        predicate,
        description,
        resolve,
        reject,
        timer: setTimeout(() => {
          settle(w, new Error(`timed out after ${timeoutMs} ms waiting for ${description}; screen:\n${screenText()}${diagnosticsNote()}`));
        }, timeoutMs),
      };
      waiters.add(w);
      if (pendingWrites === 0) checkWaiters(); // otherwise the pending write's callback checks
    });

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= (async () => {
      if (!ended) {
        // SIGTERM the program only: `script` then reaps it and exits with its status at once. (Signalling `script`
        // too makes it wait ~2 s and exit 0, and leaves the program unreaped; ending its stdin also makes it wait.)
        killGroup(programPid ?? child.pid, 'SIGTERM');
        let timer: NodeJS.Timeout | undefined;
        const killed = new Promise<void>((resolve) => {
          timer = setTimeout(() => {
            killGroup(programPid, 'SIGKILL');
            killGroup(child.pid, 'SIGKILL');
            resolve();
          }, KILL_GRACE_MS);
        });
        await Promise.race([exited, killed]);
        await exited;
        clearTimeout(timer);
      }
      for (const w of [...waiters]) settle(w, new Error(`session closed before ${w.description}; screen:\n${screenText()}`));
      for (const stream of child.stdio) stream?.destroy();
      disposed = true;
      terminal.dispose();
    })();
    return closing;
  };

  return {
    press: (...keys) => send(keys.map(keyBytes).join('')),
    type: send,
    screen,
    screenText,
    waitForScreen,
    resize: (c, r) => {
      if (disposed) return;
      terminal.resize(c, r);
      applySize(c, r);
    },
    exited,
    close,
    raw: () => rawText,
  };
}
