/**
 * The attributes processor in the real daemon: YAML config, Zipkin JSON in over HTTP, the file exporter
 * out. Zipkin tags are span attributes in our model, so the effect shows on the tags written back; the
 * OTLP/JSON copy shows the types the actions gave.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Daemon, freePort } from '../../helpers/daemon.js';
import { tempDir, writeTemp } from '../../helpers/tmp.js';

let daemon: Daemon | undefined;
afterEach(async () => {
  await daemon?.stop('SIGKILL');
  daemon = undefined;
});

const SPANS = [
  {
    traceId: '5af7183fb1d4cf5f5af7183fb1d4cf5f',
    id: '0000000000000001',
    kind: 'CLIENT',
    name: 'get user',
    timestamp: 1732192000000000,
    duration: 20000,
    localEndpoint: { serviceName: 'frontend' },
    tags: { 'http.url': '/api/v1/users/42', 'user.email': 'abc', 'http.status_code': '200', 'auth.token': 'secret', 'auth.user': 'bob' },
  },
  {
    traceId: '5af7183fb1d4cf5f5af7183fb1d4cf5f',
    id: '0000000000000002',
    kind: 'SERVER',
    name: 'healthcheck',
    timestamp: 1732192000000000,
    duration: 10,
    localEndpoint: { serviceName: 'frontend' },
    tags: { 'http.url': '/health', 'auth.token': 'secret' },
  },
  {
    traceId: '5af7183fb1d4cf5f5af7183fb1d4cf5f',
    id: '0000000000000003',
    kind: 'SERVER',
    name: 'get user',
    timestamp: 1732192000000000,
    duration: 10,
    localEndpoint: { serviceName: 'billing' },
    tags: { 'http.url': '/api/v1/users/7', 'user.email': 'abc' },
  },
];

const config = (port: number, metrics: number, dir: string) => `
receivers:
  zipkin:
    endpoint: 127.0.0.1:${port}
processors:
  attributes/users:
    include:
      match_type: strict
      services: [frontend]
    exclude:
      match_type: regexp
      span_names: ['^health']
    actions:
      - key: http.url
        action: extract
        pattern: ^/api/(?P<version>v\\d+)/users/(?P<user_id>\\d+)$
      - key: user_id
        action: convert
        converted_type: int
      - key: user.email
        action: hash
      - action: delete
        pattern: ^auth\\.
      - key: env
        action: insert
        value: prod
      - key: retries
        action: upsert
        value: 3
      - key: http.status_code
        action: convert
        converted_type: int
exporters:
  file/zipkin:
    path: ${join(dir, 'zipkin.jsonl')}
    format: zipkin_json
  file/otlp:
    path: ${join(dir, 'otlp.jsonl')}
    format: otlp_json
service:
  pipelines:
    traces:
      receivers: [zipkin]
      processors: [attributes/users]
      exporters: [file/zipkin, file/otlp]
  telemetry:
    metrics:
      address: 127.0.0.1:${metrics}
`;

const lines = (path: string) =>
  readFileSync(path, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Record<string, unknown>);

describe('attributes processor in the daemon', () => {
  it('changes the tags of the spans include/exclude select, and only those', async () => {
    const dir = tempDir();
    const [port, metrics] = [await freePort(), await freePort()];
    daemon = await Daemon.start(['--config', writeTemp('spanline.yaml', config(port, metrics, dir), dir)], { cwd: dir });
    const res = await fetch(`http://127.0.0.1:${port}/api/v2/spans`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(SPANS),
    });
    expect(res.status).toBe(202);
    expect(await daemon.stop('SIGTERM')).toBe(0);

    const zipkin = lines(join(dir, 'zipkin.jsonl'));
    expect(zipkin.map((sp) => [sp.id, sp.tags])).toEqual([
      [
        '0000000000000001',
        {
          env: 'prod',
          'http.status_code': '200',
          'http.url': '/api/v1/users/42',
          retries: '3',
          'user.email': 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad',
          user_id: '42',
          version: 'v1',
        },
      ],
      // Excluded by span name.
      ['0000000000000002', { 'auth.token': 'secret', 'http.url': '/health' }],
      // Not included: another service.
      ['0000000000000003', { 'http.url': '/api/v1/users/7', 'user.email': 'abc' }],
    ]);

    // The same spans in OTLP keep the types the actions gave: ints from `value: 3` and `convert`.
    const [request] = lines(join(dir, 'otlp.jsonl')) as { resourceSpans: { scopeSpans: { spans: { spanId: string; attributes: { key: string; value: unknown }[] }[] }[] }[] }[];
    const first = request.resourceSpans.flatMap((r) => r.scopeSpans.flatMap((s) => s.spans)).find((sp) => sp.spanId === '0000000000000001')!;
    const attrs = Object.fromEntries(first.attributes.map((a) => [a.key, a.value]));
    expect(attrs.user_id).toEqual({ intValue: '42' });
    expect(attrs.retries).toEqual({ intValue: '3' });
    expect(attrs['http.status_code']).toEqual({ intValue: '200' });
    expect(attrs.version).toEqual({ stringValue: 'v1' });
    expect(attrs['auth.user']).toBeUndefined();
  });

  it('refuses a config with from_context, naming the file, line and path', async () => {
    const dir = tempDir();
    const yaml = config(await freePort(), await freePort(), dir).replace('        value: prod\n', '        from_context: client.address\n');
    const file = writeTemp('spanline.yaml', yaml, dir);
    await expect(Daemon.start(['--config', file], { cwd: dir })).rejects.toThrow(
      /spanline\.yaml:\d+:\d+: processors\.attributes\/users\.actions\[4\]\.from_context: is not supported/,
    );
  });
});
