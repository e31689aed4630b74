import { describe, expect, it } from 'vitest';
import { decodeOtlpJsonRequest, encodeOtlpJsonRequest } from '../../src/codecs/otlp-json.js';
import { decodeOtlpProtoRequest, encodeOtlpProtoRequest } from '../../src/codecs/otlp-proto.js';
import { decodeZipkinV2Json, encodeZipkinV2Span } from '../../src/codecs/zipkin-json.js';

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
