/**
 * The mysql exporter's `zipkin_dependencies`: recomputed per UTC day from what is stored, so exact when
 * spans are delivered twice or in pieces. Each test has a scratch database of the real MariaDB, so the
 * whole table can be compared.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { decodeZipkinV2Json } from '../../../src/codecs/zipkin-json.js';
import { linkDaily, type ZipkinSpanJson } from '../../../src/exporters/zipkin-storage/dependency-linker.js';
import { exporterConfig, hex16, never, scratchDatabase, startedExporter, testPool } from './db.js';

const drops: (() => Promise<void>)[] = [];
afterAll(async () => {
  await Promise.all(drops.map((d) => d()));
});

const DAY1 = Date.UTC(2026, 10, 20) * 1000; // µs at midnight UTC
const DAY2 = Date.UTC(2026, 10, 21) * 1000;
const HOUR = 3_600_000_000;

/** frontend → backend (shared RPC span), backend → db (failed), producer → kafka → consumer. */
function rpcTrace(start: number): ZipkinSpanJson[] {
  const traceId = hex16();
  const [root, rpc, db, send, recv] = [hex16(), hex16(), hex16(), hex16(), hex16()];
  return [
    { traceId, id: root, kind: 'SERVER', name: 'get /', timestamp: start, duration: 900, localEndpoint: { serviceName: 'frontend' } },
    { traceId, parentId: root, id: rpc, kind: 'CLIENT', name: 'get', timestamp: start + 10, duration: 800, localEndpoint: { serviceName: 'frontend' }, remoteEndpoint: { serviceName: 'backend' } },
    { traceId, parentId: root, id: rpc, kind: 'SERVER', name: 'get', timestamp: start + 20, duration: 700, localEndpoint: { serviceName: 'backend' }, shared: true },
    { traceId, parentId: rpc, id: db, kind: 'CLIENT', name: 'query', timestamp: start + 30, duration: 100, localEndpoint: { serviceName: 'backend' }, remoteEndpoint: { serviceName: 'db' }, tags: { error: 'timeout' } },
    { traceId, parentId: rpc, id: send, kind: 'PRODUCER', name: 'send', timestamp: start + 40, duration: 1, localEndpoint: { serviceName: 'backend' }, remoteEndpoint: { serviceName: 'kafka' } },
    { traceId, parentId: send, id: recv, kind: 'CONSUMER', name: 'recv', timestamp: start + 500, localEndpoint: { serviceName: 'consumer' }, remoteEndpoint: { serviceName: 'kafka' } },
  ];
}

interface Row {
  day: string;
  parent: string;
  child: string;
  call_count: string;
  error_count: string;
}

async function dependencies(database: string): Promise<Row[]> {
  const pool = testPool(database);
  try {
    const [rows] = await pool.query('SELECT day, parent, child, call_count, error_count FROM zipkin_dependencies ORDER BY day, parent, child');
    return rows as Row[];
  } finally {
    await pool.end();
  }
}

const row = (day: string, parent: string, child: string, calls: number, errors: number): Row => ({
  day,
  parent,
  child,
  call_count: String(calls),
  error_count: String(errors),
});

async function exportAll(database: string, batches: ZipkinSpanJson[][], extra: Record<string, unknown> = {}) {
  const exp = await startedExporter(exporterConfig({ database, ...extra }));
  for (const b of batches) expect(await exp.export(decodeZipkinV2Json(JSON.stringify(b)), never)).toEqual({ code: 'success' });
  return exp;
}

describe('mysql exporter: dependency links', () => {
  it('links each UTC day written, as the zipkin-dependencies job would, and redelivery changes no count', async () => {
    const db = await scratchDatabase();
    drops.push(db.drop);
    const day1 = [rpcTrace(DAY1 + HOUR), rpcTrace(DAY1 + 2 * HOUR)];
    const day2 = [rpcTrace(DAY2 + HOUR)];

    // The spans in pieces (client and server halves in different batches); links computed at shutdown.
    const first = await exportAll(db.name, [day1[0].slice(0, 2), day1[0].slice(2), day1[1], day2[0]]);
    await first.shutdown!(never);
    const expected = [
      row('2026-11-20', 'backend', 'db', 2, 2),
      row('2026-11-20', 'backend', 'kafka', 2, 0),
      row('2026-11-20', 'frontend', 'backend', 2, 0),
      row('2026-11-20', 'kafka', 'consumer', 2, 0),
      row('2026-11-21', 'backend', 'db', 1, 1),
      row('2026-11-21', 'backend', 'kafka', 1, 0),
      row('2026-11-21', 'frontend', 'backend', 1, 0),
      row('2026-11-21', 'kafka', 'consumer', 1, 0),
    ];
    expect(await dependencies(db.name)).toEqual(expected);

    // The same as linking the spans in memory with Zipkin's linker, day by day.
    const inMemory = linkDaily([...day1, ...day2].flat());
    expect(
      [...inMemory]
        .flatMap(([day, links]) => links.map((l) => row(new Date(day).toISOString().slice(0, 10), l.parent, l.child, l.callCount, l.errorCount)))
        .sort((a, b) => (a.day + a.parent + a.child < b.day + b.parent + b.child ? -1 : 1)),
    ).toEqual(expected);

    // Redelivered (a retry after a lost answer, another daemon): stored once, so linked once.
    const second = await exportAll(db.name, [day1.flat(), day1[1]]);
    await second.shutdown!(never);
    expect(await dependencies(db.name)).toEqual(expected);
  });

  it('recomputes on the interval, replacing the day when more of a trace arrives', async () => {
    const db = await scratchDatabase();
    drops.push(db.drop);
    const trace = rpcTrace(DAY1 + HOUR);
    // Without the server half and the db call: frontend → backend is named by the client.
    const exp = await exportAll(db.name, [[trace[0], trace[1]]], { dependencies: { interval: '1s' } });
    await expect.poll(() => dependencies(db.name), { timeout: 10_000 }).toEqual([row('2026-11-20', 'frontend', 'backend', 1, 0)]);

    expect(await exp.export(decodeZipkinV2Json(JSON.stringify(trace.slice(2))), never)).toEqual({ code: 'success' });
    await expect
      .poll(() => dependencies(db.name), { timeout: 10_000 })
      .toEqual([
        row('2026-11-20', 'backend', 'db', 1, 1),
        row('2026-11-20', 'backend', 'kafka', 1, 0),
        row('2026-11-20', 'frontend', 'backend', 1, 0),
        row('2026-11-20', 'kafka', 'consumer', 1, 0),
      ]);
    await exp.shutdown!(never);
  });

  it("shutdown ends an interval run that is stuck reading a day back, within shutdown's deadline", async () => {
    const db = await scratchDatabase();
    drops.push(db.drop);
    const exp = await exportAll(db.name, [rpcTrace(DAY1 + HOUR)], { dependencies: { interval: '1s' } });
    // Another session holds zipkin_spans: the interval's read of the day waits for it.
    const locker = testPool(db.name);
    const lock = await locker.getConnection();
    try {
      await lock.query('LOCK TABLES zipkin_spans WRITE');
      await expect
        .poll(
          async () => {
            const [rows] = await locker.query('SELECT COUNT(*) AS n FROM information_schema.PROCESSLIST WHERE DB = ? AND INFO LIKE ? AND STATE LIKE ?', [
              db.name,
              'SELECT DISTINCT s.trace_id_high%',
              'Waiting for%',
            ]);
            return Number((rows as { n: number | string }[])[0].n);
          },
          { timeout: 10_000 },
        )
        .toBe(1);
      const started = Date.now();
      const outcome = await Promise.race([
        exp.shutdown!(AbortSignal.timeout(300)).then(() => 'returned'),
        new Promise((resolve) => setTimeout(resolve, 5000, 'still waiting')),
      ]);
      expect(outcome).toBe('returned');
      expect(Date.now() - started).toBeLessThan(5000);
    } finally {
      await lock.query('UNLOCK TABLES');
      lock.release();
      await locker.end();
    }
  });

  it('with dependencies disabled, the table is left alone', async () => {
    const db = await scratchDatabase();
    drops.push(db.drop);
    const exp = await exportAll(db.name, [rpcTrace(DAY1 + HOUR)], { dependencies: { enabled: false } });
    await exp.shutdown!(never);
    expect(await dependencies(db.name)).toEqual([]);
  });
});
