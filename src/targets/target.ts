// Target specs: `inventory:PATH` (a saved mc listing) or `ALIAS/BUCKET[/PREFIX]` (a live bucket, design §6).
import { resolve } from 'node:path';
import { S3migError } from '../core/errors.ts';

export type Target =
  | { kind: 'inventory'; spec: string; path: string }
  | { kind: 'live'; spec: string; alias: string; bucket: string; prefix: string };

const ALIAS = /^[a-zA-Z][a-zA-Z0-9_-]*$/;

/** Parses a target as the operator wrote it; `cwd` anchors relative inventory paths. */
export function parseTarget(spec: string, cwd = process.cwd()): Target {
  if (spec.startsWith('inventory:')) {
    const path = spec.slice('inventory:'.length);
    if (path === '') throw new S3migError('S3MIG_TARGET_INVALID', `target ${JSON.stringify(spec)} names no file after "inventory:"`);
    return { kind: 'inventory', spec, path: resolve(cwd, path) };
  }
  const [alias = '', bucket = '', ...rest] = spec.split('/');
  if (!ALIAS.test(alias) || bucket === '') {
    throw new S3migError(
      'S3MIG_TARGET_INVALID',
      `target ${JSON.stringify(spec)} is neither inventory:FILE nor ALIAS/BUCKET[/PREFIX]`,
    );
  }
  const prefix = rest.join('/').replace(/\/+$/, '');
  return { kind: 'live', spec, alias, bucket, prefix: prefix === '' ? '' : `${prefix}/` };
}
