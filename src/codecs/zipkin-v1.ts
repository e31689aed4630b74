/**
 * Zipkin v1 spans (the model of v1 JSON and Thrift) and their conversion to the span model, following
 * Zipkin's `V1SpanConverter` rule for rule: one v1 span becomes one span per local service that logged
 * to it; the core annotations `cs`/`sr`/`ss`/`cr`/`ms`/`mr` give kind, timestamp and duration (and are
 * not kept as annotations); `ws`/`wr` time messaging spans; the address annotations `ca`/`sa`/`ma` give
 * the remote endpoint; an empty `lc` only names the local endpoint; a server half without v1 timestamp
 * is `shared`. The v1 readers (zipkin-v1-json.ts, zipkin-thrift.ts) build {@link V1Span}s and hand each
 * to a {@link V1SpanConverter}.
 */
import { SpanKind, type Endpoint, type Span } from '../model/span.js';
import { ZipkinSpanFields, type ZipkinDecodeContext } from './zipkin-normalize.js';
import { zipkinTagGroup } from './zipkin-otel.js';

/** An annotation of a v1 span: the local endpoint is repeated on each. */
export interface V1Annotation {
  /** Epoch µs. */
  timestamp: bigint;
  value: string;
  endpoint: Endpoint | undefined;
}

/**
 * A binary annotation as Zipkin keeps them: a string tag (`value` set), or an address annotation
 * (`ca`, `sa`, `ma` with a boolean true; `value` undefined) whose endpoint is the remote one.
 */
export interface V1BinaryAnnotation {
  key: string;
  value: string | undefined;
  endpoint: Endpoint | undefined;
}

const ZERO_ID = '0000000000000000';

/**
 * A v1 span as Zipkin's `V1Span` holds it. Ids are 16 lower-hex chars (a 64-bit number; all zeros when
 * absent); endpoints are non-empty, with service names lower-cased and IPs canonical.
 */
export class V1Span {
  traceIdHigh = ZERO_ID;
  traceId = ZERO_ID;
  id = ZERO_ID;
  parentId = ZERO_ID;
  /** Lower-cased; '' when absent. */
  name = '';
  /** Epoch µs; 0 when absent. */
  timestamp = 0n;
  duration = 0n;
  annotations: V1Annotation[] = [];
  binaryAnnotations: V1BinaryAnnotation[] = [];
  debug = false;

  /**
   * Checks the span and puts annotations and binary annotations in Zipkin's order (by timestamp then
   * value, and by key), as `V1Span.Builder.build()` does. Returns Zipkin's problem text when the span
   * is invalid.
   */
  finish(): string | undefined {
    if (this.traceId === ZERO_ID) return 'traceId == 0';
    if (this.id === ZERO_ID) return 'id == 0';
    sortStably(this.annotations, compareAnnotations);
    sortStably(this.binaryAnnotations, compareBinaryAnnotations);
    return undefined;
  }
}

/** Insertion sort: stable like Java's, and fast for the few, nearly sorted items of a span. */
function sortStably<T>(items: T[], compare: (a: T, b: T) => number): void {
  for (let k = 1; k < items.length; k++) {
    const item = items[k];
    if (compare(items[k - 1], item) <= 0) continue;
    let m = k - 1;
    while (m >= 0 && compare(items[m], item) > 0) {
      items[m + 1] = items[m];
      m--;
    }
    items[m + 1] = item;
  }
}

function compareAnnotations(a: V1Annotation, b: V1Annotation): number {
  if (a.timestamp !== b.timestamp) return a.timestamp < b.timestamp ? -1 : 1;
  return a.value < b.value ? -1 : a.value > b.value ? 1 : 0;
}

function compareBinaryAnnotations(a: V1BinaryAnnotation, b: V1BinaryAnnotation): number {
  return a.key < b.key ? -1 : a.key > b.key ? 1 : 0;
}

function sameServiceName(a: Endpoint, b: Endpoint): boolean {
  return a.serviceName === b.serviceName;
}

function sameEndpoint(a: Endpoint, b: Endpoint): boolean {
  return a.serviceName === b.serviceName && a.ipv4 === b.ipv4 && a.ipv6 === b.ipv6 && a.port === b.port;
}

function copyEndpoint(e: Endpoint): Endpoint {
  return { serviceName: e.serviceName, ipv4: e.ipv4, ipv6: e.ipv6, port: e.port };
}

/**
 * Converts v1 spans into model spans. Not reentrant: it keeps the state of the span being converted,
 * as Zipkin's converter does; use one per decode call.
 */
export class V1SpanConverter {
  private first = new ZipkinSpanFields();
  private readonly spans: ZipkinSpanFields[] = [];
  private source = new V1Span();
  private cs: V1Annotation | undefined;
  private sr: V1Annotation | undefined;
  private ss: V1Annotation | undefined;
  private cr: V1Annotation | undefined;
  private ms: V1Annotation | undefined;
  private mr: V1Annotation | undefined;
  private ws: V1Annotation | undefined;
  private wr: V1Annotation | undefined;

  constructor(private readonly context: ZipkinDecodeContext) {}

  /** Appends the spans of `source` to `out`; `source` must have passed {@link V1Span.finish}. */
  convert(source: V1Span, out: Span[]): void {
    this.source = source;
    this.spans.length = 0;
    this.cs = this.sr = this.ss = this.cr = this.ms = this.mr = this.ws = this.wr = undefined;
    this.first = this.newFields();
    this.processAnnotations();
    this.processBinaryAnnotations();
    out.push(this.context.toSpan(this.first));
    for (let k = 0; k < this.spans.length; k++) out.push(this.context.toSpan(this.spans[k]));
  }

  private newFields(): ZipkinSpanFields {
    const s = this.source;
    const f = new ZipkinSpanFields();
    f.traceId = s.traceIdHigh === ZERO_ID ? s.traceId : s.traceIdHigh + s.traceId;
    f.spanId = s.id;
    f.parentSpanId = s.parentId === ZERO_ID ? '' : s.parentId;
    f.name = s.name;
    f.debug = s.debug;
    return f;
  }

  private processAnnotations(): void {
    const source = this.source;
    const annotations = source.annotations;
    for (let k = 0; k < annotations.length; k++) {
      const a = annotations[k];
      const span = this.forEndpoint(a.endpoint);
      // Core annotations need an endpoint; without one they are plain annotations.
      if (a.value.length === 2 && a.endpoint !== undefined) {
        switch (a.value) {
          case 'cs':
            span.kind = SpanKind.Client;
            this.cs = a;
            continue;
          case 'sr':
            span.kind = SpanKind.Server;
            this.sr = a;
            continue;
          case 'ss':
            span.kind = SpanKind.Server;
            this.ss = a;
            continue;
          case 'cr':
            span.kind = SpanKind.Client;
            this.cr = a;
            continue;
          case 'ms':
            span.kind = SpanKind.Producer;
            this.ms = a;
            continue;
          case 'mr':
            span.kind = SpanKind.Consumer;
            this.mr = a;
            continue;
          case 'ws':
            this.ws = a;
            continue;
          case 'wr':
            this.wr = a;
            continue;
        }
      }
      addAnnotation(span, a.timestamp, a.value);
    }

    // Bridged from an event model, a span can miss its start annotation.
    if (this.cs === undefined && this.cr !== undefined && this.endReflectsDuration(this.cr)) {
      this.cs = { timestamp: source.timestamp, value: 'cs', endpoint: this.cr.endpoint };
    }
    if (this.sr === undefined && this.ss !== undefined && this.endReflectsDuration(this.ss)) {
      this.sr = { timestamp: source.timestamp, value: 'sr', endpoint: this.ss.endpoint };
    }
    const { cs, sr, ss, cr } = this;

    if (cs !== undefined && sr !== undefined) {
      // A shared RPC span: the client side owns the duration, by annotations or explicit timestamp.
      this.timestampDuration(cs, cr);
      const client = this.forEndpoint(cs.endpoint);
      let server: ZipkinSpanFields;
      if (sameServiceName(cs.endpoint!, sr.endpoint!)) {
        // Loopback: the server side is a span of its own.
        client.kind = SpanKind.Client;
        server = this.newSpan(sr.endpoint!);
        server.kind = SpanKind.Server;
      } else {
        server = this.forEndpoint(sr.endpoint);
      }
      server.shared = true;
      server.timestamp = nonNegative(sr.timestamp);
      if (ss !== undefined) server.duration = nonNegative(ss.timestamp - sr.timestamp);
      if (cr === undefined && source.duration === 0n) client.duration = 0n; // one-way: no duration
    } else if (cs !== undefined && cr !== undefined) {
      this.timestampDuration(cs, cr);
    } else if (sr !== undefined && ss !== undefined) {
      this.timestampDuration(sr, ss);
    } else {
      this.handleIncompleteRpc();
    }

    // v1 had no `shared`: by convention a server half without (or with only the client's) timestamp is
    // shared.
    if (cs === undefined && sr !== undefined && (source.timestamp === 0n || (ss !== undefined && source.duration === 0n))) {
      this.forEndpoint(sr.endpoint).shared = true;
    }

    const { ms, mr, ws, wr } = this;
    if (ms !== undefined && mr !== undefined) {
      // Not supposed to share one span, but when they do: as for RPC, loopback forks.
      const producer = this.forEndpoint(ms.endpoint);
      let consumer: ZipkinSpanFields;
      if (sameServiceName(ms.endpoint!, mr.endpoint!)) {
        producer.kind = SpanKind.Producer;
        consumer = this.newSpan(mr.endpoint!);
        consumer.kind = SpanKind.Consumer;
      } else {
        consumer = this.forEndpoint(mr.endpoint);
      }
      consumer.shared = true;
      if (wr !== undefined) {
        consumer.timestamp = nonNegative(wr.timestamp);
        consumer.duration = nonNegative(mr.timestamp - wr.timestamp);
      } else {
        consumer.timestamp = nonNegative(mr.timestamp);
      }
      producer.timestamp = nonNegative(ms.timestamp);
      producer.duration = ws !== undefined ? nonNegative(ws.timestamp - ms.timestamp) : 0n;
    } else if (ms !== undefined) {
      this.timestampDuration(ms, ws);
    } else if (mr !== undefined) {
      if (wr !== undefined) this.timestampDuration(wr, mr);
      else this.timestampDuration(mr, undefined);
    } else {
      if (ws !== undefined) addAnnotation(this.forEndpoint(ws.endpoint), ws.timestamp, ws.value);
      if (wr !== undefined) addAnnotation(this.forEndpoint(wr.endpoint), wr.timestamp, wr.value);
    }
  }

  private endReflectsDuration(end: V1Annotation): boolean {
    const s = this.source;
    return s.timestamp !== 0n && s.duration !== 0n && s.timestamp + s.duration === end.timestamp;
  }

  /** The v1 timestamp and duration when both are set, else those of the annotations. */
  private timestampDuration(begin: V1Annotation, end: V1Annotation | undefined): void {
    const span = this.forEndpoint(begin.endpoint);
    const s = this.source;
    if (s.timestamp !== 0n && s.duration !== 0n) {
      span.timestamp = nonNegative(s.timestamp);
      span.duration = nonNegative(s.duration);
    } else {
      span.timestamp = nonNegative(begin.timestamp);
      if (end !== undefined) span.duration = nonNegative(end.timestamp - begin.timestamp);
    }
  }

  /** An incomplete RPC: the start annotation gives the timestamp, the end one stays an annotation. */
  private handleIncompleteRpc(): void {
    this.incomplete(this.first);
    for (let k = 0; k < this.spans.length; k++) this.incomplete(this.spans[k]);
    const s = this.source;
    if (s.timestamp !== 0n) {
      this.first.timestamp = nonNegative(s.timestamp);
      this.first.duration = nonNegative(s.duration);
    }
  }

  private incomplete(span: ZipkinSpanFields): void {
    if (span.kind === SpanKind.Client) {
      if (this.cs !== undefined) span.timestamp = nonNegative(this.cs.timestamp);
      if (this.cr !== undefined) addAnnotation(span, this.cr.timestamp, this.cr.value);
    } else if (span.kind === SpanKind.Server) {
      if (this.sr !== undefined) span.timestamp = nonNegative(this.sr.timestamp);
      if (this.ss !== undefined) addAnnotation(span, this.ss.timestamp, this.ss.value);
    }
  }

  private processBinaryAnnotations(): void {
    let ca: Endpoint | undefined;
    let sa: Endpoint | undefined;
    let ma: Endpoint | undefined;
    const binaryAnnotations = this.source.binaryAnnotations;
    for (let k = 0; k < binaryAnnotations.length; k++) {
      const b = binaryAnnotations[k];
      // Address annotations by key, whatever their value: some zipkin-ruby versions wrote "1" instead
      // of true, and reading those as tags would confuse which endpoint is local.
      if (b.key === 'ca') {
        ca = b.endpoint;
        continue;
      } else if (b.key === 'sa') {
        sa = b.endpoint;
        continue;
      } else if (b.key === 'ma') {
        ma = b.endpoint;
        continue;
      }
      const span = this.forEndpoint(b.endpoint);
      // An empty "lc" only marks the local endpoint.
      if (b.key === 'lc' && b.value === '') continue;
      if (b.value !== undefined) putTag(span, b.key, b.value);
    }

    const { cs, sr, ss, cr, ms, mr } = this;
    if (cs === undefined && cr === undefined && ss === undefined && sr === undefined && (ca !== undefined || sa !== undefined)) {
      // No core annotations, but addresses.
      if (ca !== undefined && sa !== undefined) {
        this.forEndpoint(ca).remoteEndpoint = copyEndpoint(sa);
      } else if (sa !== undefined) {
        // "sa" is a default remote address: it does not make a client span.
        this.first.remoteEndpoint = copyEndpoint(sa);
      } else {
        // "ca" alone: a server span.
        this.first.kind = SpanKind.Server;
        this.first.remoteEndpoint = copyEndpoint(ca!);
      }
      return;
    }

    const server = sr ?? ss;
    if (ca !== undefined && server !== undefined && !sameEndpoint(ca, server.endpoint!)) {
      const remote = copyEndpoint(ca);
      // Finagle adds "ca" to server spans for the client side of the socket, with the server's service
      // name: without that name, it does not make a loopback link.
      if (sameServiceName(ca, server.endpoint!)) remote.serviceName = '';
      this.forEndpoint(server.endpoint).remoteEndpoint = remote;
    }
    if (sa !== undefined) {
      if (cs !== undefined) this.forEndpoint(cs.endpoint).remoteEndpoint = copyEndpoint(sa);
      else if (cr !== undefined) this.forEndpoint(cr.endpoint).remoteEndpoint = copyEndpoint(sa);
    }
    if (ma !== undefined) {
      // Both sides of a (wrongly) shared messaging span get the broker.
      if (ms !== undefined) this.forEndpoint(ms.endpoint).remoteEndpoint = copyEndpoint(ma);
      if (mr !== undefined) this.forEndpoint(mr.endpoint).remoteEndpoint = copyEndpoint(ma);
    }
  }

  /**
   * The span of a local endpoint: data without endpoint goes to the first span, the first endpoint seen
   * becomes its local endpoint, and an endpoint of another service name gets a span of its own.
   */
  private forEndpoint(e: Endpoint | undefined): ZipkinSpanFields {
    if (e === undefined) return this.first;
    if (closeEnough(this.first, e)) return this.first;
    for (let k = 0; k < this.spans.length; k++) if (closeEnough(this.spans[k], e)) return this.spans[k];
    return this.newSpan(e);
  }

  private newSpan(e: Endpoint): ZipkinSpanFields {
    const f = this.newFields();
    f.localEndpoint = e;
    this.spans.push(f);
    return f;
  }
}

function closeEnough(span: ZipkinSpanFields, e: Endpoint): boolean {
  const local = span.localEndpoint;
  if (local === undefined) {
    span.localEndpoint = e;
    return true;
  }
  return sameServiceName(local, e);
}

/** Zipkin's span builder turns a negative timestamp or duration into absent. */
function nonNegative(n: bigint): bigint {
  return n < 0n ? 0n : n;
}

function addAnnotation(span: ZipkinSpanFields, timestamp: bigint, value: string): void {
  span.events.push({ timeUnixNano: timestamp * 1000n, name: value, attributes: {}, droppedAttributesCount: 0 });
}

function putTag(span: ZipkinSpanFields, key: string, value: string): void {
  const attributes = span.attributes;
  if (key === '__proto__') Object.defineProperty(attributes, key, { value, writable: true, enumerable: true, configurable: true });
  else attributes[key] = value;
  span.tagGroups |= zipkinTagGroup(key);
  // Binary annotations come sorted by key, so the tags of a span do too.
}
