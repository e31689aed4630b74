/**
 * v1 → model conversion (zipkin-v1.ts), rule by rule, through both v1 readers: every row is a v1 span
 * (as v1 JSON) and the v2 spans Zipkin makes of it (as v2 JSON). The rows are the v1 → v2 cases of
 * openzipkin/zipkin's SpanConverterTest and V1SpanConverterTest, plus rows for rules they do not cover.
 * Each row is decoded from v1 JSON and from Thrift (written by the test writer) and must equal the v2
 * JSON decoded by the v2 decoder.
 */
import { describe, expect, it } from 'vitest';
import { decodeZipkinV2Json } from '../../src/codecs/zipkin-json.js';
import { decodeZipkinThrift } from '../../src/codecs/zipkin-thrift.js';
import { decodeZipkinV1Json } from '../../src/codecs/zipkin-v1-json.js';
import { encodeV1ThriftList, type V1EndpointJson, type V1SpanJson } from './zipkin-v1-thrift-writer.mjs';

const FRONTEND = { serviceName: 'frontend', ipv4: '127.0.0.1' };
const BACKEND = { serviceName: 'backend', ipv4: '192.168.99.101', port: 9000 };
const KAFKA = { serviceName: 'kafka' };

const a = (timestamp: number, value: string, endpoint?: V1EndpointJson) => ({ timestamp, value, ...(endpoint ? { endpoint } : {}) });
const tag = (key: string, value: string, endpoint?: V1EndpointJson) => ({ key, value, ...(endpoint ? { endpoint } : {}) });
const address = (key: 'ca' | 'sa' | 'ma', endpoint: V1EndpointJson) => ({ key, value: true, endpoint });

type Row = { name: string; v1: V1SpanJson; v2: Record<string, unknown>[] };

const ids = { traceId: '1', parentId: '2', id: '3' };
const TODAY = 1700006400000; // TestObjects.TODAY is a day in ms; Zipkin's test uses it as µs too.

const rows: Row[] = [
  // ---- SpanConverterTest (v1 → v2)
  {
    name: 'client',
    v1: {
      ...ids,
      name: 'get',
      timestamp: 1472470996199000,
      duration: 207000,
      annotations: [a(1472470996199000, 'cs', FRONTEND), a(1472470996238000, 'ws', FRONTEND), a(1472470996403000, 'wr', FRONTEND), a(1472470996406000, 'cr', FRONTEND)],
      binaryAnnotations: [tag('http.path', '/api', FRONTEND), tag('clnt/finagle.version', '6.45.0', FRONTEND), address('sa', BACKEND)],
    },
    v2: [
      {
        ...ids,
        name: 'get',
        kind: 'CLIENT',
        localEndpoint: FRONTEND,
        remoteEndpoint: BACKEND,
        timestamp: 1472470996199000,
        duration: 207000,
        annotations: [a(1472470996238000, 'ws'), a(1472470996403000, 'wr')],
        tags: { 'http.path': '/api', 'clnt/finagle.version': '6.45.0' },
      },
    ],
  },
  {
    name: 'client_unfinished',
    v1: { ...ids, name: 'get', timestamp: 1472470996199000, annotations: [a(1472470996199000, 'cs', FRONTEND), a(1472470996238000, 'ws', FRONTEND)] },
    v2: [{ ...ids, name: 'get', kind: 'CLIENT', localEndpoint: FRONTEND, timestamp: 1472470996199000, annotations: [a(1472470996238000, 'ws')] }],
  },
  {
    name: 'lateRemoteEndpoint_cr',
    v1: { ...ids, name: 'get', annotations: [a(1472470996199000, 'cr', FRONTEND)], binaryAnnotations: [address('sa', BACKEND)] },
    v2: [{ ...ids, name: 'get', kind: 'CLIENT', localEndpoint: FRONTEND, remoteEndpoint: BACKEND, annotations: [a(1472470996199000, 'cr')] }],
  },
  {
    name: 'lateRemoteEndpoint_sa',
    v1: { ...ids, binaryAnnotations: [address('sa', BACKEND)] },
    v2: [{ ...ids, remoteEndpoint: BACKEND }],
  },
  {
    name: 'noAnnotationsExceptAddresses',
    v1: { ...ids, name: 'get', timestamp: 1472470996199000, duration: 207000, binaryAnnotations: [tag('lc', '', FRONTEND), address('sa', BACKEND)] },
    v2: [{ ...ids, name: 'get', localEndpoint: FRONTEND, remoteEndpoint: BACKEND, timestamp: 1472470996199000, duration: 207000 }],
  },
  {
    name: 'server',
    v1: {
      traceId: '1',
      id: '2',
      name: 'get',
      timestamp: 1472470996199000,
      duration: 207000,
      annotations: [a(1472470996199000, 'sr', BACKEND), a(1472470996406000, 'ss', BACKEND)],
      binaryAnnotations: [tag('http.path', '/api', BACKEND), tag('finagle.version', '6.45.0', BACKEND), address('ca', FRONTEND)],
    },
    v2: [
      {
        traceId: '1',
        id: '2',
        name: 'get',
        kind: 'SERVER',
        localEndpoint: BACKEND,
        remoteEndpoint: FRONTEND,
        timestamp: 1472470996199000,
        duration: 207000,
        tags: { 'http.path': '/api', 'finagle.version': '6.45.0' },
      },
    ],
  },
  {
    name: 'server_clientAddress (historical Finagle span with the client socket)',
    v1: {
      traceId: '1',
      id: '2',
      name: 'get',
      annotations: [
        a(TODAY, 'sr', BACKEND),
        a(TODAY + 500, 'Gc(9,0.PSScavenge,2015-09-17 12:37:02 +0000,304.milliseconds+762.microseconds)', BACKEND),
        a(TODAY + 207000, 'ss', BACKEND),
      ],
      binaryAnnotations: [tag('srv/finagle.version', '6.28.0', { ...BACKEND, port: 0 }), address('sa', BACKEND), address('ca', { ...FRONTEND, port: 63840 })],
    },
    v2: [
      {
        traceId: '1',
        id: '2',
        name: 'get',
        kind: 'SERVER',
        localEndpoint: BACKEND,
        remoteEndpoint: { ...FRONTEND, port: 63840 },
        timestamp: TODAY,
        duration: 207000,
        annotations: [a(TODAY + 500, 'Gc(9,0.PSScavenge,2015-09-17 12:37:02 +0000,304.milliseconds+762.microseconds)')],
        tags: { 'srv/finagle.version': '6.28.0' },
        shared: true,
      },
    ],
  },
  {
    name: 'missingEndpoints',
    v1: { traceId: '1', parentId: '1', id: '2', name: 'foo', timestamp: 1472470996199000, duration: 207000 },
    v2: [{ traceId: '1', parentId: '1', id: '2', name: 'foo', timestamp: 1472470996199000, duration: 207000 }],
  },
  {
    name: 'missingEndpoints_coreAnnotation (no special treatment without endpoint)',
    v1: { traceId: '1', parentId: '1', id: '2', name: 'foo', timestamp: 1472470996199000, annotations: [a(1472470996199000, 'sr')] },
    v2: [{ traceId: '1', parentId: '1', id: '2', name: 'foo', timestamp: 1472470996199000, annotations: [a(1472470996199000, 'sr')] }],
  },
  {
    name: 'server_shared_v1_no_timestamp_duration',
    v1: { traceId: '1', parentId: '32', id: '3', name: 'get', annotations: [a(1472470996199000, 'sr', BACKEND), a(1472470996406000, 'ss', BACKEND)] },
    v2: [{ traceId: '1', parentId: '32', id: '3', name: 'get', kind: 'SERVER', shared: true, localEndpoint: BACKEND, timestamp: 1472470996199000, duration: 207000 }],
  },
  {
    name: 'server_incomplete_shared',
    v1: { traceId: '1', parentId: '32', id: '3', name: 'get', annotations: [a(1472470996199000, 'sr', BACKEND)] },
    v2: [{ traceId: '1', parentId: '32', id: '3', name: 'get', kind: 'SERVER', shared: true, localEndpoint: BACKEND, timestamp: 1472470996199000 }],
  },
  {
    name: 'lateRemoteEndpoint_ss',
    v1: { traceId: '1', id: '2', name: 'get', annotations: [a(1472470996199000, 'ss', BACKEND)], binaryAnnotations: [address('ca', FRONTEND)] },
    v2: [{ traceId: '1', id: '2', name: 'get', kind: 'SERVER', localEndpoint: BACKEND, remoteEndpoint: FRONTEND, annotations: [a(1472470996199000, 'ss')] }],
  },
  {
    name: 'lateRemoteEndpoint_ca',
    v1: { traceId: '1', id: '2', binaryAnnotations: [address('ca', FRONTEND)] },
    v2: [{ traceId: '1', id: '2', kind: 'SERVER', remoteEndpoint: FRONTEND }],
  },
  {
    name: 'localSpan_emptyComponent',
    v1: { traceId: '1', id: '2', name: 'local', timestamp: 1472470996199000, duration: 207000, binaryAnnotations: [tag('lc', '', { serviceName: 'frontend' })] },
    v2: [{ traceId: '1', id: '2', name: 'local', localEndpoint: { serviceName: 'frontend' }, timestamp: 1472470996199000, duration: 207000 }],
  },
  {
    name: 'producer_remote',
    v1: { ...ids, name: 'send', timestamp: 1472470996199000, annotations: [a(1472470996199000, 'ms', FRONTEND)], binaryAnnotations: [address('ma', KAFKA)] },
    v2: [{ ...ids, name: 'send', kind: 'PRODUCER', localEndpoint: FRONTEND, remoteEndpoint: KAFKA, timestamp: 1472470996199000 }],
  },
  {
    name: 'producer_duration',
    v1: { ...ids, name: 'send', timestamp: 1472470996199000, duration: 51000, annotations: [a(1472470996199000, 'ms', FRONTEND), a(1472470996250000, 'ws', FRONTEND)] },
    v2: [{ ...ids, name: 'send', kind: 'PRODUCER', localEndpoint: FRONTEND, timestamp: 1472470996199000, duration: 51000 }],
  },
  {
    name: 'consumer',
    v1: { ...ids, name: 'next-message', timestamp: 1472470996199000, annotations: [a(1472470996199000, 'mr', BACKEND)] },
    v2: [{ ...ids, name: 'next-message', kind: 'CONSUMER', localEndpoint: BACKEND, timestamp: 1472470996199000 }],
  },
  {
    name: 'consumer_remote',
    v1: { ...ids, name: 'next-message', timestamp: 1472470996199000, annotations: [a(1472470996199000, 'mr', BACKEND)], binaryAnnotations: [address('ma', KAFKA)] },
    v2: [{ ...ids, name: 'next-message', kind: 'CONSUMER', localEndpoint: BACKEND, remoteEndpoint: KAFKA, timestamp: 1472470996199000 }],
  },
  {
    name: 'consumer_duration',
    v1: { ...ids, name: 'next-message', timestamp: 1472470996199000, duration: 51000, annotations: [a(1472470996199000, 'wr', BACKEND), a(1472470996250000, 'mr', BACKEND)] },
    v2: [{ ...ids, name: 'next-message', kind: 'CONSUMER', localEndpoint: BACKEND, timestamp: 1472470996199000, duration: 51000 }],
  },
  {
    name: 'clientAndServer (one v1 span, two services: split)',
    v1: {
      ...ids,
      name: 'get',
      timestamp: 1472470996199000,
      duration: 207000,
      annotations: [
        a(1472470996199000, 'cs', FRONTEND),
        a(1472470996238000, 'ws', FRONTEND),
        a(1472470996250000, 'sr', BACKEND),
        a(1472470996350000, 'ss', BACKEND),
        a(1472470996403000, 'wr', FRONTEND),
        a(1472470996406000, 'cr', FRONTEND),
      ],
      binaryAnnotations: [
        tag('http.path', '/api', FRONTEND),
        tag('http.path', '/BACKEND', BACKEND),
        tag('clnt/finagle.version', '6.45.0', FRONTEND),
        tag('srv/finagle.version', '6.44.0', BACKEND),
        address('ca', FRONTEND),
        address('sa', BACKEND),
      ],
    },
    v2: [
      {
        ...ids,
        name: 'get',
        kind: 'CLIENT',
        localEndpoint: FRONTEND,
        remoteEndpoint: BACKEND,
        timestamp: 1472470996199000,
        duration: 207000,
        annotations: [a(1472470996238000, 'ws'), a(1472470996403000, 'wr')],
        tags: { 'http.path': '/api', 'clnt/finagle.version': '6.45.0' },
      },
      {
        ...ids,
        name: 'get',
        kind: 'SERVER',
        shared: true,
        localEndpoint: BACKEND,
        remoteEndpoint: FRONTEND,
        timestamp: 1472470996250000,
        duration: 100000,
        tags: { 'http.path': '/BACKEND', 'srv/finagle.version': '6.44.0' },
      },
    ],
  },
  {
    name: 'assumesServerWithoutTimestampIsShared',
    v1: { ...ids, name: 'get', annotations: [a(1472470996250000, 'sr', BACKEND), a(1472470996350000, 'ss', BACKEND)] },
    v2: [{ ...ids, name: 'get', kind: 'SERVER', shared: true, localEndpoint: BACKEND, timestamp: 1472470996250000, duration: 100000 }],
  },
  {
    name: 'clientAndServer_loopback (same service: the server side is a span of its own)',
    v1: {
      ...ids,
      name: 'get',
      timestamp: 1472470996199000,
      duration: 207000,
      annotations: [a(1472470996199000, 'cs', FRONTEND), a(1472470996250000, 'sr', FRONTEND), a(1472470996350000, 'ss', FRONTEND), a(1472470996406000, 'cr', FRONTEND)],
    },
    v2: [
      { ...ids, name: 'get', kind: 'CLIENT', localEndpoint: FRONTEND, timestamp: 1472470996199000, duration: 207000 },
      { ...ids, name: 'get', kind: 'SERVER', shared: true, localEndpoint: FRONTEND, timestamp: 1472470996250000, duration: 100000 },
    ],
  },
  {
    name: 'oneway_loopback',
    v1: { ...ids, name: 'get', annotations: [a(1472470996199000, 'cs', FRONTEND), a(1472470996250000, 'sr', FRONTEND)] },
    v2: [
      { ...ids, name: 'get', kind: 'CLIENT', localEndpoint: FRONTEND, timestamp: 1472470996199000 },
      { ...ids, name: 'get', kind: 'SERVER', shared: true, localEndpoint: FRONTEND, timestamp: 1472470996250000 },
    ],
  },
  {
    name: 'producer',
    v1: { ...ids, name: 'send', annotations: [a(1472470996199000, 'ms', FRONTEND)] },
    v2: [{ ...ids, name: 'send', kind: 'PRODUCER', localEndpoint: FRONTEND, timestamp: 1472470996199000 }],
  },
  {
    name: 'client_missingCs (bridged: only the end annotation)',
    v1: { traceId: '1', id: '2', name: 'get', timestamp: 1472470996199000, duration: 207000, annotations: [a(1472470996406000, 'cs', FRONTEND)] },
    v2: [{ traceId: '1', id: '2', name: 'get', kind: 'CLIENT', localEndpoint: FRONTEND, timestamp: 1472470996199000, duration: 207000 }],
  },
  {
    name: 'server_missingSr (sr synthesized from timestamp when ss = timestamp + duration)',
    v1: { traceId: '1', id: '2', name: 'get', timestamp: 1472470996199000, duration: 207000, annotations: [a(1472470996406000, 'ss', BACKEND)] },
    v2: [{ traceId: '1', id: '2', name: 'get', kind: 'SERVER', localEndpoint: BACKEND, timestamp: 1472470996199000, duration: 207000 }],
  },
  {
    name: 'redundantAddressAnnotations_client',
    v1: {
      ...ids,
      name: 'get',
      timestamp: 1472470996199000,
      duration: 207000,
      annotations: [a(1472470996199000, 'cs', FRONTEND), a(1472470996406000, 'cr', FRONTEND)],
      binaryAnnotations: [address('ca', FRONTEND), address('sa', FRONTEND)],
    },
    v2: [{ ...ids, kind: 'CLIENT', name: 'get', localEndpoint: FRONTEND, remoteEndpoint: FRONTEND, timestamp: 1472470996199000, duration: 207000 }],
  },
  {
    name: 'redundantServiceNameOnAddressAnnotations_server (ca equal to the server: no remote)',
    v1: {
      ...ids,
      name: 'get',
      timestamp: 1472470996199000,
      duration: 207000,
      annotations: [a(1472470996199000, 'sr', FRONTEND), a(1472470996406000, 'ss', FRONTEND)],
      binaryAnnotations: [address('ca', FRONTEND), address('sa', FRONTEND)],
    },
    v2: [{ ...ids, kind: 'SERVER', name: 'get', localEndpoint: FRONTEND, timestamp: 1472470996199000, duration: 207000 }],
  },
  {
    name: 'redundantServiceNameOnAddressAnnotations_serverRetainsClientSocket (ca with the server name loses it)',
    v1: {
      ...ids,
      name: 'get',
      timestamp: 1472470996199000,
      duration: 207000,
      annotations: [a(1472470996199000, 'sr', BACKEND), a(1472470996406000, 'ss', BACKEND)],
      binaryAnnotations: [address('ca', { ...FRONTEND, serviceName: 'backend' }), address('sa', BACKEND)],
    },
    v2: [{ ...ids, kind: 'SERVER', name: 'get', localEndpoint: BACKEND, remoteEndpoint: { ipv4: '127.0.0.1' }, timestamp: 1472470996199000, duration: 207000 }],
  },
  {
    name: 'producerAndConsumer (one v1 span: split)',
    v1: {
      ...ids,
      name: 'whatev',
      annotations: [a(1472470996199000, 'ms', FRONTEND), a(1472470996238000, 'ws', FRONTEND), a(1472470996403000, 'wr', BACKEND), a(1472470996406000, 'mr', BACKEND)],
      binaryAnnotations: [address('ma', KAFKA)],
    },
    v2: [
      { ...ids, name: 'whatev', kind: 'PRODUCER', localEndpoint: FRONTEND, remoteEndpoint: KAFKA, timestamp: 1472470996199000, duration: 39000 },
      { ...ids, name: 'whatev', kind: 'CONSUMER', shared: true, localEndpoint: BACKEND, remoteEndpoint: KAFKA, timestamp: 1472470996403000, duration: 3000 },
    ],
  },
  {
    name: 'producerAndConsumer_loopback_shared',
    v1: {
      ...ids,
      name: 'message',
      annotations: [a(1472470996199000, 'ms', FRONTEND), a(1472470996238000, 'ws', FRONTEND), a(1472470996403000, 'wr', FRONTEND), a(1472470996406000, 'mr', FRONTEND)],
    },
    v2: [
      { ...ids, name: 'message', kind: 'PRODUCER', localEndpoint: FRONTEND, timestamp: 1472470996199000, duration: 39000 },
      { ...ids, name: 'message', kind: 'CONSUMER', shared: true, localEndpoint: FRONTEND, timestamp: 1472470996403000, duration: 3000 },
    ],
  },
  {
    name: 'onlyAddressAnnotations',
    v1: { ...ids, name: 'rpc', binaryAnnotations: [address('ca', FRONTEND), address('sa', BACKEND)] },
    v2: [{ ...ids, name: 'rpc', localEndpoint: FRONTEND, remoteEndpoint: BACKEND }],
  },
  {
    name: 'dataMissingEndpointGoesOnFirstSpan',
    v1: {
      traceId: '1',
      id: '2',
      name: 'missing',
      annotations: [a(1472470996199000, 'foo', FRONTEND), a(1472470996238000, 'bar', FRONTEND), a(1472470996250000, 'baz', BACKEND), a(1472470996350000, 'qux', BACKEND), a(1472470996403000, 'missing')],
      binaryAnnotations: [tag('foo', 'bar', FRONTEND), tag('baz', 'qux', BACKEND), tag('missing', '')],
    },
    v2: [
      {
        traceId: '1',
        id: '2',
        name: 'missing',
        localEndpoint: FRONTEND,
        annotations: [a(1472470996199000, 'foo'), a(1472470996238000, 'bar'), a(1472470996403000, 'missing')],
        tags: { foo: 'bar', missing: '' },
      },
      { traceId: '1', id: '2', name: 'missing', localEndpoint: BACKEND, annotations: [a(1472470996250000, 'baz'), a(1472470996350000, 'qux')], tags: { baz: 'qux' } },
    ],
  },
  {
    name: 'parsesSharedFlagFromRPCSpan (a row with the client timestamp and server annotations)',
    v1: { ...ids, name: 'get', timestamp: 10, annotations: [a(20, 'sr', BACKEND), a(30, 'ss', BACKEND)] },
    v2: [{ ...ids, name: 'get', kind: 'SERVER', shared: true, localEndpoint: BACKEND, timestamp: 20, duration: 10 }],
  },
  // ---- V1SpanConverterTest
  {
    name: 'convert_ma',
    v1: { traceId: '1', id: '2', annotations: [a(1472470996199000, 'mr', BACKEND)], binaryAnnotations: [address('ma', KAFKA)] },
    v2: [{ traceId: '1', id: '2', kind: 'CONSUMER', timestamp: 1472470996199000, localEndpoint: BACKEND, remoteEndpoint: KAFKA }],
  },
  {
    name: 'convert_sa',
    v1: { traceId: '1', id: '2', annotations: [a(1472470996199000, 'cs', FRONTEND)], binaryAnnotations: [address('sa', BACKEND)] },
    v2: [{ traceId: '1', id: '2', kind: 'CLIENT', timestamp: 1472470996199000, localEndpoint: FRONTEND, remoteEndpoint: BACKEND }],
  },
  {
    name: 'convert_ca',
    v1: { traceId: '1', id: '2', annotations: [a(1472470996199000, 'sr', BACKEND)], binaryAnnotations: [address('ca', FRONTEND)] },
    v2: [{ traceId: '1', id: '2', kind: 'SERVER', timestamp: 1472470996199000, localEndpoint: BACKEND, remoteEndpoint: FRONTEND, shared: true }],
  },
  {
    name: 'convert_ma_incorrect_value (zipkin-ruby wrote "1" for addresses)',
    v1: { traceId: '1', id: '2', annotations: [a(1472470996199000, 'mr', BACKEND)], binaryAnnotations: [tag('ma', '1', KAFKA)] },
    v2: [{ traceId: '1', id: '2', kind: 'CONSUMER', timestamp: 1472470996199000, localEndpoint: BACKEND, remoteEndpoint: KAFKA }],
  },
  {
    name: 'convert_sa_incorrect_value',
    v1: { traceId: '1', id: '2', annotations: [a(1472470996199000, 'cs', FRONTEND)], binaryAnnotations: [tag('sa', '1', BACKEND)] },
    v2: [{ traceId: '1', id: '2', kind: 'CLIENT', timestamp: 1472470996199000, localEndpoint: FRONTEND, remoteEndpoint: BACKEND }],
  },
  {
    name: 'convert_ca_incorrect_value',
    v1: { traceId: '1', id: '2', annotations: [a(1472470996199000, 'sr', BACKEND)], binaryAnnotations: [tag('ca', '1', FRONTEND)] },
    v2: [{ traceId: '1', id: '2', kind: 'SERVER', timestamp: 1472470996199000, localEndpoint: BACKEND, remoteEndpoint: FRONTEND, shared: true }],
  },
  // ---- rules the Zipkin tests above do not show
  {
    name: 'a non-empty "lc" is a tag, and names the local endpoint',
    v1: { traceId: '1', id: '2', name: 'local', binaryAnnotations: [tag('lc', 'cache', FRONTEND)] },
    v2: [{ traceId: '1', id: '2', name: 'local', localEndpoint: FRONTEND, tags: { lc: 'cache' } }],
  },
  {
    name: 'a 128-bit trace id (trace_id_high)',
    v1: { traceId: '48485a3953bb6124463ac35c9f6413ad', id: '2' },
    v2: [{ traceId: '48485a3953bb6124463ac35c9f6413ad', id: '2' }],
  },
  {
    name: 'debug',
    v1: { traceId: '1', id: '2', debug: true },
    v2: [{ traceId: '1', id: '2', debug: true }],
  },
  {
    name: 'the name is lower-cased',
    v1: { traceId: '1', id: '2', name: 'GET /Cart' },
    v2: [{ traceId: '1', id: '2', name: 'get /cart' }],
  },
  {
    name: 'annotations: sorted, and duplicates removed as in v2',
    v1: { traceId: '1', id: '2', annotations: [a(3, 'b', FRONTEND), a(1, 'z', FRONTEND), a(3, 'a', FRONTEND), a(1, 'z', FRONTEND)] },
    v2: [{ traceId: '1', id: '2', localEndpoint: FRONTEND, annotations: [a(1, 'z'), a(3, 'a'), a(3, 'b')] }],
  },
  {
    name: 'a repeated tag key: the later one wins',
    v1: { traceId: '1', id: '2', binaryAnnotations: [tag('k', '1'), tag('k', '2')] },
    v2: [{ traceId: '1', id: '2', tags: { k: '2' } }],
  },
  {
    name: 'tags give OTel status and scope, and stay tags',
    v1: { traceId: '1', id: '2', binaryAnnotations: [tag('error', 'timeout', FRONTEND), tag('otel.library.name', 'lib', FRONTEND)] },
    v2: [{ traceId: '1', id: '2', localEndpoint: FRONTEND, tags: { error: 'timeout', 'otel.library.name': 'lib' } }],
  },
  {
    name: 'a timestamp-less client with cs and cr: timing from the annotations',
    v1: { ...ids, annotations: [a(100, 'cs', FRONTEND), a(150, 'cr', FRONTEND)] },
    v2: [{ ...ids, kind: 'CLIENT', localEndpoint: FRONTEND, timestamp: 100, duration: 50 }],
  },
  {
    name: 'ws and wr without messaging are plain annotations',
    v1: { ...ids, annotations: [a(100, 'ws', FRONTEND), a(150, 'wr', FRONTEND)] },
    v2: [{ ...ids, localEndpoint: FRONTEND, annotations: [a(100, 'ws'), a(150, 'wr')] }],
  },
  {
    name: 'a parent id equal to the id is dropped',
    v1: { traceId: '1', parentId: '2', id: '2' },
    v2: [{ traceId: '1', id: '2' }],
  },
];

describe('v1 → model (Zipkin V1SpanConverter)', () => {
  const expected = (row: Row) => decodeZipkinV2Json(JSON.stringify(row.v2));

  it.each(rows.map((r) => [r.name, r] as const))('v1 JSON: %s', (_name, row) => {
    expect(decodeZipkinV1Json(JSON.stringify([row.v1]))).toEqual(expected(row));
  });

  it.each(rows.map((r) => [r.name, r] as const))('Thrift: %s', (_name, row) => {
    expect(decodeZipkinThrift(encodeV1ThriftList([row.v1]))).toEqual(expected(row));
  });

  it('tags give status and scope on v1 spans too', () => {
    const [s] = decodeZipkinV1Json(JSON.stringify([rows.find((r) => r.name.startsWith('tags give'))!.v1]));
    expect(s.status).toEqual({ code: 2, message: 'timeout' });
    expect(s.scope.name).toBe('lib');
  });

  it('the spans of one call share one resource per service', () => {
    const spans = decodeZipkinV1Json(JSON.stringify([rows[0].v1, rows.find((r) => r.name.startsWith('clientAndServer ('))!.v1]));
    expect(spans.map((s) => s.resource.attributes['service.name'])).toEqual(['frontend', 'frontend', 'backend']);
    expect(spans[1].resource).toBe(spans[0].resource);
  });

  it('split spans do not share endpoint objects', () => {
    const spans = decodeZipkinThrift(encodeV1ThriftList([rows.find((r) => r.name.startsWith('producerAndConsumer ('))!.v1]));
    expect(spans[0].remoteEndpoint).toEqual(spans[1].remoteEndpoint);
    expect(spans[0].remoteEndpoint).not.toBe(spans[1].remoteEndpoint);
  });
});
