/**
 * The `elasticsearch` exporter: writes spans into Elasticsearch (7–9) or OpenSearch (1–3) exactly as
 * Zipkin's Elasticsearch storage does, so that a Zipkin server with `STORAGE_TYPE=elasticsearch` on the
 * same cluster (and the same `ES_INDEX`) shows them: Zipkin's index templates, daily
 * `<index>-span-YYYY-MM-DD` indices, Zipkin's documents and `_id`s (document.ts), the values of
 * `autocomplete_keys` tags in `<index>-autocomplete-YYYY-MM-DD`, and dependency links in
 * `<index>-dependency-YYYY-MM-DD` (dependencies.ts).
 *
 * Before the first write it reads the server's version (`GET /`) and installs the templates where
 * missing; a cluster that is down then only makes the attempt retryable. Outcomes of one `_bulk`:
 * a connection failure, 429 or 5xx is retryable (with Retry-After); another status is permanent; in a
 * 2xx answer, documents rejected for load (item status 429, 502–504) are retried alone (the retry subset
 * of ExportResult) and documents rejected for good (a mapping conflict, a closed or read-only index)
 * are dropped: counted in `spanline_exporter_elasticsearch_rejected_spans_total{reason=<error type>}`
 * and `spanline_exporter_send_failed_spans_total{reason="rejected"}`, and logged once per interval with
 * a count.
 */
import { defineExporter, permanent, retryable, SUCCESS, type ExportResult, type ExporterContext } from '../../component/types.js';
import type { Span, SpanBatch } from '../../model/span.js';
import { CountedLog } from '../../telemetry/logger.js';
import { parseRetryAfter } from '../../transport/http-client.js';
import { bulkBody, isRetryableItemStatus, readBulkAnswer, type BulkEntry } from './bulk.js';
import { SearchClient, describeRequestError, errorText, type SearchAnswer } from './client.js';
import { elasticsearchConfig, validateElasticsearchConfig, type ElasticsearchConfig } from './config.js';
import { DependencyLinks } from './dependencies.js';
import { indexDay, indexName, spanDocument } from './document.js';
import { parseVersion, unsupported, zipkinTemplates, type ServerVersion } from './templates.js';

/** Enough for the filtered answer of a `_bulk` of 100 000 documents that all failed. */
const MAX_ANSWER_BYTES = 64 * 1024 * 1024;
/** Only what the classification reads: the answer of a large bulk stays small. */
const BULK_FILTER = 'filter_path=errors,items.*.status,items.*.error.type,items.*.error.reason';
/** How long the attempt begun by start() may take (exports that join it wait at most this long). */
const START_TIMEOUT_MS = 10_000;

/** The cluster cannot take Zipkin's layout at all: retrying does not help. */
class PermanentSetupError extends Error {}

export const elasticsearchExporter = defineExporter({
  type: 'elasticsearch',
  stability: 'alpha',
  description: "Writes spans to Elasticsearch 7–9 or OpenSearch 1–3 in Zipkin's storage layout (templates, daily indices, dependency links), readable by a Zipkin server.",
  config: elasticsearchConfig,
  validate: validateElasticsearchConfig,
  create(cfg, context) {
    const problems = validateElasticsearchConfig(cfg);
    if (problems.length > 0) throw new Error(`elasticsearch exporter: ${problems[0].path.join('.')}: ${problems[0].message}`);
    return new ZipkinIndexWriter(cfg, context);
  },
});

export class ZipkinIndexWriter {
  readonly client: SearchClient;
  private version: ServerVersion | undefined;
  private preparing: Promise<ServerVersion> | undefined;
  private readonly rejectedLog: CountedLog;
  private readonly rejected;
  readonly links: DependencyLinks | undefined;
  private readonly autocompleteKeys: ReadonlySet<string>;
  private readonly recentTags: RecentTags;
  /** Aborted by shutdown: ends the attempt begun by start() if it is still waiting for the cluster. */
  private readonly stopping = new AbortController();

  constructor(
    private readonly cfg: ElasticsearchConfig,
    private readonly context: ExporterContext,
  ) {
    this.client = new SearchClient(cfg.endpoints, cfg.tls, cfg, MAX_ANSWER_BYTES);
    this.rejected = context.metrics.counter(
      'spanline_exporter_elasticsearch_rejected_spans_total',
      'Spans the cluster refused for good in a _bulk answer (not retried), by the error type it gave.',
      ['exporter', 'reason'],
    );
    this.rejectedLog = new CountedLog(context.logger, 'spans rejected by Elasticsearch/OpenSearch (not retried)');
    this.autocompleteKeys = new Set(cfg.autocomplete_keys);
    this.recentTags = new RecentTags(cfg.autocomplete_ttl, cfg.autocomplete_cardinality);
    if (cfg.dependencies.enabled) {
      this.links = new DependencyLinks(this.client, cfg, context, (signal) => this.prepare(signal));
    }
  }

  /**
   * Begins detecting the server and installing templates without waiting for them: a cluster that is
   * down or hangs must neither stop spanline nor hold up its start (the daemon starts exporters before
   * receivers, so a wait here is time spans are refused). An export meanwhile joins that attempt; after
   * a failure the next export tries again (and is retryable).
   */
  async start(): Promise<void> {
    await this.client.start();
    this.prepare(AbortSignal.any([AbortSignal.timeout(START_TIMEOUT_MS), this.stopping.signal])).then(
      (v) => this.context.logger.info({ endpoints: this.cfg.endpoints, distribution: v.distribution, version: v.number, index: this.cfg.index }, 'writing spans to Elasticsearch/OpenSearch'),
      (e: unknown) => this.context.logger.warn({ endpoints: this.cfg.endpoints, err: (e as Error).message }, 'the cluster is not ready; templates will be installed before the first write'),
    );
    this.links?.start();
  }

  async export(batch: SpanBatch, signal: AbortSignal): Promise<ExportResult> {
    if (batch.length === 0) return SUCCESS;
    try {
      await this.prepare(signal);
    } catch (e) {
      const error = e as Error;
      return e instanceof PermanentSetupError ? permanent(error) : retryable(error);
    }
    let entries: BulkEntry[];
    const tagKeys: string[] = [];
    try {
      entries = this.entries(batch, tagKeys);
    } catch (e) {
      return permanent(new Error(`cannot encode spans as Zipkin documents: ${(e as Error).message}`));
    }
    if (entries.length === 1 || bulkBytes(entries, 0, entries.length) <= this.cfg.bulk_max_bytes) {
      return this.sendBulk(batch, entries, tagKeys, signal);
    }
    // Too large for one request (a 413 would drop the batch): in requests of at most bulk_max_bytes,
    // each with its spans and their autocomplete entries. Spans of a request that fails as a whole
    // are retried with those of the requests not sent; ids are content hashes, so resending is safe.
    const pieces = this.pieces(batch, entries, tagKeys);
    const retry: Span[] = [];
    let firstError: Error | undefined;
    /** Set when a request failed as a whole (cluster down or overloaded): the rest are not sent now. */
    let stopped = false;
    let sent = 0;
    for (let p = 0; p < pieces.length; p++) {
      const piece = pieces[p];
      const result = stopped ? undefined : await this.sendBulk(piece.batch, piece.entries, piece.tagKeys, signal);
      if (result === undefined) for (const key of piece.tagKeys) this.recentTags.forget(key);
      if (result === undefined || result.code === 'retryable') {
        firstError ??= result?.error;
        if (result !== undefined && result.retry === undefined) stopped = true;
        for (const span of result?.retry ?? piece.batch) retry.push(span);
        continue;
      }
      // Permanent for this request alone (e.g. 400): its spans are dropped, counted as the queue would.
      if (result.code === 'permanent') {
        if (sent === 0 && p === pieces.length - 1) return result;
        this.context.metrics.exporterFailed.inc({ exporter: this.context.id, reason: 'permanent' }, piece.batch.length);
        this.rejectedLog.add(piece.batch.length, result.error.message);
      }
      sent += piece.batch.length;
    }
    if (retry.length > 0) return retryable(new Error(`${retry.length} of ${batch.length} spans not stored for now: ${firstError?.message}`), undefined, retry);
    return SUCCESS;
  }

  /** Splits a batch's entries into requests of at most `bulk_max_bytes`, autocomplete entries with their spans. */
  private pieces(batch: SpanBatch, entries: BulkEntry[], tagKeys: string[]): { batch: Span[]; entries: BulkEntry[]; tagKeys: string[] }[] {
    const out: { batch: Span[]; entries: BulkEntry[]; tagKeys: string[] }[] = [];
    let spans: Span[] = [];
    let bytes = 0;
    for (let i = 0; i < batch.length; i++) {
      const size = bulkBytes(entries, i, i + 1);
      if (spans.length > 0 && bytes + size > this.cfg.bulk_max_bytes) {
        out.push({ batch: spans, entries: [], tagKeys: [] });
        spans = [];
        bytes = 0;
      }
      spans.push(batch[i]);
      bytes += size;
    }
    if (spans.length > 0) out.push({ batch: spans, entries: [], tagKeys: [] });
    let i = 0;
    for (const piece of out) for (let k = 0; k < piece.batch.length; k++) piece.entries.push(entries[i++]);
    // Autocomplete entries are small: they ride with the last request.
    const last = out[out.length - 1];
    for (let k = batch.length; k < entries.length; k++) last.entries.push(entries[k]);
    for (const key of tagKeys) last.tagKeys.push(key);
    return out;
  }

  /** One `_bulk` of `entries`: the spans of `batch` first, in order, then autocomplete entries (keys in `tagKeys`). */
  private async sendBulk(batch: SpanBatch, entries: BulkEntry[], tagKeys: string[], signal: AbortSignal): Promise<ExportResult> {
    let res: SearchAnswer;
    try {
      res = await this.client.request('POST', this.bulkPath(), bulkBody(entries), signal, 'application/x-ndjson');
    } catch (e) {
      for (const key of tagKeys) this.recentTags.forget(key);
      return retryable(new Error(`POST /_bulk failed: ${describeRequestError(e)}`));
    }
    return this.classify(res, batch, entries, tagKeys);
  }

  async shutdown(signal: AbortSignal): Promise<void> {
    this.stopping.abort();
    try {
      await this.links?.shutdown(signal);
    } finally {
      this.rejectedLog.close();
      this.client.close();
    }
  }

  /**
   * The documents of a batch, each with its daily index: the spans' in batch order, then the
   * autocomplete entries not written recently (their de-duplication keys pushed to `tagKeys`).
   */
  entries(batch: SpanBatch, tagKeys: string[] = []): BulkEntry[] {
    const now = Date.now();
    const out: BulkEntry[] = new Array(batch.length);
    let tags: BulkEntry[] | undefined;
    for (let i = 0; i < batch.length; i++) {
      const doc = spanDocument(batch[i], now, this.autocompleteKeys);
      const day = indexDay(doc.indexMillis, this.cfg.date_separator);
      out[i] = { index: indexName(this.cfg.index, 'span', day), id: doc.id, json: doc.json };
      const pairs = doc.autocomplete;
      if (pairs === undefined) continue;
      for (let k = 0; k < pairs.length; k += 2) {
        // Zipkin's id for the pair, so that the same value on the same day is one document.
        const id = pairs[k] + '=' + pairs[k + 1];
        const key = day + '\n' + id;
        if (!this.recentTags.shouldWrite(key, now)) continue;
        (tags ??= []).push({ index: indexName(this.cfg.index, 'autocomplete', day), id, json: JSON.stringify({ tagKey: pairs[k], tagValue: pairs[k + 1] }) });
        tagKeys.push(key);
      }
    }
    return tags === undefined ? out : out.concat(tags);
  }

  private bulkPath(): string {
    let path = '/_bulk?' + BULK_FILTER;
    if (this.cfg.pipeline !== undefined) path += '&pipeline=' + encodeURIComponent(this.cfg.pipeline);
    return path;
  }

  private classify(res: SearchAnswer, batch: SpanBatch, entries: BulkEntry[], tagKeys: string[]): ExportResult {
    const status = res.status;
    if (status < 200 || status >= 300) {
      for (const key of tagKeys) this.recentTags.forget(key);
      const error = new Error(`POST /_bulk answered ${status}: ${errorText(res.body)}`);
      if (status === 429 || status >= 500) return retryable(error, parseRetryAfter(res.headers['retry-after']));
      return permanent(error);
    }
    let failures;
    try {
      failures = readBulkAnswer(res.body.toString('utf8'), entries.length).failures;
    } catch (e) {
      // The server took the request but its answer cannot say what was stored: sending again is safe,
      // as ids are content hashes.
      for (const key of tagKeys) this.recentTags.forget(key);
      return retryable(new Error(`unreadable _bulk answer: ${(e as Error).message}`));
    }
    const retry: Span[] = [];
    let firstRetry = '';
    const stored = new Set<string>();
    let f = 0;
    for (let i = 0; i < batch.length; i++) {
      const failure = f < failures.length && failures[f].position === i ? failures[f++] : undefined;
      if (failure === undefined) {
        stored.add(entries[i].index);
        continue;
      }
      if (isRetryableItemStatus(failure.status)) {
        retry.push(batch[i]);
        firstRetry ||= `${failure.status} ${failure.type}: ${failure.reason}`;
        continue;
      }
      this.rejected.inc({ exporter: this.context.id, reason: failure.type });
      this.context.metrics.exporterFailed.inc({ exporter: this.context.id, reason: 'rejected' });
      this.rejectedLog.add(1, `${entries[i].index}: ${failure.status} ${failure.type}: ${failure.reason}`);
    }
    // An autocomplete entry that was not stored is written again with a later span of the same tag.
    for (; f < failures.length; f++) this.recentTags.forget(tagKeys[failures[f].position - batch.length]);
    for (const index of stored) this.links?.touched(index);
    if (retry.length > 0) return retryable(new Error(`${retry.length} of ${batch.length} spans rejected for now: ${firstRetry}`), undefined, retry);
    return SUCCESS;
  }

  /** The server's version, once templates are in place; shared by concurrent callers. */
  prepare(signal: AbortSignal): Promise<ServerVersion> {
    if (this.version !== undefined) return Promise.resolve(this.version);
    this.preparing ??= this.detectAndInstall(signal).then(
      (v) => {
        this.version = v;
        this.preparing = undefined;
        return v;
      },
      (e: unknown) => {
        this.preparing = undefined;
        throw e;
      },
    );
    return this.preparing;
  }

  private async detectAndInstall(signal: AbortSignal): Promise<ServerVersion> {
    const v = await this.detectVersion(signal);
    const why = unsupported(v);
    if (why !== undefined) throw new PermanentSetupError(why);
    if (!this.cfg.ensure_templates) return v;
    const templates = zipkinTemplates(v, { prefix: this.cfg.index, shards: this.cfg.index_shards, replicas: this.cfg.index_replicas, priority: this.cfg.template_priority });
    for (const t of templates) {
      // As Zipkin: a template that exists is left as it is (an operator may have tuned it).
      const got = await this.call('GET', t.path, undefined, signal);
      if (got.status === 200) continue;
      if (got.status !== 404) throw this.setupError(`GET ${t.path}`, got);
      const put = await this.call('PUT', t.path, JSON.stringify(t.body), signal);
      if (put.status < 200 || put.status >= 300) throw this.setupError(`PUT ${t.path}`, put);
      this.context.logger.info({ template: t.path }, 'installed index template');
    }
    return v;
  }

  /**
   * `GET /` names distribution and version. Nodes without the root endpoint (Elasticsearch's integ-test
   * distribution lacks the module that serves it) are asked `GET /_nodes/_local`: Elasticsearch marks
   * every answer with `X-Elastic-Product`, and OpenSearch versions are 1–3 where Elasticsearch's are ≥ 5.
   */
  private async detectVersion(signal: AbortSignal): Promise<ServerVersion> {
    const root = await this.call('GET', '/', undefined, signal);
    if (root.status === 200) {
      const v = readJson(root.body) as { version?: { number?: unknown; distribution?: unknown } } | undefined;
      const parsed = parseVersion(v?.version?.number, v?.version?.distribution);
      if (parsed !== undefined) return parsed;
    } else if (root.status === 401 || root.status === 403) {
      throw this.setupError('GET /', root);
    }
    const nodes = await this.call('GET', '/_nodes/_local?filter_path=nodes.*.version', undefined, signal);
    if (nodes.status !== 200) throw this.setupError('GET /_nodes/_local', nodes);
    const body = readJson(nodes.body) as { nodes?: Record<string, { version?: unknown }> } | undefined;
    const number = Object.values(body?.nodes ?? {})[0]?.version;
    const major = typeof number === 'string' ? Number(number.split('.')[0]) : NaN;
    const elastic = nodes.headers['x-elastic-product'] !== undefined || major >= 5;
    const parsed = parseVersion(number, elastic ? 'elasticsearch' : 'opensearch');
    if (parsed === undefined) throw new Error(`cannot read the server version from GET / nor GET /_nodes/_local: ${errorText(nodes.body)}`);
    return parsed;
  }

  private async call(method: string, path: string, body: string | undefined, signal: AbortSignal): Promise<SearchAnswer> {
    try {
      return await this.client.request(method, path, body, signal);
    } catch (e) {
      throw new Error(`${method} ${path} failed: ${describeRequestError(e)}`);
    }
  }

  /** 429 and 5xx may pass; other statuses (auth, a refused template) need the operator. */
  private setupError(what: string, res: SearchAnswer): Error {
    const message = `${what} answered ${res.status}: ${errorText(res.body)}`;
    return res.status === 429 || res.status >= 500 ? new Error(message) : new PermanentSetupError(message);
  }
}

/**
 * (day, tag) pairs written to the autocomplete index lately, so that a frequent value is not rewritten
 * with every span: at most `capacity` of them, each for `ttlMs` (Zipkin's DelayLimiter, by day rather
 * than by span timestamp). The oldest is forgotten first when full.
 */
class RecentTags {
  private readonly expiry = new Map<string, number>();

  constructor(
    private readonly ttlMs: number,
    private readonly capacity: number,
  ) {}

  shouldWrite(key: string, now: number): boolean {
    const until = this.expiry.get(key);
    if (until !== undefined && until > now) return false;
    this.expiry.delete(key);
    this.expiry.set(key, now + this.ttlMs);
    if (this.expiry.size > this.capacity) this.expiry.delete(this.expiry.keys().next().value!);
    return true;
  }

  forget(key: string | undefined): void {
    if (key !== undefined) this.expiry.delete(key);
  }
}

/** Rough size of entries [from, to) in a `_bulk` body: the documents and their action lines. */
function bulkBytes(entries: readonly BulkEntry[], from: number, to: number): number {
  let bytes = 0;
  for (let i = from; i < to; i++) bytes += entries[i].json.length + entries[i].index.length + entries[i].id.length + 40;
  return bytes;
}

function readJson(body: Buffer): unknown {
  try {
    return JSON.parse(body.toString('utf8'));
  } catch {
    return undefined;
  }
}
