import { describe, expect, it } from 'vitest';
import { newResource, Span, type Attributes, type SpanBatch } from '../../src/model/span.js';
import { redactionProcessor, type RedactionConfig } from '../../src/processors/redaction/index.js';
import { SelfMetrics } from '../../src/telemetry/metrics.js';
import { checkedConfig, configProblems, processorContext } from '../helpers/processors.js';

const configOf = (raw: Record<string, unknown>): RedactionConfig => checkedConfig(redactionProcessor, raw);
const problemsOf = (raw: Record<string, unknown>) => configProblems(redactionProcessor, raw);

function processorOf(raw: Record<string, unknown>, metrics = new SelfMetrics()) {
  const p = redactionProcessor.create(configOf(raw), processorContext('redaction', { metrics }));
  if (!('process' in p)) throw new Error('redaction must be a process() processor');
  return (batch: SpanBatch) => p.process(batch) as SpanBatch;
}

function spanWith(attributes: Attributes, events: { name: string; attributes?: Attributes }[] = [], resource: Attributes = {}): Span {
  const s = new Span(
    newResource(resource),
    attributes,
    events.map((e) => ({ timeUnixNano: 1n, name: e.name, attributes: e.attributes ?? {}, droppedAttributesCount: 0 })),
  );
  s.traceId = '0af7651916cd43dd8448eb211c80319c';
  s.spanId = 'b7ad6b7169203331';
  return s;
}

/** Runs one span's attributes through a processor with `raw` config and returns them. */
function redact(raw: Record<string, unknown>, attributes: Attributes): Attributes {
  const [out] = processorOf(raw)([spanWith({ ...attributes })]);
  return out.attributes;
}

describe('redaction: config', () => {
  it('defaults to failing closed with no summary', () => {
    expect(configOf({})).toEqual({
      allow_all_keys: false,
      allowed_keys: [],
      ignored_keys: [],
      ignored_key_patterns: [],
      blocked_key_patterns: [],
      blocked_values: [],
      allowed_values: [],
      redact_all_types: false,
      summary: 'silent',
    });
  });

  const bad: [raw: Record<string, unknown>, path: string, message: string][] = [
    [{ blocked_values: ['ok', '(a)\\1'] }, 'blocked_values.1', 'backreferences such as \\1 are not supported'],
    [{ allowed_values: ['(unclosed'] }, 'allowed_values.0', 'missing closing )'],
    [{ blocked_key_patterns: ['x(?=y)'] }, 'blocked_key_patterns.0', 'lookahead and lookbehind'],
    [{ ignored_key_patterns: ['*'] }, 'ignored_key_patterns.0', 'missing argument to repetition operator'],
    [{ url_sanitizer: { enabled: true } }, 'url_sanitizer', 'is not supported by spanline'],
    [{ db_sanitizer: { sql: { enabled: true } } }, 'db_sanitizer', 'is not supported by spanline'],
    [{ hash_function: 'sha256' }, 'hash_function', 'must be one of md5, sha1, sha3'],
    [{ summary: 'verbose' }, 'summary', 'must be one of debug, info, silent'],
    [{ allowed_key: ['a'] }, 'allowed_key', 'unknown key "allowed_key" (did you mean "allowed_keys"?)'],
  ];
  it.each(bad)('rejects %j at %s', (raw, path, message) => {
    expect(problemsOf(raw)).toEqual([{ path, message: expect.stringContaining(message) }]);
  });

  it('refuses to create with a bad pattern even when validate was skipped', () => {
    const cfg = { ...configOf({}), blocked_values: ['(a)\\1'] };
    expect(() => redactionProcessor.create(cfg, processorContext('redaction/x'))).toThrow('redaction/x: blocked_values.0: invalid regular expression');
  });
});

describe('redaction: rules', () => {
  const email = '[a-zA-Z0-9._%+-]+@[a-zA-Z0-9.-]+\\.[a-zA-Z]{2,}';
  const visa = '4[0-9]{12}(?:[0-9]{3})?';
  const cases: [name: string, raw: Record<string, unknown>, input: Attributes, want: Attributes][] = [
    ['fails closed: no allowed keys removes everything', {}, { a: 'x', b: 1n }, {}],
    ['keeps only allowed keys', { allowed_keys: ['a'] }, { a: 'x', b: 'y' }, { a: 'x' }],
    ['allow_all_keys keeps every key', { allow_all_keys: true, allowed_keys: ['a'] }, { a: 'x', b: 'y' }, { a: 'x', b: 'y' }],
    [
      'ignored keys are kept unchanged, even when not allowed and blocked',
      { ignored_keys: ['safe'], blocked_values: ['secret'], blocked_key_patterns: ['.*'] },
      { safe: 'secret', other: 'x' },
      { safe: 'secret' },
    ],
    [
      'ignored key patterns',
      { ignored_key_patterns: ['^k8s\\.'], blocked_values: ['pod'] },
      { 'k8s.pod.name': 'pod-1', pod: 'pod-2' },
      { 'k8s.pod.name': 'pod-1' },
    ],
    [
      'blocked key patterns mask the whole value, of any type',
      { allow_all_keys: true, blocked_key_patterns: ['(?i)token', '^api_key$'] },
      { 'auth.Token': 'abc.def', api_key: 12345n, 'api_key.id': 'kept' },
      { 'auth.Token': '****', api_key: '****', 'api_key.id': 'kept' },
    ],
    [
      'blocked values mask only the matching parts',
      { allow_all_keys: true, blocked_values: [visa] },
      { note: 'paid with 4111111111111111 and 4012888888881881 today', other: 'nothing' },
      { note: 'paid with **** and **** today', other: 'nothing' },
    ],
    [
      'blocked values apply in order, each to what the previous left',
      { allow_all_keys: true, blocked_values: ['secret', '\\*{4}-\\d+'] },
      { a: 'secret-42 and 7' },
      { a: '**** and 7' },
    ],
    [
      'allowed values win over blocked values (Collector README)',
      { allow_all_keys: true, blocked_values: ['mycompany\\.com'], allowed_values: ['support\\.mycompany\\.com'] },
      { to: 'support.mycompany.com', cc: 'sales.mycompany.com' },
      { to: 'support.mycompany.com', cc: 'sales.****' },
    ],
    [
      'an allowed value keeps the whole value, other blocked parts included',
      { allow_all_keys: true, blocked_values: [email, visa], allowed_values: ['@mycompany\\.com$'] },
      { note: '4111111111111111 for ann@mycompany.com' },
      { note: '4111111111111111 for ann@mycompany.com' },
    ],
    [
      'allowed values win over blocked key patterns',
      { allow_all_keys: true, blocked_key_patterns: ['email'], allowed_values: ['@mycompany\\.com$'] },
      { 'user.email': 'ann@mycompany.com', 'peer.email': 'bob@gmail.com' },
      { 'user.email': 'ann@mycompany.com', 'peer.email': '****' },
    ],
    [
      'non-string values are not checked against values by default',
      { allow_all_keys: true, blocked_values: [visa] },
      { card: 4111111111111111n, text: '4111111111111111' },
      { card: 4111111111111111n, text: '****' },
    ],
    [
      'redact_all_types checks the string form and masks into a string',
      { allow_all_keys: true, blocked_values: [visa, '^true$'], redact_all_types: true },
      { card: 4111111111111111n, list: ['x', '4012888888881881'], flag: true, n: 42.5 },
      { card: '****', list: '["x","****"]', flag: '****', n: 42.5 },
    ],
    [
      // The Collector's AsString writes map keys sorted: `{a:..}` after `{b:..}` would give another digest.
      'redact_all_types reads a map as the Collector does, so a hashed map is the Collector\'s hash',
      { allow_all_keys: true, blocked_key_patterns: ['^m$'], redact_all_types: true, hash_function: 'sha1' },
      { m: { b: 1n, a: 'x' } },
      { m: 'f689c456a402d13a01031f20124e1efc42397e9f' },
    ],
    [
      'allowed keys are exact, not patterns',
      { allowed_keys: ['http.method'] },
      { 'http.method': 'GET', 'http.method.original': 'get' },
      { 'http.method': 'GET' },
    ],
  ];
  it.each(cases)('%s', (_name, raw, input, want) => {
    expect(redact(raw, input)).toEqual(want);
  });

  const hashes: [fn: string, want: string][] = [
    // Digests computed independently (Python hashlib) of the UTF-8 bytes of the match.
    ['md5', '5910f4ea0062a0e29afd3dccc741e3ce'],
    ['sha1', '68bfb396f35af3876fc509665b3dc23a0930aab1'],
    ['sha3', '6099154214406cce6105a4688ab66533d3a55d1d7dd393cbccf22b487a22d922'],
  ];
  it.each(hashes)('hash_function %s replaces each match with its hex digest', (fn, want) => {
    const out = redact({ allow_all_keys: true, blocked_values: [visa], blocked_key_patterns: ['token'], hash_function: fn }, {
      note: 'card 4111111111111111.',
      token: '4111111111111111',
    });
    expect(out).toEqual({ note: `card ${want}.`, token: want });
  });
});

describe('redaction: summary attributes', () => {
  const raw = {
    allowed_keys: ['note', 'user.email', 'password', 'ok'],
    ignored_keys: ['safe'],
    blocked_key_patterns: ['password'],
    blocked_values: ['4[0-9]{15}'],
    allowed_values: ['@mycompany\\.com$'],
  };
  const input: Attributes = {
    note: 'card 4111111111111111',
    'user.email': 'ann@mycompany.com',
    password: 'hunter2',
    ok: 'fine',
    safe: 'x',
    dropme: 'y',
    alsodrop: 'z',
  };
  const kept = { note: 'card ****', 'user.email': 'ann@mycompany.com', password: '****', ok: 'fine', safe: 'x' };
  const cases: [summary: string, want: Attributes][] = [
    ['silent', kept],
    [
      'info',
      {
        ...kept,
        'redaction.redacted.count': 2n,
        'redaction.masked.count': 2n,
        'redaction.allowed.count': 1n,
        'redaction.ignored.count': 1n,
      },
    ],
    [
      'debug',
      {
        ...kept,
        'redaction.redacted.keys': 'alsodrop,dropme',
        'redaction.redacted.count': 2n,
        'redaction.masked.keys': 'note,password',
        'redaction.masked.count': 2n,
        'redaction.allowed.keys': 'user.email',
        'redaction.allowed.count': 1n,
        'redaction.ignored.count': 1n,
      },
    ],
  ];
  it.each(cases)('summary %s', (summary, want) => {
    expect(redact({ ...raw, summary }, input)).toEqual(want);
  });

  it('adds nothing when nothing changed', () => {
    expect(redact({ allowed_keys: ['a'], summary: 'debug' }, { a: 'x' })).toEqual({ a: 'x' });
  });

  it('keeps and adds to the summary of a redaction processor upstream', () => {
    const first = processorOf({ allowed_keys: ['a', 'b', 'c'], summary: 'debug' });
    const second = processorOf({ allowed_keys: ['a'], summary: 'debug' });
    const out = second(first([spanWith({ a: '1', b: '2', c: '3', z: '4' })]));
    expect(out[0].attributes).toEqual({
      a: '1',
      'redaction.redacted.keys': 'b,c,z',
      'redaction.redacted.count': 3n,
    });
  });
});

describe('redaction: where it applies', () => {
  const raw = {
    allowed_keys: ['note', 'service.name'],
    blocked_values: ['4[0-9]{12}(?:[0-9]{3})?'],
    allowed_values: ['^ok 4'],
    summary: 'debug',
  };

  it('covers resource, span and event attributes, and event names (Zipkin annotations)', () => {
    const span = spanWith(
      { note: 'card 4111111111111111', secret: 's' },
      [
        { name: 'charged 4111111111111111', attributes: { note: 'again 4012888888881881', drop: 'x' } },
        { name: 'ok 4111111111111111' },
        { name: 'ws' },
      ],
      { 'service.name': 'shop', 'host.name': 'h1' },
    );
    const [out] = processorOf(raw)([span]);
    expect(out.resource.attributes).toEqual({
      'service.name': 'shop',
      'redaction.redacted.keys': 'host.name',
      'redaction.redacted.count': 1n,
    });
    expect(out.events.map((e) => e.name)).toEqual(['charged ****', 'ok 4111111111111111', 'ws']);
    expect(out.events[0].attributes).toEqual({
      note: 'again ****',
      'redaction.redacted.keys': 'drop',
      'redaction.redacted.count': 1n,
      'redaction.masked.keys': 'note',
      'redaction.masked.count': 1n,
    });
    expect(out.attributes).toEqual({
      note: 'card ****',
      'redaction.redacted.keys': 'secret',
      'redaction.redacted.count': 1n,
      'redaction.masked.keys': 'event.name,note',
      'redaction.masked.count': 2n,
      'redaction.allowed.keys': 'event.name',
      'redaction.allowed.count': 1n,
    });
  });

  it('covers span link attributes too: failing closed holds for every map a span carries', () => {
    const span = spanWith({ note: 'x' });
    span.links = [
      { traceId: span.traceId, spanId: 'a7ad6b7169203331', traceState: '', flags: 0, droppedAttributesCount: 0, attributes: { note: 'card 4111111111111111', token: 't' } },
    ];
    const [out] = processorOf(raw)([span]);
    expect(out.links[0].attributes).toEqual({
      note: 'card ****',
      'redaction.redacted.keys': 'token',
      'redaction.redacted.count': 1n,
      'redaction.masked.keys': 'note',
      'redaction.masked.count': 1n,
    });
  });

  it('redacts a resource shared by several spans once', () => {
    const resource = newResource({ 'service.name': 'shop', 'host.name': 'h1' });
    const spans = [0, 1, 2].map(() => new Span(resource, { note: 'x' }));
    const out = processorOf(raw)(spans);
    expect(out[2].resource.attributes).toEqual({
      'service.name': 'shop',
      'redaction.redacted.keys': 'host.name',
      'redaction.redacted.count': 1n,
    });
  });

  it('counts removed and masked attributes in a metric', async () => {
    const metrics = new SelfMetrics();
    const p = processorOf(raw, metrics);
    p([spanWith({ note: 'card 4111111111111111', a: '1', b: '2' })]);
    const text = await metrics.registry.metrics();
    expect(text).toContain('spanline_redaction_attributes_total{processor="redaction",pipeline="traces",action="removed"} 2');
    expect(text).toContain('spanline_redaction_attributes_total{processor="redaction",pipeline="traces",action="masked"} 1');
  });
});

describe('redaction: real card numbers and e-mail addresses', () => {
  // Published test card numbers (Luhn-valid, one per network), written as instrumentation would record them.
  const raw = {
    allow_all_keys: true,
    redact_all_types: true,
    blocked_values: [
      '\\b4[0-9]{12}(?:[0-9]{3})?\\b', // Visa
      '\\b5[1-5][0-9]{14}\\b', // Mastercard
      '\\b3[47][0-9]{13}\\b', // American Express
      '\\b(?:[0-9]{4}[ -]){3}[0-9]{4}\\b', // grouped 16 digits
      '[a-zA-Z0-9._%+-]+@[a-zA-Z0-9.-]+\\.[a-zA-Z]{2,}', // e-mail
    ],
  };
  const cases: [input: string | bigint, want: string | bigint][] = [
    ['4111111111111111', '****'],
    ['4012888888881881', '****'],
    ['4222222222222', '****'],
    ['5555555555554444', '****'],
    ['5105105105105100', '****'],
    ['378282246310005', '****'],
    ['371449635398431', '****'],
    ['4111 1111 1111 1111', '****'],
    ['5555-5555-5555-4444', '****'],
    [5555555555554444n, '****'],
    ['{"card":"4111111111111111","cvv":"123"}', '{"card":"****","cvv":"123"}'],
    ['alice@example.com', '****'],
    ['Bob.Smith+orders@mail.example.co.uk', '****'],
    ['notify alice@example.com, bob@example.org', 'notify ****, ****'],
    ['GET /api/v1/orders/12345', 'GET /api/v1/orders/12345'],
    ['order 1234567890 ok', 'order 1234567890 ok'],
    ['41111111111111111111', '41111111111111111111'],
    ['@handle and a@b', '@handle and a@b'],
  ];
  it.each(cases)('%s → %s', (input, want) => {
    expect(redact(raw, { v: input }).v).toEqual(want);
  });
});

describe('redaction: hostile patterns and values', () => {
  it('a catastrophic pattern on a long value does not stall the processor', () => {
    const p = processorOf({ allow_all_keys: true, blocked_values: ['(a+)+$', '\\d+\\d+\\d+x'], blocked_key_patterns: ['(x+x+)+y'] });
    const long = 'a'.repeat(50_000) + '!';
    const digits = '1'.repeat(50_000);
    const started = performance.now();
    const [out] = p([spanWith({ v: long, d: digits, ['x'.repeat(5_000)]: 'k' }, [{ name: long }])]);
    expect(performance.now() - started).toBeLessThan(2_000);
    expect(out.attributes.v).toBe(long);
    expect(out.attributes.d).toBe(digits);
    expect(out.events[0].name).toBe(long);
    // And it still masks what matches.
    expect(p([spanWith({ v: 'aaaa' })])[0].attributes.v).toBe('****');
  });

  it('gives the same answers on many distinct values', () => {
    const p = processorOf({ allow_all_keys: true, blocked_values: ['4[0-9]{15}', 'secret'] });
    const long = 'x'.repeat(200) + ' 4111111111111111';
    for (let i = 0; i < 10_000; i++) {
      const [out] = p([spanWith({ v: `value ${i}`, card: 'card 4111111111111111', s: i % 2 ? 'secret' : 'public', long })]);
      expect(out.attributes).toEqual({ v: `value ${i}`, card: 'card ****', s: i % 2 ? '****' : 'public', long: 'x'.repeat(200) + ' ****' });
    }
  });

  it('bounds its key cache', () => {
    const p = processorOf({ allowed_keys: ['keep'] });
    for (let i = 0; i < 10_000; i++) {
      const [out] = p([spanWith({ [`k${i}`]: 'v', keep: 'x' })]);
      expect(out.attributes).toEqual({ keep: 'x' });
    }
  });
});

describe('redaction: maps it must not write', () => {
  it('copies frozen attribute maps instead of writing them', () => {
    const shared = Object.freeze({ note: 'card 4111111111111111', drop: 'x' }) as Attributes;
    const emptyEvent = Object.freeze({}) as Attributes;
    const s = new Span(newResource({ 'service.name': 'svc' }), shared, [
      { timeUnixNano: 1n, name: 'charged 4111111111111111', attributes: emptyEvent, droppedAttributesCount: 0 },
    ]);
    const [out] = processorOf({ allowed_keys: ['note'], blocked_values: ['4[0-9]{15}'], summary: 'info' })([s]);
    expect(out.attributes).toEqual({ note: 'card ****', 'redaction.redacted.count': 1n, 'redaction.masked.count': 2n });
    expect(shared).toEqual({ note: 'card 4111111111111111', drop: 'x' });
    expect(out.events[0]).toMatchObject({ name: 'charged ****', attributes: {} });
  });
});
