// The mc engine inside a job: choosing the engine (auto: mc when the MinIO client is on PATH), giving
// live sides their mc names and child environment, the estimate through `mc du`, and re-checks through
// `mc stat`. Loaded only for jobs that use mc.
import { S3migError, isS3migError, oneLine } from '../core/errors.ts';
import type { JobOptions } from '../core/job-record.ts';
import type { SideName } from '../core/summary.ts';
import type { SideEstimate } from '../core/job-record.ts';
import { mcOnPath, openMc, type McContext } from '../mc/context.ts';
import { duMc } from '../mc/du.ts';
import { checkMcVersion, mcVersion } from '../mc/runner.ts';
import { statMc, type StatOutcome, type StatResult } from '../mc/stat.ts';
import type { LiveSide } from './live-targets.ts';
import { mcFolderUrl } from './mc-ingest.ts';

export type EngineChoice = 'auto' | 'mc' | 'native';

export interface EngineDecision {
  engine: 'mc' | 'native';
  /** Why, for the job's log (auto only). */
  note?: string;
}

/** Checks that `mcPath` runs the MinIO client at a supported release; the error says what was found. */
export async function checkMc(mcPath: string): Promise<string> {
  try {
    return checkMcVersion((await mcVersion(mcPath)).release).release;
  } catch (err) {
    if (isS3migError(err) && /ENOENT/.test(err.message)) {
      throw new S3migError('S3MIG_TARGET_UNSUPPORTED', `mc (the MinIO client) is not on PATH${mcPath === 'mc' ? '' : ` at ${mcPath}`}: install it or use --engine native`, { cause: err });
    }
    throw err;
  }
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

/** The estimate of a side through one `mc du` (exact, one listing inside mc). */
export async function estimateWithMc(l: LiveSide, signal?: AbortSignal): Promise<SideEstimate> {
  const t = l.mc!;
  const du = await duMc(t.ctx, mcFolderUrl(t), signal);
  return { objects: du.objects, bytes: du.bytes, exact: true, how: 'mc du' };
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
