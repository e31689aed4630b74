import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  ZipkinDecodeError,
  decodeZipkinV2Json,
  decodeZipkinV2JsonRefusingV1,
  encodeZipkinV2Json,
  encodeZipkinV2Span,
  normalizeIp,
  tagText,
} from '../../src/codecs/zipkin-json.js';
import { EMPTY_SCOPE, Span, SpanKind, StatusCode, UNSET_STATUS, newResource, type AnyValue } from '../../src/model/span.js';

function fixture(name: string): string {
  return readFileSync(new URL(`../fixtures/zipkin-v2/${name}`, import.meta.url), 'utf8');
}

function decodeOne(spanJson: string): Span {
  const spans = decodeZipkinV2Json(`[${spanJson}]`);
  expect(spans).toHaveLength(1);
  return spans[0];
}

function decodeError(body: string): ZipkinDecodeError {
  try {
    decodeZipkinV2Json(body);
  } catch (e) {
    expect(e).toBeInstanceOf(ZipkinDecodeError);
    return e as ZipkinDecodeError;
  }
  throw new Error(`decoded without error: ${body}`);
}

const event = (timeUnixNano: bigint, name: string) => ({ timeUnixNano, name, attributes: {}, droppedAttributesCount: 0 });

describe('decodeZipkinV2Json: checkout trace (client + shared server, 128-bit ids, IPv6, debug)', () => {
  const spans = decodeZipkinV2Json(fixture('checkout-trace.json'));

  it('decodes every span, in order', () => {
    expect(spans.map((s) => s.spanId)).toEqual(['48485a3953bb6124', '5b4185666d50f68b', '5b4185666d50f68b', 'e457b5a2e4d86bd1']);
  });

  it('root server span', () => {
    const s = spans[0];
    expect(s.traceId).toBe('463ac35c9f6413ad48485a3953bb6124');
    expect(s.parentSpanId).toBe('');
    expect(s.kind).toBe(SpanKind.Server);
    expect(s.name).toBe('get /checkout');
    expect(s.startTimeUnixNano).toBe(1700000000100000000n);
    expect(s.endTimeUnixNano).toBe(1700000000450000000n);
    expect(s.resource.attributes).toEqual({ 'service.name': 'frontend' });
    expect(s.localEndpoint).toEqual({ serviceName: '', ipv4: '172.17.0.13', ipv6: '', port: 8080 });
    expect(s.remoteEndpoint).toEqual({ serviceName: '', ipv4: '', ipv6: '2001:db8::1', port: 52304 });
    expect(s.events).toEqual([]);
    expect(Object.entries(s.attributes)).toEqual([
      ['http.method', 'GET'],
      ['http.path', '/checkout'],
      ['http.status_code', '200'],
    ]);
    expect(s.debug).toBe(true);
    expect(s.shared).toBe(false);
    expect(s.status).toBe(UNSET_STATUS);
    expect(s.scope).toBe(EMPTY_SCOPE);
    expect(s.links).toEqual([]);
  });

  it('client span: annotations sorted by time', () => {
    const s = spans[1];
    expect(s.parentSpanId).toBe('48485a3953bb6124');
    expect(s.kind).toBe(SpanKind.Client);
    expect(s.name).toBe('post /api/cart');
    expect(s.startTimeUnixNano).toBe(1700000000150000000n);
    expect(s.endTimeUnixNano).toBe(1700000000350000000n);
    expect(s.localEndpoint).toEqual({ serviceName: '', ipv4: '172.17.0.13', ipv6: '', port: 0 });
    expect(s.remoteEndpoint).toEqual({ serviceName: 'backend', ipv4: '192.168.99.101', ipv6: '', port: 9000 });
    expect(s.events).toEqual([event(1700000000151000000n, 'ws'), event(1700000000349000000n, 'wr')]);
    expect(Object.entries(s.attributes)).toEqual([
      ['clnt/finagle.version', '6.45.0'],
      ['http.path', '/api/cart'],
    ]);
    expect(s.debug).toBe(false);
    expect(s.shared).toBe(false);
  });

  it('shared server span: same id as the client, mapped IPv4 remote, duplicate annotation removed', () => {
    const s = spans[2];
    expect(s.spanId).toBe(spans[1].spanId);
    expect(s.parentSpanId).toBe('48485a3953bb6124');
    expect(s.kind).toBe(SpanKind.Server);
    expect(s.shared).toBe(true);
    expect(s.startTimeUnixNano).toBe(1700000000160000000n);
    expect(s.endTimeUnixNano).toBe(1700000000340000000n);
    expect(s.resource.attributes).toEqual({ 'service.name': 'backend' });
    expect(s.localEndpoint).toEqual({ serviceName: '', ipv4: '192.168.99.101', ipv6: '', port: 9000 });
    expect(s.remoteEndpoint).toEqual({ serviceName: '', ipv4: '172.17.0.13', ipv6: '', port: 41234 });
    expect(s.events).toEqual([event(1700000000161000000n, 'wr'), event(1700000000339000000n, 'ws')]);
  });

  it('db client span: IPv6 remote; the error tag stays a tag and gives status Error', () => {
    const s = spans[3];
    expect(s.remoteEndpoint).toEqual({ serviceName: 'db', ipv4: '', ipv6: '2001:db8::c001', port: 3036 });
    expect(s.events).toEqual([event(1700000000240000000n, '⻩')]);
    expect(Object.entries(s.attributes)).toEqual([
      ['error', '💩'],
      ['sql.query', 'SELECT * FROM cart WHERE id = ?'],
    ]);
    expect(s.status).toEqual({ code: StatusCode.Error, message: '💩' });
  });

  it('shares one resource per local service name within a call', () => {
    expect(spans[1].resource).toBe(spans[0].resource);
    expect(spans[3].resource).toBe(spans[2].resource);
    expect(spans[2].resource).not.toBe(spans[0].resource);
  });

  it('shares one resource without service.name among spans without a local service name', () => {
    const [a, b] = decodeZipkinV2Json('[{"traceId":"a","id":"1"},{"traceId":"a","id":"2","localEndpoint":{"ipv4":"10.0.0.1"}}]');
    expect(a.resource).toBe(b.resource);
    expect(a.resource.attributes).toEqual({});
  });

  it('accepts a Buffer, an empty body and an empty list', () => {
    expect(decodeZipkinV2Json(Buffer.from(fixture('checkout-trace.json')))).toEqual(spans);
    expect(decodeZipkinV2Json('')).toEqual([]);
    expect(decodeZipkinV2Json('[]')).toEqual([]);
  });
});

describe('round trip', () => {
  it("encode(decode(x)) is Zipkin's normalized form of x", () => {
    const encoded = encodeZipkinV2Json(decodeZipkinV2Json(fixture('checkout-trace.json')));
    expect(encoded).toBe(fixture('checkout-trace.normalized.json').trimEnd());
  });

  it('decode(encode(decode(x))) deep-equals decode(x)', () => {
    const once = decodeZipkinV2Json(fixture('checkout-trace.json'));
    const twice = decodeZipkinV2Json(encodeZipkinV2Json(once));
    expect(twice).toEqual(once);
    expect(twice[1].resource).toBe(twice[0].resource);
  });

  // Expected JSON_V2 outputs of openzipkin/zipkin's SpanBytesEncoderTest, in this order.
  const zipkinLiterals = fixture('zipkin-span-bytes-encoder-test.jsonl').trimEnd().split('\n');
  const names = [
    'span_JSON_V2',
    'localSpan_JSON_V2',
    'errorSpan_JSON_V2',
    'span_64bitTraceId_JSON_V2',
    'span_shared_JSON_V2',
    'specialCharsInJson_JSON_V2',
    'span_minimum_JSON_V2',
    'span_noLocalServiceName_JSON_V2',
    'span_noRemoteServiceName_JSON_V2',
    'noAnnotations_rootServerSpan_JSON_V2',
    'noAnnotations_rootServerSpan_JSON_V2_incomplete',
    'noAnnotations_rootServerSpan_JSON_V2_shared',
  ];
  it('has one literal per Zipkin test', () => expect(zipkinLiterals).toHaveLength(names.length));
  it.each(names.map((name, k) => [name, zipkinLiterals[k]] as const))("re-encodes Zipkin's %s byte for byte", (_name, literal) => {
    expect(encodeZipkinV2Span(decodeOne(literal))).toBe(literal);
  });

  it('decodes the special characters of specialCharsInJson', () => {
    const s = decodeOne(zipkinLiterals[5]);
    expect(s.name).toBe('"\\\t\b\n\r\f');
    expect(s.events).toEqual([event(1000n, '\u2028 and \u2029')]);
    expect(s.attributes).toEqual({ '"foo': 'Database error: ORA-00942:\u2028 and \u2029 table or view does not exist\n' });
  });
});

type Normalization = {
  rule: string;
  /** Fields merged over a minimal valid span. */
  span?: Record<string, unknown>;
  /** The whole span as JSON text, for inputs a JS object cannot express. */
  json?: string;
  get: (s: Span) => unknown;
  want: unknown;
};

const MINIMAL = { traceId: '463ac35c9f6413ad', id: '48485a3953bb6124' };
const local = (s: Span) => s.localEndpoint;
const remote = (s: Span) => s.remoteEndpoint;
const serviceName = (s: Span) => s.resource.attributes['service.name'];
const tagEntries = (s: Span) => Object.entries(s.attributes);
const annotations = (s: Span) => s.events.map((e) => [e.timeUnixNano, e.name]);

const normalizations: Normalization[] = [
  { rule: 'traceId shorter than 16 is left-padded to 16', span: { traceId: 'a' }, get: (s) => s.traceId, want: '000000000000000a' },
  { rule: 'traceId of 16 is kept', span: { traceId: '463ac35c9f6413ad' }, get: (s) => s.traceId, want: '463ac35c9f6413ad' },
  { rule: 'traceId of 17-31 is left-padded to 32', span: { traceId: 'f463ac35c9f6413ad' }, get: (s) => s.traceId, want: '000000000000000f463ac35c9f6413ad' },
  { rule: 'traceId of 32 is kept', span: { traceId: '48485a3953bb6124463ac35c9f6413ad' }, get: (s) => s.traceId, want: '48485a3953bb6124463ac35c9f6413ad' },
  { rule: 'traceId of 32 with a zero high half is 64-bit', span: { traceId: '0000000000000000463ac35c9f6413ad' }, get: (s) => s.traceId, want: '463ac35c9f6413ad' },
  { rule: 'traceId padded to 32 with a zero high half is 64-bit', span: { traceId: '0000463ac35c9f6413ad' }, get: (s) => s.traceId, want: '463ac35c9f6413ad' },
  { rule: 'id shorter than 16 is left-padded', span: { id: 'b' }, get: (s) => s.spanId, want: '000000000000000b' },
  { rule: 'parentId shorter than 16 is left-padded', span: { parentId: 'c' }, get: (s) => s.parentSpanId, want: '000000000000000c' },
  { rule: 'all-zero parentId is absent', span: { parentId: '0000000000000000' }, get: (s) => s.parentSpanId, want: '' },
  { rule: 'short all-zero parentId is absent', span: { parentId: '0' }, get: (s) => s.parentSpanId, want: '' },
  { rule: 'parentId equal to id is absent', span: { parentId: '48485a3953bb6124' }, get: (s) => s.parentSpanId, want: '' },
  { rule: 'parentId equal to id after padding is absent', span: { id: 'abc', parentId: '0abc' }, get: (s) => s.parentSpanId, want: '' },
  { rule: 'name is lower-cased', span: { name: 'GET /Api/Cart' }, get: (s) => s.name, want: 'get /api/cart' },
  { rule: 'empty name is absent', span: { name: '' }, get: (s) => s.name, want: '' },
  { rule: 'local serviceName is lower-cased into service.name', span: { localEndpoint: { serviceName: 'FrontEnd' } }, get: serviceName, want: 'frontend' },
  { rule: 'empty local serviceName is absent', span: { localEndpoint: { serviceName: '', ipv4: '10.0.0.1' } }, get: (s) => s.resource.attributes, want: {} },
  { rule: 'remote serviceName is lower-cased', span: { remoteEndpoint: { serviceName: 'MySQL' } }, get: (s) => s.remoteEndpoint?.serviceName, want: 'mysql' },
  { rule: 'timestamp µs becomes start ns', span: { timestamp: 1472470996199000 }, get: (s) => s.startTimeUnixNano, want: 1472470996199000000n },
  { rule: 'duration µs becomes end = start + duration', span: { timestamp: 1472470996199000, duration: 207000 }, get: (s) => s.endTimeUnixNano, want: 1472470996406000000n },
  { rule: 'fractional microseconds are rounded, not refused (OTel JS exporter-zipkin sends them)', span: { timestamp: 1472470996199000.75, duration: 207000.4 }, get: (s) => [s.startTimeUnixNano, s.endTimeUnixNano], want: [1472470996199001000n, 1472470996406001000n] },
  { rule: 'timestamp without duration leaves end absent', span: { timestamp: 1472470996199000 }, get: (s) => s.endTimeUnixNano, want: 0n },
  { rule: 'negative timestamp is absent, the duration stays', span: { timestamp: -1, duration: 5 }, get: (s) => [s.startTimeUnixNano, s.endTimeUnixNano], want: [0n, 5000n] },
  { rule: 'negative duration is absent', span: { timestamp: 1472470996199000, duration: -5 }, get: (s) => s.endTimeUnixNano, want: 0n },
  { rule: 'zero duration is absent', span: { timestamp: 1472470996199000, duration: 0 }, get: (s) => s.endTimeUnixNano, want: 0n },
  { rule: 'duration without timestamp: start absent, end - start is the duration', span: { duration: 207000 }, get: (s) => [s.startTimeUnixNano, s.endTimeUnixNano], want: [0n, 207000000n] },
  { rule: 'timestamp as a string is read as Gson does', span: { timestamp: '1472470996199000' }, get: (s) => s.startTimeUnixNano, want: 1472470996199000000n },
  { rule: 'timestamp 1.0 is an integer', json: '{"traceId":"a","id":"b","timestamp":1472470996199000.0}', get: (s) => s.startTimeUnixNano, want: 1472470996199000000n },
  // Safe integers take a path without BigInt arithmetic (nanosOfMicros); a sum past 2^53 does not.
  { rule: 'the largest safe timestamp', json: '{"traceId":"a","id":"b","timestamp":9007199254740991}', get: (s) => s.startTimeUnixNano, want: 9007199254740991000n },
  {
    rule: 'safe timestamp and duration whose end is past 2^53 µs',
    json: '{"traceId":"a","id":"b","timestamp":9007199254740990,"duration":4294967297}',
    get: (s) => [s.startTimeUnixNano, s.endTimeUnixNano],
    want: [9007199254740990000n, 9007203549708287000n],
  },
  {
    rule: 'duration without timestamp, and times across 32-bit boundaries',
    json: '{"traceId":"a","id":"b","duration":4294967296,"annotations":[{"timestamp":4294967295,"value":"a"},{"timestamp":0,"value":"b"}]}',
    get: (s) => [s.startTimeUnixNano, s.endTimeUnixNano, s.events.map((e) => e.timeUnixNano)],
    want: [0n, 4294967296000n, [0n, 4294967295000n]],
  },
  { rule: 'timestamp above 2^53 keeps every digit', json: '{"traceId":"a","id":"b","timestamp":9007199254740993}', get: (s) => s.startTimeUnixNano, want: 9007199254740993000n },
  { rule: 'port above 0 is kept', span: { remoteEndpoint: { port: 65535 } }, get: remote, want: { serviceName: '', ipv4: '', ipv6: '', port: 65535 } },
  { rule: 'port 0 is absent (and so is the endpoint)', span: { remoteEndpoint: { port: 0 } }, get: remote, want: undefined },
  { rule: 'negative port is absent', span: { remoteEndpoint: { ipv4: '10.0.0.1', port: -1 } }, get: (s) => s.remoteEndpoint?.port, want: 0 },
  { rule: 'empty endpoint {} is absent', span: { localEndpoint: {}, remoteEndpoint: {} }, get: (s) => [s.localEndpoint, s.remoteEndpoint], want: [undefined, undefined] },
  { rule: 'all-null endpoint is absent', span: { remoteEndpoint: { serviceName: null, ipv4: null, ipv6: null, port: null } }, get: remote, want: undefined },
  { rule: 'endpoint with unknown keys only is absent', span: { remoteEndpoint: { host: 'db' } }, get: remote, want: undefined },
  { rule: 'local endpoint with only a service name has no address', span: { localEndpoint: { serviceName: 'api' } }, get: local, want: undefined },
  { rule: 'IPv4-mapped IPv6 is IPv4', span: { remoteEndpoint: { ipv6: '::ffff:192.168.1.1' } }, get: remote, want: { serviceName: '', ipv4: '192.168.1.1', ipv6: '', port: 0 } },
  { rule: 'IPv4-compatible IPv6 is IPv4', span: { localEndpoint: { ipv6: '::1.2.3.4' } }, get: local, want: { serviceName: '', ipv4: '1.2.3.4', ipv6: '', port: 0 } },
  { rule: 'IPv6 is written canonically', span: { remoteEndpoint: { ipv6: '2001:DB8:0000:0000:0000:0000:0000:0001' } }, get: (s) => s.remoteEndpoint?.ipv6, want: '2001:db8::1' },
  { rule: 'an IP under the other key goes by its family', span: { remoteEndpoint: { ipv4: '2001:db8::1', ipv6: '10.0.0.1' } }, get: remote, want: { serviceName: '', ipv4: '10.0.0.1', ipv6: '2001:db8::1', port: 0 } },
  { rule: 'text that is not an IP is ignored', span: { remoteEndpoint: { serviceName: 'db', ipv4: 'db.local' } }, get: remote, want: { serviceName: 'db', ipv4: '', ipv6: '', port: 0 } },
  {
    rule: 'annotations are sorted by timestamp, then value',
    span: { annotations: [{ timestamp: 3, value: 'b' }, { timestamp: 1, value: 'z' }, { timestamp: 3, value: 'a' }] },
    get: annotations,
    want: [[1000n, 'z'], [3000n, 'a'], [3000n, 'b']],
  },
  {
    rule: 'exact duplicate annotations are removed',
    span: { annotations: [{ timestamp: 1, value: 'a' }, { timestamp: 1, value: 'a' }, { timestamp: 2, value: 'a' }, { timestamp: 1, value: 'b' }] },
    get: annotations,
    want: [[1000n, 'a'], [1000n, 'b'], [2000n, 'a']],
  },
  { rule: 'annotation with a negative timestamp is dropped', span: { annotations: [{ timestamp: -1, value: 'a' }, { timestamp: 0, value: 'b' }] }, get: annotations, want: [[0n, 'b']] },
  { rule: 'annotation unknown keys are ignored', span: { annotations: [{ timestamp: 1, value: 'a', endpoint: { serviceName: 'x' } }] }, get: annotations, want: [[1000n, 'a']] },
  {
    rule: 'tags are sorted by key (UTF-16 order, as a Java TreeMap)',
    span: { tags: { 'http.path': '/', 'Z-Upper': 'z', 'clnt/finagle.version': '6', 'é': 'e' } },
    get: tagEntries,
    want: [['Z-Upper', 'z'], ['clnt/finagle.version', '6'], ['http.path', '/'], ['é', 'e']],
  },
  {
    rule: 'numeric tag values are their literal text',
    json: '{"traceId":"a","id":"b","tags":{"a":200,"b":1.0,"c":1e3,"d":12345678901234567890,"e":-0.5}}',
    get: (s) => s.attributes,
    want: { a: '200', b: '1.0', c: '1e3', d: '12345678901234567890', e: '-0.5' },
  },
  { rule: 'empty tag value is kept', span: { tags: { error: '' } }, get: (s) => s.attributes, want: { error: '' } },
  { rule: 'a __proto__ tag is an ordinary tag', json: '{"traceId":"a","id":"b","tags":{"__proto__":"x"}}', get: tagEntries, want: [['__proto__', 'x']] },
  { rule: 'kind CLIENT', span: { kind: 'CLIENT' }, get: (s) => s.kind, want: SpanKind.Client },
  { rule: 'kind SERVER', span: { kind: 'SERVER' }, get: (s) => s.kind, want: SpanKind.Server },
  { rule: 'kind PRODUCER', span: { kind: 'PRODUCER' }, get: (s) => s.kind, want: SpanKind.Producer },
  { rule: 'kind CONSUMER', span: { kind: 'CONSUMER' }, get: (s) => s.kind, want: SpanKind.Consumer },
  { rule: 'absent kind is Unspecified', span: {}, get: (s) => s.kind, want: SpanKind.Unspecified },
  { rule: 'shared is dropped on a CLIENT span', span: { kind: 'CLIENT', shared: true }, get: (s) => s.shared, want: false },
  { rule: 'shared is kept on a SERVER span', span: { kind: 'SERVER', shared: true }, get: (s) => s.shared, want: true },
  { rule: 'shared is kept without a kind', span: { shared: true }, get: (s) => s.shared, want: true },
  { rule: 'debug true is kept', span: { debug: true }, get: (s) => s.debug, want: true },
  { rule: 'debug and shared false are absent', span: { debug: false, shared: false }, get: (s) => [s.debug, s.shared], want: [false, false] },
  {
    rule: 'null optional fields are skipped',
    span: { parentId: null, kind: null, name: null, timestamp: null, duration: null, localEndpoint: null, remoteEndpoint: null, annotations: null, tags: null, debug: null, shared: null },
    get: (s) => [s.parentSpanId, s.kind, s.name, s.startTimeUnixNano, s.localEndpoint, s.events, s.attributes, s.debug],
    want: ['', SpanKind.Unspecified, '', 0n, undefined, [], {}, false],
  },
  {
    rule: 'unknown keys are ignored',
    span: { binaryAnnotations: [{ key: 'sa', value: true }], traceIdHigh: 'x', extra: { deep: [1, 2] } },
    get: (s) => [s.traceId, s.spanId, s.attributes],
    want: ['463ac35c9f6413ad', '48485a3953bb6124', {}],
  },
];

describe('decodeZipkinV2Json: normalization', () => {
  const bodyOf = (row: Normalization) => row.json ?? JSON.stringify({ ...MINIMAL, ...row.span });

  const rows = normalizations.map((row) => [row.rule, row] as const);

  it.each(rows)('%s', (_rule, row) => {
    expect(row.get(decodeOne(bodyOf(row)))).toEqual(row.want);
  });

  it.each(rows)('is stable through encode: %s', (_rule, row) => {
    const once = decodeOne(bodyOf(row));
    expect(decodeOne(encodeZipkinV2Span(once))).toEqual(once);
  });

  it('tags in any order are sorted in time linear-ish in their number (the sender chooses the order)', () => {
    // Reverse order is insertion sort's worst case: quadratic, ~8 s for these 50,000 tags (a 700 kB
    // body, far below the receiver's 20 MiB limit), against ~0.1 s sorted in order.
    const n = 50_000;
    const names = Array.from({ length: n }, (_, k) => 'k' + String(k).padStart(6, '0'));
    const body = (keys: string[]) => JSON.stringify({ ...MINIMAL, tags: Object.fromEntries(keys.map((k) => [k, 'v'])) });
    const inOrder = body([...names.slice(1), names[0]]);
    const reversed = body([...names].reverse());
    let t = performance.now();
    decodeOne(inOrder);
    const inOrderMs = performance.now() - t;
    t = performance.now();
    const span = decodeOne(reversed);
    const reversedMs = performance.now() - t;
    expect(Object.keys(span.attributes)).toEqual(names);
    expect(reversedMs).toBeLessThan(Math.max(1500, 10 * inOrderMs));
  }, 60_000);
});

type DecodeErrorRow = { problem: string; body: string; message: string };

const span = (fields: string) => `[{"traceId":"463ac35c9f6413ad","id":"48485a3953bb6124",${fields}}]`;

const decodeErrors: DecodeErrorRow[] = [
  { problem: 'body is an object, not a list', body: '{"traceId":"a","id":"b"}', message: 'Expected a JSON array of spans' },
  { problem: 'list element is not an object', body: '[null]', message: 'span[0]: Expected BEGIN_OBJECT but was NULL' },
  { problem: 'the index of the offending span is named', body: `[${JSON.stringify(MINIMAL)},${JSON.stringify(MINIMAL)},{"traceId":"X","id":"1"}]`, message: 'span[2].traceId: X should be lower-hex encoded with no prefix' },
  { problem: 'traceId missing', body: '[{"id":"1"}]', message: 'span[0]: Missing traceId' },
  { problem: 'id missing', body: '[{"traceId":"1"}]', message: 'span[0]: Missing id' },
  { problem: 'traceId null', body: '[{"traceId":null,"id":"1"}]', message: 'span[0].traceId: Expected a string but was NULL' },
  { problem: 'id null', body: '[{"traceId":"1","id":null}]', message: 'span[0].id: Expected a string but was NULL' },
  { problem: 'traceId upper-case', body: '[{"traceId":"48485A3953BB6124","id":"1"}]', message: 'span[0].traceId: 48485A3953BB6124 should be lower-hex encoded with no prefix' },
  { problem: 'traceId with 0x prefix', body: '[{"traceId":"0x48485a3953bb6124","id":"1"}]', message: 'span[0].traceId: 0x48485a3953bb6124 should be lower-hex encoded with no prefix' },
  { problem: 'traceId empty', body: '[{"traceId":"","id":"1"}]', message: 'span[0].traceId: traceId is empty' },
  { problem: 'traceId longer than 32', body: `[{"traceId":"${'a'.repeat(33)}","id":"1"}]`, message: 'span[0].traceId: traceId.length > 32' },
  { problem: 'traceId all zeros', body: '[{"traceId":"00000000000000000000000000000000","id":"1"}]', message: 'span[0].traceId: traceId is all zeros' },
  { problem: 'traceId a boolean', body: '[{"traceId":true,"id":"1"}]', message: 'span[0].traceId: Expected a string but was BOOLEAN' },
  { problem: 'traceId an object', body: '[{"traceId":{},"id":"1"}]', message: 'span[0].traceId: Expected a string but was BEGIN_OBJECT' },
  { problem: 'id empty', body: '[{"traceId":"1","id":""}]', message: 'span[0].id: id is empty' },
  { problem: 'id longer than 16', body: '[{"traceId":"1","id":"48485a3953bb61240"}]', message: 'span[0].id: id.length > 16' },
  { problem: 'id upper-case', body: '[{"traceId":"1","id":"ABC"}]', message: 'span[0].id: ABC should be lower-hex encoded with no prefix' },
  { problem: 'id with a trailing line feed', body: '[{"traceId":"1","id":"a\\n"}]', message: 'span[0].id: a\n should be lower-hex encoded with no prefix' },
  { problem: 'id all zeros', body: '[{"traceId":"1","id":"0000000000000000"}]', message: 'span[0].id: id is all zeros' },
  { problem: 'short id all zeros', body: '[{"traceId":"1","id":"0"}]', message: 'span[0].id: id is all zeros' },
  { problem: 'parentId empty', body: span('"parentId":""'), message: 'span[0].parentId: parentId is empty' },
  { problem: 'parentId longer than 16', body: span('"parentId":"48485a3953bb61240"'), message: 'span[0].parentId: parentId.length > 16' },
  { problem: 'parentId not hex', body: span('"parentId":"-1"'), message: 'span[0].parentId: -1 should be lower-hex encoded with no prefix' },
  { problem: 'kind not upper-case', body: span('"kind":"client"'), message: 'span[0].kind: No enum constant Span.Kind.client (expected CLIENT, SERVER, PRODUCER or CONSUMER)' },
  { problem: 'kind a number', body: span('"kind":1'), message: 'span[0].kind: No enum constant Span.Kind.1 (expected CLIENT, SERVER, PRODUCER or CONSUMER)' },
  { problem: 'kind an OTel name', body: span('"kind":"INTERNAL"'), message: 'span[0].kind: No enum constant Span.Kind.INTERNAL (expected CLIENT, SERVER, PRODUCER or CONSUMER)' },
  { problem: 'name an array', body: span('"name":["get"]'), message: 'span[0].name: Expected a string but was BEGIN_ARRAY' },
  { problem: 'timestamp not a number', body: span('"timestamp":"soon"'), message: 'span[0].timestamp: Expected a long but was soon' },
  { problem: 'timestamp a boolean', body: span('"timestamp":true'), message: 'span[0].timestamp: Expected a long but was BOOLEAN' },
  { problem: 'timestamp beyond 64 bits', body: span('"timestamp":9223372036854775808'), message: 'span[0].timestamp: Expected a long but was 9223372036854775808' },
  { problem: 'duration an object', body: span('"duration":{}'), message: 'span[0].duration: Expected a long but was BEGIN_OBJECT' },
  { problem: 'port above 65535', body: span('"localEndpoint":{"port":65536}'), message: 'span[0].localEndpoint.port: invalid port 65536' },
  { problem: 'port a fraction', body: span('"remoteEndpoint":{"port":80.5}'), message: 'span[0].remoteEndpoint.port: Expected an int but was 80.5' },
  { problem: 'port beyond 32 bits', body: span('"remoteEndpoint":{"port":4294967296}'), message: 'span[0].remoteEndpoint.port: Expected an int but was 4294967296' },
  { problem: 'port not a number', body: span('"remoteEndpoint":{"port":"http"}'), message: 'span[0].remoteEndpoint.port: Expected an int but was http' },
  { problem: 'endpoint not an object', body: span('"remoteEndpoint":"db"'), message: 'span[0].remoteEndpoint: Expected BEGIN_OBJECT but was STRING' },
  { problem: 'serviceName a boolean', body: span('"localEndpoint":{"serviceName":false}'), message: 'span[0].localEndpoint.serviceName: Expected a string but was BOOLEAN' },
  { problem: 'ipv4 an object', body: span('"localEndpoint":{"ipv4":{}}'), message: 'span[0].localEndpoint.ipv4: Expected a string but was BEGIN_OBJECT' },
  { problem: 'annotations not a list', body: span('"annotations":{}'), message: 'span[0].annotations: Expected BEGIN_ARRAY but was BEGIN_OBJECT' },
  { problem: 'annotation not an object', body: span('"annotations":[{"timestamp":1,"value":"a"},"b"]'), message: 'span[0].annotations[1]: Expected BEGIN_OBJECT but was STRING' },
  { problem: 'annotation without value', body: span('"annotations":[{"timestamp":1}]'), message: 'span[0].annotations[0]: Incomplete annotation' },
  { problem: 'annotation without timestamp', body: span('"annotations":[{"value":"a"}]'), message: 'span[0].annotations[0]: Incomplete annotation' },
  { problem: 'annotation value null', body: span('"annotations":[{"timestamp":1,"value":null}]'), message: 'span[0].annotations[0].value: Expected a string but was NULL' },
  { problem: 'annotation timestamp null', body: span('"annotations":[{"timestamp":null,"value":"a"}]'), message: 'span[0].annotations[0].timestamp: Expected a long but was NULL' },
  { problem: 'tags a list', body: span('"tags":[]'), message: 'span[0].tags: Expected BEGIN_OBJECT but was BEGIN_ARRAY' },
  { problem: 'tag value null', body: span('"tags":{"foo":null}'), message: 'span[0].tags.foo: No value' },
  { problem: 'tag value a boolean', body: span('"tags":{"error":true}'), message: 'span[0].tags.error: Expected a string but was BOOLEAN' },
  { problem: 'tag value an object', body: span('"tags":{"k":{"v":1}}'), message: 'span[0].tags.k: Expected a string but was BEGIN_OBJECT' },
  { problem: 'debug a string', body: span('"debug":"true"'), message: 'span[0].debug: Expected a boolean but was STRING' },
  { problem: 'shared a number', body: span('"shared":1'), message: 'span[0].shared: Expected a boolean but was NUMBER' },
  // Zipkin's long microseconds reach past what 64-bit nanoseconds hold (the year 2554).
  { problem: 'timestamp after 2554', body: span('"timestamp":18446744073709552'), message: 'span 48485a3953bb6124: timestamp + duration is after the year 2554 (2^64 ns since 1970)' },
  { problem: 'timestamp + duration after 2554', body: span('"timestamp":18446744073709000,"duration":1000'), message: 'span 48485a3953bb6124: timestamp + duration is after the year 2554 (2^64 ns since 1970)' },
  { problem: 'annotation after 2554', body: span('"timestamp":1,"annotations":[{"timestamp":9223372036854775807,"value":"ws"}]'), message: 'span 48485a3953bb6124: annotation "ws" is after the year 2554 (2^64 ns since 1970)' },
];

describe('decodeZipkinV2Json: errors', () => {
  it.each(decodeErrors.map((row) => [row.problem, row] as const))('%s', (_problem, { body, message }) => {
    expect(decodeError(body).message).toBe(message);
  });

  it('malformed JSON names the parse problem', () => {
    expect(decodeError('hello').message).toMatch(/^Malformed reading List<Span> from json: Unexpected token/);
    expect(decodeError('[{"traceId":"a","id":"b"}').message).toMatch(/^Malformed reading List<Span> from json: /);
  });

  it('an unknown field nested deeper than the stack allows is refused, not a crash', () => {
    const n = 100_000;
    // The number above 2^53 makes the decoder re-read the text with its own (recursive) parser.
    const body = `[{"traceId":"a","id":"b","timestamp":9007199254740993,"x":${'['.repeat(n)}${']'.repeat(n)}}]`;
    expect(decodeError(body).message).toBe('Malformed reading List<Span> from json: JSON nested too deeply');
  });
});

describe('decodeZipkinV2JsonRefusingV1', () => {
  it('refuses a span with a binaryAnnotations key, even null, as Zipkin refuses v1 on the v2 route', () => {
    for (const value of ['[]', 'null']) {
      const body = `[{"traceId":"a","id":"b"},{"traceId":"a","id":"c","binaryAnnotations":${value}}]`;
      expect(decodeZipkinV2Json(body)).toHaveLength(2);
      expect(() => decodeZipkinV2JsonRefusingV1(body)).toThrow(new ZipkinDecodeError('Expected a JSON_V2 encoded list, but received: JSON_V1'));
    }
  });

  it('decodes anything else as decodeZipkinV2Json does', () => {
    const body = fixture('checkout-trace.json');
    expect(decodeZipkinV2JsonRefusingV1(body)).toEqual(decodeZipkinV2Json(body));
  });
});

describe('normalizeIp (zipkin2.Endpoint parseIp)', () => {
  it.each([
    ['192.168.99.101', '192.168.99.101'],
    ['01.02.003.4', '01.02.003.4'],
    ['256.1.1.1', ''],
    ['255.255.255.255', '255.255.255.255'],
    ['0.0.0.0', '0.0.0.0'],
    ['1.2.3.0255', ''],
    ['1..2.3', ''],
    ['.1.2.3', ''],
    ['1.2.3.', ''],
    ['1.2.3.260', ''],
    ['1.2.3', ''],
    ['1.2.3.4.5', ''],
    ['::ffff:192.168.1.1', '192.168.1.1'],
    ['::FFFF:192.168.1.1', '192.168.1.1'],
    ['::1.2.3.4', '1.2.3.4'],
    ['::ffff:c0a8:101', '::ffff:c0a8:101'],
    ['2001:DB8:0:0:0:0:0:1', '2001:db8::1'],
    ['2001:db8::c001', '2001:db8::c001'],
    ['2001:db8::', '2001:db8::'],
    ['0:0:0:0:0:0:0:0', '::'],
    ['0:0:0:0:0:0:0:1', '::1'],
    ['2001:0:0:4:0:0:0:8', '2001:0:0:4::8'],
    ['2001:db8:0:1:1:1:1:1', '2001:db8::1:1:1:1:1'],
    // Zipkin compresses a trailing run only when no run ended before it.
    ['2001:0:0:4:0:0:0:0', '2001::4:0:0:0:0'],
    ['fe80::1%eth0', ''],
    ['localhost', ''],
    ['1:2:3:4:5:6:7:8:9', ''],
    ['1::2::3', ''],
    ['12345::1', ''],
    [':1:2:3:4:5:6:7', ''],
    ['', ''],
  ])('%j → %j', (input, want) => {
    expect(normalizeIp(input)).toBe(want);
  });
});

describe('encodeZipkinV2Span: spans from other sources', () => {
  it('writes Zipkin fields from the model (mapping details: zipkin-mapping.test.ts)', () => {
    const s = new Span(newResource({ 'service.name': 'cart', 'k8s.pod.name': 'cart-1' }), { zeta: 'z', 10: 1n, 9: true, alpha: [1n, 'x'] }, [
      { timeUnixNano: 1700000000000000700n, name: 'flush', attributes: { bytes: 10n }, droppedAttributesCount: 0 },
    ]);
    s.traceId = '0000000000000000463ac35c9f6413ad';
    s.spanId = '48485a3953bb6124';
    s.parentSpanId = '5b4185666d50f68b';
    s.kind = SpanKind.Internal;
    s.name = 'Encode';
    s.startTimeUnixNano = 1700000000000000500n;
    s.endTimeUnixNano = 1700000000000000900n;
    s.status = { code: StatusCode.Error, message: 'boom' };
    s.localEndpoint = { serviceName: 'ignored: the resource names the local service', ipv4: '', ipv6: '', port: 8080 };
    s.remoteEndpoint = { serviceName: '', ipv4: '', ipv6: '', port: 0 };
    expect(encodeZipkinV2Span(s)).toBe(
      '{"traceId":"463ac35c9f6413ad","parentId":"5b4185666d50f68b","id":"48485a3953bb6124","name":"Encode",' +
        '"timestamp":1700000000000000,"duration":1,"localEndpoint":{"serviceName":"cart","port":8080},' +
        '"annotations":[{"timestamp":1700000000000000,"value":"\\"flush\\":{\\"bytes\\":10}"}],' +
        '"tags":{"10":"1","9":"true","alpha":"[1,\\"x\\"]","error":"boom","k8s.pod.name":"cart-1","otel.status_code":"ERROR","zeta":"z"}}',
    );
  });

  it('writes no timestamp or duration when both are absent, and no endpoints when empty', () => {
    const s = new Span(newResource());
    s.traceId = '463ac35c9f6413ad';
    s.spanId = '48485a3953bb6124';
    s.localEndpoint = { serviceName: '', ipv4: '', ipv6: '', port: 0 };
    expect(encodeZipkinV2Span(s)).toBe('{"traceId":"463ac35c9f6413ad","id":"48485a3953bb6124"}');
  });

  it('keeps a duration without a timestamp', () => {
    const [s] = decodeZipkinV2Json('[{"traceId":"463ac35c9f6413ad","id":"48485a3953bb6124","duration":207000}]');
    expect(encodeZipkinV2Span(s)).toBe('{"traceId":"463ac35c9f6413ad","id":"48485a3953bb6124","duration":207000}');
  });

  it('encodes a list', () => {
    const s = new Span(newResource());
    s.traceId = '463ac35c9f6413ad';
    s.spanId = '48485a3953bb6124';
    expect(encodeZipkinV2Json([])).toBe('[]');
    expect(encodeZipkinV2Json([s, s])).toBe('[{"traceId":"463ac35c9f6413ad","id":"48485a3953bb6124"},{"traceId":"463ac35c9f6413ad","id":"48485a3953bb6124"}]');
  });
});

describe('tagText', () => {
  const bytes = new Uint8Array([0xde, 0xad, 0xbe, 0xef]);
  it.each<[string, AnyValue, string]>([
    ['string as is', 'text', 'text'],
    ['boolean true', true, 'true'],
    ['boolean false', false, 'false'],
    ['int64 as decimal', -9223372036854775808n, '-9223372036854775808'],
    ['double as JSON number text', 1.5, '1.5'],
    ['large double', 1e21, '1e+21'],
    ['NaN', NaN, 'NaN'],
    ['empty value as empty string', null, ''],
    ['bytes as base64', bytes, '3q2+7w=='],
    ['array as JSON', ['a', 1n, 2.5, true, null, bytes, [Infinity]], '["a",1,2.5,true,null,"3q2+7w==",["Infinity"]]'],
    ['map as JSON', { k: 'v', n: { m: 1n } }, '{"k":"v","n":{"m":1}}'],
  ])('%s', (_title, value, want) => {
    expect(tagText(value)).toBe(want);
  });
});
