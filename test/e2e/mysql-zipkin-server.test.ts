/**
 * End-to-end: spans sent to the real CLI (zipkin receiver → mysql exporter) land in the real MariaDB,
 * and a real Zipkin server (STORAGE_TYPE=mysql, the same database) serves them through its HTTP API:
 * traces, searches, services, span names and dependency links.
 *
 * Zipkin itself is the oracle for the rows: the same trace (other ids and service names) is POSTed to
 * the Zipkin server's own collector, whose MySQLSpanConsumer writes it, and both traces' rows and API
 * answers must be the same once ids and names are swapped.
 *
 * The database is shared and persists: every run uses fresh trace ids and service names.
 */
import { randomBytes } from 'node:crypto';
import type { Pool } from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Daemon, freePort } from '../helpers/daemon.js';
import { tempDir, writeTemp } from '../helpers/tmp.js';
import { startZipkinServer, type ZipkinServer } from '../helpers/zipkin-server.js';
import { CASES } from '../exporters/mysql/cases.js';
import { exporterConfig, hex16, mariadb, never, startedExporter, storedTrace, testPool } from '../exporters/mysql/db.js';
import { decodeZipkinV2Json } from '../../src/codecs/zipkin-json.js';

type Json = Record<string, unknown>;
type ZipkinSpan = Json & { traceId: string; id: string; name?: string };

const hex = (bytes: number) => randomBytes(bytes).toString('hex');
const NOW = Date.now() * 1000 - 60_000_000; // µs, a minute ago: within Zipkin's default lookback

interface Names {
  frontend: string;
  backend: string;
  db: string;
  kafka: string;
  consumer: string;
  web: string;
}

function names(): Names {
  const run = hex(4);
  return {
    frontend: `frontend-${run}`,
    backend: `backend-${run}`,
    db: `db-${run}`,
    kafka: `kafka-${run}`,
    consumer: `consumer-${run}`,
    web: `web-${run}`,
  };
}

interface Ids {
  trace: string;
  trace128: string;
  root: string;
  rpc: string;
  local: string;
  query: string;
  send: string;
  recv: string;
  other: string;
}

function ids(): Ids {
  return {
    trace: hex(8),
    trace128: hex(16),
    root: hex(8),
    rpc: hex(8),
    local: hex(8),
    query: hex(8),
    send: hex(8),
    recv: hex(8),
    other: hex(8),
  };
}

/** A trace through every kind, shared RPC halves, a local span, tags, annotations, IPv4/IPv6 and ports. */
function spans(i: Ids, n: Names): ZipkinSpan[] {
  return [
    {
      traceId: i.trace,
      id: i.root,
      kind: 'SERVER',
      name: 'get /checkout',
      timestamp: NOW,
      duration: 150_000,
      localEndpoint: { serviceName: n.frontend, ipv4: '172.17.0.13', port: 8080 },
      remoteEndpoint: { serviceName: n.web, ipv6: '2001:db8::1', port: 443 },
      tags: { 'http.method': 'GET', 'http.path': '/checkout' },
    },
    {
      traceId: i.trace,
      parentId: i.root,
      id: i.rpc,
      kind: 'CLIENT',
      name: 'get /api',
      timestamp: NOW + 1_000,
      duration: 120_000,
      localEndpoint: { serviceName: n.frontend, ipv4: '172.17.0.13' },
      remoteEndpoint: { serviceName: n.backend, ipv4: '192.168.99.101', port: 9000 },
      annotations: [{ timestamp: NOW + 2_000, value: 'wire.send' }],
      tags: { 'http.path': '/api' },
    },
    {
      traceId: i.trace,
      parentId: i.root,
      id: i.rpc,
      kind: 'SERVER',
      name: 'get /api',
      timestamp: NOW + 5_000,
      duration: 110_000,
      localEndpoint: { serviceName: n.backend, ipv4: '192.168.99.101', port: 9000 },
      remoteEndpoint: { ipv4: '172.17.0.13' },
      annotations: [{ timestamp: NOW + 6_000, value: 'wire.recv' }],
      tags: { 'http.status_code': '200' },
      shared: true,
    },
    {
      traceId: i.trace,
      parentId: i.rpc,
      id: i.local,
      name: 'compute',
      timestamp: NOW + 10_000,
      duration: 20_000,
      localEndpoint: { serviceName: n.backend, ipv4: '192.168.99.101' },
    },
    {
      traceId: i.trace,
      parentId: i.rpc,
      id: i.query,
      kind: 'CLIENT',
      name: 'select',
      timestamp: NOW + 40_000,
      duration: 60_000,
      localEndpoint: { serviceName: n.backend, ipv4: '192.168.99.101' },
      remoteEndpoint: { serviceName: n.db, ipv6: '2001:db8::c001:3036', port: 3306 },
      tags: { error: 'deadlock', 'sql.query': 'select 1' },
    },
    {
      traceId: i.trace,
      parentId: i.rpc,
      id: i.send,
      kind: 'PRODUCER',
      name: 'send',
      timestamp: NOW + 101_000,
      duration: 1_000,
      localEndpoint: { serviceName: n.backend },
      remoteEndpoint: { serviceName: n.kafka },
    },
    {
      traceId: i.trace,
      parentId: i.send,
      id: i.recv,
      kind: 'CONSUMER',
      name: 'recv',
      timestamp: NOW + 130_000,
      duration: 5_000,
      localEndpoint: { serviceName: n.consumer },
      remoteEndpoint: { serviceName: n.kafka },
    },
    {
      traceId: i.trace128,
      id: i.other,
      kind: 'CLIENT',
      name: 'ping',
      timestamp: NOW + 200_000,
      duration: 30,
      localEndpoint: { serviceName: n.frontend },
      remoteEndpoint: { serviceName: n.backend },
      debug: true,
    },
  ];
}

/** `text` with every id and name of one trace replaced by the other's. */
function swap(text: string, from: [Ids, Names], to: [Ids, Names]): string {
  let out = text;
  for (const k of Object.keys(from[0]) as (keyof Ids)[]) out = out.split(from[0][k]).join(to[0][k]);
  for (const k of Object.keys(from[1]) as (keyof Names)[]) out = out.split(from[1][k]).join(to[1][k]);
  return out;
}

const byId = (a: ZipkinSpan, b: ZipkinSpan) => {
  const ka = `${a.id}/${String(a.kind)}/${String(a.shared)}`;
  const kb = `${b.id}/${String(b.kind)}/${String(b.shared)}`;
  return ka < kb ? -1 : ka > kb ? 1 : 0;
};

let zipkin: ZipkinServer;
let pool: Pool;
let daemon: Daemon;
const ours = { ids: ids(), names: names() };
const oracle = { ids: ids(), names: names() };
const get = async (path: string): Promise<unknown> => {
  const res = await fetch(`${zipkin.url}${path}`);
  if (res.status !== 200) throw new Error(`GET ${path}: ${res.status} ${await res.text()}`);
  return res.json();
};

/** Polls the database until it holds `count` spans of the trace. */
async function untilStored(traceId: string, count: number): Promise<void> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const stored = (await storedTrace(pool, traceId)).spans.length;
    if (stored >= count) return;
    if (Date.now() > deadline) throw new Error(`the database holds ${stored} of ${count} span rows of trace ${traceId}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

beforeAll(async () => {
  pool = testPool();
  const m = mariadb();
  const dir = tempDir();
  const [receiverPort, metricsPort] = [await freePort(), await freePort()];
  const config = writeTemp(
    'spanline.yaml',
    `
receivers:
  zipkin: { endpoint: "127.0.0.1:${receiverPort}" }
exporters:
  mysql:
    host: ${m.host}
    port: ${m.port}
    user: ${m.user}
    password: \${env:SPANLINE_TEST_MYSQL_PASSWORD}
    database: ${m.database}
    dependencies: { interval: 1m }
    retry_on_failure: { initial_interval: 100ms, max_elapsed_time: 10s }
service:
  pipelines:
    traces: { receivers: [zipkin], exporters: [mysql] }
  telemetry: { metrics: { address: "127.0.0.1:${metricsPort}" } }
`,
    dir,
  );
  daemon = await Daemon.start(['--config', config], { cwd: dir, env: { SPANLINE_TEST_MYSQL_PASSWORD: m.password } });
  const posted = await fetch(`http://127.0.0.1:${receiverPort}/api/v2/spans`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(spans(ours.ids, ours.names)),
  });
  expect(posted.status).toBe(202);
  // Shared halves share a row: 7 rows for the 8-span trace… minus one, plus the 128-bit trace's.
  await untilStored(ours.ids.trace, 6);
  await untilStored(ours.ids.trace128, 1);
  // Shutdown links the day's dependencies before Zipkin first looks at the table.
  expect(await daemon.stop()).toBe(0);
  expect(daemon.stderr).toContain('"writing spans to MySQL"');

  zipkin = await startZipkinServer({
    env: {
      STORAGE_TYPE: 'mysql',
      MYSQL_HOST: m.host,
      MYSQL_TCP_PORT: String(m.port),
      MYSQL_USER: m.user,
      MYSQL_PASS: m.password,
      MYSQL_DB: m.database,
    },
    timeoutMs: 180_000,
  });
  // The oracle: the same trace, written by Zipkin's own collector into the same tables.
  const res = await fetch(`${zipkin.url}/api/v2/spans`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(spans(oracle.ids, oracle.names)),
  });
  expect(res.status).toBe(202);
  await untilStored(oracle.ids.trace, 6);
  await untilStored(oracle.ids.trace128, 1);
}, 240_000);

afterAll(async () => {
  await daemon?.stop('SIGKILL');
  await zipkin?.stop();
  await pool?.end();
});

describe('mysql exporter → real Zipkin server (STORAGE_TYPE=mysql)', () => {
  it("writes the same rows as Zipkin's own MySQL storage", async () => {
    for (const key of ['trace', 'trace128'] as const) {
      const mine = await storedTrace(pool, ours.ids[key]);
      const theirs = await storedTrace(pool, oracle.ids[key]);
      // Ids as stored (signed decimals) differ between the two traces; compare them through hex.
      const normalise = (t: typeof mine) =>
        JSON.stringify({
          spans: t.spans.map((s) => ({ ...s, trace_id_high: undefined, trace_id: undefined, id: hexOf(s.id), parent_id: s.parent_id && hexOf(s.parent_id) })).sort((a, b) => (a.name + a.id < b.name + b.id ? -1 : 1)),
          annotations: t.annotations,
        });
      const swapped = swap(normalise(theirs), [oracle.ids, oracle.names], [ours.ids, ours.names]);
      const expected = JSON.parse(swapped) as unknown;
      const actual = JSON.parse(normalise(mine)) as { spans: Json[] };
      expect(actual.spans.length).toBeGreaterThan(0);
      expect(actual).toEqual(expected);
    }
  });

  it("writes each encoding case as Zipkin's own storage does", async () => {
    const cases = CASES.filter((c) => !c.zipkinFails);
    const ourIds = cases.map((c) => (c.traceId ?? hex16)());
    const theirIds = cases.map((c) => (c.traceId ?? hex16)());
    const sent = cases.map((c, i) => c.span(ourIds[i]));
    const exporter = await startedExporter(exporterConfig({ dependencies: { enabled: false } }));
    expect(await exporter.export(decodeZipkinV2Json(JSON.stringify(sent)), never)).toEqual({ code: 'success' });
    await exporter.shutdown!(never);
    const res = await fetch(`${zipkin.url}/api/v2/spans`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(sent.map((s, i) => ({ ...s, traceId: theirIds[i] }))),
    });
    expect(res.status).toBe(202);
    for (const id of theirIds) await untilStored(id, 1);
    for (let i = 0; i < cases.length; i++) {
      const withoutTraceId = ({ spans, annotations }: Awaited<ReturnType<typeof storedTrace>>) => ({
        spans: spans.map((s) => ({ ...s, trace_id_high: undefined, trace_id: undefined })),
        annotations,
      });
      const ours = withoutTraceId(await storedTrace(pool, ourIds[i]));
      expect(ours, cases[i].name).toEqual(withoutTraceId(await storedTrace(pool, theirIds[i])));
      expect(ours.annotations, cases[i].name).toEqual(cases[i].annotations);
    }
  });

  it('GET /api/v2/trace/{id} answers what was sent, as Zipkin answers for its own writes', async () => {
    for (const key of ['trace', 'trace128'] as const) {
      const mine = ((await get(`/api/v2/trace/${ours.ids[key]}`)) as ZipkinSpan[]).sort(byId);
      const theirs = JSON.parse(swap(JSON.stringify(await get(`/api/v2/trace/${oracle.ids[key]}`)), [oracle.ids, oracle.names], [ours.ids, ours.names])) as ZipkinSpan[];
      expect(mine).toEqual(theirs.sort(byId));
    }
    // And that is what was sent: both halves of the shared RPC, every field.
    const sent = spans(ours.ids, ours.names).sort(byId);
    const trace = [
      ...((await get(`/api/v2/trace/${ours.ids.trace}`)) as ZipkinSpan[]),
      ...((await get(`/api/v2/trace/${ours.ids.trace128}`)) as ZipkinSpan[]),
    ].sort(byId);
    expect(trace).toEqual(sent);
  });

  it('GET /api/v2/traces finds the trace by service, span name, tag and minimum duration', async () => {
    const { names: n, ids: i } = ours;
    const lookback = '&endTs=' + Date.now() + '&lookback=3600000&limit=100';
    const found = async (query: string) => ((await get(`/api/v2/traces?${query}${lookback}`)) as ZipkinSpan[][]).map((t) => t[0].traceId);
    expect(await found(`serviceName=${n.frontend}`)).toEqual(expect.arrayContaining([i.trace, i.trace128]));
    expect(await found(`serviceName=${n.backend}&spanName=select`)).toEqual([i.trace]);
    expect(await found(`serviceName=${n.backend}&annotationQuery=${encodeURIComponent('sql.query=select 1')}`)).toEqual([i.trace]);
    expect(await found(`serviceName=${n.backend}&annotationQuery=error`)).toEqual([i.trace]);
    expect(await found(`serviceName=${n.backend}&annotationQuery=${encodeURIComponent('sql.query=select 2')}`)).toEqual([]);
    expect(await found(`serviceName=${n.frontend}&minDuration=100000`)).toEqual([i.trace]);
    expect(await found(`serviceName=${n.frontend}&minDuration=200000`)).toEqual([]);
    expect(await found(`remoteServiceName=${n.db}`)).toEqual([i.trace]);
  });

  it('GET /api/v2/services, /api/v2/spans and /api/v2/remoteServices name what was sent', async () => {
    const n = ours.names;
    const services = (await get('/api/v2/services')) as string[];
    expect(services).toEqual(expect.arrayContaining([n.frontend, n.backend, n.consumer]));
    expect(services).not.toContain(n.db); // only a remote endpoint
    expect(await get(`/api/v2/spans?serviceName=${n.backend}`)).toEqual(['compute', 'get /api', 'select', 'send']);
    expect(await get(`/api/v2/spans?serviceName=${n.frontend}`)).toEqual(['get /api', 'get /checkout', 'ping']);
    // The shared RPC is one row, holding the client's remote service name and the server's annotations:
    // so backend "calls" backend, here as for Zipkin's own writes.
    expect(await get(`/api/v2/remoteServices?serviceName=${n.backend}`)).toEqual([n.backend, n.db, n.kafka]);
    const o = oracle.names;
    expect(await get(`/api/v2/remoteServices?serviceName=${o.backend}`)).toEqual([o.backend, o.db, o.kafka]);
  });

  it('GET /api/v2/dependencies answers the links the exporter stored', async () => {
    const n = ours.names;
    const links = ((await get(`/api/v2/dependencies?endTs=${Date.now()}&lookback=86400000`)) as Json[]).filter((l) =>
      Object.values(n).includes(l.parent as string),
    );
    expect(links.sort((a, b) => (String(a.parent) + String(a.child) < String(b.parent) + String(b.child) ? -1 : 1))).toEqual([
      { parent: n.backend, child: n.db, callCount: 1, errorCount: 1 },
      { parent: n.backend, child: n.kafka, callCount: 1 },
      { parent: n.frontend, child: n.backend, callCount: 2 },
      { parent: n.kafka, child: n.consumer, callCount: 1 },
      { parent: n.web, child: n.frontend, callCount: 1 },
    ]);
  });
});

function hexOf(signed: string): string {
  return BigInt.asUintN(64, BigInt(signed)).toString(16).padStart(16, '0');
}

