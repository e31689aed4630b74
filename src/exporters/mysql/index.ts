/**
 * The `mysql` exporter: writes spans into Zipkin's MySQL schema (MySQL or MariaDB) exactly as a Zipkin
 * server's MySQL storage does, so that a stock Zipkin server (STORAGE_TYPE=mysql) on the same database
 * serves them, and fills `zipkin_dependencies` for the days written (dependencies.ts).
 *
 * Rows: span-rows.ts (the encodings); statements and why redelivery is harmless: span-writer.ts. It only
 * writes one batch and classifies the outcome (errors.ts); queueing and retry are the sending queue's.
 */
import type { Pool, PoolOptions } from 'mysql2/promise';
import { defineExporter, permanent, retryable, SUCCESS, type ExportResult } from '../../component/types.js';
import { s, type Infer, type Path } from '../../config/schema.js';
import type { Span, SpanBatch } from '../../model/span.js';
import { loadTlsFiles, tlsClientSchema, validateTls } from '../../transport/tls.js';
import { DependencyDays } from './dependencies.js';
import { classify, describeMysqlError } from './errors.js';
import { SpanRowConverter, type SpanRows } from './span-rows.js';
import { SpanWriter } from './span-writer.js';
import { ensureZipkinSchema, textColumnsAreUtf8mb3 } from './zipkin-schema.js';

// `insecure` of the shared TLS keys is about gRPC; a MySQL connection uses TLS when `enabled`.
const { insecure: _grpcOnly, ...tlsKeys } = tlsClientSchema().shape;

const config = s.object({
  host: s.string().nonEmpty().default('localhost').describe('MySQL or MariaDB server host.'),
  port: s.int().range(1, 65535).default(3306).describe('Server port.'),
  user: s.string().nonEmpty().describe('User name.'),
  password: s.string().default('').describe('Password (use `${env:VAR}`).'),
  database: s.string().nonEmpty().default('zipkin').describe('Database holding the Zipkin tables.'),
  tls: s
    .object({
      enabled: s.boolean().default(false).describe('Connect with TLS.'),
      ...tlsKeys,
    })
    .describe('TLS of the connection to the server.'),
  connect_timeout: s.duration().atLeast(1).default(10_000).describe('Deadline for opening a connection.'),
  pool_size: s.int().range(1, 1000).default(5).describe('Connections kept to the server (writes and dependency links).'),
  batch_size: s.int().range(1, 100_000).default(500).describe('Spans per multi-row INSERT; a batch is written in statements of this many spans.'),
  create_schema: s
    .boolean()
    .default(true)
    .describe("Apply Zipkin's `mysql.sql` on start when its tables are missing (otherwise apply it yourself first)."),
  dependencies: s
    .object({
      enabled: s.boolean().default(true).describe('Recompute `zipkin_dependencies` for the UTC days spans were written for.'),
      interval: s.duration().atLeast(1000).default(300_000).describe('How often; and once more at shutdown. Each run reads the days written since the last one back in full.'),
    })
    .describe('Dependency links, as the zipkin-dependencies job computes them, from what is stored.'),
});

type MysqlConfig = Infer<typeof config>;

function validate(cfg: MysqlConfig): { path: Path; message: string }[] {
  const problems: { path: Path; message: string }[] = validateTls({ ...cfg.tls, insecure: false });
  if (!cfg.tls.enabled && (cfg.tls.ca_file !== undefined || cfg.tls.cert_file !== undefined || cfg.tls.insecure_skip_verify)) {
    problems.push({ path: ['tls', 'enabled'], message: 'TLS options are set but tls.enabled is false' });
  }
  return problems;
}

export const mysqlExporter = defineExporter({
  type: 'mysql',
  stability: 'alpha',
  description: "Writes spans into Zipkin's MySQL schema (MySQL or MariaDB) as Zipkin's own storage does, with dependency links.",
  config,
  validate,
  create(cfg, context) {
    const problems = validate(cfg);
    if (problems.length > 0) throw new Error(`mysql exporter: ${problems[0].path.join('.')}: ${problems[0].message}`);
    const target = `${cfg.user}@${cfg.host}:${cfg.port}/${cfg.database}`;
    const logger = context.logger;
    const failed = context.metrics.exporterFailed;
    const dependencyMetrics = {
      daysDropped: context.metrics.counter(
        'spanline_mysql_dependency_days_dropped_total',
        'UTC days whose dependency links were not recomputed because more days were waiting than are kept.',
        ['exporter'],
      ),
      tracesSkipped: context.metrics.counter(
        'spanline_mysql_dependency_traces_skipped_total',
        'Traces left out of dependency links because they had too many spans to hold.',
        ['exporter'],
      ),
    };

    let pool: Pool | undefined;
    let converter: SpanRowConverter | undefined;
    let writer: SpanWriter | undefined;
    let dependencies: DependencyDays | undefined;
    let ready: Promise<void> | undefined;
    /** Every connection the pool opened, to close them when a statement still running outlasts shutdown. */
    const connections = new Set<{ destroy(): void }>();
    /** Spans already written, so that a retried batch skips them (identity: the queue retries the same objects). */
    const stored = new WeakSet<Span>();

    /** Schema and column check, once; a failure is retried by the next export. */
    function ensureReady(p: Pool): Promise<void> {
      ready ??= (async () => {
        const conn = await p.getConnection();
        try {
          if (cfg.create_schema) {
            const created = await ensureZipkinSchema(conn);
            if (created.length > 0) logger.info({ tables: created }, "created Zipkin's MySQL schema");
          }
          converter = new SpanRowConverter(await textColumnsAreUtf8mb3(conn));
        } finally {
          conn.release();
        }
      })().catch((e: unknown) => {
        ready = undefined;
        throw e;
      });
      return ready;
    }

    return {
      async start() {
        const tls = cfg.tls.enabled ? await loadTlsFiles({ ...cfg.tls, insecure: false }) : undefined;
        const options: PoolOptions = {
          host: cfg.host,
          port: cfg.port,
          user: cfg.user,
          password: cfg.password,
          database: cfg.database,
          connectionLimit: cfg.pool_size,
          connectTimeout: cfg.connect_timeout,
          // Zipkin's text columns are utf8; the connection speaks utf8mb4 so that nothing is lost on the way.
          charset: 'utf8mb4_general_ci',
          supportBigNumbers: true,
          bigNumberStrings: true,
          dateStrings: true,
          enableKeepAlive: true,
          ...(tls ? { ssl: { ca: tls.ca, cert: tls.cert, key: tls.key, rejectUnauthorized: !cfg.tls.insecure_skip_verify } } : {}),
        };
        // Imported here, not when spanline loads: mysql2 adds ~17 MB to the resident set of every daemon.
        const { createPool } = await import('mysql2/promise');
        pool = createPool(options);
        pool.on('connection', (c) => {
          // Errors of idle connections are reported by the next query that uses the pool.
          c.on('error', () => undefined);
          connections.add(c);
          c.once('end', () => connections.delete(c));
        });
        writer = new SpanWriter(pool, cfg.batch_size);
        if (cfg.dependencies.enabled) {
          dependencies = new DependencyDays(pool, cfg.dependencies.interval, logger, dependencyMetrics, context.id);
          dependencies.start();
        }
        try {
          await ensureReady(pool);
          logger.info({ target, create_schema: cfg.create_schema }, 'writing spans to MySQL');
        } catch (e) {
          // Not fatal: the queue keeps spans until the server can be reached.
          logger.warn({ target, err: describeMysqlError(e) }, 'MySQL is not ready yet; exports will retry');
        }
      },

      async export(batch, signal): Promise<ExportResult> {
        if (pool === undefined || writer === undefined) return retryable(new Error('mysql exporter is not started'));
        try {
          await ensureReady(pool);
        } catch (e) {
          return classify(e, `cannot prepare ${target}`);
        }
        // Converted and written `batch_size` spans at a time: the event loop gets a turn between
        // statements, and a large batch is never held twice (as spans and as rows) in full. Spans
        // stored by an earlier attempt of the same batch are skipped: when an attempt times out, the
        // queue retries the whole batch, and a slow server would otherwise never get through it.
        let refused = 0;
        let reason = '';
        let written = 0;
        const chunk: Span[] = [];
        for (let next = 0; next < batch.length; ) {
          chunk.length = 0;
          const rows: SpanRows[] = [];
          for (; next < batch.length && chunk.length < cfg.batch_size; next++) {
            const span = batch[next];
            if (stored.has(span)) continue;
            const r = converter!.convert(span);
            if (typeof r === 'string') {
              refused++;
              reason = r;
            } else {
              chunk.push(span);
              rows.push(r);
            }
          }
          if (rows.length === 0) continue;
          const done = chunk.slice();
          // Marked when the rows are in, also if this attempt has been abandoned by then.
          const work = writer.write(rows).then(() => {
            for (let k = 0; k < done.length; k++) stored.add(done[k]);
            dependencies?.touch(rows);
          });
          try {
            await abortable(work, signal);
          } catch (e) {
            const result = classify(e, `writing ${batch.length} spans to ${target}${written > 0 ? ` (${written} written)` : ''}`);
            return result.code === 'retryable' ? retryable(result.error, undefined, batch.filter((s) => !stored.has(s))) : result;
          }
          written += rows.length;
        }
        if (refused > 0) {
          // A permanent result is counted and logged by the sending queue for the whole batch: counting
          // it here too would count each of its spans twice.
          if (written === 0 && !batch.some((s) => stored.has(s))) return permanent(new Error(`no span of the batch can be stored: ${reason}`));
          failed.inc({ exporter: context.id, reason: 'invalid' }, refused);
          logger.warn({ spans: refused, example: reason }, 'spans with ids Zipkin cannot store were dropped');
        }
        return SUCCESS;
      },

      async shutdown(signal) {
        if (dependencies !== undefined) await dependencies.stop(signal).catch(() => undefined);
        const closing = pool;
        pool = undefined;
        if (closing === undefined) return;
        // end() waits for statements under way, such as one of an abandoned attempt waiting for a lock:
        // at the deadline the connections are closed instead (the server rolls such a statement back).
        const onAbort = () => {
          for (const c of connections) c.destroy();
        };
        if (signal.aborted) onAbort();
        signal.addEventListener('abort', onAbort, { once: true });
        try {
          await closing.end().catch(() => undefined);
        } finally {
          signal.removeEventListener('abort', onAbort);
          connections.clear();
        }
      },
    };
  },
});

/**
 * Settles with `work`, or rejects when `signal` aborts first. The statement is not cancelled: it may
 * still complete, which is harmless because writes are idempotent (span-writer.ts).
 */
function abortable<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) {
    work.catch(() => undefined);
    return Promise.reject(abortError());
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(abortError());
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(e as Error);
      },
    );
  });
}

function abortError(): Error {
  const e = new Error('aborted (attempt timed out or shutdown)');
  e.name = 'AbortError';
  return e;
}
