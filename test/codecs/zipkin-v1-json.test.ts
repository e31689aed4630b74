/**
 * The v1 JSON reader (zipkin-v1-json.ts): Zipkin's JSON_V1 literals (SpanBytesEncoderTest) decode to
 * its JSON_V2 literals; spans written by a real client (zipkin-js 0.22's JSON_V1 encoder) decode field
 * by field; reader rules and errors as Zipkin's V1JsonSpanReader has them (V1SpanBytesDecoderTest).
 * Conversion rules are in zipkin-v1.test.ts.
 */
import { readFileSync } from 'node:fs';
import { jsonEncoder, model, option, TraceId } from 'zipkin';
import { describe, expect, it } from 'vitest';
import { decodeZipkinV2Json, encodeZipkinV2Span } from '../../src/codecs/zipkin-json.js';
import { ZipkinDecodeError } from '../../src/codecs/zipkin-normalize.js';
import { decodeZipkinV1Json, decodeZipkinV1JsonTree, decodeZipkinV1JsonUnlessV2, readsPlainV1Json } from '../../src/codecs/zipkin-v1-json.js';
import { SpanKind, type Span } from '../../src/model/span.js';

const lines = (path: string) => readFileSync(new URL(`../fixtures/${path}`, import.meta.url), 'utf8').trimEnd().split('\n');

function decodeOne(v1: Record<string, unknown>): Span {
  const spans = decodeZipkinV1Json(JSON.stringify([v1]));
  expect(spans).toHaveLength(1);
  return spans[0];
}

function decodeError(body: string): string {
  try {
    decodeZipkinV1Json(body);
  } catch (e) {
    expect(e).toBeInstanceOf(ZipkinDecodeError);
    return (e as Error).message;
  }
  throw new Error(`decoded without error: ${body}`);
}

describe("decodeZipkinV1Json: Zipkin's JSON_V1 literals are its JSON_V2 literals", () => {
  const v1 = lines('zipkin-v1/zipkin-span-bytes-encoder-test.v1.jsonl');
  const v2 = lines('zipkin-v2/zipkin-span-bytes-encoder-test.jsonl');
  // SpanBytesEncoderTest writes the same spans in both versions; errorSpan has no JSON_V1 literal.
  const pairs: [string, string, string][] = [
    ['span', v1[0], v2[0]],
    ['localSpan', v1[1], v2[1]],
    ['span_64bitTraceId', v1[2], v2[3]],
    ['span_shared', v1[3], v2[4]],
    ['specialCharsInJson', v1[4], v2[5]],
    ['span_minimum', v1[5], v2[6]],
    ['span_noLocalServiceName', v1[6], v2[7]],
    ['span_noRemoteServiceName', v1[7], v2[8]],
    ['noAnnotations_rootServerSpan', v1[8], v2[9]],
    ['noAnnotations_rootServerSpan_incomplete', v1[9], v2[10]],
    ['noAnnotations_rootServerSpan_shared', v1[10], v2[11]],
  ];
  it.each(pairs)('%s', (_name, v1Literal, v2Literal) => {
    const spans = decodeZipkinV1Json(`[${v1Literal}]`);
    expect(spans).toEqual(decodeZipkinV2Json(`[${v2Literal}]`));
    expect(encodeZipkinV2Span(spans[0])).toBe(v2Literal);
  });

  it('a list of them, as one request', () => {
    expect(decodeZipkinV1Json(`[${pairs.map((p) => p[1]).join(',')}]`)).toEqual(decodeZipkinV2Json(`[${pairs.map((p) => p[2]).join(',')}]`));
  });
});

describe('decodeZipkinV1Json: spans written by zipkin-js (JSON_V1)', () => {
  const frontend = () => new model.Endpoint({ serviceName: 'Frontend', ipv4: '172.17.0.13', port: 8080 });
  const backend = () => new model.Endpoint({ serviceName: 'backend', ipv4: '192.168.99.101', port: 9000 });

  function zipkinJsSpan(kind: string | undefined, opts: { shared?: boolean; debug?: boolean; remote?: boolean } = {}): model.Span {
    const id = new TraceId({
      traceId: '463ac35c9f6413ad48485a3953bb6124',
      parentId: new option.Some('5b4185666d50f68b'),
      spanId: 'e457b5a2e4d86bd1',
      sampled: new option.Some(true),
      debug: opts.debug ?? false,
      shared: opts.shared ?? false,
    });
    const s = new model.Span(id);
    s.setName('POST /api/Cart');
    if (kind !== undefined) s.setKind(kind);
    s.setTimestamp(1700000000150000);
    s.setDuration(200000);
    s.setLocalEndpoint(frontend());
    if (opts.remote !== false) s.setRemoteEndpoint(backend());
    s.addAnnotation(1700000000151000, 'ws');
    s.addAnnotation(1700000000349000, 'retry');
    s.putTag('http.path', '/api/cart');
    s.putTag('error', 'timeout');
    return s;
  }

  const decodeV1 = (s: model.Span) => decodeOne(JSON.parse(jsonEncoder.JSON_V1.encode(s)));
  const decodeV2 = (s: model.Span) => decodeZipkinV2Json(`[${jsonEncoder.JSON_V2.encode(s)}]`)[0];

  it('a client span, field by field', () => {
    const s = decodeV1(zipkinJsSpan('CLIENT'));
    expect(s.traceId).toBe('463ac35c9f6413ad48485a3953bb6124');
    expect(s.parentSpanId).toBe('5b4185666d50f68b');
    expect(s.spanId).toBe('e457b5a2e4d86bd1');
    expect(s.name).toBe('post /api/cart');
    expect(s.kind).toBe(SpanKind.Client);
    expect(s.startTimeUnixNano).toBe(1700000000150000000n);
    expect(s.endTimeUnixNano).toBe(1700000000350000000n);
    expect(s.resource.attributes).toEqual({ 'service.name': 'frontend' });
    expect(s.localEndpoint).toEqual({ serviceName: '', ipv4: '172.17.0.13', ipv6: '', port: 8080 });
    expect(s.remoteEndpoint).toEqual({ serviceName: 'backend', ipv4: '192.168.99.101', ipv6: '', port: 9000 });
    // "ws" is a core annotation only with messaging kinds; here it stays an annotation.
    expect(s.events.map((e) => [e.timeUnixNano, e.name])).toEqual([
      [1700000000151000000n, 'ws'],
      [1700000000349000000n, 'retry'],
    ]);
    expect(s.attributes).toEqual({ error: 'timeout', 'http.path': '/api/cart' });
    expect(s.status).toEqual({ code: 2, message: 'timeout' });
    expect([s.shared, s.debug]).toEqual([false, false]);
  });

  it('a shared server span: v1 leaves the timestamp out, and sr/ss give it back', () => {
    const s = decodeV1(zipkinJsSpan('SERVER', { shared: true }));
    expect([s.kind, s.shared, s.startTimeUnixNano, s.endTimeUnixNano]).toEqual([SpanKind.Server, true, 1700000000150000000n, 1700000000350000000n]);
    expect(s.remoteEndpoint?.serviceName).toBe('backend');
  });

  it('a debug span', () => {
    expect(decodeV1(zipkinJsSpan('CLIENT', { debug: true })).debug).toBe(true);
  });

  // What zipkin-js writes as v1 decodes to what it writes as v2, except where v1 cannot say it.
  it.each([
    ['CLIENT', {}],
    ['SERVER', {}],
    ['SERVER', { shared: true }],
    ['PRODUCER', {}],
    ['CONSUMER', {}],
    ['CLIENT', { debug: true }],
    ['SERVER', { remote: false }],
  ] as [string, { shared?: boolean; debug?: boolean; remote?: boolean }][])('%s %j: v1 and v2 from the same client decode alike', (kind, opts) => {
    const span = zipkinJsSpan(kind, opts);
    const v1 = decodeV1(span);
    const v2 = decodeV2(span);
    if (kind === 'PRODUCER' || kind === 'CONSUMER') {
      // The v1 encoder turns the span's timing into ms/ws or wr/mr annotations: a "ws" annotation that
      // was data becomes timing on a producer span, so those spans differ in their annotations only.
      expect({ ...v1, events: [] }).toEqual({ ...v2, events: [] });
    } else {
      expect(v1).toEqual(v2);
    }
  });

  it('a span without kind: v1 has no place for the local endpoint of a span without annotations or tags', () => {
    const id = new TraceId({ traceId: '463ac35c9f6413ad', spanId: 'e457b5a2e4d86bd1', sampled: new option.Some(true) });
    const span = new model.Span(id);
    span.setName('tick');
    span.setTimestamp(1700000000150000);
    span.setDuration(5);
    span.setLocalEndpoint(frontend());
    const s = decodeOne(JSON.parse(jsonEncoder.JSON_V1.encode(span)));
    expect([s.name, s.kind, s.startTimeUnixNano, s.endTimeUnixNano]).toEqual(['tick', SpanKind.Unspecified, 1700000000150000000n, 1700000000150005000n]);
    expect(s.resource.attributes).toEqual({});
  });
});

type Rule = { rule: string; v1: Record<string, unknown>; get: (s: Span) => unknown; want: unknown };

const ID = { traceId: '463ac35c9f6413ad', id: '48485a3953bb6124' };

const rules: Rule[] = [
  { rule: 'a 32-char trace id is 128-bit (readsTraceIdHighFromTraceIdField)', v1: { ...ID, traceId: '48485a3953bb61246b221d5bc9e6496c' }, get: (s) => s.traceId, want: '48485a3953bb61246b221d5bc9e6496c' },
  { rule: 'a 32-char trace id with a zero high half is 64-bit', v1: { ...ID, traceId: '00000000000000006b221d5bc9e6496c' }, get: (s) => s.traceId, want: '6b221d5bc9e6496c' },
  { rule: 'a short trace id is left-padded', v1: { ...ID, traceId: 'a' }, get: (s) => s.traceId, want: '000000000000000a' },
  { rule: 'a 17-31 char trace id keeps only its low 64 bits (as Zipkin v1 reads it)', v1: { ...ID, traceId: 'zz463ac35c9f6413ad' }, get: (s) => s.traceId, want: '463ac35c9f6413ad' },
  { rule: 'a span id longer than 16 keeps its low 64 bits', v1: { ...ID, id: 'ffff48485a3953bb6124' }, get: (s) => s.spanId, want: '48485a3953bb6124' },
  { rule: 'a number as id is read as its text (Gson nextString)', v1: { ...ID, id: 123 }, get: (s) => s.spanId, want: '0000000000000123' },
  { rule: 'a zero parent id is a root', v1: { ...ID, parentId: '0' }, get: (s) => s.parentSpanId, want: '' },
  {
    rule: 'null fields are skipped (ignoresNull_topLevelFields)',
    v1: { ...ID, parentId: null, name: null, timestamp: null, duration: null, annotations: null, binaryAnnotations: null, debug: null, shared: null },
    get: (s) => [s.parentSpanId, s.name, s.startTimeUnixNano, s.events, s.attributes, s.debug],
    want: ['', '', 0n, [], {}, false],
  },
  {
    rule: 'an endpoint with null fields keeps the others (ignoresNull_endpoint_topLevelFields)',
    v1: { ...ID, binaryAnnotations: [{ key: 'lc', value: '', endpoint: { serviceName: null, ipv4: '127.0.0.1', ipv6: null, port: null } }] },
    get: (s) => [s.localEndpoint, s.resource.attributes],
    want: [{ serviceName: '', ipv4: '127.0.0.1', ipv6: '', port: 0 }, {}],
  },
  {
    rule: 'an all-null endpoint is no endpoint (skipsIncompleteEndpoint)',
    v1: { ...ID, binaryAnnotations: [{ key: 'lc', value: '', endpoint: { serviceName: null, ipv4: null, ipv6: null, port: null } }] },
    get: (s) => s.localEndpoint,
    want: undefined,
  },
  { rule: 'an empty endpoint {} is no endpoint', v1: { ...ID, binaryAnnotations: [{ key: 'lc', value: '', endpoint: {} }] }, get: (s) => s.localEndpoint, want: undefined },
  {
    rule: 'a boolean binary annotation other than an address is ignored (ignoresNonAddressBooleanBinaryAnnotations)',
    v1: { ...ID, binaryAnnotations: [{ key: 'aa', value: true, endpoint: { serviceName: 'foo' } }] },
    get: (s) => [s.attributes, s.localEndpoint, s.remoteEndpoint, s.resource.attributes],
    want: [{}, undefined, undefined, {}],
  },
  { rule: 'a number binary annotation is ignored', v1: { ...ID, binaryAnnotations: [{ key: 'count', value: 3 }] }, get: (s) => s.attributes, want: {} },
  { rule: 'an address without endpoint is ignored', v1: { ...ID, binaryAnnotations: [{ key: 'sa', value: true }] }, get: (s) => s.remoteEndpoint, want: undefined },
  { rule: 'an address with value false is ignored', v1: { ...ID, binaryAnnotations: [{ key: 'sa', value: false, endpoint: { serviceName: 'db' } }] }, get: (s) => s.remoteEndpoint, want: undefined },
  { rule: 'a type field on a binary annotation is ignored', v1: { ...ID, binaryAnnotations: [{ key: 'k', value: 'v', type: 'STRING' }] }, get: (s) => s.attributes, want: { k: 'v' } },
  { rule: 'v2 fields in a v1 span are unknown keys (readSpan_localEndpoint_noServiceName)', v1: { ...ID, localEndpoint: { serviceName: 'x' }, kind: 'CLIENT' }, get: (s) => [s.resource.attributes, s.kind], want: [{}, SpanKind.Unspecified] },
  { rule: 'annotation timestamps of 0 are kept (v1 JSON; Thrift drops them)', v1: { ...ID, annotations: [{ timestamp: 0, value: 'a' }] }, get: (s) => s.events.map((e) => e.timeUnixNano), want: [0n] },
  { rule: 'a null annotation endpoint is skipped', v1: { ...ID, annotations: [{ timestamp: 1, value: 'a', endpoint: null }] }, get: (s) => s.localEndpoint, want: undefined },
  { rule: 'timestamps as strings are read as Gson does', v1: { ...ID, timestamp: '1472470996199000', duration: '5' }, get: (s) => [s.startTimeUnixNano, s.endTimeUnixNano], want: [1472470996199000000n, 1472470996199005000n] },
];

describe('decodeZipkinV1Json: reader rules', () => {
  it.each(rules.map((r) => [r.rule, r] as const))('%s', (_rule, r) => {
    expect(r.get(decodeOne(r.v1))).toEqual(r.want);
  });

  it('a timestamp above 2^53 keeps every digit', () => {
    const [s] = decodeZipkinV1Json('[{"traceId":"a","id":"b","timestamp":9007199254740993}]');
    expect(s.startTimeUnixNano).toBe(9007199254740993000n);
  });

  it('an empty body or list is an empty list', () => {
    expect(decodeZipkinV1Json('')).toEqual([]);
    expect(decodeZipkinV1Json('[]')).toEqual([]);
    expect(decodeZipkinV1Json(Buffer.from('[]'))).toEqual([]);
  });
});

const span = (fields: string) => `[{"traceId":"463ac35c9f6413ad","id":"48485a3953bb6124",${fields}}]`;

const errors: [string, string, string][] = [
  ['body is an object, not a list', '{"traceId":"a","id":"b"}', 'Expected a JSON array of spans'],
  ['list element is not an object', '[null]', 'span[0]: Expected BEGIN_OBJECT but was NULL'],
  ['traceId null (niceErrorOnNull_traceId)', '[{"traceId":null,"id":"1"}]', 'span[0].traceId: Expected a string but was NULL'],
  ['id null (niceErrorOnNull_id)', '[{"traceId":"1","id":null}]', 'span[0].id: Expected a string but was NULL'],
  ['traceId upper-case', '[{"traceId":"48485A3953BB6124","id":"1"}]', 'span[0].traceId: 48485A3953BB6124 should be a 1 to 32 character lower-hex string with no prefix'],
  ['traceId longer than 32', `[{"traceId":"${'a'.repeat(33)}","id":"1"}]`, `span[0].traceId: ${'a'.repeat(33)} should be a 1 to 32 character lower-hex string with no prefix`],
  ['traceId empty', '[{"traceId":"","id":"1"}]', 'span[0].traceId:  should be a 1 to 32 character lower-hex string with no prefix'],
  ['128-bit traceId with a bad high half', '[{"traceId":"X8485a3953bb61246b221d5bc9e6496c","id":"1"}]', 'span[0].traceId: X8485a3953bb61246b221d5bc9e6496c should be a 1 to 32 character lower-hex string with no prefix'],
  ['id not hex', '[{"traceId":"1","id":"0x1"}]', 'span[0].id: 0x1 should be a 1 to 32 character lower-hex string with no prefix'],
  ['parentId not hex', span('"parentId":"-1"'), 'span[0].parentId: -1 should be a 1 to 32 character lower-hex string with no prefix'],
  ['traceId missing', '[{"id":"1"}]', 'span[0]: traceId == 0'],
  ['traceId all zeros', '[{"traceId":"0","id":"1"}]', 'span[0]: traceId == 0'],
  ['128-bit traceId with a zero low half', '[{"traceId":"48485a3953bb61240000000000000000","id":"1"}]', 'span[0]: traceId == 0'],
  ['id missing', '[{"traceId":"1"}]', 'span[0]: id == 0'],
  ['the index of the offending span is named', `[${span('"name":"a"').slice(1, -1)},{"traceId":"1"}]`, 'span[1]: id == 0'],
  ['annotation without value (niceErrorOnIncomplete_annotation)', span('"annotations":[{"timestamp":1472470996199000}]'), 'span[0].annotations[0]: Incomplete annotation'],
  ['annotation without timestamp', span('"annotations":[{"value":"a"}]'), 'span[0].annotations[0]: Incomplete annotation'],
  ['annotation value null (niceErrorOnNull_annotationValue)', span('"annotations":[{"timestamp":1,"value":null}]'), 'span[0].annotations[0].value: Expected a string but was NULL'],
  ['annotation timestamp null (niceErrorOnNull_annotationTimestamp)', span('"annotations":[{"timestamp":null,"value":"a"}]'), 'span[0].annotations[0].timestamp: Expected a long but was NULL'],
  ['annotations not a list', span('"annotations":{}'), 'span[0].annotations: Expected BEGIN_ARRAY but was BEGIN_OBJECT'],
  ['binary annotation without key', span('"binaryAnnotations":[{"value":"v"}]'), 'span[0].binaryAnnotations[0]: No key'],
  ['binaryAnnotations not a list', span('"binaryAnnotations":"x"'), 'span[0].binaryAnnotations: Expected BEGIN_ARRAY but was STRING'],
  ['endpoint not an object', span('"annotations":[{"timestamp":1,"value":"a","endpoint":"db"}]'), 'span[0].annotations[0].endpoint: Expected BEGIN_OBJECT but was STRING'],
  ['endpoint port above 65535', span('"binaryAnnotations":[{"key":"sa","value":true,"endpoint":{"port":65536}}]'), 'span[0].binaryAnnotations[0].endpoint.port: invalid port 65536'],
  ['timestamp not a number', span('"timestamp":"soon"'), 'span[0].timestamp: Expected a long but was soon'],
  ['debug a string', span('"debug":"true"'), 'span[0].debug: Expected a boolean but was STRING'],
];

describe('decodeZipkinV1Json: errors', () => {
  it.each(errors)('%s', (_problem, body, message) => {
    expect(decodeError(body)).toBe(message);
  });

  it('malformed JSON names the parse problem (niceErrorOnMalformed_inputSpans_JSON_V1)', () => {
    expect(decodeError('hello')).toMatch(/^Malformed reading List<Span> from json: /);
  });
});

/**
 * The direct reader (V1JsonScanner) against the reference, `JSON.parse` and the tree reader: every body
 * gets the same answer, spans or error, from both, and the same v2 marker verdict as Zipkin's text
 * search. Bodies: what zipkin-js writes, the edge cases of each value, and seeded mutations of both
 * (truncations, and bytes changed, inserted or removed at random).
 */
describe('decodeZipkinV1Json: the direct reader answers as JSON.parse and the tree reader', () => {
  const endpoint = (serviceName: string, ipv4: string, port: number) => new model.Endpoint({ serviceName, ipv4, port });
  function zipkinJsBody(seed: number, count: number): string {
    let x = seed;
    const r = () => ((x = (Math.imul(x, 1103515245) + 12345) >>> 0) / 2 ** 32);
    const kinds = ['CLIENT', 'SERVER', 'PRODUCER', 'CONSUMER', undefined];
    const services = ['Frontend', 'backend', 'db', 'kafka', 'auth-service'];
    const out: string[] = [];
    for (let k = 0; k < count; k++) {
      const id = new TraceId({
        traceId: (r() < 0.6 ? '463ac35c9f6413ad' : '') + (0x1000000 + k).toString(16).padStart(16, '0'),
        parentId: r() < 0.7 ? new option.Some('5b4185666d50f68b') : option.None,
        spanId: (0x2000000 + k).toString(16).padStart(16, '0'),
        sampled: new option.Some(true),
        debug: r() < 0.1,
        shared: r() < 0.2,
      });
      const s = new model.Span(id);
      s.setName(r() < 0.5 ? 'GET /api/v1/orders/{id}' : 'send');
      const kind = kinds[Math.floor(r() * kinds.length)];
      if (kind !== undefined) s.setKind(kind);
      s.setTimestamp(1700000000150000 + k * 1000);
      s.setDuration(Math.floor(r() * 200000));
      s.setLocalEndpoint(endpoint(services[Math.floor(r() * 5)], `10.0.${k % 7}.${1 + (k % 250)}`, 8080));
      // zipkin-js 0.22 writes the remote endpoint of a span that is not RPC as a binary annotation without key.
      if (r() < 0.7 && (kind === 'CLIENT' || kind === 'SERVER')) s.setRemoteEndpoint(endpoint(services[Math.floor(r() * 5)], `192.168.0.${k % 200}`, 9000 + (k % 3)));
      s.addAnnotation(1700000000151000 + k * 1000, r() < 0.5 ? 'ws' : 'wr');
      if (r() < 0.5) s.addAnnotation(1700000000160000 + k * 1000, 'retry');
      s.putTag('http.path', `/api/v1/orders/${k}`);
      s.putTag('http.method', 'GET');
      if (r() < 0.3) s.putTag('error', 'timeout');
      out.push(jsonEncoder.JSON_V1.encode(s));
    }
    return `[${out.join(',')}]`;
  }

  type Outcome = { spans: Span[] } | { error: string } | 'JSON_V2';
  function outcome(decode: () => Span[] | undefined): Outcome {
    try {
      const spans = decode();
      return spans === undefined ? 'JSON_V2' : { spans };
    } catch (e) {
      return { error: `${(e as Error).name}: ${(e as Error).message}` };
    }
  }
  /** Checks both entry points; whether the direct reader read the body. */
  function agree(text: string): boolean {
    const body = Buffer.from(text, 'utf8');
    expect(outcome(() => decodeZipkinV1Json(body)), text).toEqual(outcome(() => decodeZipkinV1JsonTree(body)));
    const v2 = body.includes('Endpoint"') || body.includes('"tags"');
    expect(outcome(() => decodeZipkinV1JsonUnlessV2(body)), text).toEqual(v2 ? 'JSON_V2' : outcome(() => decodeZipkinV1JsonTree(body)));
    return readsPlainV1Json(body);
  }

  const fixtures = lines('zipkin-v1/zipkin-span-bytes-encoder-test.v1.jsonl');
  const zipkinJs = zipkinJsBody(7, 40);

  it('reads what zipkin-js and Zipkin write itself, and decodes it alike', () => {
    expect(agree(zipkinJs)).toBe(true);
    // All but specialCharsInJson, whose escapes are left to JSON.parse.
    expect(fixtures.map((f) => agree(`[${f}]`))).toEqual(fixtures.map((_f, k) => k !== 4));
    agree(`[${fixtures.join(',')}]`);
    expect(agree(JSON.stringify(JSON.parse(zipkinJs), null, 2))).toBe(true);
    expect(decodeZipkinV1Json(zipkinJs)).toHaveLength(decodeZipkinV1JsonTree(zipkinJs).length);
  });

  const s = (fields: string) => `[{"traceId":"463ac35c9f6413ad","id":"48485a3953bb6124"${fields}}]`;
  const ep = '"endpoint":{"serviceName":"api","ipv4":"10.0.0.1","port":8080}';
  it.each([
    // values of every type in every place
    s(',"name":"GET","timestamp":1,"duration":2,"debug":true'),
    s(',"name":null,"parentId":null,"timestamp":null,"duration":null,"debug":null,"annotations":null,"binaryAnnotations":null'),
    s(',"timestamp":"1472470996199000","duration":"5"'),
    s(',"timestamp":1.5,"duration":2e3'),
    s(',"timestamp":-0,"duration":-5'),
    s(',"timestamp":9007199254740991'),
    s(',"timestamp":9007199254740993'),
    s(',"timestamp":01'),
    s(',"debug":"true"'),
    s(',"debug":false'),
    s(',"name":5'),
    s(',"parentId":"0"'),
    s(',"parentId":"48485a3953bb6124"'),
    '[{"traceId":"7180c278b62e8f6a216a2aea45d08fc9","id":"1"}]',
    '[{"traceId":"X180c278b62e8f6a216a2aea45d08fc9","id":"1"}]',
    '[{"traceId":"0000000000000000216a2aea45d08fc9","id":"1"}]',
    '[{"traceId":"7180c278b62e8f6a0000000000000000","id":"1"}]',
    '[{"traceId":"zz463ac35c9f6413ad","id":"ffff48485a3953bb6124"}]',
    '[{"traceId":null,"id":"1"}]',
    '[{"traceId":1,"id":2}]',
    '[{"id":"1"}]',
    '[{"traceId":"1"}]',
    '[{"traceId":"1","id":"1","traceId":"7180c278b62e8f6a216a2aea45d08fc9"}]',
    '[{"traceId":"7180c278b62e8f6a216a2aea45d08fc9","id":"1","traceId":"2"}]',
    s(',"annotations":[],"binaryAnnotations":[]'),
    s(`,"annotations":[{"timestamp":1,"value":"cs",${ep}},{"timestamp":3,"value":"cr",${ep}}]`),
    s(`,"annotations":[{"timestamp":1,"value":"sr",${ep}},{"timestamp":3,"value":"ss",${ep}}],"binaryAnnotations":[{"key":"ca","value":true,"endpoint":{"serviceName":"client","ipv6":"::1","port":1}}]`),
    s(`,"annotations":[{"timestamp":1,"value":"ms",${ep}},{"timestamp":3,"value":"mr","endpoint":{"serviceName":"api","ipv4":"10.0.0.2","port":8080}}]`),
    s(`,"annotations":[{"timestamp":1,"value":"cs",${ep}},{"timestamp":3,"value":"sr","endpoint":{"serviceName":"API","ipv4":"10.0.0.1","port":8080}}]`),
    s(`,"annotations":[{"timestamp":1,"value":"cs",${ep}},{"timestamp":3,"value":"sr","endpoint":{"serviceName":"api","ipv4":"10.0.0.1","port":8081}}]`),
    s(`,"annotations":[{"timestamp":1,"value":"a","endpoint":{}},{"timestamp":1,"value":"a","endpoint":null},{"timestamp":1,"value":"a"}]`),
    s(',"annotations":[{"timestamp":1}]'),
    s(',"annotations":[{"value":"a"}]'),
    s(',"annotations":[{"timestamp":null,"value":"a"}]'),
    s(',"annotations":[{"timestamp":1,"value":null}]'),
    s(',"annotations":[{"timestamp":1,"value":2}]'),
    s(',"annotations":[{"timestamp":1,"value":"a","timestamp":2}]'),
    s(',"annotations":{}'),
    s(',"annotations":[null]'),
    s(',"annotations":[{"timestamp":1,"value":"a","endpoint":"x"}]'),
    s(',"binaryAnnotations":[{"key":"k","value":"v"},{"key":"n","value":3},{"key":"b","value":false},{"key":"o","value":{"a":1}},{"key":"l","value":[1]},{"key":"z","value":null},{"key":"f","value":1.5}]'),
    s(',"binaryAnnotations":[{"key":"sa","value":true},{"key":"ca","value":true,"endpoint":{"port":5}},{"key":"ma","value":"1","endpoint":{"serviceName":"q"}}]'),
    s(',"binaryAnnotations":[{"key":"lc","value":"","endpoint":{"serviceName":"x"}},{"key":"lc","value":"a","endpoint":{"serviceName":"x"}}]'),
    s(',"binaryAnnotations":[{"key":"__proto__","value":"v"},{"key":"otel.status_code","value":"ERROR"},{"key":"error","value":"boom"}]'),
    s(',"binaryAnnotations":[{"value":"v"}]'),
    s(',"binaryAnnotations":[{"key":null,"value":"v"}]'),
    s(',"binaryAnnotations":[{"key":"k","value":"v","type":"STRING"}]'),
    s(',"binaryAnnotations":[{"key":"k","value":"v","key":"j"}]'),
    // endpoints: the same bytes are the same endpoint, anything else is read again
    s(',"binaryAnnotations":[{"key":"a","value":"1","endpoint":{"serviceName":"x","port":1}},{"key":"b","value":"2","endpoint":{"serviceName":"x","port":1}},{"key":"c","value":"3","endpoint":{"serviceName":"x","port":10}}]'),
    s(',"binaryAnnotations":[{"key":"a","value":"1","endpoint":{"serviceName":"x","port":1}},{"key":"b","value":"2","endpoint":{"serviceName":"x","port":1 }}]'),
    s(',"binaryAnnotations":[{"key":"sa","value":true,"endpoint":{"serviceName":"x","serviceName":"y","ipv4":"1.2.3.4","ipv4":null}}]'),
    s(',"binaryAnnotations":[{"key":"sa","value":true,"endpoint":{"ipv4":"::ffff:1.2.3.4","ipv6":"2001:db8::0:1","port":0}}]'),
    s(',"binaryAnnotations":[{"key":"sa","value":true,"endpoint":{"ipv4":"not an ip","ipv6":"1.2.3.4","port":-1}}]'),
    s(',"binaryAnnotations":[{"key":"sa","value":true,"endpoint":{"port":65536}}]'),
    s(',"binaryAnnotations":[{"key":"sa","value":true,"endpoint":{"port":"80"}}]'),
    s(',"binaryAnnotations":[{"key":"sa","value":true,"endpoint":{"serviceName":7}}]'),
    s(',"binaryAnnotations":[{"key":"sa","value":true,"endpoint":{"host":"x"}}]'),
    // strings the direct reader leaves to JSON.parse, and v2 markers
    s(',"name":"caf\\u00e9","binaryAnnotations":[{"key":"q","value":"a\\"tags\\"b"}]'),
    s(',"name":"café"'),
    s(',"binaryAnnotations":[{"key":"q","value":"myEndpoint"}]'),
    s(',"binaryAnnotations":[{"key":"q","value":"tags"}]'),
    s(',"binaryAnnotations":[{"key":"tags","value":"q"}]'),
    s(',"binaryAnnotations":[{"key":"q","value":"Endpoint\\""}]'),
    s(',"binaryAnnotations":[{"key":"q","value":"Endpoin\\u0074"}]'),
    s(',"binaryAnnotations":[{"key":"q","value":"endpoint"},{"key":"r","value":"tag"},{"key":"t","value":" tags"}]'),
    s(',"binaryAnnotations":[{"key":"q","value":"x","endpoint":{"serviceName":"myEndpoint"}},{"key":"r","value":"y","endpoint":{"serviceName":"myEndpoint"}}]'),
    s(',"tags":{"a":"b"}'),
    s(',"localEndpoint":{"serviceName":"a"}'),
    // the list
    '[]',
    ' [ ] ',
    '',
    '[',
    '[{}]',
    '[null]',
    '{"traceId":"1","id":"1"}',
    `${s('')} x`,
    `[${s('').slice(1, -1)},]`,
    `\t[\n${s('').slice(1, -1)} ,\r\n ${s(',"name":"b"').slice(1, -1)} ]\n`,
  ])('%s', (text) => {
    agree(text);
  });

  it('mutated bodies: truncated anywhere, or with bytes changed, inserted or removed', () => {
    const small = s(`,"name":"get","timestamp":1,"duration":2,"annotations":[{"timestamp":1,"value":"cs",${ep}}],"binaryAnnotations":[{"key":"sa","value":true,"endpoint":{"serviceName":"db","port":5}}],"debug":true`);
    let direct = 0;
    for (let k = 0; k <= small.length; k++) if (agree(small.slice(0, k))) direct++;
    expect(direct).toBe(1); // only the whole body
    let x = 12345;
    const r = (n: number) => (x = (Math.imul(x, 1103515245) + 12345) >>> 0) % n;
    const bodies = [small, zipkinJsBody(3, 3), `[${fixtures.slice(0, 3).join(',')}]`];
    const bytes = '"{}[],: 0123456789-.eE\\nultrfasxyzEndpoint"tags';
    let tried = 0;
    for (let round = 0; round < 1500; round++) {
      const body = bodies[round % bodies.length];
      const at = r(body.length);
      const c = bytes[r(bytes.length)];
      const op = r(3);
      const mutated = op === 0 ? body.slice(0, at) + c + body.slice(at + 1) : op === 1 ? body.slice(0, at) + c + body.slice(at) : body.slice(0, at) + body.slice(at + 1);
      if (agree(mutated)) direct++;
      tried++;
    }
    // Many mutations leave valid plain JSON (a changed digit or letter), which the direct reader reads.
    expect(direct).toBeGreaterThan(tried / 10);
  });
});
