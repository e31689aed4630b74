/**
 * End-to-end with real OTLP clients: the real CLI with YAML, an `otlp` receiver and a file exporter
 * writing OTLP/JSON; spans made by the OpenTelemetry SDK and sent by the official OTLP exporters (gRPC,
 * HTTP/protobuf, HTTP/JSON, with and without gzip), and by our own `otlp`/`otlphttp` exporters from one
 * spanline to another. What lands in the file is checked field by field.
 */
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Client, credentials, Metadata, status as grpcStatus, type ServiceError } from '@grpc/grpc-js';
import { OTLPTraceExporter as GrpcTraceExporter } from '@opentelemetry/exporter-trace-otlp-grpc';
import { OTLPTraceExporter as HttpJsonTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPTraceExporter as ProtoTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { CompressionAlgorithm } from '@opentelemetry/otlp-exporter-base';
import { JsonTraceSerializer } from '@opentelemetry/otlp-transformer';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace-base';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { decodeOtlpJsonRequest, encodeOtlpJsonRequest } from '../../src/codecs/otlp-json.js';
import { decodeRpcStatus, encodeOtlpProtoRequest, TRACE_SERVICE_EXPORT_PATH } from '../../src/codecs/otlp-proto.js';
import type { Span } from '../../src/model/span.js';
import { Daemon, freePort } from '../helpers/daemon.js';
import { expectedModelFields, exportWith, recordSdkSpans } from '../helpers/otel-sdk.js';
import { normaliseOtlpJson } from '../helpers/otlp-json.js';
import { tempDir, writeTemp } from '../helpers/tmp.js';

let daemons: Daemon[] = [];
afterEach(async () => {
  await Promise.all(daemons.map((d) => d.stop('SIGKILL')));
  daemons = [];
});

interface Spanline {
  d: Daemon;
  grpc: number;
  http: number;
  metrics: number;
  out: string;
}

/**
 * A spanline with an otlp receiver (gRPC and HTTP) and a file exporter writing OTLP/JSON lines, and
 * optionally one more exporter (`id`, and its YAML indented under `exporters:`).
 */
async function startSpanline(extra?: { id: string; yaml: string }): Promise<Spanline> {
  const dir = tempDir();
  const [grpc, http, metrics] = [await freePort(), await freePort(), await freePort()];
  const out = join(dir, 'out', 'spans.otlp.jsonl');
  const cfg = writeTemp(
    'spanline.yaml',
    `
receivers:
  otlp:
    protocols:
      grpc:
        endpoint: 127.0.0.1:${grpc}
      http:
        endpoint: 127.0.0.1:${http}
exporters:
  file:
    path: ${out}
    format: otlp_json
${extra?.yaml ?? ''}
service:
  pipelines:
    traces:
      receivers: [otlp]
      exporters: [file${extra ? `, ${extra.id}` : ''}]
  telemetry:
    metrics:
      address: 127.0.0.1:${metrics}
`,
    dir,
  );
  const d = await Daemon.start(['--config', cfg], { cwd: dir });
  daemons.push(d);
  return { d, grpc, http, metrics, out };
}

/** Every span written to the file, by span id; also the raw lines. */
function readOutput(path: string): { lines: unknown[]; spans: Map<string, Span> } {
  const text = readFileSync(path, 'utf8');
  const lines = text.split('\n').filter(Boolean);
  const spans = new Map<string, Span>();
  for (const l of lines) for (const s of decodeOtlpJsonRequest(l)) spans.set(s.spanId, s);
  return { lines: lines.map((l) => JSON.parse(l) as unknown), spans };
}

/** All resourceSpans of all lines as one request, normalised, for comparison with otlp-transformer's JSON. */
function normalisedFile(lines: unknown[]): unknown {
  return normaliseOtlpJson({ resourceSpans: lines.flatMap((l) => (l as { resourceSpans: unknown[] }).resourceSpans) });
}

const { spans: sdkSpans } = recordSdkSpans();

function assertFieldByField(written: Map<string, Span>, spans: readonly ReadableSpan[]) {
  expect(written.size).toBe(spans.length);
  for (const r of spans) {
    const span = written.get(r.spanContext().spanId);
    expect(span, r.name).toBeDefined();
    const want = expectedModelFields(r);
    for (const [field, value] of Object.entries(want)) {
      const got = field === 'scope' ? { name: span!.scope.name, version: span!.scope.version } : (span as unknown as Record<string, unknown>)[field];
      expect(got, `${r.name}: ${field}`).toEqual(value);
    }
  }
}

beforeAll(() => {
  // The CLI runs from dist/; `npm test` builds it first.
  readFileSync('dist/cli.js');
});

describe('real OpenTelemetry OTLP exporters → otlp receiver → file (otlp_json)', () => {
  const clients: [string, (s: Spanline) => SpanExporter][] = [
    ['exporter-trace-otlp-grpc', (s) => new GrpcTraceExporter({ url: `http://127.0.0.1:${s.grpc}` })],
    ['exporter-trace-otlp-grpc, gzip', (s) => new GrpcTraceExporter({ url: `http://127.0.0.1:${s.grpc}`, compression: CompressionAlgorithm.GZIP })],
    ['exporter-trace-otlp-proto', (s) => new ProtoTraceExporter({ url: `http://127.0.0.1:${s.http}/v1/traces` })],
    ['exporter-trace-otlp-proto, gzip', (s) => new ProtoTraceExporter({ url: `http://127.0.0.1:${s.http}/v1/traces`, compression: CompressionAlgorithm.GZIP })],
    ['exporter-trace-otlp-http (JSON)', (s) => new HttpJsonTraceExporter({ url: `http://127.0.0.1:${s.http}/v1/traces` })],
    ['exporter-trace-otlp-http (JSON), gzip', (s) => new HttpJsonTraceExporter({ url: `http://127.0.0.1:${s.http}/v1/traces`, compression: CompressionAlgorithm.GZIP })],
  ];

  it.each(clients)('%s: every field arrives as sent', async (_name, makeClient) => {
    const s = await startSpanline();
    const client = makeClient(s);
    const result = await exportWith(client, sdkSpans);
    await client.shutdown();
    expect(result).toEqual({ code: 0 });
    expect(await s.d.stop('SIGTERM')).toBe(0);

    const { lines, spans } = readOutput(s.out);
    // Ids, name, kind, times to the nanosecond, attribute types, events, links, status, trace state,
    // flags, dropped counts, resource and scope: each against what the SDK recorded.
    assertFieldByField(spans, sdkSpans);
    // And the file as a whole is what otlp-transformer itself writes as OTLP/JSON, but for defaults.
    const reference = normaliseOtlpJson(JSON.parse(Buffer.from(JsonTraceSerializer.serializeRequest(sdkSpans)!).toString('utf8')));
    expect(normalisedFile(lines)).toEqual(reference);
  });

  it('writes attribute types as OTLP/JSON types: intValue strings, doubleValue numbers, bool, string, arrays', async () => {
    const s = await startSpanline();
    const client = new ProtoTraceExporter({ url: `http://127.0.0.1:${s.http}/v1/traces` });
    expect(await exportWith(client, sdkSpans)).toEqual({ code: 0 });
    await client.shutdown();
    expect(await s.d.stop('SIGTERM')).toBe(0);
    const { lines } = readOutput(s.out);
    type Kv = { key: string; value: Record<string, unknown> };
    const all = lines.flatMap((l) => (l as { resourceSpans: { scopeSpans: { spans: { name: string; attributes?: Kv[]; startTimeUnixNano: string }[] }[] }[] }).resourceSpans.flatMap((r) => r.scopeSpans.flatMap((ss) => ss.spans)));
    const server = all.find((x) => x.name.startsWith('POST'))!;
    const attr = (k: string) => server.attributes!.find((a) => a.key === k)!.value;
    expect(server.startTimeUnixNano).toBe('1700000000123456789');
    expect(attr('http.status_code')).toEqual({ intValue: '503' });
    expect(attr('int.max_safe')).toEqual({ intValue: '9007199254740991' });
    expect(attr('http.ratio')).toEqual({ doubleValue: 0.25 });
    expect(attr('retry.allowed')).toEqual({ boolValue: true });
    expect(attr('empty.string')).toEqual({ stringValue: '' });
    expect(attr('codes')).toEqual({ arrayValue: { values: [{ intValue: '200' }, { intValue: '404' }] } });
    expect(attr('weights')).toEqual({ arrayValue: { values: [{ doubleValue: 0.5 }, { doubleValue: 1.25 }] } });
  });
});

describe('spanline → spanline: our otlp/otlphttp exporters into another spanline\'s otlp receiver', () => {
  const forwards: [string, string, (gw: Spanline) => string][] = [
    ['otlp (gRPC, gzip)', 'otlp', (gw) => `endpoint: 127.0.0.1:${gw.grpc}\n    tls: { insecure: true }`],
    ['otlp (gRPC, no compression)', 'otlp', (gw) => `endpoint: http://127.0.0.1:${gw.grpc}\n    compression: none`],
    ['otlphttp (protobuf)', 'otlphttp', (gw) => `endpoint: http://127.0.0.1:${gw.http}`],
    ['otlphttp (JSON, no compression)', 'otlphttp', (gw) => `endpoint: http://127.0.0.1:${gw.http}\n    encoding: json\n    compression: none`],
  ];

  it.each(forwards)('%s: what comes out of the gateway is what went into the agent', async (_name, type, settings) => {
    const gateway = await startSpanline();
    const id = `${type}/forward`;
    const agent = await startSpanline({ id, yaml: `  ${id}:\n    ${settings(gateway)}` });

    const client = new ProtoTraceExporter({ url: `http://127.0.0.1:${agent.http}/v1/traces` });
    expect(await exportWith(client, sdkSpans)).toEqual({ code: 0 });
    await client.shutdown();
    expect(await agent.d.stop('SIGTERM')).toBe(0);
    expect(await gateway.d.stop('SIGTERM')).toBe(0);

    const atAgent = readOutput(agent.out);
    const atGateway = readOutput(gateway.out);
    // OTLP → OTLP identity: nanoseconds, attribute types, dropped counts, flags, everything.
    expect([...atGateway.spans.values()].sort(bySpanId)).toEqual([...atAgent.spans.values()].sort(bySpanId));
    assertFieldByField(atGateway.spans, sdkSpans);
    expect(normalisedFile(atGateway.lines)).toEqual(normalisedFile(atAgent.lines));
  });
});

function bySpanId(a: Span, b: Span): number {
  return a.spanId < b.spanId ? -1 : a.spanId > b.spanId ? 1 : 0;
}

describe('backpressure: the exporter queue is full', () => {
  async function startBusy(): Promise<Spanline> {
    const dir = tempDir();
    const [grpc, http, metrics] = [await freePort(), await freePort(), await freePort()];
    const plugin = resolve('test/fixtures/plugins/always-busy-exporter.mjs');
    const cfg = writeTemp(
      'spanline.yaml',
      `
plugins: [${plugin}]
receivers:
  otlp:
    protocols:
      grpc: { endpoint: "127.0.0.1:${grpc}" }
      http: { endpoint: "127.0.0.1:${http}" }
exporters:
  always_busy:
    sending_queue: { queue_size: 3, num_consumers: 1 }
service:
  pipelines: { traces: { receivers: [otlp], exporters: [always_busy] } }
  telemetry: { metrics: { address: "127.0.0.1:${metrics}" } }
  shutdown_timeout: 1s
`,
      dir,
    );
    const d = await Daemon.start(['--config', cfg], { cwd: dir });
    daemons.push(d);
    return { d, grpc, http, metrics, out: '' };
  }

  const body = () => encodeOtlpProtoRequest(decodeOtlpJsonRequest(Buffer.from(JsonTraceSerializer.serializeRequest(sdkSpans.slice(0, 3))!)));

  it('gRPC answers UNAVAILABLE with a RetryInfo', async () => {
    const s = await startBusy();
    const client = new Client(`127.0.0.1:${s.grpc}`, credentials.createInsecure());
    const call = () =>
      new Promise<ServiceError | null>((res) =>
        client.makeUnaryRequest(TRACE_SERVICE_EXPORT_PATH, (b: Buffer) => b, (b: Buffer) => b, body(), new Metadata(), {}, (err) => res(err)),
      );
    expect(await call()).toBeNull();
    const err = await call();
    client.close();
    expect(err?.code).toBe(grpcStatus.UNAVAILABLE);
    expect(err?.details).toMatch(/queue is full/);
    const status = decodeRpcStatus(err!.metadata.get('grpc-status-details-bin')[0] as Buffer);
    expect(status).toEqual({ code: grpcStatus.UNAVAILABLE, message: err!.details, retryDelayMs: 1000 });
    const text = await (await fetch(`http://127.0.0.1:${s.metrics}/metrics`)).text();
    expect(text).toContain('spanline_receiver_accepted_spans_total{receiver="otlp",transport="grpc"} 3');
    // A full queue refuses before the request is decoded: the request is counted, its spans never were.
    expect(text).toContain('spanline_receiver_refused_requests_total{receiver="otlp",transport="grpc",reason="queue_full"} 1');
  });

  it('HTTP answers 503 with Retry-After and a Status in the request\'s encoding', async () => {
    const s = await startBusy();
    const url = `http://127.0.0.1:${s.http}/v1/traces`;
    expect((await fetch(url, { method: 'POST', body: body(), headers: { 'content-type': 'application/x-protobuf' } })).status).toBe(200);
    const refused = await fetch(url, { method: 'POST', body: body(), headers: { 'content-type': 'application/x-protobuf' } });
    expect([refused.status, refused.headers.get('retry-after'), refused.headers.get('content-type')]).toEqual([503, '1', 'application/x-protobuf']);
    expect(decodeRpcStatus(Buffer.from(await refused.arrayBuffer())).message).toMatch(/queue is full/);
    const json = await fetch(url, { method: 'POST', body: encodeOtlpJsonRequest(decodeOtlpJsonRequest(Buffer.from(JsonTraceSerializer.serializeRequest(sdkSpans.slice(0, 1))!))), headers: { 'content-type': 'application/json' } });
    expect([json.status, json.headers.get('retry-after')]).toEqual([503, '1']);
    expect(((await json.json()) as { message: string }).message).toMatch(/queue is full/);
    const text = await (await fetch(`http://127.0.0.1:${s.metrics}/metrics`)).text();
    expect(text).toContain('spanline_receiver_refused_requests_total{receiver="otlp",transport="http_proto",reason="queue_full"} 1');
    expect(text).toContain('spanline_receiver_refused_requests_total{receiver="otlp",transport="http_json",reason="queue_full"} 1');
  });

  it('the real OTLP exporters see the refusal as a failed export', async () => {
    const s = await startBusy();
    const grpc = new GrpcTraceExporter({ url: `http://127.0.0.1:${s.grpc}`, timeoutMillis: 3000 });
    expect((await exportWith(grpc, sdkSpans.slice(0, 3))).code).toBe(0);
    const refused = await exportWith(grpc, sdkSpans.slice(0, 1));
    await grpc.shutdown();
    expect(refused.code).toBe(1);
    expect(refused.error?.message).toMatch(/queue is full/);
  });
});
