// Copies one object with the native engine and proves the copy: server-side (CopyObject, or UploadPartCopy
// for large objects) when both sides share a server, a bounded-memory streamed multipart upload otherwise
// or where the server does not implement server-side copy (read no faster than an upload limit allows);
// then a HEAD of the destination (design §5, §7).
import type { Readable } from 'node:stream';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  UploadPartCopyCommand,
  type CompletedPart,
  type S3Client,
  type StorageClass,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { S3migError, throwIfAborted } from '../core/errors.ts';
import { sameServer, type S3Connection } from './client.ts';
import { describeS3Error, headObject, isEncryptedForEtag, isNotImplemented, objectName, s3ErrorCode, type HeadResult } from './objects.ts';
import { httpStatusOf, withRetry } from './retry.ts';
import { throttle } from './throttle.ts';
import type { TokenBucket } from '../core/rate-limit.ts';

const MiB = 1024 * 1024;
export const DEFAULT_MULTIPART_COPY_THRESHOLD = 5 * 1024 * MiB;
export const DEFAULT_PART_SIZE = 16 * MiB;
export const DEFAULT_QUEUE_SIZE = 4;
/** S3's limits on multipart uploads: parts of at least 5 MiB (but the last), at most 10,000 parts. */
const MIN_PART_SIZE = 5 * MiB;
const MAX_PARTS = 10_000;

export interface CopyRequest {
  src: S3Connection;
  srcBucket: string;
  srcKey: string;
  dst: S3Connection;
  dstBucket: string;
  dstKey: string;
  /**
   * The source entry as listed; a HEAD that differs from it is reported as `sourceChanged`. With its
   * storage class too (as listings give it), a small server-side copy skips both HEADs: one CopyObject
   * pinned to the listed ETag, verified by the ETag it answers (see copyListed).
   */
  expected?: { size: number; etag: string; storageClass?: string };
  /** Server-side copies at or above this size use UploadPartCopy; default 5 GiB (CopyObject's limit). */
  multipartCopyThresholdBytes?: number;
  /** Part size of UploadPartCopy and of streamed uploads; default 16 MiB; at least 5 MiB, and raised where 10,000 parts would not hold the object. */
  partSizeBytes?: number;
  /** Parts in flight; a streamed copy holds about (queueSize + 1) x partSize bytes. Default 4. */
  queueSize?: number;
  /**
   * An upload limit: a streamed copy reads its source only as fast as this bucket lets bytes through
   * (shared by all copies of a job). Server-side copies move no bytes through s3mig and ignore it.
   */
  throttle?: TokenBucket;
  signal?: AbortSignal;
}

export type CopyMethod = 'server-copy' | 'server-multipart-copy' | 'stream';

export interface CopyResult {
  method: CopyMethod;
  size: number;
  /** The destination's ETag, without quotes. */
  etag: string;
  /** What the verification compared: both ETags (plain MD5s), or the size alone. */
  verified: 'etag' | 'size';
  /** The source's HEAD differed from `expected` (changed since it was listed); the current object was copied. */
  sourceChanged?: boolean;
  /** The destination rejected the source's storage class; the copy has the destination's default. */
  storageClassDropped?: boolean;
}

/** Per destination connection: the server-side copy requests that its server answered with 501. */
const unsupported = new WeakMap<S3Connection, { copyObject?: boolean; uploadPartCopy?: boolean }>();

function unsupportedOn(conn: S3Connection): { copyObject?: boolean; uploadPartCopy?: boolean } {
  let entry = unsupported.get(conn);
  if (!entry) unsupported.set(conn, (entry = {}));
  return entry;
}

/** Thrown inside one round when the source changed under the copy (412 on If-Match, or a GET that disagrees with the HEAD). */
class SourceChangedDuringCopy extends Error {
  constructor(what: string) {
    super(what);
    this.name = 'SourceChangedDuringCopy';
  }
}

/** The x-amz-copy-source value: bucket and key URL-encoded segment by segment, slashes kept. */
export function copySourceOf(bucket: string, key: string): string {
  return `${bucket}/${key.split('/').map(encodeURIComponent).join('/')}`;
}

const PLAIN_MD5 = /^[0-9a-f]{32}$/i;

/**
 * Checks a copy against its source: same size always; same ETag when both are plain MD5s and neither
 * side is SSE-KMS/SSE-C. Returns what was compared; throws S3MIG_COPY_FAILED naming what differs.
 */
export function verifyCopy(source: HeadResult, dest: HeadResult | null, names: { src: string; dst: string }): 'etag' | 'size' {
  const fail = (what: string) => new S3migError('S3MIG_COPY_FAILED', `copy of ${names.src} to ${names.dst} failed verification: ${what}`);
  if (!dest) throw fail('the destination does not exist after the copy');
  if (dest.size !== source.size) throw fail(`size ${source.size} in the source, ${dest.size} in the destination`);
  const comparable = PLAIN_MD5.test(source.etag) && PLAIN_MD5.test(dest.etag) && !isEncryptedForEtag(source) && !isEncryptedForEtag(dest);
  if (!comparable) return 'size';
  if (source.etag.toLowerCase() !== dest.etag.toLowerCase()) throw fail(`ETag ${source.etag} in the source, ${dest.etag} in the destination`);
  return 'etag';
}

/** The part size for an object: the requested one, at least 5 MiB, large enough for 10,000 parts. */
export function partSizeFor(size: number, requested: number = DEFAULT_PART_SIZE): number {
  const byCount = Math.ceil(size / MAX_PARTS);
  return Math.max(MIN_PART_SIZE, requested, Math.ceil(byCount / MiB) * MiB);
}

interface Round {
  req: CopyRequest;
  names: { src: string; dst: string };
  /** The request that ran last, for error messages. */
  step: string;
}

/** Copies one object and verifies the copy; see the file comment for the methods. */
export async function copyObject(req: CopyRequest): Promise<CopyResult> {
  const names = { src: objectName(req.srcBucket, req.srcKey), dst: objectName(req.dstBucket, req.dstKey) };
  if (sameServer(req.src, req.dst) && req.srcBucket === req.dstBucket && req.srcKey === req.dstKey) {
    throw new S3migError('S3MIG_COPY_FAILED', `copy of ${names.src} to itself refused: source and destination are the same object`);
  }
  for (let roundNo = 1; ; roundNo++) {
    const round: Round = { req, names, step: 'HEAD source' };
    try {
      return await copyRound(round);
    } catch (err) {
      throwIfAborted(req.signal);
      if (err instanceof SourceChangedDuringCopy && roundNo < 2) continue;
      if (err instanceof S3migError && err.code === 'S3MIG_COPY_FAILED') throw err;
      const why = err instanceof SourceChangedDuringCopy ? `the source changed during the copy: ${err.message}` : describeS3Error(err instanceof S3migError && err.cause ? err.cause : err);
      throw new S3migError('S3MIG_COPY_FAILED', `copy of ${names.src} to ${names.dst} failed at ${round.step}: ${why}`, { cause: err });
    }
  }
}

async function copyRound(round: Round): Promise<CopyResult> {
  const { req, names } = round;
  const { signal } = req;
  throwIfAborted(signal);
  const listed = await copyListed(round);
  if (listed) return listed;
  round.step = 'HEAD source';
  const head = await headObject(req.src, req.srcBucket, req.srcKey, { signal });
  if (!head) throw new S3migError('S3MIG_COPY_FAILED', `copy of ${names.src} to ${names.dst} failed: the source does not exist (HTTP 404)`);
  const sourceChanged = req.expected !== undefined && changedSince(req.expected, head);

  let method: CopyMethod | undefined;
  let storageClassDropped = false;
  if (sameServer(req.src, req.dst)) {
    const caps = unsupportedOn(req.dst);
    const multipart = head.size >= (req.multipartCopyThresholdBytes ?? DEFAULT_MULTIPART_COPY_THRESHOLD);
    if (multipart ? !caps.uploadPartCopy : !caps.copyObject) {
      try {
        storageClassDropped = await withStorageClassFallback(head, (storageClass) =>
          multipart ? serverMultipartCopy(round, head, storageClass) : serverCopy(round, head, storageClass),
        );
        method = multipart ? 'server-multipart-copy' : 'server-copy';
      } catch (err) {
        throwIfAborted(signal);
        if (!isNotImplemented(err)) throw err;
        if (multipart) caps.uploadPartCopy = true;
        else caps.copyObject = true;
      }
    }
  }
  if (method === undefined) {
    storageClassDropped = await withStorageClassFallback(head, (storageClass) => streamCopy(round, head, storageClass));
    method = 'stream';
  }

  round.step = 'HEAD destination';
  const dest = await headObject(req.dst, req.dstBucket, req.dstKey, { signal });
  const verified = verifyCopy(head, dest, names);
  const result: CopyResult = { method, size: dest!.size, etag: dest!.etag, verified };
  if (sourceChanged) result.sourceChanged = true;
  if (storageClassDropped) result.storageClassDropped = true;
  return result;
}

/**
 * The common case in one request: a small object on the same server, whose listing gave its ETag (a
 * plain MD5), size and storage class. CopyObject with CopySourceIfMatch on that ETag copies exactly the
 * listed object, keeps its headers and metadata (MetadataDirective COPY), and answers the new ETag: equal
 * to the source's, the copy is verified. Anything else (the source changed, 501, a refused storage
 * class, another ETag such as under destination encryption) is left to the full round, which HEADs
 * both sides.
 */
async function copyListed(round: Round): Promise<CopyResult | undefined> {
  const { req } = round;
  const e = req.expected;
  if (!e || e.storageClass === undefined || !PLAIN_MD5.test(e.etag) || !sameServer(req.src, req.dst)) return undefined;
  if (e.size >= (req.multipartCopyThresholdBytes ?? DEFAULT_MULTIPART_COPY_THRESHOLD) || unsupportedOn(req.dst).copyObject) return undefined;
  round.step = 'CopyObject';
  const storageClass = e.storageClass === '' || e.storageClass === 'STANDARD' ? undefined : e.storageClass;
  try {
    const out = await sendCopyObject(req, `"${e.etag}"`, storageClass);
    const etag = (out.CopyObjectResult?.ETag ?? '').replace(/^"+|"+$/g, '');
    if (etag.toLowerCase() !== e.etag.toLowerCase()) return undefined;
    return { method: 'server-copy', size: e.size, etag, verified: 'etag' };
  } catch (err) {
    throwIfAborted(req.signal);
    if (httpStatusOf(err) === 412 || s3ErrorCode(err) === 'PreconditionFailed' || isNotImplemented(err) || s3ErrorCode(err) === 'InvalidStorageClass') return undefined;
    throw err;
  }
}

function changedSince(expected: { size: number; etag: string }, head: HeadResult): boolean {
  if (expected.size !== head.size) return true;
  return expected.etag !== '' && head.etag !== '' && expected.etag.toLowerCase() !== head.etag.toLowerCase();
}

/** Runs a copy with the source's storage class, and once more without it if the destination rejects it; true when dropped. */
async function withStorageClassFallback(head: HeadResult, run: (storageClass: string | undefined) => Promise<void>): Promise<boolean> {
  try {
    await run(head.storageClass);
    return false;
  } catch (err) {
    if (head.storageClass === undefined || s3ErrorCode(err) !== 'InvalidStorageClass') throw err;
  }
  await run(undefined);
  return true;
}

/** Content headers, user metadata and storage class for a new object, as the source has them. */
function objectAttributes(head: HeadResult, storageClass: string | undefined) {
  const expires = head.expires !== undefined ? new Date(head.expires) : undefined;
  return {
    ...(head.contentType !== undefined ? { ContentType: head.contentType } : {}),
    ...(head.contentEncoding !== undefined ? { ContentEncoding: head.contentEncoding } : {}),
    ...(head.cacheControl !== undefined ? { CacheControl: head.cacheControl } : {}),
    ...(head.contentDisposition !== undefined ? { ContentDisposition: head.contentDisposition } : {}),
    ...(head.contentLanguage !== undefined ? { ContentLanguage: head.contentLanguage } : {}),
    ...(expires !== undefined && !Number.isNaN(expires.getTime()) ? { Expires: expires } : {}),
    Metadata: { ...head.metadata },
    ...(storageClass !== undefined ? { StorageClass: storageClass as StorageClass } : {}),
  };
}

/** If-Match value pinning the HEADed version of the source, where it has an ETag. */
function ifMatch(head: HeadResult): string | undefined {
  return head.etag !== '' ? `"${head.etag}"` : undefined;
}

function throwIfSourceChanged(err: unknown): void {
  if (httpStatusOf(err) === 412 || s3ErrorCode(err) === 'PreconditionFailed') throw new SourceChangedDuringCopy('PreconditionFailed (HTTP 412)');
}

/** One CopyObject (with retries) that keeps the source's headers and metadata, pinned to an ETag. */
function sendCopyObject(req: CopyRequest, ifMatchEtag: string | undefined, storageClass: string | undefined) {
  return withRetry(
    () =>
      req.dst.client.send(
        new CopyObjectCommand({
          Bucket: req.dstBucket,
          Key: req.dstKey,
          CopySource: copySourceOf(req.srcBucket, req.srcKey),
          CopySourceIfMatch: ifMatchEtag,
          MetadataDirective: 'COPY',
          ...(storageClass !== undefined ? { StorageClass: storageClass as StorageClass } : {}),
        }),
        { abortSignal: req.signal },
      ),
    { policy: req.dst.retry, signal: req.signal },
  );
}

async function serverCopy(round: Round, head: HeadResult, storageClass: string | undefined): Promise<void> {
  const { req } = round;
  round.step = 'CopyObject';
  try {
    await sendCopyObject(req, ifMatch(head), storageClass);
  } catch (err) {
    throwIfSourceChanged(err);
    throw err;
  }
}

async function serverMultipartCopy(round: Round, head: HeadResult, storageClass: string | undefined): Promise<void> {
  const { req } = round;
  const { dst, signal } = req;
  const retry = { policy: dst.retry, signal };
  round.step = 'CreateMultipartUpload';
  const created = await withRetry(
    () => dst.client.send(new CreateMultipartUploadCommand({ Bucket: req.dstBucket, Key: req.dstKey, ...objectAttributes(head, storageClass) }), { abortSignal: signal }),
    retry,
  );
  const uploadId = created.UploadId;
  if (!uploadId) throw new Error('CreateMultipartUpload returned no UploadId');
  try {
    const partSize = partSizeFor(head.size, req.partSizeBytes);
    const count = Math.max(1, Math.ceil(head.size / partSize));
    const parts: CompletedPart[] = new Array(count);
    const source = copySourceOf(req.srcBucket, req.srcKey);
    let next = 0;
    let failed = false;
    round.step = 'UploadPartCopy';
    const worker = async () => {
      while (!failed && next < count) {
        const index = next++;
        const start = index * partSize;
        const end = Math.min(head.size, start + partSize) - 1;
        try {
          const out = await withRetry(
            () =>
              dst.client.send(
                new UploadPartCopyCommand({
                  Bucket: req.dstBucket,
                  Key: req.dstKey,
                  UploadId: uploadId,
                  PartNumber: index + 1,
                  CopySource: source,
                  CopySourceIfMatch: ifMatch(head),
                  ...(head.size > 0 ? { CopySourceRange: `bytes=${start}-${end}` } : {}),
                }),
                { abortSignal: signal },
              ),
            retry,
          );
          const etag = out.CopyPartResult?.ETag;
          if (!etag) throw new Error(`UploadPartCopy of part ${index + 1} returned no ETag`);
          parts[index] = { PartNumber: index + 1, ETag: etag };
        } catch (err) {
          failed = true;
          throw err;
        }
      }
    };
    const results = await Promise.allSettled(Array.from({ length: Math.min(count, req.queueSize ?? DEFAULT_QUEUE_SIZE) }, worker));
    const rejected = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (rejected) {
      throwIfSourceChanged(rejected.reason);
      throw rejected.reason;
    }
    round.step = 'CompleteMultipartUpload';
    await withRetry(
      () =>
        dst.client.send(
          new CompleteMultipartUploadCommand({ Bucket: req.dstBucket, Key: req.dstKey, UploadId: uploadId, MultipartUpload: { Parts: parts } }),
          { abortSignal: signal },
        ),
      retry,
    );
  } catch (err) {
    // Best effort, and not tied to the signal: a canceled copy should not leave its parts billed.
    await dst.client.send(new AbortMultipartUploadCommand({ Bucket: req.dstBucket, Key: req.dstKey, UploadId: uploadId })).catch(() => undefined);
    throw err;
  }
}

/** GET into a multipart upload, holding about (queueSize + 1) parts in memory; retried as a whole, since a body cannot be replayed. */
async function streamCopy(round: Round, head: HeadResult, storageClass: string | undefined): Promise<void> {
  const { req } = round;
  const { signal } = req;
  const partSize = partSizeFor(head.size, req.partSizeBytes);
  await withRetry(
    async () => {
      round.step = 'GET source';
      let got;
      try {
        got = await req.src.client.send(new GetObjectCommand({ Bucket: req.srcBucket, Key: req.srcKey, IfMatch: ifMatch(head) }), { abortSignal: signal });
      } catch (err) {
        throwIfSourceChanged(err);
        throw err;
      }
      const raw = got.Body as Readable | undefined;
      const body = raw && req.throttle ? throttle(raw, req.throttle, signal) : raw;
      try {
        const gotEtag = (got.ETag ?? '').replace(/^"+|"+$/g, '');
        if (gotEtag !== '' && head.etag !== '' && gotEtag.toLowerCase() !== head.etag.toLowerCase()) {
          throw new SourceChangedDuringCopy(`GET answered ETag ${gotEtag}, HEAD ${head.etag}`);
        }
        const size = got.ContentLength ?? head.size;
        if (size !== head.size) throw new SourceChangedDuringCopy(`GET answered ${size} bytes, HEAD ${head.size}`);
        round.step = size > partSize ? 'multipart upload' : 'PutObject';
        const upload = new Upload({
          client: uploadClient(req.dst.client, signal),
          params: { Bucket: req.dstBucket, Key: req.dstKey, Body: body ?? Buffer.alloc(0), ContentLength: size, ...objectAttributes(head, storageClass) },
          partSize,
          queueSize: Math.max(1, req.queueSize ?? DEFAULT_QUEUE_SIZE),
          leavePartsOnError: false,
        });
        const onAbort = () => {
          void upload.abort();
          body?.destroy();
        };
        signal?.addEventListener('abort', onAbort, { once: true });
        try {
          throwIfAborted(signal);
          await upload.done();
        } finally {
          signal?.removeEventListener('abort', onAbort);
        }
      } finally {
        if (body && !body.readableEnded) body.destroy();
        if (raw && raw !== body && !raw.readableEnded) raw.destroy();
      }
    },
    { policy: req.dst.retry, signal },
  );
}

/**
 * The destination client as lib-storage's Upload sees it: every request carries the copy's abort signal
 * (Upload sends without one), and a failed AbortMultipartUpload (cleanup after a failure, which s3rver
 * and some stores refuse) no longer replaces the error that caused it, so retries still see that error.
 */
function uploadClient(client: S3Client, signal: AbortSignal | undefined): S3Client {
  const send = client.send as (command: unknown, options?: object) => Promise<unknown>;
  const wrapped = (command: unknown, options?: object) => {
    if (command instanceof AbortMultipartUploadCommand) return send.call(client, command, options).catch(() => ({}));
    return send.call(client, command, { ...options, abortSignal: signal });
  };
  return Object.create(client, { send: { value: wrapped } }) as S3Client;
}
