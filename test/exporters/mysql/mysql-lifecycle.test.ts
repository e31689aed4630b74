/**
 * The mysql exporter's schema creation, error classification and configuration, against the real
 * MariaDB (scratch databases for the schema) and the real Zipkin server jar (whose mysql.sql is the
 * reference).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createConnection } from 'mysql2/promise';
import { afterAll, describe, expect, it } from 'vitest';
import type { Context } from '../../../src/config/schema.js';
import { decodeZipkinV2Json } from '../../../src/codecs/zipkin-json.js';
import { isRetryable } from '../../../src/exporters/mysql/errors.js';
import { mysqlExporter } from '../../../src/exporters/mysql/index.js';
import { ZIPKIN_MYSQL_SQL } from '../../../src/exporters/mysql/zipkin-schema.js';
import { freePort } from '../../helpers/daemon.js';
import { SelfMetrics } from '../../../src/telemetry/metrics.js';
import { service } from '../../helpers/services.js';
import { exporterConfig, hex16, mariadb, never, scratchDatabase, signedText, startedExporter, testPool } from './db.js';

const drops: (() => Promise<void>)[] = [];
afterAll(async () => {
  await Promise.all(drops.map((d) => d()));
});

/** mysql.sql as shipped inside the Zipkin server jar (zipkin-storage-mysql-v1 in BOOT-INF/lib). */
function zipkinJarSchema(): string {
  const jar = service('zipkin').ZIPKIN_SERVER_JAR;
  const dir = mkdtempSync(join(tmpdir(), 'spanline-zipkin-jar-'));
  const inner = execFileSync('unzip', ['-Z1', jar], { encoding: 'utf8' })
    .split('\n')
    .find((n) => /^BOOT-INF\/lib\/zipkin-storage-mysql-v1-[^/]+\.jar$/.test(n));
  if (inner === undefined) throw new Error(`no zipkin-storage-mysql-v1 jar in ${jar}`);
  execFileSync('unzip', ['-q', '-o', jar, inner, '-d', dir]);
  return execFileSync('unzip', ['-p', join(dir, inner), 'mysql.sql'], { encoding: 'utf8' });
}

async function showCreateTables(database: string): Promise<string[]> {
  const pool = testPool(database);
  try {
    const out: string[] = [];
    for (const table of ['zipkin_spans', 'zipkin_annotations', 'zipkin_dependencies']) {
      const [rows] = await pool.query(`SHOW CREATE TABLE ${table}`);
      out.push((rows as Record<string, string>[])[0]['Create Table']);
    }
    return out;
  } finally {
    await pool.end();
  }
}

describe("mysql exporter: Zipkin's schema", () => {
  it("carries Zipkin's mysql.sql byte for byte", () => {
    expect(ZIPKIN_MYSQL_SQL).toBe(zipkinJarSchema());
  });

  it('creates the schema on start when tables are missing, exactly as the mysql client applying mysql.sql does', async () => {
    const ours = await scratchDatabase();
    const reference = await scratchDatabase();
    drops.push(ours.drop, reference.drop);
    const m = mariadb();
    execFileSync('mariadb', ['--no-defaults', `--socket=${m.socket}`, '-uroot', reference.name], { input: zipkinJarSchema() });

    const exp = await startedExporter(exporterConfig({ database: ours.name, dependencies: { enabled: false } }));
    await exp.shutdown!(never);
    expect(await showCreateTables(ours.name)).toEqual(await showCreateTables(reference.name));

    // A second start leaves the tables alone (the ALTERs would fail or duplicate indexes) and writes.
    const again = await startedExporter(exporterConfig({ database: ours.name, dependencies: { enabled: false } }));
    const traceId = hex16();
    const spans = decodeZipkinV2Json(JSON.stringify([{ traceId, id: hex16(), name: 'x', timestamp: 1, localEndpoint: { serviceName: 's' } }]));
    expect(await again.export(spans, never)).toEqual({ code: 'success' });
    await again.shutdown!(never);
    expect(await showCreateTables(ours.name)).toEqual(await showCreateTables(reference.name));
  });

  it('completes a schema that lacks a table, without touching the others', async () => {
    const db = await scratchDatabase();
    drops.push(db.drop);
    const m = mariadb();
    execFileSync('mariadb', ['--no-defaults', `--socket=${m.socket}`, '-uroot', db.name], {
      input: zipkinJarSchema() + '\nDROP TABLE zipkin_dependencies;\nALTER TABLE zipkin_spans COMMENT = "kept";\n',
    });
    const exp = await startedExporter(exporterConfig({ database: db.name, dependencies: { enabled: false } }));
    await exp.shutdown!(never);
    const [spans, , dependencies] = await showCreateTables(db.name);
    expect(spans).toContain("COMMENT='kept'");
    expect(dependencies).toContain('PRIMARY KEY (`day`,`parent`,`child`)');
  });

  it('with create_schema: false, a missing table is a retryable failure (an operator can create it)', async () => {
    const db = await scratchDatabase();
    drops.push(db.drop);
    const exp = await startedExporter(exporterConfig({ database: db.name, create_schema: false, dependencies: { enabled: false } }));
    const spans = decodeZipkinV2Json(JSON.stringify([{ traceId: hex16(), id: hex16(), name: 'x' }]));
    const result = await exp.export(spans, never);
    await exp.shutdown!(never);
    expect(result.code).toBe('retryable');
    expect((result as { error: Error }).error.message).toMatch(/zipkin_spans' doesn't exist/);
  });
});

describe('mysql exporter: outcomes', () => {
  it('is retryable when the server cannot be reached, and starts anyway', async () => {
    const port = await freePort();
    const exp = await startedExporter(exporterConfig({ host: '127.0.0.1', port, connect_timeout: '2s' }));
    const spans = decodeZipkinV2Json(JSON.stringify([{ traceId: hex16(), id: hex16(), name: 'x' }]));
    const result = await exp.export(spans, never);
    await exp.shutdown!(never);
    expect(result.code).toBe('retryable');
    expect((result as { error: Error }).error.message).toContain('ECONNREFUSED');
  });

  it('connections the server killed are replaced: no crash, the next attempt succeeds', async () => {
    const db = await scratchDatabase();
    drops.push(db.drop);
    const exp = await startedExporter(exporterConfig({ database: db.name, dependencies: { enabled: false } }));
    const batch = () => decodeZipkinV2Json(JSON.stringify([{ traceId: hex16(), id: hex16(), name: 'x', timestamp: 1 }]));
    expect(await exp.export(batch(), never)).toEqual({ code: 'success' });
    const m = mariadb();
    const root = await createConnection({ socketPath: m.socket, user: 'root' });
    const [ids] = await root.query('SELECT id FROM information_schema.processlist WHERE db = ?', [db.name]);
    expect((ids as unknown[]).length).toBeGreaterThan(0);
    for (const { id } of ids as { id: number }[]) await root.query('KILL ?', [id]);
    await root.end();
    // At once: the pool may still hand out a connection the server has closed.
    const first = await exp.export(batch(), never);
    const outcome = first.code === 'success' ? first : await exp.export(batch(), never);
    await exp.shutdown!(never);
    expect(['success', 'retryable']).toContain(first.code);
    expect(outcome).toEqual({ code: 'success' });
  });

  it("shutdown closes a connection whose abandoned statement waits for a lock, within shutdown's deadline", async () => {
    const db = await scratchDatabase();
    drops.push(db.drop);
    const exp = await startedExporter(exporterConfig({ database: db.name, dependencies: { enabled: false } }));
    const batch = () => decodeZipkinV2Json(JSON.stringify([{ traceId: hex16(), id: hex16(), name: 'x', timestamp: 1 }]));
    expect(await exp.export(batch(), never)).toEqual({ code: 'success' });
    const locker = testPool(db.name);
    const lock = await locker.getConnection();
    try {
      await lock.query('LOCK TABLES zipkin_spans WRITE');
      // The attempt times out; its INSERT stays queued behind the lock on the exporter's connection.
      const attempt = new AbortController();
      const exported = exp.export(batch(), attempt.signal);
      await expect
        .poll(
          async () => {
            const [rows] = await locker.query('SELECT COUNT(*) AS n FROM information_schema.PROCESSLIST WHERE DB = ? AND INFO LIKE ?', [db.name, 'INSERT INTO zipkin_spans%']);
            return Number((rows as { n: number | string }[])[0].n);
          },
          { timeout: 10_000 },
        )
        .toBe(1);
      attempt.abort();
      expect((await exported).code).toBe('retryable');
      const outcome = await Promise.race([
        exp.shutdown!(AbortSignal.timeout(300)).then(() => 'returned'),
        new Promise((resolve) => setTimeout(resolve, 5000, 'still waiting')),
      ]);
      expect(outcome).toBe('returned');
    } finally {
      await lock.query('UNLOCK TABLES');
      lock.release();
      await locker.end();
    }
  });

  it('is retryable when the password is wrong (it can be fixed while the queue holds the spans)', async () => {
    const exp = await startedExporter(exporterConfig({ password: 'wrong' }));
    const result = await exp.export(decodeZipkinV2Json(JSON.stringify([{ traceId: hex16(), id: hex16() }])), never);
    await exp.shutdown!(never);
    expect(result.code).toBe('retryable');
    expect((result as { error: Error }).error.message).toContain('Access denied');
  });

  it('is retryable when the attempt is aborted (timeout or shutdown)', async () => {
    const exp = await startedExporter(exporterConfig({ dependencies: { enabled: false } }));
    const aborted = AbortSignal.abort();
    const result = await exp.export(decodeZipkinV2Json(JSON.stringify([{ traceId: hex16(), id: hex16() }])), aborted);
    await exp.shutdown!(never);
    expect(result.code).toBe('retryable');
  });

  it.each([
    ['deadlock', { errno: 1213, code: 'ER_LOCK_DEADLOCK', sqlState: '40001' }, true],
    ['lock wait timeout', { errno: 1205, code: 'ER_LOCK_WAIT_TIMEOUT', sqlState: 'HY000' }, true],
    ['too many connections', { errno: 1040, code: 'ER_CON_COUNT_ERROR', sqlState: '08004' }, true],
    ['server shutting down', { errno: 1053, code: 'ER_SERVER_SHUTDOWN', sqlState: '08S01' }, true],
    ['read-only server (fail-over)', { errno: 1290, code: 'ER_OPTION_PREVENTS_STATEMENT', sqlState: 'HY000' }, true],
    ['connection lost', { code: 'PROTOCOL_CONNECTION_LOST', fatal: true }, true],
    ['connection reset', { code: 'ECONNRESET', fatal: true }, true],
    ['data too long', { errno: 1406, code: 'ER_DATA_TOO_LONG', sqlState: '22001' }, false],
    ['incorrect string value', { errno: 1366, code: 'ER_TRUNCATED_WRONG_VALUE_FOR_FIELD', sqlState: '22007' }, false],
    ['syntax error', { errno: 1064, code: 'ER_PARSE_ERROR', sqlState: '42000' }, false],
    ['packet too large (the same statement would be again)', { errno: 1153, code: 'ER_NET_PACKET_TOO_LARGE', sqlState: '08S01' }, false],
    ['out of range value', { errno: 1264, code: 'ER_WARN_DATA_OUT_OF_RANGE', sqlState: '22003' }, false],
  ] as const)('%s → retryable: %s', (_name, fields, expected) => {
    expect(isRetryable(Object.assign(new Error('x'), fields))).toBe(expected);
  });

  it('a data error from the real server is permanent', async () => {
    // What a statement the server refuses for its data looks like (strict mode, a 300-char VARCHAR(255)).
    const m = mariadb();
    const conn = await createConnection({ host: m.host, port: m.port, user: m.user, password: m.password, database: m.database });
    let error: unknown;
    try {
      await conn.query("SET SESSION sql_mode = 'STRICT_ALL_TABLES'");
      await conn.query('INSERT INTO zipkin_spans (trace_id, id, name) VALUES (?, ?, ?)', [1, 1, 'x'.repeat(300)]);
    } catch (e) {
      error = e;
    } finally {
      await conn.end();
    }
    expect((error as { errno: number }).errno).toBe(1406);
    expect(isRetryable(error)).toBe(false);
  });

  it('a retried batch skips the spans an earlier attempt stored (a timed-out attempt still makes progress)', async () => {
    const exp = await startedExporter(exporterConfig({ batch_size: 1, dependencies: { enabled: false } }));
    const [a, b] = [hex16(), hex16()];
    const batch = decodeZipkinV2Json(JSON.stringify([a, b].map((traceId) => ({ traceId, id: hex16(), name: 'x', timestamp: 1 }))));
    expect(await exp.export(batch, never)).toEqual({ code: 'success' });
    const pool = testPool();
    const count = async (traceId: string) => {
      const [rows] = await pool.query('SELECT COUNT(*) AS n FROM zipkin_spans WHERE trace_id = ?', [signedText(traceId)]);
      return Number((rows as { n: number }[])[0].n);
    };
    await pool.query('DELETE FROM zipkin_spans WHERE trace_id = ?', [signedText(a)]);
    // The same span objects again (as the queue retries them): nothing is written again.
    expect(await exp.export(batch, never)).toEqual({ code: 'success' });
    expect([await count(a), await count(b)]).toEqual([0, 1]);
    // The same spans decoded anew are other objects: written.
    expect(await exp.export(decodeZipkinV2Json(JSON.stringify([{ traceId: a, id: batch[0].spanId, name: 'x', timestamp: 1 }])), never)).toEqual({ code: 'success' });
    expect(await count(a)).toBe(1);
    await pool.end();
    await exp.shutdown!(never);
  });

  it('a span Zipkin cannot store (no span id) is dropped and counted; a batch of only such spans is permanent', async () => {
    const metrics = new SelfMetrics();
    const exp = await startedExporter(exporterConfig({ dependencies: { enabled: false } }), metrics);
    const [good, bad] = decodeZipkinV2Json(JSON.stringify([{ traceId: hex16(), id: hex16() }, { traceId: hex16(), id: hex16() }]));
    bad.spanId = '';
    expect(await exp.export([good, bad], never)).toEqual({ code: 'success' });
    const result = await exp.export([bad], never);
    await exp.shutdown!(never);
    expect(result.code).toBe('permanent');
    expect((result as { error: Error }).error.message).toContain('span id "" is not 16 lower-hex digits');
    // Only the span dropped from the stored batch: the sending queue counts a permanent batch itself.
    expect(await metrics.text()).toContain('spanline_exporter_send_failed_spans_total{exporter="mysql",reason="invalid"} 1\n');
  });

  it('a span whose tags exceed one statement (and max_allowed_packet) is written in several', async () => {
    const exp = await startedExporter(exporterConfig({ dependencies: { enabled: false } }));
    const traceId = hex16();
    const tags = Object.fromEntries(Array.from({ length: 200 }, (_, k) => [`tag.${k}`, String(k % 10).repeat(60_000)]));
    const spans = decodeZipkinV2Json(JSON.stringify([{ traceId, id: hex16(), name: 'big', timestamp: 1, localEndpoint: { serviceName: 's' }, tags }]));
    expect(await exp.export(spans, never)).toEqual({ code: 'success' });
    await exp.shutdown!(never);
    const pool = testPool();
    const [rows] = await pool.query('SELECT COUNT(*) AS n, SUM(LENGTH(a_value)) AS bytes FROM zipkin_annotations WHERE trace_id = ?', [signedText(traceId)]);
    await pool.end();
    // 12 MB of tag values, 24 MB as SQL hex: more than the server's 16 MiB max_allowed_packet.
    expect(rows).toEqual([{ n: '200', bytes: String(200 * 60_000) }]);
  });

  it('a span too long for the columns is stored shortened, not refused', async () => {
    const exp = await startedExporter(exporterConfig({ dependencies: { enabled: false } }));
    const traceId = hex16();
    const spans = decodeZipkinV2Json(
      JSON.stringify([{ traceId, id: hex16(), name: 'n'.repeat(300), timestamp: 1, localEndpoint: { serviceName: 's' }, tags: { ['k'.repeat(300)]: 'v'.repeat(70_000) } }]),
    );
    expect(await exp.export(spans, never)).toEqual({ code: 'success' });
    await exp.shutdown!(never);
    const pool = testPool();
    const [rows] = await pool.query(
      `SELECT CHAR_LENGTH(s.name) AS name, CHAR_LENGTH(a.a_key) AS a_key, LENGTH(a.a_value) AS a_value
         FROM zipkin_spans s JOIN zipkin_annotations a ON a.trace_id = s.trace_id AND a.span_id = s.id WHERE s.trace_id = ?`,
      [Buffer.from(traceId, 'hex').readBigInt64BE(0).toString()],
    );
    await pool.end();
    expect(rows).toEqual([{ name: 255, a_key: 255, a_value: 65535 }]);
  });
});

describe('mysql exporter: config', () => {
  const check = (config: Record<string, unknown>) => {
    const ctx: Context = { issues: [] };
    const cfg = mysqlExporter.config.check(config, [], ctx);
    const problems = cfg === undefined ? ctx.issues : mysqlExporter.validate!(cfg);
    return problems.map((p) => `${p.path.join('.')}: ${p.message}`);
  };

  it.each([
    [{ user: 'zipkin' }, []],
    [{}, ['user: is required (string)']],
    [{ user: 'z', port: 70000 }, ['port: must be between 1 and 65535, got 70000']],
    [{ user: 'z', batch_size: 0 }, ['batch_size: must be between 1 and 100000, got 0']],
    [{ user: 'z', tls: { ca_file: 'ca.pem' } }, ['tls.enabled: TLS options are set but tls.enabled is false']],
    [{ user: 'z', tls: { enabled: true, cert_file: 'c.pem' } }, ['tls.key_file: cert_file and key_file must be set together']],
    [{ user: 'z', tls: { enabled: true, insecure: true } }, ['tls.insecure: unknown key "insecure"']],
    [{ user: 'z', dependencies: { interval: '10ms' } }, ['dependencies.interval: must be at least 1000ms, got "10ms"']],
  ])('%j → %j', (config, problems) => {
    expect(check(config)).toEqual(problems);
  });

  it('defaults', () => {
    const ctx: Context = { issues: [] };
    expect(mysqlExporter.config.check({ user: 'zipkin' }, [], ctx)).toEqual({
      host: 'localhost',
      port: 3306,
      user: 'zipkin',
      password: '',
      database: 'zipkin',
      tls: { enabled: false, insecure_skip_verify: false },
      connect_timeout: 10_000,
      pool_size: 5,
      batch_size: 500,
      create_schema: true,
      dependencies: { enabled: true, interval: 300_000 },
    });
  });

  it('TLS: the CA file is read on start and a server without TLS is refused (retryable)', async () => {
    const exp = await startedExporter(
      exporterConfig({ tls: { enabled: true, ca_file: join('test/fixtures/tls', 'ca.pem') }, dependencies: { enabled: false } }),
    ).catch((e: Error) => e);
    if (exp instanceof Error) throw exp;
    const result = await exp.export(decodeZipkinV2Json(JSON.stringify([{ traceId: hex16(), id: hex16() }])), never);
    await exp.shutdown!(never);
    expect(result.code).toBe('retryable');
    expect((result as { error: Error }).error.message).toMatch(/SSL|TLS|secure/i);
  });

  it('TLS: a missing CA file fails start with the key and the file', async () => {
    await expect(startedExporter(exporterConfig({ tls: { enabled: true, ca_file: '/nonexistent/ca.pem' } }))).rejects.toThrow(
      'tls.ca_file: cannot read /nonexistent/ca.pem',
    );
  });
});

