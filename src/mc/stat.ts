// `mc stat --no-list --json URL...`: re-checks single objects (mc-json.md §7). Without --no-list mc lists
// the prefix and prints every object whose name starts with the key, so s3mig always passes it. mc
// stops at the first error (every stat error is fatal), so a batch continues after the key that failed.
import { S3migError, throwIfAborted } from '../core/errors.ts';
import { unquoteEtag } from '../core/entry.ts';
import type { McContext } from './context.ts';
import type { McErrorMessage, McStatMessage } from './messages.ts';
import { runMc } from './runner.ts';
import { describeMcFailure, isoTime } from './ls.ts';

/** What a stat says about an object, in the fields the re-checks use (those of a native HEAD). */
export interface StatResult {
  size: number;
  etag: string;
  lastModified: string;
  storageClass?: string;
  serverSideEncryption?: string;
  sseCustomerAlgorithm?: string;
}

export type StatOutcome = { kind: 'found'; stat: StatResult } | { kind: 'absent' } | { kind: 'error'; message: string };

/** Objects per mc process; keys are at most 1 KiB, so argv stays far below the system's limit. */
export const STAT_BATCH = 100;

function header(meta: Record<string, string> | undefined, name: string): string | undefined {
  if (!meta) return undefined;
  const want = name.toLowerCase();
  for (const [k, v] of Object.entries(meta)) if (k.toLowerCase() === want && v !== '') return v;
  return undefined;
}

export function statResultOf(m: McStatMessage): StatResult {
  const r: StatResult = { size: m.size, etag: unquoteEtag(m.etag), lastModified: isoTime(m.lastModified) };
  const sc = header(m.metadata, 'X-Amz-Storage-Class');
  if (sc) r.storageClass = sc;
  const sse = header(m.metadata, 'X-Amz-Server-Side-Encryption');
  if (sse) r.serverSideEncryption = sse;
  const ssec = header(m.metadata, 'X-Amz-Server-Side-Encryption-Customer-Algorithm');
  if (ssec) r.sseCustomerAlgorithm = ssec;
  return r;
}

/** An mc error that means the object is not there. */
export function isNotFoundError(e: McErrorMessage): boolean {
  const code = (e.cause as { Code?: unknown } | undefined)?.Code;
  if (code === 'NoSuchKey' || code === 'NotFound') return true;
  return /does not exist|not found|NoSuchKey/i.test(`${e.causeMessage ?? ''} ${e.message}`);
}

/** Stats every URL (object URLs, alias form); one outcome per URL, in order. */
export async function statMc(ctx: McContext, urls: readonly string[], signal?: AbortSignal): Promise<StatOutcome[]> {
  const out: StatOutcome[] = [];
  let next = 0;
  while (next < urls.length) {
    const batch = urls.slice(next, next + STAT_BATCH);
    const found: StatOutcome[] = [];
    let failure: McErrorMessage | undefined;
    const r = await runMc([...ctx.globalFlags, 'stat', '--no-list', ...batch], {
      env: ctx.env,
      mcPath: ctx.mcPath,
      ...(signal ? { signal } : {}),
      onMessage: (m) => {
        if (m.type === 'stat' && failure === undefined) found.push({ kind: 'found', stat: statResultOf(m) });
        else if (m.type === 'error' && failure === undefined) failure = m;
      },
    });
    throwIfAborted(signal);
    if (found.length > batch.length) {
      throw new S3migError('S3MIG_MC_FAILED', `mc stat printed ${found.length} objects for ${batch.length} names; is --no-list supported by ${ctx.mcPath}?`);
    }
    out.push(...found);
    next += found.length;
    if (found.length === batch.length && failure === undefined) {
      if (!r.ok) throw new S3migError('S3MIG_MC_FAILED', describeMcFailure('stat', r));
      continue;
    }
    if (!failure) throw new S3migError('S3MIG_MC_FAILED', `${describeMcFailure('stat', r)} after ${found.length} of ${batch.length} objects`);
    // The object after the last one printed is the one that failed; the rest are asked again.
    out.push(isNotFoundError(failure) ? { kind: 'absent' } : { kind: 'error', message: [failure.message, failure.causeMessage].filter(Boolean).join(': ') });
    next++;
  }
  return out;
}
