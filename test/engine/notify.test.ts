// Webhook notifications against a real HTTP server on 127.0.0.1: retried on 5xx, final on 4xx, every attempt
// spent on an unreachable receiver, the backoff asked of an injected sleep (no real waiting), the query kept out of messages.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { notifyInBackground, postSummary, redactUrl } from '../../src/engine/notify.ts';

interface Received {
  method: string;
  headers: IncomingMessage['headers'];
  body: string;
  url: string;
}

/** A receiver answering each request with the next status of `statuses` (the last one repeated). */
async function receiver(t: TestContext, statuses: number[]): Promise<{ url: string; received: Received[] }> {
  const received: Received[] = [];
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => (body += c));
    req.on('end', () => {
      received.push({ method: req.method ?? '', headers: req.headers, body, url: req.url ?? '' });
      res.statusCode = statuses[Math.min(received.length - 1, statuses.length - 1)]!;
      res.end('{}');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.after(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook?token=s3cr3t`, received };
}

/** An unused port: a server is opened and closed on it. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  await new Promise((r) => server.close(r));
  return port;
}

const sleeper = () => {
  const waits: number[] = [];
  return { waits, sleep: async (ms: number) => void waits.push(ms) };
};

test('500 then 200: two attempts, the JSON body and headers as sent, one backoff', async (t) => {
  const { url, received } = await receiver(t, [500, 200]);
  const { waits, sleep } = sleeper();
  const result = await postSummary(url, { job: 'j1', outcome: 'clean' }, { sleep, random: () => 0.5 });
  assert.deepEqual(result, { ok: true, attempts: 2, status: 200 });
  assert.equal(received.length, 2);
  for (const r of received) {
    assert.equal(r.method, 'POST');
    assert.equal(r.url, '/hook?token=s3cr3t');
    assert.equal(r.headers['content-type'], 'application/json');
    assert.equal(r.headers['user-agent'], 's3mig');
    assert.deepEqual(JSON.parse(r.body), { job: 'j1', outcome: 'clean' });
  }
  // Full jitter: a random share of the base delay for the first retry.
  assert.deepEqual(waits, [250]);
});

test('400: one attempt, not retried, the status in the error without the query string', async (t) => {
  const { url, received } = await receiver(t, [400, 200]);
  const { waits, sleep } = sleeper();
  const result = await postSummary(url, { job: 'j1' }, { sleep });
  assert.equal(result.ok, false);
  assert.equal(result.attempts, 1);
  assert.equal(result.status, 400);
  assert.equal(received.length, 1);
  assert.deepEqual(waits, []);
  assert.match(result.error!, /HTTP 400/);
  assert.doesNotMatch(result.error!, /s3cr3t/);
});

test('429 and 503 are retried, with exponential backoff, until the attempts run out', async (t) => {
  const { url, received } = await receiver(t, [429, 503]);
  const { waits, sleep } = sleeper();
  const result = await postSummary(url, {}, { attempts: 4, baseDelayMs: 100, sleep, random: () => 0.999999 });
  assert.equal(result.ok, false);
  assert.equal(result.attempts, 4);
  assert.equal(result.status, 503);
  assert.equal(received.length, 4);
  assert.deepEqual(waits, [99, 199, 399]);
});

test('an unreachable receiver: every attempt made, the error says why without the token', async () => {
  const url = `http://127.0.0.1:${await closedPort()}/hook?token=s3cr3t`;
  const { waits, sleep } = sleeper();
  const result = await postSummary(url, { job: 'j1' }, { attempts: 3, sleep });
  assert.equal(result.ok, false);
  assert.equal(result.attempts, 3);
  assert.equal(result.status, undefined);
  assert.equal(waits.length, 2);
  assert.match(result.error!, /ECONNREFUSED/);
  assert.doesNotMatch(result.error!, /s3cr3t/);
});

test('a receiver that never answers: each attempt times out', async (t) => {
  const server = createServer(() => undefined);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.after(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  const result = await postSummary(url, {}, { attempts: 2, timeoutMs: 50, sleep: async () => undefined });
  assert.equal(result.ok, false);
  assert.equal(result.attempts, 2);
  assert.match(result.error!, /no answer within 50 ms/);
});

test('a stop signal ends the tries', async (t) => {
  const { url, received } = await receiver(t, [500]);
  const ac = new AbortController();
  const result = await postSummary(url, {}, {
    sleep: async () => {
      ac.abort();
    },
    signal: ac.signal,
  });
  assert.equal(result.ok, false);
  assert.equal(received.length, 1);
  assert.equal(result.attempts, 1);
});

test('not an http URL: no request, no throw', async () => {
  const result = await postSummary('ftp://example.net/x', {});
  assert.deepEqual({ ok: result.ok, attempts: result.attempts }, { ok: false, attempts: 0 });
  const bad = await postSummary('not a url', {});
  assert.equal(bad.ok, false);
});

test('notifyInBackground returns before the answer and tells its listener', async (t) => {
  const { url, received } = await receiver(t, [200]);
  let heard: unknown;
  const pending = notifyInBackground(url, { a: 1 }, { onResult: (r) => (heard = r) });
  // Nothing has been sent yet: the caller was not held up.
  assert.equal(received.length, 0);
  assert.equal(heard, undefined);
  const result = await pending;
  assert.equal(result.ok, true);
  assert.deepEqual(heard, result);
  assert.equal(received.length, 1);
});

test('redactUrl keeps scheme, host and path only', () => {
  assert.equal(redactUrl('https://user:pw@hooks.example.net:8443/a/b?token=x#y'), 'https://hooks.example.net:8443/a/b?…');
  assert.equal(redactUrl('http://127.0.0.1:9/hook'), 'http://127.0.0.1:9/hook');
  assert.equal(redactUrl('::'), '(not a valid URL)');
});
