'use strict';
// Child process of the local S3 server harness (see s3-server.ts): runs s3rver 3.7.1 on 127.0.0.1,
// with the corrections of ./s3rver-patches.cjs applied, and prints {"port":N} once it listens.
// It exits when its stdin closes, so it never outlives the process that started it.
const S3rver = require('s3rver');
const { applyPatches } = require('./s3rver-patches.cjs');

async function main() {
  const options = JSON.parse(process.argv[2]);
  applyPatches();
  const server = new S3rver({
    address: '127.0.0.1',
    port: options.port || 0,
    silent: true,
    directory: options.directory,
    configureBuckets: (options.buckets || []).map((name) => ({ name, configs: [] })),
  });
  const { port } = await server.run();
  // Node's default keeps an idle connection 5 s; a client reusing it just as the server closes it gets a
  // reset (ECONNRESET "socket hang up"). Tests and benchmarks pause longer than that between requests.
  server.httpServer.keepAliveTimeout = 120_000;
  server.httpServer.headersTimeout = 121_000;
  process.stdout.write(JSON.stringify({ port }) + '\n');
  const stop = () => server.close().finally(() => process.exit(0));
  process.stdin.on('end', stop);
  process.stdin.on('close', stop);
  process.stdin.resume();
  process.on('SIGTERM', stop);
}

main().catch((err) => {
  process.stderr.write(`s3rver child: ${err && err.message ? err.message : String(err)}\n`);
  process.exit(1);
});
