// `mc du --json URL`: the object count and bytes under a folder in one line (mc-json.md §6), for the estimate.
import { S3migError, throwIfAborted } from '../core/errors.ts';
import type { McContext } from './context.ts';
import type { McDuMessage } from './messages.ts';
import { runMc } from './runner.ts';
import { describeMcFailure } from './ls.ts';

export interface DuResult {
  objects: number;
  bytes: number;
}

/** Counts a folder; an mc error (error object, non-zero exit, no du line) is an S3MIG_MC_FAILED error. */
export async function duMc(ctx: McContext, url: string, signal?: AbortSignal): Promise<DuResult> {
  let last: McDuMessage | undefined;
  const r = await runMc([...ctx.globalFlags, 'du', url], {
    env: ctx.env,
    mcPath: ctx.mcPath,
    ...(signal ? { signal } : {}),
    onMessage: (m) => {
      if (m.type === 'du') last = m;
    },
  });
  throwIfAborted(signal);
  if (r.interrupted) throw new S3migError('S3MIG_CANCELED', `mc du ${url} was interrupted`);
  if (!r.ok || !last) throw new S3migError('S3MIG_MC_FAILED', `${describeMcFailure(`du ${url}`, r)}${r.ok ? ' (no du line)' : ''}`);
  return { objects: last.objects, bytes: last.size };
}
