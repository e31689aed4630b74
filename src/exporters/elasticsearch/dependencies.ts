/**
 * Dependency links for the days the exporter wrote spans to, stored as zipkin-dependencies stores them:
 * one document per (parent, child) in `<index>-dependency-<day>`, `_id` `parent|child`, body
 * `{"id":"parent|child","parent","child","callCount","errorCount"}`. Zipkin's API reads these (it does
 * not link on the fly for Elasticsearch).
 *
 * Links are right only over whole traces (a CLIENT with children is skipped, parents come from
 * ancestors), and spans of a trace arrive in several batches, possibly more than once. So links are not
 * counted per batch: each day written to is linked again from every span the day's index holds, and the
 * result overwrites that day's documents (same ids), which makes the links exact however often spans
 * are redelivered. This runs every `dependencies.interval` for the days touched since the last run, and
 * once more at shutdown.
 *
 * A day is read with a scroll sorted by trace id, so that one trace at a time is in memory, and traces
 * are grouped by their whole id (Zipkin's default STRICT_TRACE_ID; zipkin-dependencies groups by the
 * low 64 bits, which differs only for traces reported with both 64- and 128-bit ids).
 */
import type { ExporterContext } from '../../component/types.js';
import { CountedLog } from '../../telemetry/logger.js';
import { DependencyLinker, type ZipkinSpanJson } from '../zipkin-storage/dependency-linker.js';
import { bulkBody, readBulkAnswer, type BulkEntry } from './bulk.js';
import { describeRequestError, errorText, type SearchAnswer, type SearchClient } from './client.js';
import type { ElasticsearchConfig } from './config.js';
import type { ServerVersion } from './templates.js';

/** Deadline of each request of a run. */
const REQUEST_TIMEOUT_MS = 60_000;
/** Spans read per scroll page. */
const PAGE_SIZE = 2000;
/** Days remembered between runs; more (spans spread over years) are not linked again (logged with a count). */
export const MAX_PENDING_DAYS = 400;
/** The fields the linker reads (annotations and other tags are not). */
/** Spans of one trace held for linking; a larger trace is left out of the links (counted, logged). */
export const MAX_TRACE_SPANS = 100_000;
const SOURCE_FIELDS = ['traceId', 'parentId', 'id', 'kind', 'timestamp', 'localEndpoint', 'remoteEndpoint', 'tags.error', 'shared'];

export class DependencyLinks {
  /** Span indices written to since the last run. */
  private readonly pending = new Set<string>();
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private readonly stopping = new AbortController();
  private readonly spanInfix: string;
  private readonly dependencyInfix: string;
  private readonly skippedDays: CountedLog;
  private readonly tracesSkipped;
  private readonly daysDropped;

  constructor(
    private readonly client: SearchClient,
    private readonly cfg: ElasticsearchConfig,
    private readonly context: ExporterContext,
    /** Resolves once the cluster's version is known and the templates are in place. */
    private readonly prepare: (signal: AbortSignal) => Promise<ServerVersion>,
    private readonly maxTraceSpans = MAX_TRACE_SPANS,
  ) {
    this.spanInfix = `${cfg.index}-span-`;
    this.dependencyInfix = `${cfg.index}-dependency-`;
    this.skippedDays = new CountedLog(context.logger, 'days whose dependency links were not updated');
    this.daysDropped = context.metrics.counter(
      'spanline_elasticsearch_dependency_days_dropped_total',
      'UTC days whose dependency links were not recomputed: more days were waiting than are kept, or shutdown came first.',
      ['exporter'],
    );
    this.tracesSkipped = context.metrics.counter(
      'spanline_elasticsearch_dependency_traces_skipped_total',
      'Traces left out of dependency links because they had too many spans to hold.',
      ['exporter'],
    );
  }

  start(): void {
    this.timer = setInterval(() => void this.runOnce(this.stopping.signal), this.cfg.dependencies.interval);
    this.timer.unref();
  }

  /** Notes that spans were stored in `spanIndex`. */
  touched(spanIndex: string): void {
    if (this.pending.has(spanIndex)) return;
    if (this.pending.size >= MAX_PENDING_DAYS) {
      this.daysDropped.inc({ exporter: this.context.id });
      this.skippedDays.add(1, `more than ${MAX_PENDING_DAYS} days written to between two runs`);
      return;
    }
    this.pending.add(spanIndex);
  }

  /** Links the days touched so far, unless a run is under way (then waits for it). */
  runOnce(signal: AbortSignal): Promise<void> {
    if (this.running !== undefined) return this.running;
    if (this.pending.size === 0) return Promise.resolve();
    this.running = this.run(signal).finally(() => (this.running = undefined));
    return this.running;
  }

  async shutdown(signal: AbortSignal): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    // A run of the interval under way (a whole day read back) must not outlast the shutdown deadline.
    const onAbort = () => this.stopping.abort();
    if (signal.aborted) onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    try {
      if (this.running !== undefined) await this.running;
      // The final run must honour the shutdown deadline, not a signal that was never aborted.
      await this.runOnce(signal);
    } finally {
      signal.removeEventListener('abort', onAbort);
    }
    this.stopping.abort();
    if (this.pending.size > 0) {
      this.daysDropped.inc({ exporter: this.context.id }, this.pending.size);
      this.skippedDays.add(this.pending.size, 'shutdown before their links were updated');
    }
    this.skippedDays.close();
  }

  private async run(signal: AbortSignal): Promise<void> {
    const indices = [...this.pending];
    this.pending.clear();
    const failed: string[] = [];
    for (const index of indices) {
      if (signal.aborted) {
        failed.push(index);
        continue;
      }
      try {
        await this.prepare(signal);
        const links = await this.linkDay(index, signal);
        await this.store(this.dependencyIndexOf(index), links, signal);
      } catch (e) {
        failed.push(index);
        this.context.logger.warn({ index, err: (e as Error).message }, 'could not update dependency links; will try again');
      }
    }
    // Days that failed are tried again at the next run.
    for (const index of failed) this.touched(index);
  }

  dependencyIndexOf(spanIndex: string): string {
    return this.dependencyInfix + spanIndex.slice(this.spanInfix.length);
  }

  /** Reads every span of the index, trace by trace, and links them. */
  async linkDay(spanIndex: string, signal: AbortSignal): Promise<DependencyLink[]> {
    // Spans just written become searchable at the next refresh; make it now.
    await this.call('POST', `/${encodeURIComponent(spanIndex)}/_refresh?ignore_unavailable=true`, undefined, signal);
    const linker = new DependencyLinker();
    const limit = this.cfg.dependencies.max_spans_per_day;
    let trace: ZipkinSpanJson[] = [];
    let traceId = '';
    let overflow = false;
    let skipped = 0;
    let read = 0;
    let scrollId: string | undefined;
    const query = JSON.stringify({ size: PAGE_SIZE, sort: [{ traceId: 'asc' }], _source: { includes: SOURCE_FIELDS } });
    let res = await this.call('POST', `/${encodeURIComponent(spanIndex)}/_search?scroll=1m&ignore_unavailable=true`, query, signal);
    try {
      for (;;) {
        if (res.status === 404) break;
        if (res.status !== 200) throw new Error(`search of ${spanIndex} answered ${res.status}: ${errorText(res.body)}`);
        const page = JSON.parse(res.body.toString('utf8')) as { _scroll_id?: string; hits?: { hits?: { _source?: ZipkinSpanJson }[] } };
        scrollId = page._scroll_id ?? scrollId;
        const hits = page.hits?.hits ?? [];
        for (const hit of hits) {
          const span = hit._source;
          if (span === undefined || typeof span.traceId !== 'string') continue;
          if (span.traceId !== traceId) {
            if (trace.length > 0) linker.putTrace(trace);
            trace = [];
            traceId = span.traceId;
            overflow = false;
          }
          if (overflow) continue;
          if (trace.length >= this.maxTraceSpans) {
            // Links are only right over a whole trace: one too large to hold is left out entirely.
            overflow = true;
            trace = [];
            skipped++;
            continue;
          }
          trace.push(span);
        }
        read += hits.length;
        if (hits.length < PAGE_SIZE || scrollId === undefined) break;
        if (read >= limit) {
          this.context.logger.warn({ index: spanIndex, limit }, 'dependency links of this day are computed from its first spans only (dependencies.max_spans_per_day)');
          break;
        }
        res = await this.call('POST', '/_search/scroll', JSON.stringify({ scroll: '1m', scroll_id: scrollId }), signal);
      }
    } finally {
      if (scrollId !== undefined) {
        await this.call('DELETE', '/_search/scroll', JSON.stringify({ scroll_id: scrollId }), AbortSignal.timeout(5000)).catch(() => undefined);
      }
    }
    if (trace.length > 0) linker.putTrace(trace);
    if (skipped > 0) {
      this.tracesSkipped.inc({ exporter: this.context.id }, skipped);
      this.context.logger.warn({ index: spanIndex, traces: skipped, max_spans: this.maxTraceSpans }, 'traces too large to link were left out of the dependency links');
    }
    return linker.link();
  }

  /** Writes a day's links, overwriting the documents of the same pairs. */
  async store(dependencyIndex: string, links: readonly DependencyLink[], signal: AbortSignal): Promise<void> {
    if (links.length === 0) return;
    const entries: BulkEntry[] = links.map((l) => {
      const id = `${l.parent}|${l.child}`;
      return { index: dependencyIndex, id, json: JSON.stringify({ id, parent: l.parent, child: l.child, callCount: l.callCount, errorCount: l.errorCount }) };
    });
    const res = await this.call('POST', '/_bulk?filter_path=errors,items.*.status,items.*.error.type,items.*.error.reason', bulkBody(entries), signal, 'application/x-ndjson');
    if (res.status < 200 || res.status >= 300) throw new Error(`_bulk of dependency links answered ${res.status}: ${errorText(res.body)}`);
    const { failures } = readBulkAnswer(res.body.toString('utf8'), entries.length);
    if (failures.length > 0) throw new Error(`${failures.length} dependency links not stored: ${failures[0].status} ${failures[0].type}: ${failures[0].reason}`);
  }

  private async call(method: string, path: string, body: string | undefined, signal: AbortSignal, contentType?: string): Promise<SearchAnswer> {
    try {
      // The timer's runs have no deadline of their own: a cluster that stops answering must not hold one forever.
      return await this.client.request(method, path, body, AbortSignal.any([signal, AbortSignal.timeout(REQUEST_TIMEOUT_MS)]), contentType);
    } catch (e) {
      throw new Error(`${method} ${path.split('?')[0]} failed: ${describeRequestError(e)}`);
    }
  }
}

type DependencyLink = ReturnType<DependencyLinker['link']>[number];
