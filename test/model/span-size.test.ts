import { readFileSync } from 'node:fs';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { decodeOtlpJsonRequest } from '../../src/codecs/otlp-json.js';
import { decodeZipkinV2Json } from '../../src/codecs/zipkin-json.js';
import { estimateBatchBytes } from '../../src/model/span-size.js';
import { newResource, Span, StatusCode, type SpanBatch } from '../../src/model/span.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

/** Heap the batches made by `make` hold, per the V8 heap counters after full collections. */
function measuredBytes(make: () => SpanBatch[]): { measured: number; estimated: number } {
  gc();
  gc();
  const before = process.memoryUsage().heapUsed;
  const batches = make();
  gc();
  gc();
  const measured = process.memoryUsage().heapUsed - before;
  const estimated = batches.reduce((n, b) => n + estimateBatchBytes(b), 0);
  expect(batches.length).toBeGreaterThan(0); // keeps them alive until measured
  return { measured, estimated };
}

const fixture = (p: string) => readFileSync(new URL(`../fixtures/${p}`, import.meta.url));

describe('span size estimate', () => {
  it.each([
    ['Zipkin v2 spans with tags and annotations', () => fixture('zipkin/rich-trace.json'), decodeZipkinV2Json],
    ['OTLP spans with events, links and every attribute type', () => fixture('otlp-json/all-fields.json'), decodeOtlpJsonRequest],
  ])('is within 30% of the heap that %s hold', (_name, body, decode) => {
    const bytes = body();
    const { measured, estimated } = measuredBytes(() => Array.from({ length: 4000 }, () => decode(bytes)));
    expect(estimated / measured).toBeGreaterThan(0.7);
    expect(estimated / measured).toBeLessThan(1.4);
  });

  it('counts the free-form strings a span carries besides attributes', () => {
    const plain = new Span(newResource());
    const long = new Span(newResource());
    long.status = { code: StatusCode.Error, message: 'e'.repeat(100_000) };
    long.traceState = 'k=' + 'v'.repeat(200);
    long.links = [{ traceId: '', spanId: '', traceState: 'x'.repeat(5_000), attributes: {}, droppedAttributesCount: 0, flags: 0 }];
    const withOneLink = new Span(newResource());
    withOneLink.links = [{ traceId: '', spanId: '', traceState: '', attributes: {}, droppedAttributesCount: 0, flags: 0 }];
    expect(estimateBatchBytes([long]) - estimateBatchBytes([withOneLink])).toBe(100_000 + 202 + 5_000);
    expect(estimateBatchBytes([withOneLink])).toBeGreaterThan(estimateBatchBytes([plain]));
  });
});
