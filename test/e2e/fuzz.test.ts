/**
 * Fuzzing every decoder through the real daemon: the CLI started once with a zipkin receiver and an otlp
 * receiver (gRPC and HTTP) into two file exporters (Zipkin JSON and OTLP/JSON) and, through a sink server
 * in this test, an otlphttp exporter (OTLP protobuf) and a zipkin exporter (proto3). Whatever a decoder
 * lets through is so written again by every encoder; an accepted span that an exporter cannot write is a
 * failure too (the client was told 2xx, and the whole batch is lost).
 *
 * From valid seed payloads (test/fixtures and real SDK output), every decoder gets deterministic mutants: truncations (at every offset of its smallest seed, and at structural
 * positions), byte and bit flips, insertions, deletions, splices, protobuf/Thrift length and type
 * corruption, JSON tree mutations, and gzip/deflate wrappers including broken streams and a bomb.
 *
 * Each case must be answered before its deadline: HTTP with 2xx or 4xx, never 5xx or a reset; gRPC with a
 * status other than INTERNAL or UNKNOWN (for intact gRPC framing). A 4xx must not carry a JavaScript runtime
 * error's message (a TypeError turned into 400 by a catch-all is still a decoder bug). Afterwards the daemon
 * must still be running, serve a valid payload on every route into the exporters, have a sane RSS, and
 * have logged nothing unhandled.
 *
 *   FUZZ_SEED=<n>        run seed (printed; random when unset)
 *   FUZZ_CASES=<n>       total cases over all decoders (default 100 100)
 *   FUZZ_TIMEOUT_MS=<n>  per-request deadline (default 10 000)
 *   FUZZ_CONCURRENCY=<n> requests in flight (default 16)
 */
import { readFileSync, rmSync, statSync, openSync, readSync, closeSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { deflateSync, gzipSync } from 'node:zlib';
import { Client, credentials, Metadata, status as grpcStatus, type ServiceError } from '@grpc/grpc-js';
import { JsonTraceSerializer, ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import protobuf from 'protobufjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeZipkinV2Json } from '../../src/codecs/zipkin-json.js';
import { encodeZipkinProto3 } from '../../src/codecs/zipkin-proto3.js';
import { encodeV1ThriftList } from '../codecs/zipkin-v1-thrift-writer.mjs';
import { Daemon, freePort } from '../helpers/daemon.js';
import {
  brokenCompression,
  byteMutation,
  findProtoPath,
  grpcFrame,
  GrpcSender,
  gzipBomb,
  havoc,
  HttpSender,
  jsonMutation,
  jsonTextMutation,
  minimize,
  nestedMessage,
  NESTING_DEPTHS,
  outcomeLabel,
  OTLP_JSON,
  parseProto,
  protoMutation,
  Rng,
  runPool,
  runSeed,
  RUNTIME_ERROR_MESSAGE,
  serializeProto,
  table,
  thriftMutation,
  varint,
  ZIPKIN_JSON,
  type Mutant,
  type Outcome,
  type PField,
} from '../helpers/fuzz.js';
import { recordSdkSpans } from '../helpers/otel-sdk.js';
import { tempDir, writeTemp } from '../helpers/tmp.js';

const SEED = runSeed(process.env.FUZZ_SEED);
const TOTAL = Number(process.env.FUZZ_CASES ?? 100_100);
const TIMEOUT_MS = Number(process.env.FUZZ_TIMEOUT_MS ?? 10_000);
const CONCURRENCY = Number(process.env.FUZZ_CONCURRENCY ?? 16);
const EXPORT_PATH = '/opentelemetry.proto.collector.trace.v1.TraceService/Export';
/** The receivers' limit on a (decompressed) body or message; the bombs inflate far beyond it. */
const LIMIT = '4MiB';
const MAX_PLAIN = 3 * 1024 * 1024;

// ---- seeds ------------------------------------------------------------------------------------------

const fixture = (p: string) => readFileSync(join('test/fixtures', p));
const lines = (p: string) => fixture(p).toString('utf8').split('\n').filter(Boolean);

const otlpRoot = protobuf.parse(fixture('otlp-proto/otlp-trace.proto').toString('utf8')).root;
const OtlpRequest = otlpRoot.lookupType('otlp.ExportTraceServiceRequest');

/** An OTLP/JSON request written as protobuf by protobufjs (ids hex → bytes, non-finite doubles as numbers). */
function otlpJsonToProto(json: Buffer | string): Buffer {
  const obj = JSON.parse(String(json), (k, v: unknown) =>
    (k === 'traceId' || k === 'spanId' || k === 'parentSpanId') && typeof v === 'string' ? Buffer.from(v, 'hex').toString('base64') : v === 'NaN' ? NaN : v === 'Infinity' ? Infinity : v === '-Infinity' ? -Infinity : v,
  ) as Record<string, unknown>;
  return Buffer.from(OtlpRequest.encode(OtlpRequest.fromObject(obj)).finish());
}

const zipkinV2Json = [
  fixture('zipkin/client-server.json'),
  fixture('zipkin/rich-trace.json'),
  fixture('zipkin-v2/checkout-trace.json'),
  ...lines('zipkin-v2/zipkin-span-bytes-encoder-test.jsonl').map((l) => Buffer.from(`[${l}]`)),
  Buffer.from(`[${lines('zipkin-v2/zipkin-span-bytes-encoder-test.jsonl').join(',')}]`),
];
const zipkinV1Lines = lines('zipkin-v1/zipkin-span-bytes-encoder-test.v1.jsonl');
const zipkinV1Json = [...zipkinV1Lines.map((l) => Buffer.from(`[${l}]`)), Buffer.from(`[${zipkinV1Lines.join(',')}]`)];
const zipkinProto3 = [
  fixture('zipkin-proto3/checkout-trace.pb'),
  Buffer.from('0a220a08463ac35c9f6413ad1a0848485a3953bb61242a0570726f746f42050a03737663', 'hex'),
  ...zipkinV2Json.map((j) => encodeZipkinProto3(decodeZipkinV2Json(j))),
];
/** The Thrift fixture, and each of its spans alone in a list (sizes from its README). */
const thriftList = fixture('zipkin-v1/zipkin-span-bytes-encoder-test.thrift');
const zipkinThrift = [thriftList];
for (let off = 5, k = 0, sizes = [503, 127, 492, 481, 176, 57, 455, 496, 358, 297, 336]; k < sizes.length; off += sizes[k++]) {
  zipkinThrift.push(Buffer.concat([Buffer.from([0x0c, 0, 0, 0, 1]), thriftList.subarray(off, off + sizes[k])]));
}
const sdkSpans = recordSdkSpans().spans;
const otlpJson = [
  fixture('otlp-json/all-fields.json'),
  fixture('otlp-json/checkout-trace.from-zipkin.json'),
  fixture('otlp-json/opentelemetry-proto-trace-example.json'),
  Buffer.from(JsonTraceSerializer.serializeRequest(sdkSpans)!),
];
const otlpProto = [...otlpJson.slice(0, 3).map(otlpJsonToProto), Buffer.from(ProtobufTraceSerializer.serializeRequest(sdkSpans)!)];

// ---- format-specific mutations ---------------------------------------------------------------------

const deepOtlpCache = new Map<string, Buffer>();

/** A KeyValue whose AnyValue nests arrays (or kvlists) `depth` deep, added to the first span's attributes. */
function deepOtlpAttribute(rng: Rng, tree: PField[]): string | undefined {
  const span = findProtoPath(tree, [1, 2, 2]);
  if (span === undefined) return undefined;
  const kind = rng.pick(['array', 'kvlist'] as const);
  const depth = rng.pick(NESTING_DEPTHS);
  const key = `${kind}:${depth}`;
  let kv = deepOtlpCache.get(key);
  if (kv === undefined) {
    const inner = Buffer.from('0a0178', 'hex'); // AnyValue{string_value: "x"}
    const value = nestedMessage(depth, inner, kind === 'array' ? [5, 1] : [6, 1, 2]);
    kv = serializeProto([
      { field: 1, wire: 2, raw: Buffer.from('deep') },
      { field: 2, wire: 2, raw: value },
    ]);
    deepOtlpCache.set(key, kv);
  }
  span.push({ field: 9, wire: 2, raw: kv });
  return `deep ${kind} attribute ${depth}`;
}

type Format = 'zipkin-json' | 'otlp-json' | 'proto' | 'otlp-proto' | 'thrift';

function formatMutation(format: Format, rng: Rng, seed: Buffer): Mutant {
  switch (format) {
    case 'zipkin-json':
      return rng.chance(0.85) ? jsonMutation(rng, seed, ZIPKIN_JSON, ['array', 'object']) : jsonTextMutation(rng, seed);
    case 'otlp-json':
      return rng.chance(0.85) ? jsonMutation(rng, seed, OTLP_JSON, ['array', 'object', 'anyvalue', 'kvlist']) : jsonTextMutation(rng, seed);
    case 'proto':
      return protoMutation(rng, seed);
    case 'otlp-proto':
      return protoMutation(rng, seed, deepOtlpAttribute);
    case 'thrift':
      return thriftMutation(rng, seed);
  }
}

// ---- targets and cases -----------------------------------------------------------------------------

interface Target {
  name: string;
  protocol: 'http' | 'grpc';
  receiver: 'zipkin' | 'otlp-http' | 'otlp-grpc';
  path: string;
  contentType: string;
  format: Format;
  seeds: Buffer[];
}

const TARGETS: Target[] = [
  { name: 'zipkin v2 JSON', protocol: 'http', receiver: 'zipkin', path: '/api/v2/spans', contentType: 'application/json', format: 'zipkin-json', seeds: zipkinV2Json },
  { name: 'zipkin v2 proto3', protocol: 'http', receiver: 'zipkin', path: '/api/v2/spans', contentType: 'application/x-protobuf', format: 'proto', seeds: zipkinProto3 },
  { name: 'zipkin v1 JSON', protocol: 'http', receiver: 'zipkin', path: '/api/v1/spans', contentType: 'application/json', format: 'zipkin-json', seeds: zipkinV1Json },
  { name: 'zipkin v1 Thrift', protocol: 'http', receiver: 'zipkin', path: '/api/v1/spans', contentType: 'application/x-thrift', format: 'thrift', seeds: zipkinThrift },
  { name: 'OTLP/HTTP protobuf', protocol: 'http', receiver: 'otlp-http', path: '/v1/traces', contentType: 'application/x-protobuf', format: 'otlp-proto', seeds: otlpProto },
  { name: 'OTLP/HTTP JSON', protocol: 'http', receiver: 'otlp-http', path: '/v1/traces', contentType: 'application/json', format: 'otlp-json', seeds: otlpJson },
  { name: 'OTLP/gRPC protobuf', protocol: 'grpc', receiver: 'otlp-grpc', path: EXPORT_PATH, contentType: 'application/grpc', format: 'otlp-proto', seeds: otlpProto },
];

/**
 * What a case must get: `normal` (HTTP 2xx/4xx; gRPC OK or a status other than INTERNAL/UNKNOWN), `bomb`
 * (413 / RESOURCE_EXHAUSTED), or `framing` (gRPC framing or compression broken below the decoder: any
 * grpc-status, since the gRPC spec itself answers some of these with INTERNAL, but an answer).
 */
type Expectation = 'normal' | 'bomb' | 'framing';

interface Case {
  target: Target;
  index: number;
  how: string;
  /** What goes on the wire (for gRPC: the length-prefixed frames). */
  wire: Buffer;
  headers: Record<string, string>;
  expect: Expectation;
  /** The message before compression and framing, and how to wrap it again (for minimizing). */
  plain: Buffer;
  rewrap: (plain: Buffer) => { wire: Buffer; headers: Record<string, string> };
}

const smallest = (seeds: Buffer[]) => seeds.reduce((a, b) => (b.length < a.length ? b : a));

function httpCase(t: Target, index: number, how: string, plain: Buffer, encoding?: 'gzip' | 'deflate', expect: Expectation = 'normal'): Case {
  const rewrap = (p: Buffer) => ({
    wire: encoding === 'gzip' ? gzipSync(p) : encoding === 'deflate' ? deflateSync(p) : p,
    headers: { 'content-type': t.contentType, ...(encoding ? { 'content-encoding': encoding } : {}) },
  });
  return { target: t, index, how: encoding ? `${encoding}(${how})` : how, plain, rewrap, expect, ...rewrap(plain) };
}

function grpcCase(t: Target, index: number, how: string, plain: Buffer, gzip = false): Case {
  const rewrap = (p: Buffer) => ({ wire: gzip ? grpcFrame(gzipSync(p), true) : grpcFrame(p), headers: gzip ? { 'grpc-encoding': 'gzip' } : ({} as Record<string, string>) });
  return { target: t, index, how: gzip ? `grpc-gzip(${how})` : how, plain, rewrap, expect: 'normal', ...rewrap(plain) };
}

/** A case whose bytes are given as they are (broken compression or framing): nothing to minimize through. */
function fixedCase(t: Target, index: number, how: string, wire: Buffer, headers: Record<string, string>, expect: Expectation): Case {
  return { target: t, index, how, wire, headers, expect, plain: wire, rewrap: (p) => ({ wire: p, headers }) };
}

function mutant(t: Target, rng: Rng): Mutant {
  const seed = rng.pick(t.seeds);
  const other = rng.pick(t.seeds);
  const kind = rng.weighted([
    [45, 'format'],
    [33, 'byte'],
    [12, 'havoc'],
    [3, 'cross'],
    [2, 'seed'],
  ] as const);
  switch (kind) {
    case 'format':
      return formatMutation(t.format, rng, seed);
    case 'byte':
      return byteMutation(rng, seed, other);
    case 'havoc':
      return havoc(rng, seed, other);
    case 'cross': {
      // Another decoder's payload under this one's Content-Type, sometimes spliced onto our own.
      const foreign = rng.pick(rng.pick(TARGETS.filter((x) => x.format !== t.format)).seeds);
      return rng.chance(0.5) ? { body: foreign, how: 'foreign payload' } : byteMutation(rng, seed, foreign);
    }
    case 'seed':
      return { body: seed, how: 'seed' };
  }
}

/** The case `index` of target `ti`: a pure function of (SEED, ti, index). */
function makeCase(ti: number, index: number): Case {
  const t = TARGETS[ti];
  const rng = new Rng(SEED, ti, index);
  const small = smallest(t.seeds);
  // Truncation at every offset of the smallest seed: every kind of position the format has.
  if (index < small.length) {
    const body = small.subarray(0, index);
    return t.protocol === 'http' ? httpCase(t, index, `sweep truncate@${index}`, body) : grpcCase(t, index, `sweep truncate@${index}`, body);
  }
  if (index % 1000 === 500) {
    if (t.protocol === 'grpc') return fixedCase(t, index, 'grpc gzip bomb', grpcFrame(gzipBomb(), true), { 'grpc-encoding': 'gzip' }, 'bomb');
    const deflate = index % 2000 === 1500;
    const body = deflate ? deflateBomb() : gzipBomb();
    return fixedCase(t, index, `${deflate ? 'deflate' : 'gzip'} bomb`, body, { 'content-type': t.contentType, 'content-encoding': deflate ? 'deflate' : 'gzip' }, 'bomb');
  }
  const roll = rng.u32() / 0x1_0000_0000;
  if (roll < 0.04) {
    const w = brokenCompression(rng, rng.pick(t.seeds));
    if (t.protocol === 'grpc') return fixedCase(t, index, `grpc ${w.how}`, grpcFrame(w.body, true), { 'grpc-encoding': w.encoding }, 'framing');
    return fixedCase(t, index, w.how, w.body, { 'content-type': t.contentType, 'content-encoding': w.encoding }, 'normal');
  }
  if (t.protocol === 'grpc' && roll < 0.07) return grpcFramingCase(t, index, rng);
  let m = mutant(t, rng);
  // Stacked mutations can grow a body past the limit; 413 for plain size is not what this test is about.
  if (m.body.length > MAX_PLAIN) m = { body: m.body.subarray(0, MAX_PLAIN), how: `${m.how}; cut to ${MAX_PLAIN}` };
  const compress = rng.chance(0.08);
  if (t.protocol === 'grpc') return grpcCase(t, index, m.how, m.body, compress);
  return httpCase(t, index, m.how, m.body, compress ? rng.pick(['gzip', 'deflate'] as const) : undefined);
}

let deflateBombCache: Buffer | undefined;
function deflateBomb(): Buffer {
  return (deflateBombCache ??= deflateSync(Buffer.alloc(64 * 1024 * 1024), { level: 9 }));
}

/** gRPC framing broken below the decoder: lengths, flags, message counts, encodings. */
function grpcFramingCase(t: Target, index: number, rng: Rng): Case {
  const msg = rng.pick(t.seeds);
  const kind = rng.pick(['longer', 'shorter', 'two', 'none', 'partial-prefix', 'flag', 'flag-no-encoding', 'huge-declared', 'unknown-encoding', 'identity-flagged', 'over-limit'] as const);
  const framing = (how: string, wire: Buffer, headers: Record<string, string> = {}) => fixedCase(t, index, `grpc framing: ${how}`, wire, headers, 'framing');
  switch (kind) {
    case 'longer':
      return framing('declared length +7', grpcFrame(msg, false, msg.length + 7));
    case 'shorter':
      return framing('declared length -3', grpcFrame(msg, false, msg.length - 3));
    case 'two':
      return framing('two messages', Buffer.concat([grpcFrame(msg), grpcFrame(msg)]));
    case 'none':
      return framing('no message', Buffer.alloc(0));
    case 'partial-prefix':
      return framing('partial prefix', grpcFrame(msg).subarray(0, rng.range(1, 4)));
    case 'flag': {
      const flag = rng.range(2, 255);
      return framing(`flag ${flag}`, grpcFrame(msg, false, msg.length, flag));
    }
    case 'flag-no-encoding':
      return framing('compressed flag without grpc-encoding', grpcFrame(gzipSync(msg), true));
    case 'huge-declared':
      return framing('declared 2^32-1', grpcFrame(msg, false, 0xffff_ffff));
    case 'unknown-encoding':
      return framing('grpc-encoding br', grpcFrame(msg, true), { 'grpc-encoding': 'br' });
    case 'identity-flagged':
      return framing('identity but flagged', grpcFrame(msg, true), { 'grpc-encoding': 'identity' });
    case 'over-limit':
      return framing('5 MiB message', grpcFrame(Buffer.concat([msg, Buffer.from([0x7a]), varint(5 * 1024 * 1024), Buffer.alloc(5 * 1024 * 1024)])));
  }
}

// ---- verdicts --------------------------------------------------------------------------------------

function bodyMessage(o: Outcome): string {
  return o.kind === 'http' ? o.body.toString('latin1') : o.kind === 'grpc' ? o.message : '';
}

/** Why an outcome is wrong for a case, or undefined when it is right. */
function problemWith(c: Case, o: Outcome): string | undefined {
  if (o.kind === 'timeout') return `no answer within ${TIMEOUT_MS} ms`;
  if (o.kind === 'error') return `transport error ${o.code}: ${o.message}`;
  if (c.expect === 'bomb') {
    if (o.kind === 'http' && o.status === 413) return undefined;
    if (o.kind === 'grpc' && o.code === grpcStatus.RESOURCE_EXHAUSTED) return undefined;
    return `bomb answered ${outcomeLabel(o)}, not 413 / RESOURCE_EXHAUSTED`;
  }
  if (o.kind === 'http') {
    if (o.status < 200 || (o.status >= 300 && o.status < 400) || o.status >= 500) return `HTTP ${o.status}: ${bodyMessage(o).trim().slice(0, 300)}`;
  } else if (c.expect === 'normal' && (o.code === grpcStatus.INTERNAL || o.code === grpcStatus.UNKNOWN)) {
    return `${outcomeLabel(o)}: ${o.message.slice(0, 300)}`;
  }
  const leak = RUNTIME_ERROR_MESSAGE.exec(bodyMessage(o));
  if (leak) return `runtime error in the answer (${outcomeLabel(o)}): ${bodyMessage(o).replace(/[^\x20-\x7e]+/g, ' ').slice(0, 300)}`;
  return undefined;
}

/** The class of a problem, for deciding whether a smaller input fails the same way. */
const problemClass = (p: string) => p.replace(/\d+/g, 'N').replace(/\s+/g, ' ').trim().slice(0, 40);

// ---- the daemon ------------------------------------------------------------------------------------

/** A running spanline and clients for its three listeners. */
interface Spanline {
  daemon: Daemon;
  dir: string;
  ports: { zipkin: number; grpc: number; http: number; metrics: number };
  zipkinOut: string;
  otlpOut: string;
  http: Record<'zipkin' | 'otlp-http', HttpSender>;
  grpc: GrpcSender;
}

/** Where the otlphttp and zipkin exporters send; it keeps request bodies only while `capturing`. */
let sink: Server;
let sinkUrl: string;
const sunk: { url: string; body: Buffer }[] = [];
let capturing = false;

/** The daemon under test, started once for the whole file. */
let main: Spanline;

async function startSpanline(): Promise<Spanline> {
  const dir = tempDir('spanline-fuzz-');
  const ports = { zipkin: await freePort(), grpc: await freePort(), http: await freePort(), metrics: await freePort() };
  const zipkinOut = join(dir, 'out', 'spans.zipkin.jsonl');
  const otlpOut = join(dir, 'out', 'spans.otlp.jsonl');
  const queue = 'sending_queue: { queue_size: 5000000 }';
  const cfg = writeTemp(
    'spanline.yaml',
    `
receivers:
  zipkin:
    endpoint: 127.0.0.1:${ports.zipkin}
    max_request_body_size: ${LIMIT}
  otlp:
    protocols:
      grpc: { endpoint: "127.0.0.1:${ports.grpc}", max_recv_msg_size: ${LIMIT} }
      http: { endpoint: "127.0.0.1:${ports.http}", max_request_body_size: ${LIMIT} }
processors:
  batch:
    timeout: 100ms
exporters:
  file/zipkin: { path: ${zipkinOut}, format: zipkin_json, rotation: { max_megabytes: 0 }, ${queue} }
  file/otlp: { path: ${otlpOut}, format: otlp_json, rotation: { max_megabytes: 0 }, ${queue} }
  otlphttp: { endpoint: "${sinkUrl}", encoding: proto, compression: none, ${queue} }
  zipkin: { endpoint: "${sinkUrl}/api/v2/spans", format: proto, compression: none, ${queue} }
service:
  pipelines:
    traces:
      receivers: [zipkin, otlp]
      processors: [batch]
      exporters: [file/zipkin, file/otlp, otlphttp, zipkin]
  telemetry:
    metrics: { address: "127.0.0.1:${ports.metrics}" }
`,
    dir,
  );
  const daemon = await Daemon.start(['--config', cfg], { cwd: dir });
  return {
    daemon,
    dir,
    ports,
    zipkinOut,
    otlpOut,
    http: { zipkin: new HttpSender(ports.zipkin, CONCURRENCY, TIMEOUT_MS), 'otlp-http': new HttpSender(ports.http, CONCURRENCY, TIMEOUT_MS) },
    grpc: new GrpcSender(ports.grpc, EXPORT_PATH, TIMEOUT_MS),
  };
}

async function stopSpanline(s: Spanline): Promise<void> {
  s.http.zipkin.close();
  s.http['otlp-http'].close();
  s.grpc.close();
  if (s.daemon.child.exitCode === null) await s.daemon.stop('SIGKILL');
  rmSync(s.dir, { recursive: true, force: true });
}

function send(s: Spanline, c: Case, wire = c.wire, headers = c.headers): Promise<Outcome> {
  if (c.target.protocol === 'grpc') return s.grpc.call(wire, headers);
  return s.http[c.target.receiver as 'zipkin' | 'otlp-http'].post(c.target.path, wire, headers);
}

function rssKiB(field: 'VmRSS' | 'VmHWM'): number {
  const status = readFileSync(`/proc/${main.daemon.child.pid}/status`, 'utf8');
  return Number(new RegExp(`${field}:\\s+(\\d+)`).exec(status)?.[1] ?? NaN);
}

/**
 * The daemon's stderr lines that say something went wrong inside it: 'unhandled'/'uncaught' anywhere, or a
 * log record at error level (pino 50+). One line per distinct problem, with a count.
 */
function logProblems(daemon: Daemon): string[] {
  const seen = new Map<string, number>();
  for (const line of daemon.stderr.split('\n')) {
    let record: { level?: number; msg?: string; err?: { type?: string; message?: string; stack?: string } } | undefined;
    try {
      record = line.startsWith('{') ? (JSON.parse(line) as typeof record) : undefined;
    } catch {
      record = undefined;
    }
    if (!/unhandled|uncaught/i.test(line) && !(Number(record?.level) >= 50)) continue;
    const err = record?.err;
    const where = /\n\s+(at [^\n]+)/.exec(err?.stack ?? '')?.[1] ?? '';
    const key = record ? `${record.msg}: ${err?.type ?? ''}: ${err?.message ?? ''} ${where}` : line.slice(0, 300);
    seen.set(key, (seen.get(key) ?? 0) + 1);
  }
  return [...seen].map(([k, n]) => `${n}× ${k}`);
}

/** What a process printed that is not a log record (an uncaught exception's trace), last lines. */
function stderrTail(daemon: Daemon): string {
  return daemon.stderr
    .split('\n')
    .filter((l) => l.trim() !== '' && !l.startsWith('{'))
    .slice(-12)
    .join('\n      ');
}

function describeCase(c: Case): string {
  const sample = c.wire.length <= 4096 ? `base64 ${c.wire.toString('base64')}` : `${c.wire.length} bytes, starts hex ${c.wire.subarray(0, 256).toString('hex')}`;
  return `${c.target.name} case #${c.index} [${c.how.slice(0, 300)}] ${JSON.stringify(c.headers)}\n    body: ${sample}`;
}

/** Whether the daemon's event loop still answers: its metrics endpoint, within `ms`. */
async function answers(s: Spanline, ms = 3000): Promise<boolean> {
  try {
    return (await fetch(`http://127.0.0.1:${s.ports.metrics}/metrics`, { signal: AbortSignal.timeout(ms) })).ok;
  } catch {
    return false;
  }
}

/**
 * After the daemon died or stopped answering: sends the cases sent last, one at a time, to a fresh daemon
 * until one kills or blocks it. A crash may come after the answer (a throw in a callback), so the case
 * that did it need not be among those in flight.
 */
async function findKiller(recent: Case[]): Promise<string> {
  const s = await startSpanline();
  try {
    for (const c of recent) {
      const o = await send(s, c);
      await new Promise((r) => setTimeout(r, 50));
      if (s.daemon.child.exitCode !== null || o.kind === 'error') {
        await s.daemon.exited;
        const tail = stderrTail(s.daemon);
        return `this case alone kills a fresh daemon (exit ${s.daemon.child.exitCode}):\n  ${describeCase(c)}${tail === '' ? '' : `\n    stderr: ${tail}`}`;
      }
      if (o.kind === 'timeout' && !(await answers(s))) return `this case alone blocks a fresh daemon (no answer, nor to a health probe):\n  ${describeCase(c)}`;
    }
    return `none of the ${recent.length} cases sent last kills or blocks a fresh daemon alone: it needs the state the run built up`;
  } finally {
    await stopSpanline(s);
  }
}

/** Set when the daemon under test died or stopped answering: the checks after the run then fail at once. */
let broken: string | undefined;

beforeAll(async () => {
  sink = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => capturing && chunks.push(c));
    req.on('end', () => {
      if (capturing) sunk.push({ url: req.url ?? '', body: Buffer.concat(chunks) });
      if (req.url === '/v1/traces') res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end();
      else res.writeHead(202).end();
    });
  });
  await new Promise<void>((res) => sink.listen(0, '127.0.0.1', res));
  sinkUrl = `http://127.0.0.1:${(sink.address() as { port: number }).port}`;
  main = await startSpanline();
}, 60_000);

afterAll(async () => {
  if (main) await stopSpanline(main);
  sink?.close();
});

// ---- the run ---------------------------------------------------------------------------------------

describe('fuzzing every decoder through the daemon', () => {
  it('accepts every seed as it is', async () => {
    const rejected: string[] = [];
    for (const t of TARGETS) {
      for (const [k, seed] of t.seeds.entries()) {
        const c = t.protocol === 'http' ? httpCase(t, -1, 'seed', seed) : grpcCase(t, -1, 'seed', seed);
        const o = await send(main, c);
        const ok = o.kind === 'http' ? o.status >= 200 && o.status < 300 : o.kind === 'grpc' && o.code === grpcStatus.OK;
        if (!ok) rejected.push(`${t.name} seed ${k}: ${outcomeLabel(o)} ${bodyMessage(o).slice(0, 200)}`);
      }
    }
    expect(rejected).toEqual([]);
  });

  it(
    `answers ${TOTAL} mutated payloads with 2xx/4xx or a proper gRPC status, promptly`,
    async () => {
      const started = Date.now();
      console.log(`fuzz: FUZZ_SEED=${SEED} FUZZ_CASES=${TOTAL} (reproduce with these), ${CONCURRENCY} in flight, ${TIMEOUT_MS} ms per request`);
      const counts = TARGETS.map(() => new Map<string, number>());
      /** Distinct refusal messages (digits as N), each with the first case that got it. */
      const messages = TARGETS.map(() => new Map<string, string>());
      const perTarget = TARGETS.map(() => 0);
      /** Failures by decoder and kind of problem: how many, and the first few cases. */
      const failures = new Map<string, { count: number; examples: { c: Case; problem: string; outcome: Outcome }[] }>();
      const failureCount = TARGETS.map(() => 0);
      const inFlight = new Set<Case>();
      /** The cases sent last, oldest first: one of them is what killed the daemon, if it died. */
      const recent: Case[] = [];
      let died: string | undefined;
      let unanswered = 0;
      let probing = false;
      let peakRssKiB = 0;
      void main.daemon.exited.then((code) => (died ??= `daemon exited with code ${code} while ${inFlight.size} cases were in flight: ${[...inFlight].map((c) => `${c.target.name} #${c.index}`).join(', ')}`));
      const sampler = setInterval(() => {
        try {
          peakRssKiB = Math.max(peakRssKiB, rssKiB('VmRSS'));
        } catch {
          // exited: reported through `died`
        }
      }, 500);

      const ran = await runPool(
        TOTAL,
        CONCURRENCY,
        async (g) => {
          const ti = g % TARGETS.length;
          const c = makeCase(ti, Math.floor(g / TARGETS.length));
          inFlight.add(c);
          recent.push(c);
          if (recent.length > 64) recent.shift();
          const o = await send(main, c);
          inFlight.delete(c);
          perTarget[ti]++;
          const label = outcomeLabel(o);
          counts[ti].set(label, (counts[ti].get(label) ?? 0) + 1);
          if ((o.kind === 'http' && o.status >= 400) || (o.kind === 'grpc' && o.code !== 0)) {
            const msg = bodyMessage(o).replace(/[^\x20-\x7e]+/g, ' ').replace(/\d+/g, 'N').trim().slice(0, 100);
            if (!messages[ti].has(msg)) messages[ti].set(msg, `#${c.index} ${c.how.slice(0, 120)}`);
          }
          const problem = problemWith(c, o);
          if (problem !== undefined) {
            failureCount[ti]++;
            const key = `${c.target.name}: ${problemClass(problem)}`;
            const group = failures.get(key) ?? { count: 0, examples: [] };
            failures.set(key, group);
            group.count++;
            if (group.examples.length < 3) group.examples.push({ c, problem, outcome: o });
            if (o.kind === 'timeout' || o.kind === 'error') unanswered++;
            // One request without an answer may be a hung handler; a daemon that answers nothing is blocked.
            if (o.kind === 'timeout' && !probing && died === undefined) {
              probing = true;
              if (!(await answers(main))) died ??= `daemon stopped answering (not even its metrics endpoint) after case ${c.target.name} #${c.index}`;
              probing = false;
            }
          }
        },
        // A daemon that is gone or stopped answering fails every further case: stop and report.
        () => died !== undefined || unanswered >= 50,
      );
      clearInterval(sampler);
      const seconds = (Date.now() - started) / 1000;

      const rows: (string | number)[][] = [['decoder', 'cases', 'ok', 'refused', 'FAILED', 'outcomes']];
      for (const [ti, t] of TARGETS.entries()) {
        const m = counts[ti];
        const ok = [...m].filter(([l]) => /^2\d\d$|^grpc OK$/.test(l)).reduce((a, [, n]) => a + n, 0);
        const outcomes = [...m].sort((a, b) => b[1] - a[1]).map(([l, n]) => `${l}:${n}`).join(' ');
        rows.push([t.name, perTarget[ti], ok, perTarget[ti] - ok - failureCount[ti], failureCount[ti], `${outcomes}  (${messages[ti].size} distinct refusals)`]);
      }
      const total = perTarget.reduce((a, b) => a + b, 0);
      rows.push(['total', total, '', '', failureCount.reduce((a, b) => a + b, 0), `${seconds.toFixed(1)} s, ${Math.round(total / seconds)} cases/s, daemon peak RSS ${Math.round(peakRssKiB / 1024)} MiB`]);
      console.log(`fuzz summary (FUZZ_SEED=${SEED}):\n${table(rows)}`);

      // Shrink one case of each kind of failure against the live daemon, so that the report says what input
      // does it. Crashes and hangs are reported as found: the daemon cannot answer for them.
      const reports: string[] = [];
      if (died !== undefined) {
        broken = died;
        if (main.daemon.child.exitCode === null) await main.daemon.stop('SIGKILL');
        const tail = stderrTail(main.daemon);
        reports.push(`${died}${tail === '' ? '' : `\n    stderr: ${tail}`}\n  ${await findKiller(recent)}`);
      }
      // After an exit, the transport errors that follow are its consequence, not findings of their own.
      const findings = [...failures].filter(([, g]) => died === undefined || !g.examples.every((e) => e.outcome.kind === 'error' || e.outcome.kind === 'timeout'));
      if (findings.length < failures.size) reports.push(`(${failures.size - findings.length} kinds of transport failures after that left out: its consequence)`);
      for (const [key, { count, examples }] of findings.slice(0, 12)) {
        reports.push(`${key} — ${count} case${count === 1 ? '' : 's'}`);
        for (const [k, { c, problem, outcome }] of examples.entries()) {
          reports.push(`  ${describeCase(c).replace('\n', `\n    → ${problem}\n`)}`);
          if (k === 0 && died === undefined && outcome.kind !== 'timeout' && outcome.kind !== 'error') {
            const fails = async (p: Buffer) => {
              const w = c.rewrap(p);
              const again = problemWith(c, await send(main, c, w.wire, w.headers));
              return again !== undefined && problemClass(again) === problemClass(problem);
            };
            const small = await minimize(c.plain, fails, 400);
            reports.push(`    minimal input (${small.length} bytes, before compression/framing): hex ${small.toString('hex').slice(0, 2000)}\n    base64 ${small.toString('base64').slice(0, 2000)}`);
          }
        }
      }
      if (process.env.FUZZ_VERBOSE) for (const [ti, t] of TARGETS.entries()) console.log(`${t.name} refusals:\n  ${[...messages[ti]].sort().map(([m, c]) => `${m}   ← ${c}`).join('\n  ')}`);
      if (reports.length > 0) console.log(`fuzz failures (FUZZ_SEED=${SEED}):\n${reports.join('\n')}`);

      expect(reports, `failures (FUZZ_SEED=${SEED}); see the log above`).toEqual([]);
      expect(died, 'the daemon must not exit nor stop answering').toBeUndefined();
      expect(ran).toBe(TOTAL);
      expect(total).toBe(TOTAL);
    },
    // Generous: about 90 s for the default 100 100 cases on a 2-core machine, alone.
    120_000 + TOTAL * 3,
  );

  it('still runs, and serves a valid payload on every route into every exporter', async () => {
    expect(broken).toBeUndefined();
    expect(main.daemon.child.exitCode).toBe(null);
    capturing = true;
    const zipkinFrom = statSync(main.zipkinOut, { throwIfNoEntry: false })?.size ?? 0;
    const otlpFrom = statSync(main.otlpOut, { throwIfNoEntry: false })?.size ?? 0;
    const hex = SEED.toString(16).padStart(8, '0');
    // One trace id per route: f00d, the route number, the run seed.
    const traceId = (route: number) => `f00d${route.toString(16).padStart(4, '0')}${hex}0000000000000001`;
    const spanId = 'a1b2c3d4e5f60718';
    const zipkinSpan = (route: number) => ({ traceId: traceId(route), id: spanId, name: 'after-fuzz', timestamp: 1_700_000_000_000_000, duration: 5, localEndpoint: { serviceName: 'fuzz' } });
    const v1Span = (route: number) => ({ traceId: traceId(route), id: spanId, name: 'after-fuzz', timestamp: 1_700_000_000_000_000, duration: 5, annotations: [{ timestamp: 1_700_000_000_000_000, value: 'sr', endpoint: { serviceName: 'fuzz' } }] });
    const otlpRequest = (route: number) => ({
      resourceSpans: [
        {
          resource: { attributes: [{ key: 'service.name', value: { stringValue: 'fuzz' } }] },
          scopeSpans: [{ spans: [{ traceId: traceId(route), spanId, name: 'after-fuzz', kind: 2, startTimeUnixNano: '1700000000000000000', endTimeUnixNano: '1700000000005000000' }] }],
        },
      ],
    });
    const proto3Span = serializeProto([
      {
        field: 1,
        wire: 2,
        raw: serializeProto([
          { field: 1, wire: 2, raw: Buffer.from(traceId(1), 'hex') },
          { field: 3, wire: 2, raw: Buffer.from(spanId, 'hex') },
          { field: 5, wire: 2, raw: Buffer.from('after-fuzz') },
          { field: 8, wire: 2, raw: Buffer.from('0a0466757a7a', 'hex') },
        ]),
      },
    ]);
    expect(parseProto(proto3Span)).toBeDefined();

    const statuses = {
      'zipkin v2 JSON': await main.http.zipkin.post('/api/v2/spans', Buffer.from(JSON.stringify([zipkinSpan(0)])), { 'content-type': 'application/json' }),
      'zipkin v2 proto3': await main.http.zipkin.post('/api/v2/spans', proto3Span, { 'content-type': 'application/x-protobuf' }),
      'zipkin v1 JSON': await main.http.zipkin.post('/api/v1/spans', Buffer.from(JSON.stringify([v1Span(2)])), { 'content-type': 'application/json' }),
      'zipkin v1 Thrift': await main.http.zipkin.post('/api/v1/spans', encodeV1ThriftList([v1Span(3)]), { 'content-type': 'application/x-thrift' }),
      'OTLP/HTTP protobuf': await main.http['otlp-http'].post('/v1/traces', otlpJsonToProto(JSON.stringify(otlpRequest(4))), { 'content-type': 'application/x-protobuf' }),
      'OTLP/HTTP JSON': await main.http['otlp-http'].post('/v1/traces', Buffer.from(JSON.stringify(otlpRequest(5))), { 'content-type': 'application/json' }),
    };
    expect(Object.fromEntries(Object.entries(statuses).map(([k, o]) => [k, outcomeLabel(o)]))).toEqual({
      'zipkin v2 JSON': '202',
      'zipkin v2 proto3': '202',
      'zipkin v1 JSON': '202',
      'zipkin v1 Thrift': '202',
      'OTLP/HTTP protobuf': '200',
      'OTLP/HTTP JSON': '200',
    });
    // gRPC through a real client this time.
    const client = new Client(`127.0.0.1:${main.ports.grpc}`, credentials.createInsecure());
    const err = await new Promise<ServiceError | null>((res) =>
      client.makeUnaryRequest(EXPORT_PATH, (b: Buffer) => b, (b: Buffer) => b, otlpJsonToProto(JSON.stringify(otlpRequest(6))), new Metadata(), {}, (e) => res(e)),
    );
    client.close();
    expect(err?.message ?? 'OK').toBe('OK');

    const wanted = [0, 1, 2, 3, 4, 5, 6].map(traceId);
    const tail = (path: string, from: number) => {
      const size = statSync(path, { throwIfNoEntry: false })?.size ?? 0;
      if (size <= from) return '';
      const buf = Buffer.alloc(size - from);
      const fd = openSync(path, 'r');
      readSync(fd, buf, 0, buf.length, from);
      closeSync(fd);
      return buf.toString('utf8');
    };
    const missing = () => {
      const z = tail(main.zipkinOut, zipkinFrom);
      const o = tail(main.otlpOut, otlpFrom);
      return wanted.flatMap((id) => [
        ...(z.includes(`"traceId":"${id}"`) ? [] : [`file zipkin_json ${id}`]),
        ...(o.includes(`"traceId":"${id}"`) ? [] : [`file otlp_json ${id}`]),
        // Both network exporters write the id as 16 raw bytes.
        ...(['/v1/traces', '/api/v2/spans'] as const).flatMap((url) => (sunk.some((r) => r.url === url && r.body.includes(Buffer.from(id, 'hex'))) ? [] : [`sink ${url} ${id}`])),
      ]);
    };
    const deadline = Date.now() + 20_000;
    while (missing().length > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    expect(missing()).toEqual([]);
  }, 60_000);

  it('keeps a sane RSS and logs nothing unhandled or failed', async () => {
    expect(broken).toBeUndefined();
    expect(main.daemon.child.exitCode).toBe(null);
    const rss = rssKiB('VmRSS') / 1024;
    const peak = rssKiB('VmHWM') / 1024;
    console.log(`fuzz: daemon RSS ${rss.toFixed(0)} MiB now, ${peak.toFixed(0)} MiB at its peak`);
    expect.soft(rss).toBeLessThan(512);
    expect.soft(peak).toBeLessThan(1024);
    expect.soft(logProblems(main.daemon), 'unhandled, uncaught or error-level log records').toEqual([]);
  });

  it('exported every span it accepted: no encoder fails on what a decoder let through', async () => {
    expect(broken).toBeUndefined();
    const metrics = await (await fetch(`http://127.0.0.1:${main.ports.metrics}/metrics`)).text();
    // Spans a decoder accepted must be encodable again: no export gave up on any of them (the client was
    // told 2xx; a batch that cannot be written loses every span in it, other clients' too).
    const failedExports = metrics.split('\n').filter((l) => l.startsWith('spanline_exporter_send_failed_spans_total') && !l.endsWith(' 0'));
    const why = main.daemon.logs().flatMap((l) => {
      if (l.msg !== 'export failed') return [];
      const err = l.err as { type?: string; message?: string; stack?: string } | undefined;
      return [`${String(l.component)}: ${err?.type}: ${err?.message} ${/\n\s+(at [^\n]+)/.exec(err?.stack ?? '')?.[1] ?? ''}`];
    });
    expect.soft({ failedExports, why: [...new Set(why)] }).toEqual({ failedExports: [], why: [] });
    expect.soft(metrics).not.toMatch(/reason="internal_error"/);
  });

  it('shuts down cleanly afterwards', async () => {
    expect(broken).toBeUndefined();
    expect(await main.daemon.stop('SIGTERM')).toBe(0);
    expect(logProblems(main.daemon)).toEqual([]);
  }, 60_000);
});
