/**
 * The persistent queue through the real daemon: spans acknowledged (202) while the backend is down are on
 * disk; the daemon is killed with SIGKILL in the middle of a stream; a new daemon on the same storage
 * delivers every acknowledged span to a real Zipkin server, each once.
 */
import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { Daemon, freePort } from '../helpers/daemon.js';
import { service } from '../helpers/services.js';
import { tempDir, writeTemp } from '../helpers/tmp.js';

let daemons: Daemon[] = [];
afterEach(async () => {
  await Promise.all(daemons.map((d) => d.stop('SIGKILL')));
  daemons = [];
});

const SPANS_PER_TRACE = 20;

function trace(traceId: string): string {
  const now = Date.now() * 1000;
  return JSON.stringify(
    Array.from({ length: SPANS_PER_TRACE }, (_, i) => ({
      traceId,
      id: (i + 1).toString(16).padStart(16, '0'),
      ...(i > 0 ? { parentId: '0000000000000001' } : {}),
      name: `op-${i}`,
      timestamp: now + i,
      duration: 100 + i,
      localEndpoint: { serviceName: 'durable-test' },
      tags: { i: String(i) },
    })),
  );
}

function config(port: number, storage: string, endpoint: string): string {
  return `
receivers:
  zipkin:
    endpoint: 127.0.0.1:${port}
processors:
  batch:
    timeout: 20ms
exporters:
  zipkin:
    endpoint: ${endpoint}
    sending_queue:
      storage: ${storage}
      num_consumers: 2
    retry_on_failure:
      initial_interval: 50ms
      max_interval: 200ms
      max_elapsed_time: 0s
service:
  telemetry:
    metrics:
      enabled: false
  pipelines:
    traces:
      receivers: [zipkin]
      processors: [batch]
      exporters: [zipkin]
`;
}

async function zipkinTrace(url: string, traceId: string): Promise<{ id: string }[]> {
  const res = await fetch(`${url}/api/v2/trace/${traceId}`);
  if (res.status === 404) return [];
  expect(res.status).toBe(200);
  return (await res.json()) as { id: string }[];
}

describe('persistent sending queue', () => {
  it('delivers every acknowledged span after kill -9 and a restart, each once', async () => {
    const zipkinUrl = service('zipkin').ZIPKIN_SERVER_URL;
    const storage = tempDir();
    const port = await freePort();
    const deadPort = await freePort(); // nothing listens: every export fails, retryably
    const first = await Daemon.start(['--config', writeTemp('a.yaml', config(port, storage, `http://127.0.0.1:${deadPort}/api/v2/spans`))]);
    daemons.push(first);

    const acknowledged: string[] = [];
    let stop = false;
    const sender = async () => {
      while (!stop) {
        const traceId = randomBytes(16).toString('hex');
        try {
          const res = await fetch(`http://127.0.0.1:${port}/api/v2/spans`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: trace(traceId) });
          if (res.status === 202) acknowledged.push(traceId);
        } catch {
          return; // the daemon is gone
        }
      }
    };
    const senders = Array.from({ length: 6 }, sender);
    while (acknowledged.length < 60) await new Promise((r) => setTimeout(r, 10));
    first.child.kill('SIGKILL'); // mid-stream: requests are in flight
    await first.exited;
    stop = true;
    await Promise.all(senders);
    const acked = [...acknowledged];
    expect(acked.length).toBeGreaterThanOrEqual(60);

    const second = await Daemon.start(['--config', writeTemp('b.yaml', config(port, storage, `${zipkinUrl}/api/v2/spans`))]);
    daemons.push(second);
    expect(second.logs().some((l) => l.msg === 'persistent queue recovered spans from a previous run; delivering them')).toBe(true);

    const deadline = Date.now() + 30_000;
    let missing = acked;
    while (missing.length > 0 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 250));
      const counts = await Promise.all(missing.map(async (id) => [id, (await zipkinTrace(zipkinUrl, id)).length] as const));
      missing = counts.filter(([, n]) => n < SPANS_PER_TRACE).map(([id]) => id);
    }
    expect(missing, 'acknowledged traces not in Zipkin').toEqual([]);
    for (const id of acked) {
      const spans = await zipkinTrace(zipkinUrl, id);
      expect(spans.map((s) => s.id).sort(), `trace ${id}`).toEqual(Array.from({ length: SPANS_PER_TRACE }, (_, i) => (i + 1).toString(16).padStart(16, '0')).sort());
    }
    expect(await second.stop('SIGTERM')).toBe(0);
  }, 90_000);
});
