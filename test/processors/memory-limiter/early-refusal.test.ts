/**
 * The memory_limiter in the real daemon (CLI + YAML): with a limit far below any Node process's RSS, every
 * request is refused before its body is read (HTTP) or decoded (gRPC), retryably, and counted.
 */
import { request as httpRequest } from 'node:http';
import { join } from 'node:path';
import { Client, credentials, Metadata, status as grpcStatus, type ServiceError } from '@grpc/grpc-js';
import { afterEach, describe, expect, it } from 'vitest';
import { decodeRpcStatus, encodeOtlpProtoRequest, TRACE_SERVICE_EXPORT_PATH } from '../../../src/codecs/otlp-proto.js';
import { Daemon, freePort } from '../../helpers/daemon.js';
import { spans } from '../../helpers/components.js';
import { tempDir, writeTemp } from '../../helpers/tmp.js';

let daemons: Daemon[] = [];
let clients: Client[] = [];
afterEach(async () => {
  for (const c of clients) c.close();
  clients = [];
  await Promise.all(daemons.map((d) => d.stop('SIGKILL')));
  daemons = [];
});

interface Ports {
  zipkin: number;
  grpc: number;
  http: number;
  metrics: number;
}

async function start(limitMiB: number) {
  const dir = tempDir();
  const ports: Ports = { zipkin: await freePort(), grpc: await freePort(), http: await freePort(), metrics: await freePort() };
  const yaml = `
receivers:
  zipkin:
    endpoint: 127.0.0.1:${ports.zipkin}
    max_request_body_size: 1MiB
  otlp:
    protocols:
      grpc: { endpoint: 127.0.0.1:${ports.grpc}, max_recv_msg_size: 4KiB }
      http: { endpoint: 127.0.0.1:${ports.http} }
processors:
  memory_limiter:
    check_interval: 100ms
    limit_mib: ${limitMiB}
exporters:
  file:
    path: ${join(dir, 'spans.jsonl')}
service:
  pipelines:
    traces:
      receivers: [zipkin, otlp]
      processors: [memory_limiter]
      exporters: [file]
  telemetry:
    metrics:
      address: 127.0.0.1:${ports.metrics}
`;
  const d = await Daemon.start(['--config', writeTemp('spanline.yaml', yaml, dir)], { cwd: dir });
  daemons.push(d);
  const grpc = new Client(`127.0.0.1:${ports.grpc}`, credentials.createInsecure());
  clients.push(grpc);
  return { d, ports, grpc, zipkinUrl: `http://127.0.0.1:${ports.zipkin}/api/v2/spans`, otlpUrl: `http://127.0.0.1:${ports.http}/v1/traces` };
}

const ZIPKIN_SPAN = JSON.stringify([{ traceId: '0000000000000001', id: '0000000000000002', name: 'op', timestamp: 1, duration: 2, localEndpoint: { serviceName: 'svc' } }]);

function grpcCall(client: Client, body: Buffer): Promise<ServiceError | null> {
  return new Promise((resolve) => {
    client.makeUnaryRequest(TRACE_SERVICE_EXPORT_PATH, (b: Buffer) => b, (b: Buffer) => b, body, new Metadata(), {}, (err) => resolve(err));
  });
}

/** Sends only the headers of a request announcing `length` bytes, and resolves with the answer: the body never comes. */
function headersOnly(url: string, length: number): Promise<{ status: number; retryAfter: string | undefined; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method: 'POST', headers: { 'content-type': 'application/json', 'content-length': String(length) } }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => {
        resolve({ status: res.statusCode!, retryAfter: res.headers['retry-after'], body });
        req.destroy();
      });
    });
    req.on('error', reject);
    req.flushHeaders();
  });
}

async function metricsOf(ports: Ports): Promise<string> {
  return (await fetch(`http://127.0.0.1:${ports.metrics}/metrics`)).text();
}

/** The value of one sample in a Prometheus text exposition; 0 when absent. */
function sample(text: string, name: string): number {
  const line = text.split('\n').find((l) => l.startsWith(name + ' '));
  return line === undefined ? 0 : Number(line.slice(name.length + 1));
}

const SOFT_MESSAGE = /^memory use \d+(\.\d)? MiB is above the soft limit of 0\.8 MiB; retry later$/;

describe('memory_limiter early refusal in the daemon', () => {
  it('refuses HTTP requests before reading their body: 503 + Retry-After, whatever the body', async () => {
    const { d, ports, zipkinUrl, otlpUrl } = await start(1);
    // Body, compression and size do not matter: the decoder never runs (else these would be 400/413/415).
    const table: [name: string, url: string, body: Buffer | string, headers: Record<string, string>][] = [
      ['valid Zipkin JSON', zipkinUrl, ZIPKIN_SPAN, { 'content-type': 'application/json' }],
      ['malformed JSON', zipkinUrl, '{"not a list', { 'content-type': 'application/json' }],
      ['a body over max_request_body_size', zipkinUrl, Buffer.alloc(2 * 1024 * 1024, 0x5b), { 'content-type': 'application/json' }],
      ['a gzip body that is not gzip', zipkinUrl, 'plain', { 'content-type': 'application/json', 'content-encoding': 'gzip' }],
      ['an unsupported Content-Encoding', zipkinUrl, ZIPKIN_SPAN, { 'content-type': 'application/json', 'content-encoding': 'br' }],
    ];
    for (const [name, url, body, headers] of table) {
      const res = await fetch(url, { method: 'POST', body, headers });
      expect(res.status, name).toBe(503);
      expect(res.headers.get('retry-after'), name).toBe('1');
      expect((await res.text()).trim(), name).toMatch(SOFT_MESSAGE);
    }
    // A chunked body has no Content-Length: refused all the same.
    const chunked = await fetch(zipkinUrl, {
      method: 'POST',
      body: new Blob([ZIPKIN_SPAN]).stream(),
      headers: { 'content-type': 'application/json' },
      duplex: 'half',
    } as RequestInit);
    expect(chunked.status).toBe(503);
    // The body is never waited for: the answer comes while the client has sent only the headers.
    const early = await headersOnly(zipkinUrl, 10 * 1024 * 1024);
    expect(early.status).toBe(503);
    expect(early.retryAfter).toBe('1');
    expect(early.body.trim()).toMatch(SOFT_MESSAGE);

    // OTLP/HTTP answers in its own encoding: a google.rpc.Status with UNAVAILABLE.
    const otlp = await fetch(otlpUrl, { method: 'POST', body: encodeOtlpProtoRequest(spans('a')), headers: { 'content-type': 'application/x-protobuf' } });
    expect(otlp.status).toBe(503);
    expect(otlp.headers.get('content-type')).toBe('application/x-protobuf');
    const status = decodeRpcStatus(new Uint8Array(await otlp.arrayBuffer()));
    expect(status.code).toBe(grpcStatus.UNAVAILABLE);
    expect(status.message).toMatch(SOFT_MESSAGE);

    const text = await metricsOf(ports);
    expect(sample(text, 'spanline_receiver_refused_requests_total{receiver="zipkin",transport="http_v2_json",reason="memory_limit"}')).toBe(7);
    expect(sample(text, 'spanline_receiver_refused_requests_total{receiver="otlp",transport="http_proto",reason="memory_limit"}')).toBe(1);
    // Nothing was decoded: no span was received, and no request counted as malformed.
    expect(text).not.toMatch(/^spanline_receiver_received_spans_total\{/m);
    expect(text).not.toMatch(/^spanline_receiver_malformed_requests_total\{/m);
    expect(sample(text, 'spanline_memory_limiter_refusing{processor="memory_limiter",pipeline="traces"}')).toBe(1);
    // Logged once when refusing started, not per request.
    expect(d.logs().filter((l) => l.msg === 'memory use is above the soft limit: refusing data')).toHaveLength(1);
  });

  it('refuses gRPC calls before reading the message: UNAVAILABLE with RetryInfo, whatever the message', async () => {
    const { ports, grpc } = await start(1);
    const table: [name: string, body: Buffer][] = [
      ['a valid request', encodeOtlpProtoRequest(spans('a', 'b'))],
      // Would be INVALID_ARGUMENT if decoded.
      ['a message that does not decode', Buffer.from('0a0412020a05', 'hex')],
      // Would be RESOURCE_EXHAUSTED if grpc-js read it (max_recv_msg_size is 4 KiB).
      ['a message over max_recv_msg_size', Buffer.alloc(64 * 1024, 0x0a)],
    ];
    for (const [name, body] of table) {
      const err = await grpcCall(grpc, body);
      expect(err?.code, name).toBe(grpcStatus.UNAVAILABLE);
      expect(err?.details).toMatch(SOFT_MESSAGE);
      const details = decodeRpcStatus(err!.metadata.get('grpc-status-details-bin')[0] as Buffer);
      expect(details).toMatchObject({ code: grpcStatus.UNAVAILABLE, retryDelayMs: 1000 });
    }
    const text = await metricsOf(ports);
    expect(sample(text, 'spanline_receiver_refused_requests_total{receiver="otlp",transport="grpc",reason="memory_limit"}')).toBe(3);
    expect(text).not.toMatch(/^spanline_receiver_received_spans_total\{/m);
    expect(text).not.toMatch(/^spanline_receiver_malformed_requests_total\{/m);
  });

  it('under the limit, data flows and nothing is refused', async () => {
    const { ports, grpc, zipkinUrl } = await start(64 * 1024);
    expect((await fetch(zipkinUrl, { method: 'POST', body: ZIPKIN_SPAN, headers: { 'content-type': 'application/json' } })).status).toBe(202);
    expect(await grpcCall(grpc, encodeOtlpProtoRequest(spans('a', 'b')))).toBeNull();
    const text = await metricsOf(ports);
    expect(sample(text, 'spanline_receiver_accepted_spans_total{receiver="zipkin",transport="http_v2_json"}')).toBe(1);
    expect(sample(text, 'spanline_receiver_accepted_spans_total{receiver="otlp",transport="grpc"}')).toBe(2);
    expect(text).not.toMatch(/^spanline_receiver_refused_requests_total\{/m);
    expect(sample(text, 'spanline_memory_limiter_refusing{processor="memory_limiter",pipeline="traces"}')).toBe(0);
    expect(sample(text, 'spanline_memory_limiter_limit_bytes{processor="memory_limiter",pipeline="traces",limit="hard"}')).toBe(64 * 1024 ** 3);
  });
});
