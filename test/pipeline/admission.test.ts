/**
 * Early refusal through the graph: a receiver's `next.admit` reaches the processors that answer it, in
 * every pipeline the receiver feeds, through `process`-style processors but not past one that holds data.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { defineProcessor, RefusedError } from '../../src/component/types.js';
import { loadConfig } from '../../src/config/load.js';
import { resolveConfig } from '../../src/config/resolve.js';
import { s } from '../../src/config/schema.js';
import { Service } from '../../src/service/service.js';
import { createLogger } from '../../src/telemetry/logger.js';
import { exporters, receivers, testRegistry } from '../helpers/components.js';
import { newResource, Span } from '../../src/model/span.js';
import { writeTemp } from '../helpers/tmp.js';
import { waitFor } from '../helpers/wait.js';

/** The sizes each gate was asked about, by processor id and pipeline. */
const asked = new Map<string, (number | undefined)[]>();

/** Batches each gate's `process` was given, by processor id and pipeline. */
const processed = new Map<string, number>();

/**
 * A processor that answers `admit`: refuses when configured to (and then refuses in `process` too, as
 * `admit` promises), and records what it was asked.
 */
const gate = defineProcessor({
  type: 'test_gate',
  stability: 'development',
  description: 'Test processor: answers early refusal.',
  mutatesData: false,
  config: s.object({ refuse: s.boolean().default(false) }),
  create(cfg, ctx) {
    const key = `${ctx.id}@${ctx.pipeline}`;
    asked.set(key, []);
    return {
      admit(bytes) {
        asked.get(key)!.push(bytes);
        return cfg.refuse ? new RefusedError(`refused by ${key}`, true, 2_000, 'test_gate') : undefined;
      },
      process: (batch) => {
        processed.set(key, (processed.get(key) ?? 0) + 1);
        if (cfg.refuse) throw new RefusedError(`refused by ${key}`, true, 2_000, 'test_gate');
        return batch;
      },
    };
  },
});

let running: Service[] = [];
afterEach(async () => {
  await Promise.all(running.map((sv) => sv.shutdown(2000)));
  running = [];
  asked.clear();
  processed.clear();
});

async function start(pipelines: string, exporterConfig = '{}'): Promise<void> {
  const yaml = `
receivers: { test_push: {} }
processors:
  test_gate/open: {}
  test_gate/shut: { refuse: true }
  test_drop: {}
  batch: {}
exporters: { test_memory: ${exporterConfig} }
service:
  telemetry: { metrics: { enabled: false } }
  pipelines:
${pipelines}
`;
  const registry = testRegistry();
  registry.register(gate, 'test');
  const loaded = loadConfig([writeTemp('admission.yaml', yaml)]);
  const resolved = resolveConfig(loaded, registry);
  expect(loaded.issues).toEqual([]);
  const service = new Service(resolved!, { logger: createLogger('silent'), configDir: '.' });
  await service.start();
  running.push(service);
}

const p = (name: string, processors: string) => `    ${name}: { receivers: [test_push], processors: [${processors}], exporters: [test_memory] }`;

describe('early refusal through the pipeline graph', () => {
  const table: [name: string, pipelines: string[], refusedBy: string | undefined, askedGates: string[]][] = [
    ['a first processor that refuses', [p('traces', 'test_gate/shut')], 'test_gate/shut@traces', ['test_gate/shut@traces']],
    ['a first processor that admits', [p('traces', 'test_gate/open')], undefined, ['test_gate/open@traces']],
    ['past a process-style processor without admit', [p('traces', 'test_drop, test_gate/shut')], 'test_gate/shut@traces', ['test_gate/shut@traces']],
    ['past a processor that admits, to one that refuses', [p('traces', 'test_gate/open, test_gate/shut')], 'test_gate/shut@traces', ['test_gate/open@traces', 'test_gate/shut@traces']],
    ['not past a processor that holds data (batch)', [p('traces', 'batch, test_gate/shut')], undefined, []],
    ['any pipeline of a shared receiver refuses for all', [p('traces/a', 'test_gate/open'), p('traces/b', 'test_gate/shut')], 'test_gate/shut@traces/b', ['test_gate/open@traces/a', 'test_gate/shut@traces/b']],
    ['no processor answers: nothing is refused', [p('traces', 'test_drop')], undefined, []],
  ];
  it.each(table)('%s', async (_name, pipelines, refusedBy, askedGates) => {
    await start(pipelines.join('\n'));
    const next = receivers.get('test_push')!;
    const refused = next.admit?.(12_345);
    if (refusedBy === undefined) expect(refused).toBeUndefined();
    else expect(refused).toMatchObject({ message: `refused by ${refusedBy}`, retryable: true, retryAfterMs: 2_000, reason: 'test_gate' });
    const askedWith = [...asked].filter(([, sizes]) => sizes.length > 0);
    expect(askedWith.map(([k]) => k).sort()).toEqual([...askedGates].sort());
    for (const [, sizes] of askedWith) expect(sizes).toEqual([12_345]);
  });
});

describe('a receiver feeding several pipelines', () => {
  it('is refused by every pipeline before any takes the batch, so that a retry duplicates nothing', async () => {
    await start([p('traces/a', 'test_gate/open'), p('traces/b', 'test_gate/shut')].join('\n'));
    const next = receivers.get('test_push')!;
    await expect(next.consume([new Span(newResource())])).rejects.toMatchObject({ message: 'refused by test_gate/shut@traces/b', reason: 'test_gate' });
    expect(processed.get('test_gate/open@traces/a') ?? 0).toBe(0);
    expect(processed.get('test_gate/shut@traces/b') ?? 0).toBe(0);
  });
});

describe('early refusal by queues and buffers', () => {
  const spans = (n: number) => Array.from({ length: n }, () => new Span(newResource()));

  it('a full exporter queue refuses before decoding, as consume() would after', async () => {
    await start(p('traces', 'test_drop'), '{ sending_queue: { queue_size: 10, num_consumers: 1 } }');
    let release!: () => void;
    exporters.get('test_memory')!.behaviour = () => new Promise((r) => (release = () => r({ code: 'success' })));
    const next = receivers.get('test_push')!;
    expect(next.admit?.(100)).toBeUndefined();
    await next.consume(spans(10)); // taken by the consumer, whose export now hangs: the queue is full
    const refused = next.admit?.(100);
    expect(refused).toMatchObject({ retryable: true, reason: 'queue_full' });
    expect(refused?.message).toMatch(/queue is full \(10\/10 spans\)/);
    await expect(next.consume(spans(1))).rejects.toMatchObject({ reason: 'queue_full' });
    release();
    // Room again once the consumer has finished the export.
    await waitFor(() => exporters.get('test_memory')!.batches.length === 1);
    await waitFor(() => next.admit?.(100) === undefined);
  });

  it('a full batch buffer refuses before decoding', async () => {
    await start(p('traces', 'batch'), '{ sending_queue: { queue_size: 10, num_consumers: 1 } }');
    let exporting = 0;
    exporters.get('test_memory')!.behaviour = () => {
      exporting++;
      return new Promise(() => undefined); // never answers
    };
    const next = receivers.get('test_push')!;
    // The batch processor has its defaults: 8192 per batch, 100 000 held at most. The first batch goes
    // to the exporter (which never answers) and fills its queue; then the buffer fills up exactly.
    await next.consume(spans(8192));
    await waitFor(() => exporting === 1);
    for (let i = 0; i < 10; i++) {
      expect(next.admit?.(undefined)).toBeUndefined();
      await next.consume(spans(10_000));
    }
    const refused = next.admit?.(undefined);
    expect(refused).toMatchObject({ retryable: true, reason: 'batch_buffer_full' });
  });
});
