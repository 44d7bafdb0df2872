// `mc cp --json SRC... DST/`: copies objects for a fix plan (mc-json.md §4). Copy lines are printed when a
// copy starts, the summary only when nothing failed, and a failure can end in exit 0 without a summary:
// so a run is good only with exit 0, no error object and the summary; each key is confirmed afterwards by stat.
import type { McContext } from './context.ts';
import type { McErrorMessage } from './messages.ts';
import { runMc } from './runner.ts';
import { describeMcFailure } from './ls.ts';
import { formatRate } from '../core/rate-limit.ts';

export interface CpOptions {
  /** mc's global `--limit-upload` for this run, in bytes per second (each mc process has its own limit). */
  limitUpload?: number;
}

export interface CpResult {
  ok: boolean;
  interrupted: boolean;
  /** Copy lines seen: copies mc started, not copies done. */
  started: number;
  errors: McErrorMessage[];
  /** One line when !ok. */
  failure?: string;
}

/**
 * Copies sources (object URLs, alias form) into the folder `destDir` (ending in `/`), where each lands
 * under its last path component. Sources must be mc-addressable keys (no empty, `.` or `..` segment).
 */
export async function cpMc(ctx: McContext, sources: readonly string[], destDir: string, signal?: AbortSignal, options: CpOptions = {}): Promise<CpResult> {
  if (!destDir.endsWith('/')) throw new TypeError(`mc cp needs a folder target ending in "/", not ${JSON.stringify(destDir)}`);
  for (const s of sources) {
    if (s.startsWith('-') || s.endsWith('/')) throw new TypeError(`mc cp cannot take ${JSON.stringify(s)} as an object source`);
  }
  let started = 0;
  // A global flag, before the command as mirror has it.
  const limit = options.limitUpload !== undefined ? ['--limit-upload', formatRate(options.limitUpload)] : [];
  const r = await runMc([...ctx.globalFlags, ...limit, 'cp', ...sources, destDir], {
    env: ctx.env,
    mcPath: ctx.mcPath,
    expectSummary: true,
    ...(signal ? { signal } : {}),
    onMessage: (m) => {
      if (m.type === 'copy') started++;
    },
  });
  return {
    ok: r.ok,
    interrupted: r.interrupted,
    started,
    errors: r.errors,
    ...(r.ok ? {} : { failure: describeMcFailure('cp', r) }),
  };
}
