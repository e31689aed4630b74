/**
 * Span trees and their links: the cases of Zipkin's DependencyLinkerTest (openzipkin/zipkin,
 * zipkin/src/test/java/zipkin2/internal/DependencyLinkerTest.java), with the same trees and links. Zipkin
 * asserts some with `containsOnly` (any order); the links here are in the first-counted order Zipkin's
 * LinkedHashMap gives. Shared by the unit test and the test against a real Zipkin server.
 */
import type { DependencyLink, ZipkinKind, ZipkinSpanJson } from '../../../src/exporters/zipkin-storage/dependency-linker.js';

/** DependencyLinkerTest's `span(traceId, parentId, id, kind, local, remote, isError)`. */
export function span(
  traceId: string,
  parentId: string | null,
  id: string,
  kind: ZipkinKind | null,
  local: string | null,
  remote: string | null,
  isError: boolean,
  more: Partial<ZipkinSpanJson> = {},
): ZipkinSpanJson {
  const s: ZipkinSpanJson = { traceId, id };
  if (parentId !== null) s.parentId = parentId;
  if (kind !== null) s.kind = kind;
  if (local !== null) s.localEndpoint = { serviceName: local };
  if (remote !== null) s.remoteEndpoint = { serviceName: remote };
  if (isError) s.tags = { error: '' };
  return { ...s, ...more };
}

export function link(parent: string, child: string, callCount: number, errorCount = 0): DependencyLink {
  return { parent, child, callCount, errorCount };
}

export const shared = { shared: true };

// In reverse order, as reporting is more likely to occur this way.
export const TRACE: ZipkinSpanJson[] = [
  span('a', 'b', 'c', 'CLIENT', 'app', 'db', true),
  span('a', 'a', 'b', 'SERVER', 'app', 'web', false, shared),
  span('a', 'a', 'b', 'CLIENT', 'web', 'app', false),
  span('a', null, 'a', 'SERVER', 'web', null, false),
];
export const TRACE_LINKS = [link('web', 'app', 1), link('app', 'db', 1, 1)];

export interface Case {
  name: string;
  /** Traces put one after the other into one linker. */
  traces: ZipkinSpanJson[][];
  links: DependencyLink[];
}

export const cases: Case[] = [
  { name: 'baseCase', traces: [], links: [] },
  { name: 'linksSpans', traces: [TRACE], links: TRACE_LINKS },
  {
    name: 'traceIdIsOpaque',
    traces: [TRACE.map((s) => ({ ...s, traceId: '123' }))],
    links: TRACE_LINKS,
  },
  {
    name: 'linksSpans_serverMissingParentId',
    traces: [
      [
        span('a', null, 'b', 'SERVER', 'link', 'arn', false, shared),
        span('a', 'a', 'b', 'CLIENT', 'arn', 'link', false),
        span('a', null, 'a', 'SERVER', 'arn', null, false),
      ],
    ],
    links: [link('arn', 'link', 1)],
  },
  {
    name: 'lateParentIdInSharedSpan',
    traces: [TRACE.map((s, i) => (i === 2 ? { ...s, parentId: undefined } : s))],
    links: TRACE_LINKS,
  },
  {
    name: 'lostChildAndNoParentIdInSharedSpan',
    traces: [TRACE.map((s, i) => (i === 2 ? { ...s, parentId: undefined } : s)).filter((_, i) => i !== 1)],
    links: TRACE_LINKS,
  },
  {
    name: 'messagingSpansDontLinkWithoutBroker_consumer',
    traces: [[span('a', null, 'a', 'PRODUCER', 'producer', null, false), span('a', 'a', 'b', 'CONSUMER', 'consumer', 'kafka', false)]],
    links: [link('kafka', 'consumer', 1)],
  },
  {
    name: 'messagingSpansDontLinkWithoutBroker_producer',
    traces: [[span('a', null, 'a', 'PRODUCER', 'producer', 'kafka', false), span('a', 'a', 'b', 'CONSUMER', 'consumer', null, false)]],
    links: [link('producer', 'kafka', 1)],
  },
  {
    name: 'messagingWithBroker_both_sides_same',
    traces: [[span('a', null, 'a', 'PRODUCER', 'producer', 'kafka', false), span('a', 'a', 'b', 'CONSUMER', 'consumer', 'kafka', false)]],
    links: [link('producer', 'kafka', 1), link('kafka', 'consumer', 1)],
  },
  {
    name: 'messagingWithBroker_different',
    traces: [[span('a', null, 'a', 'PRODUCER', 'producer', 'kafka1', false), span('a', 'a', 'b', 'CONSUMER', 'consumer', 'kafka2', false)]],
    links: [link('producer', 'kafka1', 1), link('kafka2', 'consumer', 1)],
  },
  {
    name: 'messagingWithoutBroker_noLinks',
    traces: [[span('a', null, 'a', 'PRODUCER', 'producer', null, false), span('a', 'a', 'b', 'CONSUMER', 'consumer', null, false)]],
    links: [],
  },
  {
    name: 'producerLinksToServer_childSpan',
    traces: [[span('a', null, 'a', 'PRODUCER', 'producer', null, false), span('a', 'a', 'b', 'SERVER', 'server', null, false)]],
    links: [link('producer', 'server', 1)],
  },
  {
    name: 'producerLinksToServer_sameSpan',
    traces: [[span('a', null, 'a', 'PRODUCER', 'producer', null, false), span('a', null, 'a', 'SERVER', 'server', null, false, shared)]],
    links: [link('producer', 'server', 1)],
  },
  {
    name: 'clientDoesntLinkToConsumer_child',
    traces: [[span('a', null, 'a', 'CLIENT', 'client', null, false), span('a', 'a', 'b', 'CONSUMER', 'consumer', null, false)]],
    links: [],
  },
  {
    name: 'linksSpansDirectedByKind (root server that knows its client)',
    traces: [[span('a', null, 'a', 'SERVER', 'server', 'client', false)]],
    links: [link('client', 'server', 1)],
  },
  {
    name: 'linksSpansDirectedByKind (root client, shared flag dropped on a client)',
    traces: [[span('a', null, 'a', 'CLIENT', 'client', 'server', false, shared)]],
    links: [link('client', 'server', 1)],
  },
  {
    name: 'callsAgainstTheSameLinkIncreasesCallCount_span',
    traces: [
      [
        span('a', null, 'a', 'SERVER', 'client', null, false),
        span('a', 'a', 'b', 'CLIENT', null, 'server', false),
        span('a', 'a', 'c', 'CLIENT', null, 'server', false),
      ],
    ],
    links: [link('client', 'server', 2)],
  },
  {
    name: 'callsAgainstTheSameLinkIncreasesCallCount_trace',
    traces: [
      [span('a', null, 'a', 'SERVER', 'client', null, false), span('a', 'a', 'b', 'CLIENT', null, 'server', false)],
      [span('a', null, 'a', 'SERVER', 'client', null, false), span('a', 'a', 'b', 'CLIENT', null, 'server', false)],
    ],
    links: [link('client', 'server', 2)],
  },
  {
    name: 'singleHostSpansResultInASingleCallCount',
    traces: [[span('a', null, 'a', 'CLIENT', 'client', null, false), span('a', 'a', 'b', 'SERVER', 'server', null, false)]],
    links: [link('client', 'server', 1)],
  },
  {
    name: 'singleHostSpansResultInASingleErrorCount',
    traces: [[span('a', null, 'a', 'CLIENT', 'client', null, true), span('a', 'a', 'b', 'SERVER', 'server', null, true)]],
    links: [link('client', 'server', 1, 1)],
  },
  {
    name: 'singleHostSpansResultInASingleErrorCount_sameId',
    traces: [[span('a', null, 'a', 'CLIENT', 'client', null, true), span('a', null, 'a', 'SERVER', 'server', null, true, shared)]],
    links: [link('client', 'server', 1, 1)],
  },
  {
    name: 'singleHostSpansResultInASingleCallCount_defersNameToServer',
    traces: [[span('a', null, 'a', 'CLIENT', 'client', 'server', false), span('a', 'a', 'b', 'SERVER', 'server', null, false)]],
    links: [link('client', 'server', 1)],
  },
  {
    name: 'singleHostSpans_multipleChildren',
    traces: [
      [
        span('a', null, 'a', 'CLIENT', 'client', null, false),
        span('a', 'a', 'b', 'SERVER', 'server', 'client', true),
        span('a', 'a', 'c', 'SERVER', 'server', 'client', false),
      ],
    ],
    links: [link('client', 'server', 2, 1)],
  },
  {
    name: 'singleHostSpans_multipleChildren_defersNameToServer',
    traces: [
      [
        span('a', null, 'a', 'CLIENT', 'client', 'server', false),
        span('a', 'a', 'b', 'SERVER', 'server', null, false),
        span('a', 'a', 'c', 'SERVER', 'server', null, false),
      ],
    ],
    links: [link('client', 'server', 2)],
  },
  {
    name: 'intermediatedClientSpansMissingLocalServiceNameLinkToNearestServer',
    traces: [
      [
        span('a', null, 'a', 'SERVER', 'client', null, false),
        span('a', 'a', 'b', null, null, null, false),
        // possibly a local fan-out span
        span('a', 'b', 'c', 'CLIENT', 'server', null, false),
        span('a', 'b', 'd', 'CLIENT', 'server', null, false),
      ],
    ],
    links: [link('client', 'server', 2)],
  },
  {
    name: 'errorsOnUninstrumentedLinks',
    traces: [
      [
        span('a', null, 'a', 'SERVER', 'client', null, false),
        span('a', 'a', 'b', null, null, null, false),
        // there's no remote here, so we shouldn't see any error count
        span('a', 'b', 'c', 'CLIENT', 'server', null, true),
        span('a', 'b', 'd', 'CLIENT', 'server', null, true),
      ],
    ],
    links: [link('client', 'server', 2)],
  },
  {
    name: 'errorsOnInstrumentedLinks',
    traces: [
      [
        span('a', null, 'a', 'SERVER', 'foo', null, false),
        span('a', 'a', 'b', null, null, null, false),
        span('a', 'b', 'c', 'CLIENT', 'bar', 'baz', true),
        span('a', 'b', 'd', 'CLIENT', 'bar', 'baz', false),
      ],
    ],
    links: [link('foo', 'bar', 2), link('bar', 'baz', 2, 1)],
  },
  {
    name: 'linkWithErrorIsLogged (the error is counted)',
    traces: [[span('a', 'b', 'c', 'CLIENT', 'foo', 'bar', true)]],
    links: [link('foo', 'bar', 1, 1)],
  },
  {
    name: 'annotationNamedErrorDoesntIncrementErrorCount',
    traces: [[span('a', 'b', 'c', 'CLIENT', 'foo', 'bar', false, { annotations: [{ timestamp: 1, value: 'error' }] })]],
    links: [link('foo', 'bar', 1)],
  },
  {
    name: 'linksLoopbackSpans (server)',
    traces: [[span('a', null, 'a', 'SERVER', 'service', 'service', false)]],
    links: [link('service', 'service', 1)],
  },
  {
    name: 'linksLoopbackSpans (client)',
    traces: [[span('b', null, 'b', 'CLIENT', 'service', 'service', false)]],
    links: [link('service', 'service', 1)],
  },
  {
    name: 'noSpanKindTreatedSameAsClient',
    traces: [
      [
        span('a', null, 'a', null, 'some-client', 'web', false),
        span('a', 'a', 'b', null, 'web', 'app', false),
        span('a', 'b', 'c', null, 'app', 'db', false),
      ],
    ],
    links: [link('some-client', 'web', 1), link('web', 'app', 1), link('app', 'db', 1)],
  },
  {
    name: 'noSpanKindWithError',
    traces: [
      [
        span('a', null, 'a', null, 'some-client', 'web', false),
        span('a', 'a', 'b', null, 'web', 'app', true),
        span('a', 'b', 'c', null, 'app', 'db', false),
      ],
    ],
    links: [link('some-client', 'web', 1), link('web', 'app', 1, 1), link('app', 'db', 1)],
  },
  ...(
    [
      ['SERVER', null, null],
      ['SERVER', 'server', null],
      ['SERVER', null, 'client'],
      ['CLIENT', null, null],
      ['CLIENT', 'client', null],
      ['CLIENT', null, 'server'],
    ] as const
  ).map(([kind, local, remote]) => ({
    name: `cannotLinkSingleSpanWithoutBothServiceNames (${kind} ${local} -> ${remote})`,
    traces: [[span('a', null, 'a', kind, local, remote, false)]],
    links: [],
  })),
  {
    name: 'doesntLinkUnrelatedSpansWhenMissingRootSpan',
    traces: [[span('a', 'a', 'b', 'SERVER', 'service1', null, false), span('a', 'a', 'c', 'SERVER', 'service2', null, false)]],
    links: [],
  },
  {
    name: 'linksRelatedSpansWhenMissingRootSpan',
    traces: [[span('a', 'a', 'b', 'SERVER', 'service1', null, false), span('a', 'b', 'c', 'SERVER', 'service2', null, false)]],
    links: [link('service1', 'service2', 1)],
  },
  {
    name: 'linksSingleHostSpans',
    traces: [[span('a', null, 'a', 'CLIENT', 'web', null, false), span('a', 'a', 'b', 'SERVER', 'app', null, false)]],
    links: [link('web', 'app', 1)],
  },
  {
    name: 'linksSingleHostSpans_errorOnClient',
    traces: [[span('a', null, 'a', 'CLIENT', 'web', null, true), span('a', 'a', 'b', 'SERVER', 'app', null, false)]],
    links: [link('web', 'app', 1, 1)],
  },
  {
    name: 'missingSpan (detected missing link to client span)',
    traces: [[span('a', null, 'a', 'SERVER', 'web', null, false), span('a', 'a', 'b', 'CLIENT', 'app', null, false)]],
    links: [link('web', 'app', 1)],
  },
];

/**
 * Trees Zipkin cleans up before linking (Trace.merge, SpanNode), beyond DependencyLinkerTest. The links
 * were checked against a real Zipkin server (dependency-linker-zipkin.test.ts). Timestamps, where given,
 * are offsets under 1000 µs.
 */
export const cleanupCases: Case[] = [
  {
    name: 'a shared server does not take its client’s error (its parentId is not the client’s id)',
    traces: [[span('a', null, '1', 'SERVER', 'web', null, false), span('a', '1', '2', 'CLIENT', 'web', 'app', true), span('a', '1', '2', 'SERVER', 'app', null, false, shared)]],
    links: [link('web', 'app', 1)],
  },
  {
    name: 'a server reusing its client’s id without `shared` is made shared',
    traces: [
      [
        span('a', null, '1', 'SERVER', 'web', null, false),
        span('a', '1', '2', 'CLIENT', 'web', null, true),
        span('a', '1', '2', 'SERVER', 'app', null, false),
        span('a', '2', '3', 'CLIENT', 'app', 'db', false),
      ],
    ],
    links: [link('web', 'app', 1), link('app', 'db', 1)],
  },
  {
    name: 'two servers answering one client id are told apart by endpoint',
    traces: [
      [
        span('a', null, '1', 'SERVER', 'web', null, false),
        span('a', '1', '2', 'CLIENT', 'web', null, false),
        span('a', '1', '2', 'SERVER', 'app', null, false, shared),
        span('a', '1', '2', 'SERVER', 'app2', null, true, shared),
        span('a', '2', '3', 'CLIENT', 'app2', 'db', false),
        span('a', '2', '4', 'CLIENT', 'app', 'cache', false),
      ],
    ],
    links: [link('web', 'app', 1), link('web', 'app2', 1, 1), link('app', 'cache', 1), link('app2', 'db', 1)],
  },
  {
    name: 'a local span under a shared server',
    traces: [
      [
        span('a', null, '1', 'SERVER', 'web', 'browser', false),
        span('a', '1', '2', 'CLIENT', 'web', 'app', false),
        span('a', '1', '2', 'SERVER', 'app', 'web', false, shared),
        span('a', '2', '3', null, 'app', null, false),
        span('a', '3', '4', 'CLIENT', 'app', 'db', true),
      ],
    ],
    links: [link('browser', 'web', 1), link('web', 'app', 1), link('app', 'db', 1, 1)],
  },
  {
    name: 'fragments of one span are merged',
    traces: [
      [
        span('a', null, '1', 'SERVER', 'web', null, false),
        { traceId: 'a', parentId: '1', id: '2', kind: 'CLIENT', localEndpoint: { serviceName: 'web' } },
        { traceId: 'a', parentId: '1', id: '2', remoteEndpoint: { serviceName: 'db' }, tags: { error: 'x' } },
      ],
    ],
    links: [link('web', 'db', 1, 1)],
  },
  {
    name: 'service names are lower-cased',
    traces: [[span('a', null, '1', 'SERVER', 'Web', 'Browser', false), span('a', '1', '2', 'CLIENT', 'WEB', 'Db', false)]],
    links: [link('browser', 'web', 1), link('web', 'db', 1)],
  },
  {
    name: 'spans reported before their parents; siblings visited by timestamp',
    traces: [
      [
        span('a', '3', '4', 'SERVER', 'c', null, false, { timestamp: 100 }),
        span('a', '1', '3', 'CLIENT', 'b', 'c', false, { timestamp: 99 }),
        span('a', '1', '2', 'CLIENT', 'b', 'x', false, { timestamp: 98 }),
        span('a', null, '1', 'SERVER', 'b', 'a', false, { timestamp: 97 }),
      ],
    ],
    links: [link('a', 'b', 1), link('b', 'x', 1), link('b', 'c', 1)],
  },
  {
    name: 'a trace without root: the root-most spans visited by timestamp',
    traces: [[span('a', 'f', '2', 'CLIENT', 'b', 'y', false, { timestamp: 200 }), span('a', 'f', '3', 'CLIENT', 'b', 'x', false, { timestamp: 100 })]],
    links: [link('b', 'x', 1), link('b', 'y', 1)],
  },
];
