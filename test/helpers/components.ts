/**
 * Components for in-process pipeline tests: a receiver that hands its consumer to the test, and an
 * exporter that records what it gets and can be made slow or failing. They are registered like plugins.
 */
import { builtInRegistry } from '../../src/components.js';
import type { ComponentRegistry } from '../../src/component/registry.js';
import {
  defineExporter,
  defineProcessor,
  defineReceiver,
  SUCCESS,
  type ExportResult,
  type SpanConsumer,
} from '../../src/component/types.js';
import { s } from '../../src/config/schema.js';
import { Span, newResource, type SpanBatch } from '../../src/model/span.js';

export const receivers = new Map<string, SpanConsumer>();

export interface RecordingExporter {
  batches: SpanBatch[];
  /** Decides each attempt's outcome; default success. */
  behaviour: (batch: SpanBatch) => Promise<ExportResult>;
  spanIds(): string[];
}

export const exporters = new Map<string, RecordingExporter>();

export const testReceiver = defineReceiver({
  type: 'test_push',
  stability: 'development',
  description: 'Test receiver: exposes its consumer.',
  config: s.object({}),
  create(_cfg, ctx) {
    return {
      async start() {
        receivers.set(ctx.id, ctx.next);
      },
      async shutdown() {
        receivers.delete(ctx.id);
      },
    };
  },
});

export const testExporter = defineExporter({
  type: 'test_memory',
  stability: 'development',
  description: 'Test exporter: records batches.',
  config: s.object({}),
  create(_cfg, ctx) {
    const rec: RecordingExporter = {
      batches: [],
      behaviour: async () => SUCCESS,
      spanIds() {
        return this.batches.flat().map((sp) => sp.spanId);
      },
    };
    exporters.set(ctx.id, rec);
    return {
      async export(batch) {
        const r = await rec.behaviour(batch);
        if (r.code === 'success') rec.batches.push(batch);
        return r;
      },
    };
  },
});

/** Renames every span it sees; mutates data, so fan-out must give it a copy. */
export const testRenamer = defineProcessor({
  type: 'test_rename',
  stability: 'development',
  description: 'Test processor: renames spans.',
  mutatesData: true,
  config: s.object({ name: s.string().default('renamed') }),
  create(cfg) {
    return {
      process(batch) {
        for (const sp of batch) sp.name = cfg.name;
        return batch;
      },
    };
  },
});

/** Drops spans whose name starts with "drop". */
export const testDropper = defineProcessor({
  type: 'test_drop',
  stability: 'development',
  description: 'Test processor: drops some spans.',
  mutatesData: false,
  config: s.object({}),
  create() {
    return { process: (batch) => batch.filter((sp) => !sp.name.startsWith('drop')) };
  },
});

export function testRegistry(): ComponentRegistry {
  const r = builtInRegistry();
  for (const f of [testReceiver, testExporter, testRenamer, testDropper]) r.register(f, 'test');
  return r;
}

let counter = 0;
/** Spans with distinct ids; names as given. */
export function spans(...names: string[]): SpanBatch {
  const resource = newResource({ 'service.name': 'svc' });
  return names.map((name) => {
    const sp = new Span(resource);
    sp.traceId = '0000000000000001';
    sp.spanId = (++counter).toString(16).padStart(16, '0');
    sp.name = name;
    return sp;
  });
}
