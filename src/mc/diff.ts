// `mc diff --json FIRST SECOND`: mc's own comparison, as a cross-check of s3mig's (mc-json.md §5). mc
// compares names, sizes and "first is newer" only, never ETags; it exits 0 even after a listing error,
// so any error object makes its answer incomplete.
import type { McContext } from './context.ts';
import type { McDiffMessage } from './messages.ts';
import { runMc } from './runner.ts';
import { describeMcFailure } from './ls.ts';

export interface DiffResult {
  /** mc listed both sides to the end without an error object. */
  complete: boolean;
  interrupted: boolean;
  lines: number;
  failure?: string;
}

/** Runs mc diff over two folders (URLs ending in `/`), handing each difference line over in mc's (sorted) order. */
export async function diffMc(
  ctx: McContext,
  first: string,
  second: string,
  onDiff: (d: McDiffMessage) => void,
  signal?: AbortSignal,
): Promise<DiffResult> {
  let lines = 0;
  const r = await runMc([...ctx.globalFlags, 'diff', first, second], {
    env: ctx.env,
    mcPath: ctx.mcPath,
    ...(signal ? { signal } : {}),
    onMessage: (m) => {
      if (m.type === 'diff') {
        lines++;
        onDiff(m);
      }
    },
  });
  return { complete: r.ok, interrupted: r.interrupted, lines, ...(r.ok ? {} : { failure: describeMcFailure('diff', r) }) };
}
