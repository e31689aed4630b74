/**
 * The root endpoint (`GET /`) that Elasticsearch's `rest-root` module serves, in front of an Elasticsearch
 * node that does not have that module: the integ-test zip distribution on Maven Central leaves it out and
 * answers `GET /` with 405. The Zipkin server reads the cluster's version there and reports its storage
 * DOWN without it, so a test that puts a real Zipkin server on the real ES 8 node goes through this.
 *
 * Only `GET /` and `HEAD /` are answered here, with the name, cluster name and version that the node itself
 * reports in `GET /_nodes/_local`; `OPTIONS *` (the HTTP client's connection check) gets 200; every other
 * request is forwarded to the node unchanged, and its answer comes back unchanged.
 */
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface EsRootShim {
  /** `http://127.0.0.1:<port>`. */
  readonly url: string;
  close(): Promise<void>;
}

export async function startEsRootShim(nodeUrl: string): Promise<EsRootShim> {
  const info = (await (await fetch(`${nodeUrl}/_nodes/_local`)).json()) as {
    cluster_name: string;
    nodes: Record<string, { name: string; version: string; build_flavor?: string; build_type?: string; build_hash?: string }>;
  };
  const node = Object.values(info.nodes)[0];
  const root = JSON.stringify({
    name: node.name,
    cluster_name: info.cluster_name,
    version: { number: node.version, build_flavor: node.build_flavor ?? 'default', build_type: node.build_type, build_hash: node.build_hash },
    tagline: 'You Know, for Search',
  });
  const target = new URL(nodeUrl);
  const server: Server = createServer((req, res) => {
    if (req.url === '*') {
      res.writeHead(200).end();
      return;
    }
    if (req.url === '/' && (req.method === 'GET' || req.method === 'HEAD')) {
      res.writeHead(200, { 'content-type': 'application/json', 'x-elastic-product': 'Elasticsearch' });
      res.end(req.method === 'GET' ? root : undefined);
      return;
    }
    const upstream = request({ host: target.hostname, port: target.port, path: req.url, method: req.method, headers: req.headers }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    upstream.on('error', (e) => res.writeHead(502).end(`es-root-shim: ${e.message}`));
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
