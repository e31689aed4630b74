/**
 * The Zipkin server helper: a private server with in-memory storage takes a span on /api/v2/spans and
 * gives it back, as Zipkin normalises it, on /api/v2/trace/{id}; a server that cannot start fails with
 * its log.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startZipkinServer, type ZipkinServer } from './zipkin-server.js';

let zipkin: ZipkinServer;
beforeAll(async () => {
  zipkin = await startZipkinServer({ env: { STORAGE_TYPE: 'mem' } });
}, 300_000);
afterAll(async () => {
  await zipkin?.stop();
});

/** Zipkin stores after answering 202: read until the trace is there. */
async function readTrace(url: string, traceId: string): Promise<unknown[]> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const res = await fetch(`${url}/api/v2/trace/${traceId}`);
    if (res.status === 200) return (await res.json()) as unknown[];
    if (res.status !== 404 || Date.now() > deadline) throw new Error(`GET trace ${traceId}: ${res.status} ${await res.text()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('startZipkinServer', () => {
  it('runs a Zipkin server that stores a posted span and returns it by trace id', async () => {
    expect(zipkin.url).toBe(`http://127.0.0.1:${zipkin.port}`);
    const traceId = randomBytes(16).toString('hex');
    const timestamp = Date.now() * 1000;
    const posted = [
      {
        traceId,
        id: '000000000000000A'.toLowerCase(),
        kind: 'SERVER',
        name: 'GET /Hello',
        timestamp,
        duration: 1500,
        localEndpoint: { serviceName: 'Frontend', ipv4: '127.0.0.1', port: 8080 },
        tags: { 'http.method': 'GET' },
      },
    ];
    const res = await fetch(`${zipkin.url}/api/v2/spans`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(posted) });
    expect(res.status).toBe(202);

    expect(await readTrace(zipkin.url, traceId)).toEqual([
      {
        traceId,
        id: '000000000000000a',
        kind: 'SERVER',
        name: 'get /hello',
        timestamp,
        duration: 1500,
        localEndpoint: { serviceName: 'frontend', ipv4: '127.0.0.1', port: 8080 },
        tags: { 'http.method': 'GET' },
      },
    ]);
    expect(zipkin.log()).toMatch(/:: version \d+\.\d+\.\d+ ::/);
  });

  it('rejects with the last lines of the log when the server does not come up', async () => {
    // Zipkin has no storage of that type: Spring Boot stops during start-up.
    const started = startZipkinServer({ env: { STORAGE_TYPE: 'no-such-storage' }, timeoutMs: 120_000 });
    await expect(started).rejects.toThrow(/^the Zipkin server exited with 1 during start-up \(STORAGE_TYPE=no-such-storage [^]*\); its last log lines:\n[^]*APPLICATION FAILED TO START[^]*StorageComponent/);
  }, 180_000);

  it('rejects with the last lines of the log when /health is not UP in time, and kills the server', async () => {
    // Nothing listens on port 9 here: Zipkin runs, but its storage check (and so /health) stays DOWN.
    const started = startZipkinServer({ env: { STORAGE_TYPE: 'elasticsearch', ES_HOSTS: 'http://127.0.0.1:9' }, timeoutMs: 15_000 });
    await expect(started).rejects.toThrow(/^the Zipkin server did not report UP on http:\/\/127\.0\.0\.1:(\d+)\/health within 15000 ms \(STORAGE_TYPE=elasticsearch ES_HOSTS=http:\/\/127\.0\.0\.1:9 [^]*\); its last log lines:\n[^]*:: version/);
    const port = /127\.0\.0\.1:(\d+)\/health/.exec(String(await started.catch((e: unknown) => e)))![1];
    await expect(fetch(`http://127.0.0.1:${port}/health`)).rejects.toThrow();
  }, 180_000);

  it('stop() ends the server and can be called twice', async () => {
    const other = await startZipkinServer();
    expect((await fetch(`${other.url}/health`)).status).toBe(200);
    await Promise.all([other.stop(), other.stop()]);
    await expect(fetch(`${other.url}/health`)).rejects.toThrow();
  }, 300_000);
});
