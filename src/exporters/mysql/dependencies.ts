/**
 * Fills `zipkin_dependencies` the way the zipkin-dependencies job does for MySQL, for the UTC days the
 * exporter wrote spans of: read back what is stored for the day (spans with `start_ts` in the day, with
 * their lc/cs/ca/sr/sa/ms/mr/ma/error rows), group by the low 64 bits of the trace id, link each trace with
 * Zipkin's linker, and replace the day's rows. Recomputing from storage, not counting spans as they pass,
 * keeps the links exact when spans are delivered twice or arrive in pieces, and whoever else writes
 * spans to the same database.
 *
 * Runs on an interval and once more at shutdown. Memory is bounded: the days waiting are at most
 * {@link MAX_PENDING_DAYS} (the oldest are forgotten beyond, counted), rows are streamed in trace order
 * and one trace is held at a time (a trace over {@link MAX_TRACE_SPANS} spans is skipped, counted), and the
 * links of one day are as many as its (parent, child) service pairs.
 */
import type { Logger } from 'pino';
import type { Connection as CallbackConnection } from 'mysql2';
import type { Pool, PoolConnection } from 'mysql2/promise';
import type { Counter } from 'prom-client';
import { DependencyLinker, type DependencyLink, type ZipkinSpanJson } from '../zipkin-storage/dependency-linker.js';
import { describeMysqlError } from './errors.js';
import { hexOf, type SpanRows } from './span-rows.js';

const DAY_US = 86_400_000_000n;
export const MAX_PENDING_DAYS = 64;
export const MAX_TRACE_SPANS = 100_000;

/** The job's query (zipkin-dependencies `MySQLDependenciesJob`), ordered so that traces can be streamed. */
export const DAY_LINKS_SQL = `SELECT DISTINCT s.trace_id_high, s.trace_id, s.parent_id, s.id, a.a_key, a.endpoint_service_name, a.a_type
  FROM zipkin_spans s LEFT OUTER JOIN zipkin_annotations a
    ON (s.trace_id = a.trace_id AND s.id = a.span_id AND a.a_key IN ('lc', 'ca', 'cs', 'sa', 'sr', 'ma', 'ms', 'mr', 'error'))
  WHERE s.start_ts BETWEEN ? AND ?
  ORDER BY s.trace_id, s.id`;

interface LinkRow {
  trace_id_high: string;
  trace_id: string;
  parent_id: string | null;
  id: string;
  a_key: string | null;
  endpoint_service_name: string | null;
  a_type: number | null;
}

export interface DependencyMetrics {
  daysDropped: Counter<'exporter'>;
  tracesSkipped: Counter<'exporter'>;
}

/** The UTC day (days since the epoch) of a timestamp in µs. */
export function utcDayOf(micros: bigint): number {
  return Number(micros >= 0n ? micros / DAY_US : (micros - DAY_US + 1n) / DAY_US);
}

/** `YYYY-MM-DD` of a day number. */
export function dayText(day: number): string {
  return new Date(day * 86_400_000).toISOString().slice(0, 10);
}

export class DependencyDays {
  private readonly pending = new Set<number>();
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private droppedDays = 0;
  /** Ends the interval's runs, which have no deadline of their own, when shutdown's deadline passes. */
  private readonly stopping = new AbortController();

  constructor(
    private readonly pool: Pool,
    private readonly intervalMs: number,
    private readonly logger: Logger,
    private readonly metrics: DependencyMetrics,
    private readonly exporterId: string,
  ) {}

  /** Notes the days of spans that were just written. */
  touch(rows: readonly SpanRows[]): void {
    let last = Number.NaN;
    for (let i = 0; i < rows.length; i++) {
      const ts = rows[i].span[7];
      if (ts === null) continue;
      const day = utcDayOf(ts);
      if (day === last) continue;
      last = day;
      this.add(day);
    }
  }

  /** Days waiting to be recomputed, oldest first. */
  pendingDays(): number[] {
    return [...this.pending].sort((a, b) => a - b);
  }

  start(): void {
    if (this.intervalMs <= 0 || this.timer !== undefined) return;
    this.timer = setInterval(() => void this.run(this.stopping.signal), this.intervalMs);
    this.timer.unref();
  }

  /** Stops the interval and recomputes what is pending, until `signal` aborts. */
  async stop(signal?: AbortSignal): Promise<void> {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
    // A run of the interval under way (a whole day read back) must not outlast the shutdown deadline.
    const onAbort = () => this.stopping.abort();
    if (signal?.aborted) onAbort();
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      await this.running;
      await this.run(signal);
    } finally {
      signal?.removeEventListener('abort', onAbort);
    }
  }

  /** Recomputes every pending day (one run at a time; a second call waits for the first). */
  run(signal?: AbortSignal): Promise<void> {
    if (this.running === undefined) {
      this.running = this.runOnce(signal).finally(() => {
        this.running = undefined;
      });
    }
    return this.running;
  }

  private add(day: number): void {
    if (this.pending.has(day)) return;
    this.pending.add(day);
    if (this.pending.size > MAX_PENDING_DAYS) {
      const oldest = Math.min(...this.pending);
      this.pending.delete(oldest);
      this.droppedDays++;
      this.metrics.daysDropped.inc({ exporter: this.exporterId });
    }
  }

  private async runOnce(signal?: AbortSignal): Promise<void> {
    if (this.droppedDays > 0) {
      this.logger.warn(
        { days: this.droppedDays, max: MAX_PENDING_DAYS },
        'spans touched more UTC days than are kept waiting; the oldest days were not relinked (run zipkin-dependencies for them)',
      );
      this.droppedDays = 0;
    }
    const days = this.pendingDays();
    this.pending.clear();
    for (let i = 0; i < days.length; i++) {
      if (signal?.aborted) {
        for (let k = i; k < days.length; k++) this.pending.add(days[k]);
        this.logger.warn({ days: days.slice(i).map(dayText) }, 'dependency links not recomputed before the shutdown deadline');
        return;
      }
      try {
        const links = await this.linkDay(days[i], signal);
        this.logger.debug({ day: dayText(days[i]), links: links.length }, 'dependency links recomputed');
      } catch (e) {
        this.pending.add(days[i]);
        this.logger.warn({ day: dayText(days[i]), err: describeMysqlError(e) }, 'could not recompute dependency links; will try again');
      }
    }
  }

  /** Links the day from what is stored and replaces its rows in `zipkin_dependencies`. */
  async linkDay(day: number, signal?: AbortSignal): Promise<DependencyLink[]> {
    const conn = await this.pool.getConnection();
    try {
      const links = await this.readLinks(conn, day, signal);
      // One transaction: readers see the old rows or the new ones, never a day without links.
      await conn.beginTransaction();
      await conn.query('DELETE FROM zipkin_dependencies WHERE day = ?', [dayText(day)]);
      if (links.length > 0) {
        await conn.query('INSERT INTO zipkin_dependencies (day, parent, child, call_count, error_count) VALUES ?', [
          links.map((l) => [dayText(day), l.parent, l.child, l.callCount, l.errorCount]),
        ]);
      }
      await conn.commit();
      conn.release();
      return links;
    } catch (e) {
      // The connection may be in the middle of a streamed result or a transaction: close it (which also
      // rolls back) rather than give it back to the pool.
      conn.destroy();
      throw e;
    }
  }

  private async readLinks(conn: PoolConnection, day: number, signal?: AbortSignal): Promise<DependencyLink[]> {
    const from = BigInt(day) * DAY_US;
    // The promise wrapper's `connection` is the callback connection (its typing says otherwise): only that
    // one streams rows.
    const core = conn.connection as unknown as CallbackConnection;
    const rows = core.query(DAY_LINKS_SQL, [from, from + DAY_US - 1n]).stream();
    const onAbort = () => rows.destroy(new Error('aborted'));
    signal?.addEventListener('abort', onAbort, { once: true });
    const linker = new DependencyLinker();
    const trace = new TraceRows();
    let skipped = 0;
    try {
      for await (const row of rows as AsyncIterable<LinkRow>) {
        if (row.trace_id !== trace.traceId) {
          if (trace.finish(linker)) skipped++;
          trace.begin(row.trace_id);
        }
        trace.add(row);
      }
      if (trace.finish(linker)) skipped++;
    } finally {
      signal?.removeEventListener('abort', onAbort);
    }
    if (skipped > 0) {
      this.metrics.tracesSkipped.inc({ exporter: this.exporterId }, skipped);
      this.logger.warn({ day: dayText(day), traces: skipped, max_spans: MAX_TRACE_SPANS }, 'traces too large to link were left out of the dependency links');
    }
    return linker.link();
  }
}

/**
 * The rows of one trace, folded per span into the skeleton Zipkin's `DependencyLinkV2SpanIterator` makes:
 * kind and endpoints from which of sr/sa/cs/mr/ms (and ca/lc/ma) name a service, and an `error` tag when
 * an `error` row is a tag.
 */
class TraceRows {
  traceId = '';
  private spans: ZipkinSpanJson[] = [];
  private spanId = '';
  private overflow = false;
  private traceIdHigh = '';
  private parentId: string | null = null;
  private services = new Map<string, string>();
  private error = false;

  begin(traceId: string): void {
    this.traceId = traceId;
    this.spans = [];
    this.spanId = '';
    this.overflow = false;
  }

  add(row: LinkRow): void {
    if (row.id !== this.spanId) {
      this.endSpan();
      this.spanId = row.id;
      this.traceIdHigh = row.trace_id_high;
      this.parentId = row.parent_id;
      this.services.clear();
      this.error = false;
    }
    const key = row.a_key;
    const service = row.endpoint_service_name;
    if (key === null || service === null || service === '') return;
    if (key === 'error') this.error = this.error || row.a_type === 6;
    else this.services.set(key, service);
  }

  /** Links the trace; true when it was skipped for its size. */
  finish(linker: DependencyLinker): boolean {
    if (this.traceId === '') return false;
    this.endSpan();
    this.traceId = '';
    if (this.overflow) return true;
    if (this.spans.length > 0) linker.putTrace(this.spans);
    return false;
  }

  private endSpan(): void {
    if (this.spanId === '') return;
    if (this.spans.length >= MAX_TRACE_SPANS) {
      this.overflow = true;
      this.spans = [];
    }
    if (!this.overflow) this.spans.push(this.skeleton());
    this.spanId = '';
  }

  private skeleton(): ZipkinSpanJson {
    const high = BigInt(this.traceIdHigh);
    const low = hexOf(BigInt(this.traceId));
    const span: ZipkinSpanJson = { traceId: high === 0n ? low : hexOf(high) + low, id: hexOf(BigInt(this.spanId)) };
    if (this.parentId !== null && this.parentId !== '0') span.parentId = hexOf(BigInt(this.parentId));
    if (this.error) span.tags = { error: '' };
    const sv = this.services;
    let ca = sv.get('ca') ?? sv.get('cs');
    const sa = sv.get('sa');
    const sr = sv.get('sr');
    const cs = sv.get('cs');
    const mr = sv.get('mr');
    const ms = sv.get('ms');
    // Finagle names both sides of a socket alike: that is not a loopback call.
    if (sa !== undefined && sa === ca) ca = undefined;
    if (sr !== undefined) {
      span.kind = 'SERVER';
      span.localEndpoint = { serviceName: sr };
      if (ca !== undefined) span.remoteEndpoint = { serviceName: ca };
    } else if (sa !== undefined) {
      if (cs !== undefined) span.kind = 'CLIENT';
      const local = ca ?? sv.get('lc');
      if (local !== undefined) span.localEndpoint = { serviceName: local };
      span.remoteEndpoint = { serviceName: sa };
    } else if (cs !== undefined) {
      span.kind = 'SERVER';
      if (ca !== undefined) span.localEndpoint = { serviceName: ca };
    } else if (mr !== undefined) {
      span.kind = 'CONSUMER';
      span.localEndpoint = { serviceName: mr };
      const ma = sv.get('ma');
      if (ma !== undefined) span.remoteEndpoint = { serviceName: ma };
    } else if (ms !== undefined) {
      span.kind = 'PRODUCER';
      span.localEndpoint = { serviceName: ms };
      const ma = sv.get('ma');
      if (ma !== undefined) span.remoteEndpoint = { serviceName: ma };
    }
    return span;
  }
}
