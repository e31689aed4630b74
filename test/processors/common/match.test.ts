import { describe, expect, it } from 'vitest';
import type { Context } from '../../../src/config/schema.js';
import { Span, SpanKind, newResource, type Attributes } from '../../../src/model/span.js';
import {
  compileSpanMatcher,
  formatFloatPlain,
  matchPropertiesSchema,
  validateSpanMatch,
  valueAsString,
  type MatchProperties,
} from '../../../src/processors/common/match.js';

/** Runs a block through the schema, as the config loader does (defaults, types). */
function props(raw: unknown): MatchProperties {
  const ctx: Context = { issues: [] };
  const v = matchPropertiesSchema.check(raw, [], ctx);
  if (v === undefined) throw new Error(ctx.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '));
  return v;
}

interface SpanSpec {
  service?: string | null;
  resource?: Attributes;
  name?: string;
  kind?: SpanKind;
  attributes?: Attributes;
  scope?: { name: string; version: string };
}

function span(spec: SpanSpec = {}): Span {
  const resourceAttrs: Attributes = { ...(spec.resource ?? {}) };
  if (spec.service !== null) resourceAttrs['service.name'] = spec.service ?? 'orders';
  const sp = new Span(newResource(resourceAttrs), { ...(spec.attributes ?? {}) });
  sp.name = spec.name ?? 'get /orders';
  sp.kind = spec.kind ?? SpanKind.Server;
  if (spec.scope) sp.scope = { ...spec.scope, attributes: {}, droppedAttributesCount: 0 };
  return sp;
}

type Row = [string, unknown, unknown, SpanSpec, boolean];

// [rule, include, exclude, span, acted on]
const rows: Row[] = [
  ['no include, no exclude: every span', undefined, undefined, {}, true],
  ['services strict: equal', { match_type: 'strict', services: ['orders'] }, undefined, {}, true],
  ['services strict: not equal', { match_type: 'strict', services: ['order'] }, undefined, {}, false],
  ['services: any entry may match', { match_type: 'strict', services: ['a', 'orders'] }, undefined, {}, true],
  ['services: no service.name reads <nil-service-name>', { match_type: 'strict', services: ['<nil-service-name>'] }, undefined, { service: null }, true],
  ['services: comes from the resource, not span attributes', { match_type: 'strict', services: ['orders'] }, undefined, { service: 'billing', attributes: { 'service.name': 'orders' } }, false],
  ['services regexp: unanchored', { match_type: 'regexp', services: ['rde'] }, undefined, {}, true],
  ['services regexp: anchored', { match_type: 'regexp', services: ['^rde$'] }, undefined, {}, false],
  ['span_names strict', { match_type: 'strict', span_names: ['get /orders'] }, undefined, {}, true],
  ['span_names strict: case matters', { match_type: 'strict', span_names: ['GET /orders'] }, undefined, {}, false],
  ['span_names regexp, RE2 named group syntax', { match_type: 'regexp', span_names: ['^get (?P<path>/\\w+)$'] }, undefined, {}, true],
  ['span_kinds strict: SPAN_KIND_SERVER', { match_type: 'strict', span_kinds: ['SPAN_KIND_SERVER'] }, undefined, { kind: SpanKind.Server }, true],
  ['span_kinds strict: client is not server', { match_type: 'strict', span_kinds: ['SPAN_KIND_SERVER'] }, undefined, { kind: SpanKind.Client }, false],
  ['span_kinds: unspecified', { match_type: 'strict', span_kinds: ['SPAN_KIND_UNSPECIFIED'] }, undefined, { kind: SpanKind.Unspecified }, true],
  ['span_kinds regexp', { match_type: 'regexp', span_kinds: ['PRODUCER|CONSUMER'] }, undefined, { kind: SpanKind.Consumer }, true],
  ['attributes: key only, present', { attributes: [{ key: 'http.method' }] }, undefined, { attributes: { 'http.method': 'GET' } }, true],
  ['attributes: key only, absent', { attributes: [{ key: 'http.method' }] }, undefined, { attributes: { other: 'x' } }, false],
  ['attributes: span with no attributes', { attributes: [{ key: 'http.method' }] }, undefined, { attributes: {} }, false],
  ['attributes: inherited object keys are not attributes', { attributes: [{ key: 'constructor' }] }, undefined, { attributes: { a: 'b' } }, false],
  ['attributes strict: int equals int', { match_type: 'strict', attributes: [{ key: 'code', value: 200 }] }, undefined, { attributes: { code: 200n } }, true],
  ['attributes strict: int is not the string', { match_type: 'strict', attributes: [{ key: 'code', value: 200 }] }, undefined, { attributes: { code: '200' } }, false],
  ['attributes strict: string is not the int', { match_type: 'strict', attributes: [{ key: 'code', value: '200' }] }, undefined, { attributes: { code: 200n } }, false],
  ['attributes strict: int is not the double', { match_type: 'strict', attributes: [{ key: 'code', value: 200 }] }, undefined, { attributes: { code: 200 } }, false],
  ['attributes strict: double', { match_type: 'strict', attributes: [{ key: 'ratio', value: 2.5 }] }, undefined, { attributes: { ratio: 2.5 } }, true],
  ['attributes strict: boolean', { match_type: 'strict', attributes: [{ key: 'ok', value: false }] }, undefined, { attributes: { ok: false } }, true],
  ['attributes strict: list, deep', { match_type: 'strict', attributes: [{ key: 'l', value: ['a', 1] }] }, undefined, { attributes: { l: ['a', 1n] } }, true],
  ['attributes strict: map, deep', { match_type: 'strict', attributes: [{ key: 'm', value: { a: true } }] }, undefined, { attributes: { m: { a: true } } }, true],
  ['attributes strict: all listed must match', { match_type: 'strict', attributes: [{ key: 'a', value: 'x' }, { key: 'b', value: 'y' }] }, undefined, { attributes: { a: 'x', b: 'z' } }, false],
  ['attributes regexp: string', { match_type: 'regexp', attributes: [{ key: 'url', value: '^/api/' }] }, undefined, { attributes: { url: '/api/v1' } }, true],
  ['attributes regexp: int as text', { match_type: 'regexp', attributes: [{ key: 'code', value: '^2\\d\\d$' }] }, undefined, { attributes: { code: 204n } }, true],
  ['attributes regexp: double as text without exponent', { match_type: 'regexp', attributes: [{ key: 'n', value: '^1000000000000000000000$' }] }, undefined, { attributes: { n: 1e21 } }, true],
  ['attributes regexp: boolean as text', { match_type: 'regexp', attributes: [{ key: 'ok', value: '^true$' }] }, undefined, { attributes: { ok: true } }, true],
  ['attributes regexp: bytes never match', { match_type: 'regexp', attributes: [{ key: 'b', value: '.*' }] }, undefined, { attributes: { b: new Uint8Array([1]) } }, false],
  ['resources strict', { match_type: 'strict', resources: [{ key: 'host.name', value: 'h1' }] }, undefined, { resource: { 'host.name': 'h1' } }, true],
  ['resources: span attributes do not count', { match_type: 'strict', resources: [{ key: 'host.name' }] }, undefined, { attributes: { 'host.name': 'h1' } }, false],
  ['libraries: name', { match_type: 'strict', libraries: [{ name: 'io.opentelemetry.jdbc' }] }, undefined, { scope: { name: 'io.opentelemetry.jdbc', version: '1.2' } }, true],
  ['libraries: name and version', { match_type: 'strict', libraries: [{ name: 'lib', version: '1.0' }] }, undefined, { scope: { name: 'lib', version: '1.1' } }, false],
  ['libraries: every entry must match', { match_type: 'strict', libraries: [{ name: 'lib' }, { name: 'other' }] }, undefined, { scope: { name: 'lib', version: '' } }, false],
  ['libraries regexp: version', { match_type: 'regexp', libraries: [{ name: '^lib$', version: '^1\\.' }] }, undefined, { scope: { name: 'lib', version: '1.9' } }, true],
  ['properties are ANDed', { match_type: 'strict', services: ['orders'], span_names: ['other'] }, undefined, {}, false],
  ['empty lists are "not given"', { match_type: 'strict', services: [], span_names: ['get /orders'] }, undefined, {}, true],
  ['exclude only: excluded', undefined, { match_type: 'strict', services: ['orders'] }, {}, false],
  ['exclude only: kept', undefined, { match_type: 'strict', services: ['billing'] }, {}, true],
  ['include, then exclude wins', { match_type: 'strict', services: ['orders'] }, { match_type: 'strict', span_names: ['get /orders'] }, {}, false],
  ['include matches, exclude does not', { match_type: 'strict', services: ['orders'] }, { match_type: 'strict', span_names: ['post /orders'] }, {}, true],
  ['include does not match, exclude irrelevant', { match_type: 'strict', services: ['billing'] }, { match_type: 'strict', span_names: ['x'] }, {}, false],
];

describe('compileSpanMatcher', () => {
  it.each(rows)('%s', (_rule, include, exclude, spec, expected) => {
    const matcher = compileSpanMatcher(include === undefined ? undefined : props(include), exclude === undefined ? undefined : props(exclude));
    expect(matcher(span(spec))).toBe(expected);
  });

  it('gives the same answers with a regexp cache smaller than the inputs (bounded, evicting)', () => {
    const cached = compileSpanMatcher(props({ match_type: 'regexp', regexp: { cacheenabled: true, cachemaxnumentries: 2 }, span_names: ['^get '] }));
    const names = ['get a', 'post b', 'get c', 'put d', 'get a', 'post b', 'get e', 'get a'];
    for (let round = 0; round < 3; round++) {
      expect(names.map((n) => cached(span({ name: n })))).toEqual(names.map((n) => n.startsWith('get ')));
    }
  });

  it('takes linear time on a pattern that backtracks catastrophically elsewhere', () => {
    const matcher = compileSpanMatcher(props({ match_type: 'regexp', span_names: ['^(a+)+$'] }));
    const started = Date.now();
    expect(matcher(span({ name: 'a'.repeat(50_000) + 'b' }))).toBe(false);
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it('throws on an invalid block, naming the problem', () => {
    expect(() => compileSpanMatcher(props({ match_type: 'regexp', services: ['(unclosed'] }))).toThrow(/include\.services\.0: invalid regular expression/);
  });
});

describe('validateSpanMatch', () => {
  it.each([
    ['a block with no property', { match_type: 'strict' }, ['include: at least one of "services", "span_names", "span_kinds", "attributes", "resources" or "libraries" must be given']],
    ['names without match_type', { services: ['a'] }, ['include.match_type: is required (`strict` or `regexp`) to compare names or values']],
    ['an attribute value without match_type', { attributes: [{ key: 'a', value: 1 }] }, ['include.match_type: is required (`strict` or `regexp`) to compare names or values']],
    ['attribute keys alone need no match_type', { attributes: [{ key: 'a' }] }, []],
    ['a strict span kind that does not exist', { match_type: 'strict', span_kinds: ['SERVER'] }, [
      'include.span_kinds.0: unknown span kind "SERVER"; use one of SPAN_KIND_UNSPECIFIED, SPAN_KIND_INTERNAL, SPAN_KIND_SERVER, SPAN_KIND_CLIENT, SPAN_KIND_PRODUCER, SPAN_KIND_CONSUMER',
    ]],
    ['regexp with a non-string attribute value', { match_type: 'regexp', attributes: [{ key: 'code', value: 200 }] }, ['include.attributes.0.value: match_type regexp for "code" only supports a string pattern']],
    ['a backreference is refused (not linear time)', { match_type: 'regexp', span_names: ['(a)\\1'] }, [
      'include.span_names.0: invalid regular expression "(a)\\\\1": backreferences such as \\1 are not supported: patterns must run in linear time (RE2 syntax)',
    ]],
  ])('%s', (_rule, include, expected) => {
    expect(validateSpanMatch(props(include), undefined).map((p) => `${p.path.join('.')}: ${p.message}`)).toEqual(expected);
  });
});

describe('value text', () => {
  it.each([
    [1e21, '1000000000000000000000'],
    [1e-7, '0.0000001'],
    [123456789.125, '123456789.125'],
    [-2.5e-3, '-0.0025'],
    [0.1, '0.1'],
    [-0, '-0'],
    [NaN, 'NaN'],
    [Infinity, '+Inf'],
  ])('formatFloatPlain(%s) = %s (Go FormatFloat f, -1)', (f, text) => {
    expect(formatFloatPlain(f)).toBe(text);
  });

  it.each([
    ['s', 's'],
    [true, 'true'],
    [-9223372036854775808n, '-9223372036854775808'],
    [2.5, '2.5'],
    [1e21, '1e+21'],
    [1e-7, '1e-7'],
    [NaN, 'json: unsupported value: NaN'],
    [new Uint8Array([1, 2, 255]), 'AQL/'],
    [['a', 1n, 2.5, null], '["a",1,2.5,null]'],
    [{ b: 1n, a: [true] }, '{"a":[true],"b":1}'],
    [null, ''],
  ])('valueAsString(%s) = %s (pcommon AsString)', (v, text) => {
    expect(valueAsString(v)).toBe(text);
  });
});
