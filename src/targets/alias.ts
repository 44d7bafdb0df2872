// Alias resolution as mc does it (design §6): MC_HOST_<alias> from the environment first, then mc's
// config.json ($MC_CONFIG_DIR or ~/.mc). Secrets come back wrapped in Secret, so that nothing that
// serialises or prints a resolved alias can show them. An unknown alias is an error naming it: mc
// silently reads it as a local path, which is how a typo became an empty "bucket".
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { S3migError } from '../core/errors.ts';
import { Secret } from '../core/secret.ts';

export type PathStyle = 'on' | 'off' | 'auto';

export interface ResolvedAlias {
  name: string;
  /** Scheme, host and port, never credentials, e.g. https://minio.example.com:9000. */
  url: string;
  accessKey: string;
  secretKey: Secret;
  sessionToken?: Secret;
  api: string;
  pathStyle: PathStyle;
  /** From config.json's `region`, or the AWS host name; else discovered from the bucket. */
  region?: string;
  /** Where it came from: `env MC_HOST_<alias>` or the config file's path. */
  origin: string;
}

export interface AliasEnv {
  env?: NodeJS.ProcessEnv;
  home?: string;
}

function configPathOf(env: NodeJS.ProcessEnv, home: string): string {
  return join(env.MC_CONFIG_DIR && env.MC_CONFIG_DIR !== '' ? env.MC_CONFIG_DIR : join(home, '.mc'), 'config.json');
}

function decode(part: string, what: string, alias: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    throw new S3migError('S3MIG_CONFIG_INVALID', `MC_HOST_${alias}: the ${what} is not valid percent-encoding`);
  }
}

/** The endpoint of a URL as s3mig records it: scheme://host[:port], no path, no credentials. */
export function endpointOf(raw: string, where: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new S3migError('S3MIG_CONFIG_INVALID', `${where}: ${JSON.stringify(raw.replace(/\/\/[^@/]*@/, '//***@'))} is not a URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new S3migError('S3MIG_CONFIG_INVALID', `${where}: the endpoint must be http:// or https://, not ${url.protocol}`);
  }
  return `${url.protocol}//${url.host}`;
}

/** Parses `http[s]://ACCESS:SECRET[:TOKEN]@host[:port]`; percent-encoded parts are decoded. */
export function parseMcHost(alias: string, value: string): ResolvedAlias {
  const m = /^(https?):\/\/(.*)@([^@]*)$/s.exec(value.trim());
  if (!m) {
    throw new S3migError('S3MIG_CONFIG_INVALID', `MC_HOST_${alias} is not http[s]://ACCESS:SECRET[:TOKEN]@HOST[:PORT]`);
  }
  const [, scheme, userinfo, host] = m as unknown as [string, string, string, string];
  const parts = userinfo.split(':');
  if (parts.length < 2 || parts.length > 3 || parts[0] === '') {
    throw new S3migError('S3MIG_CONFIG_INVALID', `MC_HOST_${alias} is not http[s]://ACCESS:SECRET[:TOKEN]@HOST[:PORT]`);
  }
  const url = endpointOf(`${scheme}://${host.replace(/\/+$/, '')}`, `MC_HOST_${alias}`);
  const resolved: ResolvedAlias = {
    name: alias,
    url,
    accessKey: decode(parts[0]!, 'access key', alias),
    secretKey: new Secret(decode(parts[1]!, 'secret key', alias)),
    api: 's3v4',
    pathStyle: 'auto',
    origin: `env MC_HOST_${alias}`,
  };
  if (parts[2] !== undefined && parts[2] !== '') resolved.sessionToken = new Secret(decode(parts[2], 'session token', alias));
  const region = regionOfHost(new URL(url).hostname);
  if (region) resolved.region = region;
  return resolved;
}

interface McConfigAlias {
  url?: unknown;
  accessKey?: unknown;
  secretKey?: unknown;
  sessionToken?: unknown;
  api?: unknown;
  path?: unknown;
  region?: unknown;
}

function readConfig(path: string): Record<string, McConfigAlias> | undefined {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT' || (err as NodeJS.ErrnoException).code === 'ENOTDIR') return undefined;
    throw new S3migError('S3MIG_CONFIG_INVALID', `cannot read mc config ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new S3migError('S3MIG_CONFIG_INVALID', `mc config ${path} is not valid JSON: ${(err as Error).message}`);
  }
  // mc's config versions 9 and 10 call the map `aliases`; older ones `hosts`.
  const obj = parsed as { aliases?: unknown; hosts?: unknown };
  const map = obj.aliases ?? obj.hosts;
  if (map === undefined) return {};
  if (typeof map !== 'object' || map === null) throw new S3migError('S3MIG_CONFIG_INVALID', `mc config ${path}: "aliases" is not an object`);
  return map as Record<string, McConfigAlias>;
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' && v !== '' ? v : undefined;
}

/** AWS host names carry the region: s3.eu-west-1.amazonaws.com, s3-eu-west-1.amazonaws.com, bucket.s3.eu-west-1.amazonaws.com. */
export function regionOfHost(host: string): string | undefined {
  const m = /(?:^|\.)s3[.-](?:dualstack\.)?([a-z]{2}(?:-gov)?-[a-z]+-\d)\.amazonaws\.com(?:\.cn)?$/.exec(host);
  return m?.[1];
}

/** Whether requests go path style (bucket in the path): `on`, `off`, or `auto` (virtual host only for AWS-like hosts, as mc). */
export function usePathStyle(alias: Pick<ResolvedAlias, 'pathStyle' | 'url'>): boolean {
  if (alias.pathStyle === 'on') return true;
  if (alias.pathStyle === 'off') return false;
  const host = new URL(alias.url).hostname;
  return !/(^|\.)(amazonaws\.com(\.cn)?|aliyuncs\.com|storage\.googleapis\.com)$/.test(host);
}

/** Resolves an alias from the environment, then mc's config.json; unknown aliases are errors naming them. */
export function resolveAlias(name: string, options: AliasEnv = {}): ResolvedAlias {
  const env = options.env ?? process.env;
  const fromEnv = env[`MC_HOST_${name}`];
  if (fromEnv !== undefined && fromEnv !== '') return parseMcHost(name, fromEnv);
  const path = configPathOf(env, options.home ?? homedir());
  const aliases = readConfig(path);
  const entry = aliases?.[name];
  if (!entry) {
    throw new S3migError(
      'S3MIG_ALIAS_UNKNOWN',
      `unknown alias "${name}": set MC_HOST_${name}=https://ACCESS:SECRET@HOST or add it to ${path} (mc alias set ${name} ...)`,
    );
  }
  const where = `alias "${name}" in ${path}`;
  const url = str(entry.url);
  const accessKey = str(entry.accessKey);
  const secretKey = typeof entry.secretKey === 'string' ? entry.secretKey : undefined;
  if (!url || !accessKey || secretKey === undefined) {
    throw new S3migError('S3MIG_CONFIG_INVALID', `${where} needs url, accessKey and secretKey`);
  }
  const path_ = str(entry.path) ?? 'auto';
  if (!['on', 'off', 'auto'].includes(path_)) {
    throw new S3migError('S3MIG_CONFIG_INVALID', `${where}: path must be on, off or auto, not ${JSON.stringify(path_)}`);
  }
  const resolved: ResolvedAlias = {
    name,
    url: endpointOf(url.replace(/\/+$/, ''), where),
    accessKey,
    secretKey: new Secret(secretKey),
    api: str(entry.api) ?? 's3v4',
    pathStyle: path_ as PathStyle,
    origin: path,
  };
  const token = str(entry.sessionToken);
  if (token) resolved.sessionToken = new Secret(token);
  const region = str(entry.region) ?? regionOfHost(new URL(resolved.url).hostname);
  if (region) resolved.region = region;
  return resolved;
}
