/**
 * Zipkin's dependency linker: which service called which, how often, and how often with an error, as
 * `zipkin2.internal.DependencyLinker` (with `SpanNode` and `Trace.merge`) computes it. Stores keep these
 * links per UTC day: MySQL in `zipkin_dependencies (day, parent, child, call_count, error_count)`,
 * Elasticsearch in `zipkin-dependency-<yyyy-MM-dd>` documents with `_id` `parent|child`; Zipkin's query API
 * sums what it reads for the days asked with {@link mergeLinks}.
 *
 * Contracts, for the store exporters:
 *
 * - Input is Zipkin v2 JSON spans ({@link ZipkinSpanJson}), as a store holds them or as read back from it
 *   with `JSON.parse`; {@link zipkinSpanJsonOf} makes them from model spans (through the one model→Zipkin
 *   mapping, src/codecs/zipkin-view.ts). Input is never mutated and never makes these functions throw:
 *   a span whose `traceId` or `id` is not hex is ignored, everything else is normalised as Zipkin's
 *   `Span.Builder` would (ids padded and lower-cased, service names lower-cased, `""` as absent, an
 *   empty endpoint as absent, `shared` dropped on a CLIENT, `parentId == id` as no parent).
 * - Links are only right over whole traces. The linker skips a CLIENT span that has children (the server
 *   below names the link) and takes the parent service from the nearest ancestor with a kind, so linking
 *   parts of a trace separately and summing is not the same as linking the trace; Zipkin's own jobs link
 *   what the store holds for a day, grouped by trace.
 * - Traces are grouped by the low 64 bits of their id (what zipkin-dependencies and Zipkin's MySQL
 *   aggregation do), unless `strictTraceId`.
 * - Output order is the order in which each (parent, child) pair was first counted, as Zipkin's
 *   `LinkedHashMap`s give it; `errorCount` is 0 when no call failed (Zipkin's JSON omits it then).
 * - A call failed when its span has the tag `error` (any value, also `""`); an annotation named `error`
 *   does not count. A server span without the tag takes its client's `error` tag when its `parentId` is
 *   the client's id (an RPC split into a client and a server span); a shared server span (same id as its
 *   client) does not, as in Zipkin.
 * - Cost is O(n log n) per trace; nothing is kept between calls except in a {@link DependencyLinker}.
 */
import { ZipkinView, ZIPKIN_KIND_NAMES } from '../../codecs/zipkin-view.js';
import type { Span } from '../../model/span.js';

// ---- the API

export type ZipkinKind = 'CLIENT' | 'SERVER' | 'PRODUCER' | 'CONSUMER';

/** A Zipkin v2 JSON endpoint. `null` is accepted wherever a field may be absent (as JSON from a store). */
export interface ZipkinEndpointJson {
  serviceName?: string | null;
  ipv4?: string | null;
  ipv6?: string | null;
  port?: number | null;
}

/** A Zipkin v2 JSON span (zipkin2-api.yaml `Span`). Timestamps are epoch microseconds. */
export interface ZipkinSpanJson {
  traceId: string;
  id: string;
  parentId?: string | null;
  kind?: ZipkinKind | null;
  name?: string | null;
  timestamp?: number | null;
  duration?: number | null;
  localEndpoint?: ZipkinEndpointJson | null;
  remoteEndpoint?: ZipkinEndpointJson | null;
  annotations?: readonly { timestamp: number; value: string }[] | null;
  tags?: Readonly<Record<string, string>> | null;
  debug?: boolean | null;
  shared?: boolean | null;
}

/** One edge of the service graph (zipkin2-api.yaml `DependencyLink`). */
export interface DependencyLink {
  parent: string;
  child: string;
  callCount: number;
  errorCount: number;
}

/** A link as read back from a store: Zipkin's JSON leaves out `errorCount` when it is 0. */
export type StoredDependencyLink = Omit<DependencyLink, 'errorCount'> & { errorCount?: number | null };

export interface LinkOptions {
  /**
   * Group spans into traces by the whole trace id instead of its low 64 bits. Zipkin's jobs and its MySQL
   * aggregation use the low 64 bits (a 64-bit and a 128-bit id of the same trace meet); default false.
   */
  strictTraceId?: boolean;
}

/** Milliseconds in a day. */
export const DAY_MS = 86_400_000;

/**
 * Counts links over traces one at a time, like Zipkin's `DependencyLinker`: {@link putTrace} per trace,
 * then {@link link}.
 */
export class DependencyLinker {
  private readonly calls = new Map<string, DependencyLink>();

  /**
   * Adds the links of one trace. All spans should share a trace id (they are linked as one tree either
   * way); spans whose ids are not hex are ignored.
   */
  putTrace(spans: Iterable<ZipkinSpanJson>): this {
    const cleaned: LinkSpan[] = [];
    for (const span of spans) {
      const s = linkSpanOf(span);
      if (s !== undefined) cleaned.push(s);
    }
    if (cleaned.length === 0) return this;
    const merged = mergeTrace(cleaned);
    linkTree(buildTree(merged), merged.length, (parent, child, isError) => this.addLink(parent, child, isError));
    return this;
  }

  /** The links counted so far, in first-counted order. The result is a copy. */
  link(): DependencyLink[] {
    const out: DependencyLink[] = [];
    for (const l of this.calls.values()) out.push({ parent: l.parent, child: l.child, callCount: l.callCount, errorCount: l.errorCount });
    return out;
  }

  private addLink(parent: string, child: string, isError: boolean): void {
    const key = pairKey(parent, child);
    const link = this.calls.get(key);
    if (link === undefined) this.calls.set(key, { parent, child, callCount: 1, errorCount: isError ? 1 : 0 });
    else {
      link.callCount++;
      if (isError) link.errorCount++;
    }
  }
}

/** The links of one trace's spans. */
export function linkTrace(spans: Iterable<ZipkinSpanJson>): DependencyLink[] {
  return new DependencyLinker().putTrace(spans).link();
}

/** The links of spans from any number of traces, grouped into traces by id (see {@link LinkOptions}). */
export function linkTraces(spans: Iterable<ZipkinSpanJson>, options: LinkOptions = {}): DependencyLink[] {
  const linker = new DependencyLinker();
  for (const trace of groupByTrace(spans, options).values()) linker.putTrace(trace);
  return linker.link();
}

/**
 * Links per UTC day, as Zipkin's daily jobs make them: each span belongs to the day of
 * {@link utcDayOfSpan}, and each day's spans are grouped into traces and linked, so a trace that crosses
 * midnight is linked as two parts. Spans without a day are left out (the MySQL job selects spans by
 * `start_ts` within the day) unless `fallbackDay` (epoch ms, any time of the day) is given, e.g. now, which
 * is where Elasticsearch indexes such a span. Keys are days in epoch ms at midnight UTC, in first-seen order.
 */
export function linkDaily(spans: Iterable<ZipkinSpanJson>, options: LinkOptions & { fallbackDay?: number } = {}): Map<number, DependencyLink[]> {
  const byDay = new Map<number, ZipkinSpanJson[]>();
  const fallback = options.fallbackDay === undefined ? undefined : midnightUtc(options.fallbackDay);
  for (const span of spans) {
    const day = utcDayOfSpan(span) ?? fallback;
    if (day === undefined) continue;
    let list = byDay.get(day);
    if (list === undefined) byDay.set(day, (list = []));
    list.push(span);
  }
  const out = new Map<number, DependencyLink[]>();
  for (const [day, list] of byDay) {
    const links = linkTraces(list, options);
    if (links.length > 0) out.set(day, links);
  }
  return out;
}

/**
 * Sums links by (parent, child), as Zipkin's `DependencyLinker.merge` does with the links of several days
 * or of several runs. Order: first appearance. Input is not mutated.
 */
export function mergeLinks(links: Iterable<StoredDependencyLink>): DependencyLink[] {
  const sums = new Map<string, DependencyLink>();
  for (const l of links) {
    const key = pairKey(l.parent, l.child);
    const sum = sums.get(key);
    if (sum === undefined) sums.set(key, { parent: l.parent, child: l.child, callCount: l.callCount, errorCount: l.errorCount ?? 0 });
    else {
      sum.callCount += l.callCount;
      sum.errorCount += l.errorCount ?? 0;
    }
  }
  return [...sums.values()];
}

/** Epoch ms at midnight UTC of the day holding `epochMillis` (Zipkin's `DateUtil.midnightUTC`). */
export function midnightUtc(epochMillis: number): number {
  return epochMillis - (((epochMillis % DAY_MS) + DAY_MS) % DAY_MS);
}

/**
 * The UTC day (epoch ms at midnight) a span's links belong to: the day of its `timestamp`; without one,
 * of its earliest annotation (where Elasticsearch indexes it); else undefined.
 */
export function utcDayOfSpan(span: ZipkinSpanJson): number | undefined {
  const micros = spanMicros(span);
  return micros === undefined ? undefined : midnightUtc(Math.floor(micros / 1000));
}

/**
 * The UTC day of a whole trace: the day of its earliest span (by {@link utcDayOfSpan}'s rule), which is
 * the day of its root span when the clocks agree. For exporters that link a trace at once and file the
 * links under one day; Zipkin's jobs split a trace that crosses midnight instead ({@link linkDaily}).
 */
export function utcDayOfTrace(spans: Iterable<ZipkinSpanJson>): number | undefined {
  let min: number | undefined;
  for (const span of spans) {
    const micros = spanMicros(span);
    if (micros !== undefined && (min === undefined || micros < min)) min = micros;
  }
  return min === undefined ? undefined : midnightUtc(Math.floor(min / 1000));
}

/** A model span as Zipkin v2 JSON (a new object; what the Zipkin JSON encoder would write). */
export function zipkinSpanJsonOf(span: Span, view: ZipkinView = new ZipkinView()): ZipkinSpanJson {
  return zipkinSpanJsonOfView(view.fill(span));
}

/** A filled {@link ZipkinView} copied out as Zipkin v2 JSON (the view is reused by its owner; this is not). */
export function zipkinSpanJsonOfView(v: ZipkinView): ZipkinSpanJson {
  const out: ZipkinSpanJson = { traceId: v.traceId, id: v.id };
  if (v.parentId !== '') out.parentId = v.parentId;
  if (v.kind !== 0) out.kind = ZIPKIN_KIND_NAMES[v.kind] as ZipkinKind;
  if (v.name !== '') out.name = v.name;
  if (v.timestamp !== 0n) out.timestamp = Number(v.timestamp);
  if (v.duration !== 0n) out.duration = Number(v.duration);
  if (v.hasLocalEndpoint) out.localEndpoint = endpointJson(v.localServiceName, v.localIpv4, v.localIpv6, v.localPort);
  if (v.hasRemoteEndpoint) out.remoteEndpoint = endpointJson(v.remoteServiceName, v.remoteIpv4, v.remoteIpv6, v.remotePort);
  if (v.annotationCount > 0) {
    const annotations: { timestamp: number; value: string }[] = [];
    for (let k = 0; k < v.annotationCount; k++) annotations.push({ timestamp: Number(v.annotationTimestamps[k]), value: v.annotationValues[k] });
    out.annotations = annotations;
  }
  if (v.tagCount > 0) {
    const tags: Record<string, string> = {};
    for (let k = 0; k < v.tagCount; k++) tags[v.tagKeys[k]] = v.tagValues[k];
    out.tags = tags;
  }
  if (v.debug) out.debug = true;
  if (v.shared) out.shared = true;
  return out;
}

// ---- input: normalised as Zipkin's Span.Builder would

/** What linking reads of a span. Absent is undefined; a timestamp of 0 is absent. */
interface LinkSpan {
  traceId: string;
  parentId: string | undefined;
  id: string;
  kind: ZipkinKind | undefined;
  timestamp: number;
  local: Endpoint | undefined;
  remote: Endpoint | undefined;
  error: boolean;
  shared: boolean;
}

interface Endpoint {
  serviceName: string | undefined;
  ipv4: string | undefined;
  ipv6: string | undefined;
  /** 0 when absent. */
  port: number;
}

const KINDS: ReadonlySet<string> = new Set(['CLIENT', 'SERVER', 'PRODUCER', 'CONSUMER']);
const HEX = /^[0-9a-fA-F]+$/;
const ZEROS = '00000000000000000000000000000000';

function linkSpanOf(span: ZipkinSpanJson): LinkSpan | undefined {
  if (span === null || typeof span !== 'object') return undefined;
  const traceId = traceIdOf(span.traceId);
  const id = spanIdOf(span.id);
  if (traceId === undefined || id === undefined) return undefined;
  let parentId = span.parentId == null ? undefined : spanIdOf(span.parentId);
  if (parentId === id) parentId = undefined;
  const kind = typeof span.kind === 'string' && KINDS.has(span.kind) ? span.kind : undefined;
  const ts = span.timestamp;
  const tags = span.tags;
  return {
    traceId,
    parentId,
    id,
    kind,
    timestamp: typeof ts === 'number' && ts > 0 ? ts : 0,
    local: endpointOf(span.localEndpoint),
    remote: endpointOf(span.remoteEndpoint),
    error: tags != null && typeof tags === 'object' && Object.hasOwn(tags, 'error'),
    shared: span.shared === true && kind !== 'CLIENT',
  };
}

/** 16 or 32 lower-hex chars; a 128-bit id with a zero high half becomes 64-bit. Undefined if invalid. */
function traceIdOf(v: unknown): string | undefined {
  if (typeof v !== 'string' || v.length === 0 || v.length > 32 || !HEX.test(v)) return undefined;
  let id = v.toLowerCase();
  if (id.length < 16) id = ZEROS.slice(id.length + 16) + id;
  else if (id.length > 16 && id.length < 32) id = ZEROS.slice(id.length) + id;
  if (id.length === 32 && id.startsWith('0000000000000000')) id = id.slice(16);
  return id === '0000000000000000' ? undefined : id;
}

/** 16 lower-hex chars, undefined if invalid or all zeros. */
function spanIdOf(v: unknown): string | undefined {
  if (typeof v !== 'string' || v.length === 0 || v.length > 16 || !HEX.test(v)) return undefined;
  const id = (ZEROS.slice(v.length + 16) + v).toLowerCase();
  return id === '0000000000000000' ? undefined : id;
}

function endpointOf(v: ZipkinEndpointJson | null | undefined): Endpoint | undefined {
  if (v == null || typeof v !== 'object') return undefined;
  const serviceName = typeof v.serviceName === 'string' && v.serviceName !== '' ? v.serviceName.toLowerCase() : undefined;
  const ipv4 = typeof v.ipv4 === 'string' && v.ipv4 !== '' ? v.ipv4 : undefined;
  const ipv6 = typeof v.ipv6 === 'string' && v.ipv6 !== '' ? v.ipv6 : undefined;
  const port = typeof v.port === 'number' && v.port > 0 && v.port <= 65535 ? v.port : 0;
  if (serviceName === undefined && ipv4 === undefined && ipv6 === undefined && port === 0) return undefined;
  return { serviceName, ipv4, ipv6, port };
}

function endpointJson(serviceName: string, ipv4: string, ipv6: string, port: number): ZipkinEndpointJson {
  const ep: ZipkinEndpointJson = {};
  if (serviceName !== '') ep.serviceName = serviceName;
  if (ipv4 !== '') ep.ipv4 = ipv4;
  if (ipv6 !== '') ep.ipv6 = ipv6;
  if (port !== 0) ep.port = port;
  return ep;
}

function spanMicros(span: ZipkinSpanJson): number | undefined {
  if (span == null || typeof span !== 'object') return undefined;
  const ts = span.timestamp;
  if (typeof ts === 'number' && ts > 0) return ts;
  let min: number | undefined;
  const annotations = span.annotations;
  if (Array.isArray(annotations)) {
    for (const a of annotations) {
      const t = a?.timestamp;
      if (typeof t === 'number' && t > 0 && (min === undefined || t < min)) min = t;
    }
  }
  return min;
}

function groupByTrace(spans: Iterable<ZipkinSpanJson>, options: LinkOptions): Map<string, ZipkinSpanJson[]> {
  const traces = new Map<string, ZipkinSpanJson[]>();
  for (const span of spans) {
    const traceId = span == null ? undefined : traceIdOf(span.traceId);
    if (traceId === undefined) continue;
    const key = options.strictTraceId === true ? traceId : traceId.slice(-16);
    let list = traces.get(key);
    if (list === undefined) traces.set(key, (list = []));
    list.push(span);
  }
  return traces;
}

function pairKey(parent: string, child: string): string {
  return `${parent.length}:${parent}${child}`;
}

// ---- Trace.merge: one span per (id, shared, local endpoint), client before server

function mergeTrace(input: LinkSpan[]): LinkSpan[] {
  if (input.length <= 1) return input;
  // Array.prototype.sort is stable, as Java's Collections.sort, so ties keep input order.
  const spans = input.slice().sort(cleanupOrder);
  let traceId = spans[0].traceId;
  for (let i = 1; i < spans.length; i++) if (traceId.length !== 32) traceId = spans[i].traceId;

  const result: LinkSpan[] = [];
  let last: LinkSpan | undefined;
  for (let i = 0; i < spans.length; i++) {
    // Copy: merging fills in fields. The checks after merging look at the span as sent, as Zipkin's do.
    const sent = spans[i];
    let span: LinkSpan = { ...sent, traceId };
    const spanShared = span.shared;
    // Fragments of one span sent in pieces: same id, same shared flag, local endpoints that agree.
    let tracker: EndpointTracker | undefined;
    while (i + 1 < spans.length) {
      const next = spans[i + 1];
      if (next.id !== span.id) break;
      if (tracker === undefined) {
        tracker = new EndpointTracker();
        tracker.tryMerge(span.local);
      }
      if (spanShared !== next.shared || !tracker.tryMerge(next.local)) break;
      span = mergeSpan(span, next);
      i++;
    }
    // Instrumentation that reuses the client's id on the server does not always say `shared`; the trace
    // is sorted client first, so the flag can be restored, and so can a parent id not propagated.
    if (last !== undefined && last.id === span.id) {
      if (last.kind === 'CLIENT' && sent.kind === 'SERVER' && !span.shared) span.shared = true;
      if (span.shared && sent.parentId === undefined && last.parentId !== undefined) span.parentId = last.parentId;
    }
    if (span.shared && span.kind === 'CLIENT') span.shared = false;
    if (span.parentId === span.id) span.parentId = undefined;
    result.push(span);
    last = span;
  }
  return result;
}

/** Span.Builder.merge: fields absent in `span` are taken from `next`; endpoints merge field by field. */
function mergeSpan(span: LinkSpan, next: LinkSpan): LinkSpan {
  return {
    traceId: span.traceId,
    parentId: span.parentId ?? next.parentId,
    id: span.id,
    kind: span.kind ?? next.kind,
    timestamp: span.timestamp !== 0 ? span.timestamp : next.timestamp,
    local: mergeEndpoint(span.local, next.local),
    remote: mergeEndpoint(span.remote, next.remote),
    error: span.error || next.error,
    shared: span.shared || next.shared,
  };
}

function mergeEndpoint(a: Endpoint | undefined, b: Endpoint | undefined): Endpoint | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  return {
    serviceName: a.serviceName ?? b.serviceName,
    ipv4: a.ipv4 ?? b.ipv4,
    ipv6: a.ipv6 ?? b.ipv6,
    port: a.port !== 0 ? a.port : b.port,
  };
}

/** Whether endpoints sent in pieces can be one: no field set on both sides differs. */
class EndpointTracker {
  private serviceName: string | undefined;
  private ipv4: string | undefined;
  private ipv6: string | undefined;
  private port = 0;

  tryMerge(ep: Endpoint | undefined): boolean {
    if (ep === undefined) return true;
    if (this.serviceName !== undefined && ep.serviceName !== undefined && this.serviceName !== ep.serviceName) return false;
    if (this.ipv4 !== undefined && ep.ipv4 !== undefined && this.ipv4 !== ep.ipv4) return false;
    if (this.ipv6 !== undefined && ep.ipv6 !== undefined && this.ipv6 !== ep.ipv6) return false;
    if (this.port !== 0 && ep.port !== 0 && this.port !== ep.port) return false;
    this.serviceName ??= ep.serviceName;
    this.ipv4 ??= ep.ipv4;
    this.ipv6 ??= ep.ipv6;
    if (this.port === 0) this.port = ep.port;
    return true;
  }
}

/** By id; then unshared before shared, and among unshared CLIENT first; then by local endpoint. */
function cleanupOrder(a: LinkSpan, b: LinkSpan): number {
  if (a.id !== b.id) return a.id < b.id ? -1 : 1;
  if (a.shared !== b.shared) return a.shared ? 1 : -1;
  if (!a.shared) {
    const ac = a.kind === 'CLIENT';
    const bc = b.kind === 'CLIENT';
    if (ac !== bc) return ac ? -1 : 1;
  }
  return compareEndpoint(a.local, b.local);
}

/** Absent endpoints first (fragments without one merge into the first span); absent fields last. */
function compareEndpoint(a: Endpoint | undefined, b: Endpoint | undefined): number {
  if (a === undefined) return b === undefined ? 0 : -1;
  if (b === undefined) return 1;
  return compareAbsentLast(a.serviceName, b.serviceName) || compareAbsentLast(a.ipv4, b.ipv4) || compareAbsentLast(a.ipv6, b.ipv6);
}

function compareAbsentLast(a: string | undefined, b: string | undefined): number {
  if (a === undefined) return b === undefined ? 0 : 1;
  if (b === undefined) return -1;
  return a < b ? -1 : a > b ? 1 : 0;
}

// ---- SpanNode.Builder: the tree

class SpanNode {
  parent: SpanNode | undefined = undefined;
  readonly children: SpanNode[] = [];
  /** Undefined for the synthetic root of a trace without a root span. */
  constructor(readonly span: LinkSpan | undefined) {}
}

/**
 * Node keys. A span is keyed by its id; a shared (server) span by its id and local endpoint, since a
 * client may send one id to several servers.
 */
function sharedKey(id: string, ep: Endpoint | undefined): string {
  return ep === undefined ? `${id}|shared` : `${id}|shared|${JSON.stringify([ep.serviceName ?? null, ep.ipv4 ?? null, ep.ipv6 ?? null, ep.port])}`;
}

function keyOf(id: string, shared: boolean, ep: Endpoint | undefined): string {
  return shared ? sharedKey(id, ep) : id;
}

function buildTree(spans: LinkSpan[]): SpanNode {
  // Child key → parent key (undefined: no parent), in first-indexed order; key → node (last wins).
  const spanToParent = new Map<string, string | undefined>();
  const keyToNode = new Map<string, SpanNode>();
  let root: SpanNode | undefined;

  for (const span of spans) {
    if (span.shared) spanToParent.set(sharedKey(span.id, span.local), span.id);
    else spanToParent.set(span.id, span.parentId);
  }

  for (const span of spans) {
    const ep = span.local;
    const shared = span.shared;
    const key = keyOf(span.id, shared, ep);
    const noEndpointKey = ep !== undefined ? keyOf(span.id, shared, undefined) : key;
    let parent: string | undefined;
    if (shared) {
      // A shared span is the server side of its client, which has the same id.
      parent = span.id;
    } else if (span.parentId !== undefined) {
      // Most specific first: a child of a shared server span on the same endpoint.
      parent = sharedKey(span.parentId, ep);
      if (spanToParent.has(parent)) spanToParent.set(noEndpointKey, parent);
      else parent = span.parentId;
    }
    const node = new SpanNode(span);
    if (parent === undefined && root === undefined) {
      // The first span without a parent is the root; later ones hang off it.
      root = node;
      spanToParent.delete(noEndpointKey);
    } else if (shared) {
      // Found both ways, in case spans below it lack endpoint data.
      keyToNode.set(key, node);
      keyToNode.set(noEndpointKey, node);
    } else {
      keyToNode.set(noEndpointKey, node);
    }
  }

  root ??= new SpanNode(undefined);
  for (const [childKey, parentKey] of spanToParent) {
    const child = keyToNode.get(childKey);
    if (child === undefined) continue;
    const parent = parentKey === undefined ? undefined : keyToNode.get(parentKey);
    const to = parent ?? root;
    // Zipkin throws on a self-parent; dropping the edge keeps the rest of the trace.
    if (to === child) continue;
    to.children.push(child);
    child.parent = to;
  }

  // Children by timestamp (stable; absent is 0), the synthetic root's too. Only what hangs off the root
  // is reachable.
  sortChildren(root);
  for (const node of breadthFirst(root, spans.length)) sortChildren(node);
  return root;
}

function sortChildren(node: SpanNode): void {
  if (node.children.length > 1) node.children.sort((a, b) => a.span!.timestamp - b.span!.timestamp);
}

/**
 * Nodes reachable from `root`, breadth-first; the synthetic root itself is not visited, its children are.
 * `limit` (the span count) bounds the walk: Zipkin's tree can list a node under two keys, which malformed
 * input could turn into a long walk; this one ends.
 */
function* breadthFirst(root: SpanNode, limit: number): Generator<SpanNode> {
  const queue: SpanNode[] = root.span === undefined ? root.children.slice() : [root];
  const maxVisits = 8 * limit + 8;
  for (let head = 0; head < queue.length && head < maxVisits; head++) {
    const node = queue[head];
    for (const c of node.children) queue.push(c);
    yield node;
  }
}

// ---- DependencyLinker.putTrace: the links of one tree

type AddLink = (parent: string, child: string, isError: boolean) => void;

function linkTree(tree: SpanNode, count: number, addLink: AddLink): void {
  for (const current of breadthFirst(tree, count)) {
    const span = current.span!;
    let kind = span.kind;
    // A client with children: the server below names the link.
    if (kind === 'CLIENT' && current.children.length > 0) continue;

    const serviceName = span.local?.serviceName;
    const remoteServiceName = span.remote?.serviceName;
    if (kind === undefined) {
      // Without kind, a span that knows both sides is a client.
      if (serviceName === undefined || remoteServiceName === undefined) continue;
      kind = 'CLIENT';
    }

    let parent: string | undefined;
    let child: string | undefined;
    if (kind === 'SERVER' || kind === 'CONSUMER') {
      child = serviceName;
      parent = remoteServiceName;
      // The root span's caller is unknown unless it says so.
      if (current === tree && parent === undefined) continue;
    } else {
      parent = serviceName;
      child = remoteServiceName;
    }

    let isError = span.error;
    if (kind === 'PRODUCER' || kind === 'CONSUMER') {
      // Messaging links go through the broker, both names known; there is no producer→consumer link.
      if (parent !== undefined && child !== undefined) addLink(parent, child, isError);
      continue;
    }

    // Local spans may sit between this span and its remote ancestor.
    const ancestor = firstRemoteAncestor(current, count);
    const ancestorName = ancestor?.local?.serviceName;
    if (ancestor !== undefined && ancestorName !== undefined) {
      // A client on another service than the ancestor's: the call into this service was not traced.
      if (kind === 'CLIENT' && serviceName !== undefined && ancestorName !== serviceName) addLink(ancestorName, serviceName, false);
      if (kind === 'SERVER' || parent === undefined) parent = ancestorName;
      // An RPC split in a client and a server span: the server counts the client's error.
      if (!isError && ancestor.kind === 'CLIENT' && span.parentId !== undefined && span.parentId === ancestor.id) isError = ancestor.error;
    }

    if (parent === undefined || child === undefined) continue;
    addLink(parent, child, isError);
  }
}

function firstRemoteAncestor(node: SpanNode, limit: number): LinkSpan | undefined {
  let ancestor = node.parent;
  for (let steps = 0; ancestor !== undefined && steps <= limit; steps++) {
    const span = ancestor.span;
    if (span !== undefined && span.kind !== undefined) return span;
    ancestor = ancestor.parent;
  }
  return undefined;
}
