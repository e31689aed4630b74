/**
 * Builds the running graph from a resolved config, knowing components only through their factories:
 *
 *   receiver ─▶ receiver fan-out ─▶ pipeline: processor ─▶ … ─▶ exporter fan-out ─▶ sending queue ─▶ exporter
 *
 * A receiver listed by several pipelines is created once and fans out to all of them (pipelines whose
 * processors mutate spans get their own copy); processors belong to one pipeline; an exporter listed by
 * several pipelines is created once, behind one queue (fan-in).
 */
import type { Logger } from 'pino';
import type { ResolvedComponent, ResolvedConfig } from '../config/resolve.js';
import type {
  ComponentContext,
  Exporter,
  ExporterFactory,
  Extension,
  ExtensionFactory,
  Lifecycle,
  Processor,
  ProcessorFactory,
  Receiver,
  ReceiverFactory,
  RefusedError,
  SpanConsumer,
} from '../component/types.js';
import { cloneBatch, type SpanBatch } from '../model/span.js';
import { CountedLog } from '../telemetry/logger.js';
import type { SelfMetrics } from '../telemetry/metrics.js';
import { SendingQueue, type ExporterHelperConfig } from './exporter-queue.js';

/** Offers a batch to every exporter queue of a pipeline: all of them take it, or none does. */
class ExporterFanout implements SpanConsumer {
  constructor(private readonly queues: SendingQueue[]) {}

  /** A full or closing queue refuses before the request is decoded, as it would after. */
  admit(): RefusedError | undefined {
    for (const q of this.queues) {
      const refused = q.admit();
      if (refused) return refused;
    }
    return undefined;
  }

  consume(batch: SpanBatch): Promise<void> {
    if (this.queues.length === 1) return this.queues[0].consume(batch);
    const full = this.queues.find((q) => !q.hasRoomFor(batch) && !q.blocksWhenFull);
    // Refusing before enqueueing anywhere keeps a retrying sender from duplicating spans in other exporters.
    if (full) return full.consume(batch);
    return Promise.all(this.queues.map((q) => q.consume(batch))).then(() => undefined);
  }
}

/** Runs a `process`-style processor and forwards its result; counts the spans it removed. */
class ProcessNode implements SpanConsumer {
  explained = 0;
  constructor(
    private readonly processor: Extract<Processor, { process: unknown }>,
    private readonly next: SpanConsumer,
    private readonly dropped: (count: number, reason: string) => void,
  ) {}

  /** The processor is asked first, then what follows it: where its batches would go. */
  admit(bytes: number | undefined): RefusedError | undefined {
    return this.processor.admit?.(bytes) ?? this.next.admit?.(bytes);
  }

  async consume(batch: SpanBatch): Promise<void> {
    const n = batch.length;
    const explainedBefore = this.explained;
    const out = (await this.processor.process(batch)) ?? batch;
    const unexplained = n - out.length - (this.explained - explainedBefore);
    if (unexplained > 0) this.dropped(unexplained, 'filtered');
    if (out.length > 0) await this.next.consume(out);
  }
}

interface PipelineEntry {
  consumer: SpanConsumer;
  mutates: boolean;
}

/** Gives every pipeline of a receiver the batch; settles when all accepted. */
class ReceiverFanout implements SpanConsumer {
  private readonly readOnly: SpanConsumer[];
  private readonly mutating: SpanConsumer[];
  constructor(entries: PipelineEntry[]) {
    this.readOnly = entries.filter((e) => !e.mutates).map((e) => e.consumer);
    this.mutating = entries.filter((e) => e.mutates).map((e) => e.consumer);
  }

  /** A request is refused when any pipeline would refuse it, as `consume` fails when any pipeline does. */
  admit(bytes: number | undefined): RefusedError | undefined {
    for (const c of this.readOnly) {
      const refused = c.admit?.(bytes);
      if (refused) return refused;
    }
    for (const c of this.mutating) {
      const refused = c.admit?.(bytes);
      if (refused) return refused;
    }
    return undefined;
  }

  consume(batch: SpanBatch): Promise<void> {
    const total = this.readOnly.length + this.mutating.length;
    if (total === 1) return (this.readOnly[0] ?? this.mutating[0]).consume(batch);
    // A pipeline that would refuse refuses for all before any takes the batch: else the sender's retry
    // would hand the pipelines that accepted (a tail sampler holding the spans) the same spans twice.
    const refused = this.admit(undefined);
    if (refused) return Promise.reject(refused);
    // Copies are made before any consumer runs, so no consumer sees another's changes.
    const calls: SpanBatch[] = this.mutating.map((_, i) =>
      this.readOnly.length === 0 && i === this.mutating.length - 1 ? batch : cloneBatch(batch),
    );
    const pending = [
      ...this.readOnly.map((c) => c.consume(batch)),
      ...this.mutating.map((c, i) => c.consume(calls[i])),
    ];
    return Promise.all(pending).then(() => undefined);
  }
}

export interface GraphOptions {
  metrics: SelfMetrics;
  logger: Logger;
  configDir: string;
  pipelinesReady: () => boolean;
}

interface Node {
  id: string;
  instance: Lifecycle;
}

export class PipelineGraph {
  readonly extensions: (Node & { instance: Extension })[] = [];
  readonly exporters: (Node & { instance: Exporter; queue: SendingQueue })[] = [];
  /** In pipeline order, each pipeline's processors upstream first. */
  readonly processors: (Node & { pipeline: string; dropLog: CountedLog })[] = [];
  readonly receivers: Node[] = [];

  /** Creates every component (downstream first). Throws if a factory's create throws. */
  constructor(
    private readonly config: ResolvedConfig,
    private readonly opts: GraphOptions,
  ) {
    const comp = (kind: 'receiver' | 'processor' | 'exporter' | 'extension', id: string): ResolvedComponent =>
      config.components.get(kind)!.get(id)!;
    const context = (kind: string, id: string): ComponentContext => ({
      id,
      logger: opts.logger.child({ kind, component: id }),
      metrics: opts.metrics,
      configDir: opts.configDir,
    });

    for (const id of config.service.extensions) {
      const c = comp('extension', id);
      const f = c.registered.factory as ExtensionFactory;
      const instance = f.create(c.config as never, { ...context('extension', id), pipelinesReady: opts.pipelinesReady });
      this.extensions.push({ id, instance });
    }

    const queues = new Map<string, SendingQueue>();
    const queueFor = (id: string): SendingQueue => {
      let q = queues.get(id);
      if (q) return q;
      const c = comp('exporter', id);
      const ctx = context('exporter', id);
      const instance = (c.registered.factory as ExporterFactory).create(c.config as never, ctx);
      q = new SendingQueue(id, instance, c.config as ExporterHelperConfig, opts.metrics, ctx.logger, opts.configDir);
      queues.set(id, q);
      this.exporters.push({ id, instance, queue: q });
      return q;
    };

    const entriesByReceiver = new Map<string, PipelineEntry[]>();
    for (const p of config.pipelines) {
      const pipelineQueues = p.exporters.map(queueFor);
      const durableDownstream = pipelineQueues.some((q) => q.durable);
      let next: SpanConsumer = new ExporterFanout(pipelineQueues);
      let mutates = false;
      const built: (Node & { pipeline: string; dropLog: CountedLog })[] = [];
      for (const id of [...p.processors].reverse()) {
        const c = comp('processor', id);
        const f = c.registered.factory as ProcessorFactory;
        mutates ||= f.mutatesData;
        const ctx = context('processor', id);
        const dropLog = new CountedLog(ctx.logger, 'spans dropped by processor');
        let node: ProcessNode | undefined;
        const dropped = (count: number, reason: string) => {
          if (count <= 0) return;
          if (node) node.explained += count;
          opts.metrics.processorDropped.inc({ processor: id, pipeline: p.id, reason }, count);
          dropLog.add(count, reason);
        };
        const instance = f.create(c.config as never, { ...ctx, pipeline: p.id, next, dropped, durableDownstream });
        if ('consume' in instance && typeof instance.consume === 'function') {
          next = instance;
        } else if ('process' in instance && typeof instance.process === 'function') {
          node = new ProcessNode(instance, next, dropped);
          next = node;
        } else {
          throw new Error(`processor ${id}: create() returned neither process() nor consume()`);
        }
        built.unshift({ id, instance, pipeline: p.id, dropLog });
      }
      this.processors.push(...built);
      for (const r of p.receivers) {
        const list = entriesByReceiver.get(r) ?? [];
        list.push({ consumer: next, mutates });
        entriesByReceiver.set(r, list);
      }
    }

    for (const [id, entries] of entriesByReceiver) {
      const c = comp('receiver', id);
      const instance: Receiver = (c.registered.factory as ReceiverFactory).create(c.config as never, {
        ...context('receiver', id),
        next: new ReceiverFanout(entries),
      });
      this.receivers.push({ id, instance });
    }
  }

  /** Starts downstream first: exporters, processors, then receivers. Stops what started if one fails. */
  async start(): Promise<void> {
    const started: (() => Promise<void>)[] = [];
    const never = new AbortController().signal;
    try {
      for (const e of this.exporters) {
        await e.instance.start?.();
        e.queue.start();
        started.push(async () => {
          await e.queue.shutdown(AbortSignal.abort());
          await e.instance.shutdown?.(never);
        });
      }
      for (const p of [...this.processors].reverse()) {
        await p.instance.start?.();
        started.push(async () => p.instance.shutdown?.(AbortSignal.abort()));
      }
      for (const r of this.receivers) {
        await r.instance.start?.();
        started.push(async () => r.instance.shutdown?.(AbortSignal.abort()));
      }
    } catch (e) {
      for (const stop of started.reverse()) await stop().catch(() => undefined);
      throw e;
    }
  }

  /**
   * Stops receivers first, then each pipeline's processors upstream first (each flushes into the next),
   * then drains exporter queues. `signal` is the shutdown deadline.
   */
  async shutdown(signal: AbortSignal): Promise<void> {
    const errors: unknown[] = [];
    const run = async (what: string, f: () => Promise<void> | undefined) => {
      try {
        await f();
      } catch (e) {
        errors.push(e);
        this.opts.logger.error({ err: e, component: what }, 'shutdown failed');
      }
    };
    await Promise.all(this.receivers.map((r) => run(r.id, () => r.instance.shutdown?.(signal))));
    for (const p of this.processors) {
      await run(p.id, () => p.instance.shutdown?.(signal));
      p.dropLog.close();
    }
    await Promise.all(this.exporters.map((e) => run(e.id, () => e.queue.shutdown(signal))));
    await Promise.all(this.exporters.map((e) => run(e.id, () => e.instance.shutdown?.(signal))));
    if (errors.length > 0) throw new AggregateError(errors, 'shutdown completed with errors');
  }
}
