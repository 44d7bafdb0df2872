// S3 failures in an operator's words: one line naming the target (never a secret), with a stable code.
import { S3migError, type ErrorCode } from '../core/errors.ts';
import { errnoOf, httpStatusOf } from './retry.ts';

const CREDENTIAL_CODES = new Set(['InvalidAccessKeyId', 'SignatureDoesNotMatch', 'InvalidToken', 'ExpiredToken', 'InvalidSecurity', 'TokenRefreshRequired', 'InvalidClientTokenId']);
const UNREACHABLE_ERRNO = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ECONNRESET', 'EPIPE', 'ECONNABORTED']);

/** The S3 error code of an SDK error (its name), or the errno of a network failure. */
export function s3CodeOf(err: unknown): string {
  const name = (err as { name?: string; Code?: string } | undefined)?.Code ?? (err as Error | undefined)?.name;
  const errno = errnoOf(err);
  if (errno) return errno;
  if (name && name !== 'Error' && name !== 'S3ServiceException' && name !== 'Unknown') return name;
  const status = httpStatusOf(err);
  return status ? `HTTP ${status}` : (err as Error | undefined)?.message ?? String(err);
}

function tlsProblem(err: unknown): string | undefined {
  for (let e: unknown = err, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as NodeJS.ErrnoException).code ?? '';
    if (/CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ERR_TLS|EPROTO/.test(code)) return code;
  }
  return undefined;
}

/**
 * Maps a failed request against a target to the error an operator sees. `what` names the target
 * (`source src/bucket/prefix`), `endpoint` the server, `alias` the alias whose credentials were used.
 */
export function describeS3Failure(err: unknown, ctx: { what: string; endpoint: string; alias: string; bucket: string }): S3migError {
  if (err instanceof S3migError) return err;
  const code = s3CodeOf(err);
  const status = httpStatusOf(err);
  const tls = tlsProblem(err);
  let errorCode: ErrorCode;
  let message: string;
  if (tls) {
    errorCode = 'S3MIG_ENDPOINT_UNREACHABLE';
    message = `${ctx.what}: TLS to ${ctx.endpoint} failed (${tls}); for a self-signed endpoint pass --ca-bundle FILE or --insecure`;
  } else if (status === undefined && (UNREACHABLE_ERRNO.has(code) || code === 'TimeoutError' || code === 'RequestTimeout')) {
    errorCode = 'S3MIG_ENDPOINT_UNREACHABLE';
    message = `${ctx.what}: cannot reach ${ctx.endpoint} (${code})`;
  } else if (CREDENTIAL_CODES.has(code)) {
    errorCode = 'S3MIG_CREDENTIALS_REJECTED';
    message = `${ctx.what}: ${ctx.endpoint} rejected the credentials of alias "${ctx.alias}" (${code})`;
  } else if (code === 'NoSuchBucket' || (status === 404 && code === 'NotFound')) {
    errorCode = 'S3MIG_BUCKET_MISSING';
    message = `${ctx.what}: bucket "${ctx.bucket}" does not exist on ${ctx.endpoint}`;
  } else if (code === 'AccessDenied' || code === 'AllAccessDisabled' || status === 403) {
    errorCode = 'S3MIG_ACCESS_DENIED';
    message = `${ctx.what}: access denied to bucket "${ctx.bucket}" on ${ctx.endpoint} for alias "${ctx.alias}" (${code})`;
  } else {
    errorCode = 'S3MIG_S3_REQUEST';
    message = `${ctx.what}: ${ctx.endpoint} answered ${code}${status && !code.startsWith('HTTP') ? ` (HTTP ${status})` : ''}`;
  }
  return new S3migError(errorCode, message, { cause: err });
}
