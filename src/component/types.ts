/**
 * The typed interfaces between the engine and components. Built-in components and plugins use exactly
 * these; the engine never names a component type.
 */
import type { Logger } from 'pino';
import type { SpanBatch } from '../model/span.js';
import type { InferShape, ObjectSchema, Path, Shape } from '../config/schema.js';
import type { SelfMetrics } from '../telemetry/metrics.js';

export type ComponentKind = 'receiver' | 'processor' | 'exporter' | 'extension';

export type Stability = 'development' | 'alpha' | 'beta' | 'stable' | 'deprecated';

/**
 * Receives a batch and settles when the batch is accepted (queued by every exporter downstream, or held
 * by a processor that owns it from then on). It rejects with a {@link RefusedError} when the data is not
 * accepted; the sender should then retry (retryable) or give up (permanent).
 * The caller must not touch the batch after the call.
 */
export interface SpanConsumer {
  consume(batch: SpanBatch): Promise<void>;
  /**
   * Early refusal: asks, before a request is read or decoded, whether data of about `bytes` encoded bytes
   * (`undefined` when the size is not known yet) would be refused now. Receivers call it once per request
   * where they can refuse cheaply (the HTTP server before reading the body, gRPC before decoding) and answer
   * a returned error exactly as if `consume` had rejected with it, without decoding anything.
   *
   * The contract: synchronous, cheap, no side effects on data. `undefined` is no promise that `consume`
   * will accept; a returned error must be what `consume` would reject with. Optional: a consumer without
   * it is asked nothing. The engine forwards it from a receiver to every pipeline the receiver feeds (a
   * refusal by one is the answer) and through `process`-style processors; a processor that holds data
   * (`consume`-style) answers for everything downstream of it.
   */
  admit?(bytes: number | undefined): RefusedError | undefined;
}

/** Why data was refused, and whether the sender should try again. */
export class RefusedError extends Error {
  override readonly name = 'RefusedError';
  constructor(
    message: string,
    readonly retryable: boolean,
    /** A hint for Retry-After, in milliseconds. */
    readonly retryAfterMs = 0,
    /** A short label for metrics, e.g. `queue_full`, `shutting_down`, `memory_limit`. */
    readonly reason = retryable ? 'backpressure' : 'permanent',
  ) {
    super(message);
  }
}

/** True for a RefusedError, also one made by another copy of spanline (a plugin's own dependency). */
export function isRefused(e: unknown): e is RefusedError {
  return e instanceof Error && e.name === 'RefusedError' && typeof (e as RefusedError).retryable === 'boolean';
}

/** The outcome of one export attempt. Retry is the framework's job; an exporter only classifies. */
export type ExportResult =
  | { readonly code: 'success' }
  | {
      readonly code: 'retryable';
      readonly error: Error;
      /** The server asked to wait this long (Retry-After, gRPC RetryInfo). */
      readonly retryAfterMs?: number;
      /** Only these spans need another attempt (per-item results such as `_bulk`); default all. */
      readonly retry?: SpanBatch;
    }
  | { readonly code: 'permanent'; readonly error: Error };

export const SUCCESS: ExportResult = Object.freeze({ code: 'success' });

export function retryable(error: Error, retryAfterMs?: number, retry?: SpanBatch): ExportResult {
  return { code: 'retryable', error, retryAfterMs, retry };
}

export function permanent(error: Error): ExportResult {
  return { code: 'permanent', error };
}

/**
 * `export()` of an exporter that has `prepareRequest()`: prepares the batch and sends it once. A batch
 * that cannot be prepared is a permanent failure.
 */
export async function prepareAndSend(
  prepareRequest: (batch: SpanBatch) => Promise<PreparedRequest>,
  batch: SpanBatch,
  signal: AbortSignal,
): Promise<ExportResult> {
  let request: PreparedRequest;
  try {
    request = await prepareRequest(batch);
  } catch (e) {
    return permanent(e instanceof Error ? e : new Error(String(e)));
  }
  return request.send(signal);
}

export interface Lifecycle {
  /** Called once, downstream components first. Rejecting aborts start-up. */
  start?(): Promise<void>;
  /**
   * Called once, upstream components first, after the component upstream has stopped sending. Must flush
   * what the component holds to its next consumer before resolving; `signal` aborts at the deadline.
   */
  shutdown?(signal: AbortSignal): Promise<void>;
}

/** What every component gets besides its config. */
export interface ComponentContext {
  /** `type` or `type/name`, as written in the config. */
  readonly id: string;
  readonly logger: Logger;
  readonly metrics: SelfMetrics;
  /** Directory of the first config file; relative paths in configs resolve against it. */
  readonly configDir: string;
}

export interface ReceiverContext extends ComponentContext {
  /** Every pipeline that lists this receiver, fanned out. */
  readonly next: SpanConsumer;
}

export interface ProcessorContext extends ComponentContext {
  readonly pipeline: string;
  readonly next: SpanConsumer;
  /**
   * True when an exporter of this pipeline has a persistent queue, so that senders expect to be
   * acknowledged only once their spans are on disk. A processor that holds data (like `batch`) should
   * then settle a sender's consume() only when its spans were accepted downstream. Absent means false.
   */
  readonly durableDownstream?: boolean;
  /** Counts spans this processor drops, with a reason; logs them once per interval with a count. */
  dropped(count: number, reason: string): void;
}

export type ExporterContext = ComponentContext;

export interface ExtensionContext extends ComponentContext {
  /** True while every pipeline is running. */
  readonly pipelinesReady: () => boolean;
}

export type Receiver = Lifecycle;

/**
 * A processor either transforms batches (`process`, the framework forwards what it returns and counts the
 * spans it removed) or takes over the flow (`consume`, for processors that hold data, like `batch`; they
 * call `context.next` themselves).
 */
export type Processor =
  | (Lifecycle & {
      process(batch: SpanBatch): SpanBatch | undefined | Promise<SpanBatch | undefined>;
      /** Early refusal, as {@link SpanConsumer.admit}; without it the question goes to the next consumer. */
      admit?(bytes: number | undefined): RefusedError | undefined;
    })
  | (Lifecycle & SpanConsumer);

export interface Exporter extends Lifecycle {
  /**
   * Sends one batch. `signal` aborts when the attempt times out or shutdown's deadline passes. Must not
   * throw for a bad batch: classify it as permanent.
   */
  export(batch: SpanBatch, signal: AbortSignal): Promise<ExportResult>;
  /**
   * Optional, for an exporter whose request can be built ahead of sending it (a file's bytes, an HTTP
   * body). The sending queue then calls `prepareRequest` once per batch, lets the spans go, and makes every
   * attempt, retries included, with `send` of the prepared request: spans are not held in memory while
   * their bytes are written or retried. A throw is a permanent failure (the batch cannot be encoded).
   * `export` stays the one-shot form (prepareRequest, then send), used when the queue is disabled.
   */
  prepareRequest?(batch: SpanBatch): Promise<PreparedRequest>;
}

/** A request built by {@link Exporter.prepareRequest}. */
export interface PreparedRequest {
  /**
   * One attempt to send the whole request, classified as export() classifies it; a `retry` subset in a
   * retryable result is ignored (the request is retried whole).
   */
  send(signal: AbortSignal): Promise<ExportResult>;
}

export interface Extension extends Lifecycle {
  /** Called after every pipeline started, and before any stops. */
  pipelinesReady?(): void;
  pipelinesNotReady?(): void;
}

interface FactoryBase<K extends ComponentKind, S extends Shape> {
  readonly kind: K;
  /** lower_snake_case, as written in YAML. */
  readonly type: string;
  readonly stability: Stability;
  /** One sentence for `spanline components` and the README. */
  readonly description: string;
  readonly config: ObjectSchema<S>;
  /**
   * Checks that span several keys (the schema checks each key alone). Returns problems with paths
   * relative to the component's config; an empty list when the config is valid.
   */
  validate?(config: InferShape<S>): { path: Path; message: string }[];
}

export interface ReceiverFactory<S extends Shape = Shape> extends FactoryBase<'receiver', S> {
  create(config: InferShape<S>, context: ReceiverContext): Receiver;
}

export interface ProcessorFactory<S extends Shape = Shape> extends FactoryBase<'processor', S> {
  /** True if `process`/`consume` changes spans in place; fan-out then gives this pipeline its own copy. */
  readonly mutatesData: boolean;
  create(config: InferShape<S>, context: ProcessorContext): Processor;
}

export interface ExporterFactory<S extends Shape = Shape> extends FactoryBase<'exporter', S> {
  create(config: InferShape<S>, context: ExporterContext): Exporter;
}

export interface ExtensionFactory<S extends Shape = Shape> extends FactoryBase<'extension', S> {
  create(config: InferShape<S>, context: ExtensionContext): Extension;
}

export type ComponentFactory = ReceiverFactory | ProcessorFactory | ExporterFactory | ExtensionFactory;

// Typed constructors: they check a factory's `create` against its schema and fix its kind.
export function defineReceiver<S extends Shape>(f: Omit<ReceiverFactory<S>, 'kind'>): ReceiverFactory<S> {
  return Object.freeze({ ...f, kind: 'receiver' as const });
}
export function defineProcessor<S extends Shape>(f: Omit<ProcessorFactory<S>, 'kind'>): ProcessorFactory<S> {
  return Object.freeze({ ...f, kind: 'processor' as const });
}
export function defineExporter<S extends Shape>(f: Omit<ExporterFactory<S>, 'kind'>): ExporterFactory<S> {
  return Object.freeze({ ...f, kind: 'exporter' as const });
}
export function defineExtension<S extends Shape>(f: Omit<ExtensionFactory<S>, 'kind'>): ExtensionFactory<S> {
  return Object.freeze({ ...f, kind: 'extension' as const });
}

/** What a plugin module exports (as `default` or as `plugin`). */
export interface Plugin {
  readonly name: string;
  readonly components: readonly ComponentFactory[];
}

export function definePlugin(p: Plugin): Plugin {
  return Object.freeze({ ...p });
}
