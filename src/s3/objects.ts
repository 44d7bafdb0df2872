// Single-object requests of the native engine: HEAD (what an object is, for copying and verifying) and
// batched deletes, each retried through ./retry.ts, plus the one-line wording of S3 errors.
import { createHash } from 'node:crypto';
import { DeleteObjectCommand, DeleteObjectsCommand, HeadObjectCommand, type HeadObjectCommandOutput } from '@aws-sdk/client-s3';
import { S3migError, oneLine, throwIfAborted } from '../core/errors.ts';
import type { S3Connection } from './client.ts';
import { errnoOf, httpStatusOf, withRetry } from './retry.ts';

/** What a HEAD says about an object: enough to copy it faithfully and to verify the copy. */
export interface HeadResult {
  size: number;
  /** Without quotes; '' when the server sent none. */
  etag: string;
  /** ISO 8601; '' when the server sent none. */
  lastModified: string;
  contentType?: string;
  contentEncoding?: string;
  cacheControl?: string;
  contentDisposition?: string;
  contentLanguage?: string;
  /** The Expires header as the server sent it. */
  expires?: string;
  /** User metadata (x-amz-meta-*), names without the prefix, lower case as S3 returns them. */
  metadata: Record<string, string>;
  storageClass?: string;
  serverSideEncryption?: string;
  sseCustomerAlgorithm?: string;
  versionId?: string;
}

export interface RequestOptions {
  signal?: AbortSignal;
}

/** The S3 error code of an SDK error ('NoSuchKey', 'NotImplemented', ...), if the server named one. */
export function s3ErrorCode(err: unknown): string | undefined {
  const e = err as { Code?: unknown; name?: unknown } | undefined;
  if (typeof e?.Code === 'string' && e.Code !== '') return e.Code;
  if (httpStatusOf(err) !== undefined && typeof e?.name === 'string' && e.name !== '' && e.name !== 'Error') return e.name;
  return undefined;
}

/** Whether the server said that it does not implement a request (HTTP 501 or NotImplemented). */
export function isNotImplemented(err: unknown): boolean {
  return httpStatusOf(err) === 501 || s3ErrorCode(err) === 'NotImplemented' || (err as Error | undefined)?.name === 'NotImplemented';
}

/** A short, credential-free description of a failed request: "NoSuchKey (HTTP 404)", "ECONNRESET", or the message. */
export function describeS3Error(err: unknown): string {
  const status = httpStatusOf(err);
  const code = s3ErrorCode(err);
  if (code !== undefined) return status !== undefined ? `${code} (HTTP ${status})` : code;
  if (status !== undefined) return `HTTP ${status}`;
  const errno = errnoOf(err);
  if (errno !== undefined) return errno;
  return oneLine(err) || 'unknown error';
}

/** `bucket/key` for messages: control characters escaped so the message stays on one line. */
export function objectName(bucket: string, key: string): string {
  return `${bucket}/${key.replace(/[\x00-\x1f\x7f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`)}`;
}

function isNotFound(err: unknown): boolean {
  const code = s3ErrorCode(err);
  return httpStatusOf(err) === 404 || code === 'NotFound' || code === 'NoSuchKey';
}

function unquote(etag: string | undefined): string {
  return (etag ?? '').replace(/^"+|"+$/g, '');
}

function toHeadResult(out: HeadObjectCommandOutput): HeadResult {
  const head: HeadResult = {
    size: out.ContentLength ?? 0,
    etag: unquote(out.ETag),
    lastModified: out.LastModified ? out.LastModified.toISOString() : '',
    metadata: { ...(out.Metadata ?? {}) },
  };
  if (out.ContentType) head.contentType = out.ContentType;
  if (out.ContentEncoding) head.contentEncoding = out.ContentEncoding;
  if (out.CacheControl) head.cacheControl = out.CacheControl;
  if (out.ContentDisposition) head.contentDisposition = out.ContentDisposition;
  if (out.ContentLanguage) head.contentLanguage = out.ContentLanguage;
  const expires = out.ExpiresString ?? (out.Expires && !Number.isNaN(out.Expires.getTime()) ? out.Expires.toUTCString() : undefined);
  if (expires) head.expires = expires;
  if (out.StorageClass) head.storageClass = out.StorageClass;
  if (out.ServerSideEncryption) head.serverSideEncryption = out.ServerSideEncryption;
  if (out.SSECustomerAlgorithm) head.sseCustomerAlgorithm = out.SSECustomerAlgorithm;
  if (out.VersionId) head.versionId = out.VersionId;
  return head;
}

/** HEAD of one object; null when it does not exist. */
export async function headObject(conn: S3Connection, bucket: string, key: string, options: RequestOptions = {}): Promise<HeadResult | null> {
  const { signal } = options;
  try {
    const out = await withRetry(
      () => conn.client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }), { abortSignal: signal }),
      { policy: conn.retry, signal },
    );
    return toHeadResult(out);
  } catch (err) {
    throwIfAborted(signal);
    if (isNotFound(err)) return null;
    throw new S3migError('S3MIG_S3_REQUEST', `HEAD ${objectName(bucket, key)} failed: ${describeS3Error(err)}`, { cause: err });
  }
}

/** Whether a HEAD shows encryption that makes the ETag something other than the MD5 of the content (SSE-KMS, SSE-C). */
export function isEncryptedForEtag(head: Pick<HeadResult, 'serverSideEncryption' | 'sseCustomerAlgorithm'>): boolean {
  const sse = head.serverSideEncryption ?? '';
  return sse === 'aws:kms' || sse === 'aws:kms:dsse' || (head.sseCustomerAlgorithm !== undefined && head.sseCustomerAlgorithm !== '');
}

export interface DeleteFailure {
  key: string;
  code: string;
  message: string;
}

export interface DeleteResult {
  deleted: string[];
  failed: DeleteFailure[];
}

export interface DeleteOptions extends RequestOptions {
  /** Batches in flight; default 4. Where the server lacks DeleteObjects, 16 single deletes per batch. */
  concurrency?: number;
}

/** DeleteObjects is capped at 1,000 keys per request. */
export const DELETE_BATCH_SIZE = 1000;

const SINGLE_DELETES_PER_BATCH = 16;

/** Connections whose server answered DeleteObjects with 501: later deletes go one key at a time. */
const batchDeleteUnsupported = new WeakSet<S3Connection>();

/**
 * Deletes keys in batches of 1,000 (DeleteObjects, Quiet), or one by one where the server does not
 * implement DeleteObjects. Per-key failures (and whole batches that failed after retries) are reported,
 * not thrown; only cancellation throws.
 */
export async function deleteObjects(conn: S3Connection, bucket: string, keys: readonly string[], options: DeleteOptions = {}): Promise<DeleteResult> {
  const { signal } = options;
  const concurrency = Math.max(1, options.concurrency ?? 4);
  const result: DeleteResult = { deleted: [], failed: [] };
  const batches: string[][] = [];
  for (let i = 0; i < keys.length; i += DELETE_BATCH_SIZE) batches.push(keys.slice(i, i + DELETE_BATCH_SIZE));
  let next = 0;
  const worker = async () => {
    while (next < batches.length) {
      throwIfAborted(signal);
      const batch = batches[next++]!;
      const part = batchDeleteUnsupported.has(conn)
        ? await deleteOneByOne(conn, bucket, batch, SINGLE_DELETES_PER_BATCH, signal)
        : await deleteBatch(conn, bucket, batch, SINGLE_DELETES_PER_BATCH, signal);
      result.deleted.push(...part.deleted);
      result.failed.push(...part.failed);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, batches.length) }, worker));
  return result;
}

async function deleteBatch(conn: S3Connection, bucket: string, batch: string[], fallbackConcurrency: number, signal: AbortSignal | undefined): Promise<DeleteResult> {
  try {
    const out = await withRetry(
      () => {
        const command = new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: batch.map((Key) => ({ Key })), Quiet: true } });
        addContentMd5(command);
        return conn.client.send(command, { abortSignal: signal });
      },
      { policy: conn.retry, signal },
    );
    const failed: DeleteFailure[] = (out.Errors ?? []).map((e) => ({ key: e.Key ?? '', code: e.Code ?? 'Unknown', message: oneLine(e.Message ?? '') }));
    const failedKeys = new Set(failed.map((f) => f.key));
    return { deleted: batch.filter((k) => !failedKeys.has(k)), failed };
  } catch (err) {
    throwIfAborted(signal);
    if (isNotImplemented(err)) {
      batchDeleteUnsupported.add(conn);
      return deleteOneByOne(conn, bucket, batch, fallbackConcurrency, signal);
    }
    const code = s3ErrorCode(err) ?? errnoOf(err) ?? 'RequestFailed';
    const message = `DeleteObjects failed: ${describeS3Error(err)}`;
    return { deleted: [], failed: batch.map((key) => ({ key, code, message })) };
  }
}

async function deleteOneByOne(conn: S3Connection, bucket: string, batch: string[], concurrency: number, signal: AbortSignal | undefined): Promise<DeleteResult> {
  const result: DeleteResult = { deleted: [], failed: [] };
  let next = 0;
  const worker = async () => {
    while (next < batch.length) {
      throwIfAborted(signal);
      const key = batch[next++]!;
      try {
        await withRetry(() => conn.client.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }), { abortSignal: signal }), { policy: conn.retry, signal });
        result.deleted.push(key);
      } catch (err) {
        throwIfAborted(signal);
        if (isNotFound(err) && s3ErrorCode(err) !== 'NoSuchBucket') {
          result.deleted.push(key);
          continue;
        }
        result.failed.push({ key, code: s3ErrorCode(err) ?? errnoOf(err) ?? 'RequestFailed', message: `DeleteObject failed: ${describeS3Error(err)}` });
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, batch.length) }, worker));
  return result;
}

/**
 * Adds Content-MD5 to a DeleteObjects request. The SDK sends only a CRC32 checksum, which many
 * S3-compatible stores do not accept in place of the Content-MD5 that the API used to require.
 */
function addContentMd5(command: DeleteObjectsCommand): void {
  command.middlewareStack.add(
    (next) => async (args) => {
      const request = args.request as { headers?: Record<string, string>; body?: unknown };
      if (request.headers && (typeof request.body === 'string' || request.body instanceof Uint8Array)) {
        request.headers['content-md5'] = createHash('md5').update(request.body).digest('base64');
      }
      return next(args);
    },
    { step: 'build', name: 's3migContentMd5' },
  );
}
