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
import { randomBytes } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { Daemon, freePort } from '../helpers/daemon.js';
import { PrivateMariaDb } from '../helpers/private-mariadb.js';
import { tempDir, writeTemp } from '../helpers/tmp.js';
import { startZipkinServer, type ZipkinServer } from '../helpers/zipkin-server.js';

const SPANS_PER_TRACE = 5;
const spanIds = Array.from({ length: SPANS_PER_TRACE }, (_, i) => (i + 1).toString(16).padStart(16, '0'));

function trace(traceId: string): string {
  const now = Date.now() * 1000;
  return JSON.stringify(
    spanIds.map((id, i) => ({
      traceId,
      id,
      ...(i > 0 ? { parentId: spanIds[0] } : {}),
      kind: i === 0 ? 'SERVER' : 'CLIENT',
      name: `op-${i}`,
      timestamp: now + i,
      duration: 1000 + i,
      localEndpoint: { serviceName: 'faults-frontend' },
      ...(i > 0 ? { remoteEndpoint: { serviceName: 'faults-backend' } } : {}),
      tags: { phase: 'x' },
    })),
  );
}

function config(port: number, db: PrivateMariaDb, storage: string): string {
  return `
receivers:
  zipkin:
    endpoint: 127.0.0.1:${port}
processors:
  batch:
    timeout: 20ms
exporters:
  mysql:
    host: 127.0.0.1
    port: ${db.port}
    user: ${db.user}
    password: ${db.password}
    database: ${db.database}
    connect_timeout: 2s
    dependencies:
      enabled: false
    sending_queue:
      storage: ${storage}
    retry_on_failure:
      initial_interval: 100ms
      max_interval: 500ms
      max_elapsed_time: 0s
    timeout: 5s
service:
  telemetry:
    metrics:
      enabled: false
  pipelines:
    traces:
      receivers: [zipkin]
      processors: [batch]
      exporters: [mysql]
`;
}

/** Posts traces from a few concurrent senders until stopped; records the trace ids answered 202. */
class Stream {
  readonly acknowledged: string[] = [];
  private running = true;
  private readonly senders: Promise<void>[];

  constructor(port: () => number) {
    this.senders = Array.from({ length: 4 }, async () => {
      while (this.running) {
        const traceId = randomBytes(16).toString('hex');
        try {
          const res = await fetch(`http://127.0.0.1:${port()}/api/v2/spans`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: trace(traceId),
          });
          if (res.status === 202) this.acknowledged.push(traceId);
        } catch {
          await new Promise((r) => setTimeout(r, 50)); // the daemon is being restarted
        }
      }
    });
  }

  async until(count: number): Promise<void> {
    const deadline = Date.now() + 60_000;
    while (this.acknowledged.length < count) {
      if (Date.now() > deadline) throw new Error(`only ${this.acknowledged.length} of ${count} traces acknowledged`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.senders);
  }
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

async function allStored(db: PrivateMariaDb, ids: string[], timeoutMs = 60_000): Promise<string[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const stored = storedTraces(db);
    const missing = ids.filter((id) => stored.get(id) !== SPANS_PER_TRACE);
    if (missing.length === 0 || Date.now() > deadline) return missing;
    await new Promise((r) => setTimeout(r, 250));
  }
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
    const stream = new Stream(() => port);
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
      expect(spans.map((s) => s.id).sort(), `trace ${id}`).toEqual(spanIds);
    }
  }, 240_000);
});
