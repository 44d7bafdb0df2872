// The mc engine inside a job: choosing the engine (auto: mc when the MinIO client is on PATH), giving
// live sides their mc names and child environment, the estimate through `mc du`, and re-checks through
// `mc stat`. Loaded only for jobs that use mc.
import { S3migError, isS3migError, oneLine } from '../core/errors.ts';
import type { JobOptions } from '../core/job-record.ts';
import type { SideName } from '../core/summary.ts';
import type { SideEstimate } from '../core/job-record.ts';
import { checkMc, mcOnPath, openMc, type McContext } from '../mc/context.ts';
import { duMc } from '../mc/du.ts';
import { statMc, type StatOutcome, type StatResult } from '../mc/stat.ts';
import type { LiveSide } from './live-targets.ts';
import { mcFolderUrl } from './mc-ingest.ts';

export { checkMc };

export type EngineChoice = 'auto' | 'mc' | 'native';

export interface EngineDecision {
  engine: 'mc' | 'native';
  /** Why, for the job's log (auto only). */
  note?: string;
}

/**
 * Decides the engine of a new job. `mc` insists on a working MinIO client; `auto` takes mc when one is on
 * PATH and usable (Debian's `mc` may be Midnight Commander) and falls back to native, saying why.
 */
export async function decideEngine(choice: EngineChoice, mcPath: string | undefined, env: NodeJS.ProcessEnv = process.env): Promise<EngineDecision> {
  if (choice === 'native') return { engine: 'native' };
  if (choice === 'mc') {
    const release = await checkMc(mcPath ?? 'mc');
    return { engine: 'mc', note: `engine mc (${release})` };
  }
  const found = mcPath ?? (await mcOnPath(env));
  if (!found) return { engine: 'native', note: 'engine native: no mc on PATH' };
  try {
    const release = await checkMc(found);
    return { engine: 'mc', note: `engine mc (${release} at ${found})` };
  } catch (err) {
    return { engine: 'native', note: `engine native: ${oneLine(err)}` };
  }
}

/** The mc context for a job's live sides (their aliases in MC_HOST_*), and each side's mc name when the engine is mc. */
export async function attachMc(live: Partial<Record<SideName, LiveSide>>, options: JobOptions, mcPath: string | undefined, useForSides: boolean): Promise<McContext> {
  const sides = Object.values(live).filter((l): l is LiveSide => l !== undefined);
  const ctx = await openMc(
    sides.map((l) => l.alias),
    { ...(mcPath ? { mcPath } : {}), ...(options.insecure ? { insecure: true } : {}), ...(options.caBundle ? { caBundle: options.caBundle } : {}) },
  );
  if (useForSides) {
    for (const l of sides) l.mc = { ctx, alias: l.alias.name, bucket: l.target.bucket, prefix: l.target.prefix };
  }
  return ctx;
}

/** The estimate of a side through one `mc du` (exact, one listing inside mc); unknown when du fails. */
export async function estimateWithMc(l: LiveSide, signal?: AbortSignal): Promise<SideEstimate> {
  const t = l.mc!;
  try {
    const du = await duMc(t.ctx, mcFolderUrl(t), signal);
    return { objects: du.objects, bytes: du.bytes, exact: true, how: 'mc du' };
  } catch (err) {
    // The estimate only picks the strategy: the listing that follows meets (and reports) the real problem.
    if (!isS3migError(err) || err.code !== 'S3MIG_MC_FAILED') throw err;
    return { objects: 0, bytes: 0, exact: false, how: `unknown: ${oneLine(err)}` };
  }
}

/** Stats full keys of one side through mc, in batches; an mc error for a key is an S3MIG_MC_FAILED error. */
export async function statKeys(l: LiveSide, fullKeys: readonly string[], signal?: AbortSignal): Promise<(StatResult | null)[]> {
  const t = l.mc!;
  const outcomes: StatOutcome[] = await statMc(t.ctx, fullKeys.map((k) => `${t.alias}/${t.bucket}/${k}`), signal);
  return outcomes.map((o, i) => {
    if (o.kind === 'found') return o.stat;
    if (o.kind === 'absent') return null;
    throw new S3migError('S3MIG_MC_FAILED', `mc stat ${t.alias}/${t.bucket}/${fullKeys[i]}: ${o.message}`);
  });
}
