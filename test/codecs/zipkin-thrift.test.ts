/**
 * The Thrift reader (zipkin-thrift.ts): Zipkin's own spans in TBinaryProtocol (sizes from
 * openzipkin/zipkin SpanBytesEncoderTest, byte layouts from V1ThriftSpanWriterTest), reader rules and
 * errors as Zipkin's V1ThriftSpanReader / ThriftCodec have them (V1SpanBytesDecoderTest). Conversion
 * rules are in zipkin-v1.test.ts.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { decodeZipkinV2Json, encodeZipkinV2Json } from '../../src/codecs/zipkin-json.js';
import { ZipkinDecodeError } from '../../src/codecs/zipkin-normalize.js';
import { decodeZipkinThrift } from '../../src/codecs/zipkin-thrift.js';
import { SpanKind, type Span } from '../../src/model/span.js';
import { T, TBinaryWriter, encodeV1ThriftList, encodeV1ThriftSpan, writeEndpoint, type V1SpanJson } from './zipkin-v1-thrift-writer.mjs';

const fixture = (path: string) => readFileSync(new URL(`../fixtures/${path}`, import.meta.url));
const v1Literals = fixture('zipkin-v1/zipkin-span-bytes-encoder-test.v1.jsonl').toString('utf8').trimEnd().split('\n');
const v2Literals = fixture('zipkin-v2/zipkin-span-bytes-encoder-test.jsonl').toString('utf8').trimEnd().split('\n');

// SpanBytesEncoderTest: THRIFT sizes, and which JSON_V2 literal is the same span.
const ZIPKIN_SPANS: [string, number, number][] = [
  ['span', 503, 0],
  ['localSpan', 127, 1],
  ['span_64bitTraceId', 492, 3],
  ['span_shared', 481, 4],
  ['specialCharsInJson', 176, 5],
  ['span_minimum', 57, 6],
  ['span_noLocalServiceName', 455, 7],
  ['span_noRemoteServiceName', 496, 8],
  ['noAnnotations_rootServerSpan', 358, 9],
  ['noAnnotations_rootServerSpan_incomplete', 297, 10],
  ['noAnnotations_rootServerSpan_shared', 336, 11],
];

function decodeError(body: Buffer): string {
  try {
    decodeZipkinThrift(body);
  } catch (e) {
    expect(e).toBeInstanceOf(ZipkinDecodeError);
    return (e as Error).message;
  }
  throw new Error('decoded without error');
}

/** A list of one span struct written by `write` (which ends it with STOP). */
function listOf(write: (w: TBinaryWriter) => TBinaryWriter): Buffer {
  return write(new TBinaryWriter().listBegin(T.STRUCT, 1)).toBuffer();
}

/** trace id 1, id 2: the least a span needs. */
const ids = (w: TBinaryWriter) => w.field(T.I64, 1).i64(1n).field(T.I64, 4).i64(2n);

describe("decodeZipkinThrift: Zipkin's own spans", () => {
  it.each(ZIPKIN_SPANS.map(([name, size, v2], k) => [name, size, v1Literals[k], v2Literals[v2]] as const))(
    '%s: %i bytes as Zipkin writes it, decoded to its JSON_V2 form',
    (_name, size, v1, v2) => {
      const span = JSON.parse(v1) as V1SpanJson;
      expect(encodeV1ThriftSpan(span).length).toBe(size);
      expect(encodeZipkinV2Json(decodeZipkinThrift(encodeV1ThriftList([span])))).toBe(`[${v2}]`);
    },
  );

  it('the golden list of all of them decodes to the JSON_V2 literals, and the test writer still writes it', () => {
    const golden = fixture('zipkin-v1/zipkin-span-bytes-encoder-test.thrift');
    expect(encodeV1ThriftList(v1Literals.map((l) => JSON.parse(l) as V1SpanJson)).equals(golden)).toBe(true);
    expect(decodeZipkinThrift(golden)).toEqual(decodeZipkinV2Json(`[${ZIPKIN_SPANS.map(([, , v2]) => v2Literals[v2]).join(',')}]`));
  });

  it('reads the layout of V1ThriftSpanWriterTest.writesParentAnd128BitTraceId', () => {
    const body = Buffer.from(
      '0c00000001' + // list<struct>, 1 span
        '0a0001' + '0000000000000002' + // trace_id (low)
        '0b0003' + '00000000' + // name ""
        '0a0004' + '0000000000000004' + // id
        '0a0005' + '0000000000000003' + // parent_id
        '0f0006' + '0c00000000' + // annotations: empty list
        '0f0008' + '0c00000000' + // binary_annotations: empty list
        '0a000c' + '0000000000000001' + // trace_id_high
        '00', // STOP
      'hex',
    );
    const [s] = decodeZipkinThrift(body);
    expect([s.traceId, s.parentSpanId, s.spanId, s.name]).toEqual(['00000000000000010000000000000002', '0000000000000003', '0000000000000004', '']);
  });

  it('reads a port above 32767 as unsigned (V1ThriftSpanWriterTest.endpoint_highPort)', () => {
    const body = listOf((w) =>
      ids(w)
        .field(T.LIST, 6)
        .listBegin(T.STRUCT, 1)
        .field(T.I64, 1)
        .i64(5n)
        .field(T.STRING, 2)
        .string('foo')
        .field(T.STRUCT, 3)
        .bytes(Buffer.from('080001' + '7f000001' + '060002' + 'f960' + '00', 'hex')) // ipv4 127.0.0.1, port 63840
        .stop()
        .stop(),
    );
    expect(decodeZipkinThrift(body)[0].localEndpoint).toEqual({ serviceName: '', ipv4: '127.0.0.1', ipv6: '', port: 63840 });
  });
});

type Rule = { rule: string; body: Buffer; get: (s: Span[]) => unknown; want: unknown };

const one = (get: (s: Span) => unknown) => (spans: Span[]) => get(spans[0]);

/** A binary annotation struct: key, value bytes, annotation type, optional endpoint. */
function binaryAnnotation(w: TBinaryWriter, key: string, value: Buffer, type: number, endpoint?: Parameters<typeof writeEndpoint>[1]): TBinaryWriter {
  w.field(T.STRING, 1).string(key).field(T.STRING, 2).i32(value.length).bytes(value).field(T.I32, 3).i32(type);
  if (endpoint) writeEndpoint(w.field(T.STRUCT, 4), endpoint);
  return w.stop();
}

const FRONTEND = { serviceName: 'frontend', ipv4: '127.0.0.1' };

const rules: Rule[] = [
  {
    rule: 'a STRING (6) binary annotation is a tag',
    body: listOf((w) => binaryAnnotation(ids(w).field(T.LIST, 8).listBegin(T.STRUCT, 1), 'http.path', Buffer.from('/api'), 6, FRONTEND).stop()),
    get: one((s) => [s.attributes, s.resource.attributes]),
    want: [{ 'http.path': '/api' }, { 'service.name': 'frontend' }],
  },
  {
    rule: 'a BOOL (0) "sa" with value 0x01 is the remote endpoint',
    body: listOf((w) => binaryAnnotation(ids(w).field(T.LIST, 8).listBegin(T.STRUCT, 1), 'sa', Buffer.from([1]), 0, { serviceName: 'db', port: 3306 }).stop()),
    get: one((s) => s.remoteEndpoint),
    want: { serviceName: 'db', ipv4: '', ipv6: '', port: 3306 },
  },
  {
    rule: 'a BOOL "sa" with value 0x00 is dropped',
    body: listOf((w) => binaryAnnotation(ids(w).field(T.LIST, 8).listBegin(T.STRUCT, 1), 'sa', Buffer.from([0]), 0, { serviceName: 'db' }).stop()),
    get: one((s) => s.remoteEndpoint),
    want: undefined,
  },
  {
    rule: 'a BOOL other than an address is dropped',
    body: listOf((w) => binaryAnnotation(ids(w).field(T.LIST, 8).listBegin(T.STRUCT, 1), 'cache.hit', Buffer.from([1]), 0, FRONTEND).stop()),
    get: one((s) => [s.attributes, s.localEndpoint]),
    want: [{}, undefined],
  },
  ...[
    ['BYTES (1)', 1, Buffer.from([0xde, 0xad])],
    ['I16 (2)', 2, Buffer.from([0, 7])],
    ['I32 (3)', 3, Buffer.from([0, 0, 0, 7])],
    ['I64 (4)', 4, Buffer.alloc(8, 1)],
    ['DOUBLE (5)', 5, Buffer.alloc(8, 2)],
  ].map(
    ([name, type, value]): Rule => ({
      rule: `a ${name as string} binary annotation is dropped, as Zipkin drops it`,
      body: listOf((w) => binaryAnnotation(ids(w).field(T.LIST, 8).listBegin(T.STRUCT, 1), 'n', value as Buffer, type as number, FRONTEND).stop()),
      get: one((s) => s.attributes),
      want: {},
    }),
  ),
  {
    rule: 'a binary annotation without type is dropped',
    body: listOf((w) => ids(w).field(T.LIST, 8).listBegin(T.STRUCT, 1).field(T.STRING, 1).string('k').field(T.STRING, 2).string('v').stop().stop()),
    get: one((s) => s.attributes),
    want: {},
  },
  {
    rule: 'an annotation with timestamp 0 is dropped',
    body: listOf((w) => ids(w).field(T.LIST, 6).listBegin(T.STRUCT, 2).field(T.I64, 1).i64(0n).field(T.STRING, 2).string('a').stop().field(T.I64, 1).i64(7n).field(T.STRING, 2).string('b').stop().stop()),
    get: one((s) => s.events.map((e) => [e.timeUnixNano, e.name])),
    want: [[7000n, 'b']],
  },
  {
    rule: 'an annotation without value is dropped',
    body: listOf((w) => ids(w).field(T.LIST, 6).listBegin(T.STRUCT, 1).field(T.I64, 1).i64(7n).stop().stop()),
    get: one((s) => s.events),
    want: [],
  },
  {
    rule: "the list's element type is not looked at",
    body: listOf((w) => ids(w).field(T.LIST, 6).listBegin(T.STOP, 1).field(T.I64, 1).i64(7n).field(T.STRING, 2).string('a').stop().stop()),
    get: one((s) => s.events.map((e) => e.name)),
    want: ['a'],
  },
  {
    rule: 'an endpoint with an IPv6 of 16 bytes',
    body: listOf((w) =>
      ids(w)
        .field(T.LIST, 8)
        .listBegin(T.STRUCT, 1)
        .field(T.STRING, 1)
        .string('lc')
        .field(T.STRING, 2)
        .string('')
        .field(T.I32, 3)
        .i32(6)
        .field(T.STRUCT, 4)
        .bytes(Buffer.from('080001' + '00000000' + '0b0004' + '00000010' + '20010db8000000000000000000000001' + '00', 'hex'))
        .stop()
        .stop(),
    ),
    get: one((s) => s.localEndpoint),
    want: { serviceName: '', ipv4: '', ipv6: '2001:db8::1', port: 0 },
  },
  {
    rule: 'an endpoint IPv4 of 0 is absent',
    body: listOf((w) => ids(w).field(T.LIST, 8).listBegin(T.STRUCT, 1).field(T.STRING, 1).string('lc').field(T.STRING, 2).string('').field(T.I32, 3).i32(6).field(T.STRUCT, 4).bytes(Buffer.from('080001000000000b000300000003617069' + '00', 'hex')).stop().stop()),
    get: one((s) => [s.localEndpoint, s.resource.attributes]),
    want: [undefined, { 'service.name': 'api' }],
  },
  {
    rule: 'debug false (as Finagle writes it) is not debug',
    body: listOf((w) => ids(w).field(T.BOOL, 9).byte(0).stop()),
    get: one((s) => s.debug),
    want: false,
  },
  {
    rule: 'unknown fields of every type are skipped',
    body: listOf((w) =>
      ids(w)
        .field(T.DOUBLE, 20)
        .i64(1n)
        .field(T.BYTE, 21)
        .byte(1)
        .field(T.I16, 22)
        .i16(1)
        .field(T.I32, 23)
        .i32(1)
        .field(T.STRING, 24)
        .string('x')
        .field(T.STRUCT, 25)
        .field(T.STRUCT, 1)
        .field(T.I64, 1)
        .i64(1n)
        .stop()
        .stop()
        .field(T.MAP, 26)
        .byte(T.STRING)
        .byte(T.I32)
        .i32(1)
        .string('k')
        .i32(1)
        .field(T.SET, 27)
        .listBegin(T.I16, 2)
        .i16(1)
        .i16(2)
        .field(T.LIST, 28)
        .listBegin(T.I64, 1)
        .i64(1n)
        .field(T.STRING, 3)
        .string('after')
        .stop(),
    ),
    get: one((s) => s.name),
    want: 'after',
  },
  {
    rule: 'a known field id with another type is skipped',
    body: listOf((w) => ids(w).field(T.I32, 3).i32(1).field(T.STRING, 3).string('n').stop()),
    get: one((s) => s.name),
    want: 'n',
  },
  {
    rule: 'a huge list of a type without bytes is skipped at once',
    body: listOf((w) => ids(w).field(T.LIST, 30).listBegin(T.STOP, 0x7fffffff).field(T.MAP, 31).byte(1).byte(5).i32(0x7fffffff).stop()),
    get: one((s) => s.spanId),
    want: '0000000000000002',
  },
  {
    rule: 'the legacy first byte 0x0B (zipkin-reporter-java#133) is read like 0x0C',
    body: Buffer.concat([Buffer.from([11]), encodeV1ThriftList([{ traceId: '1', id: '2' }]).subarray(1)]),
    get: (spans) => spans.length,
    want: 1,
  },
  { rule: 'an empty list', body: Buffer.from('0c00000000', 'hex'), get: (spans) => spans, want: [] },
  { rule: 'a negative count is an empty list', body: Buffer.from('0cffffffff', 'hex'), get: (spans) => spans, want: [] },
  { rule: 'an empty body', body: Buffer.alloc(0), get: (spans) => spans, want: [] },
  {
    rule: 'one list can hold many spans, split per service',
    body: encodeV1ThriftList([
      { traceId: '1', id: '2', annotations: [{ timestamp: 1, value: 'cs', endpoint: FRONTEND }, { timestamp: 2, value: 'sr', endpoint: { serviceName: 'backend' } }] },
      { traceId: '1', id: '3' },
    ]),
    get: (spans) => spans.map((s) => [s.spanId, s.kind, s.resource.attributes['service.name'] ?? '']),
    want: [
      ['0000000000000002', SpanKind.Client, 'frontend'],
      ['0000000000000002', SpanKind.Server, 'backend'],
      ['0000000000000003', SpanKind.Unspecified, ''],
    ],
  },
];

describe('decodeZipkinThrift: reader rules', () => {
  it.each(rules.map((r) => [r.rule, r] as const))('%s', (_rule, r) => {
    expect(r.get(decodeZipkinThrift(r.body))).toEqual(r.want);
  });
});

const TRACE: V1SpanJson[] = [
  { traceId: '7180c278b62e8f6a216a2aea45d08fc9', id: '1', name: 'get', timestamp: 1700006400000000, duration: 350000, annotations: [{ timestamp: 1700006400000000, value: 'sr', endpoint: FRONTEND }, { timestamp: 1700006400350000, value: 'ss', endpoint: FRONTEND }] },
];

const errors: [string, Buffer, string][] = [
  ['a truncated list (V1SpanBytesDecoderTest.niceErrorOnTruncatedSpans_THRIFT)', encodeV1ThriftList(TRACE).subarray(0, 10), 'Truncated: length 8 > bytes available 2 reading List<Span> from TBinary'],
  ['text (V1SpanBytesDecoderTest.niceErrorOnMalformed_inputSpans_THRIFT)', Buffer.from('hello'), 'Truncated: length 1 > bytes available 0 reading List<Span> from TBinary'],
  ['no trace id', listOf((w) => w.field(T.I64, 4).i64(2n).stop()), 'traceId == 0 reading List<Span> from TBinary'],
  ['a zero trace id with a high half', listOf((w) => w.field(T.I64, 12).i64(1n).field(T.I64, 1).i64(0n).field(T.I64, 4).i64(2n).stop()), 'traceId == 0 reading List<Span> from TBinary'],
  ['no id', listOf((w) => w.field(T.I64, 1).i64(1n).stop()), 'id == 0 reading List<Span> from TBinary'],
  ['a string longer than the body', listOf((w) => ids(w).field(T.STRING, 3).i32(10).bytes([0x61])), 'Truncated: length 10 > bytes available 1 reading List<Span> from TBinary'],
  ['a negative string length', listOf((w) => ids(w).field(T.STRING, 3).i32(-1)), 'Malformed reading List<Span> from TBinary'],
  ['a struct without STOP', listOf((w) => ids(w)), 'Truncated: length 1 > bytes available 0 reading List<Span> from TBinary'],
  ['an unknown field skipped past the end', listOf((w) => ids(w).field(T.I64, 20).i32(1)), 'Truncated: length 8 > bytes available 4 reading List<Span> from TBinary'],
  ['a huge list of bytes in an unknown field ends with the body', listOf((w) => ids(w).field(T.LIST, 20).listBegin(T.BOOL, 0x7fffffff).byte(1)), 'Truncated: length 1 > bytes available 0 reading List<Span> from TBinary'],
  ['unknown structs nested too deep', listOf((w) => ids(w).bytes(Buffer.concat(Array.from({ length: 100 }, () => Buffer.from('0c0001', 'hex'))))), 'Malformed reading List<Span> from TBinary'],
  ['a count larger than the spans sent', Buffer.concat([Buffer.from('0c00000002', 'hex'), encodeV1ThriftList([{ traceId: '1', id: '2' }]).subarray(5)]), 'Truncated: length 1 > bytes available 0 reading List<Span> from TBinary'],
];

describe('decodeZipkinThrift: errors', () => {
  it.each(errors)('%s', (_problem, body, message) => {
    expect(decodeError(body)).toBe(message);
  });
});
