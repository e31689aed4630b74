/**
 * Zipkin ↔ OTel semantics, rule by rule (ARCHITECTURE.md, "Zipkin ↔ OTLP mapping"):
 * - what Zipkin tags give a decoded span (status, scope, trace state), the tags staying as they are;
 * - how any span is written as Zipkin (zipkin-view.ts, shared by the JSON and proto3 encoders);
 * - the attributes the OTLP encoders add for Zipkin fields (zipkinFieldsToAttributes), and the round
 *   trip Zipkin → model → OTLP attributes → model → Zipkin, with a stand-in for the OTLP codecs.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { decodeZipkinV2Json, encodeZipkinV2Json, encodeZipkinV2Span } from '../../src/codecs/zipkin-json.js';
import { zipkinFieldsToAttributes } from '../../src/codecs/zipkin-otlp.js';
import { decodeZipkinProto3, encodeZipkinProto3 } from '../../src/codecs/zipkin-proto3.js';
import { EMPTY_SCOPE, Span, SpanKind, StatusCode, UNSET_STATUS, newResource, type AnyValue, type Attributes, type Status } from '../../src/model/span.js';

const fixture = (path: string) => readFileSync(new URL(`../fixtures/${path}`, import.meta.url), 'utf8');

const ID = '"traceId":"463ac35c9f6413ad","id":"48485a3953bb6124"';
const decodeTags = (tags: Record<string, string>) => decodeZipkinV2Json(`[{${ID},"tags":${JSON.stringify(tags)}}]`)[0];

describe('Zipkin tags → status (tags unchanged)', () => {
  const error = (message = ''): Status => ({ code: StatusCode.Error, message });
  const ok = (message = ''): Status => ({ code: StatusCode.Ok, message });
  it.each<[string, Record<string, string>, Status]>([
    ['no status tags: Unset', { 'http.path': '/' }, UNSET_STATUS],
    ['error "" (Zipkin instrumentation): Error without message', { error: '' }, error()],
    ['error "true": Error without message', { error: 'true' }, error()],
    ['error with a message: Error with that message', { error: 'Connection refused' }, error('Connection refused')],
    ['error "false" is still an error tag (Zipkin counts any)', { error: 'false' }, error('false')],
    ['otel.status_code OK', { 'otel.status_code': 'OK' }, ok()],
    ['otel.status_code OK with otel.status_description', { 'otel.status_code': 'OK', 'otel.status_description': 'fine' }, ok('fine')],
    ['otel.status_code ERROR with otel.status_description', { 'otel.status_code': 'ERROR', 'otel.status_description': 'boom' }, error('boom')],
    ['otel.status_code ERROR with error (what OTel SDK exporters write)', { 'otel.status_code': 'ERROR', error: 'boom' }, error('boom')],
    ['otel.status_description wins over error with a status code', { 'otel.status_code': 'ERROR', 'otel.status_description': 'd', error: 'e' }, error('d')],
    ["the Collector's STATUS_CODE_OK", { 'otel.status_code': 'STATUS_CODE_OK' }, ok()],
    ["the Collector's STATUS_CODE_ERROR with its error=true", { 'otel.status_code': 'STATUS_CODE_ERROR', error: 'true', 'otel.status_description': 'boom' }, error('boom')],
    ['otel.status_code OK wins over an error tag', { 'otel.status_code': 'OK', error: 'x' }, ok()],
    ['an unknown otel.status_code: the error tag decides', { 'otel.status_code': 'UNSET', error: 'x' }, error('x')],
    ['an unknown otel.status_code alone: Unset', { 'otel.status_code': 'STATUS_CODE_UNSET' }, UNSET_STATUS],
    ['otel.status_description without code is only a tag', { 'otel.status_description': 'd' }, UNSET_STATUS],
  ])('%s', (_rule, tags, status) => {
    const s = decodeTags(tags);
    expect(s.status).toEqual(status);
    expect(s.attributes).toEqual(tags);
    expect(JSON.parse(encodeZipkinV2Span(s)).tags).toEqual(tags);
  });
});

describe('Zipkin tags → scope and trace state (tags unchanged)', () => {
  it.each<[string, Record<string, string>, [string, string] | undefined]>([
    ['otel.scope.name and version', { 'otel.scope.name': 'io.opentelemetry.http', 'otel.scope.version': '1.2.0' }, ['io.opentelemetry.http', '1.2.0']],
    ['the older otel.library.name and version', { 'otel.library.name': 'lib', 'otel.library.version': '3' }, ['lib', '3']],
    ['otel.scope.* wins over otel.library.*', { 'otel.scope.name': 'a', 'otel.library.name': 'b', 'otel.library.version': '2' }, ['a', '2']],
    ['a name without version', { 'otel.scope.name': 'a' }, ['a', '']],
    ['a version without name is no scope', { 'otel.scope.version': '1' }, undefined],
  ])('%s', (_rule, tags, scope) => {
    const s = decodeTags(tags);
    expect(s.scope).toEqual(scope === undefined ? EMPTY_SCOPE : { name: scope[0], version: scope[1], attributes: {}, droppedAttributesCount: 0 });
    expect(JSON.parse(encodeZipkinV2Span(s)).tags).toEqual(tags);
  });

  it('w3c.tracestate is the trace state', () => {
    const s = decodeTags({ 'w3c.tracestate': 'rojo=00f067aa0ba902b7' });
    expect(s.traceState).toBe('rojo=00f067aa0ba902b7');
    expect(JSON.parse(encodeZipkinV2Span(s)).tags).toEqual({ 'w3c.tracestate': 'rojo=00f067aa0ba902b7' });
  });
});

describe('Zipkin in → Zipkin out is the identity, whatever the tags say', () => {
  const spans = [
    `{${ID},"kind":"CLIENT","name":"get","timestamp":1,"duration":2,"tags":{"error":"","otel.status_code":"ERROR","otel.status_description":"x"}}`,
    `{${ID},"tags":{"net.peer.ip":"10.0.0.1","net.peer.port":"80","peer.service":"db"}}`,
    `{${ID},"localEndpoint":{"serviceName":"api"},"tags":{"net.host.ip":"10.0.0.2","net.host.port":"8080","network.local.address":"::1"}}`,
    `{${ID},"remoteEndpoint":{"serviceName":"db"},"tags":{"net.peer.ip":"10.0.0.3","service.peer.name":"other","zipkin.remote_endpoint.ipv6":"::2"}}`,
    `{${ID},"tags":{"zipkin.debug":"false","zipkin.local_endpoint.ipv6":"::3","zipkin.shared":"true"}}`,
    `{${ID},"tags":{"otel.library.name":"lib","otel.scope.version":"1","w3c.tracestate":"a=b"}}`,
    `{${ID},"tags":{"error":"false","otel.dropped_attributes_count":"3","otlp.link.0":"x|y|z|{}|0"}}`,
  ];
  it.each(spans)('%s', (json) => {
    const [s] = decodeZipkinV2Json(`[${json}]`);
    expect(encodeZipkinV2Span(s)).toBe(json);
    expect(encodeZipkinV2Json(decodeZipkinProto3(encodeZipkinProto3([s])))).toBe(`[${json}]`);
  });

  it('a tag that names an endpoint the span lacks keeps the span without that endpoint', () => {
    const [s] = decodeZipkinV2Json(`[${spans[1]}]`);
    // An empty endpoint says "this span's remote endpoint is known: there is none".
    expect(s.remoteEndpoint).toEqual({ serviceName: '', ipv4: '', ipv6: '', port: 0 });
    expect(s.attributes).toEqual({ 'net.peer.ip': '10.0.0.1', 'net.peer.port': '80', 'peer.service': 'db' });
  });
});

// ---- any span as Zipkin

function span(fields: Partial<Span> & { resourceAttributes?: Attributes } = {}): Span {
  const { resourceAttributes, ...rest } = fields;
  const s = new Span(newResource(resourceAttributes ?? { 'service.name': 'svc' }));
  s.traceId = '463ac35c9f6413ad48485a3953bb6124';
  s.spanId = '48485a3953bb6124';
  Object.assign(s, rest);
  return s;
}

const zipkin = (s: Span) => JSON.parse(encodeZipkinV2Span(s)) as Record<string, any>;
const tagsOf = (s: Span) => zipkin(s).tags as Record<string, string> | undefined;

describe('any span → Zipkin: attributes', () => {
  it.each<[string, AnyValue, string]>([
    ['string', 'v', 'v'],
    ['int64 in decimal', -9007199254740993n, '-9007199254740993'],
    ['double', 0.25, '0.25'],
    ['boolean', false, 'false'],
    ['bytes in base64', new Uint8Array([1, 2, 3]), 'AQID'],
    ['array as JSON', ['a', 1n, true], '["a",1,true]'],
    ['map as JSON', { k: 'v' }, '{"k":"v"}'],
    ['empty value', null, ''],
  ])('%s', (_type, value, text) => {
    expect(tagsOf(span({ attributes: { k: value } }))).toEqual({ k: text });
  });

  it('tags are in key order, whatever the attribute order', () => {
    expect(Object.keys(tagsOf(span({ attributes: { b: '1', a: '2', 'otel.status_code': 'OK', C: '3' } }))!)).toEqual(['C', 'a', 'b', 'otel.status_code']);
  });

  it('resource attributes other than service.name are tags; the span wins a conflict', () => {
    const s = span({ resourceAttributes: { 'service.name': 'svc', 'host.name': 'h1', env: 'prod' }, attributes: { env: 'span' } });
    expect(tagsOf(s)).toEqual({ env: 'span', 'host.name': 'h1' });
    expect(zipkin(s).localEndpoint).toEqual({ serviceName: 'svc' });
  });
});

describe('any span → Zipkin: status', () => {
  it.each<[string, Status, Attributes, Record<string, string> | undefined]>([
    ['Unset: nothing', UNSET_STATUS, {}, undefined],
    ['Error with a message: error = message, otel.status_code ERROR', { code: StatusCode.Error, message: 'boom' }, {}, { error: 'boom', 'otel.status_code': 'ERROR' }],
    ['Error without message: error = "true"', { code: StatusCode.Error, message: '' }, {}, { error: 'true', 'otel.status_code': 'ERROR' }],
    ['Error whose message is "true" also needs otel.status_description', { code: StatusCode.Error, message: 'true' }, {}, { error: 'true', 'otel.status_code': 'ERROR', 'otel.status_description': 'true' }],
    ['Ok: otel.status_code OK', { code: StatusCode.Ok, message: '' }, {}, { 'otel.status_code': 'OK' }],
    ['Ok with a message: and otel.status_description', { code: StatusCode.Ok, message: 'fine' }, {}, { 'otel.status_code': 'OK', 'otel.status_description': 'fine' }],
    ['Error with an error attribute of its own: kept, the message goes to otel.status_description', { code: StatusCode.Error, message: 'boom' }, { error: 'x' }, { error: 'x', 'otel.status_code': 'ERROR', 'otel.status_description': 'boom' }],
    ['Error whose tags already say it: nothing added', { code: StatusCode.Error, message: 'x' }, { error: 'x' }, { error: 'x' }],
    ['an otel.status_code attribute is never overwritten', { code: StatusCode.Ok, message: '' }, { 'otel.status_code': 'ERROR' }, { 'otel.status_code': 'ERROR' }],
    ['Unset with a boolean error=false attribute: left out (OTel specification)', UNSET_STATUS, { error: false }, undefined],
    ['Unset with error "false": left out', UNSET_STATUS, { error: 'false' }, undefined],
    ['Unset with another error attribute: kept (it is data)', UNSET_STATUS, { error: 'oops' }, { error: 'oops' }],
  ])('%s', (_rule, status, attributes, tags) => {
    const s = span({ status, attributes });
    expect(tagsOf(s)).toEqual(tags);
    // The Zipkin decoder reads the same status back, except where the tags cannot say it.
    if (!(status.code === StatusCode.Ok && attributes['otel.status_code'] === 'ERROR') && attributes.error !== 'oops') {
      expect(decodeZipkinV2Json(`[${encodeZipkinV2Span(s)}]`)[0].status).toEqual(status);
    }
  });
});

describe('any span → Zipkin: scope, trace state, kind, ids, times', () => {
  const scope = (name: string, version: string) => ({ name, version, attributes: {}, droppedAttributesCount: 0 });
  it.each<[string, Partial<Span>, Record<string, unknown>]>([
    ['scope name and version → otel.scope.name / version', { scope: scope('io.lib', '1.0') }, { tags: { 'otel.scope.name': 'io.lib', 'otel.scope.version': '1.0' } }],
    ['scope without version', { scope: scope('io.lib', '') }, { tags: { 'otel.scope.name': 'io.lib' } }],
    ['scope already named by otel.library.* tags: nothing added', { scope: scope('lib', '2'), attributes: { 'otel.library.name': 'lib', 'otel.library.version': '2' } }, { tags: { 'otel.library.name': 'lib', 'otel.library.version': '2' } }],
    ['trace state → w3c.tracestate', { traceState: 'rojo=1' }, { tags: { 'w3c.tracestate': 'rojo=1' } }],
    ['kind Internal → no kind', { kind: SpanKind.Internal }, { kind: undefined }],
    ['kind Unspecified → no kind', { kind: SpanKind.Unspecified }, { kind: undefined }],
    ['kind Client', { kind: SpanKind.Client }, { kind: 'CLIENT' }],
    ['kind Server', { kind: SpanKind.Server }, { kind: 'SERVER' }],
    ['kind Producer', { kind: SpanKind.Producer }, { kind: 'PRODUCER' }],
    ['kind Consumer', { kind: SpanKind.Consumer }, { kind: 'CONSUMER' }],
    ['a 128-bit trace id with a zero high half is written 64-bit', { traceId: '000000000000000048485a3953bb6124' }, { traceId: '48485a3953bb6124' }],
    ['ns times become µs; a duration under 1µs is 1', { startTimeUnixNano: 1700000000000000999n, endTimeUnixNano: 1700000000000001500n }, { timestamp: 1700000000000000, duration: 1 }],
    ['dropped counts → otel.dropped_*_count', { droppedAttributesCount: 1, droppedEventsCount: 2, droppedLinksCount: 3 }, { tags: { 'otel.dropped_attributes_count': '1', 'otel.dropped_events_count': '2', 'otel.dropped_links_count': '3' } }],
  ])('%s', (_rule, fields, want) => {
    const got = zipkin(span(fields));
    for (const [k, v] of Object.entries(want)) expect(got[k]).toEqual(v);
  });

  it('events: a name alone, or with attributes as "name":{json} (OTel specification)', () => {
    const s = span({
      events: [
        { timeUnixNano: 2000n, name: 'retry', attributes: {}, droppedAttributesCount: 0 },
        { timeUnixNano: 3000n, name: 'exception', attributes: { 'exception.type': 'IOError', attempt: 2n }, droppedAttributesCount: 0 },
      ],
    });
    expect(zipkin(s).annotations).toEqual([
      { timestamp: 2, value: 'retry' },
      { timestamp: 3, value: '"exception":{"exception.type":"IOError","attempt":2}' },
    ]);
  });

  it('links → otlp.link.<n> as the OpenTelemetry Collector writes them', () => {
    const s = span({
      links: [
        { traceId: '0af7651916cd43dd8448eb211c80319c', spanId: 'b7ad6b7169203331', traceState: 'a=b', attributes: { k: 'v' }, droppedAttributesCount: 1, flags: 1 },
        { traceId: '8448eb211c80319c', spanId: 'b7ad6b7169203332', traceState: '', attributes: {}, droppedAttributesCount: 0, flags: 0 },
      ],
    });
    expect(tagsOf(s)).toEqual({
      'otlp.link.0': '0af7651916cd43dd8448eb211c80319c|b7ad6b7169203331|a=b|{"k":"v"}|1',
      'otlp.link.1': '00000000000000008448eb211c80319c|b7ad6b7169203332||{}|0',
    });
  });
});

describe('any span → Zipkin: endpoints from attributes (when the span has no Zipkin endpoint)', () => {
  it.each<[string, Attributes, Record<string, unknown>, Record<string, string> | undefined]>([
    ['net.host.ip and net.host.port → local endpoint', { 'net.host.ip': '10.0.0.1', 'net.host.port': 8080n }, { localEndpoint: { serviceName: 'svc', ipv4: '10.0.0.1', port: 8080 } }, undefined],
    ['network.local.address and port → local endpoint', { 'network.local.address': '10.0.0.1', 'network.local.port': 8080n }, { localEndpoint: { serviceName: 'svc', ipv4: '10.0.0.1', port: 8080 } }, undefined],
    ['peer.service, net.peer.ip and net.peer.port → remote endpoint', { 'peer.service': 'db', 'net.peer.ip': '10.0.0.2', 'net.peer.port': 5432n }, { remoteEndpoint: { serviceName: 'db', ipv4: '10.0.0.2', port: 5432 } }, undefined],
    ['service.peer.name, network.peer.address and port → remote endpoint', { 'service.peer.name': 'db', 'network.peer.address': '10.0.0.2', 'network.peer.port': 5432n }, { remoteEndpoint: { serviceName: 'db', ipv4: '10.0.0.2', port: 5432 } }, undefined],
    ['an IPv6 address', { 'net.peer.ip': '2001:DB8::1' }, { remoteEndpoint: { ipv6: '2001:db8::1' } }, undefined],
    ['zipkin.remote_endpoint.ipv6 next to an IPv4', { 'net.peer.ip': '10.0.0.2', 'zipkin.remote_endpoint.ipv6': '2001:db8::1' }, { remoteEndpoint: { ipv4: '10.0.0.2', ipv6: '2001:db8::1' } }, undefined],
    ['zipkin.local_endpoint.ipv6 next to an IPv4', { 'net.host.ip': '10.0.0.1', 'zipkin.local_endpoint.ipv6': '::2' }, { localEndpoint: { serviceName: 'svc', ipv4: '10.0.0.1', ipv6: '::2' } }, undefined],
    ['a port as a string or a double', { 'net.peer.port': '80', 'net.host.port': 8080 }, { remoteEndpoint: { port: 80 }, localEndpoint: { serviceName: 'svc', port: 8080 } }, undefined],
    ['old and new keys saying the same are both used up', { 'net.peer.ip': '10.0.0.2', 'network.peer.address': '10.0.0.2' }, { remoteEndpoint: { ipv4: '10.0.0.2' } }, undefined],
    ['old and new keys that differ: the old one is the endpoint, the new one stays a tag', { 'net.peer.ip': '10.0.0.2', 'network.peer.address': '10.0.0.3' }, { remoteEndpoint: { ipv4: '10.0.0.2' } }, { 'network.peer.address': '10.0.0.3' }],
    ['a peer address that is not an IP stays a tag', { 'net.peer.ip': 'db.local' }, { remoteEndpoint: undefined }, { 'net.peer.ip': 'db.local' }],
    ['a port out of range stays a tag', { 'net.peer.port': 70000n, 'peer.service': 'x' }, { remoteEndpoint: { serviceName: 'x' } }, { 'net.peer.port': '70000' }],
    ['zipkin.shared / zipkin.debug booleans set the flags', { 'zipkin.shared': true, 'zipkin.debug': true }, { shared: true, debug: true }, undefined],
    ['zipkin.shared as a string is just a tag', { 'zipkin.shared': 'true' }, { shared: undefined }, { 'zipkin.shared': 'true' }],
  ])('%s', (_rule, attributes, fields, tags) => {
    const got = zipkin(span({ attributes }));
    for (const [k, v] of Object.entries(fields)) expect(got[k]).toEqual(v);
    expect(got.tags).toEqual(tags);
  });

  it('a span with Zipkin endpoints keeps such attributes as tags', () => {
    const s = span({ attributes: { 'net.peer.ip': '10.0.0.9' }, remoteEndpoint: { serviceName: 'db', ipv4: '10.0.0.2', ipv6: '', port: 0 } });
    expect(zipkin(s).remoteEndpoint).toEqual({ serviceName: 'db', ipv4: '10.0.0.2' });
    expect(tagsOf(s)).toEqual({ 'net.peer.ip': '10.0.0.9' });
  });
});

describe('zipkinFieldsToAttributes (what the OTLP encoders add)', () => {
  it('writes every Zipkin field', () => {
    const [s] = decodeZipkinV2Json(
      `[{${ID},"kind":"SERVER","localEndpoint":{"serviceName":"api","ipv4":"10.0.0.1","ipv6":"::1","port":8080},"remoteEndpoint":{"serviceName":"web","ipv6":"2001:db8::1","port":41234},"shared":true,"debug":true}]`,
    );
    expect(zipkinFieldsToAttributes(s)).toEqual({
      'net.host.ip': '10.0.0.1',
      'zipkin.local_endpoint.ipv6': '::1',
      'net.host.port': 8080n,
      'peer.service': 'web',
      'net.peer.ip': '2001:db8::1',
      'net.peer.port': 41234n,
      'zipkin.shared': true,
      'zipkin.debug': true,
    });
  });

  it('is undefined for a span without Zipkin fields, and leaves out keys the span has', () => {
    expect(zipkinFieldsToAttributes(span())).toBeUndefined();
    const s = span({ attributes: { 'peer.service': 'mine' }, remoteEndpoint: { serviceName: 'db', ipv4: '', ipv6: '', port: 0 } });
    expect(zipkinFieldsToAttributes(s)).toBeUndefined();
  });

  it('does not change the span', () => {
    const [s] = decodeZipkinV2Json(`[{${ID},"remoteEndpoint":{"serviceName":"db"},"shared":true}]`);
    const before = structuredClone({ attributes: s.attributes, remote: s.remoteEndpoint });
    zipkinFieldsToAttributes(s);
    expect({ attributes: s.attributes, remote: s.remoteEndpoint }).toEqual(before);
  });
});

/**
 * What the OTLP codecs keep of a span (their own tests prove it): everything but the Zipkin-only fields,
 * which travel as the attributes zipkinFieldsToAttributes adds; 64-bit trace ids come back padded.
 */
function viaOtlp(s: Span): Span {
  const out = new Span(
    newResource({ ...s.resource.attributes }),
    { ...zipkinFieldsToAttributes(s), ...s.attributes },
    s.events.map((e) => ({ ...e })),
    s.links.map((l) => ({ ...l })),
  );
  out.traceId = s.traceId.length === 16 ? '0000000000000000' + s.traceId : s.traceId;
  out.spanId = s.spanId;
  out.parentSpanId = s.parentSpanId;
  out.name = s.name;
  out.kind = s.kind;
  out.startTimeUnixNano = s.startTimeUnixNano;
  out.endTimeUnixNano = s.endTimeUnixNano;
  out.status = s.status;
  out.traceState = s.traceState;
  out.scope = s.scope;
  return out;
}

describe('Zipkin → model → OTLP → model → Zipkin is lossless', () => {
  const literals = fixture('zipkin-v2/zipkin-span-bytes-encoder-test.jsonl').trimEnd().split('\n');
  const cases: [string, string][] = [
    ...literals.map((l, k) => [`SpanBytesEncoderTest literal ${k}`, l] as [string, string]),
    ...(JSON.parse(fixture('zipkin-v2/checkout-trace.normalized.json')) as unknown[]).map((j, k) => [`checkout trace span ${k}`, JSON.stringify(j)] as [string, string]),
    ['status, scope and trace state tags', `{${ID},"kind":"CLIENT","tags":{"error":"boom","otel.scope.name":"lib","otel.status_code":"ERROR","w3c.tracestate":"a=b"}}`],
    ['both IPs on both endpoints', `{${ID},"localEndpoint":{"serviceName":"a","ipv4":"10.0.0.1","ipv6":"::1","port":1},"remoteEndpoint":{"serviceName":"b","ipv4":"10.0.0.2","ipv6":"2001:db8::2","port":2}}`],
    ['an endpoint with only a port', `{${ID},"localEndpoint":{"port":8080}}`],
    ['a remote endpoint with only a service name', `{${ID},"remoteEndpoint":{"serviceName":"db"}}`],
    ['shared and debug', `{${ID},"kind":"SERVER","debug":true,"shared":true}`],
  ];
  it.each(cases)('%s', (_name, json) => {
    const [s] = decodeZipkinV2Json(`[${json}]`);
    const back = viaOtlp(s);
    expect(encodeZipkinV2Span(back)).toBe(json);
    expect(encodeZipkinV2Json(decodeZipkinProto3(encodeZipkinProto3([back])))).toBe(`[${json}]`);
  });

  it('what has no home: a tag named like an endpoint attribute on a span without that endpoint becomes the endpoint', () => {
    const json = `{${ID},"tags":{"net.peer.ip":"10.0.0.1"}}`;
    const [s] = decodeZipkinV2Json(`[${json}]`);
    expect(encodeZipkinV2Span(viaOtlp(s))).toBe(`{${ID},"remoteEndpoint":{"ipv4":"10.0.0.1"}}`);
  });

  it('processors see OTel status, kind and scope on Zipkin spans', () => {
    const [s] = decodeZipkinV2Json(`[{${ID},"kind":"PRODUCER","tags":{"error":"timeout","otel.library.name":"kafkajs"}}]`);
    expect([s.status.code, s.kind, s.scope.name]).toEqual([StatusCode.Error, SpanKind.Producer, 'kafkajs']);
  });
});
