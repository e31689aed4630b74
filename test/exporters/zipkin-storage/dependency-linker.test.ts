/**
 * The dependency linker: Zipkin's DependencyLinkerTest cases (dependency-linker-cases.ts), each asserting
 * the exact list of links; then input normalisation, several traces and days, and the model→JSON copy.
 * dependency-linker-zipkin.test.ts checks the same cases against a real Zipkin server's linker.
 */
import { describe, expect, it } from 'vitest';
import { decodeZipkinV2Json } from '../../../src/codecs/zipkin-json.js';
import { cases, cleanupCases, link, span } from './dependency-linker-cases.js';
import {
  DependencyLinker,
  linkDaily,
  linkTrace,
  linkTraces,
  mergeLinks,
  midnightUtc,
  utcDayOfSpan,
  utcDayOfTrace,
  zipkinSpanJsonOf,
  type DependencyLink,
  type ZipkinSpanJson,
} from '../../../src/exporters/zipkin-storage/dependency-linker.js';

describe('DependencyLinker (Zipkin DependencyLinkerTest cases)', () => {
  it.each(cases)('$name', ({ traces, links }) => {
    const linker = new DependencyLinker();
    for (const trace of traces) linker.putTrace(trace);
    expect(linker.link()).toEqual(links);
  });

  it.each(cleanupCases)('cleaned up first: $name', ({ traces, links }) => {
    expect(linkTraces(traces.flat())).toEqual(links);
  });

  it.each(cases.filter((c) => c.traces.length === 1))('$name, spans in reverse order', ({ traces, links }) => {
    // Zipkin sorts a trace before building the tree: report order does not change which links exist.
    expect(sortLinks(linkTrace([...traces[0]].reverse()))).toEqual(sortLinks(links));
  });
});

function sortLinks(links: DependencyLink[]): DependencyLink[] {
  return [...links].sort((a, b) => (a.parent + '\0' + a.child < b.parent + '\0' + b.child ? -1 : 1));
}

describe('mergeLinks (Zipkin DependencyLinkerTest merge cases)', () => {
  it.each([
    {
      name: 'merge',
      in: [link('foo', 'bar', 2, 1), link('foo', 'bar', 2, 2), link('foo', 'foo', 1)],
      out: [link('foo', 'bar', 4, 3), link('foo', 'foo', 1)],
    },
    {
      name: 'merge_error',
      in: [link('client', 'server', 2), link('client', 'server', 2), link('client', 'client', 1)],
      out: [link('client', 'server', 4), link('client', 'client', 1)],
    },
    {
      name: 'links read back from a store without errorCount',
      in: [{ parent: 'a', child: 'b', callCount: 3 }, { parent: 'a', child: 'b', callCount: 1, errorCount: 1 }, { parent: 'b', child: 'a', callCount: 1, errorCount: null }],
      out: [link('a', 'b', 4, 1), link('b', 'a', 1)],
    },
    {
      name: 'pairs are compared whole (no separator collisions)',
      in: [link('a|b', 'c', 1), link('a', 'b|c', 1)],
      out: [link('a|b', 'c', 1), link('a', 'b|c', 1)],
    },
  ])('$name', (c) => {
    const before = JSON.stringify(c.in);
    expect(mergeLinks(c.in)).toEqual(c.out);
    expect(JSON.stringify(c.in)).toBe(before);
  });
});

describe('input as Zipkin normalises it', () => {
  const T64 = '463ac35c9f6413ad';
  const T128 = '48485a3953bb6124' + T64;
  it.each<{ name: string; spans: ZipkinSpanJson[]; links: DependencyLink[] }>([
    {
      name: 'service names are lower-cased, empty names are absent',
      spans: [span('1', null, '1', 'SERVER', 'Web', '', false), span('1', '1', '2', 'CLIENT', 'WEB', 'App', false)],
      links: [link('web', 'app', 1)],
    },
    {
      name: 'short and upper-case ids are padded and lower-cased',
      spans: [span('A', null, 'A', 'SERVER', 'web', null, false), span('0a', '000A', 'b', 'SERVER', 'app', null, false)],
      links: [link('web', 'app', 1)],
    },
    {
      name: 'spans with ids that are not hex are ignored, the rest is linked',
      spans: [
        span('a', null, 'a', 'SERVER', 'web', null, false),
        span('a', 'a', 'xyz', 'SERVER', 'app', null, false),
        span('a', 'a', '', 'SERVER', 'app', null, false),
        span('a', 'a', '0', 'SERVER', 'app', null, false),
        span('a', 'a', 'c', 'SERVER', 'db', null, false),
      ],
      links: [link('web', 'db', 1)],
    },
    {
      name: 'a span sent in two fragments counts once',
      spans: [
        span('a', null, 'a', 'SERVER', 'web', null, false),
        { traceId: 'a', parentId: 'a', id: 'b', kind: 'CLIENT', localEndpoint: { serviceName: 'web' } },
        { traceId: 'a', parentId: 'a', id: 'b', remoteEndpoint: { serviceName: 'db' }, tags: { error: 'timeout' } },
      ],
      links: [link('web', 'db', 1, 1)],
    },
    {
      name: 'the same span twice counts once',
      spans: [span('a', null, 'a', 'SERVER', 'web', null, false), span('a', 'a', 'b', 'CLIENT', 'web', 'db', false), span('a', 'a', 'b', 'CLIENT', 'web', 'db', false)],
      links: [link('web', 'db', 1)],
    },
    {
      name: 'a server reusing its client id without `shared` is made shared',
      spans: [
        span('a', null, 'a', 'SERVER', 'web', null, false),
        span('a', 'a', 'b', 'CLIENT', 'web', null, false),
        span('a', 'a', 'b', 'SERVER', 'app', null, false),
        span('a', 'b', 'c', 'CLIENT', 'app', 'db', false),
      ],
      links: [link('web', 'app', 1), link('app', 'db', 1)],
    },
    {
      name: 'spans of a 64-bit and a 128-bit id of one trace are one trace',
      spans: [span(T128, null, 'a', 'SERVER', 'web', null, false), span(T64, 'a', 'b', 'SERVER', 'app', null, false)],
      links: [link('web', 'app', 1)],
    },
    {
      name: 'JSON nulls are absent',
      spans: [
        { traceId: 'a', id: 'a', parentId: null, kind: 'SERVER', localEndpoint: { serviceName: 'web', ipv4: null, port: null }, remoteEndpoint: null, tags: null },
        { traceId: 'a', id: 'b', parentId: 'a', kind: null, localEndpoint: { serviceName: 'web' }, remoteEndpoint: { serviceName: 'db' }, shared: null },
      ],
      links: [link('web', 'db', 1)],
    },
  ])('$name', ({ spans, links }) => {
    const before = JSON.stringify(spans);
    expect(linkTraces(spans)).toEqual(links);
    expect(JSON.stringify(spans)).toBe(before);
  });

  it('strictTraceId keeps a 64-bit and a 128-bit id apart', () => {
    const spans = [span(T128, null, 'a', 'SERVER', 'web', null, false), span(T64, 'a', 'b', 'SERVER', 'app', null, false)];
    // Two traces: each has a root server with an unknown caller, so nothing links.
    expect(linkTraces(spans, { strictTraceId: true })).toEqual([]);
  });

  it('never throws on malformed input', () => {
    const junk = [null, 1, 'x', {}, { traceId: 1, id: 2 }, { traceId: 'a', id: 'b', kind: 'SIDEWAYS', localEndpoint: 'web', tags: 'error' }, { traceId: 'a', id: 'c', parentId: 'c', annotations: [null] }];
    expect(linkTraces(junk as unknown as ZipkinSpanJson[])).toEqual([]);
    expect(linkDaily(junk as unknown as ZipkinSpanJson[], { fallbackDay: 0 })).toEqual(new Map());
  });

  it('a parent cycle links nothing and ends', () => {
    const spans = [span('a', 'c', 'b', 'SERVER', 'x', 'y', false), span('a', 'b', 'c', 'SERVER', 'y', 'x', false)];
    expect(linkTraces(spans)).toEqual([]);
  });
});

describe('several traces and days', () => {
  const DAY = Date.UTC(2026, 10, 20); // 2026-11-20T00:00Z
  const us = (ms: number) => ms * 1000;

  /** web → app (→ db, failing), starting at `ms`, in trace `traceId`; 10 ms from span to span. */
  function trace(traceId: string, ms: number): ZipkinSpanJson[] {
    return [
      span(traceId, null, '1', 'SERVER', 'web', null, false, { timestamp: us(ms) }),
      span(traceId, '1', '2', 'CLIENT', 'web', 'app', false, { timestamp: us(ms + 10) }),
      span(traceId, '1', '2', 'SERVER', 'app', null, false, { timestamp: us(ms + 20), shared: true }),
      span(traceId, '2', '3', 'CLIENT', 'app', 'db', true, { timestamp: us(ms + 30) }),
    ];
  }

  it('linkTraces groups interleaved spans by trace', () => {
    const a = trace('a', DAY);
    const b = trace('b', DAY);
    const interleaved = a.flatMap((s, i) => [s, b[i]]);
    expect(linkTraces(interleaved)).toEqual([link('web', 'app', 2), link('app', 'db', 2, 2)]);
  });

  it('linkDaily files links under the day of each span, splitting a trace across midnight', () => {
    const spans = [
      ...trace('a', DAY + 1000),
      ...trace('b', DAY + 5 * 3600_000),
      // Starts one millisecond before midnight: its root is on the day before, the rest on DAY.
      ...trace('c', DAY - 1),
      { traceId: 'd', id: '9', kind: 'CLIENT', localEndpoint: { serviceName: 'cron' }, remoteEndpoint: { serviceName: 'web' } } as ZipkinSpanJson,
    ];
    expect(linkDaily(spans)).toEqual(
      new Map([
        [DAY, [link('web', 'app', 3), link('app', 'db', 3, 3)]],
        // Nothing on the day before: the root server alone does not know its caller.
      ]),
    );
    const withFallback = linkDaily(spans, { fallbackDay: DAY + 7 * 86_400_000 + 123 });
    expect(withFallback.get(DAY + 7 * 86_400_000)).toEqual([link('cron', 'web', 1)]);
  });

  it.each([
    { name: 'timestamp', span: span('a', null, 'a', null, null, null, false, { timestamp: us(DAY + 86_399_999) }), day: DAY },
    { name: 'timestamp at midnight', span: span('a', null, 'a', null, null, null, false, { timestamp: us(DAY) }), day: DAY },
    {
      name: 'no timestamp: the earliest annotation',
      span: span('a', null, 'a', null, null, null, false, { annotations: [{ timestamp: us(DAY + 86_400_000), value: 'b' }, { timestamp: us(DAY + 5), value: 'a' }] }),
      day: DAY,
    },
    { name: 'neither', span: span('a', null, 'a', null, null, null, false), day: undefined },
    { name: 'before 1970', span: span('a', null, 'a', null, null, null, false, { timestamp: 0, annotations: [{ timestamp: 1, value: 'x' }] }), day: 0 },
  ])('utcDayOfSpan: $name', ({ span: s, day }) => {
    expect(utcDayOfSpan(s)).toBe(day);
  });

  it('utcDayOfTrace is the day of the earliest span', () => {
    expect(utcDayOfTrace([...trace('a', DAY + 10), ...trace('a', DAY - 10)])).toBe(DAY - 86_400_000);
    expect(utcDayOfTrace([span('a', null, 'a', null, null, null, false)])).toBeUndefined();
  });

  it.each([
    [DAY + 1, DAY],
    [DAY, DAY],
    [DAY - 1, DAY - 86_400_000],
    [-1, -86_400_000],
  ])('midnightUtc(%d) = %d', (ms, day) => {
    expect(midnightUtc(ms)).toBe(day);
  });
});

describe('zipkinSpanJsonOf (model spans through the Zipkin view)', () => {
  it('gives back the Zipkin v2 JSON a model span was decoded from', () => {
    const json: ZipkinSpanJson[] = [
      {
        traceId: '48485a3953bb6124463ac35c9f6413ad',
        parentId: '463ac35c9f6413ad',
        id: '5b4185666d50f68b',
        kind: 'CLIENT',
        name: 'get',
        timestamp: 1472470996199000,
        duration: 207000,
        localEndpoint: { serviceName: 'frontend', ipv4: '127.0.0.1' },
        remoteEndpoint: { serviceName: 'backend', ipv4: '192.168.99.101', port: 9000 },
        annotations: [{ timestamp: 1472470996238000, value: 'foo' }],
        tags: { error: '', 'http.path': '/api' },
      },
      { traceId: '463ac35c9f6413ad', id: '5b4185666d50f68b', kind: 'SERVER', localEndpoint: { serviceName: 'backend' }, shared: true, debug: true },
    ];
    const spans = decodeZipkinV2Json(JSON.stringify(json));
    expect(spans.map((s) => zipkinSpanJsonOf(s))).toEqual(json);
    // As in Zipkin, a shared server span does not take its client's error: it is the client's direct
    // child, but its parentId is the client's parent, not the client.
    expect(linkTraces(spans.map((s) => zipkinSpanJsonOf(s)))).toEqual([link('frontend', 'backend', 1, 0)]);
  });
});
