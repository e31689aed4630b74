/**
 * The persistent queue through the real daemon: spans acknowledged (202) while the backend is down are on
 * disk; the daemon is killed with SIGKILL in the middle of a stream; a new daemon on the same storage
 * delivers every acknowledged span to a real Zipkin server, each once.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { Daemon, freePort } from '../helpers/daemon.js';
import { service } from '../helpers/services.js';
import { tempDir, writeTemp } from '../helpers/tmp.js';
import { durablePipelineYaml, missingTraces, spanIds, TraceStream } from '../helpers/trace-stream.js';

let daemons: Daemon[] = [];
afterEach(async () => {
  await Promise.all(daemons.map((d) => d.stop('SIGKILL')));
  daemons = [];
});

const SPANS_PER_TRACE = 20;

function config(port: number, storage: string, endpoint: string): string {
  return durablePipelineYaml({ port, exporter: 'zipkin', settings: `endpoint: ${endpoint}`, storage, numConsumers: 2, retry: { initial: '50ms', max: '200ms' } });
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

    const stream = new TraceStream({ port: () => port, trace: { spans: SPANS_PER_TRACE, service: 'durable-test' }, senders: 6 });
    await stream.until(60);
    first.child.kill('SIGKILL'); // mid-stream: requests are in flight
    await first.exited;
    await stream.stop();
    const acked = [...stream.acknowledged];
    expect(acked.length).toBeGreaterThanOrEqual(60);

    const second = await Daemon.start(['--config', writeTemp('b.yaml', config(port, storage, `${zipkinUrl}/api/v2/spans`))]);
    daemons.push(second);
    expect(second.logs().some((l) => l.msg === 'persistent queue recovered spans from a previous run; delivering them')).toBe(true);

    const missing = await missingTraces(
      acked,
      SPANS_PER_TRACE,
      async (ids) => new Map(await Promise.all(ids.map(async (id) => [id, (await zipkinTrace(zipkinUrl, id)).length] as const))),
      30_000,
    );
    expect(missing, 'acknowledged traces not in Zipkin').toEqual([]);
    for (const id of acked) {
      const spans = await zipkinTrace(zipkinUrl, id);
      expect(spans.map((s) => s.id).sort(), `trace ${id}`).toEqual(spanIds(SPANS_PER_TRACE));
    }
    expect(await second.stop('SIGTERM')).toBe(0);
  }, 90_000);
});
