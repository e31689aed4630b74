import { readFileSync } from 'node:fs';
import { JsonTraceSerializer, ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import protobuf from 'protobufjs';
import { describe, expect, it } from 'vitest';
import { OtlpDecodeError, decodeOtlpJsonRequest, encodeOtlpJsonRequest } from '../../src/codecs/otlp-json.js';
import {
  decodeOtlpProtoRequest,
  decodeOtlpProtoResponse,
  decodeRpcStatus,
  encodeOtlpProtoRequest,
  encodeOtlpProtoResponse,
  encodeRpcStatus,
  RETRY_INFO_TYPE_URL,
} from '../../src/codecs/otlp-proto.js';
import { zipkinFieldsToAttributes } from '../../src/codecs/zipkin-otlp.js';
import { EMPTY_SCOPE, Span, StatusCode, UNSET_STATUS, newResource, type AnyValue } from '../../src/model/span.js';
import { expectedModelFields, recordSdkSpans } from '../helpers/otel-sdk.js';
import { ID_KEYS, normaliseOtlpJson } from '../helpers/otlp-json.js';

// ---- an independent protobuf implementation (protobufjs reflection over the upstream field numbers)

const root = protobuf.parse(readFileSync('test/fixtures/otlp-proto/otlp-trace.proto', 'utf8')).root;
const RequestType = root.lookupType('otlp.ExportTraceServiceRequest');
const ResponseType = root.lookupType('otlp.ExportTraceServiceResponse');
const RpcStatusType = root.lookupType('otlp.RpcStatus');
const RetryInfoType = root.lookupType('otlp.RetryInfo');

/** A request decoded by protobufjs, as protobuf JSON (ids still base64, 64-bit integers as strings). */
function reflectDecode(bytes: Uint8Array): unknown {
  return RequestType.toObject(RequestType.decode(bytes), { longs: String, enums: Number, bytes: String, defaults: false });
}

function reflectEncode(json: unknown): Uint8Array {
  return RequestType.encode(RequestType.fromObject(json as Record<string, unknown>)).finish();
}

const normalise = normaliseOtlpJson;

const json = (bytes: Uint8Array) => JSON.parse(Buffer.from(bytes).toString('utf8')) as unknown;

// ---- the SDK's spans, serialized by otlp-transformer

const { spans: sdkSpans } = recordSdkSpans();
const theirProto = ProtobufTraceSerializer.serializeRequest(sdkSpans)!;
const theirJson = json(JsonTraceSerializer.serializeRequest(sdkSpans)!);

describe('decodeOtlpProtoRequest: real SDK spans serialized by otlp-transformer', () => {
  const decoded = decodeOtlpProtoRequest(theirProto);

  const byId = (spanId: string) => decoded.find((s) => s.spanId === spanId)!;

  it('decodes every span, grouped by resource as otlp-transformer writes them', () => {
    expect(sdkSpans.length).toBe(5);
    expect(decoded.map((s) => s.spanId).sort()).toEqual(sdkSpans.map((s) => s.spanContext().spanId).sort());
    expect(decoded.map((s) => s.name)).toEqual(['SELECT cart', 'busy', 'POST /cart ✓ привет', 'publish', 'consume']);
  });

  const rows = sdkSpans.flatMap((r) => Object.entries(expectedModelFields(r)).map(([field, want]) => [r.name, field, r.spanContext().spanId, want] as const));
  it.each(rows)('%s: %s', (_name, field, spanId, want) => {
    const span = byId(spanId);
    if (field === 'scope') expect({ name: span.scope.name, version: span.scope.version }).toEqual(want);
    else expect((span as unknown as Record<string, unknown>)[field]).toEqual(want);
  });

  it('keeps attribute types: int64 as bigint, double as number, arrays of each', () => {
    const a = decoded.find((s) => s.name.startsWith('POST'))!.attributes;
    expect(a['http.status_code']).toBe(503n);
    expect(a['http.ratio']).toBe(0.25);
    expect(a['int.max_safe']).toBe(9007199254740991n);
    expect(a['int.negative']).toBe(-42n);
    expect(a['double.negative']).toBe(-1.5e-7);
    expect(a.codes).toEqual([200n, 404n]);
    expect(a.weights).toEqual([0.5, 1.25]);
    expect(a.flags).toEqual([true, false]);
    expect(a['empty.string']).toBe('');
  });

  it('shares one Resource per ResourceSpans and one scope per ScopeSpans', () => {
    const byResource = new Set(decoded.map((s) => s.resource));
    const byScope = new Set(decoded.map((s) => s.scope));
    expect(byResource.size).toBe(2);
    expect(byScope.size).toBe(3);
  });

  it('decodes what the SDK counted as dropped', () => {
    const busy = decoded.find((s) => s.name === 'busy')!;
    expect([busy.droppedAttributesCount, busy.droppedEventsCount, busy.droppedLinksCount]).toEqual([4, 2, 2]);
    expect(Object.keys(busy.attributes)).toHaveLength(16);
  });
});

describe('OTLP proto ↔ JSON against otlp-transformer', () => {
  it('decode(their proto) → our JSON equals their JSON', () => {
    const ours = JSON.parse(encodeOtlpJsonRequest(decodeOtlpProtoRequest(theirProto)));
    expect(normalise(ours)).toEqual(normalise(theirJson));
  });

  it('decode(their JSON) → our proto, read by protobufjs, equals their JSON', () => {
    const ours = encodeOtlpProtoRequest(decodeOtlpJsonRequest(Buffer.from(JsonTraceSerializer.serializeRequest(sdkSpans)!)));
    expect(normalise(reflectDecode(ours), true)).toEqual(normalise(theirJson));
  });

  it('decode(their proto) → our proto equals their proto read by protobufjs', () => {
    const ours = encodeOtlpProtoRequest(decodeOtlpProtoRequest(theirProto));
    expect(normalise(reflectDecode(ours), true)).toEqual(normalise(reflectDecode(theirProto), true));
  });

  it('decoding their proto and their JSON gives the same spans', () => {
    expect(decodeOtlpProtoRequest(theirProto)).toEqual(decodeOtlpJsonRequest(Buffer.from(JsonTraceSerializer.serializeRequest(sdkSpans)!)));
  });
});

describe('OTLP proto: every field and value type', () => {
  const spans = decodeOtlpJsonRequest(readFileSync('test/fixtures/otlp-json/all-fields.json', 'utf8'));

  it('decode(encode(x)) deep-equals x, down to -0, NaN and int64 extremes', () => {
    const back = decodeOtlpProtoRequest(encodeOtlpProtoRequest(spans));
    expect(back).toEqual(spans);
    expect(back[0].resource).toBe(back[1].resource);
    expect(back[1].scope).toBe(EMPTY_SCOPE);
  });

  it('protobufjs reads our encoding as the JSON fixture says', () => {
    const fixture = JSON.parse(readFileSync('test/fixtures/otlp-json/all-fields.json', 'utf8')) as unknown;
    const withoutNonFinite = JSON.parse(JSON.stringify(reflectDecode(encodeOtlpProtoRequest(spans)), (_k, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? String(v) : v)));
    expect(normalise(withoutNonFinite, true)).toEqual(normalise(fixture));
  });

  it('we read what protobufjs writes from the JSON fixture', () => {
    const fixture = JSON.parse(readFileSync('test/fixtures/otlp-json/all-fields.json', 'utf8'), (k, v: unknown) =>
      // protobufjs's fromObject wants ids as base64 and non-finite doubles as numbers.
      ID_KEYS.has(k) && typeof v === 'string' ? Buffer.from(v, 'hex').toString('base64') : v === 'NaN' ? NaN : v === '-Infinity' ? -Infinity : v,
    ) as unknown;
    expect(decodeOtlpProtoRequest(reflectEncode(fixture))).toEqual(spans);
  });

  it('ids of every byte value come out as lower-case hex; events without attributes share one frozen map', () => {
    const s = new Span(newResource());
    const bytes = Array.from({ length: 256 }, (_, i) => i);
    for (let k = 0; k < 256; k += 16) {
      s.traceId = Buffer.from(bytes.slice(k, k + 16)).toString('hex');
      s.spanId = Buffer.from(bytes.slice(255 - k - 7, 255 - k + 1)).toString('hex');
      s.parentSpanId = Buffer.from(bytes.slice(k + 8, k + 16)).toString('hex');
      s.events = [
        { timeUnixNano: 1n, name: 'a', attributes: {}, droppedAttributesCount: 0 },
        { timeUnixNano: 2n, name: 'b', attributes: { k: 'v' }, droppedAttributesCount: 0 },
        { timeUnixNano: 3n, name: 'c', attributes: {}, droppedAttributesCount: 0 },
      ];
      const [back] = decodeOtlpProtoRequest(encodeOtlpProtoRequest([s]));
      expect([back.traceId, back.spanId, back.parentSpanId]).toEqual([s.traceId, s.spanId, s.parentSpanId]);
      expect(back.events).toEqual(s.events);
      expect(Object.isFrozen(back.events[0].attributes)).toBe(true);
      expect(back.events[2].attributes).toBe(back.events[0].attributes);
      expect(Object.isFrozen(back.events[1].attributes)).toBe(false);
    }
  });

  function oneValue(value: AnyValue): Span {
    const s = new Span(newResource());
    s.traceId = '5b8efff798038103d269b633813fc60c';
    s.spanId = 'eee19b7ec3c1b174';
    s.attributes = { v: value };
    return s;
  }

  // The AnyValue message's bytes (after its length): tag, then the value.
  it.each<[string, AnyValue, string]>([
    ['string', 'x', '0a0178'],
    ['empty string is still written', '', '0a00'],
    ['non-ASCII string', 'ü✓', '0a05c3bce29c93'],
    ['bool false is still written', false, '1000'],
    ['bool true', true, '1001'],
    ['int 0 is still written', 0n, '1800'],
    ['int 300', 300n, '18ac02'],
    ['int -1 (10-byte varint)', -1n, '18ffffffffffffffffff01'],
    ['int64 max', 9223372036854775807n, '18ffffffffffffffff7f'],
    ['int64 min', -9223372036854775808n, '1880808080808080808001'],
    ['double 1.5', 1.5, '21000000000000f83f'],
    ['double -0', -0, '210000000000000080'],
    ['bytes', new Uint8Array([0xde, 0xad]), '3a02dead'],
    ['empty value', null, ''],
    ['array', ['a', 1n], '2a090a030a01610a021801'],
    ['empty array', [], '2a00'],
    ['map', { k: true }, '32090a070a016b12021001'],
    ['empty map', {}, '3200'],
  ])('AnyValue %s', (_title, value, hex) => {
    const bytes = encodeOtlpProtoRequest([oneValue(value)]);
    const kv = Buffer.from('0a01761200', 'hex'); // KeyValue: key "v", value (length patched below)
    const expectedValue = Buffer.from(hex, 'hex');
    kv[4] = expectedValue.length;
    expect(Buffer.from(bytes).includes(Buffer.concat([kv, expectedValue]))).toBe(true);
    const back = decodeOtlpProtoRequest(bytes)[0].attributes.v;
    expect(Object.is(back, -0)).toBe(Object.is(value, -0));
    expect(back).toEqual(value);
  });

  it('decodes repeated keys and values right when thousands of distinct ones share the string cache', () => {
    const s = oneValue(null);
    s.attributes = Object.fromEntries(Array.from({ length: 20_000 }, (_, i) => [`key.${i}`, i % 3 === 0 ? `v${i}` : i % 3 === 1 ? `é${i}` : 'same']));
    const bytes = encodeOtlpProtoRequest([s]);
    for (let round = 0; round < 3; round++) expect(decodeOtlpProtoRequest(bytes)[0].attributes).toEqual(s.attributes);
    // Bytes that are not UTF-8 become U+FFFD and are never mistaken for a cached string.
    const bad = Buffer.from(encodeOtlpProtoRequest([oneValue('a?')]));
    bad[bad.indexOf(Buffer.from('a?')) + 1] = 0xff;
    expect(decodeOtlpProtoRequest(bad)[0].attributes.v).toBe('a\ufffd');
    expect(decodeOtlpProtoRequest(encodeOtlpProtoRequest([oneValue('a?')]))[0].attributes.v).toBe('a?');
  });

  it('writes a long string value whose length needs two bytes', () => {
    const s = oneValue('x'.repeat(300));
    expect(decodeOtlpProtoRequest(encodeOtlpProtoRequest([s]))[0].attributes.v).toBe('x'.repeat(300));
  });

  it('left-pads a 64-bit trace id to 16 bytes, also in links', () => {
    const s = oneValue(null);
    s.traceId = '463ac35c9f6413ad';
    s.links = [{ traceId: '48485a3953bb6124', spanId: '5b4185666d50f68b', traceState: '', attributes: {}, droppedAttributesCount: 0, flags: 0 }];
    const [back] = decodeOtlpProtoRequest(encodeOtlpProtoRequest([s]));
    expect(back.traceId).toBe('0000000000000000463ac35c9f6413ad');
    expect(back.links[0].traceId).toBe('000000000000000048485a3953bb6124');
  });

  it('omits defaults: an empty span is an empty message', () => {
    expect(encodeOtlpProtoRequest([])).toHaveLength(0);
    const bytes = encodeOtlpProtoRequest([new Span(newResource())]);
    // request{resourceSpans{resource{}, scopeSpans{scope{}, spans{}}}}
    expect(Buffer.from(bytes).toString('hex')).toBe('0a080a0012040a001200');
  });

  it('encodes big batches whose messages outgrow the guessed length prefixes', () => {
    const many = Array.from({ length: 3000 }, (_, i) => {
      const s = oneValue('y'.repeat(i % 200));
      s.spanId = i.toString(16).padStart(16, '0');
      s.name = `span ${i}`;
      return s;
    });
    const back = decodeOtlpProtoRequest(encodeOtlpProtoRequest(many));
    expect(back.map((s) => [s.spanId, s.name, s.attributes.v])).toEqual(many.map((s) => [s.spanId, s.name, s.attributes.v]));
  });

  it('writes the Zipkin-only fields as the attributes zipkinFieldsToAttributes gives, after the span\'s own', () => {
    const s = oneValue('own');
    s.shared = true;
    s.debug = true;
    s.localEndpoint = { serviceName: '', ipv4: '10.0.0.1', ipv6: '', port: 8080 };
    s.remoteEndpoint = { serviceName: 'db', ipv4: '', ipv6: '::1', port: 5432 };
    const extra = zipkinFieldsToAttributes(s) ?? {};
    expect(Object.keys(extra).length).toBeGreaterThan(0);
    const [proto] = decodeOtlpProtoRequest(encodeOtlpProtoRequest([s]));
    const [fromJson] = decodeOtlpJsonRequest(encodeOtlpJsonRequest([s]));
    expect(proto.attributes).toEqual({ v: 'own', ...extra });
    expect(Object.keys(proto.attributes)).toEqual(['v', ...Object.keys(extra)]);
    expect(fromJson.attributes).toEqual(proto.attributes);
    // A key the span has already keeps the span's value.
    const clash = Object.keys(extra)[0];
    s.attributes = { [clash]: 'mine' };
    expect(decodeOtlpProtoRequest(encodeOtlpProtoRequest([s]))[0].attributes[clash]).toBe('mine');
    expect(decodeOtlpJsonRequest(encodeOtlpJsonRequest([s]))[0].attributes[clash]).toBe('mine');
  });
});

describe('decodeOtlpProtoRequest: what protobuf also allows', () => {
  /** A request with one span whose fields are `spanHex` (hex of the Span message's content). */
  const request = (spanHex: string, scopeSpansExtra = '', resourceSpansExtra = '') => {
    const span = Buffer.from(spanHex, 'hex');
    const scopeSpans = Buffer.concat([Buffer.from([0x12, span.length]), span, Buffer.from(scopeSpansExtra, 'hex')]);
    const resourceSpans = Buffer.concat([Buffer.from([0x12, scopeSpans.length]), scopeSpans, Buffer.from(resourceSpansExtra, 'hex')]);
    return Buffer.concat([Buffer.from([0x0a, resourceSpans.length]), resourceSpans]);
  };
  const one = (spanHex: string, ...extra: string[]) => {
    const spans = decodeOtlpProtoRequest(request(spanHex, ...extra));
    expect(spans).toHaveLength(1);
    return spans[0];
  };

  it.each<[string, string, (s: Span) => unknown, unknown]>([
    ['unknown varint, fixed, length-delimited and group fields are skipped', '2a0161' + 'a80101' + 'b1010000000000000000' + 'ba0102abcd' + 'bd0100000000' + 'bb010801bc01', (s) => s.name, 'a'],
    ['a repeated scalar field keeps its last value', '2a01612a0162', (s) => s.name, 'b'],
    ['a repeated status is merged', '7a021801' + '7a03120178', (s) => s.status, { code: StatusCode.Ok, message: 'x' }],
    ['flags as fixed32', '8501ffffffff', (s) => s.flags, 0xffffffff],
    ['a time above 2^53 keeps every digit', '39ffffffffffffffff', (s) => s.startTimeUnixNano, 18446744073709551615n],
    ['a uint32 sent as a 10-byte varint keeps its low 32 bits', '50ffffffffffffffffff01', (s) => s.droppedAttributesCount, 0xffffffff],
    ['empty ids are absent', '0a00' + '1200' + '2200', (s) => [s.traceId, s.spanId, s.parentSpanId], ['', '', '']],
    ['a KeyValue without value is the empty value', '4a030a016b', (s) => s.attributes, { k: null }],
    ['an AnyValue with several members keeps the last', '4a0a0a016b120510010a0161', (s) => s.attributes.k, 'a'],
    ['a __proto__ key is an ordinary attribute', '4a0d0a095f5f70726f746f5f5f1200', (s) => Object.entries(s.attributes), [['__proto__', null]]],
  ])('%s', (_title, spanHex, get, want) => {
    expect(get(one(spanHex))).toEqual(want);
  });

  it('drops schema_url of resources and scopes', () => {
    const s = one('2a0161', '1a0378797a', '1a0378797a');
    expect(s.name).toBe('a');
  });

  it('merges a repeated resource', () => {
    const span = Buffer.from('2a0161', 'hex');
    const scopeSpans = Buffer.concat([Buffer.from([0x12, span.length]), span]);
    // resource {attributes [a=""]}, scopeSpans, resource {attributes [b=""], dropped 2}
    const r1 = Buffer.from('0a070a016112020a00', 'hex');
    const r2 = Buffer.from('0a070a016212020a001002', 'hex');
    const rs = Buffer.concat([Buffer.from([0x0a, r1.length]), r1, Buffer.from([0x12, scopeSpans.length]), scopeSpans, Buffer.from([0x0a, r2.length]), r2]);
    const [s] = decodeOtlpProtoRequest(Buffer.concat([Buffer.from([0x0a, rs.length]), rs]));
    expect(s.resource).toEqual({ attributes: { a: '', b: '' }, droppedAttributesCount: 2 });
  });

  it('accepts an empty request and a Uint8Array', () => {
    expect(decodeOtlpProtoRequest(new Uint8Array(0))).toEqual([]);
    expect(decodeOtlpProtoRequest(new Uint8Array(request('2a0161')))[0].name).toBe('a');
    expect(decodeOtlpProtoRequest(Buffer.from('0a00', 'hex'))).toEqual([]);
  });

  it('a status with only a message keeps it; an empty status is UNSET_STATUS', () => {
    expect(one('7a03120178').status).toEqual({ code: StatusCode.Unset, message: 'x' });
    expect(one('7a00').status).toBe(UNSET_STATUS);
  });
});

describe('decodeOtlpProtoRequest: errors name the field', () => {
  const at = 'resourceSpans[0].scopeSpans[0].spans[0]';
  const request = (spanHex: string) => {
    const span = Buffer.from(spanHex, 'hex');
    const scopeSpans = Buffer.concat([Buffer.from([0x12, span.length]), span]);
    const resourceSpans = Buffer.concat([Buffer.from([0x12, scopeSpans.length]), scopeSpans]);
    return Buffer.concat([Buffer.from([0x0a, resourceSpans.length]), resourceSpans]);
  };
  const decodeError = (bytes: Uint8Array): OtlpDecodeError => {
    try {
      decodeOtlpProtoRequest(bytes);
    } catch (e) {
      expect(e).toBeInstanceOf(OtlpDecodeError);
      return e as OtlpDecodeError;
    }
    throw new Error('decoded without error');
  };

  it.each<[string, string, string]>([
    ['trace id of 5 bytes', '0a050102030405', `${at}.traceId: expected 16 bytes, got 5`],
    ['span id of 16 bytes', '1210' + '00'.repeat(16), `${at}.spanId: expected 8 bytes, got 16`],
    ['parent span id of 1 byte', '220101', `${at}.parentSpanId: expected 8 bytes, got 1`],
    ['link trace id of 8 bytes', '6a0a0a080102030405060708', `${at}.links[0].traceId: expected 16 bytes, got 8`],
    ['kind above 5', '3006', `${at}.kind: expected an integer from 0 to 5, got 6`],
    ['status code above 2', '7a021803', `${at}.status.code: expected an integer from 0 to 2, got 3`],
    ['name with the wrong wire type', '2801', `${at}.name: wrong wire type 0 (varint)`],
    ['start time as a varint', '3801', `${at}.startTimeUnixNano: wrong wire type 0 (varint)`],
    ['string longer than its message', '2a0561', `${at}.name: truncated message (a field of 5 bytes, 1 left)`],
    ['fixed64 cut short', '39010203', `${at}.startTimeUnixNano: truncated message`],
    ['varint cut short', '5080', `${at}.droppedAttributesCount: truncated message`],
    ['varint of 11 bytes', '50ffffffffffffffffffff01', `${at}.droppedAttributesCount: malformed varint (more than 10 bytes)`],
    ['field number 0', '0000', `${at}.<field 0>: invalid field number 0`],
    ['wire type 7', '0f', `${at}.traceId: wrong wire type 7 (7)`],
    ['attribute value of the wrong wire type', '4a050a016b1001', `${at}.attributes[0].value: wrong wire type 0 (varint)`],
    ['second attribute truncated', '4a030a016b4a050a016b1205', `${at}.attributes[1].value: truncated message (a field of 5 bytes, 0 left)`],
    ['array element', '4a0f0a016b120a2a080a0218010a020a10', `${at}.attributes[0].value.arrayValue.values[1].stringValue: truncated message (a field of 16 bytes, 0 left)`],
    ['kvlist entry', '4a0f0a016b120a32080a060a016e120115', `${at}.attributes[0].value.kvlistValue.values[0].value.boolValue: wrong wire type 5 (32-bit)`],
    ['event name', '5a021205', `${at}.events[0].name: truncated message (a field of 5 bytes, 0 left)`],
    ['end group without a start', '4c', `${at}.attributes: wrong wire type 4 (end group)`],
  ])('%s', (_title, spanHex, message) => {
    expect(decodeError(request(spanHex)).message).toBe(message);
  });

  it('names the index of the failing ResourceSpans, ScopeSpans and span', () => {
    const good = Buffer.from('0a00', 'hex');
    const bad = request('3009');
    const bytes = Buffer.concat([good, bad]);
    expect(decodeError(bytes).message).toBe('resourceSpans[1].scopeSpans[0].spans[0].kind: expected an integer from 0 to 5, got 9');
  });

  it('a request truncated anywhere is an error, never a crash', () => {
    const full = encodeOtlpProtoRequest(decodeOtlpProtoRequest(theirProto));
    let errors = 0;
    for (let n = 1; n < full.length; n++) {
      try {
        decodeOtlpProtoRequest(full.subarray(0, n));
      } catch (e) {
        expect(e).toBeInstanceOf(OtlpDecodeError);
        errors++;
      }
    }
    // Most prefixes end inside a message; a few end on a message boundary and decode to fewer spans.
    expect(errors).toBeGreaterThan(full.length * 0.9);
  });

  it('values nested deeper than MAX_VALUE_DEPTH (64) are an OtlpDecodeError naming where', () => {
    // AnyValue{arrayValue{values[AnyValue{arrayValue{…}}]}} 100 000 deep, written outside in.
    const depth = 100_000;
    const anyLength = [0];
    const arrayLength = [0];
    for (let i = 1; i <= depth; i++) {
      arrayLength[i] = 1 + varint(anyLength[i - 1]).length + anyLength[i - 1];
      anyLength[i] = 1 + varint(arrayLength[i]).length + arrayLength[i];
    }
    const parts: Buffer[] = [];
    for (let i = depth; i >= 1; i--) parts.push(Buffer.from([0x2a]), varint(arrayLength[i]), Buffer.from([0x0a]), varint(anyLength[i - 1]));
    const value = Buffer.concat(parts);
    const kv = Buffer.concat([Buffer.from('0a016b12', 'hex'), varint(value.length), value]);
    const span = Buffer.concat([Buffer.from([0x4a]), varint(kv.length), kv]);
    const ss = Buffer.concat([Buffer.from([0x12]), varint(span.length), span]);
    const rs = Buffer.concat([Buffer.from([0x12]), varint(ss.length), ss]);
    const req = Buffer.concat([Buffer.from([0x0a]), varint(rs.length), rs]);
    expect(decodeError(req).message).toMatch(/\.value(\.arrayValue\.values\[0\]){64}: values nested deeper than 64 levels$/);
  });
});

function varint(n: number): Buffer {
  const out: number[] = [];
  while (n > 0x7f) {
    out.push((n & 0x7f) | 0x80);
    n >>>= 7;
  }
  out.push(n);
  return Buffer.from(out);
}

describe('ExportTraceServiceResponse', () => {
  it.each([
    ['full success', undefined, {}],
    ['an empty partial success is full success', { rejectedSpans: 0, errorMessage: '' }, {}],
    ['rejected spans and a message', { rejectedSpans: 3, errorMessage: 'bad ids' }, { partialSuccess: { rejectedSpans: '3', errorMessage: 'bad ids' } }],
    ['a warning without rejected spans', { rejectedSpans: 0, errorMessage: 'slow down' }, { partialSuccess: { errorMessage: 'slow down' } }],
  ])('%s', (_title, partial, reflected) => {
    const bytes = encodeOtlpProtoResponse(partial);
    expect(ResponseType.toObject(ResponseType.decode(bytes), { longs: String })).toEqual(reflected);
    const back = decodeOtlpProtoResponse(bytes);
    expect(back).toEqual(partial && (partial.rejectedSpans || partial.errorMessage) ? partial : undefined);
  });

  it('decodes what protobufjs writes', () => {
    const bytes = ResponseType.encode(ResponseType.fromObject({ partialSuccess: { rejectedSpans: 7, errorMessage: 'x' } })).finish();
    expect(decodeOtlpProtoResponse(bytes)).toEqual({ rejectedSpans: 7, errorMessage: 'x' });
  });
});

describe('google.rpc.Status with RetryInfo', () => {
  it('encodes code, message and a RetryInfo detail as protobufjs reads them', () => {
    const bytes = encodeRpcStatus({ code: 14, message: 'queue full', retryDelayMs: 2500 });
    const st = RpcStatusType.toObject(RpcStatusType.decode(bytes), { longs: Number }) as { code: number; message: string; details: { typeUrl: string; value: Uint8Array }[] };
    expect([st.code, st.message, st.details[0].typeUrl]).toEqual([14, 'queue full', RETRY_INFO_TYPE_URL]);
    expect(RetryInfoType.toObject(RetryInfoType.decode(st.details[0].value), { longs: Number })).toEqual({ retryDelay: { seconds: 2, nanos: 500_000_000 } });
    expect(decodeRpcStatus(bytes)).toEqual({ code: 14, message: 'queue full', retryDelayMs: 2500 });
  });

  it('decodes a Status written by protobufjs, without and with RetryInfo', () => {
    const retry = RetryInfoType.encode(RetryInfoType.fromObject({ retryDelay: { seconds: 30 } })).finish();
    const without = RpcStatusType.encode(RpcStatusType.fromObject({ code: 3, message: 'bad' })).finish();
    const withRetry = RpcStatusType.encode(RpcStatusType.fromObject({ code: 8, details: [{ typeUrl: 'type.googleapis.com/google.rpc.DebugInfo', value: Buffer.from('0a00', 'hex') }, { typeUrl: RETRY_INFO_TYPE_URL, value: retry }] })).finish();
    expect(decodeRpcStatus(without)).toEqual({ code: 3, message: 'bad' });
    expect(decodeRpcStatus(withRetry)).toEqual({ code: 8, message: '', retryDelayMs: 30_000 });
  });
});
