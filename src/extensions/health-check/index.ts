/**
 * The `health_check` extension: an HTTP endpoint for load balancers and orchestrators (Kubernetes probes)
 * that answers 200 while every pipeline runs and 503 otherwise. Plain node:http, as it serves one path.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { defineExtension, type Extension, type ExtensionContext } from '../../component/types.js';
import { s, type InferShape } from '../../config/schema.js';
import { closeServer, listen } from '../../service/http.js';

const config = s.object({
  endpoint: s.endpoint().default('0.0.0.0:13133').describe('Address to listen on, "host:port".'),
  path: s
    .string()
    .matches(/^\/[^?#\s]*$/, 'a path starting with "/"')
    .default('/')
    .describe('Path that answers the health check; other paths get 404.'),
});

export type HealthCheckConfig = InferShape<typeof config.shape>;

export interface HealthCheck extends Extension {
  /** The address the server is bound to once started (the real port when configured with port 0). */
  address(): AddressInfo | undefined;
}

const JSON_TYPE = 'application/json; charset=utf-8';

export function createHealthCheck(cfg: HealthCheckConfig, context: ExtensionContext): HealthCheck {
  let server: Server | undefined;
  /** When the pipelines last became ready; reported as `upSince`. */
  let readySince: Date | undefined;

  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    const path = (req.url ?? '/').split('?', 1)[0];
    if (path !== cfg.path) {
      res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end(`not found; the health check is at ${cfg.path}\n`);
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain; charset=utf-8' }).end('use GET\n');
      return;
    }
    if (context.pipelinesReady()) {
      readySince ??= new Date();
      res.writeHead(200, { 'content-type': JSON_TYPE, 'cache-control': 'no-store' });
      res.end(JSON.stringify({ status: 'Server available', upSince: readySince.toISOString() }));
    } else {
      readySince = undefined;
      res.writeHead(503, { 'content-type': JSON_TYPE, 'cache-control': 'no-store' });
      res.end(JSON.stringify({ status: 'Server not available' }));
    }
  };

  return {
    async start() {
      const httpServer = createServer(handle);
      await listen(httpServer, cfg.endpoint);
      server = httpServer;
      context.logger.info({ endpoint: cfg.endpoint, path: cfg.path }, 'health check listening');
    },
    pipelinesReady() {
      readySince = new Date();
    },
    pipelinesNotReady() {
      readySince = undefined;
    },
    async shutdown() {
      const stopping = server;
      server = undefined;
      if (stopping) await closeServer(stopping);
    },
    address() {
      const a = server?.address();
      return a !== null && typeof a === 'object' ? a : undefined;
    },
  };
}

export const healthCheckExtension = defineExtension({
  type: 'health_check',
  stability: 'beta',
  description: 'Answers HTTP health checks: 200 while every pipeline runs, 503 otherwise.',
  config,
  create: createHealthCheck,
});
