/**
 * The moving parts of the durability tests: a Zipkin JSON trace of known span ids, a stream of concurrent
 * senders that records which traces the daemon acknowledged (202), the daemon YAML of one Zipkin receiver
 * in front of one exporter with a persistent queue, and a wait for acknowledged traces to be stored.
 */
import { randomBytes } from 'node:crypto';

/** Span ids 1..n as 16 hex digits: the ids every generated trace carries, in order. */
export function spanIds(n: number): string[] {
  return Array.from({ length: n }, (_, i) => (i + 1).toString(16).padStart(16, '0'));
}

export interface TraceShape {
  spans: number;
  service: string;
  /** When set, the first span is a SERVER and the others CLIENT calls to this service. */
  remoteService?: string;
}

/** One trace as a Zipkin v2 JSON body: span 1 is the root, every other span its child. */
export function zipkinTraceJson(traceId: string, shape: TraceShape): string {
  const now = Date.now() * 1000;
  const ids = spanIds(shape.spans);
  return JSON.stringify(
    ids.map((id, i) => ({
      traceId,
      id,
      ...(i > 0 ? { parentId: ids[0] } : {}),
      ...(shape.remoteService === undefined ? {} : { kind: i === 0 ? 'SERVER' : 'CLIENT' }),
      name: `op-${i}`,
      timestamp: now + i,
      duration: 1000 + i,
      localEndpoint: { serviceName: shape.service },
      ...(i > 0 && shape.remoteService !== undefined ? { remoteEndpoint: { serviceName: shape.remoteService } } : {}),
      tags: { i: String(i) },
    })),
  );
}

export interface TraceStreamOptions {
  /** The daemon's Zipkin receiver port, read before each post: a restarted daemon may listen elsewhere. */
  port: () => number;
  trace: TraceShape;
  senders: number;
  /** Pause of each sender after every post; 0 sends as fast as the daemon answers. */
  pauseMs?: number;
  /** Pause of a sender after a post failed (the daemon is down or restarting), at least `pauseMs`. */
  retryPauseMs?: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Posts traces from concurrent senders until stopped; records the trace ids answered 202, in order. */
export class TraceStream {
  readonly acknowledged: string[] = [];
  private running = true;
  private readonly senders: Promise<void>[];

  constructor(options: TraceStreamOptions) {
    const pauseMs = options.pauseMs ?? 0;
    const retryPauseMs = Math.max(pauseMs, options.retryPauseMs ?? 50);
    this.senders = Array.from({ length: options.senders }, async () => {
      while (this.running) {
        const traceId = randomBytes(16).toString('hex');
        let pause = pauseMs;
        try {
          const res = await fetch(`http://127.0.0.1:${options.port()}/api/v2/spans`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: zipkinTraceJson(traceId, options.trace),
          });
          if (res.status === 202) this.acknowledged.push(traceId);
        } catch {
          pause = retryPauseMs;
        }
        if (pause > 0) await sleep(pause);
      }
    });
  }

  /** Resolves once `count` traces in all were acknowledged; throws after `timeoutMs`. */
  async until(count: number, timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.acknowledged.length < count) {
      if (Date.now() > deadline) throw new Error(`only ${this.acknowledged.length} of ${count} traces acknowledged`);
      await sleep(20);
    }
  }

  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.senders);
  }
}

export interface DurablePipelineOptions {
  /** Port of the Zipkin receiver on 127.0.0.1. */
  port: number;
  /** The exporter's type, as in YAML. */
  exporter: string;
  /** The exporter's own settings as YAML lines without indentation. */
  settings: string;
  /** Directory of the persistent sending queue. */
  storage: string;
  numConsumers?: number;
  retry: { initial: string; max: string };
}

/** Daemon YAML: Zipkin receiver -> batch -> one exporter with a persistent queue that retries forever. */
export function durablePipelineYaml(o: DurablePipelineOptions): string {
  const settings = o.settings
    .trim()
    .split('\n')
    .map((line) => `    ${line}`)
    .join('\n');
  return `
receivers:
  zipkin:
    endpoint: 127.0.0.1:${o.port}
processors:
  batch:
    timeout: 20ms
exporters:
  ${o.exporter}:
${settings}
    sending_queue:
      storage: ${o.storage}${o.numConsumers === undefined ? '' : `\n      num_consumers: ${o.numConsumers}`}
    retry_on_failure:
      initial_interval: ${o.retry.initial}
      max_interval: ${o.retry.max}
      max_elapsed_time: 0s
service:
  telemetry:
    metrics:
      enabled: false
  pipelines:
    traces:
      receivers: [zipkin]
      processors: [batch]
      exporters: [${o.exporter}]
`;
}

/**
 * The ids among `ids` whose stored span count is not `spans` once `timeoutMs` passes; [] as soon as all
 * are stored. `stored` is asked with the ids still missing and answers span counts per trace id; a
 * failing read counts as nothing stored yet.
 */
export async function missingTraces(
  ids: string[],
  spans: number,
  stored: (missing: string[]) => Promise<Map<string, number>>,
  timeoutMs = 60_000,
): Promise<string[]> {
  const deadline = Date.now() + timeoutMs;
  let missing = ids;
  for (;;) {
    const counts = await stored(missing).catch(() => new Map<string, number>());
    missing = missing.filter((id) => counts.get(id) !== spans);
    if (missing.length === 0 || Date.now() > deadline) return missing;
    await sleep(250);
  }
}
