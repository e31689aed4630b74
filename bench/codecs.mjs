/**
 * Micro-benchmark of the codecs, in process, on one core: decode and encode spans/s for Zipkin v2 JSON,
 * proto3, v1 JSON and Thrift, OTLP protobuf decode, and the file exporter's `zipkin_json` lines, on ~1000 realistic spans (bench/lib/spans.mjs: HTTP and Kafka
 * spans, ~6 tags, 1–2 annotations). Each figure is the median of several timed runs after a warm-up:
 * spans per second of wall time, and per second of the process's CPU time (all its threads, V8's GC
 * helpers included), which other processes on a busy machine do not inflate.
 *
 *   npm run build && node bench/codecs.mjs [--spans 1000] [--runs 9] [--min-ms 300] [--baseline DIR] [--only TEXT]
 *
 * `--baseline DIR` compares side by side in one run: DIR holds `codecs/` and `model/` of another build
 * (e.g. `cp -r dist/codecs dist/model /tmp/base/` before a change). Each timed run of a case runs the
 * baseline and then the current build, so both see the same machine load; the table shows both CPU
 * figures and the median of the per-run ratios (current / baseline). `--only` keeps the cases whose
 * name contains TEXT.
 *
 * Payloads: v2 JSON from the span generator; proto3 written by our encoder; v1 JSON written by zipkin-js
 * (its JSON_V1 encoder) from the same spans; Thrift written from that v1 JSON by the test writer. "encode"
 * rows encode the model spans that the v2 JSON decoder produced; "encode (OTLP-shaped)" rows encode the
 * same spans as they come from OTLP (Zipkin fields as attributes, typed values, resource attributes),
 * which exercises the whole OTel → Zipkin mapping. OTLP protobuf is written by our encoder from the
 * OTLP-shaped spans. "lines" rows do what the file exporter does with a batch (512-span chunks of
 * newline-terminated spans as bytes); "list to bytes" what the zipkin exporter sends; "(held)" rows keep
 * the last 16 decoded payloads alive, as batches do in the daemon, so that the GC cost of what a decoder
 * allocates shows.
 */
import { parseArgs } from 'node:util';
import zipkin from 'zipkin';
import { pathToFileURL } from 'node:url';
import { resolve } from 'node:path';
import { decodeZipkinV2Json, encodeZipkinV2Json } from '../dist/codecs/zipkin-json.js';
import { decodeZipkinProto3, encodeZipkinProto3 } from '../dist/codecs/zipkin-proto3.js';
import { encodeOtlpProtoRequest } from '../dist/codecs/otlp-proto.js';
import { zipkinFieldsToAttributes } from '../dist/codecs/zipkin-otlp.js';
import { Span, newResource } from '../dist/model/span.js';
import { requestSpans, rng } from './lib/spans.mjs';
import { encodeV1ThriftList } from '../test/codecs/zipkin-v1-thrift-writer.mjs';

const { values: args } = parseArgs({
  options: {
    spans: { type: 'string', default: '1000' },
    runs: { type: 'string', default: '9' },
    'min-ms': { type: 'string', default: '300' },
    baseline: { type: 'string' },
    only: { type: 'string', default: '' },
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

const otlpProto = encodeOtlpProtoRequest(otlpShaped);

// ---- the codecs under test: this build, and the baseline's when given

async function loadCodecs(dir) {
  const load = (path) => import(pathToFileURL(resolve(dir, path)).href);
  const [json, proto3, v1, thrift, otlp, otlpJson] = await Promise.all([
    load('codecs/zipkin-json.js'),
    load('codecs/zipkin-proto3.js'),
    load('codecs/zipkin-v1-json.js'),
    load('codecs/zipkin-thrift.js'),
    load('codecs/otlp-proto.js'),
    load('codecs/otlp-json.js'),
  ]);
  return { ...json, ...proto3, ...v1, ...thrift, ...otlp, ...otlpJson };
}

/** Spans per chunk of the file exporter (src/exporters/file). */
const CHUNK_SPANS = 512;

/**
 * What the file exporter does with a batch in `zipkin_json` format: newline-terminated spans as bytes,
 * in chunks. Builds with `writeZipkinV2Lines` encode straight into bytes; older ones joined strings and
 * converted them with Buffer.from, which is measured for them.
 */
function fileLines(c, spans) {
  if (c.writeZipkinV2Lines !== undefined) {
    let n = 0;
    for (let from = 0; from < spans.length; from += CHUNK_SPANS) n += c.writeZipkinV2Lines(spans, from, Math.min(spans.length, from + CHUNK_SPANS)).length;
    return n;
  }
  let n = 0;
  for (let from = 0; from < spans.length; from += CHUNK_SPANS) {
    const to = Math.min(spans.length, from + CHUNK_SPANS);
    let text = '';
    for (let i = from; i < to; i++) text += c.encodeZipkinV2Span(spans[i]) + '\n';
    n += Buffer.from(text, 'utf8').length;
  }
  return n;
}

/** What the file exporter does with a batch in `otlp_json` format: one request line, as bytes in chunks. */
function otlpJsonLine(c, spans) {
  let n = 0;
  for (const chunk of c.encodeOtlpJsonChunks(spans, CHUNK_SPANS)) n += chunk.length;
  return n;
}

/** What the zipkin exporter sends: the JSON list as bytes. */
function listBytes(c, spans) {
  return c.encodeZipkinV2JsonBytes !== undefined ? c.encodeZipkinV2JsonBytes(spans).length : Buffer.from(c.encodeZipkinV2Json(spans)).length;
}

/**
 * Decoded spans stay alive until their batch is exported (8192 spans or 200 ms in the daemon), so they
 * survive scavenges and the GC copies them. Rows "(held)" keep the last HELD_PAYLOADS results alive.
 */
const HELD_PAYLOADS = 16;
const held = new Map();
function hold(c, spans) {
  let ring = held.get(c);
  if (ring === undefined) held.set(c, (ring = { k: 0, items: new Array(HELD_PAYLOADS) }));
  ring.items[ring.k++ % HELD_PAYLOADS] = spans;
  return spans.length;
}

const CASES = [
  ['zipkin v2 JSON', 'decode (held)', v2Json, (c) => hold(c, c.decodeZipkinV2Json(v2Json))],
  ['zipkin v2 JSON', 'decode', v2Json, (c) => c.decodeZipkinV2Json(v2Json).length],
  ['zipkin v2 JSON', 'encode', null, (c) => (c.encodeZipkinV2Json(model), model.length)],
  ['zipkin v2 JSON', 'encode (OTLP-shaped)', null, (c) => (c.encodeZipkinV2Json(otlpShaped), otlpShaped.length)],
  ['zipkin v2 JSON', 'list to bytes', null, (c) => listBytes(c, model) && model.length],
  ['file zipkin_json', 'lines to bytes', null, (c) => fileLines(c, model) && model.length],
  ['file zipkin_json', 'lines (OTLP-shaped)', null, (c) => fileLines(c, otlpShaped) && otlpShaped.length],
  ['file otlp_json', 'request line (Zipkin-decoded)', null, (c) => otlpJsonLine(c, model) && model.length],
  ['file otlp_json', 'request line (OTLP-shaped)', null, (c) => otlpJsonLine(c, otlpShaped) && otlpShaped.length],
  ['zipkin proto3', 'decode', proto3, (c) => c.decodeZipkinProto3(proto3).length],
  ['zipkin proto3', 'decode (held)', proto3, (c) => hold(c, c.decodeZipkinProto3(proto3))],
  ['zipkin proto3', 'encode', null, (c) => c.encodeZipkinProto3(model).length && model.length],
  ['zipkin proto3', 'encode (OTLP-shaped)', null, (c) => c.encodeZipkinProto3(otlpShaped).length && otlpShaped.length],
  ['OTLP protobuf', 'decode', otlpProto, (c) => c.decodeOtlpProtoRequest(otlpProto).length],
  ['OTLP protobuf', 'decode (held)', otlpProto, (c) => hold(c, c.decodeOtlpProtoRequest(otlpProto))],
  ['zipkin v1 JSON', 'decode', v1Json, (c) => c.decodeZipkinV1Json(v1Json).length],
  ['zipkin v1 Thrift', 'decode', thrift, (c) => c.decodeZipkinThrift(thrift).length],
];

// ---- timing

/** Repetitions of `fn` that take about MIN_MS. */
function calibrate(fn) {
  let reps = 1;
  for (;;) {
    const t = process.hrtime.bigint();
    for (let k = 0; k < reps; k++) fn();
    if (Number(process.hrtime.bigint() - t) / 1e6 >= MIN_MS / 4) return reps * 4;
    reps *= 2;
  }
}

/** One timed run: spans per second of wall time and of the process's CPU time. */
function timedRun(fn, reps) {
  const c = process.cpuUsage();
  const t = process.hrtime.bigint();
  let n = 0;
  for (let k = 0; k < reps; k++) n += fn();
  const seconds = Number(process.hrtime.bigint() - t) / 1e9;
  const used = process.cpuUsage(c);
  // All threads of the process: V8's GC helpers count too, other processes do not.
  return { wall: n / seconds, cpu: n / ((used.user + used.system) / 1e6), spans: n / reps };
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** RUNS timed runs of each of `fns`, interleaved run by run; per fn the medians, per run the CPU ratios. */
function measure(fns) {
  const reps = fns.map(calibrate);
  const runs = fns.map(() => []);
  for (let run = 0; run < RUNS; run++) fns.forEach((fn, k) => runs[k].push(timedRun(fn, reps[k])));
  const stats = runs.map((rs) => ({
    wall: median(rs.map((r) => r.wall)),
    min: Math.min(...rs.map((r) => r.wall)),
    max: Math.max(...rs.map((r) => r.wall)),
    cpu: median(rs.map((r) => r.cpu)),
    spans: rs[0].spans,
  }));
  const ratio = fns.length === 2 ? median(runs[1].map((r, k) => r.cpu / runs[0][k].cpu)) : undefined;
  return { stats, ratio };
}

const current = await loadCodecs(new URL('../dist/', import.meta.url).pathname);
const baseline = args.baseline === undefined ? undefined : await loadCodecs(args.baseline);

console.log(`node ${process.version}, ${SPANS} spans per payload, median of ${RUNS} runs`);
const fmt = (n) => Math.round(n).toLocaleString('en-US');
if (baseline === undefined) {
  console.log('spans/s: per second of wall time on the main thread (min – max), and per second of CPU time of the process\n');
  console.log('codec              op                       spans/s  (min – max)                 per CPU-s  bytes/span');
} else {
  console.log(`baseline: ${args.baseline}; spans per CPU-second, median; ratio = median over runs of current / baseline\n`);
  console.log('codec              op                     baseline/CPU-s  current/CPU-s   ratio  bytes/span');
}
for (const [codec, op, payload, run] of CASES) {
  if (!`${codec} ${op}`.includes(args.only)) continue;
  const fns = (baseline === undefined ? [current] : [baseline, current]).map((c) => () => run(c));
  for (const fn of fns) for (let k = 0; k < 3; k++) fn(); // warm up
  const { stats, ratio } = measure(fns);
  const perSpan = payload ? (payload.length / stats[0].spans).toFixed(0) : '';
  if (baseline === undefined) {
    const r = stats[0];
    console.log(`${codec.padEnd(18)} ${op.padEnd(22)} ${fmt(r.wall).padStart(9)}  ${`(${fmt(r.min)} – ${fmt(r.max)})`.padEnd(26)} ${fmt(r.cpu).padStart(9)}  ${perSpan.padStart(10)}`);
  } else {
    console.log(`${codec.padEnd(18)} ${op.padEnd(22)} ${fmt(stats[0].cpu).padStart(14)} ${fmt(stats[1].cpu).padStart(14)}  ${ratio.toFixed(2).padStart(6)}  ${perSpan.padStart(10)}`);
  }
}
