// Live targets for a job: alias resolution, the connection, validation before listing (endpoint,
// credentials, bucket, access) and, on resume, the check that the alias still points where it did.
import { S3migError } from '../core/errors.ts';
import type { JobOptions, TargetRecord } from '../core/job-record.ts';
import type { SideName } from '../core/summary.ts';
import { resolveAlias, usePathStyle, type ResolvedAlias } from '../targets/alias.ts';
import { connect, type S3Connection } from '../s3/client.ts';
import { describeS3Failure } from '../s3/errors.ts';
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { httpStatusOf, withRetry } from '../s3/retry.ts';
import type { ListTarget } from '../s3/list.ts';
import type { McSideTarget } from './mc-ingest.ts';

export interface LiveSide {
  record: TargetRecord;
  alias: ResolvedAlias;
  conn: S3Connection;
  target: ListTarget;
  /** `source src/bucket/prefix`, for messages. */
  what: string;
  /** With the mc engine: how mc names the target (listing, stat and copies go through mc). */
  mc?: McSideTarget;
}

export interface LiveEnv {
  env?: NodeJS.ProcessEnv;
  home?: string;
}

function regionFromRedirect(err: unknown): string | undefined {
  const e = err as { $response?: { headers?: Record<string, string> }; Region?: string; BucketRegion?: string };
  return e.$response?.headers?.['x-amz-bucket-region'] ?? e.Region ?? e.BucketRegion;
}

function resolveFor(side: SideName, record: TargetRecord, env: LiveEnv): ResolvedAlias {
  try {
    return resolveAlias(record.alias!, env);
  } catch (err) {
    if (err instanceof S3migError) throw new S3migError(err.code, `${side} ${record.spec}: ${err.message}`, { cause: err });
    throw err;
  }
}

function open(side: SideName, record: TargetRecord, alias: ResolvedAlias, region: string, options: JobOptions): LiveSide {
  const conn = connect(
    { url: alias.url, region, pathStyle: usePathStyle(alias) },
    { accessKey: alias.accessKey, secretKey: alias.secretKey, ...(alias.sessionToken ? { sessionToken: alias.sessionToken } : {}) },
    { ...(options.insecure ? { insecure: true } : {}), ...(options.caBundle ? { caBundle: options.caBundle } : {}) },
  );
  return { record, alias, conn, target: { conn, bucket: record.bucket!, prefix: record.prefix ?? '' }, what: `${side} ${record.spec}` };
}

async function probe(live: LiveSide): Promise<void> {
  // A one-key listing checks reachability, credentials, the bucket and list access in one request, and
  // unlike HEAD it carries an error code that tells them apart. Few retries: an operator is waiting.
  await withRetry(
    () =>
      live.conn.client.send(
        new ListObjectsV2Command({ Bucket: live.target.bucket, MaxKeys: 1, ...(live.target.prefix ? { Prefix: live.target.prefix } : {}) }),
      ),
    { policy: { ...live.conn.retry, attempts: Math.min(3, live.conn.retry.attempts) } },
  );
}

/**
 * Resolves and checks a live target before its job lists anything; returns the record completed with
 * the endpoint, bucket and region it resolved to.
 */
export async function validateLive(side: SideName, record: TargetRecord, options: JobOptions, env: LiveEnv = {}): Promise<LiveSide> {
  const alias = resolveFor(side, record, env);
  let region = record.region ?? alias.region ?? 'us-east-1';
  let live = open(side, { ...record, endpoint: alias.url, region, pathStyle: usePathStyle(alias) }, alias, region, options);
  for (let attempt = 0; ; attempt++) {
    try {
      await probe(live);
      return live;
    } catch (err) {
      const redirected = regionFromRedirect(err);
      const status = httpStatusOf(err);
      if (attempt === 0 && redirected && redirected !== region && (status === 301 || status === 400 || status === 307)) {
        live.conn.destroy();
        region = redirected;
        live = open(side, { ...live.record, region }, alias, region, options);
        continue;
      }
      live.conn.destroy();
      throw describeS3Failure(err, { what: live.what, endpoint: alias.url, alias: alias.name, bucket: live.target.bucket });
    }
  }
}

/** Reopens a live target of a job being resumed; refuses when its alias now points at another endpoint. */
export function reopenLive(side: SideName, record: TargetRecord, options: JobOptions, env: LiveEnv = {}): LiveSide {
  const alias = resolveFor(side, record, env);
  if (record.endpoint !== undefined && alias.url !== record.endpoint) {
    throw new S3migError(
      'S3MIG_TARGET_CHANGED',
      `${side} ${record.spec}: alias "${alias.name}" now points to ${alias.url}, but the job listed ${record.endpoint}; start a new reconcile`,
    );
  }
  return open(side, record, alias, record.region ?? alias.region ?? 'us-east-1', options);
}
