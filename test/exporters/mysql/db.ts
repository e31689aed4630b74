/**
 * The real MariaDB of `bash scripts/test-services.sh up mariadb`, for the mysql exporter's tests: the
 * exporter made as the daemon makes it, and what it stored read back as plain values.
 */
import { randomBytes } from 'node:crypto';
import { createConnection, createPool, type Pool } from 'mysql2/promise';
import type { Context } from '../../../src/config/schema.js';
import type { Exporter } from '../../../src/component/types.js';
import { mysqlExporter } from '../../../src/exporters/mysql/index.js';
import { createLogger } from '../../../src/telemetry/logger.js';
import { SelfMetrics } from '../../../src/telemetry/metrics.js';
import { service } from '../../helpers/services.js';

export function mariadb() {
  const env = service('mariadb');
  return {
    host: env.MARIADB_HOST,
    port: Number(env.MARIADB_PORT),
    user: env.MARIADB_USER,
    password: env.MARIADB_PASSWORD,
    database: env.MARIADB_DATABASE,
    socket: env.MARIADB_SOCKET,
  };
}

/** The exporter's config for the test database, with `extra` keys. */
export function exporterConfig(extra: Record<string, unknown> = {}): Record<string, unknown> {
  const m = mariadb();
  return { host: m.host, port: m.port, user: m.user, password: m.password, database: m.database, ...extra };
}

export function createExporter(config: Record<string, unknown>, metrics = new SelfMetrics()): Exporter {
  const ctx: Context = { issues: [] };
  const cfg = mysqlExporter.config.check(config, [], ctx);
  if (cfg === undefined) throw new Error(JSON.stringify(ctx.issues));
  return mysqlExporter.create(cfg, { id: 'mysql', logger: createLogger('silent'), metrics, configDir: '.' });
}

export async function startedExporter(config: Record<string, unknown>, metrics = new SelfMetrics()): Promise<Exporter> {
  const exp = createExporter(config, metrics);
  await exp.start!();
  return exp;
}

/** A pool on the test database as the exporter's user; BIGINTs come back as decimal strings. */
export function testPool(database?: string): Pool {
  const m = mariadb();
  return createPool({
    host: m.host,
    port: m.port,
    user: m.user,
    password: m.password,
    database: database ?? m.database,
    connectionLimit: 2,
    supportBigNumbers: true,
    bigNumberStrings: true,
    dateStrings: true,
  });
}

/**
 * A fresh database that the exporter's user may use, made as root over the server's socket (the test
 * server's root has no password); dropped by the returned function.
 */
export async function scratchDatabase(): Promise<{ name: string; drop: () => Promise<void> }> {
  const m = mariadb();
  const name = `spanline_test_${randomBytes(4).toString('hex')}`;
  const root = await createConnection({ socketPath: m.socket, user: 'root' });
  try {
    await root.query(`CREATE DATABASE ${name}`);
    await root.query(`GRANT ALL PRIVILEGES ON ${name}.* TO ?@'%', ?@'localhost'`, [m.user, m.user]);
  } finally {
    await root.end();
  }
  return {
    name,
    drop: async () => {
      const c = await createConnection({ socketPath: m.socket, user: 'root' });
      try {
        await c.query(`DROP DATABASE IF EXISTS ${name}`);
      } finally {
        await c.end();
      }
    },
  };
}

export const never: AbortSignal = new AbortController().signal;

/** 16 random lower-hex digits. */
export function hex16(): string {
  return randomBytes(8).toString('hex');
}

/** A 16-hex-digit id as the signed BIGINT text MySQL returns, computed independently of the exporter. */
export function signedText(hex: string): string {
  return Buffer.from(hex, 'hex').readBigInt64BE(0).toString();
}

export interface StoredSpan {
  trace_id_high: string;
  trace_id: string;
  id: string;
  name: string;
  remote_service_name: string | null;
  parent_id: string | null;
  debug: number | null;
  start_ts: string | null;
  duration: string | null;
}

/** An annotation row: key, value (text for tags, hex for the rest), type, timestamp, endpoint columns. */
export type StoredAnnotation = [
  key: string,
  value: string | null,
  type: number,
  timestamp: string,
  ipv4: number | null,
  ipv6: string | null,
  port: number | null,
  service: string | null,
];

/** The rows stored for one trace (by its full id), annotations ordered by key and timestamp. */
export async function storedTrace(pool: Pool, traceId: string): Promise<{ spans: StoredSpan[]; annotations: StoredAnnotation[] }> {
  const high = traceId.length === 32 ? signedText(traceId.slice(0, 16)) : '0';
  const low = signedText(traceId.slice(-16));
  const [spans] = await pool.query(
    `SELECT trace_id_high, trace_id, id, name, remote_service_name, parent_id, CAST(debug AS UNSIGNED) AS debug, start_ts, duration
       FROM zipkin_spans WHERE trace_id_high = ? AND trace_id = ? ORDER BY id`,
    [high, low],
  );
  const [rows] = await pool.query(
    `SELECT a_key, a_type, a_value, a_timestamp, endpoint_ipv4, HEX(endpoint_ipv6) AS ipv6, endpoint_port, endpoint_service_name
       FROM zipkin_annotations WHERE trace_id_high = ? AND trace_id = ? ORDER BY span_id`,
    [high, low],
  );
  const annotations = (rows as Record<string, unknown>[]).map((r): StoredAnnotation => {
    const value = r.a_value as Buffer | null;
    return [
      r.a_key as string,
      value === null ? null : r.a_type === 6 ? value.toString('utf8') : value.toString('hex'),
      r.a_type as number,
      r.a_timestamp as string,
      r.endpoint_ipv4 as number | null,
      r.ipv6 as string | null,
      r.endpoint_port as number | null,
      r.endpoint_service_name as string | null,
    ];
  });
  // Ordered here rather than by the column collation (utf8_general_ci ignores case).
  annotations.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : BigInt(a[3]) < BigInt(b[3]) ? -1 : BigInt(a[3]) > BigInt(b[3]) ? 1 : 0));
  return { spans: (spans as StoredSpan[]).map((s) => ({ ...s, debug: s.debug === null ? null : Number(s.debug) })), annotations };
}
