import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { decodeSpanRecord, encodeSpanRecord, SpanRecordError } from '../../src/codecs/span-record.js';
import { decodeOtlpJsonRequest } from '../../src/codecs/otlp-json.js';
import { decodeZipkinV2Json } from '../../src/codecs/zipkin-json.js';
import { newResource, Span, SpanKind, StatusCode } from '../../src/model/span.js';

const fixture = (p: string) => readFileSync(new URL(`../fixtures/${p}`, import.meta.url));

/** A span that sets every field of the model to a non-default value, with every attribute type. */
function everyField(): Span {
  const resource = newResource({ 'service.name': 'checkout', 'host.id': 7n });
  resource.droppedAttributesCount = 2;
  const s = new Span(
    resource,
    {
      str: 'π ≠ 3, 漢字 and a longer string that is over forty-two UTF-16 units long ✓',
      yes: true,
      no: false,
      int: -9_223_372_036_854_775_808n,
      dbl: -0.5,
      nan: Number.NaN,
      bytes: new Uint8Array([0, 1, 255]),
      arr: ['a', 1n, 2.5, [true, null]],
      map: { inner: { deeper: 'x' }, empty: {} },
      nil: null,
      '': 'empty key',
    },
    [{ timeUnixNano: 1_700_000_000_123_456_789n, name: 'cache miss', attributes: { k: 'v' }, droppedAttributesCount: 1 }],
    [{ traceId: 'a'.repeat(32), spanId: 'b'.repeat(16), traceState: 'k=v', attributes: { l: 1n }, droppedAttributesCount: 3, flags: 0x301 }],
  );
  s.traceId = '0123456789abcdef0123456789abcdef';
  s.spanId = '0123456789abcdef';
  s.parentSpanId = 'fedcba9876543210';
  s.name = 'GET /cart';
  s.kind = SpanKind.Server;
  s.startTimeUnixNano = 18_446_744_073_709_551_615n;
  s.endTimeUnixNano = 1n;
  s.droppedAttributesCount = 4;
  s.droppedEventsCount = 5;
  s.droppedLinksCount = 6;
  s.status = { code: StatusCode.Error, message: 'boom' };
  s.traceState = 'congo=t61rcWkgMzE';
  s.flags = 0x101;
  s.scope = { name: 'io.opentelemetry.http', version: '1.2.3', attributes: { a: 'b' }, droppedAttributesCount: 9 };
  s.shared = true;
  s.debug = true;
  s.localEndpoint = { serviceName: 'checkout', ipv4: '10.0.0.1', ipv6: '2001:db8::1', port: 65535 };
  s.remoteEndpoint = { serviceName: 'db', ipv4: '', ipv6: '::1', port: 0 };
  return s;
}

describe('span record codec', () => {
  it.each([
    ['every model field', () => [everyField(), new Span(newResource())]],
    ['Zipkin v2 rich trace', () => decodeZipkinV2Json(fixture('zipkin/rich-trace.json'))],
    ['OTLP JSON, every field', () => decodeOtlpJsonRequest(fixture('otlp-json/all-fields.json'))],
    ['OTLP JSON, proto example', () => decodeOtlpJsonRequest(fixture('otlp-json/opentelemetry-proto-trace-example.json'))],
  ])('round-trips %s exactly', (_name, make) => {
    const batch = make();
    const back = decodeSpanRecord(encodeSpanRecord(batch));
    expect(back).toEqual(batch);
    // Spans that shared a resource still share one, so encoders can keep grouping by identity.
    const distinct = (b: Span[]) => new Set(b.map((s) => s.resource)).size;
    expect(distinct(back)).toBe(distinct(batch));
  });

  it('keeps a __proto__ attribute as data', () => {
    const s = new Span(newResource());
    Object.defineProperty(s.attributes, '__proto__', { value: 'x', enumerable: true, writable: true, configurable: true });
    const [back] = decodeSpanRecord(encodeSpanRecord([s]));
    expect(Object.getOwnPropertyDescriptor(back.attributes, '__proto__')?.value).toBe('x');
    expect(Object.getPrototypeOf(back.attributes)).toBe(Object.prototype);
  });

  it('refuses every truncation and trailing garbage, never returning a wrong batch', () => {
    const full = encodeSpanRecord([everyField()]);
    for (let n = 0; n < full.length; n++) expect(() => decodeSpanRecord(full.subarray(0, n)), `prefix of ${n} bytes`).toThrow(SpanRecordError);
    expect(() => decodeSpanRecord(Buffer.concat([full, Buffer.from([0])]))).toThrow(/bytes after the last span/);
    const wrongVersion = Buffer.from(full);
    wrongVersion[0] = 9;
    expect(() => decodeSpanRecord(wrongVersion)).toThrow(/version 9/);
  });
});
