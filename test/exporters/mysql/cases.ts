/**
 * Spans and the rows Zipkin's MySQL storage writes for them (MySQLSpanConsumer after V2SpanConverter,
 * zipkin.md §4.2), one case per encoding rule. Shared by the row tests and the end-to-end test, which
 * checks each case against the rows the Zipkin server itself writes.
 */
import { hex16, signedText, type StoredAnnotation, type StoredSpan } from './db.js';

export const TS = 1472470996199000;
const LOCALHOST = 2130706433; // 127.0.0.1
const FRONTEND = [LOCALHOST, null, null, 'frontend'] as const;

export interface Case {
  name: string;
  /** One Zipkin v2 span (JSON) of trace `traceId`. */
  span: (traceId: string) => Record<string, unknown>;
  /** 32 hex digits for a 128-bit trace id. */
  traceId?: () => string;
  row: Partial<StoredSpan>;
  annotations: StoredAnnotation[];
  /** Zipkin's own storage fails the batch (strict SQL mode); spanline stores a shortened value. */
  zipkinFails?: boolean;
}

const a = (key: string, value: string | null, type: number, ts: number, ep: readonly [number | null, string | null, number | null, string | null]): StoredAnnotation => [
  key,
  value,
  type,
  String(ts),
  ...ep,
];

export const CASES: Case[] = [
  {
    name: 'client: core annotations cs/cr, tags as type 6, sa address, IPv4 as signed INT',
    span: (traceId) => ({
      traceId,
      parentId: '6b221d5bc9e6496c',
      id: '5b4185666d50f68b',
      kind: 'CLIENT',
      name: 'get',
      timestamp: TS,
      duration: 207000,
      localEndpoint: { serviceName: 'frontend', ipv4: '127.0.0.1' },
      remoteEndpoint: { serviceName: 'backend', ipv4: '192.168.99.101', port: 9000 },
      annotations: [
        { timestamp: TS + 39000, value: 'foo' },
        { timestamp: TS + 204000, value: 'bar' },
      ],
      tags: { 'clnt/finagle.version': '6.45.0', 'http.path': '/api' },
    }),
    row: { id: signedText('5b4185666d50f68b'), parent_id: '7719764991332993388', name: 'get', remote_service_name: 'backend', debug: null, start_ts: String(TS), duration: '207000' },
    annotations: [
      a('bar', null, -1, TS + 204000, FRONTEND),
      a('clnt/finagle.version', '6.45.0', 6, TS, FRONTEND),
      a('cr', null, -1, TS + 207000, FRONTEND),
      a('cs', null, -1, TS, FRONTEND),
      a('foo', null, -1, TS + 39000, FRONTEND),
      a('http.path', '/api', 6, TS, FRONTEND),
      a('sa', '01', 0, TS, [-1062706331, null, 9000, 'backend']),
    ],
  },
  {
    name: 'server: sr/ss, IPv6 as BINARY(16), ca address with a port above 32767 as signed SMALLINT, negative span id',
    span: (traceId) => ({
      traceId,
      id: 'ffdc9bb9a6453df3',
      kind: 'SERVER',
      name: 'post /api',
      timestamp: TS,
      duration: 5000,
      localEndpoint: { serviceName: 'backend', ipv6: '2001:db8::c001:3036', port: 8080 },
      remoteEndpoint: { ipv4: '10.0.0.1', port: 58648 },
    }),
    row: { id: '-9961877500772877', parent_id: null, name: 'post /api', remote_service_name: '', start_ts: String(TS), duration: '5000' },
    annotations: [
      a('ca', '01', 0, TS, [167772161, null, -6888, '']),
      a('sr', null, -1, TS, [null, '20010DB80000000000000000C0013036', 8080, 'backend']),
      a('ss', null, -1, TS + 5000, [null, '20010DB80000000000000000C0013036', 8080, 'backend']),
    ],
  },
  {
    name: 'shared server: start_ts written (tentatively), duration not',
    span: (traceId) => ({
      traceId,
      id: '0000000000000abc',
      kind: 'SERVER',
      name: 'get',
      timestamp: TS + 1000,
      duration: 3000,
      localEndpoint: { serviceName: 'backend' },
      shared: true,
    }),
    row: { id: '2748', start_ts: String(TS + 1000), duration: null, remote_service_name: '' },
    annotations: [a('sr', null, -1, TS + 1000, [null, null, null, 'backend']), a('ss', null, -1, TS + 4000, [null, null, null, 'backend'])],
  },
  {
    name: 'producer: ms/ws and the broker as ma',
    span: (traceId) => ({
      traceId,
      id: hex16(),
      kind: 'PRODUCER',
      name: 'send',
      timestamp: TS,
      duration: 1000,
      localEndpoint: { serviceName: 'producer' },
      remoteEndpoint: { serviceName: 'kafka' },
    }),
    row: { name: 'send', remote_service_name: 'kafka', duration: '1000' },
    annotations: [
      a('ma', '01', 0, TS, [null, null, null, 'kafka']),
      a('ms', null, -1, TS, [null, null, null, 'producer']),
      a('ws', null, -1, TS + 1000, [null, null, null, 'producer']),
    ],
  },
  {
    name: 'consumer without duration: mr only',
    span: (traceId) => ({ traceId, id: hex16(), kind: 'CONSUMER', name: 'recv', timestamp: TS, localEndpoint: { serviceName: 'consumer' }, remoteEndpoint: { serviceName: 'kafka' } }),
    row: { remote_service_name: 'kafka', duration: null },
    annotations: [a('ma', '01', 0, TS, [null, null, null, 'kafka']), a('mr', null, -1, TS, [null, null, null, 'consumer'])],
  },
  {
    name: 'consumer with duration: wr then mr',
    span: (traceId) => ({ traceId, id: hex16(), kind: 'CONSUMER', name: 'recv', timestamp: TS, duration: 2000, localEndpoint: { serviceName: 'consumer' } }),
    row: { remote_service_name: '', duration: '2000' },
    annotations: [a('mr', null, -1, TS + 2000, [null, null, null, 'consumer']), a('wr', null, -1, TS, [null, null, null, 'consumer'])],
  },
  {
    name: 'local span: an empty lc tag says where it ran',
    span: (traceId) => ({ traceId, id: hex16(), name: 'compute', timestamp: TS, duration: 10, localEndpoint: { serviceName: 'worker', ipv4: '10.1.2.3' } }),
    row: { name: 'compute', duration: '10' },
    annotations: [a('lc', '', 6, TS, [167838211, null, null, 'worker'])],
  },
  {
    name: 'local span with a tag: no lc',
    span: (traceId) => ({ traceId, id: hex16(), name: 'compute', timestamp: TS, localEndpoint: { serviceName: 'worker' }, tags: { k: 'v' } }),
    row: { duration: null },
    annotations: [a('k', 'v', 6, TS, [null, null, null, 'worker'])],
  },
  {
    name: 'no kind, remote endpoint: lc and an sa address',
    span: (traceId) => ({ traceId, id: hex16(), name: 'call', timestamp: TS, localEndpoint: { serviceName: 'a' }, remoteEndpoint: { serviceName: 'b', ipv4: '1.2.3.4' } }),
    row: { remote_service_name: 'b' },
    annotations: [a('lc', '', 6, TS, [null, null, null, 'a']), a('sa', '01', 0, TS, [16909060, null, null, 'b'])],
  },
  {
    name: '128-bit trace id: the high half in trace_id_high of every row',
    traceId: () => 'f' + hex16().slice(1) + hex16(),
    span: (traceId) => ({ traceId, id: hex16(), kind: 'CLIENT', name: 'get', timestamp: TS, duration: 1, localEndpoint: { serviceName: 'frontend', ipv4: '127.0.0.1' } }),
    row: {},
    annotations: [a('cr', null, -1, TS + 1, FRONTEND), a('cs', null, -1, TS, FRONTEND)],
  },
  {
    name: "debug, a name of 'unknown' (stored as ''), no timestamp: tag a_timestamp 0, no endpoint columns",
    span: (traceId) => ({ traceId, id: hex16(), name: 'Unknown', debug: true, tags: { k: 'v' } }),
    row: { name: '', debug: 1, start_ts: null, duration: null },
    annotations: [a('k', 'v', 6, 0, [null, null, null, null])],
  },
  {
    name: 'core annotations of a v2 span without kind: the kind they imply, not written twice',
    span: (traceId) => ({
      traceId,
      id: hex16(),
      name: 'legacy',
      timestamp: TS,
      duration: 100,
      localEndpoint: { serviceName: 'frontend', ipv4: '127.0.0.1' },
      annotations: [
        { timestamp: TS, value: 'cs' },
        { timestamp: TS + 100, value: 'cr' },
      ],
    }),
    row: { duration: '100' },
    annotations: [a('cr', null, -1, TS + 100, FRONTEND), a('cs', null, -1, TS, FRONTEND)],
  },
  {
    name: 'characters outside the BMP: U+FFFD in utf8 columns, kept in tag values (BLOB)',
    span: (traceId) => ({ traceId, id: hex16(), name: 'emoji 😀', timestamp: TS, localEndpoint: { serviceName: 'svc😀' }, tags: { note: 'ok 😀' } }),
    row: { name: 'emoji \uFFFD' },
    zipkinFails: true,
    annotations: [a('note', 'ok 😀', 6, TS, [null, null, null, 'svc\uFFFD'])],
  },
];
