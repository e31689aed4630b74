import { Counter, Gauge, Histogram, Registry } from 'prom-client';

/**
 * The daemon's own metrics, in one registry per running service (tests run several in one process).
 * Names follow Prometheus conventions; every drop anywhere is counted in one of these.
 */
export class SelfMetrics {
  readonly registry = new Registry();

  readonly receiverReceived = this.counter(
    'spanline_receiver_received_spans_total',
    'Spans decoded by a receiver, before the pipeline accepted or refused them.',
    ['receiver', 'transport'],
  );
  readonly receiverAccepted = this.counter(
    'spanline_receiver_accepted_spans_total',
    'Spans a receiver handed to its pipelines and that were accepted.',
    ['receiver', 'transport'],
  );
  readonly receiverRefused = this.counter(
    'spanline_receiver_refused_spans_total',
    'Spans refused by the pipelines (the sender was told to retry or give up).',
    ['receiver', 'transport', 'reason'],
  );
  readonly receiverMalformed = this.counter(
    'spanline_receiver_malformed_requests_total',
    'Requests refused before decoding completed (bad encoding, too large, unsupported type).',
    ['receiver', 'transport', 'reason'],
  );
  readonly processorDropped = this.counter(
    'spanline_processor_dropped_spans_total',
    'Spans a processor dropped on purpose or could not pass on, by reason.',
    ['processor', 'pipeline', 'reason'],
  );
  readonly exporterSent = this.counter(
    'spanline_exporter_sent_spans_total',
    'Spans an exporter delivered.',
    ['exporter'],
  );
  readonly exporterFailed = this.counter(
    'spanline_exporter_send_failed_spans_total',
    'Spans an exporter gave up on (permanent error, retries exhausted, or shutdown deadline).',
    ['exporter', 'reason'],
  );
  readonly exporterRetries = this.counter(
    'spanline_exporter_retries_total',
    'Export attempts that failed with a retryable error and were scheduled again.',
    ['exporter'],
  );
  readonly exporterEnqueueFailed = this.counter(
    'spanline_exporter_enqueue_failed_spans_total',
    'Spans refused because the exporter queue was full.',
    ['exporter'],
  );
  readonly exporterQueueSize = this.gauge(
    'spanline_exporter_queue_size',
    'Spans waiting in the exporter queue, including batches being sent.',
    ['exporter'],
  );
  readonly exporterQueueBytes = this.gauge(
    'spanline_exporter_queue_bytes',
    'Estimated memory held by batches in the exporter queue (queued and being sent).',
    ['exporter'],
  );
  readonly exporterStorageBytes = this.gauge(
    'spanline_exporter_queue_storage_bytes',
    'Bytes of undelivered spans in the exporter\'s persistent queue on disk.',
    ['exporter'],
  );
  readonly exporterQueueCapacity = this.gauge(
    'spanline_exporter_queue_capacity',
    'Capacity of the exporter queue, in spans.',
    ['exporter'],
  );
  readonly exportDuration = new Histogram({
    name: 'spanline_exporter_send_duration_seconds',
    help: 'Duration of one export attempt.',
    labelNames: ['exporter', 'outcome'],
    buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 30],
    registers: [this.registry],
  });

  /** A counter for a component's own use (plugins too). Registering the same name twice returns it. */
  counter<L extends string>(name: string, help: string, labelNames: readonly L[]): Counter<L> {
    const existing = this.registry.getSingleMetric(name);
    if (existing) return existing as Counter<L>;
    return new Counter({ name, help, labelNames, registers: [this.registry] });
  }

  gauge<L extends string>(name: string, help: string, labelNames: readonly L[]): Gauge<L> {
    const existing = this.registry.getSingleMetric(name);
    if (existing) return existing as Gauge<L>;
    return new Gauge({ name, help, labelNames, registers: [this.registry] });
  }

  /** Prometheus text exposition. */
  text(): Promise<string> {
    return this.registry.metrics();
  }
}
