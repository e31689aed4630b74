/**
 * End-to-end with real Zipkin clients: the real CLI with YAML, a `zipkin` receiver and one pipeline into
 * two file exporters, one writing Zipkin v2 JSON lines (`zipkin_json`) and one OTLP/JSON (`otlp_json`).
 *
 * - zipkin-js (`zipkin` Tracer + Instrumentation, `zipkin-transport-http` HttpLogger) sends a 128-bit
 *   debug trace (a local root, an HTTP client span and the server span that joins its id, a local child)
 *   and a 64-bit messaging trace (producer, consumer, a local child), as JSON v1 (the HttpLogger's default
 *   encoder, to /api/v1/spans) and as JSON v2 (to /api/v2/spans).
 * - @opentelemetry/exporter-zipkin sends OpenTelemetry SDK spans of every kind to /api/v2/spans.
 *
 * What each client sent is captured too: the same spans go to a second client pointed at a local HTTP
 * server that records the request bodies. The file is then checked field by field against what was sent,
 * by the rule that makes each field: Zipkin's normalisation, Zipkin's v1 → v2 conversion
 * (`V1SpanConverter`, ../shared/reference/zipkin.md §2), the OTel Zipkin mapping of exporter-zipkin, and
 * spanline's Zipkin → OTLP mapping (ARCHITECTURE.md, "Zipkin ↔ OTLP mapping").
 */
import { existsSync, readFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { context, SpanKind as ApiSpanKind, SpanStatusCode, trace, TraceFlags, type Attributes as ApiAttributes, type HrTime } from '@opentelemetry/api';
import { ZipkinExporter } from '@opentelemetry/exporter-zipkin';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Annotation, BatchRecorder, ExplicitContext, InetAddress, Instrumentation, jsonEncoder, option, Tracer, type JsonEncoder, type Logger, type model, type TraceId } from 'zipkin';
import { HttpLogger } from 'zipkin-transport-http';
import { Daemon, freePort } from '../helpers/daemon.js';
import { exportWith, hrTimeNanos } from '../helpers/otel-sdk.js';
import { tempDir, writeTemp } from '../helpers/tmp.js';

// ---- the daemon

let daemons: Daemon[] = [];
let closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  await Promise.all(daemons.map((d) => d.stop('SIGKILL')));
  await Promise.all(closers.map((c) => c()));
  daemons = [];
  closers = [];
});

beforeAll(() => {
  // The CLI runs from dist/; `npm test` builds it first.
  readFileSync('dist/cli.js');
});

interface Spanline {
  d: Daemon;
  /** http://127.0.0.1:<port> of the zipkin receiver. */
  base: string;
  zipkinOut: string;
  otlpOut: string;
}

/** A spanline with a zipkin receiver and one pipeline into two file exporters: zipkin_json and otlp_json. */
async function startSpanline(): Promise<Spanline> {
  const dir = tempDir();
  const [zipkin, metrics] = [await freePort(), await freePort()];
  const zipkinOut = join(dir, 'out', 'spans.zipkin.jsonl');
  const otlpOut = join(dir, 'out', 'spans.otlp.jsonl');
  const cfg = writeTemp(
    'spanline.yaml',
    `
receivers:
  zipkin:
    endpoint: 127.0.0.1:${zipkin}
exporters:
  file/zipkin:
    path: ${zipkinOut}
    format: zipkin_json
  file/otlp:
    path: ${otlpOut}
    format: otlp_json
service:
  pipelines:
    traces:
      receivers: [zipkin]
      exporters: [file/zipkin, file/otlp]
  telemetry:
    metrics:
      address: 127.0.0.1:${metrics}
`,
    dir,
  );
  const d = await Daemon.start(['--config', cfg], { cwd: dir });
  daemons.push(d);
  return { d, base: `http://127.0.0.1:${zipkin}`, zipkinOut, otlpOut };
}

// ---- what the daemon wrote

interface ZEndpoint {
  serviceName?: string;
  ipv4?: string;
  ipv6?: string;
  port?: number;
}

interface ZAnnotation {
  timestamp: number;
  value: string;
}

/** A Zipkin v2 JSON span. */
interface ZSpan {
  traceId: string;
  parentId?: string;
  id: string;
  kind?: string;
  name?: string;
  timestamp?: number;
  duration?: number;
  localEndpoint?: ZEndpoint;
  remoteEndpoint?: ZEndpoint;
  annotations?: ZAnnotation[];
  tags?: Record<string, string>;
  debug?: boolean;
  shared?: boolean;
}

type OtlpValue = { stringValue?: string; intValue?: string; boolValue?: boolean; doubleValue?: number };
interface OtlpKv {
  key: string;
  value: OtlpValue;
}
interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  traceState?: string;
  flags?: number;
  name?: string;
  kind?: number;
  startTimeUnixNano?: string;
  endTimeUnixNano?: string;
  attributes?: OtlpKv[];
  droppedAttributesCount?: number;
  events?: { timeUnixNano?: string; name?: string; attributes?: OtlpKv[] }[];
  droppedEventsCount?: number;
  links?: unknown[];
  droppedLinksCount?: number;
  status?: { code?: number; message?: string };
}
interface OtlpRequest {
  resourceSpans?: { resource: { attributes?: OtlpKv[] }; scopeSpans: { scope: Record<string, unknown>; spans: OtlpSpan[] }[] }[];
}
/** An OTLP span with the resource and scope it was written under. */
interface WrittenOtlpSpan {
  span: OtlpSpan;
  resource: { attributes?: OtlpKv[] };
  scope: Record<string, unknown>;
}

/** The complete lines of a file (a line still being written is left out). */
function completeLines(path: string): string[] {
  if (!existsSync(path)) return [];
  const parts = readFileSync(path, 'utf8').split('\n');
  parts.pop();
  return parts.filter(Boolean);
}

function otlpSpans(path: string): WrittenOtlpSpan[] {
  return completeLines(path).flatMap((l) =>
    ((JSON.parse(l) as OtlpRequest).resourceSpans ?? []).flatMap((rs) => rs.scopeSpans.flatMap((ss) => ss.spans.map((span) => ({ span, resource: rs.resource, scope: ss.scope })))),
  );
}

/** Waits until both files hold `count` spans, and returns them. */
async function waitForSpans(s: Spanline, count: number): Promise<{ zipkin: ZSpan[]; otlp: WrittenOtlpSpan[] }> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const zipkin = completeLines(s.zipkinOut).map((l) => JSON.parse(l) as ZSpan);
    const otlp = otlpSpans(s.otlpOut);
    if ((zipkin.length >= count && otlp.length >= count) || Date.now() > deadline) return { zipkin, otlp };
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** Client and server halves share an id: a span is known by id and kind. */
const keyOf = (s: { id: string; kind?: string }) => `${s.id}/${s.kind ?? ''}`;

function byKey(spans: ZSpan[]): Map<string, ZSpan> {
  const m = new Map<string, ZSpan>();
  for (const s of spans) {
    expect(m.has(keyOf(s)), `two spans ${keyOf(s)}`).toBe(false);
    m.set(keyOf(s), s);
  }
  return m;
}

/** Zipkin's `V2SpanWriter` field order, which the zipkin_json lines keep. */
const V2_FIELD_ORDER = ['traceId', 'parentId', 'id', 'kind', 'name', 'timestamp', 'duration', 'localEndpoint', 'remoteEndpoint', 'annotations', 'tags', 'debug', 'shared'];
const ENDPOINT_FIELD_ORDER = ['serviceName', 'ipv4', 'ipv6', 'port'];

function expectZipkinWriterOrder(spans: ZSpan[]): void {
  const inOrder = (keys: string[], order: string[]) => expect(keys).toEqual(order.filter((k) => keys.includes(k)));
  for (const z of spans) {
    inOrder(Object.keys(z), V2_FIELD_ORDER);
    for (const e of [z.localEndpoint, z.remoteEndpoint]) if (e) inOrder(Object.keys(e), ENDPOINT_FIELD_ORDER);
    for (const a of z.annotations ?? []) expect(Object.keys(a)).toEqual(['timestamp', 'value']);
    // Tags in key order, as Zipkin's TreeMap keeps them.
    const keys = Object.keys(z.tags ?? {});
    expect(keys, `${z.name}: tag order`).toEqual([...keys].sort());
  }
}

/** Compares every field present on either side, naming the span and the field on failure. */
function expectFields(actual: object | undefined, expected: object, label: string): void {
  expect(actual, label).toBeDefined();
  const a = actual as Record<string, unknown>;
  const e = expected as Record<string, unknown>;
  for (const field of new Set([...Object.keys(e), ...Object.keys(a)])) expect(a[field], `${label}: ${field}`).toEqual(e[field]);
}

// ---- a recording stand-in for Zipkin, to capture what the clients send

interface RecordedRequest {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
}

async function startRecorder(): Promise<{ base: string; requests: RecordedRequest[] }> {
  const requests: RecordedRequest[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      requests.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      res.writeHead(202).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  closers.push(() => new Promise((r) => server.close(() => r())));
  return { base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, requests };
}

// ---- Zipkin's normalisation and v1 → v2 conversion, as the expected side of the zipkin-js checks

/** Endpoint normalisation (zipkin.md §1.9): service name lower-cased, '' and 0 are absent, `{}` is no endpoint. */
function normaliseEndpoint(e: ZEndpoint | undefined): ZEndpoint | undefined {
  if (e === undefined) return undefined;
  const out: ZEndpoint = {};
  if (e.serviceName) out.serviceName = e.serviceName.toLowerCase();
  if (e.ipv4) out.ipv4 = e.ipv4;
  if (e.ipv6) out.ipv6 = e.ipv6;
  if (e.port) out.port = e.port;
  return Object.keys(out).length > 0 ? out : undefined;
}

/** Annotations sorted by (timestamp, value), exact duplicates removed (zipkin.md §1.9). */
function normaliseAnnotations(list: ZAnnotation[] | undefined): ZAnnotation[] | undefined {
  if (list === undefined || list.length === 0) return undefined;
  const sorted = [...list].sort((a, b) => a.timestamp - b.timestamp || (a.value < b.value ? -1 : a.value > b.value ? 1 : 0));
  return sorted.filter((a, k) => k === 0 || a.timestamp !== sorted[k - 1].timestamp || a.value !== sorted[k - 1].value);
}

/** A v2 span as `zipkin2.Span` normalises it (zipkin.md §1.9); the file must hold exactly this. */
function zipkinNormalised(s: ZSpan): ZSpan {
  const out: ZSpan = { traceId: s.traceId, id: s.id };
  if (s.parentId && s.parentId !== s.id) out.parentId = s.parentId;
  if (s.kind) out.kind = s.kind;
  if (s.name) out.name = s.name.toLowerCase();
  if (s.timestamp) out.timestamp = s.timestamp;
  if (s.duration) out.duration = s.duration;
  const local = normaliseEndpoint(s.localEndpoint);
  if (local) out.localEndpoint = local;
  const remote = normaliseEndpoint(s.remoteEndpoint);
  if (remote) out.remoteEndpoint = remote;
  const annotations = normaliseAnnotations(s.annotations);
  if (annotations) out.annotations = annotations;
  if (s.tags && Object.keys(s.tags).length > 0) out.tags = s.tags;
  if (s.debug) out.debug = true;
  // `shared` belongs to the server side: Zipkin drops it from a CLIENT span.
  if (s.shared && s.kind !== 'CLIENT') out.shared = true;
  return out;
}

interface V1Endpoint {
  serviceName: string;
  ipv4?: string;
  port?: number;
}
/** A v1 JSON span, as zipkin-js's JSON_V1 encoder writes it. */
interface V1Span {
  traceId: string;
  parentId?: string;
  id: string;
  name: string;
  timestamp?: number;
  duration?: number;
  annotations?: { timestamp: number; value: string; endpoint?: V1Endpoint }[];
  binaryAnnotations?: { key: string; value: string | boolean; endpoint?: V1Endpoint }[];
  debug?: boolean;
}

const CORE_ANNOTATIONS = new Set(['cs', 'sr', 'ss', 'cr', 'ms', 'mr', 'ws', 'wr']);
const ADDRESS_KEYS = new Set(['ca', 'sa', 'ma']);

/**
 * The v2 span Zipkin's `V1SpanConverter` makes of a v1 span written by zipkin-js (zipkin.md §2; the
 * numbers below are its steps). zipkin-js repeats its one local endpoint on every annotation and binary
 * annotation, so a v1 span of it is one v2 span (step 2 never splits it): checked here, not assumed.
 */
function v2FromZipkinJsV1(v1: V1Span): ZSpan {
  const annotations = v1.annotations ?? [];
  const binary = v1.binaryAnnotations ?? [];
  const endpoints = [...annotations.map((a) => a.endpoint), ...binary.filter((b) => !ADDRESS_KEYS.has(b.key)).map((b) => b.endpoint)];
  for (const e of endpoints) expect(e, `${v1.id}: one local endpoint per zipkin-js span`).toEqual(endpoints[0]);
  const core = new Map(annotations.filter((a) => CORE_ANNOTATIONS.has(a.value) && a.endpoint !== undefined).map((a) => [a.value, a.timestamp]));
  const address = new Map(binary.filter((b) => ADDRESS_KEYS.has(b.key) && b.value === true).map((b) => [b.key, b.endpoint]));

  // 1. ids, name and debug of the v1 span; the trace id keeps its high half when it has 32 chars.
  const out: ZSpan = { traceId: v1.traceId, id: v1.id };
  if (v1.parentId) out.parentId = v1.parentId;

  // 3. the core annotations give the kind: cs/cr CLIENT, sr/ss SERVER, ms PRODUCER, mr CONSUMER.
  const kind = core.has('cs') || core.has('cr') ? 'CLIENT' : core.has('sr') || core.has('ss') ? 'SERVER' : core.has('ms') ? 'PRODUCER' : core.has('mr') ? 'CONSUMER' : undefined;
  if (kind) out.kind = kind;
  if (v1.name) out.name = v1.name;

  // 5. timing: the v1 timestamp and duration when both are set; else from the begin and end core
  // annotations (cs..cr, sr..ss, ms..ws, wr..mr or mr alone); a span without core annotations is
  // "incomplete" and takes the v1 timestamp and duration.
  const [begin, end] =
    kind === 'CLIENT' ? [core.get('cs'), core.get('cr')]
    : kind === 'SERVER' ? [core.get('sr'), core.get('ss')]
    : kind === 'PRODUCER' ? [core.get('ms'), core.get('ws')]
    : kind === 'CONSUMER' ? (core.has('wr') ? [core.get('wr'), core.get('mr')] : [core.get('mr'), undefined])
    : [undefined, undefined];
  if (v1.timestamp && v1.duration) {
    out.timestamp = v1.timestamp;
    out.duration = v1.duration;
  } else if (begin !== undefined) {
    out.timestamp = begin;
    if (end !== undefined && end > begin) out.duration = end - begin;
  } else if (v1.timestamp) {
    out.timestamp = v1.timestamp;
    if (v1.duration) out.duration = v1.duration;
  }

  // 2. the first endpoint of an annotation or binary annotation is the local endpoint.
  const local = normaliseEndpoint(endpoints.find((e) => e !== undefined));
  if (local) out.localEndpoint = local;

  // 7. addresses: "sa" is the remote side of a client, "ca" of a server (unless it is the server's own
  // endpoint), "ma" the broker of a producer or consumer.
  const remote =
    kind === 'CLIENT' ? address.get('sa')
    : kind === 'SERVER' ? (JSON.stringify(address.get('ca')) === JSON.stringify(endpoints[0]) ? undefined : address.get('ca'))
    : kind === 'PRODUCER' || kind === 'CONSUMER' ? address.get('ma')
    : undefined;
  const remoteEndpoint = normaliseEndpoint(remote);
  if (remoteEndpoint) out.remoteEndpoint = remoteEndpoint;

  // 3. annotations other than the core ones stay annotations (normalised: sorted, de-duplicated).
  const plain = normaliseAnnotations(annotations.filter((a) => !(CORE_ANNOTATIONS.has(a.value) && a.endpoint !== undefined)).map((a) => ({ timestamp: a.timestamp, value: a.value })));
  if (plain) out.annotations = plain;

  // 6. binary annotations with a string value are tags, but for the addresses and an empty "lc".
  const tags = Object.fromEntries(binary.filter((b) => typeof b.value === 'string' && !ADDRESS_KEYS.has(b.key) && !(b.key === 'lc' && b.value === '')).map((b) => [b.key, b.value as string]));
  if (Object.keys(tags).length > 0) out.tags = tags;

  if (v1.debug) out.debug = true;
  // 5. v1 had no "shared": a server side without timestamp (or with only the client's) is shared.
  if (kind === 'SERVER' && !core.has('cs') && (!v1.timestamp || (core.has('ss') && !v1.duration))) out.shared = true;
  return out;
}

// ---- spanline's Zipkin → OTLP mapping (ARCHITECTURE.md), as the expected side of the otlp_json checks

const OTLP_KIND: Record<string, number> = { SERVER: 2, CLIENT: 3, PRODUCER: 4, CONSUMER: 5 };

/** The status that Zipkin tags say: `otel.status_code` decides, else an `error` tag is an error. */
function statusFromTags(tags: Record<string, string>): { code?: number; message?: string } | undefined {
  const code = tags['otel.status_code'];
  const description = tags['otel.status_description'];
  const error = tags.error;
  const errorMessage = error === undefined || error === '' || error === 'true' ? undefined : error;
  const status = (c: number, message: string | undefined) => (message ? { code: c, message } : { code: c });
  if (code === 'ERROR' || code === 'STATUS_CODE_ERROR') return status(2, description ?? errorMessage);
  if (code === 'OK' || code === 'STATUS_CODE_OK') return status(1, description);
  if (error !== undefined) return status(2, errorMessage);
  return undefined;
}

/** What the otlp_json file must hold for a span that the zipkin_json file holds as `z`. */
function otlpExpectedFromZipkin(z: ZSpan): { span: OtlpSpan; resource: Record<string, OtlpValue> } {
  // Ids: a 64-bit trace id is left-padded to 128 bits.
  const span: OtlpSpan = { traceId: z.traceId.padStart(32, '0'), spanId: z.id };
  if (z.parentId) span.parentSpanId = z.parentId;
  if (z.name) span.name = z.name;
  // Kind: CLIENT, SERVER, PRODUCER, CONSUMER; no kind is Unspecified (0, not written).
  if (z.kind) span.kind = OTLP_KIND[z.kind];
  // Times: µs → ns; without a duration the end is the start (as the Collector writes it).
  const start = BigInt(z.timestamp ?? 0) * 1000n;
  if (start !== 0n) span.startTimeUnixNano = String(start);
  if (z.duration) span.endTimeUnixNano = String(start + BigInt(z.duration) * 1000n);
  else if (start !== 0n) span.endTimeUnixNano = String(start);
  // Tags are string attributes as they are; then the Zipkin-only fields, unless a tag has the key.
  const attributes: Record<string, OtlpValue> = {};
  const tags = z.tags ?? {};
  for (const [k, v] of Object.entries(tags)) attributes[k] = { stringValue: v };
  const put = (k: string, v: OtlpValue) => {
    if (!(k in tags)) attributes[k] = v;
  };
  const endpoint = (e: ZEndpoint | undefined, ipKey: string, ipv6Key: string, portKey: string) => {
    if (e?.ipv4) put(ipKey, { stringValue: e.ipv4 });
    else if (e?.ipv6) put(ipKey, { stringValue: e.ipv6 });
    if (e?.ipv4 && e.ipv6) put(ipv6Key, { stringValue: e.ipv6 });
    if (e?.port) put(portKey, { intValue: String(e.port) });
  };
  endpoint(z.localEndpoint, 'net.host.ip', 'zipkin.local_endpoint.ipv6', 'net.host.port');
  if (z.remoteEndpoint?.serviceName) put('peer.service', { stringValue: z.remoteEndpoint.serviceName });
  endpoint(z.remoteEndpoint, 'net.peer.ip', 'zipkin.remote_endpoint.ipv6', 'net.peer.port');
  if (z.shared) put('zipkin.shared', { boolValue: true });
  if (z.debug) put('zipkin.debug', { boolValue: true });
  if (Object.keys(attributes).length > 0) span.attributes = Object.entries(attributes).map(([key, value]) => ({ key, value }));
  // Annotations are events without attributes.
  if (z.annotations) span.events = z.annotations.map((a) => ({ timeUnixNano: String(BigInt(a.timestamp) * 1000n), name: a.value }));
  // Status from the tags.
  const status = statusFromTags(tags);
  if (status) span.status = status;
  // The local service name is the resource's service.name.
  const resource: Record<string, OtlpValue> = {};
  if (z.localEndpoint?.serviceName) resource['service.name'] = { stringValue: z.localEndpoint.serviceName };
  return { span, resource };
}

const kvMap = (list: OtlpKv[] | undefined): Record<string, OtlpValue> => Object.fromEntries((list ?? []).map((kv) => [kv.key, kv.value]));

/** Every span of the zipkin_json file is in the otlp_json file, mapped field by field. */
function expectOtlpMapping(zipkin: ZSpan[], otlp: WrittenOtlpSpan[]): void {
  expect(otlp).toHaveLength(zipkin.length);
  for (const z of zipkin) {
    const label = `${z.name} (${keyOf(z)}) in otlp_json`;
    const want = otlpExpectedFromZipkin(z);
    const matches = otlp.filter((o) => o.span.spanId === z.id && (o.span.kind ?? 0) === (want.span.kind ?? 0));
    expect(matches, label).toHaveLength(1);
    const got = matches[0];
    const { attributes, ...rest } = got.span;
    const { attributes: wantAttributes, ...wantRest } = want.span;
    expectFields(rest, wantRest, label);
    expect(kvMap(attributes), `${label}: attributes`).toEqual(kvMap(wantAttributes));
    expect(kvMap(got.resource.attributes), `${label}: resource`).toEqual(want.resource);
    // Neither client sends scope tags: the scope is empty.
    expect(got.scope, `${label}: scope`).toEqual({});
  }
}

// ---- zipkin-js

/** What HttpLogger has at run time besides its typed `logSpan`. */
interface HttpLoggerInternals {
  queue: string[];
  fetchImplementation: unknown;
  processQueue(fetchImpl: unknown): void;
  once(event: 'success', listener: (res: { status: number }) => void): void;
  once(event: 'error', listener: (err: Error) => void): void;
}

/** Sends what the HttpLogger has queued now, and resolves with the HTTP status of its success. */
function flush(logger: HttpLogger): Promise<number> {
  const l = logger as unknown as HttpLoggerInternals;
  expect(l.queue.length).toBeGreaterThan(0);
  return new Promise((resolve, reject) => {
    l.once('success', (res) => resolve(res.status));
    l.once('error', reject);
    l.processQueue(l.fetchImplementation);
  });
}

/** Never on its own: the test flushes. (Below 2^31 ms, which setInterval would turn into 1 ms.) */
const NEVER = 2_000_000_000;

const { Some, None } = option;

/** What the zipkin-js program below did, to know the spans by role. */
interface ZipkinJsRun {
  root: TraceId;
  client: TraceId;
  server: TraceId;
  load: TraceId;
  publish: TraceId;
  consume: TraceId;
  ack: TraceId;
  /** A client span never answered, written by the recorder's flush. */
  pending: TraceId;
  /** Flushes the recorders: writes the spans not finished yet. */
  flushRecorders(): void;
  /** The B3 headers the client instrumentation put on its request. */
  b3: Record<string, string>;
}

/**
 * A small zipkin-js program, three services, each with its own Tracer and BatchRecorder into `logger`:
 *
 * - frontend (128-bit trace ids, a default tag): a debug root "Checkout" (local span, with a custom
 *   annotation and a binary annotation), in which HttpClient instrumentation makes a GET to the backend
 *   (ServerAddr with IP and port, a custom annotation, answer 503), and a second GET, to the
 *   inventory, that is still in flight when the recorders are flushed;
 * - backend: HttpServer instrumentation reads the B3 headers of that request (X-B3-Flags: 1 → debug)
 *   and joins the client's span id (shared server half; LocalAddr, ClientAddr, a custom annotation), with
 *   a local child "Load Orders" (a tag, an annotation); then a new 64-bit trace: a producer with
 *   MessageAddr (the broker);
 * - worker: the consumer of that message, with a local child "Ack" that records nothing but its name.
 */
function runZipkinJs(logger: Logger): ZipkinJsRun {
  // One recorder per tracer: a Tracer gives its recorder its default tags.
  const recorders = [new BatchRecorder({ logger }), new BatchRecorder({ logger }), new BatchRecorder({ logger })];
  const frontend = new Tracer({
    ctxImpl: new ExplicitContext(),
    recorder: recorders[0],
    localServiceName: 'Frontend',
    traceId128Bit: true,
    defaultTags: { 'deployment.env': 'e2e' },
  });
  const backend = new Tracer({ ctxImpl: new ExplicitContext(), recorder: recorders[1], localServiceName: 'backend' });
  const worker = new Tracer({ ctxImpl: new ExplicitContext(), recorder: recorders[2], localServiceName: 'worker' });
  const run: Partial<ZipkinJsRun> = { flushRecorders: () => recorders.forEach((r) => r.flush()) };

  // The backend handles the request that carries `headers`.
  const serve = (headers: Record<string, string>) => {
    const readHeader = <T>(name: string): option.IOption<T> => (headers[name] === undefined ? None : (new Some(headers[name]) as unknown as option.IOption<T>));
    const http = new Instrumentation.HttpServer({ tracer: backend, port: 9000, host: '10.1.2.3' });
    backend.scoped(() => {
      const id = http.recordRequest('GET', 'http://backend.local:9000/api/orders?id=7', readHeader);
      run.server = id;
      backend.recordAnnotation(new Annotation.ClientAddr({ host: new InetAddress('192.168.1.10'), port: 54321 }));
      backend.recordMessage('orders requested');
      backend.local('Load Orders', () => {
        run.load = backend.id;
        backend.recordBinary('db.rows', 42);
        backend.recordMessage('rows fetched');
      });
      http.recordResponse(id, '503');
    });
  };

  const root = frontend.createRootId(new Some(true), true);
  run.root = root;
  frontend.letId(root, () => {
    frontend.recordServiceName('frontend');
    frontend.recordAnnotation(new Annotation.LocalOperationStart('Checkout'));
    frontend.recordMessage('cart loaded');
    frontend.recordBinary('cart.items', 3);
    const http = new Instrumentation.HttpClient({ tracer: frontend, remoteServiceName: 'Backend' });
    const request = http.recordRequest({ headers: {} as Record<string, string> }, 'http://backend.local:9000/api/orders?id=7', 'GET');
    const client = frontend.id;
    run.client = client;
    frontend.recordAnnotation(new Annotation.ServerAddr({ serviceName: 'backend', host: new InetAddress('10.1.2.3'), port: 9000 }));
    frontend.recordMessage('request sent');
    run.b3 = { ...request.headers };
    serve(request.headers);
    http.recordResponse(client, '503');
    frontend.setId(root);
    const inventory = new Instrumentation.HttpClient({ tracer: frontend, remoteServiceName: 'Inventory' });
    inventory.recordRequest({ headers: {} as Record<string, string> }, 'http://inventory.local/api/stock', 'GET');
    run.pending = frontend.id;
    frontend.setId(root);
    frontend.recordAnnotation(new Annotation.LocalOperationStop());
  });

  const publish = backend.createRootId(new Some(true), false);
  run.publish = publish;
  backend.letId(publish, () => {
    backend.recordServiceName('backend');
    backend.recordRpc('Publish Order');
    backend.recordAnnotation(new Annotation.ProducerStart());
    backend.recordAnnotation(new Annotation.MessageAddr({ serviceName: 'Kafka', host: new InetAddress('10.9.9.9'), port: 9092 }));
    backend.recordBinary('messaging.destination', 'orders');
    backend.recordAnnotation(new Annotation.ProducerStop());
  });

  const consume = worker.createChildId(publish);
  run.consume = consume;
  worker.letId(consume, () => {
    worker.recordServiceName('worker');
    worker.recordRpc('Consume Order');
    worker.recordAnnotation(new Annotation.ConsumerStart());
    worker.recordAnnotation(new Annotation.MessageAddr({ serviceName: 'kafka' }));
    worker.local('Ack', () => {
      run.ack = worker.id;
    });
    worker.recordAnnotation(new Annotation.ConsumerStop());
  });
  return run as ZipkinJsRun;
}

/** The same span to two loggers: spanline, and the recorder that shows what zipkin-js sent. */
function fanOut(...loggers: Logger[]): Logger {
  return { logSpan: (span: model.Span) => loggers.forEach((l) => l.logSpan(span)) };
}

interface Role {
  role: string;
  id: (r: ZipkinJsRun) => TraceId;
  kind?: string;
  name: string;
  parent: (r: ZipkinJsRun) => string | undefined;
  localEndpoint: ZEndpoint | undefined;
  /** Only when zipkin-js sent JSON v1, when it differs. */
  localEndpointV1?: ZEndpoint | undefined;
  remoteEndpoint?: ZEndpoint;
  tags?: Record<string, string>;
  annotations: string[];
  debug?: boolean;
  shared?: boolean;
  /** Not finished when written: no duration. */
  inFlight?: boolean;
}

/**
 * Each span as the program above recorded it: what must be in the file whatever the encoding (v1 and v2
 * give the same span, but where noted).
 */
const ROLES: Role[] = [
  {
    role: 'local root (LocalOperationStart/Stop, debug)',
    id: (r) => r.root,
    name: 'checkout', // zipkin-js lower-cases names itself
    parent: () => undefined,
    localEndpoint: { serviceName: 'frontend' },
    tags: { 'cart.items': '3', 'deployment.env': 'e2e' },
    annotations: ['cart loaded'],
    debug: true,
  },
  {
    role: 'HTTP client (cs/cr, ServerAddr)',
    id: (r) => r.client,
    kind: 'CLIENT',
    name: 'get',
    parent: (r) => r.root.spanId,
    localEndpoint: { serviceName: 'frontend' },
    remoteEndpoint: { serviceName: 'backend', ipv4: '10.1.2.3', port: 9000 },
    tags: { 'deployment.env': 'e2e', error: '503', 'http.path': '/api/orders', 'http.status_code': '503' },
    annotations: ['request sent'],
    debug: true,
  },
  {
    role: 'HTTP client still in flight when the recorder is flushed (cs only)',
    id: (r) => r.pending,
    kind: 'CLIENT',
    name: 'get',
    parent: (r) => r.root.spanId,
    localEndpoint: { serviceName: 'frontend' },
    remoteEndpoint: { serviceName: 'inventory' },
    tags: { 'deployment.env': 'e2e', 'http.path': '/api/stock' },
    annotations: [],
    debug: true,
    inFlight: true,
  },
  {
    role: 'HTTP server joining the client id (sr/ss, LocalAddr, ClientAddr)',
    id: (r) => r.server,
    kind: 'SERVER',
    name: 'get',
    parent: (r) => r.root.spanId,
    localEndpoint: { serviceName: 'backend', ipv4: '10.1.2.3', port: 9000 },
    remoteEndpoint: { ipv4: '192.168.1.10', port: 54321 },
    tags: { error: '503', 'http.path': '/api/orders', 'http.status_code': '503' },
    annotations: ['orders requested'],
    debug: true,
    shared: true,
  },
  {
    role: 'local child of the server',
    id: (r) => r.load,
    name: 'load orders',
    parent: (r) => r.server.spanId,
    localEndpoint: { serviceName: 'backend' },
    tags: { 'db.rows': '42' },
    annotations: ['rows fetched'],
    debug: true,
  },
  {
    role: 'producer (ms/ws, MessageAddr)',
    id: (r) => r.publish,
    kind: 'PRODUCER',
    name: 'publish order',
    parent: () => undefined,
    localEndpoint: { serviceName: 'backend' },
    remoteEndpoint: { serviceName: 'kafka', ipv4: '10.9.9.9', port: 9092 },
    tags: { 'messaging.destination': 'orders' },
    annotations: [],
  },
  {
    role: 'consumer (wr/mr, MessageAddr)',
    id: (r) => r.consume,
    kind: 'CONSUMER',
    name: 'consume order',
    parent: (r) => r.publish.spanId,
    localEndpoint: { serviceName: 'worker' },
    remoteEndpoint: { serviceName: 'kafka' },
    annotations: [],
  },
  {
    role: 'local span that records only its name',
    id: (r) => r.ack,
    name: 'ack',
    parent: (r) => r.consume.spanId,
    localEndpoint: { serviceName: 'worker' },
    // v1 carries the local endpoint only on annotations and binary annotations, and zipkin-js's v1
    // encoder writes no "lc": a v1 span with neither has no local endpoint, in Zipkin as here.
    localEndpointV1: undefined,
    annotations: [],
  },
];

describe('zipkin-js (zipkin + zipkin-transport-http HttpLogger) → zipkin receiver → file', () => {
  const encodings: { name: string; version: 1 | 2; path: string; encoder?: JsonEncoder }[] = [
    { name: 'JSON_V1 (the HttpLogger default) to /api/v1/spans', version: 1, path: '/api/v1/spans' },
    { name: 'JSON_V2 to /api/v2/spans', version: 2, path: '/api/v2/spans', encoder: jsonEncoder.JSON_V2 },
  ];

  it.each(encodings)('$name: every span and field arrives as Zipkin makes it of what zipkin-js sent', async ({ version, path, encoder }) => {
    const s = await startSpanline();
    const recorder = await startRecorder();
    const options = { httpInterval: NEVER, ...(encoder ? { jsonEncoder: encoder } : {}) };
    const toSpanline = new HttpLogger({ endpoint: s.base + path, ...options });
    const toRecorder = new HttpLogger({ endpoint: recorder.base + path, ...options });

    const run = runZipkinJs(fanOut(toSpanline, toRecorder));
    // The finished spans went to the loggers when they finished; the one in flight goes now.
    run.flushRecorders();
    expect([await flush(toSpanline), await flush(toRecorder)]).toEqual([202, 202]);
    const { zipkin, otlp } = await waitForSpans(s, ROLES.length);

    // What zipkin-js sent: one request, JSON, the spans in the encoding asked for.
    expect(recorder.requests).toHaveLength(1);
    const sent = recorder.requests[0];
    expect([sent.method, sent.url, sent.headers['content-type']]).toEqual(['POST', path, 'application/json']);
    const sentSpans = JSON.parse(sent.body) as (V1Span & ZSpan)[];
    expect(sentSpans).toHaveLength(ROLES.length);
    if (version === 1) expect(sentSpans.filter((x) => 'localEndpoint' in x || 'kind' in x || 'tags' in x)).toEqual([]);
    else expect(sentSpans.filter((x) => 'binaryAnnotations' in x)).toEqual([]);

    // 1. Field by field against what was sent: v2 normalised as Zipkin does; v1 converted to v2 as
    //    Zipkin's V1SpanConverter does.
    const expected = sentSpans.map((x) => (version === 1 ? v2FromZipkinJsV1(x) : zipkinNormalised(x)));
    expect(zipkin).toHaveLength(expected.length);
    const written = byKey(zipkin);
    for (const want of expected) expectFields(written.get(keyOf(want)), want, `${want.name} (${keyOf(want)})`);
    expectZipkinWriterOrder(zipkin);

    // 2. Each span against what the program recorded, by role.
    expect(run.b3['X-B3-Flags']).toBe('1'); // debug travels to the server in B3
    expect(run.b3['X-B3-Sampled']).toBe('1');
    expect(run.root.traceId).toMatch(/^[0-9a-f]{32}$/); // traceId128Bit
    expect(run.publish.traceId).toMatch(/^[0-9a-f]{16}$/);
    for (const r of ROLES) {
      const id = r.id(run);
      const span = written.get(`${id.spanId}/${r.kind ?? ''}`);
      const want: ZSpan = {
        traceId: id.traceId,
        ...(r.parent(run) ? { parentId: r.parent(run) } : {}),
        id: id.spanId,
        ...(r.kind ? { kind: r.kind } : {}),
        name: r.name,
        // Times are zipkin-js's own (µs from its clock): present, and the same as sent, checked above.
        timestamp: span?.timestamp,
        duration: span?.duration,
      };
      const local = version === 1 && 'localEndpointV1' in r ? r.localEndpointV1 : r.localEndpoint;
      if (local) want.localEndpoint = local;
      if (r.remoteEndpoint) want.remoteEndpoint = r.remoteEndpoint;
      if (r.annotations.length > 0) want.annotations = r.annotations.map((value) => ({ timestamp: span?.annotations?.find((a) => a.value === value)?.timestamp ?? -1, value }));
      if (r.tags) want.tags = r.tags;
      if (r.debug) want.debug = true;
      if (r.shared) want.shared = true;
      expectFields(span, want, r.role);
      expect(span!.timestamp, `${r.role}: timestamp`).toBeGreaterThan(1_600_000_000_000_000);
      if (r.inFlight) expect(span!.duration, `${r.role}: duration`).toBeUndefined();
      else expect(span!.duration, `${r.role}: duration`).toBeGreaterThanOrEqual(1);
    }
    const client = written.get(`${run.client.spanId}/CLIENT`)!;
    const server = written.get(`${run.server.spanId}/SERVER`)!;
    expect(server.id).toBe(client.id); // joined: the same span id on both sides

    // 3. The same spans in OTLP/JSON, by the Zipkin → OTLP mapping.
    expectOtlpMapping(zipkin, otlp);
    // Spelled out for the server half: endpoints and flags become attributes, the error tag the status.
    const serverOtlp = otlp.find((o) => o.span.spanId === server.id && o.span.kind === 2)!;
    expect(serverOtlp.span.traceId).toBe(run.root.traceId);
    expect(serverOtlp.span.status).toEqual({ code: 2, message: '503' });
    expect(kvMap(serverOtlp.resource.attributes)).toEqual({ 'service.name': { stringValue: 'backend' } });
    expect(kvMap(serverOtlp.span.attributes)).toMatchObject({
      'net.host.ip': { stringValue: '10.1.2.3' },
      'net.host.port': { intValue: '9000' },
      'net.peer.ip': { stringValue: '192.168.1.10' },
      'net.peer.port': { intValue: '54321' },
      'zipkin.shared': { boolValue: true },
      'zipkin.debug': { boolValue: true },
      error: { stringValue: '503' },
    });
    expect(serverOtlp.span.startTimeUnixNano).toBe(String(BigInt(server.timestamp!) * 1000n));
    expect(serverOtlp.span.endTimeUnixNano).toBe(String(BigInt(server.timestamp! + server.duration!) * 1000n));
    const producerOtlp = otlp.find((o) => o.span.spanId === run.publish.spanId)!;
    expect(producerOtlp.span.traceId).toBe('0000000000000000' + run.publish.traceId); // 64-bit, left-padded
    expect(producerOtlp.span.kind).toBe(4);
    expect(kvMap(producerOtlp.span.attributes)).toMatchObject({ 'peer.service': { stringValue: 'kafka' }, 'net.peer.ip': { stringValue: '10.9.9.9' }, 'net.peer.port': { intValue: '9092' } });
    expect(producerOtlp.span.status).toBeUndefined();
    // A span without duration (in flight): end = start, which reads back as "no duration".
    const pendingOtlp = otlp.find((o) => o.span.spanId === run.pending.spanId)!;
    expect(pendingOtlp.span.startTimeUnixNano).toBe(String(BigInt(written.get(`${run.pending.spanId}/CLIENT`)!.timestamp!) * 1000n));
    expect(pendingOtlp.span.endTimeUnixNano).toBe(pendingOtlp.span.startTimeUnixNano);

    expect(await s.d.stop('SIGTERM')).toBe(0);
  });
});

// ---- @opentelemetry/exporter-zipkin

const TRACE_ID = '5b8efff798038103d269b633813fc60c';
const REMOTE_PARENT_ID = 'eee19b7ec3c1b173';
const T0 = 1_700_000_000;
const at = (s: number, ns: number): HrTime => [T0 + s, ns];

/**
 * OpenTelemetry SDK spans for exporter-zipkin: every kind, attributes of every type, events with and
 * without attributes, an error status with a message and an OK status, links, dropped counts (span
 * limits), two resources with service.name and other attributes, and a span whose own `service.name`
 * names its Zipkin service. Start times are whole microseconds: exporter-zipkin writes the span timestamp
 * unrounded (see the last test); ends and events are not, to show how they are rounded.
 */
function recordOtelSpans(startOfServer: HrTime = at(0, 123_456_000)): ReadableSpan[] {
  const memory = new InMemorySpanExporter();
  const make = (attrs: ApiAttributes) =>
    new BasicTracerProvider({
      resource: resourceFromAttributes(attrs),
      spanProcessors: [new SimpleSpanProcessor(memory)],
      spanLimits: { attributeCountLimit: 16, eventCountLimit: 3, linkCountLimit: 2 },
    });
  const checkout = make({ 'service.name': 'checkout', 'service.version': '1.4.0', 'host.cpu.count': 8, 'deployment.canary': false, 'cloud.zones': ['a', 'b'] });
  const billing = make({ 'service.name': 'Billing', 'service.namespace': 'shop' });
  const http = checkout.getTracer('io.spanline.http', '1.2.3');
  const db = checkout.getTracer('io.spanline.db');
  const pay = billing.getTracer('io.spanline.pay', '0.9.0');

  const remote = trace.setSpanContext(context.active(), { traceId: TRACE_ID, spanId: REMOTE_PARENT_ID, traceFlags: TraceFlags.SAMPLED, isRemote: true });
  const server = http.startSpan(
    'POST /cart ✓ Привет',
    {
      kind: ApiSpanKind.SERVER,
      startTime: startOfServer,
      attributes: {
        'http.method': 'POST',
        'http.status_code': 503,
        'http.ratio': 0.25,
        'retry.allowed': true,
        'empty.string': '',
        'int.negative': -42,
        'int.max_safe': Number.MAX_SAFE_INTEGER,
        'double.negative': -1.5e-7,
        'tags': ['a', '', 'ü'],
        'codes': [200, 404],
        'weights': [0.5, 1.25],
        'flags': [true, false],
      },
      links: [
        { context: { traceId: '4bf92f3577b34da6a3ce929d0e0e4736', spanId: '00f067aa0ba902b7', traceFlags: TraceFlags.SAMPLED }, attributes: { 'link.kind': 'follows_from' } },
        { context: { traceId: '0af7651916cd43dd8448eb211c80319c', spanId: 'b7ad6b7169203331', traceFlags: TraceFlags.NONE } },
      ],
    },
    remote,
  );
  // (Fractions away from .4-.5: exporter-zipkin rounds a double, whose step near 1.7e15 µs is 0.25.)
  server.addEvent('exception', { 'exception.type': 'IOError', 'exception.escaped': false }, at(0, 500_000_200)); // .2 µs rounds down
  server.addEvent('retry', at(0, 600_000_700)); // .7 µs rounds up
  server.addEvent('retry', at(0, 600_001_300)); // the same µs once rounded: a duplicate annotation
  server.setStatus({ code: SpanStatusCode.ERROR, message: 'payment failed' });

  const inServer = trace.setSpan(context.active(), server);
  // Peer attributes as OTel instrumentation sets them: exporter-zipkin sends them as tags, not as the
  // remote endpoint, and Zipkin in → Zipkin out keeps them tags.
  const peer = { 'db.system': 'postgresql', 'peer.service': 'postgres', 'net.peer.ip': '10.0.0.5', 'net.peer.port': 5432 };
  const query = db.startSpan('SELECT cart', { kind: ApiSpanKind.CLIENT, startTime: at(0, 200_000_000), attributes: peer }, inServer);
  query.setStatus({ code: SpanStatusCode.OK });
  query.end(at(0, 250_000_999));

  // Over the span limits: attributes, events and links are dropped and counted.
  const busy = db.startSpan(
    'busy',
    {
      kind: ApiSpanKind.INTERNAL,
      startTime: at(0, 300_000_000),
      attributes: Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`a${i}`, i])),
      links: Array.from({ length: 4 }, (_, i) => ({ context: { traceId: TRACE_ID, spanId: `00000000000000a${i}`, traceFlags: TraceFlags.SAMPLED } })),
    },
    inServer,
  );
  for (let i = 0; i < 5; i++) busy.addEvent(`e${i}`, at(0, 300_001_000 + i * 1000));
  busy.end(at(0, 310_000_000));

  // Shorter than half a microsecond: exporter-zipkin rounds the duration to 0, which Zipkin reads as absent.
  const blink = db.startSpan('blink', { startTime: at(0, 400_000_000) }, inServer);
  blink.end(at(0, 400_000_400));

  const publish = pay.startSpan('publish', { kind: ApiSpanKind.PRODUCER, startTime: at(1, 1_000) }, inServer);
  publish.end(at(1, 2_000));
  // Its own service.name names the Zipkin service; the resource's still becomes the tag.
  const consume = pay.startSpan('consume', { kind: ApiSpanKind.CONSUMER, startTime: at(2, 0), attributes: { 'service.name': 'Ledger' } });
  consume.end(at(2, 999_999_999));

  server.end(at(1, 987_654_321));
  return memory.getFinishedSpans();
}

const ZIPKIN_KIND: Record<number, string | undefined> = {
  [ApiSpanKind.SERVER]: 'SERVER',
  [ApiSpanKind.CLIENT]: 'CLIENT',
  [ApiSpanKind.PRODUCER]: 'PRODUCER',
  [ApiSpanKind.CONSUMER]: 'CONSUMER',
  [ApiSpanKind.INTERNAL]: undefined,
};

/** ns → µs, rounded half up as exporter-zipkin's Math.round does. */
const roundedMicros = (ns: bigint) => Number((ns + 500n) / 1000n);

/**
 * What the zipkin_json file must hold for a ReadableSpan: the OTel Zipkin mapping as exporter-zipkin
 * 2.12 writes it, then Zipkin's normalisation (name lower-cased, annotations sorted and de-duplicated).
 */
function zipkinExpectedFromSdk(r: ReadableSpan): ZSpan {
  const ctx = r.spanContext();
  const out: ZSpan = { traceId: ctx.traceId, id: ctx.spanId };
  if (r.parentSpanContext) out.parentId = r.parentSpanContext.spanId;
  // Kind: SERVER, CLIENT, PRODUCER, CONSUMER as such; INTERNAL has no Zipkin kind.
  const kind = ZIPKIN_KIND[r.kind];
  if (kind) out.kind = kind;
  // Name: as set, lower-cased by Zipkin.
  out.name = r.name.toLowerCase();
  // Timestamp: the start in µs (whole here); duration: rounded to µs, and 0 is absent in Zipkin.
  out.timestamp = Number(hrTimeNanos(r.startTime) / 1000n);
  const duration = roundedMicros(hrTimeNanos(r.endTime) - hrTimeNanos(r.startTime));
  if (duration > 0) out.duration = duration;
  // Local endpoint: the span's own service.name attribute, else the resource's; Zipkin lower-cases it.
  out.localEndpoint = { serviceName: String(r.attributes['service.name'] ?? r.resource.attributes['service.name']).toLowerCase() };
  // Events: annotations, the name only (exporter-zipkin drops event attributes), at the rounded µs.
  const annotations = normaliseAnnotations(r.events.map((e) => ({ timestamp: roundedMicros(hrTimeNanos(e.time)), value: e.name })));
  if (annotations) out.annotations = annotations;
  // Tags: attributes as String(v) (arrays comma-joined, not JSON as the OTel specification says), the
  // status as otel.status_code OK/ERROR plus an `error` tag with the message, the dropped counts, and
  // every resource attribute (service.name too), which win over the span's.
  const tags: Record<string, string> = {};
  for (const [k, v] of Object.entries(r.attributes)) tags[k] = String(v);
  if (r.status.code !== SpanStatusCode.UNSET) tags['otel.status_code'] = SpanStatusCode[r.status.code];
  if (r.status.code === SpanStatusCode.ERROR && r.status.message) tags.error = r.status.message;
  if (r.droppedAttributesCount) tags['otel.dropped_attributes_count'] = String(r.droppedAttributesCount);
  if (r.droppedEventsCount) tags['otel.dropped_events_count'] = String(r.droppedEventsCount);
  if (r.droppedLinksCount) tags['otel.dropped_links_count'] = String(r.droppedLinksCount);
  for (const [k, v] of Object.entries(r.resource.attributes)) tags[k] = String(v);
  out.tags = tags;
  // Links, trace state and flags: exporter-zipkin does not send them.
  return out;
}

describe('@opentelemetry/exporter-zipkin → zipkin receiver → file', () => {
  it('every field of the SDK spans arrives as the OTel Zipkin mapping says, in zipkin_json and otlp_json', async () => {
    const sdkSpans = recordOtelSpans();
    const s = await startSpanline();
    const recorder = await startRecorder();
    const client = new ZipkinExporter({ url: `${s.base}/api/v2/spans` });
    const echo = new ZipkinExporter({ url: `${recorder.base}/api/v2/spans` });
    expect(await exportWith(client, sdkSpans)).toEqual({ code: 0 });
    expect(await exportWith(echo, sdkSpans)).toEqual({ code: 0 });
    await Promise.all([client.shutdown(), echo.shutdown()]);
    const { zipkin, otlp } = await waitForSpans(s, sdkSpans.length);
    expect(zipkin).toHaveLength(sdkSpans.length);
    const written = byKey(zipkin);

    // 1. Zipkin in → Zipkin out is the identity after Zipkin's normalisation: the file holds what the
    //    exporter sent, normalised.
    const sent = JSON.parse(recorder.requests[0].body) as ZSpan[];
    expect(sent).toHaveLength(sdkSpans.length);
    for (const x of sent) expectFields(written.get(keyOf(x)), zipkinNormalised(x), `${x.name} as sent`);
    expectZipkinWriterOrder(zipkin);

    // 2. Field by field against the ReadableSpans.
    for (const r of sdkSpans) {
      const want = zipkinExpectedFromSdk(r);
      expectFields(written.get(keyOf(want)), want, r.name);
    }
    // The rules, spelled out on the spans that show them.
    const find = (name: string) => zipkin.find((z) => z.name === name)!;
    const server = find('post /cart ✓ привет');
    expect(server.parentId).toBe(REMOTE_PARENT_ID);
    expect(server.timestamp).toBe(1_700_000_000_123_456);
    expect(server.duration).toBe(1_864_198); // 1.864198321 s, in µs, rounded
    expect(server.annotations).toEqual([
      { timestamp: 1_700_000_000_500_000, value: 'exception' },
      { timestamp: 1_700_000_000_600_001, value: 'retry' }, // two events, one µs: one annotation
    ]);
    expect(server.tags).toMatchObject({
      'codes': '200,404',
      'double.negative': '-1.5e-7',
      'empty.string': '',
      error: 'payment failed',
      'flags': 'true,false',
      'http.ratio': '0.25',
      'http.status_code': '503',
      'int.max_safe': '9007199254740991',
      'otel.status_code': 'ERROR',
      'retry.allowed': 'true',
      'service.name': 'checkout',
      'cloud.zones': 'a,b',
      'deployment.canary': 'false',
      'host.cpu.count': '8',
      'tags': 'a,,ü',
    });
    expect(Object.keys(server.tags!).some((k) => k.startsWith('otlp.link.'))).toBe(false); // links are not sent
    expect(find('select cart').tags).toMatchObject({ 'otel.status_code': 'OK', 'peer.service': 'postgres', 'net.peer.ip': '10.0.0.5', 'net.peer.port': '5432' });
    expect(find('select cart').remoteEndpoint).toBeUndefined();
    expect(find('busy').kind).toBeUndefined();
    expect(find('busy').tags).toMatchObject({ 'otel.dropped_attributes_count': '4', 'otel.dropped_events_count': '2', 'otel.dropped_links_count': '2' });
    expect(find('blink').duration).toBeUndefined();
    expect(find('publish').duration).toBe(1);
    expect(find('consume').localEndpoint).toEqual({ serviceName: 'ledger' });
    expect(find('consume').tags!['service.name']).toBe('Billing');

    // 3. otlp_json: by the Zipkin → OTLP mapping, from what the zipkin_json file holds ...
    expectOtlpMapping(zipkin, otlp);
    // ... and against the ReadableSpans: ids, kind, status, times to the µs, attributes, events.
    const OTLP_KIND_OF: Record<number, number | undefined> = { [ApiSpanKind.SERVER]: 2, [ApiSpanKind.CLIENT]: 3, [ApiSpanKind.PRODUCER]: 4, [ApiSpanKind.CONSUMER]: 5, [ApiSpanKind.INTERNAL]: undefined };
    for (const r of sdkSpans) {
      const o = otlp.find((x) => x.span.spanId === r.spanContext().spanId)!;
      expect(o, r.name).toBeDefined();
      const start = hrTimeNanos(r.startTime);
      const end = hrTimeNanos(r.endTime);
      const durationMicros = roundedMicros(end - start);
      const status = r.status.code === SpanStatusCode.UNSET ? undefined : r.status.message ? { code: r.status.code, message: r.status.message } : { code: r.status.code };
      expectFields(
        {
          traceId: o.span.traceId,
          parentSpanId: o.span.parentSpanId,
          kind: o.span.kind,
          name: o.span.name,
          startTimeUnixNano: o.span.startTimeUnixNano,
          endTimeUnixNano: o.span.endTimeUnixNano,
          status: o.span.status,
          events: o.span.events,
          links: o.span.links,
          serviceName: kvMap(o.resource.attributes)['service.name'],
        },
        {
          traceId: r.spanContext().traceId,
          parentSpanId: r.parentSpanContext?.spanId,
          // INTERNAL has no Zipkin kind: it arrives Unspecified (0, not written).
          kind: OTLP_KIND_OF[r.kind],
          name: r.name.toLowerCase(),
          // Whole µs starts arrive to the ns; ends to the µs (end = start when the duration rounded to 0).
          startTimeUnixNano: String(start),
          endTimeUnixNano: String(start + BigInt(Math.max(durationMicros, 0)) * 1000n),
          status,
          events: normaliseAnnotations(r.events.map((e) => ({ timestamp: roundedMicros(hrTimeNanos(e.time)), value: e.name })))?.map((a) => ({ timeUnixNano: String(BigInt(a.timestamp) * 1000n), name: a.value })),
          links: undefined,
          serviceName: { stringValue: String(r.attributes['service.name'] ?? r.resource.attributes['service.name']).toLowerCase() },
        },
        `${r.name} in otlp_json`,
      );
      if (durationMicros > 0) expect(BigInt(o.span.endTimeUnixNano!) - end, `${r.name}: end within 0.5 µs`).toBeLessThanOrEqual(500n);
      // Every attribute arrives as the string tag exporter-zipkin made of it.
      const attributes = kvMap(o.span.attributes);
      for (const [k, v] of Object.entries(zipkinExpectedFromSdk(r).tags!)) expect(attributes[k], `${r.name}: attribute ${k}`).toEqual({ stringValue: v });
    }
    const serverOtlp = otlp.find((o) => o.span.name === 'post /cart ✓ привет')!;
    expect(serverOtlp.span.status).toEqual({ code: 2, message: 'payment failed' });
    expect(serverOtlp.span.kind).toBe(2);
    expect(serverOtlp.span.startTimeUnixNano).toBe('1700000000123456000');
    expect(serverOtlp.span.endTimeUnixNano).toBe('1700000001987654000');
    expect(kvMap(serverOtlp.span.attributes)['http.status_code']).toEqual({ stringValue: '503' }); // Zipkin tags are text
    const queryOtlp = otlp.find((o) => o.span.name === 'select cart')!;
    expect(queryOtlp.span.status).toEqual({ code: 1 });
    expect(kvMap(queryOtlp.span.attributes)).toMatchObject({ 'peer.service': { stringValue: 'postgres' }, 'net.peer.ip': { stringValue: '10.0.0.5' }, 'net.peer.port': { stringValue: '5432' } });
    expect(otlp.find((o) => o.span.name === 'busy')!.span.kind).toBeUndefined();
    // One resource per Zipkin service: checkout, billing and ledger.
    expect(new Set(otlp.map((o) => kvMap(o.resource.attributes)['service.name']?.stringValue))).toEqual(new Set(['checkout', 'billing', 'ledger']));

    expect(await s.d.stop('SIGTERM')).toBe(0);
  });

  it('a start time finer than 1 µs: exporter-zipkin writes a fractional timestamp, which Zipkin refuses and spanline rounds', async () => {
    // exporter-zipkin 2.12 rounds durations and annotation timestamps but not the span timestamp;
    // Zipkin reads timestamps as longs and refuses the batch ("Expected a long but was …").
    const sdkSpans = recordOtelSpans(at(0, 123_456_789));
    const s = await startSpanline();
    const recorder = await startRecorder();
    const client = new ZipkinExporter({ url: `${s.base}/api/v2/spans` });
    const echo = new ZipkinExporter({ url: `${recorder.base}/api/v2/spans` });
    const result = await exportWith(client, sdkSpans);
    expect(await exportWith(echo, sdkSpans)).toEqual({ code: 0 });
    await Promise.all([client.shutdown(), echo.shutdown()]);
    expect(result).toEqual({ code: 0 });

    const body = recorder.requests[0].body;
    expect(body).toContain('"timestamp":1700000000123456.8');
    expect(await s.d.stop('SIGTERM')).toBe(0);
    const written = completeLines(s.zipkinOut).map((l) => JSON.parse(l) as ZSpan);
    expect(written).toHaveLength(sdkSpans.length);
    // Rounded to the nearest microsecond, the precision Zipkin has.
    expect(written.find((x) => x.name === 'post /cart ✓ привет')?.timestamp).toBe(1700000000123457);
  });
});
