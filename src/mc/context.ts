// What every mc command of a job runs with: the mc path, the child environment carrying the job's
// aliases as MC_HOST_<alias> (credentials never on argv, no config file written), and global flags.
import { S3migError, isS3migError } from '../core/errors.ts';
import type { ResolvedAlias } from '../targets/alias.ts';
import { checkMcVersion, mcVersion, type McRelease } from './runner.ts';

export interface McContext {
  mcPath: string;
  /** MC_HOST_<alias> for every alias the job uses (and SSL_CERT_FILE for a CA bundle). Secret: never logged. */
  env: Record<string, string>;
  /** Global flags placed before the command, e.g. --insecure. */
  globalFlags: string[];
  release: McRelease;
}

export interface McContextOptions {
  mcPath?: string;
  insecure?: boolean;
  /** A PEM file of CAs to trust; mc (Go) reads it from SSL_CERT_FILE. */
  caBundle?: string;
}

const ALIAS_NAME = /^[a-zA-Z][a-zA-Z0-9_-]*$/;

/** `http[s]://ACCESS:SECRET[:TOKEN]@host[:port]`, each part percent-encoded, as mc parses MC_HOST_<alias>. */
export function mcHostValue(alias: ResolvedAlias): string {
  const url = new URL(alias.url);
  const parts = [alias.accessKey, alias.secretKey.reveal()];
  if (alias.sessionToken) parts.push(alias.sessionToken.reveal());
  return `${url.protocol}//${parts.map(encodeURIComponent).join(':')}@${url.host}`;
}

/** The child environment for a set of resolved aliases; two aliases of one name must agree. */
export function mcHostEnv(aliases: readonly ResolvedAlias[]): Record<string, string> {
  const env: Record<string, string> = {};
  for (const a of aliases) {
    if (!ALIAS_NAME.test(a.name)) throw new S3migError('S3MIG_CONFIG_INVALID', `alias "${a.name}" is not a name mc accepts (letters, digits, - and _)`);
    const value = mcHostValue(a);
    const key = `MC_HOST_${a.name}`;
    if (env[key] !== undefined && env[key] !== value) {
      throw new S3migError('S3MIG_CONFIG_INVALID', `alias "${a.name}" resolved to two different endpoints or credentials`);
    }
    env[key] = value;
  }
  return env;
}

/**
 * Reads and checks the mc release once, and builds the context for the given aliases. mc reads an
 * unknown alias as a local path (mc-json.md §1), so every alias a command names must be in `aliases`.
 */
export async function openMc(aliases: readonly ResolvedAlias[], options: McContextOptions = {}): Promise<McContext> {
  const mcPath = options.mcPath ?? 'mc';
  const release = checkMcVersion(await checkMc(mcPath));
  const env = mcHostEnv(aliases);
  if (options.caBundle) env.SSL_CERT_FILE = options.caBundle;
  return { mcPath, env, globalFlags: options.insecure ? ['--insecure'] : [], release };
}

/** Checks that `mcPath` runs the MinIO client at a supported release; the error says what was found. */
export async function checkMc(mcPath: string): Promise<string> {
  try {
    return checkMcVersion((await mcVersion(mcPath)).release).release;
  } catch (err) {
    if (isS3migError(err) && /ENOENT/.test(err.message)) {
      throw new S3migError('S3MIG_TARGET_UNSUPPORTED', `mc (the MinIO client) is not ${mcPath === 'mc' ? 'on PATH' : `at ${mcPath}`}: install it or use --engine native`, { cause: err });
    }
    throw err;
  }
}

/** The mc URL of a key under a target: `alias/bucket/prefix` + key. */
export function mcUrl(alias: string, bucket: string, fullKey: string): string {
  return `${alias}/${bucket}/${fullKey}`;
}

/** Whether an executable named mc is on PATH (for --engine auto). */
export async function mcOnPath(env: NodeJS.ProcessEnv = process.env): Promise<string | undefined> {
  const { access, constants } = await import('node:fs/promises');
  const { delimiter, join } = await import('node:path');
  for (const dir of (env.PATH ?? '').split(delimiter)) {
    if (dir === '') continue;
    const candidate = join(dir, 'mc');
    try {
      await access(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}
