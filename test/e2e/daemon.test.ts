/**
 * End-to-end: the real CLI with YAML files, spans over HTTP, results read from the file it writes.
 */
import { gzipSync, deflateSync } from 'node:zlib';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { Daemon, freePort, runCli } from '../helpers/daemon.js';
import { tempDir, writeTemp } from '../helpers/tmp.js';

const FIXTURE = readFileSync('test/fixtures/zipkin/client-server.json');

let daemons: Daemon[] = [];
afterEach(async () => {
  await Promise.all(daemons.map((d) => d.stop('SIGKILL')));
  daemons = [];
});

async function startWith(yaml: (p: { zipkin: number; metrics: number; health: number; dir: string }) => string, extra: string[] = []) {
  const dir = tempDir();
  const ports = { zipkin: await freePort(), metrics: await freePort(), health: await freePort(), dir };
  const cfg = writeTemp('spanline.yaml', yaml(ports), dir);
  const d = await Daemon.start(['--config', cfg, ...extra], { cwd: dir });
  daemons.push(d);
  return { d, ...ports, url: `http://127.0.0.1:${ports.zipkin}/api/v2/spans` };
}

const basic = ({ zipkin, metrics, health, dir }: { zipkin: number; metrics: number; health: number; dir: string }) => `
receivers:
  zipkin:
    endpoint: 127.0.0.1:${zipkin}
    max_request_body_size: 1MiB
processors:
  batch:
    timeout: 10s
exporters:
  file:
    path: ${join(dir, 'out', 'spans.jsonl')}
extensions:
  health_check:
    endpoint: 127.0.0.1:${health}
service:
  extensions: [health_check]
  pipelines:
    traces:
      receivers: [zipkin]
      processors: [batch]
      exporters: [file]
  telemetry:
    metrics:
      address: 127.0.0.1:${metrics}
`;

const post = (url: string, body: Buffer | string, headers: Record<string, string> = {}) =>
  fetch(url, { method: 'POST', body, headers: { 'content-type': 'application/json', ...headers } });

function readLines(path: string): Record<string, unknown>[] {
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

describe('the embedded default config', () => {
  it('receives Zipkin JSON on :9411-style endpoint, batches and writes ./data/spans.jsonl, drains on SIGTERM', async () => {
    const dir = tempDir();
    const [zipkin, metrics, health] = [await freePort(), await freePort(), await freePort()];
    const d = await Daemon.start(
      ['--set', `service.telemetry.metrics.address=127.0.0.1:${metrics}`, '--set', `extensions.health_check.endpoint=127.0.0.1:${health}`],
      { cwd: dir, env: { SPANLINE_ZIPKIN_ENDPOINT: `127.0.0.1:${zipkin}` } },
    );
    daemons.push(d);
    expect((await fetch(`http://127.0.0.1:${health}/`)).status).toBe(200);
    const res = await post(`http://127.0.0.1:${zipkin}/api/v2/spans`, FIXTURE);
    expect(res.status).toBe(202);
    expect(await d.stop('SIGTERM')).toBe(0);

    const lines = readLines(join(dir, 'data', 'spans.jsonl'));
    expect(lines).toEqual([
      {
        traceId: '5af7183fb1d4cf5f5af7183fb1d4cf5f',
        id: '352bff9a74ca9ad2',
        kind: 'CLIENT',
        name: 'get /api/orders',
        timestamp: 1732192000000000,
        duration: 20000,
        localEndpoint: { serviceName: 'frontend', ipv4: '192.168.99.1', port: 8080 },
        remoteEndpoint: { serviceName: 'orders', ipv4: '192.168.99.2', port: 9000 },
        annotations: [
          { timestamp: 1732192000001000, value: 'ws' },
          { timestamp: 1732192000019000, value: 'wr' },
        ],
        tags: { 'http.method': 'GET', 'http.path': '/api/orders', 'http.status_code': '200' },
      },
      {
        traceId: '5af7183fb1d4cf5f5af7183fb1d4cf5f',
        parentId: '6b221d5bc9e6496c',
        id: '352bff9a74ca9ad2',
        kind: 'SERVER',
        name: 'get /api/orders',
        timestamp: 1732192000002000,
        duration: 16000,
        localEndpoint: { serviceName: 'orders', ipv6: '2001:db8::c001', port: 9000 },
        remoteEndpoint: { ipv4: '192.168.99.1' },
        tags: { error: '', 'http.path': '/api/orders' },
        shared: true,
      },
      {
        traceId: '463ac35c9f6413ad',
        id: 'a2fb4a1d1a96d312',
        name: 'tick',
        timestamp: 1732192000100000,
        duration: 150,
        localEndpoint: { serviceName: 'scheduler' },
        debug: true,
      },
    ]);
    // Tags are written in key order, as Zipkin does.
    expect(Object.keys(lines[0].tags as object)).toEqual(['http.method', 'http.path', 'http.status_code']);
    expect(d.logs().some((l) => l.msg === 'spanline stopped')).toBe(true);
  });
});

describe('zipkin receiver over HTTP', () => {
  it('accepts gzip and deflate bodies and writes every span, flushed on SIGINT', async () => {
    const { d, url, dir } = await startWith(basic);
    expect((await post(url, gzipSync(FIXTURE), { 'content-encoding': 'gzip' })).status).toBe(202);
    expect((await post(url, deflateSync(FIXTURE), { 'content-encoding': 'deflate' })).status).toBe(202);
    expect((await post(url, '[]')).status).toBe(202);
    expect((await post(url, '')).status).toBe(202);
    // The batch timeout is 10s: only the flush on shutdown can have written these.
    expect(await d.stop('SIGINT')).toBe(0);
    const lines = readLines(join(dir, 'out', 'spans.jsonl'));
    expect(lines.map((l) => l.id)).toEqual(['352bff9a74ca9ad2', '352bff9a74ca9ad2', 'a2fb4a1d1a96d312', '352bff9a74ca9ad2', '352bff9a74ca9ad2', 'a2fb4a1d1a96d312']);
  });

  it.each([
    ['not JSON', '[{"traceId":', {}, 400, /JSON|json/],
    ['not a list', '{"traceId":"1"}', {}, 400, /^Expected a JSON_V2 encoded list\n$/],
    ['v1 on the v2 route', '[{"traceId":"1","id":"1","binaryAnnotations":[]}]', {}, 400, /^Expected a JSON_V2 encoded list, but received: JSON_V1\n$/],
    ['a bad trace id', '[{"traceId":"xyz","id":"1"}]', {}, 400, /traceId/],
    ['a corrupt gzip body', Buffer.from('not gzip at all'), { 'content-encoding': 'gzip' }, 400, /^Cannot gunzip spans/],
    ['an unsupported encoding', '[]', { 'content-encoding': 'br' }, 415, /Content-Encoding "br"/],
    // A success row: one proto3 span (trace 463ac35c9f6413ad, service "svc"), accepted with 202 and no body.
    ['proto3', Buffer.from('0a220a08463ac35c9f6413ad1a0848485a3953bb61242a0570726f746f42050a03737663', 'hex'), { 'content-type': 'application/x-protobuf' }, 202, /^$/],
  ])('answers %s with a message naming the problem', async (_n, body, headers, status, message) => {
    const { url } = await startWith(basic);
    const res = await post(url, body, headers as Record<string, string>);
    expect(res.status).toBe(status);
    expect(await res.text()).toMatch(message);
  });

  it('refuses bodies above max_request_body_size, after decompression, with 413', async () => {
    const { url, d } = await startWith(basic);
    const big = Buffer.alloc(2 * 1024 * 1024, 0x20);
    expect((await post(url, big)).status).toBe(413);
    const bomb = gzipSync(Buffer.alloc(64 * 1024 * 1024, 0x20));
    expect(bomb.length).toBeLessThan(1024 * 1024);
    const res = await post(url, bomb, { 'content-encoding': 'gzip' });
    expect(res.status).toBe(413);
    expect(await res.text()).toMatch(/max_request_body_size \(1048576 bytes\)/);
    // Still serving after bad input.
    expect((await post(url, FIXTURE)).status).toBe(202);
    expect(d.child.exitCode).toBe(null);
  });

  it('answers 503 with Retry-After when the exporter queue is full, and counts the refusal', async () => {
    const plugin = resolve('test/fixtures/plugins/always-busy-exporter.mjs');
    const { url, metrics } = await startWith(
      ({ zipkin, metrics: m }) => `
plugins: [${plugin}]
receivers: { zipkin: { endpoint: "127.0.0.1:${zipkin}" } }
exporters:
  always_busy:
    sending_queue: { queue_size: 3, num_consumers: 1 }
service:
  pipelines: { traces: { receivers: [zipkin], exporters: [always_busy] } }
  telemetry: { metrics: { address: "127.0.0.1:${m}" } }
  shutdown_timeout: 1s
`,
    );
    expect((await post(url, FIXTURE)).status).toBe(202);
    const refused = await post(url, FIXTURE);
    expect(refused.status).toBe(503);
    expect(refused.headers.get('retry-after')).toBe('1');
    expect(await refused.text()).toMatch(/queue is full/);
    const text = await (await fetch(`http://127.0.0.1:${metrics}/metrics`)).text();
    expect(text).toContain('spanline_receiver_accepted_spans_total{receiver="zipkin",transport="http_v2_json"} 3');
    // The full queue refuses before the body is read: the request is counted, its spans were never decoded.
    expect(text).toContain('spanline_receiver_refused_requests_total{receiver="zipkin",transport="http_v2_json",reason="queue_full"} 1');
    expect(text).not.toContain('spanline_receiver_refused_spans_total{');
  });

  it('serves self-metrics and the health check', async () => {
    const { url, metrics, health, d } = await startWith(basic);
    expect((await post(url, FIXTURE)).status).toBe(202);
    expect((await post(url, 'nope')).status).toBe(400);
    const text = await (await fetch(`http://127.0.0.1:${metrics}/metrics`)).text();
    expect(text).toContain('spanline_receiver_received_spans_total{receiver="zipkin",transport="http_v2_json"} 3');
    expect(text).toContain('spanline_receiver_malformed_requests_total{receiver="zipkin",transport="http_v2_json",reason="malformed"} 1');
    expect(text).toMatch(/spanline_exporter_queue_capacity\{exporter="file"\} 50000/);
    const h = await fetch(`http://127.0.0.1:${health}/`);
    expect(h.status).toBe(200);
    expect(await h.json()).toMatchObject({ status: 'Server available' });
    await d.stop();
    await expect(fetch(`http://127.0.0.1:${health}/`)).rejects.toThrow();
  });
});

describe('what the daemon loads', () => {
  it('leaves @grpc/grpc-js and mysql2 unloaded while no gRPC or MySQL component runs', async () => {
    const dir = tempDir();
    // Preloaded into the daemon: at exit, it names the packages of the CommonJS modules that were loaded.
    const probe = writeTemp(
      'loaded-packages.mjs',
      `import { createRequire } from 'node:module';
const cache = createRequire(import.meta.url).cache;
process.on('exit', () => {
  const names = new Set(Object.keys(cache).map((p) => /node_modules\\/((?:@[^/]+\\/)?[^/]+)\\//.exec(p)?.[1]).filter(Boolean));
  process.stderr.write('loaded packages: ' + JSON.stringify([...names].sort()) + '\\n');
});
`,
      dir,
    );
    const ports = { zipkin: await freePort(), metrics: await freePort(), health: await freePort(), dir };
    const cfg = writeTemp('spanline.yaml', basic(ports), dir);
    const d = await Daemon.start(['--config', cfg], { cwd: dir, env: { NODE_OPTIONS: `--import ${pathToFileURL(probe).href}` } });
    daemons.push(d);
    expect((await post(`http://127.0.0.1:${ports.zipkin}/api/v2/spans`, FIXTURE)).status).toBe(202);
    expect(await d.stop()).toBe(0);
    const loaded = JSON.parse(/loaded packages: (.*)/.exec(d.stderr)![1]) as string[];
    expect(loaded).toContain('fastify'); // the probe sees what the daemon loads
    expect(loaded).not.toContain('@grpc/grpc-js');
    expect(loaded).not.toContain('mysql2');
  });
});

describe('plugins from YAML', () => {
  it('loads the example plugin and applies its processor to spans', async () => {
    const example = resolve('examples/plugins/url-query-scrubber.mjs');
    const { url, d, dir } = await startWith(
      ({ zipkin, metrics }) => `
plugins: [${example}]
receivers: { zipkin: { endpoint: "127.0.0.1:${zipkin}" } }
processors:
  url_query_scrubber: { attributes: [http.url], replacement: "?redacted" }
exporters:
  file: { path: out.jsonl }
service:
  pipelines: { traces: { receivers: [zipkin], processors: [url_query_scrubber], exporters: [file] } }
  telemetry: { metrics: { address: "127.0.0.1:${metrics}" } }
`,
    );
    const span = (id: string, u: string) => ({ traceId: '1', id, name: 'get', tags: { 'http.url': u } });
    const body = JSON.stringify([span('1', 'https://shop.example/login?token=s3cr3t#top'), span('2', 'https://shop.example/cart')]);
    expect((await post(url, body)).status).toBe(202);
    expect(await d.stop()).toBe(0);
    const lines = readLines(join(dir, 'out.jsonl'));
    expect(lines.map((l) => (l.tags as Record<string, string>)['http.url'])).toEqual([
      'https://shop.example/login?redacted',
      'https://shop.example/cart',
    ]);
  });
});

describe('spanline validate and components', () => {
  it('validate reports every problem as FILE:LINE:COL: path: message and exits 1', async () => {
    const cfg = writeTemp(
      'bad.yaml',
      `receivers:
  zipkin:
    endpoint: 127.0.0.1:9411
    max_body: 1MiB
exporters:
  file:
    path: x.jsonl
service:
  pipelines:
    traces:
      receivers: [zipkin]
      exporters: [files]
`,
    );
    const r = await runCli(['validate', '--config', cfg]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      `spanline: invalid configuration (2 problems):\n` +
        `${cfg}:4:5: receivers.zipkin.max_body: unknown key "max_body"\n` +
        `${cfg}:12:19: service.pipelines.traces.exporters[0]: references exporter "files" which is not configured (did you mean "file"?)\n`,
    );
  });

  it('validate accepts a good config without starting it', async () => {
    const r = await runCli(['validate', '--config', 'config.example.yaml']);
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('configuration is valid: traces\n');
    expect(r.code).toBe(0);
  });

  it('validate names a plugin that fails to load', async () => {
    const cfg = writeTemp('p.yaml', 'plugins: [./missing-plugin.mjs]\n');
    const r = await runCli(['validate', '--config', cfg]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`${cfg}:1:11: plugins[0]: plugin "./missing-plugin.mjs" cannot be loaded: not found`);
  });

  it('components lists built-ins, and plugins when given a config', async () => {
    const builtIn = await runCli(['components']);
    expect(builtIn.code).toBe(0);
    const rows = builtIn.stdout.trim().split('\n').map((l) => l.split(/\s{2,}/));
    expect(rows[0]).toEqual(['KIND', 'TYPE', 'STABILITY', 'SOURCE', 'DESCRIPTION']);
    expect(rows.slice(1).map((r) => `${r[0]}/${r[1]}`)).toEqual([
      'receiver/zipkin',
      'receiver/otlp',
      'processor/memory_limiter',
      'processor/batch',
      'processor/attributes',
      'processor/filter',
      'processor/probabilistic_sampler',
      'processor/redaction',
      'processor/tail_sampling',
      'exporter/file',
      'exporter/debug',
      'exporter/zipkin',
      'exporter/otlp',
      'exporter/otlphttp',
      'exporter/elasticsearch',
      'exporter/mysql',
      'extension/health_check',
    ]);
    const cfg = writeTemp('c.yaml', `plugins: [${resolve('examples/plugins/url-query-scrubber.mjs')}]\n`);
    const withPlugin = await runCli(['components', '--config', cfg]);
    expect(withPlugin.stdout).toMatch(/processor\s+url_query_scrubber\s+alpha\s+plugin "url-query-scrubber"/);
  });

  it('the daemon refuses to start on a bad config, with exit code 1', async () => {
    const r = await runCli(['--config', writeTemp('x.yaml', 'receivers: { zipkin: { endpoint: nowhere } }\n')]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/x\.yaml:1:34: receivers\.zipkin\.endpoint: "nowhere" is not an endpoint "host:port"/);
  });

  it('the daemon exits 1 with the reason when a port is taken', async () => {
    const { zipkin } = await startWith(basic);
    const dir = tempDir();
    const r = await runCli(['--config', writeTemp('y.yaml', basic({ zipkin, metrics: await freePort(), health: await freePort(), dir }))]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`cannot listen on 127.0.0.1:${zipkin}: address already in use`);
  });
});
