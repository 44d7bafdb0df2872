// `mc ls --json [-r] URL`: streams a listing as entries whose keys are relative to the listed folder
// (mc-json.md §2). The URL must end in `/`: without it mc matches every key starting with the last
// path component, so s3mig never lists without one.
import type { ObjectEntry } from '../core/entry.ts';
import type { McContext } from './context.ts';
import type { McErrorMessage, McLsMessage } from './messages.ts';
import { runMc, type McRunResult } from './runner.ts';

export interface McLsOptions {
  recursive: boolean;
  /** Called for each listed entry, in mc's order; key relative to the listed folder. */
  onEntry: (entry: ObjectEntry, message: McLsMessage) => void;
  onError?: (e: McErrorMessage) => void;
  signal?: AbortSignal;
}

/** mc's RFC3339Nano time as ISO 8601 with milliseconds (the native engine's form); kept as is when unreadable. */
export function isoTime(t: string): string {
  const ms = Date.parse(t);
  return Number.isNaN(ms) ? t : new Date(ms).toISOString();
}

/** An ls message as an inventory entry: folder markers (`x/`, size 0) flagged as the native engine does. */
export function entryOfLs(m: McLsMessage, keyPrefix = ''): ObjectEntry {
  const key = keyPrefix + m.key;
  const e: ObjectEntry = { key, size: m.size, etag: m.etag, lastModified: isoTime(m.lastModified) };
  if (m.storageClass) e.storageClass = m.storageClass;
  if (key.endsWith('/') && m.size === 0) e.folder = true;
  if (m.versionId && m.versionId !== 'null') e.versionId = m.versionId;
  if (m.isDeleteMarker) e.isDeleteMarker = true;
  return e;
}

/** Runs one listing; every outcome resolves (read `ok`, `errors`), only a failure to start mc rejects. */
export async function listMc(ctx: McContext, url: string, options: McLsOptions): Promise<McRunResult> {
  if (!url.endsWith('/')) throw new TypeError(`mc ls needs a folder URL ending in "/", not ${JSON.stringify(url)}`);
  return runMc([...ctx.globalFlags, 'ls', ...(options.recursive ? ['--recursive'] : []), url], {
    env: ctx.env,
    mcPath: ctx.mcPath,
    ...(options.signal ? { signal: options.signal } : {}),
    onMessage: (m) => {
      if (m.type === 'ls') options.onEntry(entryOfLs(m), m);
      else if (m.type === 'error') options.onError?.(m);
    },
  });
}

/** One line saying why an mc run failed: its first error object, else its exit, else its stderr. */
export function describeMcFailure(command: string, r: McRunResult): string {
  if (r.errors.length > 0) {
    const e = r.errors[0]!;
    const more = r.errorCount > 1 ? ` (+${r.errorCount - 1} more)` : '';
    return `mc ${command}: ${[e.message, e.causeMessage].filter(Boolean).join(': ')}${more}`;
  }
  if (r.interrupted) return `mc ${command} was interrupted`;
  if (r.signal) return `mc ${command} was killed by ${r.signal}`;
  const tail = r.stderrTail.trim().split('\n').filter(Boolean).pop();
  if (r.exitCode !== 0) return `mc ${command} exited ${r.exitCode}${tail ? `: ${tail.slice(0, 300)}` : ''}`;
  return `mc ${command} ended without its summary line`;
}
