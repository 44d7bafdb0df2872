// Object keys out of the URLs mc prints in error objects and diff lines (endpoint form, keys raw).

/** Where a target's objects live, as mc prints them in error and diff URLs: `endpoint/bucket/prefix`. */
export interface McUrlBase {
  /** The alias URL, e.g. `https://s3.example.net` or `http://127.0.0.1:9000`. */
  endpoint: string;
  bucket: string;
  /** `""` for the whole bucket; `photos` and `photos/` both mean the folder photos/. */
  prefix: string;
}

export const URL_RE = /^([a-z][a-z0-9+.-]*):\/\/([^/]*)(.*)$/is;

/** Lower-cased scheme://host[:port] without the default port, and the raw path. */
function splitUrl(url: string): { origin: string; path: string } | undefined {
  const m = URL_RE.exec(url);
  if (!m) return undefined;
  const scheme = m[1]!.toLowerCase();
  let host = m[2]!.toLowerCase();
  if ((scheme === 'https' && host.endsWith(':443')) || (scheme === 'http' && host.endsWith(':80'))) host = host.slice(0, host.lastIndexOf(':'));
  return { origin: `${scheme}://${host}`, path: m[3]! };
}

/**
 * The key named by an mc error URL (``Failed to copy `https://host/bucket/key`.``), relative to the base's
 * prefix: the same name on both sides of a mirror. mc prints keys raw (no percent-encoding), so the base
 * is only stripped. Undefined when the URL is not under the base or names the base itself.
 */
export function keyOfMcUrl(url: string, base: McUrlBase): string | undefined {
  const u = splitUrl(url);
  const e = splitUrl(base.endpoint);
  if (!u || !e) return undefined;
  // Path style names the bucket in the path; virtual-host style (AWS) in the host name.
  const hostStyle = base.bucket !== '' && u.origin === e.origin.replace('://', `://${base.bucket.toLowerCase()}.`);
  if (u.origin !== e.origin && !hostStyle) return undefined;
  const prefix = base.prefix.replace(/^\/+/, '');
  const bucketPart = base.bucket === '' || hostStyle ? '' : `${base.bucket}/`;
  const root = `${e.path.replace(/\/+$/, '')}/${bucketPart}${prefix === '' || prefix.endsWith('/') ? prefix : `${prefix}/`}`;
  if (!u.path.startsWith(root) || u.path.length === root.length) return undefined;
  return u.path.slice(root.length);
}
