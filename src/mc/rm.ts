// `mc rm --json URL...`: deletes single objects for a fix plan's delete actions (mc-json.md §9). Never
// recursive, never --force: each URL names one object. Permission errors are printed and skipped by mc,
// so each key is confirmed afterwards by stat.
import type { McContext } from './context.ts';
import type { McErrorMessage } from './messages.ts';
import { runMc } from './runner.ts';
import { describeMcFailure } from './ls.ts';

export interface RmResult {
  ok: boolean;
  interrupted: boolean;
  /** `key` of each rm line (alias/bucket/object, path-cleaned). */
  removed: string[];
  errors: McErrorMessage[];
  failure?: string;
}

export async function rmMc(ctx: McContext, urls: readonly string[], signal?: AbortSignal): Promise<RmResult> {
  for (const u of urls) if (u.startsWith('-') || u.endsWith('/')) throw new TypeError(`mc rm cannot take ${JSON.stringify(u)} as an object`);
  const removed: string[] = [];
  const r = await runMc([...ctx.globalFlags, 'rm', ...urls], {
    env: ctx.env,
    mcPath: ctx.mcPath,
    ...(signal ? { signal } : {}),
    onMessage: (m) => {
      if (m.type === 'rm') removed.push(m.key);
    },
  });
  return { ok: r.ok, interrupted: r.interrupted, removed, errors: r.errors, ...(r.ok ? {} : { failure: describeMcFailure('rm', r) }) };
}
