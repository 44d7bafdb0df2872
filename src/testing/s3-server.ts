// The local S3 server harness: s3rver 3.7.1 in a child process on 127.0.0.1 and a free port, for tests,
// benchmarks and the demo. Never listens on anything but 127.0.0.1.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';

export const LOCAL_S3_ACCESS_KEY = 'S3RVER';
export const LOCAL_S3_SECRET_KEY = 'S3RVER';

export interface LocalS3Options {
  /** Where objects are stored; default a new temp directory, removed on stop. */
  directory?: string;
  /** Buckets created before the server answers. */
  buckets?: string[];
}

export interface LocalS3 {
  endpoint: string;
  port: number;
  directory: string;
  accessKey: string;
  secretKey: string;
  child: ChildProcess;
  stop(): Promise<void>;
}

const CHILD = fileURLToPath(new URL('./s3rver-child.cjs', import.meta.url));

export async function startLocalS3(options: LocalS3Options = {}): Promise<LocalS3> {
  const ownDir = options.directory === undefined;
  const directory = options.directory ?? (await mkdtemp(join(tmpdir(), 's3mig-s3rver-')));
  const child = spawn(
    process.execPath,
    ['--openssl-legacy-provider', CHILD, JSON.stringify({ directory, buckets: options.buckets ?? [] })],
    { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, NODE_OPTIONS: '' } },
  );
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (d: string) => {
    if (stderr.length < 16_384) stderr += d;
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const port = await new Promise<number>((resolve, reject) => {
    const lines = createInterface({ input: child.stdout! });
    lines.once('line', (line) => {
      try {
        resolve((JSON.parse(line) as { port: number }).port);
      } catch {
        reject(new Error(`local S3 server printed ${JSON.stringify(line)}`));
      }
    });
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`local S3 server exited with ${code}: ${stderr.trim()}`)));
  });
  let stopped: Promise<void> | undefined;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    port,
    directory,
    accessKey: LOCAL_S3_ACCESS_KEY,
    secretKey: LOCAL_S3_SECRET_KEY,
    child,
    stop() {
      stopped ??= (async () => {
        if (child.exitCode === null && child.signalCode === null) {
          child.stdin!.end();
          child.kill('SIGTERM');
          await exited;
        }
        if (ownDir) await rm(directory, { recursive: true, force: true });
      })();
      return stopped;
    },
  };
}
