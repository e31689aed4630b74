/**
 * The `mysql` exporter writing into the MariaDB test server (`bash scripts/test-services.sh up mariadb`;
 * MARIADB_* from .cache/services/env, or the environment), into a database of its own per run (made
 * as root over the server's socket; Zipkin's schema is created by the exporter). Dependency linking is
 * off: the figure is span writes. The verifier reads every `zipkin_spans` row back; the database is
 * dropped after the scan.
 *
 * What a row holds of a span is checked: ids, name, timestamp and duration (its annotations, tags and
 * endpoints are in `zipkin_annotations`; tests/e2e compare those with what Zipkin itself writes). The
 * server runs on the same machine, so its CPU competes with the daemon's (it is not pinned).
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import mysql from 'mysql2';

function mariadb() {
  const envFile = join(process.env.SPANLINE_SERVICES_DIR ?? '.cache/services', 'env');
  const file = existsSync(envFile)
    ? Object.fromEntries(
        readFileSync(envFile, 'utf8')
          .split('\n')
          .filter((l) => l.startsWith('MARIADB_'))
          .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1).trim()]),
      )
    : {};
  const get = (k) => process.env[k] ?? file[k];
  if (!get('MARIADB_HOST')) throw new Error('the mysql sink needs MariaDB: bash scripts/test-services.sh up mariadb');
  return {
    host: get('MARIADB_HOST'),
    port: Number(get('MARIADB_PORT')),
    user: get('MARIADB_USER'),
    password: get('MARIADB_PASSWORD'),
    socket: get('MARIADB_SOCKET'),
  };
}

/** The database of a run, from its scratch directory (the verifier gets only that). */
const databaseOf = (workDir) => `spanline_bench_${createHash('sha1').update(workDir).digest('hex').slice(0, 10)}`;

function asRoot(socket, sql) {
  execFileSync('mariadb', ['--no-defaults', `--socket=${socket}`, '-uroot', '-e', sql]);
}

export function exporter(workDir) {
  const m = mariadb();
  const database = databaseOf(workDir);
  asRoot(m.socket, `CREATE DATABASE IF NOT EXISTS ${database}; GRANT ALL PRIVILEGES ON ${database}.* TO '${m.user}'@'%';`);
  return {
    id: 'mysql',
    // A batch of 8192 spans takes the server seconds (Zipkin's annotation table has eight indexes and
    // compressed rows): the attempt timeout is raised so that attempts do not expire mid-batch.
    config: { host: m.host, port: m.port, user: m.user, password: m.password, database, dependencies: { enabled: false }, timeout: '60s' },
  };
}

/**
 * The same database for a Zipkin server target (STORAGE_TYPE=mysql). Zipkin does not create its schema,
 * so the exporter's copy of Zipkin's `mysql.sql` is applied first.
 */
export async function zipkinStorage(workDir) {
  const m = mariadb();
  const database = databaseOf(workDir);
  const { ZIPKIN_MYSQL_SQL } = await import('../../../dist/exporters/mysql/zipkin-schema.js');
  asRoot(m.socket, `CREATE DATABASE IF NOT EXISTS ${database}; GRANT ALL PRIVILEGES ON ${database}.* TO '${m.user}'@'%';`);
  execFileSync('mariadb', ['--no-defaults', `--socket=${m.socket}`, '-uroot', database], { input: ZIPKIN_MYSQL_SQL });
  return { STORAGE_TYPE: 'mysql', MYSQL_HOST: m.host, MYSQL_TCP_PORT: String(m.port), MYSQL_USER: m.user, MYSQL_PASS: m.password, MYSQL_DB: database, MYSQL_USE_SSL: 'false' };
}

/** What identifies the server's process (its CPU is reported beside the target's). */
export function storeProcess() {
  return ['mariadbd', `--socket=${mariadb().socket}`];
}

/**
 * Counts span rows while the load runs (the store-side rate). COUNT(*) walks the smallest index, so a
 * sample costs the server work; the harness samples every second or slower, one at a time.
 */
export function storedCounter(workDir) {
  const m = mariadb();
  const conn = mysql.createConnection({ host: m.host, port: m.port, user: m.user, password: m.password, database: databaseOf(workDir) });
  return {
    count: () =>
      new Promise((resolve, reject) =>
        conn.query('SELECT COUNT(*) AS n FROM zipkin_spans', (e, rows) => (e ? (e.code === 'ER_NO_SUCH_TABLE' ? resolve(0) : reject(e)) : resolve(Number(rows[0].n)))),
      ),
    close: () => new Promise((resolve) => conn.end(() => resolve())),
  };
}

/** The row's part of a sent span: ids, the name lower-cased (as on intake), timestamp and duration. */
export function expected(span) {
  const out = { traceId: span.traceId, id: span.id };
  if (span.parentId) out.parentId = span.parentId;
  out.name = span.name.toLowerCase();
  if (span.timestamp) out.timestamp = span.timestamp;
  if (span.duration) out.duration = span.duration;
  return out;
}

const hex = (signed) => BigInt.asUintN(64, BigInt(signed)).toString(16).padStart(16, '0');
const ID_KEY = Buffer.from('"id":"');

/** Streams every span row, as Zipkin v2 JSON of the columns it has. */
export async function scan(workDir, visit) {
  const m = mariadb();
  const database = databaseOf(workDir);
  const conn = mysql.createConnection({ host: m.host, port: m.port, user: m.user, password: m.password, database, supportBigNumbers: true, bigNumberStrings: true });
  let rows = 0;
  let bytes = 0;
  let malformed = 0;
  const malformedSamples = [];
  try {
    const stream = conn.query('SELECT trace_id_high, trace_id, id, parent_id, name, start_ts, duration FROM zipkin_spans').stream();
    for await (const r of stream) {
      rows++;
      const traceId = (r.trace_id_high === '0' ? '' : hex(r.trace_id_high)) + hex(r.trace_id);
      let json = `{"traceId":"${traceId}","id":"${hex(r.id)}"`;
      if (r.parent_id !== null) json += `,"parentId":"${hex(r.parent_id)}"`;
      json += `,"name":${JSON.stringify(r.name)}`;
      if (r.start_ts !== null) json += `,"timestamp":${r.start_ts}`;
      if (r.duration !== null) json += `,"duration":${r.duration}`;
      const buf = Buffer.from(json + '}');
      bytes += buf.length;
      const k = buf.indexOf(ID_KEY);
      if (k === -1) {
        malformed++;
        if (malformedSamples.length < 5) malformedSamples.push(json);
        continue;
      }
      visit(buf, k + ID_KEY.length, () => JSON.parse(buf.toString('utf8')));
    }
  } finally {
    await new Promise((resolve) => conn.end(() => resolve()));
    try {
      asRoot(m.socket, `DROP DATABASE IF EXISTS ${database}`);
    } catch {
      // Left for the next run's operator: it is named after the run.
    }
  }
  return { files: [database], lines: rows, bytes, malformed, malformedSamples };
}
