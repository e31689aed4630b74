import { describe, expect, it } from 'vitest';
import { decodeOtlpJsonRequest, encodeOtlpJsonRequest } from '../../src/codecs/otlp-json.js';
import { decodeOtlpProtoRequest, encodeOtlpProtoRequest } from '../../src/codecs/otlp-proto.js';
import { decodeZipkinV2Json, encodeZipkinV2Span } from '../../src/codecs/zipkin-json.js';
import { MAX_VALUE_DEPTH } from '../../src/model/span.js';

const NO_DURATION = '{"traceId":"463ac35c9f6413ad","id":"48485a3953bb6124","name":"pending","timestamp":1700000000000001}';

describe('a span with a start and no end in OTLP', () => {
  it.each([
    ['OTLP/JSON', (s: ReturnType<typeof decodeZipkinV2Json>) => decodeOtlpJsonRequest(encodeOtlpJsonRequest(s))],
    ['OTLP/protobuf', (s: ReturnType<typeof decodeZipkinV2Json>) => decodeOtlpProtoRequest(encodeOtlpProtoRequest(s))],
  ])('%s writes end = start, and Zipkin reads it back as no duration', (_name, roundTrip) => {
    const spans = decodeZipkinV2Json(`[${NO_DURATION}]`);
    expect(spans[0].endTimeUnixNano).toBe(0n);
    const back = roundTrip(spans);
    expect(back[0].endTimeUnixNano).toBe(1700000000000001000n);
    expect(back[0].startTimeUnixNano).toBe(1700000000000001000n);
    expect(encodeZipkinV2Span(back[0])).toBe(NO_DURATION);
  });
});

describe('nesting of array and map values', () => {
  const nested = (depth: number) => {
    let v: Record<string, unknown> = { stringValue: 'x' };
    for (let i = 0; i < depth; i++) v = { arrayValue: { values: [v] } };
    return JSON.stringify({
      resourceSpans: [{ scopeSpans: [{ spans: [{ traceId: '5af7183fb1d4cf5f5af7183fb1d4cf5f', spanId: '352bff9a74ca9ad2', name: 'n', attributes: [{ key: 'deep', value: v }] }] }] }],
    });
  };

  it('is accepted up to MAX_VALUE_DEPTH levels, and every encoder can write it', () => {
    const spans = decodeOtlpJsonRequest(nested(MAX_VALUE_DEPTH - 1));
    expect(decodeOtlpProtoRequest(encodeOtlpProtoRequest(spans))[0].attributes.deep).toEqual(spans[0].attributes.deep);
    expect(encodeZipkinV2Span(spans[0])).toContain('"deep":');
  });

  it('is refused beyond it by the OTLP/JSON decoder, which then recovers', () => {
    expect(() => decodeOtlpJsonRequest(nested(MAX_VALUE_DEPTH))).toThrow(`values nested deeper than ${MAX_VALUE_DEPTH} levels`);
    expect(() => decodeOtlpJsonRequest(nested(100_000))).toThrow();
    expect(decodeOtlpJsonRequest(nested(MAX_VALUE_DEPTH - 1))).toHaveLength(1);
  });

  it('is refused beyond it by the OTLP/protobuf decoder, which then recovers', () => {
    // Built by hand: the JSON decoder would refuse it first.
    let inner = Buffer.from([0x0a, 0x01, 0x78]); // AnyValue { string_value: "x" }
    const len = (b: Buffer) => Buffer.from(varint(b.length));
    for (let i = 0; i < MAX_VALUE_DEPTH; i++) {
      const values = Buffer.concat([Buffer.from([0x0a]), len(inner), inner]); // ArrayValue.values
      inner = Buffer.concat([Buffer.from([0x2a]), len(values), values]); // AnyValue.array_value
    }
    const kv = Buffer.concat([Buffer.from([0x0a, 0x01, 0x64, 0x12]), len(inner), inner]); // KeyValue
    const span = Buffer.concat([
      Buffer.from([0x0a, 0x10]), Buffer.alloc(16, 1), Buffer.from([0x12, 0x08]), Buffer.alloc(8, 2),
      Buffer.from([0x4a]), len(kv), kv,
    ]);
    const scopeSpans = Buffer.concat([Buffer.from([0x12]), len(span), span]);
    const resourceSpans = Buffer.concat([Buffer.from([0x12]), len(scopeSpans), scopeSpans]);
    const request = Buffer.concat([Buffer.from([0x0a]), len(resourceSpans), resourceSpans]);
    expect(() => decodeOtlpProtoRequest(request)).toThrow(`values nested deeper than ${MAX_VALUE_DEPTH} levels`);
    const ok = encodeOtlpProtoRequest(decodeOtlpJsonRequest(nested(MAX_VALUE_DEPTH - 1)));
    expect(decodeOtlpProtoRequest(ok)).toHaveLength(1);
  });
});

function varint(n: number): number[] {
  const out: number[] = [];
  while (n > 0x7f) {
    out.push((n & 0x7f) | 0x80);
    n >>>= 7;
  }
  out.push(n);
  return out;
}
