/**
 * Delivery through faults, with real processes: a MariaDB of this test's own (so it can be killed without
 * disturbing other test files), the real daemon with a persistent queue in front of the `mysql` exporter,
 * and a real Zipkin server reading the database at the end.
 *
 * One stream of traces runs through four phases: the database down at start; the database killed with
 * SIGKILL mid-stream and restarted; the daemon killed with SIGKILL mid-stream and restarted. After
 * recovery, every trace the daemon acknowledged (202) is in the database, and Zipkin's API returns each of
 * its spans exactly once.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { Daemon, freePort } from '../helpers/daemon.js';
import { PrivateMariaDb } from '../helpers/private-mariadb.js';
import { tempDir, writeTemp } from '../helpers/tmp.js';
import { durablePipelineYaml, missingTraces, spanIds, TraceStream } from '../helpers/trace-stream.js';
import { startZipkinServer, type ZipkinServer } from '../helpers/zipkin-server.js';

const SPANS_PER_TRACE = 5;

function config(port: number, db: PrivateMariaDb, storage: string): string {
  const settings = `
host: 127.0.0.1
port: ${db.port}
user: ${db.user}
password: ${db.password}
database: ${db.database}
connect_timeout: 2s
dependencies:
  enabled: false
timeout: 5s`;
  return durablePipelineYaml({ port, exporter: 'mysql', settings, storage, retry: { initial: '100ms', max: '500ms' } });
}

/** Trace ids (lower 64 bits, signed, as Zipkin stores them) whose spans are all stored. */
function storedTraces(db: PrivateMariaDb): Map<string, number> {
  const out = db.sql(db.user, `SELECT LOWER(CONCAT(LPAD(HEX(trace_id_high), 16, '0'), LPAD(HEX(trace_id), 16, '0'))), COUNT(*) FROM zipkin.zipkin_spans GROUP BY trace_id_high, trace_id`);
  const map = new Map<string, number>();
  for (const line of (out ?? '').split('\n').filter(Boolean)) {
    const [id, n] = line.split('\t');
    map.set(id, Number(n));
  }
  return map;
}

function allStored(db: PrivateMariaDb, ids: string[]): Promise<string[]> {
  return missingTraces(ids, SPANS_PER_TRACE, async () => storedTraces(db));
}

let db: PrivateMariaDb | undefined;
let zipkin: ZipkinServer | undefined;
const daemons: Daemon[] = [];
afterAll(async () => {
  await Promise.all(daemons.map((d) => d.stop('SIGKILL')));
  await zipkin?.stop();
  await db?.stop();
});

describe('mysql exporter through faults', () => {
  it('stores every acknowledged span once: database down at start, database killed, daemon killed', async () => {
    db = await PrivateMariaDb.create();
    const storage = tempDir();
    let port = await freePort();
    const start = async () => {
      const d = await Daemon.start(['--config', writeTemp('spanline.yaml', config(port, db!, storage))]);
      daemons.push(d);
      return d;
    };

    // 1. The database is down when the daemon starts: spans are acknowledged (they are on disk) and wait.
    let daemon = await start();
    const stream = new TraceStream({ port: () => port, trace: { spans: SPANS_PER_TRACE, service: 'faults-frontend', remoteService: 'faults-backend' }, senders: 4 });
    await stream.until(20);
    await db.start();
    const phase1 = [...stream.acknowledged];
    expect(await allStored(db, phase1), 'stored after the database came up').toEqual([]);

    // 2. The database dies mid-stream and comes back.
    await stream.until(phase1.length + 20);
    await db.kill();
    const whileDown = stream.acknowledged.length;
    await stream.until(whileDown + 20); // still acknowledged: the queue is on disk
    await db.start();
    const phase2 = [...stream.acknowledged];
    expect(await allStored(db, phase2), 'stored after the database restarted').toEqual([]);

    // 3. The daemon dies mid-stream (SIGKILL) and is restarted on the same queue directory.
    await stream.until(phase2.length + 20);
    daemon.child.kill('SIGKILL');
    await daemon.exited;
    port = await freePort();
    daemon = await start();
    await stream.until(stream.acknowledged.length + 20);
    await stream.stop();
    const all = [...stream.acknowledged];
    expect(await allStored(db, all), 'stored after the daemon restarted').toEqual([]);
    expect(await daemon.stop('SIGTERM')).toBe(0);

    // Zipkin's answers: each acknowledged span exactly once.
    zipkin = await startZipkinServer({
      env: { STORAGE_TYPE: 'mysql', MYSQL_HOST: '127.0.0.1', MYSQL_TCP_PORT: String(db.port), MYSQL_USER: db.user, MYSQL_PASS: db.password, MYSQL_DB: db.database },
    });
    for (const id of all) {
      const res = await fetch(`${zipkin.url}/api/v2/trace/${id}`);
      expect(res.status, `trace ${id}`).toBe(200);
      const spans = (await res.json()) as { id: string }[];
      expect(spans.map((s) => s.id).sort(), `trace ${id}`).toEqual(spanIds(SPANS_PER_TRACE));
    }
  }, 240_000);
});
