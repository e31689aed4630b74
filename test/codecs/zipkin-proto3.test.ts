/**
 * Zipkin proto3 (`ListOfSpans`): decoding rules and errors as Zipkin's `Proto3ZipkinFields` /
 * `Proto3Codec` have them (cases ported from openzipkin/zipkin SpanBytesDecoderTest and
 * SpanBytesEncoderTest), interop with protobufjs as an independent implementation of zipkin.proto, and
 * identity round trips.
 */
import { readFileSync } from 'node:fs';
import protobuf from 'protobufjs';
import { describe, expect, it } from 'vitest';
import { decodeZipkinV2Json, encodeZipkinV2Json, encodeZipkinV2Span } from '../../src/codecs/zipkin-json.js';
import { ZipkinDecodeError, normalizeParentId, normalizeSpanId, normalizeTraceId } from '../../src/codecs/zipkin-normalize.js';
import { decodeZipkinProto3, encodeZipkinProto3 } from '../../src/codecs/zipkin-proto3.js';
import { Span, SpanKind, StatusCode, newResource } from '../../src/model/span.js';
import { ipv4Int, ipv6Bytes } from './zipkin-v1-thrift-writer.mjs';

const fixture = (path: string) => readFileSync(new URL(`../fixtures/${path}`, import.meta.url));

/** zipkin.proto (openzipkin/zipkin-api) as a protobufjs descriptor: the messages and field numbers. */
const ZIPKIN_PROTO = {
  nested: {
    zipkin: {
      nested: {
        proto3: {
          nested: {
            Endpoint: { fields: { serviceName: { type: 'string', id: 1 }, ipv4: { type: 'bytes', id: 2 }, ipv6: { type: 'bytes', id: 3 }, port: { type: 'int32', id: 4 } } },
            Annotation: { fields: { timestamp: { type: 'fixed64', id: 1 }, value: { type: 'string', id: 2 } } },
            Span: {
              fields: {
                traceId: { type: 'bytes', id: 1 },
                parentId: { type: 'bytes', id: 2 },
                id: { type: 'bytes', id: 3 },
                kind: { type: 'Kind', id: 4 },
                name: { type: 'string', id: 5 },
                timestamp: { type: 'fixed64', id: 6 },
                duration: { type: 'uint64', id: 7 },
                localEndpoint: { type: 'Endpoint', id: 8 },
                remoteEndpoint: { type: 'Endpoint', id: 9 },
                annotations: { rule: 'repeated', type: 'Annotation', id: 10 },
                tags: { keyType: 'string', type: 'string', id: 11 },
                debug: { type: 'bool', id: 12 },
                shared: { type: 'bool', id: 13 },
              },
              nested: { Kind: { values: { SPAN_KIND_UNSPECIFIED: 0, CLIENT: 1, SERVER: 2, PRODUCER: 3, CONSUMER: 4 } } },
            },
            ListOfSpans: { fields: { spans: { rule: 'repeated', type: 'Span', id: 1 } } },
          },
        },
      },
    },
  },
};
const ListOfSpans = protobuf.Root.fromJSON(ZIPKIN_PROTO).lookupType('zipkin.proto3.ListOfSpans');

type PbSpan = Record<string, unknown>;
const hex = (h: string) => Buffer.from(h, 'hex');
const BASE: PbSpan = { traceId: hex('463ac35c9f6413ad'), id: hex('48485a3953bb6124') };

/** protobufjs's encoding of a ListOfSpans. */
function pb(spans: PbSpan[]): Buffer {
  return Buffer.from(ListOfSpans.encode(ListOfSpans.fromObject({ spans })).finish());
}

function pbDecode(bytes: Uint8Array): PbSpan[] {
  return (ListOfSpans.toObject(ListOfSpans.decode(bytes), { longs: String, bytes: String, enums: String }) as { spans: PbSpan[] }).spans;
}

function ipBytes(ip: string): Buffer {
  if (ip.includes(':')) return ipv6Bytes(ip);
  const b = Buffer.alloc(4);
  b.writeInt32BE(ipv4Int(ip));
  return b;
}

/** The protobufjs object for a (normalized) Zipkin v2 JSON span, only non-default fields, in Zipkin's way. */
function pbFromJson(j: Record<string, any>): PbSpan {
  const ep = (e: Record<string, any> | undefined) =>
    e && {
      ...(e.serviceName ? { serviceName: e.serviceName } : {}),
      ...(e.ipv4 ? { ipv4: ipBytes(e.ipv4) } : {}),
      ...(e.ipv6 ? { ipv6: ipBytes(e.ipv6) } : {}),
      ...(e.port ? { port: e.port } : {}),
    };
  const out: PbSpan = { traceId: hex(j.traceId) };
  if (j.parentId) out.parentId = hex(j.parentId);
  out.id = hex(j.id);
  if (j.kind) out.kind = j.kind;
  if (j.name) out.name = j.name;
  if (j.timestamp) out.timestamp = String(j.timestamp);
  if (j.duration) out.duration = String(j.duration);
  if (j.localEndpoint) out.localEndpoint = ep(j.localEndpoint);
  if (j.remoteEndpoint) out.remoteEndpoint = ep(j.remoteEndpoint);
  if (j.annotations) out.annotations = j.annotations.map((a: Record<string, unknown>) => ({ timestamp: String(a.timestamp), value: a.value }));
  if (j.tags) out.tags = j.tags;
  if (j.debug) out.debug = true;
  if (j.shared) out.shared = true;
  return out;
}

function decodeOne(span: PbSpan): Span {
  const spans = decodeZipkinProto3(pb([{ ...BASE, ...span }]));
  expect(spans).toHaveLength(1);
  return spans[0];
}

function decodeError(body: Uint8Array): string {
  try {
    decodeZipkinProto3(body);
  } catch (e) {
    expect(e).toBeInstanceOf(ZipkinDecodeError);
    return (e as Error).message;
  }
  throw new Error('decoded without error');
}

/** A ListOfSpans with one span written field by field (for what protobufjs cannot write: unknown fields, bad values). */
function raw(write: (w: protobuf.Writer) => void, base = true): Buffer {
  const span = protobuf.Writer.create();
  if (base) span.uint32((1 << 3) | 2).bytes(BASE.traceId as Buffer).uint32((3 << 3) | 2).bytes(BASE.id as Buffer);
  write(span);
  return Buffer.from(protobuf.Writer.create().uint32((1 << 3) | 2).bytes(span.finish()).finish());
}

const v2Literals = fixture('zipkin-v2/zipkin-span-bytes-encoder-test.jsonl').toString('utf8').trimEnd().split('\n');
// Zipkin's SpanBytesEncoderTest, PROTO3 sizes of the same spans, in the order of the JSON_V2 literals.
const ZIPKIN_PROTO3_SIZES: [string, number][] = [
  ['span', 182],
  ['localSpan', 58],
  ['errorSpan', 45],
  ['span_64bitTraceId', 174],
  ['span_shared', 184],
  ['specialCharsInJson', 133],
  ['span_minimum', 30],
  ['span_noLocalServiceName', 172],
  ['span_noRemoteServiceName', 173],
  ['noAnnotations_rootServerSpan', 109],
  ['noAnnotations_rootServerSpan_incomplete', 106],
  ['noAnnotations_rootServerSpan_shared', 111],
];

describe("encodeZipkinProto3: Zipkin's own encodings", () => {
  it.each(ZIPKIN_PROTO3_SIZES.map(([name, size], k) => [name, size, v2Literals[k]] as const))('%s is %i bytes, as Zipkin writes it', (_name, size, literal) => {
    const encoded = encodeZipkinProto3(decodeZipkinV2Json(`[${literal}]`));
    expect(encoded.length).toBe(size);
  });

  it.each(ZIPKIN_PROTO3_SIZES.map(([name], k) => [name, v2Literals[k]] as const))('%s is byte for byte what protobufjs writes', (_name, literal) => {
    expect(encodeZipkinProto3(decodeZipkinV2Json(`[${literal}]`)).toString('hex')).toBe(pb([pbFromJson(JSON.parse(literal))]).toString('hex'));
  });

  it('the checkout trace is the golden payload (written by protobufjs from the normalized JSON)', () => {
    const golden = fixture('zipkin-proto3/checkout-trace.pb');
    const normalized = JSON.parse(fixture('zipkin-v2/checkout-trace.normalized.json').toString('utf8')) as Record<string, any>[];
    expect(pb(normalized.map(pbFromJson)).equals(golden)).toBe(true);
    expect(encodeZipkinProto3(decodeZipkinV2Json(fixture('zipkin-v2/checkout-trace.json'))).equals(golden)).toBe(true);
  });

  it('protobufjs reads back every field we write', () => {
    const [s] = pbDecode(encodeZipkinProto3(decodeZipkinV2Json(`[${v2Literals[0]}]`)));
    expect(s).toEqual({
      traceId: hex('7180c278b62e8f6a216a2aea45d08fc9').toString('base64'),
      parentId: hex('6b221d5bc9e6496c').toString('base64'),
      id: hex('5b4185666d50f68b').toString('base64'),
      kind: 'CLIENT',
      name: 'get',
      timestamp: '1472470996199000',
      duration: '207000',
      localEndpoint: { serviceName: 'frontend', ipv4: hex('7f000001').toString('base64') },
      remoteEndpoint: { serviceName: 'backend', ipv4: hex('c0a86365').toString('base64'), port: 9000 },
      annotations: [
        { timestamp: '1472470996238000', value: 'foo' },
        { timestamp: '1472470996403000', value: 'bar' },
      ],
      tags: { 'clnt/finagle.version': '6.45.0', 'http.path': '/api' },
    });
  });

  it('encodes an empty list as an empty body', () => {
    expect(encodeZipkinProto3([]).length).toBe(0);
    expect(decodeZipkinProto3(Buffer.alloc(0))).toEqual([]);
  });
});

describe('decodeZipkinProto3: round trips', () => {
  it.each(ZIPKIN_PROTO3_SIZES.map(([name], k) => [name, v2Literals[k]] as const))('JSON → model → proto3 → model → JSON is the identity: %s', (_name, literal) => {
    const once = decodeZipkinV2Json(`[${literal}]`);
    const back = decodeZipkinProto3(encodeZipkinProto3(once));
    expect(back).toEqual(once);
    expect(encodeZipkinV2Span(back[0])).toBe(literal);
  });

  it('the checkout trace: JSON → model → proto3 → model → JSON is the normalized input, one resource per service', () => {
    const spans = decodeZipkinProto3(encodeZipkinProto3(decodeZipkinV2Json(fixture('zipkin-v2/checkout-trace.json'))));
    expect(encodeZipkinV2Json(spans)).toBe(fixture('zipkin-v2/checkout-trace.normalized.json').toString('utf8').trimEnd());
    expect(spans[1].resource).toBe(spans[0].resource);
    expect(spans[3].resource).toBe(spans[2].resource);
    expect(spans[3].status).toEqual({ code: StatusCode.Error, message: '💩' });
  });

  it('spans from other sources: proto3 and JSON encoders agree (one mapping, zipkin-view.ts)', () => {
    const s = new Span(newResource({ 'service.name': 'cart', 'host.name': 'h1' }), { 'http.status_code': 500n, 'net.peer.ip': '10.0.0.7', 'peer.service': 'db', 'zipkin.shared': true });
    s.traceId = '0af7651916cd43dd8448eb211c80319c';
    s.spanId = 'b7ad6b7169203331';
    s.kind = SpanKind.Server;
    s.name = 'get /cart';
    s.startTimeUnixNano = 1700000000000001000n;
    s.endTimeUnixNano = 1700000000000501000n;
    s.status = { code: StatusCode.Error, message: 'boom' };
    s.events = [{ timeUnixNano: 1700000000000002000n, name: 'retry', attributes: { attempt: 2n }, droppedAttributesCount: 0 }];
    const viaProto3 = decodeZipkinProto3(encodeZipkinProto3([s]));
    expect(viaProto3).toEqual(decodeZipkinV2Json(encodeZipkinV2Json([s])));
    expect(encodeZipkinV2Json(viaProto3)).toBe(encodeZipkinV2Json([s]));
  });
});

type Rule = { rule: string; span?: PbSpan; bytes?: Buffer; get: (s: Span) => unknown; want: unknown };

const local = (s: Span) => s.localEndpoint;
const remote = (s: Span) => s.remoteEndpoint;
const ep = (serviceName: string, ipv4: string, ipv6: string, port: number) => ({ serviceName, ipv4, ipv6, port });
const annotations = (s: Span) => s.events.map((e) => [e.timeUnixNano, e.name]);

const rules: Rule[] = [
  { rule: 'trace id of 8 bytes is 64-bit', span: { traceId: hex('463ac35c9f6413ad') }, get: (s) => s.traceId, want: '463ac35c9f6413ad' },
  { rule: 'trace id of 16 bytes is 128-bit', span: { traceId: hex('48485a3953bb6124463ac35c9f6413ad') }, get: (s) => s.traceId, want: '48485a3953bb6124463ac35c9f6413ad' },
  { rule: 'trace id of 16 bytes with a zero high half is 64-bit', span: { traceId: hex('0000000000000000463ac35c9f6413ad') }, get: (s) => s.traceId, want: '463ac35c9f6413ad' },
  { rule: 'trace id of 4 bytes is left-padded', span: { traceId: hex('0000abcd') }, get: (s) => s.traceId, want: '000000000000abcd' },
  { rule: 'trace id of 12 bytes is left-padded to 128 bits', span: { traceId: hex('01000000463ac35c9f6413ad') }, get: (s) => s.traceId, want: '0000000001000000463ac35c9f6413ad' },
  { rule: 'span id of 4 bytes is left-padded', span: { id: hex('0000abcd') }, get: (s) => s.spanId, want: '000000000000abcd' },
  { rule: 'parent id is kept', span: { parentId: hex('5b4185666d50f68b') }, get: (s) => s.parentSpanId, want: '5b4185666d50f68b' },
  { rule: 'all-zero parent id is absent', span: { parentId: hex('0000000000000000') }, get: (s) => s.parentSpanId, want: '' },
  { rule: 'parent id equal to the id is absent', span: { parentId: hex('48485a3953bb6124') }, get: (s) => s.parentSpanId, want: '' },
  { rule: 'kind CLIENT (1)', span: { kind: 'CLIENT' }, get: (s) => s.kind, want: SpanKind.Client },
  { rule: 'kind SERVER (2)', span: { kind: 'SERVER' }, get: (s) => s.kind, want: SpanKind.Server },
  { rule: 'kind PRODUCER (3)', span: { kind: 'PRODUCER' }, get: (s) => s.kind, want: SpanKind.Producer },
  { rule: 'kind CONSUMER (4)', span: { kind: 'CONSUMER' }, get: (s) => s.kind, want: SpanKind.Consumer },
  { rule: 'unknown kind is ignored', bytes: raw((w) => w.uint32(4 << 3).uint32(7)), get: (s) => s.kind, want: SpanKind.Unspecified },
  { rule: 'name is lower-cased', span: { name: 'GET /Cart' }, get: (s) => s.name, want: 'get /cart' },
  { rule: 'fixed64 timestamp µs becomes start ns', span: { timestamp: '1472470996199000' }, get: (s) => s.startTimeUnixNano, want: 1472470996199000000n },
  { rule: 'uint64 duration µs becomes end = start + duration', span: { timestamp: '1472470996199000', duration: '207000' }, get: (s) => s.endTimeUnixNano, want: 1472470996406000000n },
  { rule: 'duration without timestamp: start absent, end is the duration', span: { duration: '5' }, get: (s) => [s.startTimeUnixNano, s.endTimeUnixNano], want: [0n, 5000n] },
  { rule: 'timestamp from 2^63 (negative as a Java long) is absent', span: { timestamp: '9223372036854775808' }, get: (s) => s.startTimeUnixNano, want: 0n },
  { rule: 'duration from 2^63 is absent', span: { duration: '18446744073709551615' }, get: (s) => s.endTimeUnixNano, want: 0n },
  { rule: 'timestamp above 2^53 keeps every digit', span: { timestamp: '9007199254740993' }, get: (s) => s.startTimeUnixNano, want: 9007199254740993000n },
  // Times below 2^53 µs are read as numbers, larger ones as BigInts: both sides of each boundary.
  { rule: 'timestamp 2^53 - 1 and 2^53', span: { timestamp: '9007199254740991', annotations: [{ timestamp: '9007199254740992', value: 'a' }] }, get: (s) => [s.startTimeUnixNano, s.events[0].timeUnixNano], want: [9007199254740991000n, 9007199254740992000n] },
  { rule: 'timestamp 2^32 - 1 and 2^32', span: { timestamp: '4294967295', annotations: [{ timestamp: '4294967296', value: 'a' }] }, get: (s) => [s.startTimeUnixNano, s.events[0].timeUnixNano], want: [4294967295000n, 4294967296000n] },
  { rule: 'duration 2^49 - 1 (7 varint bytes)', span: { duration: '562949953421311' }, get: (s) => s.endTimeUnixNano, want: 562949953421311000n },
  { rule: 'duration 2^49 (8 varint bytes)', span: { duration: '562949953421312' }, get: (s) => s.endTimeUnixNano, want: 562949953421312000n },
  { rule: 'duration 2^53 + 1', span: { duration: '9007199254740993' }, get: (s) => s.endTimeUnixNano, want: 9007199254740993000n },
  { rule: 'safe timestamp and duration whose end is past 2^53 µs', span: { timestamp: '9007199254740990', duration: '4294967297' }, get: (s) => [s.startTimeUnixNano, s.endTimeUnixNano], want: [9007199254740990000n, 9007203549708287000n] },
  { rule: 'annotation from 2^63 (negative as a Java long) is dropped', span: { annotations: [{ timestamp: '9223372036854775808', value: 'a' }, { timestamp: '1', value: 'b' }] }, get: annotations, want: [[1000n, 'b']] },
  { rule: 'annotations have no attributes', span: { annotations: [{ timestamp: '1', value: 'a' }, { timestamp: '2', value: 'b' }] }, get: (s) => s.events.map((e) => [e.attributes, e.droppedAttributesCount]), want: [[{}, 0], [{}, 0]] },
  { rule: 'local endpoint address without service name', span: { localEndpoint: { ipv4: hex('0a000001'), port: 80 } }, get: (s) => [s.resource.attributes, s.localEndpoint], want: [{}, ep('', '10.0.0.1', '', 80)] },
  { rule: 'local service name becomes service.name, lower-cased', span: { localEndpoint: { serviceName: 'FrontEnd' } }, get: (s) => [s.resource.attributes, s.localEndpoint], want: [{ 'service.name': 'frontend' }, undefined] },
  { rule: 'IPv4 of 4 bytes', span: { localEndpoint: { ipv4: hex('ac11000d'), port: 8080 } }, get: local, want: ep('', '172.17.0.13', '', 8080) },
  { rule: 'IPv6 of 16 bytes, canonical text', span: { remoteEndpoint: { ipv6: hex('20010db8000000000000000000000001') } }, get: remote, want: ep('', '', '2001:db8::1', 0) },
  { rule: 'IPv4-compatible IPv6 is IPv4', span: { remoteEndpoint: { ipv6: hex('000000000000000000000000c0a80101') } }, get: remote, want: ep('', '192.168.1.1', '', 0) },
  { rule: '::1 stays IPv6', span: { remoteEndpoint: { ipv6: hex('00000000000000000000000000000001') } }, get: remote, want: ep('', '', '::1', 0) },
  { rule: 'IPv4-mapped bytes stay IPv6 (Zipkin reads only the compatible form from bytes)', span: { remoteEndpoint: { ipv6: hex('00000000000000000000ffffc0a80101') } }, get: remote, want: ep('', '', '::ffff:c0a8:101', 0) },
  { rule: '4 bytes in the ipv6 field are IPv4 (the length decides)', span: { remoteEndpoint: { ipv6: hex('0a000001') } }, get: remote, want: ep('', '10.0.0.1', '', 0) },
  { rule: 'an IP of another length is ignored', span: { remoteEndpoint: { serviceName: 'db', ipv4: hex('0a0000') } }, get: remote, want: ep('db', '', '', 0) },
  { rule: 'remote service name is lower-cased', span: { remoteEndpoint: { serviceName: 'MySQL', port: 3306 } }, get: remote, want: ep('mysql', '', '', 3306) },
  // Zipkin reads int32 as a 32-bit varint: -1 as five bytes (ff ff ff ff 0f) is a negative port, i.e. absent.
  { rule: 'negative port is absent', bytes: rawSpan('4a0a0a026462' + '20ffffffff0f'), get: remote, want: ep('db', '', '', 0) },
  { rule: 'empty endpoint is absent', span: { localEndpoint: {}, remoteEndpoint: {} }, get: (s) => [s.localEndpoint, s.remoteEndpoint], want: [undefined, undefined] },
  { rule: 'annotations are sorted by timestamp then value, duplicates removed', span: { annotations: [{ timestamp: '3', value: 'b' }, { timestamp: '1', value: 'z' }, { timestamp: '3', value: 'a' }, { timestamp: '1', value: 'z' }] }, get: annotations, want: [[1000n, 'z'], [3000n, 'a'], [3000n, 'b']] },
  { rule: 'annotation with timestamp 0 is dropped', span: { annotations: [{ timestamp: '0', value: 'a' }, { timestamp: '1', value: 'b' }] }, get: annotations, want: [[1000n, 'b']] },
  { rule: 'annotation without value is dropped', span: { annotations: [{ timestamp: '1' }, { timestamp: '2', value: 'b' }] }, get: annotations, want: [[2000n, 'b']] },
  { rule: 'tags are sorted by key', span: { tags: { 'http.path': '/', 'Z-Upper': 'z', 'clnt/finagle.version': '6' } }, get: (s) => Object.entries(s.attributes), want: [['Z-Upper', 'z'], ['clnt/finagle.version', '6'], ['http.path', '/']] },
  { rule: 'tag without value is ""', bytes: raw((w) => w.uint32((11 << 3) | 2).fork().uint32(10).string('error').ldelim()), get: (s) => s.attributes, want: { error: '' } },
  { rule: 'tag without key is dropped', bytes: raw((w) => w.uint32((11 << 3) | 2).fork().uint32(18).string('v').ldelim()), get: (s) => s.attributes, want: {} },
  {
    rule: 'a repeated tag key keeps the last value',
    bytes: raw((w) => w.uint32((11 << 3) | 2).fork().uint32(10).string('k').uint32(18).string('1').ldelim().uint32((11 << 3) | 2).fork().uint32(10).string('k').uint32(18).string('2').ldelim()),
    get: (s) => s.attributes,
    want: { k: '2' },
  },
  { rule: 'tags are kept as string attributes; an error tag also gives status Error', span: { tags: { error: 'timeout' } }, get: (s) => [s.attributes, s.status], want: [{ error: 'timeout' }, { code: StatusCode.Error, message: 'timeout' }] },
  { rule: 'debug', span: { debug: true }, get: (s) => s.debug, want: true },
  { rule: 'shared on a SERVER span', span: { kind: 'SERVER', shared: true }, get: (s) => s.shared, want: true },
  { rule: 'shared is dropped on a CLIENT span', span: { kind: 'CLIENT', shared: true }, get: (s) => s.shared, want: false },
  {
    rule: 'unknown fields of every wire type are skipped',
    bytes: raw((w) => w.uint32(14 << 3).uint64(300).uint32((15 << 3) | 1).fixed64(1).uint32((16 << 3) | 2).string('x').uint32((17 << 3) | 5).fixed32(7).uint32((5 << 3) | 2).string('after')),
    get: (s) => s.name,
    want: 'after',
  },
  { rule: 'a known field number with another wire type is skipped', bytes: raw((w) => w.uint32(5 << 3).uint32(1).uint32((5 << 3) | 2).string('n')), get: (s) => s.name, want: 'n' },
  { rule: 'a later endpoint field replaces the earlier one', span: {}, bytes: raw((w) => w.uint32((8 << 3) | 2).fork().uint32(10).string('a').ldelim().uint32((8 << 3) | 2).fork().uint32(10).string('b').ldelim()), get: (s) => s.resource.attributes, want: { 'service.name': 'b' } },
];

describe('decodeZipkinProto3: rules', () => {
  it.each(rules.map((r) => [r.rule, r] as const))('%s', (_rule, r) => {
    const span = r.bytes !== undefined ? decodeZipkinProto3(r.bytes)[0] : decodeOne(r.span ?? {});
    expect(r.get(span)).toEqual(r.want);
  });

  it.each(rules.map((r) => [r.rule, r] as const))('is stable through encode: %s', (_rule, r) => {
    const once = r.bytes !== undefined ? decodeZipkinProto3(r.bytes) : [decodeOne(r.span ?? {})];
    expect(decodeZipkinProto3(encodeZipkinProto3(once))).toEqual(once);
  });

  it('reads any field of the list as a span, as Zipkin does', () => {
    const span = pb([BASE]).subarray(1);
    const asField2 = Buffer.concat([Buffer.from([(2 << 3) | 2]), span]);
    expect(decodeZipkinProto3(asField2).map((s) => s.spanId)).toEqual(['48485a3953bb6124']);
  });

  it('a zero-length span makes the whole list empty, as in Zipkin', () => {
    expect(decodeZipkinProto3(Buffer.concat([pb([BASE]), Buffer.from([0x0a, 0x00])]))).toEqual([]);
  });

  it('shares one resource per service and one scope per scope name and version', () => {
    const spans = decodeZipkinProto3(
      pb([
        { ...BASE, localEndpoint: { serviceName: 'a' }, tags: { 'otel.scope.name': 'lib', 'otel.scope.version': '1' } },
        { ...BASE, localEndpoint: { serviceName: 'a' }, tags: { 'otel.library.name': 'lib', 'otel.library.version': '1' } },
        { ...BASE, localEndpoint: { serviceName: 'b' } },
      ]),
    );
    expect(spans[1].resource).toBe(spans[0].resource);
    expect(spans[2].resource).not.toBe(spans[0].resource);
    expect(spans[1].scope).toBe(spans[0].scope);
    expect(spans[0].scope).toEqual({ name: 'lib', version: '1', attributes: {}, droppedAttributesCount: 0 });
  });
});

// TestObjects.TRACE of openzipkin/zipkin; its first span is 66 bytes long in proto3.
const TODAY_US = 1700006400000000;
const TRACE = decodeZipkinV2Json(
  JSON.stringify([
    { traceId: '7180c278b62e8f6a216a2aea45d08fc9', id: '1', name: 'get', kind: 'SERVER', localEndpoint: { serviceName: 'frontend', ipv4: '127.0.0.1' }, timestamp: TODAY_US, duration: 350000 },
    {
      traceId: '7180c278b62e8f6a216a2aea45d08fc9',
      parentId: '1',
      id: '2',
      name: 'get',
      kind: 'CLIENT',
      localEndpoint: { serviceName: 'frontend', ipv4: '127.0.0.1' },
      remoteEndpoint: { serviceName: 'backend', ipv4: '192.168.99.101', port: 9000 },
      timestamp: TODAY_US + 50000,
      duration: 200000,
      annotations: [{ timestamp: TODAY_US + 100000, value: 'foo' }],
      tags: { 'http.path': '/api', 'clnt/finagle.version': '6.45.0' },
    },
    { traceId: '7180c278b62e8f6a216a2aea45d08fc9', parentId: '1', id: '2', shared: true, name: 'get', kind: 'SERVER', localEndpoint: { serviceName: 'backend', ipv4: '192.168.99.101', port: 9000 }, timestamp: TODAY_US + 100000, duration: 150000 },
    {
      traceId: '7180c278b62e8f6a216a2aea45d08fc9',
      parentId: '2',
      id: '3',
      name: 'query',
      kind: 'CLIENT',
      localEndpoint: { serviceName: 'backend', ipv4: '192.168.99.101', port: 9000 },
      remoteEndpoint: { serviceName: 'db', ipv6: '2001:db8::c001', port: 3036 },
      timestamp: TODAY_US + 150000,
      duration: 50000,
      annotations: [{ timestamp: TODAY_US + 190000, value: '⻩' }],
      tags: { error: '💩' },
    },
  ]),
);

/** A ListOfSpans of one span given as hex (after the trace id 463ac35c9f6413ad and id 48485a3953bb6124 unless `base` is false). */
function rawSpan(hexFields: string, base = true): Buffer {
  const span = Buffer.from((base ? '0a08463ac35c9f6413ad1a0848485a3953bb6124' : '') + hexFields, 'hex');
  return Buffer.concat([Buffer.from([0x0a]), Buffer.from(protobuf.Writer.create().uint32(span.length).finish()), span]);
}

// Offsets: the list header is 2 bytes and the base ids 20, so the first extra field starts at byte 22.
const errors: [string, Buffer, string][] = [
  ['a truncated list (SpanBytesDecoderTest.niceErrorOnTruncatedSpans_PROTO3)', encodeZipkinProto3(TRACE).subarray(0, 10), 'Truncated: length 66 > bytes available 8 reading List<Span> from proto3'],
  ['a truncated span (SpanBytesDecoderTest.niceErrorOnTruncatedSpan_PROTO3)', encodeZipkinProto3(decodeZipkinV2Json(`[${v2Literals[0]}]`)).subarray(0, 10), 'Truncated: length 179 > bytes available 7 reading List<Span> from proto3'],
  ['text (SpanBytesDecoderTest.niceErrorOnMalformed_inputSpans_PROTO3)', Buffer.from('hello'), 'Truncated: length 101 > bytes available 3 reading List<Span> from proto3'],
  ['a name longer than what is left', rawSpan('2a0a61'), 'Truncated: length 10 > bytes available 1 reading List<Span> from proto3'],
  ['a key varint over 32 bits', rawSpan('ffffffff1f'), 'Greater than 32-bit varint at position 26 reading List<Span> from proto3'],
  ['a duration varint over 64 bits', rawSpan('38' + 'ff'.repeat(9) + '7f'), 'Greater than 64-bit varint at position 32 reading List<Span> from proto3'],
  ['an invalid wire type', rawSpan('a301'), 'Malformed reading List<Span> from proto3'],
  ['a boolean of 2', rawSpan('6002'), 'Malformed reading List<Span> from proto3'],
  ['a length over 2^31', rawSpan('2a8080808008'), 'Malformed reading List<Span> from proto3'],
  ['an id field over 32 bytes', rawSpan('0a21' + '01'.repeat(33), false), 'hex field greater than 32 chars long: 33 reading List<Span> from proto3'],
  ['a trace id of 17 bytes', rawSpan('0a11' + '01'.repeat(17), false), 'traceId.length > 32 reading List<Span> from proto3'],
  ['a span id of 9 bytes', rawSpan('0a0101' + '1a09' + '01'.repeat(9), false), 'id.length > 16 reading List<Span> from proto3'],
  ['a parent id of 9 bytes', rawSpan('1209' + '01'.repeat(9)), 'parentId.length > 16 reading List<Span> from proto3'],
  ['an all-zero trace id', rawSpan('0a08' + '00'.repeat(8), false), 'traceId is all zeros reading List<Span> from proto3'],
  ['an all-zero span id', rawSpan('0a0101' + '1a08' + '00'.repeat(8), false), 'id is all zeros reading List<Span> from proto3'],
  ['an empty trace id', rawSpan('0a00', false), 'traceId == null reading List<Span> from proto3'],
  ['an empty span id', rawSpan('0a0101' + '1a00', false), 'id == null reading List<Span> from proto3'],
  ['no span id', rawSpan('0a0101', false), 'Missing : id reading List<Span> from proto3'],
  ['neither id', rawSpan('2a0178', false), 'Missing : traceId id reading List<Span> from proto3'],
  ['a port above 65535', rawSpan('4204' + '20808004'), 'invalid port 65536 reading List<Span> from proto3'],
  // Standard protobuf writes a negative int32 as a 10-byte varint, which Zipkin's reader refuses too.
  ['a negative port written as standard protobuf does', pb([{ ...BASE, remoteEndpoint: { port: -1 } }]), 'Greater than 32-bit varint at position 29 reading List<Span> from proto3'],
  ['a truncated IPv4', rawSpan('4a02' + '1204'), 'Truncated: length 4 > bytes available 0 reading List<Span> from proto3'],
  ['a truncated 16-byte trace id', rawSpan('0a10' + '01'.repeat(15), false), 'Truncated: length 16 > bytes available 15 reading List<Span> from proto3'],
  ['a truncated 8-byte span id', rawSpan('0a0101' + '1a08' + '01'.repeat(7), false), 'Truncated: length 8 > bytes available 7 reading List<Span> from proto3'],
  ['a truncated 8-byte parent id', rawSpan('1208' + '00'.repeat(7)), 'Truncated: length 8 > bytes available 7 reading List<Span> from proto3'],
  ['an all-zero 16-byte trace id', rawSpan('0a10' + '00'.repeat(16), false), 'traceId is all zeros reading List<Span> from proto3'],
];

// Ids of 8 and 16 bytes are normalized from the bytes; the answers must be those of the normalizers for
// their hex, which every other length gets.
describe('decodeZipkinProto3: ids from bytes agree with the id normalizers', () => {
  const answer = (normalize: (id: string) => string, bytes: Buffer) => {
    try {
      return normalize(bytes.toString('hex'));
    } catch (e) {
      return `${(e as Error).message} reading List<Span> from proto3`;
    }
  };
  const decoded = (body: Buffer, get: (s: Span) => string) => {
    try {
      return get(decodeZipkinProto3(body)[0]);
    } catch (e) {
      return (e as Error).message;
    }
  };
  // Random bytes, each half zero or not, so that every zero rule is met often.
  let seed = 7;
  const random = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) >>> 16) & 0xff;
  const idBytes = (n: number) => {
    const b = Buffer.alloc(n);
    for (let half = 0; half < n; half += 8) {
      const kind = random() % 4; // 0: zeros, 1: one non-zero byte, else random
      if (kind === 1) b[half + (random() % 8)] = 1 + (random() % 255);
      else if (kind > 1) for (let k = half; k < half + 8; k++) b[k] = random();
    }
    return b;
  };
  const cases = Array.from({ length: 400 }, (_, k) => idBytes(k % 3 === 0 ? 16 : 8));
  cases.push(hex('00000000000000000000000000000001'), hex('00000000000000010000000000000000'), hex('0000000000000001'), hex('ffffffffffffffffffffffffffffffff'), hex('0123456789abcdef'));

  it('trace ids', () => {
    for (const b of cases) expect([b.toString('hex'), decoded(rawSpan('0a' + b.length.toString(16).padStart(2, '0') + b.toString('hex') + '1a080000000000000001', false), (s) => s.traceId)]).toEqual([b.toString('hex'), answer(normalizeTraceId, b)]);
  });

  it('span ids and parent ids', () => {
    for (const b of cases.filter((c) => c.length === 8)) {
      expect([b.toString('hex'), decoded(rawSpan('0a0101' + '1a08' + b.toString('hex'), false), (s) => s.spanId)]).toEqual([b.toString('hex'), answer(normalizeSpanId, b)]);
      // The parent differs from the span id 48485a3953bb6124 unless it is that id.
      expect([b.toString('hex'), decoded(rawSpan('1208' + b.toString('hex')), (s) => s.parentSpanId)]).toEqual([b.toString('hex'), answer(normalizeParentId, b)]);
    }
  });
});

// Repeated text is returned from a cache of recent strings found by their bytes: the text must be that
// of the bytes whatever came before, for ASCII, other UTF-8, bad UTF-8 and strings of equal length.
describe('decodeZipkinProto3: repeated text is the text of its bytes', () => {
  let seed = 11;
  const random = (n: number) => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) >>> 16) % n;
  // Few distinct bytes, so that strings repeat and collide; 0xc3 0xa9 is é, 0xff and a lone 0xc3 are bad.
  const PIECES = [[0x61], [0x62], [0x2e], [0x41], [0xc3, 0xa9], [0xff], [0xc3], [0x80], [0xef, 0xbf, 0xbd]];
  const text = () => {
    const bytes: number[] = [];
    const n = 1 + random(random(4) === 0 ? 80 : 20); // some past the 64 bytes that are cached
    for (let k = 0; k < n; k++) bytes.push(...PIECES[random(PIECES.length)]);
    return Buffer.from(bytes);
  };
  const field = (key: number, b: Buffer) => Buffer.concat([Buffer.from([key]), Buffer.from(protobuf.Writer.create().uint32(b.length).finish()), b]);
  const entry = (k: Buffer, v: Buffer) => field((11 << 3) | 2, Buffer.concat([field((1 << 3) | 2, k), field((2 << 3) | 2, v)]));

  it('names, service names, tag keys and values, annotation values', () => {
    for (let round = 0; round < 300; round++) {
      const [name, service, key, value, annotation] = [text(), text(), text(), text(), text()];
      const span = Buffer.concat([
        Buffer.from('0a08463ac35c9f6413ad1a0848485a3953bb6124', 'hex'),
        field((5 << 3) | 2, name),
        field((8 << 3) | 2, field((1 << 3) | 2, service)),
        field((10 << 3) | 2, Buffer.concat([Buffer.from('09' + '0100000000000000', 'hex'), field((2 << 3) | 2, annotation)])),
        entry(key, value),
      ]);
      const got = decodeZipkinProto3(field((1 << 3) | 2, span))[0];
      const utf8 = (b: Buffer) => b.toString('utf8');
      expect([got.name, got.resource.attributes['service.name'], got.events[0].name, Object.entries(got.attributes)]).toEqual([
        utf8(name).toLowerCase(),
        utf8(service).toLowerCase(),
        utf8(annotation),
        [[utf8(key), utf8(value)]],
      ]);
    }
  });
});

describe('decodeZipkinProto3: errors', () => {
  it.each(errors)('%s', (_problem, body, message) => {
    expect(decodeError(body)).toBe(message);
  });
});
