import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { resolveConfig } from '../../src/config/resolve.js';
import { retryable, SUCCESS, RefusedError } from '../../src/component/types.js';
import { Service } from '../../src/service/service.js';
import { createLogger } from '../../src/telemetry/logger.js';
import { exporters, receivers, spans, testRegistry } from '../helpers/components.js';
import { writeTemp } from '../helpers/tmp.js';
import { waitFor } from '../helpers/wait.js';

let running: Service[] = [];

async function start(yaml: string): Promise<Service> {
  const loaded = loadConfig([writeTemp('graph.yaml', yaml)]);
  const resolved = resolveConfig(loaded, testRegistry());
  expect(loaded.issues).toEqual([]);
  const service = new Service(resolved!, { logger: createLogger('silent'), configDir: '.' });
  await service.start();
  running.push(service);
  return service;
}

afterEach(async () => {
  await Promise.all(running.map((s) => s.shutdown(2000)));
  running = [];
});

const NO_METRICS = 'telemetry: { metrics: { enabled: false } }';

describe('pipeline graph', () => {
  it('fans a shared receiver out to every pipeline that lists it, copying for mutating pipelines', async () => {
    await start(`
receivers: { test_push: {} }
processors: { test_rename: { name: changed } }
exporters: { test_memory/a: {}, test_memory/b: {} }
service:
  ${NO_METRICS}
  pipelines:
    traces/plain: { receivers: [test_push], exporters: [test_memory/a] }
    traces/renamed: { receivers: [test_push], processors: [test_rename], exporters: [test_memory/b] }
`);
    const batch = spans('one', 'two');
    await receivers.get('test_push')!.consume(batch);
    await waitFor(() => exporters.get('test_memory/b')!.batches.length === 1 && exporters.get('test_memory/a')!.batches.length === 1);
    expect(exporters.get('test_memory/a')!.batches[0].map((s) => s.name)).toEqual(['one', 'two']);
    expect(exporters.get('test_memory/b')!.batches[0].map((s) => s.name)).toEqual(['changed', 'changed']);
    // The read-only pipeline saw the original objects, untouched.
    expect(batch.map((s) => s.name)).toEqual(['one', 'two']);
    expect(exporters.get('test_memory/b')!.spanIds()).toEqual(batch.map((s) => s.spanId));
  });

  it('fans in: an exporter shared by two pipelines is one instance behind one queue', async () => {
    await start(`
receivers: { test_push/a: {}, test_push/b: {} }
exporters: { test_memory: {} }
service:
  ${NO_METRICS}
  pipelines:
    traces/a: { receivers: [test_push/a], exporters: [test_memory] }
    traces/b: { receivers: [test_push/b], exporters: [test_memory] }
`);
    const a = spans('from-a');
    const b = spans('from-b');
    await receivers.get('test_push/a')!.consume(a);
    await receivers.get('test_push/b')!.consume(b);
    await waitFor(() => exporters.get('test_memory')!.batches.length === 2);
    expect(exporters.get('test_memory')!.batches.flat().map((s) => s.name).sort()).toEqual(['from-a', 'from-b']);
  });

  it('a slow exporter does not block another exporter of the same pipeline', async () => {
    await start(`
receivers: { test_push: {} }
exporters: { test_memory/slow: {}, test_memory/fast: {} }
service:
  ${NO_METRICS}
  pipelines:
    traces: { receivers: [test_push], exporters: [test_memory/slow, test_memory/fast] }
`);
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    exporters.get('test_memory/slow')!.behaviour = async () => {
      await gate;
      return SUCCESS;
    };
    const t0 = Date.now();
    await receivers.get('test_push')!.consume(spans('a'));
    await receivers.get('test_push')!.consume(spans('b'));
    await waitFor(() => exporters.get('test_memory/fast')!.batches.length === 2);
    expect(Date.now() - t0).toBeLessThan(1000);
    expect(exporters.get('test_memory/slow')!.batches.length).toBe(0);
    release();
    await waitFor(() => exporters.get('test_memory/slow')!.batches.length === 2);
  });

  it('a full queue refuses the batch for every exporter, so a retrying sender does not duplicate', async () => {
    await start(`
receivers: { test_push: {} }
exporters:
  test_memory/stuck: { sending_queue: { queue_size: 2, num_consumers: 1 } }
  test_memory/ok: {}
service:
  ${NO_METRICS}
  pipelines:
    traces: { receivers: [test_push], exporters: [test_memory/stuck, test_memory/ok] }
`);
    exporters.get('test_memory/stuck')!.behaviour = () => new Promise(() => undefined);
    await receivers.get('test_push')!.consume(spans('a', 'b'));
    const refused = await receivers.get('test_push')!.consume(spans('c')).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(RefusedError);
    expect((refused as RefusedError).retryable).toBe(true);
    expect((refused as RefusedError).reason).toBe('queue_full');
    await waitFor(() => exporters.get('test_memory/ok')!.batches.length === 1);
    await new Promise((r) => setTimeout(r, 50));
    expect(exporters.get('test_memory/ok')!.spanIds()).toHaveLength(2);
  });

  it('retries retryable failures until they succeed', async () => {
    const service = await start(`
receivers: { test_push: {} }
exporters:
  test_memory: { retry_on_failure: { initial_interval: 10ms, max_interval: 20ms } }
service:
  pipelines:
    traces: { receivers: [test_push], exporters: [test_memory] }
  telemetry: { metrics: { address: "127.0.0.1:0" } }
`);
    let attempts = 0;
    exporters.get('test_memory')!.behaviour = async () => (++attempts < 3 ? retryable(new Error('busy')) : SUCCESS);
    await receivers.get('test_push')!.consume(spans('x'));
    await waitFor(() => exporters.get('test_memory')!.batches.length === 1);
    expect(attempts).toBe(3);
    const text = await service.metrics.text();
    expect(text).toContain('spanline_exporter_retries_total{exporter="test_memory"} 2');
    expect(text).toContain('spanline_exporter_sent_spans_total{exporter="test_memory"} 1');
  });

  it('counts spans a processor removes as dropped, with a reason', async () => {
    const service = await start(`
receivers: { test_push: {} }
processors: { test_drop: {} }
exporters: { test_memory: {} }
service:
  ${NO_METRICS}
  pipelines:
    traces: { receivers: [test_push], processors: [test_drop], exporters: [test_memory] }
`);
    await receivers.get('test_push')!.consume(spans('keep', 'drop-me', 'drop-me-too'));
    await waitFor(() => exporters.get('test_memory')!.batches.length === 1);
    expect(exporters.get('test_memory')!.batches[0].map((s) => s.name)).toEqual(['keep']);
    expect(await service.metrics.text()).toContain(
      'spanline_processor_dropped_spans_total{processor="test_drop",pipeline="traces",reason="filtered"} 2',
    );
  });

  it('drains queues on shutdown and counts what the deadline cuts off', async () => {
    const service = await start(`
receivers: { test_push: {} }
exporters: { test_memory/slow: {}, test_memory/never: {} }
service:
  ${NO_METRICS}
  pipelines:
    traces: { receivers: [test_push], exporters: [test_memory/slow, test_memory/never] }
`);
    exporters.get('test_memory/slow')!.behaviour = async () => {
      await new Promise((r) => setTimeout(r, 100));
      return SUCCESS;
    };
    exporters.get('test_memory/never')!.behaviour = () => new Promise(() => undefined);
    const push = receivers.get('test_push')!;
    for (let i = 0; i < 3; i++) await push.consume(spans(`s${i}`));
    await service.shutdown(1000);
    expect(exporters.get('test_memory/slow')!.batches).toHaveLength(3);
    expect(await service.metrics.text()).toContain(
      'spanline_exporter_send_failed_spans_total{exporter="test_memory/never",reason="shutdown"} 3',
    );
    // A stopped pipeline refuses instead of accepting data it cannot deliver.
    await expect(push.consume(spans('late'))).rejects.toThrow('shutting down');
  });
});
