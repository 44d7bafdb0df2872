// S3 clients for the native engine (@aws-sdk/client-s3, pinned): path style from the alias, checksums
// only when required (many S3-compatible stores, s3rver among them, store aws-chunked framing as data),
// the SDK's own retries off (./retry.ts is the one layer), keep-alive sockets for parallel work.
import { readFileSync } from 'node:fs';
import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { S3Client } from '@aws-sdk/client-s3';
import { S3migError } from '../core/errors.ts';
import type { Secret } from '../core/secret.ts';
import { defaultRetryPolicy, type RetryPolicy } from './retry.ts';

// The SDK warns on Node 20 about releases after January 2027; the version is pinned, the warning is noise on an operator's screen.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

export interface S3Endpoint {
  /** Scheme, host and port, no credentials, e.g. https://s3.example.com:9000. */
  url: string;
  region: string;
  pathStyle: boolean;
}

export interface S3Credentials {
  accessKey: string;
  secretKey: Secret;
  sessionToken?: Secret;
}

export interface TlsOptions {
  /** Skip certificate verification (self-signed endpoints). */
  insecure?: boolean;
  /** PEM file of extra certificate authorities. */
  caBundle?: string;
}

export interface S3Connection {
  client: S3Client;
  endpoint: S3Endpoint;
  credentials: S3Credentials;
  retry: RetryPolicy;
  /** The keep-alive agents the SDK client sends through (TLS settings included), for requests made without the SDK (./list-request.ts). */
  agents?: { http: HttpAgent; https: HttpsAgent };
  destroy(): void;
}

export interface ConnectOptions extends TlsOptions {
  retry?: RetryPolicy;
  /** Sockets per connection; enough for listing ranges and copies in parallel. */
  maxSockets?: number;
  requestTimeoutMs?: number;
}

export function connect(endpoint: S3Endpoint, credentials: S3Credentials, options: ConnectOptions = {}): S3Connection {
  let ca: Buffer | undefined;
  if (options.caBundle !== undefined) {
    try {
      ca = readFileSync(options.caBundle);
    } catch (err) {
      throw new S3migError('S3MIG_CONFIG_INVALID', `cannot read CA bundle ${options.caBundle}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
  }
  const maxSockets = options.maxSockets ?? 64;
  const httpAgent = new HttpAgent({ keepAlive: true, maxSockets });
  const httpsAgent = new HttpsAgent({ keepAlive: true, maxSockets, rejectUnauthorized: !options.insecure, ...(ca ? { ca } : {}) });
  const client = new S3Client({
    endpoint: endpoint.url,
    region: endpoint.region,
    forcePathStyle: endpoint.pathStyle,
    credentials: {
      accessKeyId: credentials.accessKey,
      secretAccessKey: credentials.secretKey.reveal(),
      ...(credentials.sessionToken ? { sessionToken: credentials.sessionToken.reveal() } : {}),
    },
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    maxAttempts: 1,
    requestHandler: { httpAgent, httpsAgent, connectionTimeout: 10_000, requestTimeout: options.requestTimeoutMs ?? 120_000 },
  });
  return {
    client,
    endpoint,
    credentials,
    retry: options.retry ?? defaultRetryPolicy(),
    agents: { http: httpAgent, https: httpsAgent },
    destroy() {
      client.destroy();
      httpAgent.destroy();
      httpsAgent.destroy();
    },
  };
}

/** Whether server-side copy can work between two connections: same endpoint, same credentials. */
export function sameServer(a: S3Connection, b: S3Connection): boolean {
  return (
    a.endpoint.url === b.endpoint.url &&
    a.credentials.accessKey === b.credentials.accessKey &&
    a.credentials.secretKey.equals(b.credentials.secretKey) &&
    (a.credentials.sessionToken === undefined) === (b.credentials.sessionToken === undefined) &&
    (a.credentials.sessionToken === undefined || a.credentials.sessionToken.equals(b.credentials.sessionToken))
  );
}
