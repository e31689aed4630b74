/**
 * The byte-writing fast paths of the JSON encoders and the Zipkin decoder's shortcut, proved equal to
 * the general paths they stand in for: JsonBytes against Buffer.from of quoteJson/String, the file
 * exporter's writeZipkinV2Lines and encodeZipkinV2JsonBytes against encodeZipkinV2Span/-Json, and
 * tags objects taken as they are from the parse tree against the sorted copy.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { JsonBytes, quoteJson } from '../../src/codecs/json-text.js';
import { decodeZipkinV2Json, encodeZipkinV2Json, encodeZipkinV2JsonBytes, encodeZipkinV2Span, normalizeIp, writeZipkinV2Lines } from '../../src/codecs/zipkin-json.js';
import { decodeOtlpJsonRequest } from '../../src/codecs/otlp-json.js';
import { ZipkinView } from '../../src/codecs/zipkin-view.js';
import { Span, StatusCode, newResource, type Span as SpanType } from '../../src/model/span.js';

const fixture = (path: string): Buffer => readFileSync(new URL(`../fixtures/${path}`, import.meta.url));

const STRINGS: [string, string][] = [
  ['empty', ''],
  ['ASCII', 'get /api/v2/spans?x=1&y=2'],
  ['quote', 'say "hi"'],
  ['backslash', 'C:\\temp\\x'],
  ['short control escapes', '\b\t\n\f\r'],
  ['other control chars', '\u0000\u0001\u001f\u000b'],
  ['DEL is not escaped', 'a\u007fb'],
  ['Latin-1', 'café Größe'],
  ['CJK', '服务-名'],
  ['surrogate pair', 'pile of 💩 poo'],
  ['lone high surrogate', 'x\ud800y'],
  ['lone low surrogate', 'x\udc00y'],
  ['lone surrogate and a quote', '\ud800"'],
  ['lone surrogate at the end', 'abc\ud83d'],
  ['line separators', 'a\u2028b\u2029c'],
  ['escape after non-ASCII', 'é\n'],
  ['non-ASCII after a long ASCII run', 'x'.repeat(1000) + 'é'],
  ['long non-ASCII (grows the buffer)', 'ü'.repeat(70_000)],
  ['long ASCII (grows the buffer)', 'a'.repeat(100_000)],
];

/** What a writer holds after `write`, taken. */
function written(write: (w: JsonBytes) => void, initialBytes?: number): Buffer {
  const w = new JsonBytes(initialBytes);
  write(w);
  return w.take();
}

describe('JsonBytes', () => {
  it.each(STRINGS)('string: %s is the UTF-8 of quoteJson', (_title, s) => {
    expect(written((w) => w.string(s), 16)).toEqual(Buffer.from(quoteJson(s), 'utf8'));
  });

  it.each(STRINGS)('text: %s is its UTF-8', (_title, s) => {
    expect(written((w) => w.text(s), 16)).toEqual(Buffer.from(s, 'utf8'));
  });

  it.each([0, 1, 9, 10, 99, 100, 65535, 1_732_192_000_000_000, 2 ** 53 - 1, 2 ** 53, -1, -0, 1.5, 1e21, NaN, Infinity])('number %d is String(n)', (n) => {
    expect(written((w) => w.number(n)).toString('latin1')).toBe(String(n));
  });

  it.each([0n, 7n, 10n, 2n ** 53n - 1n, 2n ** 53n, 2n ** 63n - 1n, 2n ** 64n - 1n, -1n, -(2n ** 63n)])('bigint %s is String(n)', (n) => {
    expect(written((w) => w.bigint(n)).toString('latin1')).toBe(String(n));
  });

  it('writes pieces in order across growth, and starts empty after take', () => {
    const w = new JsonBytes(8);
    w.text('{"a":');
    w.string('x'.repeat(20));
    w.byte(0x2c);
    w.bigint(12345678901234567890n);
    w.byte(0x7d);
    const first = w.take();
    expect(first.toString()).toBe(`{"a":"${'x'.repeat(20)}",12345678901234567890}`);
    w.text('[]');
    expect(w.take().toString()).toBe('[]');
    // The first take is not overwritten by later writes.
    expect(first.toString()).toBe(`{"a":"${'x'.repeat(20)}",12345678901234567890}`);
  });

  it('takes pieces from one buffer while it has room, and never overwrites or loses what was taken', () => {
    // Larger than Node's pool of small buffers, so that each buffer has its own ArrayBuffer.
    const w = new JsonBytes(8192);
    const pieces = ['[1,2]', '"abc"', 'x'.repeat(3000), '{"k":"v"}', 'y'.repeat(9000), 'z'];
    const taken = pieces.map((p) => {
      w.text(p);
      expect(w.length).toBe(p.length);
      return w.take();
    });
    expect(taken.map((b) => b.toString())).toEqual(pieces);
    // The first pieces follow one another in the first buffer; the large one needed another.
    expect(taken[1].buffer).toBe(taken[0].buffer);
    expect(taken[2].buffer).toBe(taken[0].buffer);
    expect(taken[4].buffer).not.toBe(taken[0].buffer);
    // A failed piece is forgotten without touching the pieces taken before it.
    w.text('partial');
    w.reset();
    w.text('ok');
    expect(w.finish().toString()).toBe('ok');
    expect(taken.map((b) => b.toString())).toEqual(pieces);
  });
});

/** Spans with every tricky string in every field that the encoder quotes or writes raw. */
function trickySpans(): SpanType[] {
  const spans: SpanType[] = [];
  STRINGS.forEach(([, s], i) => {
    const id = (i + 1).toString(16).padStart(16, '0');
    const body = JSON.stringify([
      {
        traceId: id,
        id,
        name: s,
        kind: 'CLIENT',
        timestamp: 1_732_192_000_000_000 + i,
        duration: 9_007_199_254_740_993 - i, // above 2^53: the exact text path
        localEndpoint: { serviceName: s, ipv4: '10.0.0.1', port: 8080 },
        remoteEndpoint: { serviceName: s, ipv6: '2001:db8::1' },
        annotations: [{ timestamp: 1, value: s }],
        tags: { [s]: s, 'http.path': s, error: s },
        debug: true,
        shared: i % 2 === 0,
      },
    ]);
    spans.push(...decodeZipkinV2Json(body));
  });
  // A span from elsewhere: typed attributes, a resource with more keys, raw ids, events with attributes.
  const other = new Span(newResource({ 'service.name': 'svc "q"', 'host.name': 'h\u2028' }), {
    n: 5n,
    d: 1.5,
    b: true,
    bytes: new Uint8Array([0, 255]),
    arr: ['é', 1n, null],
    map: { k: '\ud800' },
  });
  other.traceId = '00000000000000001234567890abcdef';
  other.spanId = 'fedcba9876543210';
  other.startTimeUnixNano = 1_000_000_000_000_000_000n;
  other.endTimeUnixNano = 1_000_000_000_000_000_500n;
  other.events = [{ timeUnixNano: 5000n, name: 'ev "x"', attributes: { a: 'ü' }, droppedAttributesCount: 0 }];
  spans.push(other);
  return spans;
}

const linesOf = (spans: SpanType[]): Buffer => Buffer.from(spans.map((s) => encodeZipkinV2Span(s) + '\n').join(''), 'utf8');

describe('writeZipkinV2Lines', () => {
  it.each([
    ['Zipkin checkout trace', () => decodeZipkinV2Json(fixture('zipkin-v2/checkout-trace.json'))],
    ['Zipkin span bytes encoder cases', () => fixture('zipkin-v2/zipkin-span-bytes-encoder-test.jsonl').toString().split('\n').filter((l) => l.trim() !== '').flatMap((l) => decodeZipkinV2Json(`[${l}]`))],
    ['OTLP/JSON all fields', () => decodeOtlpJsonRequest(fixture('otlp-json/all-fields.json'))],
    ['OTLP/JSON proto example', () => decodeOtlpJsonRequest(fixture('otlp-json/opentelemetry-proto-trace-example.json'))],
    ['tricky strings', trickySpans],
  ])('%s: the same bytes as encodeZipkinV2Span lines', (_title, make) => {
    const spans = make();
    expect(spans.length).toBeGreaterThan(0);
    const got = writeZipkinV2Lines(spans, 0, spans.length);
    expect(got.toString('utf8')).toBe(linesOf(spans).toString('utf8'));
    expect(got.equals(linesOf(spans))).toBe(true);
  });

  it.each([
    ['no spans', () => []],
    ['Zipkin checkout trace', () => decodeZipkinV2Json(fixture('zipkin-v2/checkout-trace.json'))],
    ['tricky strings', trickySpans],
  ])('encodeZipkinV2JsonBytes, %s: the UTF-8 of encodeZipkinV2Json', (_title, make) => {
    const spans: SpanType[] = make();
    const got = encodeZipkinV2JsonBytes(spans);
    // Compared as bytes: lone surrogates have no UTF-8, so the text does not round-trip.
    expect(got.toString('utf8')).toBe(Buffer.from(encodeZipkinV2Json(spans), 'utf8').toString('utf8'));
    expect(got.equals(Buffer.from(encodeZipkinV2Json(spans), 'utf8'))).toBe(true);
  });

  it('writes only the range asked for', () => {
    const spans = decodeZipkinV2Json(fixture('zipkin-v2/checkout-trace.json'));
    expect(spans.length).toBeGreaterThan(2);
    expect(writeZipkinV2Lines(spans, 1, 2)).toEqual(linesOf(spans.slice(1, 2)));
    expect(writeZipkinV2Lines(spans, 0, 0).length).toBe(0);
  });
});

describe('Zipkin µs of model times (Number arithmetic, BigInt past 2^53)', () => {
  const P32 = 2n ** 32n;
  const times: [string, bigint, bigint][] = [
    ['absent', 0n, 0n],
    ['duration without timestamp', 0n, 5000n],
    ['under 1 µs', 999n, 1000n],
    ['now', 1_732_192_000_123_456_789n, 1_732_192_000_124_691_356n],
    ['low half borrows', P32 - 1n, P32 + 5n],
    ['high half only', 7n * P32, 9n * P32],
    ['last safe µs', (2n ** 53n - 1n) * 1000n + 999n, (2n ** 53n - 1n) * 1000n + 1999n],
    ['past 2^53 µs', 2n ** 63n, 2n ** 64n - 1n],
    ['end before start', 5000n, 4000n],
    ['negative start', -5000n, 1000n],
    ['end past 2^64', 0n, 2n ** 64n + 5000n],
  ];
  const eventTimes = [0n, 999n, 1000n, P32 * 1000n - 1n, 2n ** 53n * 1000n - 1n, 2n ** 53n * 1000n, 2n ** 64n - 1n, -1500n];
  const expected = (start: bigint, end: bigint) => {
    const ts = start / 1000n;
    const d = end > start ? (end - start) / 1000n : 0n;
    return { timestamp: ts > 0n ? ts : 0n, duration: end > start ? (d > 0n ? d : 1n) : 0n, annotations: eventTimes.map((t) => t / 1000n) };
  };

  it.each(times)('%s: what BigInt division gives, in every encoder', (_title, start, end) => {
    const span = new Span(newResource(), {}, eventTimes.map((t, k) => ({ timeUnixNano: t, name: `e${k}`, attributes: {}, droppedAttributesCount: 0 })));
    Object.assign(span, { traceId: '463ac35c9f6413ad', spanId: '48485a3953bb6124', startTimeUnixNano: start, endTimeUnixNano: end });
    const want = expected(start, end);
    const text = encodeZipkinV2Span(span);
    // Numbers as text: past 2^53 JSON.parse would round them.
    const top = text.slice(0, text.indexOf('"annotations"'));
    const found = Object.fromEntries([...top.matchAll(/"(timestamp|duration)":(-?\d+)/g)].map((m) => [m[1], BigInt(m[2])]));
    expect(found).toEqual({ ...(want.timestamp !== 0n ? { timestamp: want.timestamp } : {}), ...(want.duration !== 0n ? { duration: want.duration } : {}) });
    const annotations = JSON.parse(text.replace(/"timestamp":(-?\d+)/g, '"timestamp":"$1"')).annotations.map((a: { timestamp: string }) => BigInt(a.timestamp));
    expect(annotations).toEqual(want.annotations);
    expect(writeZipkinV2Lines([span], 0, 1).toString('utf8')).toBe(text + '\n');
    const v = new ZipkinView().fill(span);
    expect([v.timestamp, v.duration, [...v.annotationTimestamps.slice(0, v.annotationCount)]]).toEqual([want.timestamp, want.duration, want.annotations]);
  });
});

describe('Zipkin JSON decoder shortcuts', () => {
  // Tags: a parsed object is used as the attributes when its keys are sorted and its values strings;
  // otherwise a sorted copy is built. Either way, the attributes enumerate in key order as Zipkin's
  // TreeMap would, with integer-like keys first (JS object order).
  it.each([
    ['sorted strings', '{"a":"1","b":"2"}', [['a', '1'], ['b', '2']]],
    ['unsorted', '{"b":"2","a":"1"}', [['a', '1'], ['b', '2']]],
    ['a number keeps its text', '{"a":1.0,"b":"x"}', [['a', '1.0'], ['b', 'x']]],
    ['integer-like keys', '{"b":"x","10":"y","9":"z"}', [['9', 'z'], ['10', 'y'], ['b', 'x']]],
    ['__proto__ is a tag', '{"__proto__":"p","a":"1"}', [['__proto__', 'p'], ['a', '1']]],
    ['upper case sorts first', '{"a":"1","B":"2"}', [['B', '2'], ['a', '1']]],
  ])('tags %s', (_title, tags, want) => {
    const [span] = decodeZipkinV2Json(`[{"traceId":"1","id":"2","tags":${tags}}]`);
    expect(Object.entries(span.attributes)).toEqual(want);
    expect(Object.getPrototypeOf(span.attributes)).toBe(Object.prototype);
  });

  it('sorts tags right whatever key orders came before (the decoder remembers the last few orders)', () => {
    // 12 orders of three keys and their groups (the OTel ones give status), twice: more than it keeps.
    const orders = [['a', 'b', 'error'], ['b', 'a', 'error'], ['error', 'a', 'b'], ['a', 'error', 'b'], ['b', 'error', 'a'], ['error', 'b', 'a']];
    const bodies = [...orders, ...orders.map((o) => o.map((k) => (k === 'error' ? 'c' : k)))];
    const spans = [...bodies, ...bodies].map((keys, n) => `{"traceId":"1","id":"${n + 1}","tags":{${keys.map((k) => `"${k}":"${k}${n}"`).join(',')}}}`);
    const decoded = decodeZipkinV2Json(`[${spans.join(',')}]`);
    decoded.forEach((span, n) => {
      const keys = [...bodies, ...bodies][n].slice().sort();
      expect(Object.entries(span.attributes)).toEqual(keys.map((k) => [k, `${k}${n}`]));
      expect(span.status.code).toBe(keys.includes('error') ? StatusCode.Error : StatusCode.Unset);
    });
  });

  it('refuses a null tag value whatever the shape', () => {
    expect(() => decodeZipkinV2Json('[{"traceId":"1","id":"2","tags":{"a":null}}]')).toThrow('span[0].tags.a: No value');
  });

  // Dotted quads at the edges of what Zipkin accepts (more rows in zipkin-json.test.ts).
  it.each([
    ['0.0.0.0', '0.0.0.0'],
    ['255.255.255.255', '255.255.255.255'],
    ['255.255.255.256', ''],
    ['1.2.3.4.', ''],
    ['.1.2.3.4', ''],
    ['1..2.3', ''],
    ['1234567', ''],
    ['1.2.3.04', '1.2.3.04'],
    ['1.2.3.0004', ''],
    ['123.123.123.1234', ''],
    ['.', ''],
  ])('normalizeIp %j → %j', (input, want) => {
    expect(normalizeIp(input)).toBe(want);
  });
});
