/**
 * The elasticsearch exporter against the real test clusters (`bash scripts/test-services.sh up opensearch
 * elasticsearch`): OpenSearch 2.19 and Elasticsearch 8.19, the same tests on each. What was written is
 * read back with the clusters' own APIs (_template, _search, _count), and the per-document outcomes of
 * `_bulk` are produced for real: a 429 from an index with the `read_only_allow_delete` block, a 403 from
 * the `write` block, a parsing error from an index whose mapping conflicts with the span.
 *
 * Every run uses fresh index prefixes, removed afterwards.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import type { Context } from '../../../src/config/schema.js';
import { decodeZipkinV2Json } from '../../../src/codecs/zipkin-json.js';
import { elasticsearchExporter, type ZipkinIndexWriter } from '../../../src/exporters/elasticsearch/index.js';
import { DependencyLinks } from '../../../src/exporters/elasticsearch/dependencies.js';
import { indexDay, indexName, spanDocument } from '../../../src/exporters/elasticsearch/document.js';
import type { Span } from '../../../src/model/span.js';
import { createLogger } from '../../../src/telemetry/logger.js';
import { SelfMetrics } from '../../../src/telemetry/metrics.js';
import { service } from '../../helpers/services.js';

const CLUSTERS = [
  { name: 'opensearch', url: () => service('opensearch').OPENSEARCH_URL, version: () => service('opensearch').OPENSEARCH_VERSION },
  { name: 'elasticsearch', url: () => service('elasticsearch').ELASTICSEARCH_URL, version: () => service('elasticsearch').ELASTICSEARCH_VERSION },
] as const;

const never = new AbortController().signal;

/** One REST call; the parsed JSON answer and its status. */
async function call(base: string, method: string, path: string, body?: unknown): Promise<{ status: number; json: any }> {
  const res = await fetch(base + path, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, json: text === '' ? undefined : JSON.parse(text) };
}

const prefixes: { base: string; prefix: string }[] = [];

function freshPrefix(base: string): string {
  const prefix = `spanline-test-${randomBytes(4).toString('hex')}`;
  prefixes.push({ base, prefix });
  return prefix;
}

afterAll(async () => {
  // Elasticsearch 8 refuses wildcard deletes (action.destructive_requires_name): delete by name.
  for (const { base, prefix } of prefixes) {
    const cat = await call(base, 'GET', `/_cat/indices/${prefix}-*?format=json&h=index`);
    for (const { index } of (cat.json ?? []) as { index: string }[]) await call(base, 'DELETE', `/${index}`);
    for (const type of ['span', 'dependency', 'autocomplete']) {
      await call(base, 'DELETE', `/_template/${prefix}-${type}_template`);
      await call(base, 'DELETE', `/_index_template/${prefix}-${type}_template`);
    }
  }
});

function exporter(config: Record<string, unknown>) {
  const ctx: Context = { issues: [] };
  const cfg = elasticsearchExporter.config.check(config, [], ctx);
  if (cfg === undefined) throw new Error(JSON.stringify(ctx.issues));
  const metrics = new SelfMetrics();
  const exp = elasticsearchExporter.create(cfg, { id: 'elasticsearch', logger: createLogger('silent'), metrics, configDir: '.' }) as ZipkinIndexWriter;
  return { exp, metrics };
}

async function counter(metrics: SelfMetrics, name: string): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  const metric = metrics.registry.getSingleMetric(name);
  if (metric === undefined) return out;
  for (const v of (await metric.get()).values) out[String(v.labels.reason)] = v.value;
  return out;
}

/** Spans of the fixtures with fresh trace ids (the clusters are shared by runs). */
function spans(file = 'test/fixtures/zipkin/client-server.json'): Span[] {
  let text = readFileSync(file, 'utf8');
  const ids = new Map<string, string>();
  text = text.replace(/"traceId": ?"([0-9a-f]+)"/g, (_m, id: string) => {
    if (!ids.has(id)) ids.set(id, randomBytes(id.length / 2).toString('hex'));
    return `"traceId": "${ids.get(id)}"`;
  });
  return decodeZipkinV2Json(text);
}

/** A span named `name` at `micros`, alone in its trace. */
function spanAt(micros: number): Span {
  const traceId = randomBytes(8).toString('hex');
  return decodeZipkinV2Json(
    `[{"traceId":"${traceId}","id":"${traceId}","kind":"SERVER","name":"get","timestamp":${micros},"duration":5,"localEndpoint":{"serviceName":"svc"},"tags":{"k":"v"}}]`,
  )[0];
}

async function hitsOf(base: string, indexPattern: string, query: unknown = { match_all: {} }) {
  await call(base, 'POST', `/${indexPattern}/_refresh`);
  const res = await call(base, 'POST', `/${indexPattern}/_search`, { size: 1000, query });
  expect(res.status).toBe(200);
  return res.json.hits.hits as { _index: string; _id: string; _source: Record<string, unknown> }[];
}

describe.each(CLUSTERS)('$name', (cluster) => {
  it("detects the server and installs Zipkin's templates before the first write", async () => {
    const base = cluster.url();
    const prefix = freshPrefix(base);
    const { exp } = exporter({ endpoints: [base], index: prefix, index_shards: 1, index_replicas: 0 });
    await exp.start();
    try {
      const v = await exp.prepare(never);
      expect(v).toMatchObject({ distribution: cluster.name, number: cluster.version() });
      for (const type of ['span', 'dependency', 'autocomplete']) {
        const got = await call(base, 'GET', `/_template/${prefix}-${type}_template`);
        expect(got.status).toBe(200);
        const t = got.json[`${prefix}-${type}_template`];
        expect(t.index_patterns).toEqual([`${prefix}-${type}-*`]);
        expect(t.settings.index).toMatchObject({ number_of_shards: '1', number_of_replicas: '0' });
      }
      const span = (await call(base, 'GET', `/_template/${prefix}-span_template`)).json[`${prefix}-span_template`];
      expect(span.mappings._source).toEqual({ excludes: ['_q'] });
      expect(span.mappings.properties).toMatchObject({
        traceId: { type: 'keyword', norms: false },
        name: { type: 'keyword', norms: false },
        localEndpoint: { type: 'object', dynamic: false, properties: { serviceName: { type: 'keyword', norms: false } } },
        timestamp_millis: { type: 'date', format: 'epoch_millis' },
        duration: { type: 'long' },
        annotations: { enabled: false },
        tags: { enabled: false },
        _q: { type: 'keyword', norms: false },
      });
      const dependency = (await call(base, 'GET', `/_template/${prefix}-dependency_template`)).json[`${prefix}-dependency_template`];
      expect(dependency.mappings).toEqual({ enabled: false });
    } finally {
      await exp.shutdown(never);
    }
  });

  it('installs composable templates with template_priority', async () => {
    const base = cluster.url();
    const prefix = freshPrefix(base);
    const { exp } = exporter({ endpoints: [base], index: prefix, template_priority: 7, dependencies: { enabled: false } });
    await exp.start();
    try {
      await exp.prepare(never);
      const got = await call(base, 'GET', `/_index_template/${prefix}-span_template`);
      expect(got.status).toBe(200);
      const t = got.json.index_templates[0].index_template;
      expect(t).toMatchObject({ index_patterns: [`${prefix}-span-*`], priority: 7 });
      expect(t.template.mappings.properties.name).toEqual({ type: 'keyword', norms: false });
      expect((await call(base, 'GET', `/_template/${prefix}-span_template`)).status).toBe(404);
    } finally {
      await exp.shutdown(never);
    }
  });

  it("stores each span in its day's index as Zipkin's document, with Zipkin's _id, once however often it is sent", async () => {
    const base = cluster.url();
    const prefix = freshPrefix(base);
    const { exp, metrics } = exporter({
      endpoints: [base],
      index: prefix,
      index_shards: 1,
      index_replicas: 0,
      dependencies: { enabled: false },
      autocomplete_keys: ['http.method', 'http.path'],
    });
    await exp.start();
    try {
      const batch = [...spans(), ...spans('test/fixtures/zipkin/rich-trace.json'), spanAt(Date.UTC(2016, 7, 29, 23, 59) * 1000)];
      expect(await exp.export(batch, never)).toEqual({ code: 'success' });
      expect(await exp.export(batch, never)).toEqual({ code: 'success' });
      const hits = await hitsOf(base, `${prefix}-span-*`);
      expect(hits).toHaveLength(batch.length);
      const byId = new Map(hits.map((h) => [h._id, h]));
      for (const span of batch) {
        const doc = spanDocument(span, Date.now());
        const hit = byId.get(doc.id);
        expect(hit, doc.json).toBeDefined();
        expect(hit!._index).toBe(indexName(prefix, 'span', indexDay(doc.indexMillis, '-')));
        // _q is indexed but not kept in _source (the template excludes it); the rest is the document.
        const { _q, ...source } = JSON.parse(doc.json) as Record<string, unknown>;
        expect(hit!._source).toEqual(source);
        for (const q of (_q ?? []) as string[]) {
          const found = await hitsOf(base, `${prefix}-span-*`, { bool: { filter: [{ term: { _q: q } }, { ids: { values: [doc.id] } }] } });
          expect(found.map((h) => h._id), `_q ${q}`).toEqual([doc.id]);
        }
      }
      // The fixtures' day, the day of the span at 23:59 UTC, and today for the rich trace's span without any time.
      expect(new Set(hits.map((h) => h._index))).toEqual(
        new Set([`${prefix}-span-2024-11-21`, `${prefix}-span-2016-08-29`, `${prefix}-span-${indexDay(Date.now(), '-')}`]),
      );
      expect(await counter(metrics, 'spanline_exporter_elasticsearch_rejected_spans_total')).toEqual({});
      // Zipkin's autocomplete documents: one per day and value of the keys asked for.
      const tags = await hitsOf(base, `${prefix}-autocomplete-*`);
      expect(tags.map((h) => [h._index, h._id, h._source]).sort()).toEqual(
        [
          [`${prefix}-autocomplete-2024-11-21`, 'http.method=GET', { tagKey: 'http.method', tagValue: 'GET' }],
          [`${prefix}-autocomplete-2024-11-21`, 'http.path=/api/orders', { tagKey: 'http.path', tagValue: '/api/orders' }],
          [`${prefix}-autocomplete-2024-11-21`, 'http.path=/checkout', { tagKey: 'http.path', tagValue: '/checkout' }],
        ].sort(),
      );
    } finally {
      await exp.shutdown(never);
    }
  });

  // In one _bulk, and with bulk_max_bytes so small that each span is sent in a request of its own.
  it.each([
    { bulk: {}, message: /^1 of 4 spans rejected for now: 429 cluster_block_exception/ },
    { bulk: { bulk_max_bytes: 1 }, message: /^1 of 4 spans not stored for now: 1 of 1 spans rejected for now: 429 cluster_block_exception/ },
  ])('retries only the documents refused for now (429) and drops those refused for good, counting them ($bulk)', async ({ bulk, message }) => {
    const base = cluster.url();
    const prefix = freshPrefix(base);
    const { exp, metrics } = exporter({ endpoints: [base], index: prefix, index_shards: 1, index_replicas: 0, dependencies: { enabled: false }, ...bulk });
    await exp.start();
    try {
      await exp.prepare(never);
      const day = (d: number) => Date.UTC(2020, 0, d, 12) * 1000;
      const [busy, fine, writeBlocked, conflicting] = [spanAt(day(1)), spanAt(day(2)), spanAt(day(3)), spanAt(day(4))];
      const index = (d: number) => `${prefix}-span-2020-01-0${d}`;
      for (const d of [1, 3]) expect((await call(base, 'PUT', `/${index(d)}`)).status).toBe(200);
      // What a full disk does to an index: writes answer 429 until the block is lifted.
      expect((await call(base, 'PUT', `/${index(1)}/_settings`, { 'index.blocks.read_only_allow_delete': true })).status).toBe(200);
      expect((await call(base, 'PUT', `/${index(3)}/_settings`, { 'index.blocks.write': true })).status).toBe(200);
      // An explicit mapping of a field the template leaves to dynamic mapping: `kind` is a number here.
      expect((await call(base, 'PUT', `/${index(4)}`, { mappings: { properties: { kind: { type: 'long' } } } })).status).toBe(200);

      const result = await exp.export([busy, fine, writeBlocked, conflicting], never);
      expect(result.code).toBe('retryable');
      if (result.code !== 'retryable') return;
      expect(result.retry).toEqual([busy]);
      expect(result.error.message).toMatch(message);
      const rejected = await counter(metrics, 'spanline_exporter_elasticsearch_rejected_spans_total');
      expect(Object.keys(rejected).sort()).toEqual(['cluster_block_exception', cluster.name === 'elasticsearch' ? 'document_parsing_exception' : 'mapper_parsing_exception']);
      expect(Object.values(rejected)).toEqual([1, 1]);
      expect(await counter(metrics, 'spanline_exporter_send_failed_spans_total')).toEqual({ rejected: 2 });
      expect((await hitsOf(base, `${prefix}-span-*`)).map((h) => h._index)).toEqual([index(2)]);

      expect((await call(base, 'PUT', `/${index(1)}/_settings`, { 'index.blocks.read_only_allow_delete': null })).status).toBe(200);
      expect(await exp.export(result.retry!, never)).toEqual({ code: 'success' });
      expect((await hitsOf(base, `${prefix}-span-*`)).map((h) => h._index).sort()).toEqual([index(1), index(2)]);
    } finally {
      await call(base, 'PUT', `/${prefix}-span-2020-01-03/_settings`, { 'index.blocks.write': null });
      await exp.shutdown(never);
    }
  });

  it('links dependencies of the days written to, exactly however often spans are redelivered', async () => {
    const base = cluster.url();
    const prefix = freshPrefix(base);
    const { exp } = exporter({ endpoints: [base], index: prefix, index_shards: 1, index_replicas: 0, dependencies: { interval: '1h' } });
    await exp.start();
    try {
      const links = async () => {
        await exp.links!.runOnce(never);
        return (await hitsOf(base, `${prefix}-dependency-*`)).map((h) => ({ index: h._index, id: h._id, ...h._source })).sort((a, b) => a.id.localeCompare(b.id));
      };
      const trace = spans();
      expect(await exp.export(trace, never)).toEqual({ code: 'success' });
      const once = [{ index: `${prefix}-dependency-2024-11-21`, id: 'frontend|orders', parent: 'frontend', child: 'orders', callCount: 1, errorCount: 1 }];
      expect(await links()).toEqual(once);
      expect(await exp.export(trace, never)).toEqual({ code: 'success' });
      expect(await links()).toEqual(once);
      // Another trace on that day: its calls are added to the day's links.
      expect(await exp.export([...spans(), ...spans('test/fixtures/zipkin/rich-trace.json')], never)).toEqual({ code: 'success' });
      const after = await links();
      expect(after.find((l) => l.id === 'frontend|orders')).toMatchObject({ callCount: 2, errorCount: 2 });
      expect(after.length).toBeGreaterThan(1);
    } finally {
      await exp.shutdown(never);
    }
  });

  it('leaves a trace too large to hold out of the links, counting it, and links the others', async () => {
    const base = cluster.url();
    const prefix = freshPrefix(base);
    const config = { endpoints: [base], index: prefix, index_shards: 1, index_replicas: 0, dependencies: { interval: '1h' } };
    const { exp } = exporter(config);
    await exp.start();
    try {
      const ts = Date.UTC(2024, 10, 21, 12) * 1000;
      const rpc = (traceId: string, id: string, client: string, server: string) => [
        { traceId, id, kind: 'CLIENT', name: 'get', timestamp: ts, duration: 10, localEndpoint: { serviceName: client }, remoteEndpoint: { serviceName: server } },
        { traceId, id, kind: 'SERVER', name: 'get', timestamp: ts + 1, duration: 8, localEndpoint: { serviceName: server }, shared: true },
      ];
      const small = randomBytes(8).toString('hex');
      const large = randomBytes(8).toString('hex');
      const [a, b] = [randomBytes(8).toString('hex'), randomBytes(8).toString('hex')];
      const json = [...rpc(small, a, 'frontend', 'orders'), ...rpc(large, a, 'web', 'api'), { ...rpc(large, b, 'api', 'db')[0], parentId: a }];
      expect(await exp.export(decodeZipkinV2Json(JSON.stringify(json)), never)).toEqual({ code: 'success' });

      const ctx: Context = { issues: [] };
      const cfg = elasticsearchExporter.config.check(config, [], ctx)!;
      const metrics = new SelfMetrics();
      const context = { id: 'elasticsearch', logger: createLogger('silent'), metrics, configDir: '.' };
      // At most 2 spans per trace: the 3-span trace is skipped whole, not linked from a part.
      const links = new DependencyLinks(exp.client, cfg, context, (signal) => exp.prepare(signal), 2);
      const linked = await links.linkDay(`${prefix}-span-2024-11-21`, never);
      expect(linked).toEqual([{ parent: 'frontend', child: 'orders', callCount: 1, errorCount: 0 }]);
      expect(await metrics.text()).toContain('spanline_elasticsearch_dependency_traces_skipped_total{exporter="elasticsearch"} 1\n');
    } finally {
      await exp.shutdown(never);
    }
  });

  it('answers retryable while the cluster is unreachable, and does not fail start()', async () => {
    const { exp } = exporter({ endpoints: ['http://127.0.0.1:9'], dependencies: { enabled: false } });
    await exp.start();
    const result = await exp.export([spanAt(1_000_000)], never);
    expect(result.code).toBe('retryable');
    if (result.code === 'retryable') expect(result.error.message).toMatch(/ECONNREFUSED/);
    await exp.shutdown(never);
  });
});
