/**
 * The pure parts of the elasticsearch exporter: Zipkin's span document (search fields, _id), index
 * names, templates per version, the auth header, `_bulk` answers and config checks. What a real cluster
 * makes of them is in cluster.test.ts.
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { Context } from '../../../src/config/schema.js';
import { decodeZipkinV2Json } from '../../../src/codecs/zipkin-json.js';
import { bulkBody, readBulkAnswer } from '../../../src/exporters/elasticsearch/bulk.js';
import { authorization } from '../../../src/exporters/elasticsearch/client.js';
import { elasticsearchConfig, validateElasticsearchConfig } from '../../../src/exporters/elasticsearch/config.js';
import { indexDay, indexName, spanDocument } from '../../../src/exporters/elasticsearch/document.js';
import { parseVersion, unsupported, zipkinTemplates } from '../../../src/exporters/elasticsearch/templates.js';

const md5 = (s: string) => createHash('md5').update(s, 'utf8').digest('hex');

/** Zipkin's SpanBytesEncoderTest.SPAN, as v2 JSON. */
const ZIPKIN_SPAN =
  '{"traceId":"7180c278b62e8f6a216a2aea45d08fc9","parentId":"6b221d5bc9e6496c","id":"5b4185666d50f68b","kind":"CLIENT","name":"get","timestamp":1472470996199000,"duration":207000,"localEndpoint":{"serviceName":"frontend","ipv4":"127.0.0.1"},"remoteEndpoint":{"serviceName":"backend","ipv4":"192.168.99.101","port":9000},"annotations":[{"timestamp":1472470996238000,"value":"foo"},{"timestamp":1472470996403000,"value":"bar"}],"tags":{"clnt/finagle.version":"6.45.0","http.path":"/api"}}';

const NOW = Date.UTC(2026, 10, 21, 12);
const long = (n: number) => 'x'.repeat(n);

describe('span document', () => {
  const cases: { name: string; span: string; json: string; traceId: string; day: string }[] = [
    {
      name: "Zipkin's example span: timestamp_millis and _q first, annotation values then key and key=value per tag",
      span: ZIPKIN_SPAN,
      json:
        '{"timestamp_millis":1472470996199,"_q":["foo","bar","clnt/finagle.version","clnt/finagle.version=6.45.0","http.path","http.path=/api"],' +
        ZIPKIN_SPAN.slice(1),
      traceId: '7180c278b62e8f6a216a2aea45d08fc9',
      day: '2016-08-29',
    },
    {
      name: 'no annotations or tags: no _q',
      span: '{"traceId":"000000000000000a","id":"000000000000000b","timestamp":1472470996199000}',
      json: '{"timestamp_millis":1472470996199,"traceId":"000000000000000a","id":"000000000000000b","timestamp":1472470996199000}',
      traceId: '000000000000000a',
      day: '2016-08-29',
    },
    {
      name: 'no timestamp: no timestamp_millis, the day of the first annotation',
      span: '{"traceId":"000000000000000a","id":"000000000000000b","annotations":[{"timestamp":1472515200000000,"value":"wr"}]}',
      json: '{"_q":["wr"],"traceId":"000000000000000a","id":"000000000000000b","annotations":[{"timestamp":1472515200000000,"value":"wr"}]}',
      traceId: '000000000000000a',
      day: '2016-08-30',
    },
    {
      name: 'no time at all: today',
      span: '{"traceId":"000000000000000a","id":"000000000000000b","name":"x"}',
      json: '{"traceId":"000000000000000a","id":"000000000000000b","name":"x"}',
      traceId: '000000000000000a',
      day: '2026-11-21',
    },
    {
      name: 'a 128-bit id with a zero high half is 64-bit, in the document and the _id',
      span: '{"traceId":"0000000000000000000000000000000a","id":"000000000000000b","timestamp":1000000}',
      json: '{"timestamp_millis":1000,"traceId":"000000000000000a","id":"000000000000000b","timestamp":1000000}',
      traceId: '000000000000000a',
      day: '1970-01-01',
    },
    {
      name: 'annotations over 256 characters and tags whose key=value is over 256 are left out of _q (but _q stays)',
      span: `{"traceId":"000000000000000a","id":"000000000000000b","timestamp":1000000,"annotations":[{"timestamp":1000001,"value":"${long(257)}"}],"tags":{"a":"${long(254)}","b":"${long(255)}"}}`,
      json: `{"timestamp_millis":1000,"_q":["a","a=${long(254)}"],"traceId":"000000000000000a","id":"000000000000000b","timestamp":1000000,"annotations":[{"timestamp":1000001,"value":"${long(257)}"}],"tags":{"a":"${long(254)}","b":"${long(255)}"}}`,
      traceId: '000000000000000a',
      day: '1970-01-01',
    },
    {
      name: 'empty tag values and non-ASCII text',
      span: '{"traceId":"000000000000000a","id":"000000000000000b","timestamp":1000000,"tags":{"error":"","note":"ünï ✓"}}',
      json: '{"timestamp_millis":1000,"_q":["error","error=","note","note=ünï ✓"],"traceId":"000000000000000a","id":"000000000000000b","timestamp":1000000,"tags":{"error":"","note":"ünï ✓"}}',
      traceId: '000000000000000a',
      day: '1970-01-01',
    },
  ];
  it.each(cases)('$name', ({ span, json, traceId, day }) => {
    const doc = spanDocument(decodeZipkinV2Json(`[${span}]`)[0], NOW);
    expect(doc.json).toBe(json);
    expect(JSON.parse(doc.json)).toBeTypeOf('object');
    expect(doc.id).toBe(`${traceId}-${md5(json)}`);
    expect(indexDay(doc.indexMillis, '-')).toBe(day);
  });

  it('returns the tags of the autocomplete keys that fit in 256 characters, in key order', () => {
    const span = `{"traceId":"000000000000000a","id":"000000000000000b","tags":{"http.path":"/api","http.method":"GET","other":"x","long":"${long(251)}","longer":"${long(251)}"}}`;
    const doc = spanDocument(decodeZipkinV2Json(`[${span}]`)[0], NOW, new Set(['http.path', 'http.method', 'long', 'longer', 'absent']));
    expect(doc.autocomplete).toEqual(['http.method', 'GET', 'http.path', '/api', 'long', long(251)]);
    expect(spanDocument(decodeZipkinV2Json(`[${span}]`)[0], NOW).autocomplete).toBeUndefined();
  });

  it('gives the same span the same _id, and a changed span another', () => {
    const [a] = decodeZipkinV2Json(`[${ZIPKIN_SPAN}]`);
    const [b] = decodeZipkinV2Json(`[${ZIPKIN_SPAN.replace('"duration":207000', '"duration":207001')}]`);
    expect(spanDocument(a, NOW).id).toBe(spanDocument(decodeZipkinV2Json(`[${ZIPKIN_SPAN}]`)[0], NOW + 1).id);
    expect(spanDocument(b, NOW).id).not.toBe(spanDocument(a, NOW).id);
  });
});

describe('index names', () => {
  it.each([
    { millis: Date.UTC(2016, 7, 29, 23, 59, 59, 999), separator: '-', name: 'zipkin-span-2016-08-29' },
    { millis: Date.UTC(2016, 7, 30), separator: '-', name: 'zipkin-span-2016-08-30' },
    { millis: Date.UTC(2016, 7, 29), separator: '.', name: 'zipkin-span-2016.08.29' },
    { millis: Date.UTC(2016, 7, 29), separator: '', name: 'zipkin-span-20160829' },
  ])('$millis with "$separator": $name', ({ millis, separator, name }) => {
    expect(indexName('zipkin', 'span', indexDay(millis, separator))).toBe(name);
  });
});

describe('templates', () => {
  const os2 = parseVersion('2.19.6', 'opensearch')!;
  const es8 = parseVersion('8.19.21', undefined)!;
  const es77 = parseVersion('7.7.1', 'default')!;
  it.each([
    { v: os2, priority: undefined, paths: ['/_template/zipkin-span_template', '/_template/zipkin-dependency_template', '/_template/zipkin-autocomplete_template'] },
    { v: os2, priority: 10, paths: ['/_index_template/zipkin-span_template', '/_index_template/zipkin-dependency_template', '/_index_template/zipkin-autocomplete_template'] },
    { v: es8, priority: 10, paths: ['/_index_template/zipkin-span_template', '/_index_template/zipkin-dependency_template', '/_index_template/zipkin-autocomplete_template'] },
    // Composable templates came with 7.8.
    { v: es77, priority: 10, paths: ['/_template/zipkin-span_template', '/_template/zipkin-dependency_template', '/_template/zipkin-autocomplete_template'] },
  ])('$v.distribution $v.number, priority $priority', ({ v, priority, paths }) => {
    const ts = zipkinTemplates(v, { prefix: 'zipkin', shards: 5, replicas: 1, priority });
    expect(ts.map((t) => t.path)).toEqual(paths);
    const span = ts[0].body as Record<string, unknown>;
    const inner = (priority !== undefined && paths[0].startsWith('/_index_template') ? span.template : span) as Record<string, Record<string, unknown>>;
    expect(span.index_patterns).toBe('zipkin-span-*');
    expect(inner.settings).toEqual({ 'index.number_of_shards': 5, 'index.number_of_replicas': 1, 'index.requests.cache.enable': true });
    expect(inner.mappings._source).toEqual({ excludes: ['_q'] });
    expect(Object.keys(inner.mappings.properties as object)).toEqual([
      'traceId', 'name', 'localEndpoint', 'remoteEndpoint', 'timestamp_millis', 'duration', 'annotations', 'tags', '_q',
    ]);
    if (inner === span) expect(span.priority).toBeUndefined();
    else expect(span.priority).toBe(priority);
    expect((ts[1].body as { index_patterns: string }).index_patterns).toBe('zipkin-dependency-*');
  });

  it.each([
    { number: '6.8.0', distribution: undefined, supported: false },
    { number: '7.10.2', distribution: undefined, supported: true },
    { number: '9.3.2', distribution: undefined, supported: true },
    { number: '10.0.0', distribution: undefined, supported: false },
    { number: '1.3.0', distribution: 'opensearch', supported: true },
    { number: '3.1.0', distribution: 'opensearch', supported: true },
    { number: '4.0.0', distribution: 'opensearch', supported: false },
  ])('$distribution $number supported: $supported', ({ number, distribution, supported }) => {
    expect(unsupported(parseVersion(number, distribution)!) === undefined).toBe(supported);
  });
});

describe('auth header', () => {
  it.each([
    { c: {}, header: undefined },
    { c: { username: 'elastic', password: 'changeme' }, header: 'Basic ZWxhc3RpYzpjaGFuZ2VtZQ==' },
    { c: { username: 'ü', password: ':' }, header: 'Basic ' + Buffer.from('ü::').toString('base64') },
    { c: { api_key: 'VnVhQ2ZHY0JDZGJrUW0tZTVhT3g6dWkybHAyYXhUTm1zeWFrdzl0dk5udw==' }, header: 'ApiKey VnVhQ2ZHY0JDZGJrUW0tZTVhT3g6dWkybHAyYXhUTm1zeWFrdzl0dk5udw==' },
  ])('$header', ({ c, header }) => {
    expect(authorization(c)).toBe(header);
  });
});

describe('_bulk', () => {
  it('writes an action line and a document line per entry', () => {
    expect(bulkBody([{ index: 'zipkin-span-2016-08-29', id: 'a-1', json: '{"x":1}' }, { index: 'i', id: 'b"', json: '{}' }])).toBe(
      '{"index":{"_index":"zipkin-span-2016-08-29","_id":"a-1"}}\n{"x":1}\n{"index":{"_index":"i","_id":"b\\""}}\n{}\n',
    );
  });

  it('reads item failures in request order, and refuses an answer with the wrong number of items', () => {
    const answer = JSON.stringify({
      errors: true,
      items: [
        { index: { status: 201 } },
        { index: { status: 429, error: { type: 'cluster_block_exception', reason: 'blocked' } } },
        { index: { status: 400, error: { type: 'document_parsing_exception', reason: 'failed to parse' } } },
      ],
    });
    expect(readBulkAnswer(answer, 3).failures).toEqual([
      { position: 1, status: 429, type: 'cluster_block_exception', reason: 'blocked' },
      { position: 2, status: 400, type: 'document_parsing_exception', reason: 'failed to parse' },
    ]);
    expect(readBulkAnswer('{"errors":false,"items":[{"index":{"status":200}}]}', 1).failures).toEqual([]);
    expect(() => readBulkAnswer(answer, 2)).toThrow(/3 items for 2 documents/);
  });
});

describe('config', () => {
  const check = (config: Record<string, unknown>) => {
    const ctx: Context = { issues: [] };
    const cfg = elasticsearchConfig.check(config, [], ctx);
    if (cfg === undefined) return ctx.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    return validateElasticsearchConfig(cfg).map((i) => `${i.path.join('.')}: ${i.message}`);
  };
  it.each([
    { config: { endpoints: ['http://es:9200'] }, problems: [] },
    { config: { endpoints: ['http://es:9200'], index: 'Zipkin' }, problems: [/^index: /] },
    { config: { endpoints: ['http://es:9200'], date_separator: '--' }, problems: [/^date_separator: /] },
    { config: { endpoints: ['http://es:9200'], date_separator: '' }, problems: [] },
    { config: { endpoints: [] }, problems: [/^endpoints: needs at least one URL/] },
    { config: { endpoints: ['es:9200'] }, problems: [/^endpoints\.0: /] },
    { config: { endpoints: ['http://a:9200', 'https://b:9200'] }, problems: [/mixes http/] },
    { config: { endpoints: ['http://es:9200'], username: 'u' }, problems: [/^password: /] },
    { config: { endpoints: ['http://es:9200'], username: 'u', password: 'p', api_key: 'k' }, problems: [/^api_key: /] },
    { config: { endpoints: ['http://es:9200'], tls: { ca_file: 'ca.pem' } }, problems: [/^tls: TLS options need https/] },
    { config: { endpoints: ['https://es:9200'], tls: { ca_file: 'ca.pem' } }, problems: [] },
    { config: { endpoints: ['https://es:9200'], tls: { insecure: true } }, problems: [/^tls\.insecure: is gRPC only/] },
  ])('$config', ({ config, problems }) => {
    const got = check(config);
    expect(got).toHaveLength(problems.length);
    problems.forEach((p, i) => expect(got[i]).toMatch(p));
  });
});
