/**
 * End to end: spans posted to spanline's zipkin receiver go out through the elasticsearch exporter into
 * the OpenSearch 2 and the Elasticsearch 8 test clusters, and a real Zipkin server (the exec jar,
 * STORAGE_TYPE=elasticsearch on the same cluster and index prefix) answers its query API from what we
 * wrote: traces by id, searches by service, span name, annotation query and duration, service and span
 * names, autocomplete, and dependency links.
 *
 * Zipkin reads the server version from `GET /`, which the ES 8 integ-test distribution does not serve
 * (its `rest-root` module is left out; ES answers 405), so Zipkin reaches ES 8 through
 * helpers/es-root-shim.ts, which answers that one request with the node's own version and forwards the
 * rest. spanline writes to the node directly.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { Daemon, freePort } from '../../helpers/daemon.js';
import { service } from '../../helpers/services.js';
import { tempDir, writeTemp } from '../../helpers/tmp.js';
import { startZipkinServer, type ZipkinServer } from '../../helpers/zipkin-server.js';
import { startEsRootShim, type EsRootShim } from '../../helpers/es-root-shim.js';

type ZipkinSpan = Record<string, unknown> & { traceId: string; id: string; kind?: string; shared?: boolean };

let servers: ZipkinServer[] = [];
let daemons: Daemon[] = [];
afterEach(async () => {
  await Promise.all(daemons.map((d) => d.stop('SIGKILL')));
  daemons = [];
});
let shims: EsRootShim[] = [];
afterAll(async () => {
  await Promise.all(servers.map((z) => z.stop()));
  servers = [];
  await Promise.all(shims.map((s) => s.close()));
  shims = [];
});

/** Each cluster: where spanline writes, and where the Zipkin server reads (the same node). */
const CLUSTERS = {
  'OpenSearch 2': () => {
    const url = service('opensearch').OPENSEARCH_URL;
    return { url, zipkinUrl: async () => url };
  },
  'Elasticsearch 8': () => {
    const url = service('elasticsearch').ELASTICSEARCH_URL;
    return {
      url,
      zipkinUrl: async () => {
        const shim = await startEsRootShim(url);
        shims.push(shim);
        return shim.url;
      },
    };
  },
};

const prefixes: { base: string; prefix: string }[] = [];
afterAll(async () => {
  for (const { base, prefix } of prefixes) {
    const cat = (await (await fetch(`${base}/_cat/indices/${prefix}-*?format=json&h=index`)).json()) as { index: string }[];
    for (const { index } of cat) await fetch(`${base}/${index}`, { method: 'DELETE' });
    for (const type of ['span', 'dependency', 'autocomplete']) await fetch(`${base}/_template/${prefix}-${type}_template`, { method: 'DELETE' });
  }
});

/**
 * The fixtures with fresh trace ids, the same in the sent and the normalised texts, and moved to an hour
 * ago (Zipkin lists services and span names of the last QUERY_LOOKBACK only, at most 24 days).
 */
function fresh(...texts: string[]): string[] {
  const ids = new Map<string, string>();
  const second = Math.floor(Date.now() / 1000) - 3600;
  return texts.map((t) =>
    t.replace(/\b1732192000(\d{6})\b/g, (_m, micros: string) => `${second}${micros}`).replace(/"traceId": ?"([0-9a-f]+)"/g, (_m, id: string) => {
      if (/^0+[0-9a-f]{16}$/.test(id) && id.length === 32) id = id.slice(16);
      if (!ids.has(id)) ids.set(id, randomBytes(id.length / 2).toString('hex'));
      return `"traceId": "${ids.get(id)}"`;
    }),
  );
}

const byIdentity = (a: ZipkinSpan, b: ZipkinSpan) => {
  const ka = `${a.traceId}/${a.id}/${a.kind ?? ''}/${a.shared ?? ''}`;
  const kb = `${b.traceId}/${b.id}/${b.kind ?? ''}/${b.shared ?? ''}`;
  return ka < kb ? -1 : ka > kb ? 1 : 0;
};

async function getJson<T>(url: string): Promise<T> {
  const res = await fetch(url);
  expect(res.status, url).toBe(200);
  return (await res.json()) as T;
}

describe.each(Object.keys(CLUSTERS) as (keyof typeof CLUSTERS)[])('elasticsearch exporter → %s → real Zipkin server', (name) => {
  it("Zipkin's query API answers from the spans and links we wrote", { timeout: 300_000 }, async () => {
    const cluster = CLUSTERS[name]();
    const prefix = `spanline-e2e-${randomBytes(4).toString('hex')}`;
    prefixes.push({ base: cluster.url, prefix });
    const fixture = (name: string) => readFileSync(`test/fixtures/zipkin/${name}`, 'utf8');
    const [sent, stored] = fresh(fixture('client-server.json'), fixture('client-server.normalized.json'));
    const expected = (JSON.parse(stored) as ZipkinSpan[]).sort(byIdentity);
    const traceId = expected.find((s) => s.name === 'get /api/orders')!.traceId;
    const tickTraceId = expected.find((s) => s.name === 'tick')!.traceId;

    const dir = tempDir();
    const [receiverPort, metricsPort] = [await freePort(), await freePort()];
    const cfg = writeTemp(
      'spanline.yaml',
      `
receivers:
  zipkin: { endpoint: "127.0.0.1:${receiverPort}" }
exporters:
  elasticsearch:
    endpoints: [${cluster.url}]
    index: ${prefix}
    index_shards: 1
    index_replicas: 0
    dependencies: { interval: 1s }
    autocomplete_keys: [http.method, http.path]
    retry_on_failure: { initial_interval: 100ms, max_elapsed_time: 20s }
service:
  pipelines:
    traces: { receivers: [zipkin], exporters: [elasticsearch] }
  telemetry: { metrics: { address: "127.0.0.1:${metricsPort}" } }
`,
      dir,
    );
    const d = await Daemon.start(['--config', cfg], { cwd: dir });
    daemons.push(d);
    const res = await fetch(`http://127.0.0.1:${receiverPort}/api/v2/spans`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: sent });
    expect(res.status).toBe(202);
    await expect
      .poll(async () => (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text(), { timeout: 20_000 })
      .toContain('spanline_exporter_sent_spans_total{exporter="elasticsearch"} 3');
    // Shutdown links the days written to a last time.
    expect(await d.stop()).toBe(0);

    const zipkin = await startZipkinServer({
      env: {
        STORAGE_TYPE: 'elasticsearch',
        ES_HOSTS: await cluster.zipkinUrl(),
        ES_INDEX: prefix,
        ES_INDEX_SHARDS: '1',
        ES_INDEX_REPLICAS: '0',
        AUTOCOMPLETE_KEYS: 'http.method,http.path',
      },
    });
    servers.push(zipkin);
    const api = `${zipkin.url}/api/v2`;
    const window = `endTs=${Date.now()}&lookback=${2 * 86_400_000}`;

    const trace = (await getJson<ZipkinSpan[]>(`${api}/trace/${traceId}`)).sort(byIdentity);
    expect(trace).toEqual(expected.filter((s) => s.traceId === traceId));
    expect(await getJson<ZipkinSpan[]>(`${api}/trace/${tickTraceId}`)).toEqual(expected.filter((s) => s.traceId === tickTraceId));

    const searches: { query: string; traces: string[] }[] = [
      { query: 'serviceName=frontend', traces: [traceId] },
      { query: 'serviceName=orders', traces: [traceId] },
      { query: 'serviceName=scheduler', traces: [tickTraceId] },
      { query: 'serviceName=frontend&remoteServiceName=orders', traces: [traceId] },
      { query: `spanName=${encodeURIComponent('get /api/orders')}`, traces: [traceId] },
      { query: 'spanName=tick', traces: [tickTraceId] },
      { query: `annotationQuery=${encodeURIComponent('http.path=/api/orders')}`, traces: [traceId] },
      { query: `annotationQuery=${encodeURIComponent('ws and http.status_code=200')}`, traces: [traceId] },
      { query: 'annotationQuery=error', traces: [traceId] },
      { query: `annotationQuery=${encodeURIComponent('http.path=/nowhere')}`, traces: [] },
      { query: 'minDuration=20000', traces: [traceId] },
      { query: 'minDuration=100&maxDuration=200', traces: [tickTraceId] },
      { query: 'minDuration=20001', traces: [] },
      { query: '', traces: [tickTraceId, traceId].sort() },
    ];
    for (const { query, traces } of searches) {
      const found = await getJson<ZipkinSpan[][]>(`${api}/traces?${window}&limit=10${query ? '&' + query : ''}`);
      expect(found.map((t) => t[0].traceId).sort(), query).toEqual(traces);
    }

    expect(await getJson<string[]>(`${api}/services`)).toEqual(['frontend', 'orders', 'scheduler']);
    expect(await getJson<string[]>(`${api}/spans?serviceName=frontend`)).toEqual(['get /api/orders']);
    expect(await getJson<string[]>(`${api}/remoteServices?serviceName=frontend`)).toEqual(['orders']);
    expect(await getJson<string[]>(`${api}/autocompleteKeys`)).toEqual(['http.method', 'http.path']);
    expect(await getJson<string[]>(`${api}/autocompleteValues?key=http.path`)).toEqual(['/api/orders']);
    expect(await getJson<string[]>(`${api}/autocompleteValues?key=http.method`)).toEqual(['GET']);
    expect(await getJson<unknown[]>(`${api}/dependencies?${window}`)).toEqual([{ parent: 'frontend', child: 'orders', callCount: 1, errorCount: 1 }]);
  });
});
