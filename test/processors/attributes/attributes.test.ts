import { describe, expect, it } from 'vitest';
import { Span, SpanKind, newResource, type Attributes, type SpanBatch } from '../../../src/model/span.js';
import { attributesProcessor } from '../../../src/processors/attributes/index.js';
import { checkedConfig, processorContext } from '../../helpers/processors.js';

function processorFor(raw: Record<string, unknown>) {
  // create() runs validate too: a config it refuses fails the test here.
  const p = attributesProcessor.create(checkedConfig(attributesProcessor, raw), processorContext('attributes'));
  if (!('process' in p)) throw new Error('attributes transforms batches with process()');
  return (batch: SpanBatch) => p.process(batch) as SpanBatch;
}

/** Runs `actions` on one span with `attrs`; returns its attributes as ordered entries (types kept). */
function run(actions: Record<string, unknown>[], attrs: Attributes): [string, unknown][] {
  const sp = new Span(newResource({ 'service.name': 'orders' }), attrs);
  const [out] = processorFor({ actions })([sp]);
  return Object.entries(out.attributes);
}

type Row = [string, Record<string, unknown>[], Attributes, Attributes];

// [rule, actions, attributes before, attributes after (order and types compared)]
const rows: Row[] = [
  // insert / update / upsert on present and absent keys
  ['insert: absent key is added last', [{ key: 'env', action: 'insert', value: 'prod' }], { a: 'x' }, { a: 'x', env: 'prod' }],
  ['insert: present key is left alone', [{ key: 'env', action: 'insert', value: 'prod' }], { env: 'dev' }, { env: 'dev' }],
  ['insert: present empty value counts as present', [{ key: 'env', action: 'insert', value: 'prod' }], { env: null }, { env: null }],
  ['update: present key is replaced in place', [{ key: 'env', action: 'update', value: 'prod' }], { env: 'dev', b: 'y' }, { env: 'prod', b: 'y' }],
  ['update: absent key is not added', [{ key: 'env', action: 'update', value: 'prod' }], { a: 'x' }, { a: 'x' }],
  ['upsert: absent key is added', [{ key: 'env', action: 'upsert', value: 'prod' }], { a: 'x' }, { a: 'x', env: 'prod' }],
  ['upsert: present key is replaced in place', [{ key: 'env', action: 'upsert', value: 'prod' }], { env: 'dev', b: 'y' }, { env: 'prod', b: 'y' }],
  ['action names in any case', [{ key: 'env', action: 'UPSERT', value: 'prod' }], {}, { env: 'prod' }],
  // value types as written in YAML
  ['value: an integer is int64', [{ key: 'n', action: 'insert', value: 123 }], {}, { n: 123n }],
  ['value: a fraction is a double', [{ key: 'n', action: 'insert', value: 2.5 }], {}, { n: 2.5 }],
  ['value: a boolean', [{ key: 'b', action: 'insert', value: true }], {}, { b: true }],
  ['value: a quoted number stays a string', [{ key: 'n', action: 'insert', value: '123' }], {}, { n: '123' }],
  ['value: a list', [{ key: 'l', action: 'insert', value: ['a', 1] }], {}, { l: ['a', 1n] }],
  ['value: a map', [{ key: 'm', action: 'insert', value: { a: 1, b: 'x' } }], {}, { m: { a: 1n, b: 'x' } }],
  // from_attribute and default_value
  ['from_attribute: copies value and type', [{ key: 'copy', action: 'insert', from_attribute: 'src' }], { src: 42n }, { src: 42n, copy: 42n }],
  ['from_attribute: absent source does nothing', [{ key: 'copy', action: 'upsert', from_attribute: 'src' }], { a: 'x' }, { a: 'x' }],
  ['from_attribute: absent source on update leaves the key', [{ key: 'k', action: 'update', from_attribute: 'src' }], { k: 'old' }, { k: 'old' }],
  ['default_value: used when from_attribute is absent', [{ key: 'copy', action: 'upsert', from_attribute: 'src', default_value: 'none' }], {}, { copy: 'none' }],
  ['default_value: not used when from_attribute is present', [{ key: 'copy', action: 'upsert', from_attribute: 'src', default_value: 'none' }], { src: 'v' }, { src: 'v', copy: 'v' }],
  ['default_value: alone is the value', [{ key: 'k', action: 'insert', default_value: 7 }], {}, { k: 7n }],
  ['default_value: backs an empty value (unset env)', [{ key: 'k', action: 'insert', value: '', default_value: 'fallback' }], {}, { k: 'fallback' }],
  ['default_value: insert still needs the key absent', [{ key: 'k', action: 'insert', from_attribute: 'src', default_value: 'd' }], { k: 'old' }, { k: 'old' }],
  // delete
  ['delete: by key', [{ key: 'secret', action: 'delete' }], { a: 'x', secret: 's' }, { a: 'x' }],
  ['delete: absent key is a no-op', [{ key: 'secret', action: 'delete' }], { a: 'x' }, { a: 'x' }],
  ['delete: by pattern (unanchored, on keys)', [{ action: 'delete', pattern: 'token' }], { 'auth.token': 't', 'token.id': 'i', keep: 'k' }, { keep: 'k' }],
  ['delete: by anchored pattern', [{ action: 'delete', pattern: '^http\\.request\\.header\\.' }], { 'http.request.header.cookie': 'c', 'x.http.request.header.y': 'y' }, { 'x.http.request.header.y': 'y' }],
  ['delete: key and pattern', [{ key: 'a', action: 'delete', pattern: '^b' }], { a: '1', b1: '2', c: '3' }, { c: '3' }],
  // hash
  ['hash: string by key (SHA-256 hex)', [{ key: 'user', action: 'hash' }], { user: 'abc' }, { user: 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad' }],
  ['hash: int becomes a string hash', [{ key: 'id', action: 'hash' }], { id: 1n }, { id: '7c9fa136d4413fa6173637e883b6998d32e1d675f88cddff9dcbcf331820f4b8' }],
  ['hash: bytes become ""', [{ key: 'b', action: 'hash' }], { b: new Uint8Array([1]) }, { b: '' }],
  ['hash: absent key is a no-op', [{ key: 'user', action: 'hash' }], { a: 'x' }, { a: 'x' }],
  ['hash: by pattern', [{ action: 'hash', pattern: '^user\\.' }], { 'user.email': 'abc', other: 'abc' }, { 'user.email': 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad', other: 'abc' }],
  ['hash: a key that the pattern also matches is hashed twice, as by the Collector', [{ key: 'user.email', action: 'hash', pattern: '^user\\.' }], { 'user.email': 'abc' }, { 'user.email': 'dfe7a23fefeea519e9bbfdd1a6be94c4b2e4529dd6b7cbea83f9959c2621b13c' }],
  // extract
  ['extract: named groups become string attributes; the source stays', [{ key: 'http.url', action: 'extract', pattern: '^/api/(?P<version>v\\d+)/users/(?P<user_id>\\d+)$' }], { 'http.url': '/api/v1/users/42' }, { 'http.url': '/api/v1/users/42', version: 'v1', user_id: '42' }],
  ['extract: JS-style named groups too', [{ key: 'u', action: 'extract', pattern: '/(?<id>\\d+)' }], { u: '/x/7' }, { u: '/x/7', id: '7' }],
  ['extract: overwrites existing keys in place', [{ key: 'u', action: 'extract', pattern: '(?P<id>\\d+)' }], { id: 0n, u: 'a9' }, { id: '9', u: 'a9' }],
  ['extract: no match does nothing', [{ key: 'u', action: 'extract', pattern: '^(?P<id>\\d+)$' }], { u: 'abc' }, { u: 'abc' }],
  ['extract: a non-string source does nothing', [{ key: 'u', action: 'extract', pattern: '(?P<id>\\d+)' }], { u: 123n }, { u: 123n }],
  ['extract: a group that took no part writes ""', [{ key: 'u', action: 'extract', pattern: '^(?P<a>x)?(?P<b>y)$' }], { u: 'y' }, { u: 'y', a: '', b: 'y' }],
  ['extract: first match, unanchored', [{ key: 'u', action: 'extract', pattern: '(?P<n>\\d+)' }], { u: 'a1b22' }, { u: 'a1b22', n: '1' }],
  // convert
  ['convert int: digits', [{ key: 'n', action: 'convert', converted_type: 'int' }], { n: '123' }, { n: 123n }],
  ['convert int: unconvertible string stays', [{ key: 'n', action: 'convert', converted_type: 'int' }], { n: '12.5' }, { n: '12.5' }],
  ['convert int: double truncates', [{ key: 'n', action: 'convert', converted_type: 'int' }], { n: -7.9 }, { n: -7n }],
  ['convert int: boolean', [{ key: 'n', action: 'convert', converted_type: 'int' }], { n: true }, { n: 1n }],
  ['convert double: string', [{ key: 'n', action: 'convert', converted_type: 'double' }], { n: '2.5e1' }, { n: 25 }],
  ['convert double: int', [{ key: 'n', action: 'convert', converted_type: 'double' }], { n: 3n }, { n: 3 }],
  ['convert double: unconvertible string stays', [{ key: 'n', action: 'convert', converted_type: 'double' }], { n: 'fast' }, { n: 'fast' }],
  ['convert string: int', [{ key: 'n', action: 'convert', converted_type: 'string' }], { n: 123n }, { n: '123' }],
  ['convert string: map as JSON', [{ key: 'm', action: 'convert', converted_type: 'string' }], { m: { b: 1n, a: true } }, { m: '{"a":true,"b":1}' }],
  ['convert: absent key does nothing', [{ key: 'n', action: 'convert', converted_type: 'int' }], { a: 'x' }, { a: 'x' }],
  // order
  ['actions run in order: delete then insert re-adds', [{ key: 'a', action: 'delete' }, { key: 'a', action: 'insert', value: 'new' }], { a: 'old', b: 'y' }, { b: 'y', a: 'new' }],
  ['actions run in order: insert then delete removes', [{ key: 'a', action: 'insert', value: 'new' }, { key: 'a', action: 'delete' }], { b: 'y' }, { b: 'y' }],
  ['actions run in order: extract, convert, then copy', [
    { key: 'u', action: 'extract', pattern: '/(?P<id>\\d+)$' },
    { key: 'id', action: 'convert', converted_type: 'int' },
    { key: 'user.id', action: 'upsert', from_attribute: 'id' },
  ], { u: '/users/42' }, { u: '/users/42', id: 42n, 'user.id': 42n }],
  ['actions run in order: hash sees the value an earlier action wrote', [{ key: 'u', action: 'upsert', value: 'abc' }, { key: 'u', action: 'hash' }], {}, { u: 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad' }],
  ['keys named like object internals are plain attributes', [{ key: '__proto__', action: 'insert', value: 'x' }, { key: 'constructor', action: 'insert', value: 'y' }], {}, JSON.parse('{"__proto__":"x","constructor":"y"}') as Attributes],
];

describe('attributes actions', () => {
  it.each(rows)('%s', (_rule, actions, before, after) => {
    expect(run(actions, { ...before })).toEqual(Object.entries(after));
  });

  it('extracts the same groups whether a value was seen before or not (bounded result cache)', () => {
    const process = processorFor({ actions: [{ key: 'u', action: 'extract', pattern: '^/users/(?P<id>\\d+)$' }] });
    // More distinct values than the cache holds, each seen twice, plus non-matching and over-long ones.
    const values = Array.from({ length: 3000 }, (_, i) => (i % 7 === 0 ? `/teams/${i}` : `/users/${i % 1500}`));
    values.push('/users/' + '9'.repeat(600), '/users/' + '9'.repeat(600));
    const batch = process(values.map((u) => new Span(newResource(), { u })));
    expect(batch.map((sp) => sp.attributes.id)).toEqual(values.map((u) => (u.startsWith('/users/') ? u.slice(7) : undefined)));
  });

  it('copies list values, so spans never share one', () => {
    const process = processorFor({ actions: [{ key: 'l', action: 'insert', value: ['a'] }] });
    const batch = [new Span(newResource()), new Span(newResource())];
    process(batch);
    (batch[0].attributes.l as string[]).push('b');
    expect(batch[1].attributes.l).toEqual(['a']);
  });
});

describe('attributes include / exclude', () => {
  function spanOf(service: string, name: string, kind: SpanKind): Span {
    const sp = new Span(newResource({ 'service.name': service }), { 'http.method': 'GET' });
    sp.name = name;
    sp.kind = kind;
    return sp;
  }

  it.each<[string, Record<string, unknown>, boolean[]]>([
    ['no selection: every span', {}, [true, true, true]],
    ['include services (resource service.name)', { include: { match_type: 'strict', services: ['orders'] } }, [true, true, false]],
    ['include span kinds as the Collector spells them', { include: { match_type: 'strict', span_kinds: ['SPAN_KIND_CLIENT'] } }, [false, true, false]],
    ['include then exclude', { include: { match_type: 'strict', services: ['orders'] }, exclude: { match_type: 'regexp', span_names: ['^health'] } }, [false, true, false]],
    ['exclude only', { exclude: { match_type: 'strict', attributes: [{ key: 'http.method', value: 'GET' }] } }, [false, false, false]],
  ])('%s', (_rule, selection, acted) => {
    const process = processorFor({ actions: [{ key: 'seen', action: 'insert', value: true }], ...selection });
    const batch = process([
      spanOf('orders', 'healthcheck', SpanKind.Server),
      spanOf('orders', 'get /orders', SpanKind.Client),
      spanOf('billing', 'get /bill', SpanKind.Server),
    ]);
    expect(batch.map((sp) => sp.attributes.seen === true)).toEqual(acted);
  });
});
