/**
 * One running spanline: self-metrics endpoint, extensions, and the pipeline graph, with an explicit
 * lifecycle. Extensions start before pipelines and stop after them.
 */
import { createServer, type Server } from 'node:http';
import type { Logger } from 'pino';
import type { ResolvedConfig } from '../config/resolve.js';
import { PipelineGraph } from '../pipeline/graph.js';
import { SelfMetrics } from '../telemetry/metrics.js';
import { listen, closeServer } from './http.js';

export interface ServiceOptions {
  logger: Logger;
  configDir: string;
  metrics?: SelfMetrics;
}

type State = 'created' | 'starting' | 'running' | 'stopping' | 'stopped';

export class Service {
  readonly metrics: SelfMetrics;
  private readonly graph: PipelineGraph;
  /** The service's logger, at the configured level. */
  readonly logger: Logger;
  private state: State = 'created';
  private metricsServer: Server | undefined;
  private stopped: Promise<void> | undefined;

  /** Creates every component; throws if a factory rejects its config. Nothing listens yet. */
  constructor(
    private readonly config: ResolvedConfig,
    opts: ServiceOptions,
  ) {
    this.logger = opts.logger;
    this.metrics = opts.metrics ?? new SelfMetrics();
    this.graph = new PipelineGraph(config, {
      metrics: this.metrics,
      logger: this.logger,
      configDir: opts.configDir,
      pipelinesReady: () => this.state === 'running',
    });
  }

  get ready(): boolean {
    return this.state === 'running';
  }

  /** Address the metrics endpoint listens on, once started (useful with port 0). */
  metricsAddress(): string | undefined {
    const a = this.metricsServer?.address();
    return a && typeof a === 'object' ? `${a.address}:${a.port}` : undefined;
  }

  async start(): Promise<void> {
    if (this.state !== 'created') throw new Error(`cannot start a service that is ${this.state}`);
    this.state = 'starting';
    const telemetry = this.config.service.telemetry.metrics;
    const startedExtensions: typeof this.graph.extensions = [];
    try {
      if (telemetry.enabled) {
        this.metricsServer = createServer((req, res) => {
          if (req.url === '/metrics' || req.url?.startsWith('/metrics?')) {
            this.metrics.text().then(
              (body) => {
                res.writeHead(200, { 'content-type': this.metrics.registry.contentType });
                res.end(body);
              },
              (e: unknown) => {
                res.writeHead(500).end(String(e));
              },
            );
          } else res.writeHead(404, { 'content-type': 'text/plain' }).end('not found; try /metrics\n');
        });
        await listen(this.metricsServer, telemetry.address);
      }
      for (const e of this.graph.extensions) {
        await e.instance.start?.();
        startedExtensions.push(e);
      }
      await this.graph.start();
    } catch (e) {
      this.state = 'stopped';
      for (const ext of startedExtensions.reverse()) await ext.instance.shutdown?.(AbortSignal.abort()).catch(() => undefined);
      if (this.metricsServer) await closeServer(this.metricsServer);
      throw e;
    }
    this.state = 'running';
    for (const e of this.graph.extensions) e.instance.pipelinesReady?.();
    this.logger.info(
      { pipelines: this.config.pipelines.map((p) => p.id), metrics: this.metricsAddress() },
      'spanline is running',
    );
  }

  /** Stops receiving, drains processors and queues until `timeoutMs`, then stops extensions. Idempotent. */
  shutdown(timeoutMs = this.config.service.shutdown_timeout): Promise<void> {
    this.stopped ??= this.doShutdown(timeoutMs);
    return this.stopped;
  }

  private async doShutdown(timeoutMs: number): Promise<void> {
    if (this.state !== 'running') {
      this.state = 'stopped';
      return;
    }
    this.state = 'stopping';
    for (const e of this.graph.extensions) e.instance.pipelinesNotReady?.();
    const deadline = AbortSignal.timeout(timeoutMs);
    const t0 = Date.now();
    try {
      await this.graph.shutdown(deadline);
    } finally {
      for (const e of [...this.graph.extensions].reverse()) {
        await e.instance.shutdown?.(deadline).catch((err: unknown) => this.logger.error({ err, component: e.id }, 'extension shutdown failed'));
      }
      if (this.metricsServer) await closeServer(this.metricsServer);
      this.state = 'stopped';
      this.logger.info({ ms: Date.now() - t0 }, 'spanline stopped');
    }
  }
}
