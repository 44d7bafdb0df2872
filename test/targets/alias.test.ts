import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile, mkdir } from 'node:fs/promises';
import { inspect } from 'node:util';
import { join } from 'node:path';
import { parseMcHost, regionOfHost, resolveAlias, usePathStyle } from '../../src/targets/alias.ts';
import { parseTarget } from '../../src/targets/target.ts';
import { tempDir } from '../helpers.ts';

test('MC_HOST_<alias>: access, secret and token, percent-decoded; the endpoint keeps no credentials', () => {
  const a = parseMcHost('prod', 'https://AKIA%2FX:s%40cr%3At%2Fkey:tok%2Ben@minio.example.com:9000');
  assert.equal(a.url, 'https://minio.example.com:9000');
  assert.equal(a.accessKey, 'AKIA/X');
  assert.equal(a.secretKey.reveal(), 's@cr:t/key');
  assert.equal(a.sessionToken?.reveal(), 'tok+en');
  assert.equal(a.origin, 'env MC_HOST_prod');
  const b = parseMcHost('x', 'http://K:S@127.0.0.1:4568/');
  assert.equal(b.url, 'http://127.0.0.1:4568');
  assert.equal(b.sessionToken, undefined);
  for (const bad of ['127.0.0.1:9000', 'ftp://K:S@host', 'http://onlyaccess@host', 'http://K:S@', 'http://K:S:T:U@host', 'http://K:%zz@host']) {
    assert.throws(() => parseMcHost('x', bad), (err: Error & { code?: string }) => {
      assert.equal(err.code, 'S3MIG_CONFIG_INVALID', bad);
      assert.doesNotMatch(err.message, /\bS\b.*@|%zz/, 'no secret in the message');
      return true;
    });
  }
});

test('secrets never show in JSON, strings or inspect output', () => {
  const a = parseMcHost('p', 'https://ACCESS:TopSecret-123:Tok-456@host');
  const shown = [JSON.stringify(a), String(a.secretKey), `${a.sessionToken}`, inspect(a, { depth: 5 })].join('\n');
  assert.doesNotMatch(shown, /TopSecret-123|Tok-456/);
  assert.match(JSON.stringify(a), /"secretKey":"\*\*\*"/);
});

test('the environment wins over config.json; config.json (MC_CONFIG_DIR or ~/.mc) is read otherwise', async (t) => {
  const home = await tempDir(t);
  await mkdir(join(home, '.mc'));
  await writeFile(
    join(home, '.mc', 'config.json'),
    JSON.stringify({
      version: '10',
      aliases: {
        cfg: { url: 'https://s3.eu-west-1.amazonaws.com/', accessKey: 'AK', secretKey: 'SK', api: 's3v4', path: 'auto' },
        minio: { url: 'http://10.0.0.5:9000', accessKey: 'AK2', secretKey: 'SK2', api: 'S3v4', path: 'off', region: 'eu-central-1' },
        bad: { url: 'http://h', accessKey: 'A', secretKey: 'S', path: 'sideways' },
      },
    }),
  );
  const cfg = resolveAlias('cfg', { env: {}, home });
  assert.equal(cfg.url, 'https://s3.eu-west-1.amazonaws.com');
  assert.equal(cfg.region, 'eu-west-1');
  assert.equal(usePathStyle(cfg), false, 'auto: virtual host on AWS');
  assert.equal(cfg.origin, join(home, '.mc', 'config.json'));
  const minio = resolveAlias('minio', { env: {}, home });
  assert.equal(minio.region, 'eu-central-1');
  assert.equal(usePathStyle(minio), false, 'path off');
  assert.equal(usePathStyle({ url: 'http://10.0.0.5:9000', pathStyle: 'auto' }), true, 'auto: path style elsewhere');
  const env = resolveAlias('cfg', { env: { MC_HOST_cfg: 'http://E:F@127.0.0.1:1' }, home });
  assert.equal(env.url, 'http://127.0.0.1:1');
  assert.throws(() => resolveAlias('bad', { env: {}, home }), { code: 'S3MIG_CONFIG_INVALID', message: /alias "bad" .*path must be on, off or auto/ });

  const other = await tempDir(t);
  await writeFile(join(other, 'config.json'), JSON.stringify({ version: '10', aliases: { o: { url: 'http://o:1', accessKey: 'a', secretKey: 'b' } } }));
  assert.equal(resolveAlias('o', { env: { MC_CONFIG_DIR: other }, home }).url, 'http://o:1');
  await writeFile(join(other, 'config.json'), '{ not json');
  assert.throws(() => resolveAlias('o', { env: { MC_CONFIG_DIR: other }, home }), { code: 'S3MIG_CONFIG_INVALID', message: /is not valid JSON/ });
});

test('an unknown alias is an error that names it and where s3mig looked', async (t) => {
  const home = await tempDir(t);
  assert.throws(() => resolveAlias('typo', { env: {}, home }), {
    code: 'S3MIG_ALIAS_UNKNOWN',
    message: `unknown alias "typo": set MC_HOST_typo=https://ACCESS:SECRET@HOST or add it to ${join(home, '.mc', 'config.json')} (mc alias set typo ...)`,
  });
});

test('regions from AWS host names', () => {
  assert.equal(regionOfHost('s3.us-west-2.amazonaws.com'), 'us-west-2');
  assert.equal(regionOfHost('s3-eu-west-1.amazonaws.com'), 'eu-west-1');
  assert.equal(regionOfHost('s3.dualstack.ap-southeast-2.amazonaws.com'), 'ap-southeast-2');
  assert.equal(regionOfHost('s3.amazonaws.com'), undefined);
  assert.equal(regionOfHost('minio.local'), undefined);
});

test('ALIAS/BUCKET[/PREFIX]: the prefix is a folder, its trailing slash optional', () => {
  assert.deepEqual(parseTarget('src/bucket'), { kind: 'live', spec: 'src/bucket', alias: 'src', bucket: 'bucket', prefix: '' });
  assert.equal((parseTarget('src/bucket/a/b') as { prefix: string }).prefix, 'a/b/');
  assert.equal((parseTarget('src/bucket/a/b/') as { prefix: string }).prefix, 'a/b/');
});
