import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { OtlpDecodeError, decodeOtlpJsonRequest, encodeOtlpJsonBytes, encodeOtlpJsonChunks, encodeOtlpJsonRequest } from '../../src/codecs/otlp-json.js';
import { decodeZipkinV2Json } from '../../src/codecs/zipkin-json.js';
import { zipkinFieldsToAttributes } from '../../src/codecs/zipkin-otlp.js';
import { EMPTY_SCOPE, Span, SpanKind, StatusCode, UNSET_STATUS, newResource, type AnyValue } from '../../src/model/span.js';

function fixture(path: string): string {
  return readFileSync(new URL(`../fixtures/${path}`, import.meta.url), 'utf8');
}

/** The fixture's JSON without whitespace, keys in the file's order: what the encoder must write. */
function compact(path: string): string {
  return JSON.stringify(JSON.parse(fixture(path)));
}

function decodeError(body: string): OtlpDecodeError {
  try {
    decodeOtlpJsonRequest(body);
  } catch (e) {
    expect(e).toBeInstanceOf(OtlpDecodeError);
    return e as OtlpDecodeError;
  }
  throw new Error(`decoded without error: ${body}`);
}

function newSpan(traceId = '5b8efff798038103d269b633813fc60c', spanId = 'eee19b7ec3c1b174'): Span {
  const s = new Span(newResource());
  s.traceId = traceId;
  s.spanId = spanId;
  return s;
}

describe('decodeOtlpJsonRequest: the opentelemetry-proto example (upper-case ids, times as JSON numbers)', () => {
  const [span, ...rest] = decodeOtlpJsonRequest(fixture('otlp-json/opentelemetry-proto-trace-example.json'));

  it('decodes the span', () => {
    expect(rest).toEqual([]);
    expect(span.traceId).toBe('5b8efff798038103d269b633813fc60c');
    expect(span.spanId).toBe('eee19b7ec3c1b174');
    expect(span.parentSpanId).toBe('eee19b7ec3c1b173');
    expect(span.name).toBe("I'm a server span");
    expect(span.kind).toBe(SpanKind.Server);
    expect(span.startTimeUnixNano).toBe(1544712660000000000n);
    expect(span.endTimeUnixNano).toBe(1544712661000000000n);
    expect(span.attributes).toEqual({ 'my.span.attr': 'some value' });
    expect(span.status).toBe(UNSET_STATUS);
    expect(span.events).toEqual([]);
    expect(span.links).toEqual([]);
  });

  it('decodes resource and scope', () => {
    expect(span.resource).toEqual({ attributes: { 'service.name': 'my.service' }, droppedAttributesCount: 0 });
    expect(span.scope).toEqual({ name: 'my.library', version: '1.0.0', attributes: { 'my.scope.attribute': 'some scope attribute' }, droppedAttributesCount: 0 });
  });

  it('re-encodes with lower-case ids and 64-bit integers as strings', () => {
    expect(JSON.parse(encodeOtlpJsonRequest([span]))).toEqual({
      resourceSpans: [
        {
          resource: { attributes: [{ key: 'service.name', value: { stringValue: 'my.service' } }] },
          scopeSpans: [
            {
              scope: { name: 'my.library', version: '1.0.0', attributes: [{ key: 'my.scope.attribute', value: { stringValue: 'some scope attribute' } }] },
              spans: [
                {
                  traceId: '5b8efff798038103d269b633813fc60c',
                  spanId: 'eee19b7ec3c1b174',
                  parentSpanId: 'eee19b7ec3c1b173',
                  name: "I'm a server span",
                  kind: 2,
                  startTimeUnixNano: '1544712660000000000',
                  endTimeUnixNano: '1544712661000000000',
                  attributes: [{ key: 'my.span.attr', value: { stringValue: 'some value' } }],
                },
              ],
            },
          ],
        },
      ],
    });
  });
});

describe('OTLP/JSON: every field', () => {
  const spans = decodeOtlpJsonRequest(fixture('otlp-json/all-fields.json'));
  const [full, child, orphan] = spans;

  it('decodes three spans in order', () => {
    expect(spans.map((s) => s.name)).toEqual(['POST /cart', 'SELECT cart', 'orphan']);
  });

  it('decodes span scalars', () => {
    expect(full.traceId).toBe('5b8efff798038103d269b633813fc60c');
    expect(full.spanId).toBe('eee19b7ec3c1b174');
    expect(full.traceState).toBe('rojo=00f067aa0ba902b7,congo=t61rcWkgMzE');
    expect(full.parentSpanId).toBe('eee19b7ec3c1b173');
    expect(full.flags).toBe(257);
    expect(full.kind).toBe(SpanKind.Server);
    expect(full.startTimeUnixNano).toBe(1544712660000000123n);
    expect(full.endTimeUnixNano).toBe(1544712661000000456n);
    expect(full.droppedAttributesCount).toBe(3);
    expect(full.droppedEventsCount).toBe(4);
    expect(full.droppedLinksCount).toBe(5);
    expect(full.status).toEqual({ code: StatusCode.Error, message: 'payment failed' });
  });

  it('decodes every AnyValue type to its JS type', () => {
    const a = full.attributes;
    expect(Object.keys(a)).toEqual(['str', 'str.empty', 'bool.false', 'int.max', 'int.min', 'int.zero', 'double', 'double.zero', 'double.nan', 'double.neg.inf', 'bytes', 'array', 'map', 'empty']);
    expect(a.str).toBe('a "quoted" line\n');
    expect(a['str.empty']).toBe('');
    expect(a['bool.false']).toBe(false);
    expect(a['int.max']).toBe(9223372036854775807n);
    expect(a['int.min']).toBe(-9223372036854775808n);
    expect(a['int.zero']).toBe(0n);
    expect(a.double).toBe(1.5);
    expect(a['double.zero']).toBe(0);
    expect(a['double.nan']).toBeNaN();
    expect(a['double.neg.inf']).toBe(-Infinity);
    expect(a.bytes).toEqual(new Uint8Array([0xde, 0xad, 0xbe, 0xef]));
    expect(a.array).toEqual(['a', 1n, null, []]);
    expect(a.map).toEqual({ nested: {}, ratio: 2.25 });
    expect(a.empty).toBeNull();
  });

  it('decodes events and links', () => {
    expect(full.events).toEqual([
      { timeUnixNano: 1544712660500000000n, name: 'exception', attributes: { 'exception.type': 'IOError' }, droppedAttributesCount: 1 },
      { timeUnixNano: 0n, name: 'no time', attributes: {}, droppedAttributesCount: 0 },
    ]);
    expect(full.links).toEqual([
      {
        traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
        spanId: '00f067aa0ba902b7',
        traceState: 'rojo=1',
        attributes: { 'link.kind': 'follows_from' },
        droppedAttributesCount: 1,
        flags: 1,
      },
    ]);
  });

  it('decodes resources and scopes, shared per ResourceSpans and ScopeSpans', () => {
    expect(full.resource).toEqual({ attributes: { 'service.name': 'checkout', 'host.cpu.count': 8n }, droppedAttributesCount: 1 });
    expect(full.scope).toEqual({ name: 'io.opentelemetry.http', version: '1.2.0', attributes: { 'scope.enabled': true }, droppedAttributesCount: 2 });
    expect(child.resource).toBe(full.resource);
    expect(child.scope).toBe(EMPTY_SCOPE);
    expect(orphan.resource).not.toBe(full.resource);
    expect(orphan.resource).toEqual({ attributes: {}, droppedAttributesCount: 0 });
    expect(orphan.scope).toBe(EMPTY_SCOPE);
  });

  it('decodes defaults for absent fields', () => {
    expect(child.status).toEqual({ code: StatusCode.Ok, message: '' });
    expect(orphan.parentSpanId).toBe('');
    expect(orphan.kind).toBe(SpanKind.Unspecified);
    expect(orphan.startTimeUnixNano).toBe(0n);
    expect(orphan.traceState).toBe('');
    expect(orphan.flags).toBe(0);
    expect(orphan.status).toBe(UNSET_STATUS);
  });

  it('encode(decode(x)) is x in canonical form (field order, defaults omitted)', () => {
    expect(encodeOtlpJsonRequest(spans)).toBe(compact('otlp-json/all-fields.json'));
  });

  it('decode(encode(x)) deep-equals x', () => {
    expect(decodeOtlpJsonRequest(encodeOtlpJsonRequest(spans))).toEqual(spans);
  });
});

describe('encodeOtlpJsonRequest', () => {
  it('encodes Zipkin-decoded spans (64-bit and 128-bit ids, one resource per service)', () => {
    const zipkin = decodeZipkinV2Json(fixture('zipkin-v2/checkout-trace.json'));
    expect(encodeOtlpJsonRequest(zipkin)).toBe(compact('otlp-json/checkout-trace.from-zipkin.json'));
  });

  it('in chunks: the pieces, joined, are the whole request, split after every chunkSpans spans', () => {
    const zipkin = decodeZipkinV2Json(fixture('zipkin-v2/checkout-trace.json'));
    const whole = encodeOtlpJsonBytes(zipkin);
    for (const chunkSpans of [1, 2, zipkin.length - 1, zipkin.length, 1000]) {
      const pieces = [...encodeOtlpJsonChunks(zipkin, chunkSpans)];
      expect(Buffer.concat(pieces).equals(whole)).toBe(true);
      expect(pieces.length).toBe(Math.ceil(zipkin.length / chunkSpans));
    }
    expect([...encodeOtlpJsonChunks([], 1)].map(String)).toEqual(['{}']);
  });

  it('left-pads a 64-bit trace id to 32 hex digits, also in links', () => {
    const s = newSpan('463ac35c9f6413ad');
    s.links = [{ traceId: '48485a3953bb6124', spanId: '5b4185666d50f68b', traceState: '', attributes: {}, droppedAttributesCount: 0, flags: 0 }];
    const out = JSON.parse(encodeOtlpJsonRequest([s]));
    const span = out.resourceSpans[0].scopeSpans[0].spans[0];
    expect(span.traceId).toBe('0000000000000000463ac35c9f6413ad');
    expect(span.links[0].traceId).toBe('000000000000000048485a3953bb6124');
  });

  it('groups by resource object, then scope object, in first-seen order', () => {
    const r1 = newResource({ 'service.name': 'a' });
    const r2 = newResource({ 'service.name': 'a' });
    const scope = { name: 'lib', version: '', attributes: {}, droppedAttributesCount: 0 };
    const spans = ['0000000000000001', '0000000000000002', '0000000000000003', '0000000000000004'].map((id) => newSpan(undefined, id));
    spans[0].resource = r1;
    spans[1].resource = r2;
    spans[2].resource = r1;
    spans[2].scope = scope;
    spans[3].resource = r1;
    const out = JSON.parse(encodeOtlpJsonRequest(spans));
    const layout = out.resourceSpans.map((rs: { scopeSpans: { scope: { name?: string }; spans: { spanId: string }[] }[] }) =>
      rs.scopeSpans.map((ss) => [ss.scope.name ?? '', ss.spans.map((s) => s.spanId)]),
    );
    expect(layout).toEqual([
      [
        ['', ['0000000000000001', '0000000000000004']],
        ['lib', ['0000000000000003']],
      ],
      [['', ['0000000000000002']]],
    ]);
  });

  it('omits default values, down to an empty span', () => {
    expect(encodeOtlpJsonRequest([])).toBe('{}');
    const s = new Span(newResource());
    expect(encodeOtlpJsonRequest([s])).toBe('{"resourceSpans":[{"resource":{},"scopeSpans":[{"scope":{},"spans":[{}]}]}]}');
  });

  it('writes the Zipkin-only fields as attributes after the span\'s own (zipkinFieldsToAttributes)', () => {
    const s = newSpan();
    s.attributes = { own: 'x' };
    s.shared = true;
    s.debug = true;
    s.localEndpoint = { serviceName: '', ipv4: '10.0.0.1', ipv6: '', port: 80 };
    s.remoteEndpoint = { serviceName: 'db', ipv4: '', ipv6: '::1', port: 5432 };
    const span = JSON.parse(encodeOtlpJsonRequest([s])).resourceSpans[0].scopeSpans[0].spans[0];
    expect(span.attributes).toEqual([
      { key: 'own', value: { stringValue: 'x' } },
      ...Object.entries(zipkinFieldsToAttributes(s)!).map(([key, v]) => ({ key, value: JSON.parse(encodeOtlpJsonRequest([Object.assign(newSpan(), { attributes: { v } })])).resourceSpans[0].scopeSpans[0].spans[0].attributes[0].value })),
    ]);
    expect(span.attributes.map((a: { key: string }) => a.key)).toEqual(['own', 'net.host.ip', 'net.host.port', 'peer.service', 'net.peer.ip', 'net.peer.port', 'zipkin.shared', 'zipkin.debug']);
  });

  it('writes only Zipkin-derived attributes when the span has none of its own', () => {
    const s = newSpan();
    s.debug = true;
    expect(encodeOtlpJsonRequest([s])).toContain('"attributes":[{"key":"zipkin.debug","value":{"boolValue":true}}]');
  });

  const bytes = new Uint8Array([0xde, 0xad, 0xbe, 0xef]);
  it.each<[string, AnyValue, string]>([
    ['string', 'x', '{"stringValue":"x"}'],
    ['empty string is still written', '', '{"stringValue":""}'],
    ['escaped string', 'a"\\\n\u2028', '{"stringValue":"a\\"\\\\\\n\\u2028"}'],
    ['bool false is still written', false, '{"boolValue":false}'],
    ['int64 as a decimal string', -9223372036854775808n, '{"intValue":"-9223372036854775808"}'],
    ['int 0 is still written', 0n, '{"intValue":"0"}'],
    ['double', 1.5, '{"doubleValue":1.5}'],
    ['double 0 is still written', 0, '{"doubleValue":0}'],
    ['double -0', -0, '{"doubleValue":-0}'],
    ['large double', 1e21, '{"doubleValue":1e+21}'],
    ['NaN', NaN, '{"doubleValue":"NaN"}'],
    ['Infinity', Infinity, '{"doubleValue":"Infinity"}'],
    ['bytes as base64', bytes, '{"bytesValue":"3q2+7w=="}'],
    ['empty value', null, '{}'],
    ['array', ['a', 1n, null], '{"arrayValue":{"values":[{"stringValue":"a"},{"intValue":"1"},{}]}}'],
    ['empty array', [], '{"arrayValue":{}}'],
    ['map', { k: true, nested: { n: 2.5 } }, '{"kvlistValue":{"values":[{"key":"k","value":{"boolValue":true}},{"key":"nested","value":{"kvlistValue":{"values":[{"key":"n","value":{"doubleValue":2.5}}]}}}]}}'],
    ['empty map', {}, '{"kvlistValue":{}}'],
  ])('AnyValue %s', (_title, value, json) => {
    const s = newSpan();
    s.attributes = { v: value };
    const out = encodeOtlpJsonRequest([s]);
    expect(out).toContain(`"attributes":[{"key":"v","value":${json}}]`);
    const back = decodeOtlpJsonRequest(out)[0].attributes.v;
    expect(Object.is(back, -0)).toBe(Object.is(value, -0));
    expect(back).toEqual(value);
  });
});

describe('decodeOtlpJsonRequest: what the spec also allows', () => {
  const request = (span: string) => `{"resourceSpans":[{"scopeSpans":[{"spans":[${span}]}]}]}`;
  const one = (span: string) => {
    const spans = decodeOtlpJsonRequest(request(span));
    expect(spans).toHaveLength(1);
    return spans[0];
  };

  it.each<[string, string, (s: Span) => unknown, unknown]>([
    ['times as JSON numbers keep every digit', '{"startTimeUnixNano":1544712660000000123}', (s) => s.startTimeUnixNano, 1544712660000000123n],
    ['times as strings', '{"endTimeUnixNano":"18446744073709551615"}', (s) => s.endTimeUnixNano, 18446744073709551615n],
    ['uint32 as strings', '{"droppedAttributesCount":"3","flags":"257"}', (s) => [s.droppedAttributesCount, s.flags], [3, 257]],
    ['intValue as a JSON number', '{"attributes":[{"key":"n","value":{"intValue":5}}]}', (s) => s.attributes.n, 5n],
    ['intValue as a JSON number above 2^53', '{"attributes":[{"key":"n","value":{"intValue":9007199254740993}}]}', (s) => s.attributes.n, 9007199254740993n],
    ['doubleValue as a string', '{"attributes":[{"key":"d","value":{"doubleValue":"1.5"}}]}', (s) => s.attributes.d, 1.5],
    ['doubleValue as an integer', '{"attributes":[{"key":"d","value":{"doubleValue":2}}]}', (s) => s.attributes.d, 2],
    ['URL-safe unpadded base64', '{"attributes":[{"key":"b","value":{"bytesValue":"3q2-7w"}}]}', (s) => s.attributes.b, new Uint8Array([0xde, 0xad, 0xbe, 0xef])],
    ['upper-case hex ids are lower-cased', '{"traceId":"5B8EFFF798038103D269B633813FC60C","spanId":"EEE19B7EC3C1B174","parentSpanId":"EEE19B7EC3C1B173"}', (s) => [s.traceId, s.spanId, s.parentSpanId], ['5b8efff798038103d269b633813fc60c', 'eee19b7ec3c1b174', 'eee19b7ec3c1b173']],
    ['empty parentSpanId is no parent', '{"parentSpanId":""}', (s) => s.parentSpanId, ''],
    ['null fields are defaults', '{"name":null,"kind":null,"attributes":null,"events":null,"status":null,"startTimeUnixNano":null}', (s) => [s.name, s.kind, s.attributes, s.events, s.status, s.startTimeUnixNano], ['', 0, {}, [], UNSET_STATUS, 0n]],
    ['snake_case names are unknown fields, ignored', '{"name":"a","dropped_attributes_count":3,"start_time_unix_nano":"5"}', (s) => [s.droppedAttributesCount, s.startTimeUnixNano], [0, 0n]],
    ['unknown fields are ignored', '{"name":"a","schemaUrl":"x","entityRefs":[{}],"future":{"x":[1]}}', (s) => s.name, 'a'],
    ['a repeated attribute key keeps the last value', '{"attributes":[{"key":"k","value":{"stringValue":"1"}},{"key":"k","value":{"stringValue":"2"}}]}', (s) => s.attributes, { k: '2' }],
    ['a __proto__ attribute is an ordinary attribute', '{"attributes":[{"key":"__proto__","value":{"stringValue":"x"}}]}', (s) => Object.entries(s.attributes), [['__proto__', 'x']]],
    ['status with only a message', '{"status":{"message":"m"}}', (s) => s.status, { code: StatusCode.Unset, message: 'm' }],
  ])('%s', (_title, span, get, want) => {
    expect(get(one(span))).toEqual(want);
  });

  it('accepts a Buffer and an empty request', () => {
    expect(decodeOtlpJsonRequest(Buffer.from(request('{"name":"a"}')))[0].name).toBe('a');
    expect(decodeOtlpJsonRequest('{}')).toEqual([]);
    expect(decodeOtlpJsonRequest('{"resourceSpans":[]}')).toEqual([]);
    expect(decodeOtlpJsonRequest('{"resourceSpans":[{}]}')).toEqual([]);
  });
});

describe('decodeOtlpJsonRequest: errors', () => {
  const at = 'resourceSpans[0].scopeSpans[0].spans[0]';
  const request = (span: string) => `{"resourceSpans":[{"scopeSpans":[{"spans":[${span}]}]}]}`;

  it.each<[string, string, string]>([
    ['request is a list', '[]', 'expected a JSON object (ExportTraceServiceRequest), got an array'],
    ['resourceSpans not a list', '{"resourceSpans":{}}', 'resourceSpans: expected an array, got an object'],
    ['ResourceSpans not an object', '{"resourceSpans":[1]}', 'resourceSpans[0]: expected an object, got 1'],
    ['resource not an object', '{"resourceSpans":[{"resource":"r"}]}', 'resourceSpans[0].resource: expected an object, got "r"'],
    ['resource attribute value of the wrong type', '{"resourceSpans":[{"resource":{"attributes":[{"key":"k","value":{"stringValue":1}}]}}]}', 'resourceSpans[0].resource.attributes[0].value.stringValue: expected a string, got 1'],
    ['scopeSpans not a list', '{"resourceSpans":[{"scopeSpans":"x"}]}', 'resourceSpans[0].scopeSpans: expected an array, got "x"'],
    ['scope not an object', '{"resourceSpans":[{"scopeSpans":[{"scope":[]}]}]}', 'resourceSpans[0].scopeSpans[0].scope: expected an object, got an array'],
    ['scope name not a string', '{"resourceSpans":[{"scopeSpans":[{"scope":{"name":1}}]}]}', 'resourceSpans[0].scopeSpans[0].scope.name: expected a string, got 1'],
    ['spans not a list', '{"resourceSpans":[{"scopeSpans":[{"spans":{}}]}]}', 'resourceSpans[0].scopeSpans[0].spans: expected an array, got an object'],
    ['span not an object', request('null'), `${at}: expected an object, got null`],
    ['traceId too short', request('{"traceId":"5b8efff798038103"}'), `${at}.traceId: expected 32 hex digits, got "5b8efff798038103"`],
    ['traceId in base64 (plain protobuf JSON)', request('{"traceId":"W47/95gDgQPSabYzgT/GDA=="}'), `${at}.traceId: expected 32 hex digits, got "W47/95gDgQPSabYzgT/GDA=="`],
    ['traceId not hex', request('{"traceId":"5b8efff798038103d269b633813fc60g"}'), `${at}.traceId: expected 32 hex digits, got "5b8efff798038103d269b633813fc60g"`],
    ['spanId too long', request('{"spanId":"eee19b7ec3c1b1740"}'), `${at}.spanId: expected 16 hex digits, got "eee19b7ec3c1b1740"`],
    ['parentSpanId a number', request('{"parentSpanId":1}'), `${at}.parentSpanId: expected 16 hex digits, got 1`],
    ['name not a string', request('{"name":1}'), `${at}.name: expected a string, got 1`],
    ['kind as an enum name', request('{"kind":"SPAN_KIND_SERVER"}'), `${at}.kind: expected an integer from 0 to 5, got "SPAN_KIND_SERVER"`],
    ['kind out of range', request('{"kind":6}'), `${at}.kind: expected an integer from 0 to 5, got 6`],
    ['status code out of range', request('{"status":{"code":3}}'), `${at}.status.code: expected an integer from 0 to 2, got 3`],
    ['status code as an enum name', request('{"status":{"code":"STATUS_CODE_ERROR"}}'), `${at}.status.code: expected an integer from 0 to 2, got "STATUS_CODE_ERROR"`],
    ['negative time', request('{"startTimeUnixNano":"-1"}'), `${at}.startTimeUnixNano: expected an unsigned 64-bit integer, got "-1"`],
    ['fractional time', request('{"startTimeUnixNano":1.5}'), `${at}.startTimeUnixNano: expected an unsigned 64-bit integer, got 1.5`],
    ['time beyond 64 bits', request('{"endTimeUnixNano":"18446744073709551616"}'), `${at}.endTimeUnixNano: expected an unsigned 64-bit integer, got "18446744073709551616"`],
    ['time as a JSON number beyond 64 bits', request('{"endTimeUnixNano":18446744073709551616}'), `${at}.endTimeUnixNano: expected an unsigned 64-bit integer, got 18446744073709551616`],
    ['negative uint32', request('{"droppedAttributesCount":-1}'), `${at}.droppedAttributesCount: expected an unsigned 32-bit integer, got -1`],
    ['flags beyond 32 bits', request('{"flags":4294967296}'), `${at}.flags: expected an unsigned 32-bit integer, got 4294967296`],
    ['attributes not a list', request('{"attributes":{"k":"v"}}'), `${at}.attributes: expected an array, got an object`],
    ['attribute key not a string', request('{"attributes":[{"key":1}]}'), `${at}.attributes[0].key: expected a string, got 1`],
    ['attribute value not an object', request('{"attributes":[{"key":"k","value":"v"}]}'), `${at}.attributes[0].value: expected an object, got "v"`],
    ['intValue beyond 64 bits', request('{"attributes":[{"key":"k","value":{"intValue":"9223372036854775808"}}]}'), `${at}.attributes[0].value.intValue: expected a 64-bit integer, got "9223372036854775808"`],
    ['boolValue as a string', request('{"attributes":[{"key":"k","value":{"boolValue":"true"}}]}'), `${at}.attributes[0].value.boolValue: expected true or false, got "true"`],
    ['doubleValue not a number', request('{"attributes":[{"key":"k","value":{"doubleValue":"fast"}}]}'), `${at}.attributes[0].value.doubleValue: expected a number, got "fast"`],
    ['bytesValue not base64', request('{"attributes":[{"key":"k","value":{"bytesValue":"***"}}]}'), `${at}.attributes[0].value.bytesValue: expected base64, got "***"`],
    ['array element of the wrong type', request('{"attributes":[{"key":"k","value":{"arrayValue":{"values":[{"intValue":"1"},{"intValue":"x"}]}}}]}'), `${at}.attributes[0].value.arrayValue.values[1].intValue: expected a 64-bit integer, got "x"`],
    ['kvlist entry of the wrong type', request('{"attributes":[{"key":"k","value":{"kvlistValue":{"values":[{"key":"n","value":{"boolValue":1}}]}}}]}'), `${at}.attributes[0].value.kvlistValue.values[0].value.boolValue: expected true or false, got 1`],
    ['event time of the wrong type', request('{"events":[{"name":"a"},{"timeUnixNano":true}]}'), `${at}.events[1].timeUnixNano: expected an unsigned 64-bit integer, got true`],
    ['event attribute of the wrong type', request('{"events":[{"attributes":[{"key":"k","value":{"stringValue":false}}]}]}'), `${at}.events[0].attributes[0].value.stringValue: expected a string, got false`],
    ['link spanId not hex', request('{"links":[{"spanId":"zzzzzzzzzzzzzzzz"}]}'), `${at}.links[0].spanId: expected 16 hex digits, got "zzzzzzzzzzzzzzzz"`],
    ['long values are shortened in messages', request(`{"name":"${'n'.repeat(100)}","traceId":"${'t'.repeat(100)}"}`), `${at}.traceId: expected 32 hex digits, got "${'t'.repeat(40)}…"`],
    ['the index of the failing element is named', '{"resourceSpans":[{},{"scopeSpans":[{},{"spans":[{},{},{"kind":9}]}]}]}', 'resourceSpans[1].scopeSpans[1].spans[2].kind: expected an integer from 0 to 5, got 9'],
  ])('%s', (_title, body, message) => {
    expect(decodeError(body).message).toBe(message);
  });

  it('malformed JSON names the parse problem', () => {
    expect(decodeError('{"resourceSpans":').message).toMatch(/^Malformed JSON: /);
    expect(decodeError('').message).toMatch(/^Malformed JSON: /);
  });

  it('values nested deeper than MAX_VALUE_DEPTH (64) are an OtlpDecodeError naming where', () => {
    const n = 100_000;
    const deep = '{"arrayValue":{"values":['.repeat(n) + ']}}'.repeat(n);
    const message = decodeError(request(`{"attributes":[{"key":"k","value":${deep}}]}`)).message;
    expect(message).toMatch(/^resourceSpans\[0\]\.scopeSpans\[0\]\.spans\[0\]\.attributes\[0\]\.value(\.arrayValue\.values\[0\]){64}: values nested deeper than 64 levels$/);
  });
});

describe('Zipkin → OTLP/JSON → model', () => {
  it('keeps everything, the Zipkin-only fields as attributes; 64-bit trace ids come back padded', () => {
    const zipkin = decodeZipkinV2Json('[{"traceId":"463ac35c9f6413ad","id":"48485a3953bb6124","kind":"SERVER","name":"get","timestamp":1,"duration":2,"localEndpoint":{"serviceName":"a","ipv4":"10.0.0.1"},"annotations":[{"timestamp":1,"value":"x"}],"tags":{"k":"v"},"shared":true}]');
    const [back] = decodeOtlpJsonRequest(encodeOtlpJsonRequest(zipkin));
    const expected = zipkin[0];
    expect(back.traceId).toBe('0000000000000000' + expected.traceId);
    expect([back.spanId, back.kind, back.name, back.startTimeUnixNano, back.endTimeUnixNano]).toEqual([
      expected.spanId,
      expected.kind,
      expected.name,
      expected.startTimeUnixNano,
      expected.endTimeUnixNano,
    ]);
    expect(back.events).toEqual(expected.events);
    expect(back.attributes).toEqual({ ...expected.attributes, 'net.host.ip': '10.0.0.1', 'zipkin.shared': true });
    expect(back.resource).toEqual(expected.resource);
    // The fields themselves stay empty: turning the attributes back into Zipkin fields is the Zipkin encoder's job.
    expect([back.shared, back.localEndpoint]).toEqual([false, undefined]);
  });
});
