/**
 * Micro-benchmark of the Zipkin codecs, in process, on one core: decode and encode spans/s for Zipkin
 * v2 JSON, proto3, v1 JSON and Thrift, on ~1000 realistic spans (bench/lib/spans.mjs: HTTP and Kafka
 * spans, ~6 tags, 1–2 annotations). Each figure is the median of several timed runs after a warm-up:
 * spans per second of wall time, and per second of the process's CPU time (all its threads, V8's GC
 * helpers included), which other processes on a busy machine do not inflate.
 *
 *   npm run build && node bench/codecs.mjs [--spans 1000] [--runs 9] [--min-ms 300]
 *
 * Payloads: v2 JSON from the span generator; proto3 written by our encoder; v1 JSON written by zipkin-js
 * (its JSON_V1 encoder) from the same spans; Thrift written from that v1 JSON by the test writer. "encode"
 * rows encode the model spans that the v2 JSON decoder produced; "encode (OTLP-shaped)" rows encode the
 * same spans as they come from OTLP (Zipkin fields as attributes, typed values, resource attributes),
 * which exercises the whole OTel → Zipkin mapping.
 */
import { parseArgs } from 'node:util';
import zipkin from 'zipkin';
import { decodeZipkinV2Json, encodeZipkinV2Json } from '../dist/codecs/zipkin-json.js';
import { decodeZipkinProto3, encodeZipkinProto3 } from '../dist/codecs/zipkin-proto3.js';
import { decodeZipkinV1Json } from '../dist/codecs/zipkin-v1-json.js';
import { decodeZipkinThrift } from '../dist/codecs/zipkin-thrift.js';
import { zipkinFieldsToAttributes } from '../dist/codecs/zipkin-otlp.js';
import { Span, newResource } from '../dist/model/span.js';
import { requestSpans, rng } from './lib/spans.mjs';
import { encodeV1ThriftList } from '../test/codecs/zipkin-v1-thrift-writer.mjs';

const { values: args } = parseArgs({
  options: {
    spans: { type: 'string', default: '1000' },
    runs: { type: 'string', default: '9' },
    'min-ms': { type: 'string', default: '300' },
  },
});
const SPANS = Number(args.spans);
const RUNS = Number(args.runs);
const MIN_MS = Number(args['min-ms']);

// ---- payloads

const hex = (n, digits) => n.toString(16).padStart(digits, '0');
const logical = requestSpans(rng(42), SPANS, 1_732_192_000_000_000);
const v2Objects = logical.map((s, i) => {
  const root = logical[s.rootIdx];
  const traceLow = '8' + hex(s.rootIdx + 1, 15);
  return {
    traceId: root.traceDigits === 32 ? 'a1b2c3d4e5f60718' + traceLow : traceLow,
    ...(s.parentIdx >= 0 ? { parentId: hex(s.parentIdx + 1, 16) } : {}),
    id: hex(i + 1, 16),
    ...s.fields,
  };
});
const v2Json = Buffer.from(JSON.stringify(v2Objects));
const model = decodeZipkinV2Json(v2Json);
const proto3 = encodeZipkinProto3(model);

const { model: zm, jsonEncoder, option, TraceId } = zipkin;
const zEndpoint = (e) => e && new zm.Endpoint({ serviceName: e.serviceName, ipv4: e.ipv4, port: e.port });
const v1Json = Buffer.from(
  '[' +
    v2Objects
      .map((o) => {
        const span = new zm.Span(new TraceId({ traceId: o.traceId, parentId: o.parentId ? new option.Some(o.parentId) : option.None, spanId: o.id, sampled: new option.Some(true) }));
        span.setName(o.name);
        span.setKind(o.kind);
        span.setTimestamp(o.timestamp);
        span.setDuration(o.duration);
        span.setLocalEndpoint(zEndpoint(o.localEndpoint));
        span.setRemoteEndpoint(zEndpoint(o.remoteEndpoint));
        for (const a of o.annotations ?? []) span.addAnnotation(a.timestamp, a.value);
        for (const [k, v] of Object.entries(o.tags ?? {})) span.putTag(k, v);
        return jsonEncoder.JSON_V1.encode(span);
      })
      .join(',') +
    ']',
);
const thrift = encodeV1ThriftList(JSON.parse(v1Json.toString()));

/** The spans as the OTLP decoders give them: Zipkin fields as attributes, typed values, a richer resource. */
const resources = new Map();
const otlpShaped = model.map((s) => {
  const service = s.resource.attributes['service.name'];
  let resource = resources.get(service);
  if (resource === undefined) {
    resource = newResource({ 'service.name': service, 'service.version': '1.4.2', 'telemetry.sdk.language': 'java', 'host.name': `${service}-7d9f` });
    resources.set(service, resource);
  }
  const attributes = { ...zipkinFieldsToAttributes(s), ...s.attributes };
  if (typeof attributes['http.status_code'] === 'string') attributes['http.status_code'] = BigInt(attributes['http.status_code']);
  const o = new Span(resource, attributes, s.events, []);
  Object.assign(o, { traceId: s.traceId.padStart(32, '0'), spanId: s.spanId, parentSpanId: s.parentSpanId, name: s.name, kind: s.kind });
  Object.assign(o, { startTimeUnixNano: s.startTimeUnixNano, endTimeUnixNano: s.endTimeUnixNano, status: s.status, scope: s.scope });
  return o;
});

// ---- timing

function measure(fn) {
  // Repeat the whole payload until a run lasts MIN_MS; report the median run.
  let reps = 1;
  for (;;) {
    const t = process.hrtime.bigint();
    for (let k = 0; k < reps; k++) fn();
    if (Number(process.hrtime.bigint() - t) / 1e6 >= MIN_MS / 4) break;
    reps *= 2;
  }
  reps *= 4;
  const wall = [];
  const cpu = [];
  let spans = 0;
  for (let run = 0; run < RUNS; run++) {
    const c = process.cpuUsage();
    const t = process.hrtime.bigint();
    let n = 0;
    for (let k = 0; k < reps; k++) n += fn();
    const seconds = Number(process.hrtime.bigint() - t) / 1e9;
    const used = process.cpuUsage(c);
    wall.push(n / seconds);
    // All threads of the process: V8's GC helpers count too, other processes do not.
    cpu.push(n / ((used.user + used.system) / 1e6));
    spans = n / reps;
  }
  const median = (xs) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  return { wall: median(wall), min: wall[0], max: wall[wall.length - 1], cpu: median(cpu), spans };
}

const cases = [
  ['zipkin v2 JSON', 'decode', v2Json, () => decodeZipkinV2Json(v2Json).length],
  ['zipkin v2 JSON', 'encode', null, () => (encodeZipkinV2Json(model), model.length)],
  ['zipkin v2 JSON', 'encode (OTLP-shaped)', null, () => (encodeZipkinV2Json(otlpShaped), otlpShaped.length)],
  ['zipkin proto3', 'decode', proto3, () => decodeZipkinProto3(proto3).length],
  ['zipkin proto3', 'encode', null, () => encodeZipkinProto3(model).length && model.length],
  ['zipkin proto3', 'encode (OTLP-shaped)', null, () => encodeZipkinProto3(otlpShaped).length && otlpShaped.length],
  ['zipkin v1 JSON', 'decode', v1Json, () => decodeZipkinV1Json(v1Json).length],
  ['zipkin v1 Thrift', 'decode', thrift, () => decodeZipkinThrift(thrift).length],
];

console.log(`node ${process.version}, ${SPANS} spans per payload, median of ${RUNS} runs`);
console.log('spans/s: per second of wall time on the main thread (min – max), and per second of CPU time of the process\n');
console.log('codec              op                       spans/s  (min – max)                 per CPU-s  bytes/span');
const fmt = (n) => Math.round(n).toLocaleString('en-US');
for (const [codec, op, payload, fn] of cases) {
  for (let k = 0; k < 3; k++) fn(); // warm up
  const r = measure(fn);
  const perSpan = payload ? (payload.length / r.spans).toFixed(0) : '';
  console.log(`${codec.padEnd(18)} ${op.padEnd(22)} ${fmt(r.wall).padStart(9)}  ${`(${fmt(r.min)} – ${fmt(r.max)})`.padEnd(26)} ${fmt(r.cpu).padStart(9)}  ${perSpan.padStart(10)}`);
}
