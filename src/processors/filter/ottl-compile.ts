/**
 * Compiles parsed OTTL conditions into closures over the span model, once, at config time.
 *
 * Types are resolved statically where OTTL's are fixed (`name` is a string, `kind` an int64, `trace_id` a
 * TraceID, `start_time` a time); only attribute values are typed at run time. That lets a comparison that
 * can never hold (`trace_id == "ab"`, `name == 1`) be a config error instead of a silent no-op, and keeps
 * ids, times and durations as plain strings and bigints at run time: evaluating a condition allocates
 * nothing except for arithmetic on bigints.
 *
 * Run-time semantics follow OTTL's comparison rules: ints and doubles compare as doubles, a missing
 * attribute is nil, values of different types are only "not equal", strings compare by code point (Go's
 * byte order), false < true, maps and lists compare deeply for == and != only.
 */
import { didYouMean } from '../../config/schema.js';
import { type AnyValue, type Attributes, type Span, type SpanEvent } from '../../model/span.js';
import { valueAsString } from '../common/match.js';
import { compileSafePattern } from '../common/safe-regex.js';
import { OttlError, parseCondition, type CompareOp, type MathOp, type Node, type PathKey } from './ottl-parse.js';

/** What a condition is evaluated against. One instance is reused for every span, never retained. */
export interface EvalContext {
  span: Span;
  /** Set for span-event conditions. */
  event: SpanEvent | undefined;
  eventIndex: number;
}

export type OttlContextName = 'span' | 'spanevent';

export type Condition = (c: EvalContext) => boolean;

/** A failure while evaluating a condition (arithmetic on a string, division by zero); see `error_mode`. */
export class OttlEvalError extends Error {
  override readonly name = 'OttlEvalError';
}

type Ty = 'string' | 'int' | 'float' | 'bool' | 'nil' | 'bytes' | 'traceid' | 'spanid' | 'time' | 'duration' | 'any';

type Getter = (c: EvalContext) => unknown;

interface Value {
  ty: Ty;
  get: Getter;
  column: number;
  /** Present for values known at config time (literals, enums, folded expressions). */
  constant?: { value: unknown };
}

const TYPE_NAMES: Record<Ty, string> = {
  string: 'a string',
  int: 'an int',
  float: 'a double',
  bool: 'a bool',
  nil: 'nil',
  bytes: 'a byte slice',
  traceid: 'a TraceID',
  spanid: 'a SpanID',
  time: 'a time',
  duration: 'a duration',
  any: 'an attribute value',
};

/** Types that only compare with themselves; mixing them with anything else is a config error. */
const OPAQUE = new Set<Ty>(['traceid', 'spanid', 'time', 'duration']);

const ENUMS: Record<string, bigint> = {
  SPAN_KIND_UNSPECIFIED: 0n,
  SPAN_KIND_INTERNAL: 1n,
  SPAN_KIND_SERVER: 2n,
  SPAN_KIND_CLIENT: 3n,
  SPAN_KIND_PRODUCER: 4n,
  SPAN_KIND_CONSUMER: 5n,
  STATUS_CODE_UNSET: 0n,
  STATUS_CODE_OK: 1n,
  STATUS_CODE_ERROR: 2n,
};

// Small ints as preallocated bigints, so that reading `kind` or `status.code` allocates nothing.
const SMALL_INTS: bigint[] = Array.from({ length: 16 }, (_, i) => BigInt(i));
const smallInt = (n: number): bigint => SMALL_INTS[n] ?? BigInt(n);

/** pdata's SpanKind.String(), which OTTL's `kind.string` returns. */
const KIND_NAMES = ['Unspecified', 'Internal', 'Server', 'Client', 'Producer', 'Consumer'];

const ZERO_TRACE_ID = '0'.repeat(32);
const ZERO_SPAN_ID = '0'.repeat(16);

/** The 16-byte id as OTLP carries it: a 64-bit Zipkin id is left-padded with zeros. */
function traceIdHex(id: string): string {
  return id.length === 32 ? id : id === '' ? ZERO_TRACE_ID : id.padStart(32, '0');
}

// --- paths -----------------------------------------------------------------------------------------

interface FieldDef {
  ty: Ty;
  get: Getter;
  /** Set for attribute maps, which accept `["key"]` indexes: the map itself, for the first lookup. */
  map?: (c: EvalContext) => Attributes;
}

function attributeMap(map: (c: EvalContext) => Attributes): FieldDef {
  return { ty: 'any', get: map, map };
}

const SPAN_FIELDS: Record<string, FieldDef> = {
  name: { ty: 'string', get: (c) => c.span.name },
  kind: { ty: 'int', get: (c) => smallInt(c.span.kind) },
  'kind.string': { ty: 'string', get: (c) => KIND_NAMES[c.span.kind] ?? '' },
  'status.code': { ty: 'int', get: (c) => smallInt(c.span.status.code) },
  'status.message': { ty: 'string', get: (c) => c.span.status.message },
  trace_id: { ty: 'traceid', get: (c) => traceIdHex(c.span.traceId) },
  'trace_id.string': { ty: 'string', get: (c) => (c.span.traceId === '' ? '' : traceIdHex(c.span.traceId)) },
  span_id: { ty: 'spanid', get: (c) => c.span.spanId || ZERO_SPAN_ID },
  'span_id.string': { ty: 'string', get: (c) => c.span.spanId },
  parent_span_id: { ty: 'spanid', get: (c) => c.span.parentSpanId || ZERO_SPAN_ID },
  'parent_span_id.string': { ty: 'string', get: (c) => c.span.parentSpanId },
  trace_state: { ty: 'string', get: (c) => c.span.traceState },
  start_time_unix_nano: { ty: 'int', get: (c) => c.span.startTimeUnixNano },
  end_time_unix_nano: { ty: 'int', get: (c) => c.span.endTimeUnixNano },
  start_time: { ty: 'time', get: (c) => c.span.startTimeUnixNano },
  end_time: { ty: 'time', get: (c) => c.span.endTimeUnixNano },
  attributes: attributeMap((c) => c.span.attributes),
  dropped_attributes_count: { ty: 'int', get: (c) => smallInt(c.span.droppedAttributesCount) },
  dropped_events_count: { ty: 'int', get: (c) => smallInt(c.span.droppedEventsCount) },
  dropped_links_count: { ty: 'int', get: (c) => smallInt(c.span.droppedLinksCount) },
};

/** Paths that reach the span's resource and scope; the same in both contexts. */
const SHARED_FIELDS: Record<string, FieldDef> = {
  'resource.attributes': attributeMap((c) => c.span.resource.attributes),
  'resource.dropped_attributes_count': { ty: 'int', get: (c) => smallInt(c.span.resource.droppedAttributesCount) },
  'instrumentation_scope.name': { ty: 'string', get: (c) => c.span.scope.name },
  'instrumentation_scope.version': { ty: 'string', get: (c) => c.span.scope.version },
  'instrumentation_scope.attributes': attributeMap((c) => c.span.scope.attributes),
  'instrumentation_scope.dropped_attributes_count': { ty: 'int', get: (c) => smallInt(c.span.scope.droppedAttributesCount) },
};
// OTTL's context-qualified spelling of the scope paths.
for (const k of Object.keys(SHARED_FIELDS)) {
  if (k.startsWith('instrumentation_scope.')) SHARED_FIELDS['scope.' + k.slice('instrumentation_scope.'.length)] = SHARED_FIELDS[k];
}

const EVENT_FIELDS: Record<string, FieldDef> = {
  name: { ty: 'string', get: (c) => c.event!.name },
  time_unix_nano: { ty: 'int', get: (c) => c.event!.timeUnixNano },
  time: { ty: 'time', get: (c) => c.event!.timeUnixNano },
  attributes: attributeMap((c) => c.event!.attributes),
  dropped_attributes_count: { ty: 'int', get: (c) => smallInt(c.event!.droppedAttributesCount) },
  event_index: { ty: 'int', get: (c) => smallInt(c.eventIndex) },
};

/** Every path a context accepts, by its spelling in a condition. */
function pathTable(context: OttlContextName): Map<string, FieldDef> {
  const table = new Map<string, FieldDef>();
  for (const [k, f] of Object.entries(SHARED_FIELDS)) table.set(k, f);
  for (const [k, f] of Object.entries(SPAN_FIELDS)) {
    table.set('span.' + k, f);
    if (context === 'span') table.set(k, f);
  }
  if (context === 'spanevent') {
    for (const [k, f] of Object.entries(EVENT_FIELDS)) {
      table.set(k, f);
      table.set('spanevent.' + k, f);
    }
  }
  return table;
}

const PATHS: Record<OttlContextName, Map<string, FieldDef>> = { span: pathTable('span'), spanevent: pathTable('spanevent') };

/** Paths OTTL has that this filter does not evaluate; named so the error says "not supported", not "unknown". */
const UNSUPPORTED_PATHS = ['cache', 'events', 'links', 'status', 'resource', 'instrumentation_scope', 'scope', 'span', 'spanevent'];

function isMap(v: unknown): v is Record<string, AnyValue> {
  return v !== null && typeof v === 'object' && !Array.isArray(v) && !(v instanceof Uint8Array);
}

function indexGetter(base: Getter, key: PathKey): Getter {
  const k = key.key;
  if (typeof k === 'number') {
    return (c) => {
      const v = base(c);
      if (v === null || v === undefined) return null;
      if (!Array.isArray(v)) throw new OttlEvalError(`[${k}] needs a list, got ${runtimeTypeName(v)}`);
      if (k >= v.length) throw new OttlEvalError(`index ${k} out of range for a list of ${v.length}`);
      return v[k];
    };
  }
  // Keys that name Object.prototype members must not find them: check own properties for those only.
  const inherited = k in Object.prototype;
  return (c) => {
    const v = base(c);
    if (v === null || v === undefined) return null;
    if (!isMap(v)) throw new OttlEvalError(`[${JSON.stringify(k)}] needs a map, got ${runtimeTypeName(v)}`);
    if (inherited && !Object.hasOwn(v, k)) return null;
    const r = v[k];
    return r === undefined ? null : r;
  };
}

function runtimeTypeName(v: unknown): string {
  if (v === null || v === undefined) return 'nil';
  if (typeof v === 'bigint') return 'an int';
  if (typeof v === 'number') return 'a double';
  if (typeof v === 'string') return 'a string';
  if (typeof v === 'boolean') return 'a bool';
  if (v instanceof Uint8Array) return 'bytes';
  if (Array.isArray(v)) return 'a list';
  return 'a map';
}

// --- comparison ------------------------------------------------------------------------------------

/** Go's string order (UTF-8 bytes, i.e. code points), which differs from JS's UTF-16 order above U+FFFF. */
export function compareStrings(a: string, b: string): number {
  if (a === b) return 0;
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    let x = a.charCodeAt(i);
    let y = b.charCodeAt(i);
    if (x === y) continue;
    if (x >= 0xd800 && y >= 0xd800) {
      // Surrogates (astral code points) sort after U+E000..U+FFFF in code point order: move them up.
      x = x < 0xe000 ? x + 0x2000 : x - 0x800;
      y = y < 0xe000 ? y + 0x2000 : y - 0x800;
    }
    return x < y ? -1 : 1;
  }
  return a.length - b.length;
}

function ordered(sign: number, op: CompareOp): boolean {
  switch (op) {
    case '==':
      return sign === 0;
    case '!=':
      return sign !== 0;
    case '<':
      return sign < 0;
    case '<=':
      return sign <= 0;
    case '>':
      return sign > 0;
    case '>=':
      return sign >= 0;
  }
}

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i] - b[i];
  return a.length - b.length;
}

function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== typeof b || a === null || b === null || typeof a !== 'object') return false;
  if (a instanceof Uint8Array || b instanceof Uint8Array) {
    return a instanceof Uint8Array && b instanceof Uint8Array && compareBytes(a, b) === 0;
  }
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!deepEqual(a[i], b[i])) return false;
    return true;
  }
  const ka = Object.keys(a as object);
  if (ka.length !== Object.keys(b as object).length) return false;
  for (const k of ka) {
    if (!Object.hasOwn(b as object, k) || !deepEqual((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k])) return false;
  }
  return true;
}

/** OTTL's comparison of two run-time values (see the module comment). */
export function compareValues(a: unknown, b: unknown, op: CompareOp): boolean {
  const ta = typeof a;
  const tb = typeof b;
  if (ta === 'string' && tb === 'string') return ordered(a === b ? 0 : compareStrings(a as string, b as string), op);
  if (ta === 'bigint' && tb === 'bigint') return ordered(a === b ? 0 : (a as bigint) < (b as bigint) ? -1 : 1, op);
  if ((ta === 'bigint' || ta === 'number') && (tb === 'bigint' || tb === 'number')) {
    // Mixed or double: compared as float64. NaN is unordered: only != holds.
    const x = Number(a);
    const y = Number(b);
    if (Number.isNaN(x) || Number.isNaN(y)) return op === '!=';
    return ordered(x === y ? 0 : x < y ? -1 : 1, op);
  }
  if (ta === 'boolean' && tb === 'boolean') return ordered(a === b ? 0 : a ? 1 : -1, op);
  const aNil = a === null || a === undefined;
  const bNil = b === null || b === undefined;
  if (aNil || bNil) return aNil && bNil ? op === '==' : op === '!=';
  if (a instanceof Uint8Array && b instanceof Uint8Array) return ordered(compareBytes(a, b), op);
  if (ta === 'object' && tb === 'object' && !(a instanceof Uint8Array) && !(b instanceof Uint8Array) && Array.isArray(a) === Array.isArray(b)) {
    // Maps and lists have no order; only equality is defined.
    if (op === '==') return deepEqual(a, b);
    if (op === '!=') return !deepEqual(a, b);
    return false;
  }
  return op === '!=';
}

// --- Go durations ----------------------------------------------------------------------------------

const DURATION_UNITS_NS: Record<string, bigint> = { ns: 1n, us: 1000n, µs: 1000n, μs: 1000n, ms: 1_000_000n, s: 1_000_000_000n, m: 60_000_000_000n, h: 3_600_000_000_000n };

/** Go's time.ParseDuration ("1h15m", "-1.5s", "300ms"), in nanoseconds; undefined when malformed. */
export function parseGoDuration(text: string): bigint | undefined {
  let s = text;
  let sign = 1n;
  if (s.startsWith('-') || s.startsWith('+')) {
    if (s[0] === '-') sign = -1n;
    s = s.slice(1);
  }
  if (s === '0') return 0n;
  if (s === '') return undefined;
  let total = 0n;
  const part = /^(\d*)(?:\.(\d*))?(ns|us|µs|μs|ms|s|m|h)/;
  while (s.length > 0) {
    const m = part.exec(s);
    if (!m || (m[1] === '' && (m[2] ?? '') === '')) return undefined;
    const unit = DURATION_UNITS_NS[m[3]];
    total += BigInt(m[1] || '0') * unit;
    if (m[2]) total += (BigInt(m[2]) * unit) / 10n ** BigInt(m[2].length);
    s = s.slice(m[0].length);
  }
  return BigInt.asIntN(64, sign * total);
}

// --- compiler --------------------------------------------------------------------------------------

function constant(ty: Ty, value: unknown, column: number): Value {
  return { ty, get: () => value, column, constant: { value } };
}

function fail(message: string, column: number): never {
  throw new OttlError(message, column);
}

class Compiler {
  constructor(private readonly context: OttlContextName) {}

  /** A node in a position that needs true or false (the condition itself, operands of and/or/not). */
  bool(node: Node): Condition {
    switch (node.kind) {
      case 'group':
        return this.bool(node.inner);
      case 'bool': {
        const v = node.value;
        return () => v;
      }
      case 'not': {
        const inner = this.bool(node.operand);
        return (c) => !inner(c);
      }
      case 'and':
      case 'or': {
        const ops = node.operands.map((o) => this.bool(o));
        if (node.kind === 'and') {
          if (ops.length === 2) {
            const [a, b] = ops;
            return (c) => a(c) && b(c);
          }
          return (c) => {
            for (let i = 0; i < ops.length; i++) if (!ops[i](c)) return false;
            return true;
          };
        }
        if (ops.length === 2) {
          const [a, b] = ops;
          return (c) => a(c) || b(c);
        }
        return (c) => {
          for (let i = 0; i < ops.length; i++) if (ops[i](c)) return true;
          return false;
        };
      }
      case 'compare':
        return this.compare(node.op, this.value(node.left), this.value(node.right), node.column);
      case 'call': {
        const v = this.call(node);
        if (v.ty !== 'bool') fail(`${node.name}(...) returns ${TYPE_NAMES[v.ty]}, not a condition; compare it with a value`, node.column);
        const get = v.get;
        return (c) => get(c) === true;
      }
      case 'path':
        return fail(`a path is not a condition; compare it with a value, e.g. ${pathText(node)} == true`, node.column);
      default:
        return fail(`${describeNode(node)} is not a condition; compare it with a value`, node.column);
    }
  }

  /** A node in a position that needs a value. */
  private value(node: Node): Value {
    switch (node.kind) {
      case 'string':
        return constant('string', node.value, node.column);
      case 'int':
        return constant('int', node.value, node.column);
      case 'float':
        return constant('float', node.value, node.column);
      case 'bool':
        return constant('bool', node.value, node.column);
      case 'nil':
        return constant('nil', null, node.column);
      case 'bytes':
        return constant('bytes', node.value, node.column);
      case 'enum': {
        const v = ENUMS[node.name];
        if (v === undefined) fail(`unknown enum ${node.name}${didYouMean(node.name, Object.keys(ENUMS))}`, node.column);
        return constant('int', v, node.column);
      }
      case 'path':
        return this.path(node);
      case 'call':
        return this.call(node);
      case 'math':
        return this.math(node.op, this.value(node.left), this.value(node.right), node.column);
      case 'group':
        return this.value(node.inner);
      default:
        return fail(`${describeNode(node)} cannot be used as a value`, node.column);
    }
  }

  private path(node: Extract<Node, { kind: 'path' }>): Value {
    const name = node.fields.join('.');
    const table = PATHS[this.context];
    const def = table.get(name);
    if (def === undefined) {
      if (UNSUPPORTED_PATHS.includes(name) || name.startsWith('cache')) {
        fail(`path ${name} is not supported by this filter`, node.column);
      }
      fail(`unknown path ${name} in the ${this.context} context${didYouMean(name, table.keys())}`, node.column);
    }
    if (node.keys.length === 0) return { ty: def.ty, get: def.get, column: node.column };
    const map = def.map;
    if (map === undefined) fail(`${name} cannot be indexed with [...]`, node.keys[0].column);
    const first = node.keys[0].key;
    if (typeof first !== 'string') fail(`${name} is a map: index it with a string key`, node.keys[0].column);
    // The first lookup is on an attribute map, which always exists: no type check needed.
    let get: Getter =
      first in Object.prototype
        ? (c) => {
            const m = map(c);
            return Object.hasOwn(m, first) ? m[first] : null;
          }
        : (c) => {
            const v = map(c)[first];
            return v === undefined ? null : v;
          };
    for (let i = 1; i < node.keys.length; i++) get = indexGetter(get, node.keys[i]);
    return { ty: def.ty, get, column: node.column };
  }

  private call(node: Extract<Node, { kind: 'call' }>): Value {
    const args = node.args;
    const arity = (n: number) => {
      if (args.length !== n) fail(`${node.name} takes ${n} argument${n === 1 ? '' : 's'}, got ${args.length}`, node.column);
    };
    switch (node.name) {
      case 'IsMatch': {
        arity(2);
        const target = this.value(args[0]);
        const pat = args[1];
        if (pat.kind !== 'string') fail('the pattern of IsMatch must be a string literal', pat.column);
        let pattern;
        try {
          pattern = compileSafePattern((pat as { value: string }).value);
        } catch (e) {
          fail((e as Error).message, pat.column);
        }
        if (OPAQUE.has(target.ty) && target.ty !== 'traceid' && target.ty !== 'spanid') {
          fail(`IsMatch needs a string-like target, got ${TYPE_NAMES[target.ty]}`, target.column);
        }
        const get = target.get;
        const re = pattern!;
        if (target.ty === 'string' || target.ty === 'traceid' || target.ty === 'spanid') {
          return { ty: 'bool', get: (c) => re.test(get(c) as string), column: node.column };
        }
        return {
          ty: 'bool',
          get: (c) => {
            const v = get(c);
            if (v === null || v === undefined) return false;
            return re.test(typeof v === 'string' ? v : valueAsString(v as AnyValue));
          },
          column: node.column,
        };
      }
      case 'Duration': {
        arity(1);
        const arg = this.value(args[0]);
        if (arg.ty !== 'string' && arg.ty !== 'any') fail(`Duration needs a string such as "1.5s", got ${TYPE_NAMES[arg.ty]}`, arg.column);
        if (arg.constant) {
          const ns = parseGoDuration(arg.constant.value as string);
          if (ns === undefined) fail(`invalid duration ${JSON.stringify(arg.constant.value)} (Go syntax: "300ms", "1.5h", "2h45m")`, arg.column);
          return constant('duration', ns, node.column);
        }
        const get = arg.get;
        return {
          ty: 'duration',
          get: (c) => {
            const v = get(c);
            const ns = typeof v === 'string' ? parseGoDuration(v) : undefined;
            if (ns === undefined) throw new OttlEvalError(`Duration: ${runtimeTypeName(v)} is not a duration string`);
            return ns;
          },
          column: node.column,
        };
      }
      case 'Nanoseconds': {
        arity(1);
        const arg = this.value(args[0]);
        if (arg.ty !== 'duration') fail(`Nanoseconds needs a duration, got ${TYPE_NAMES[arg.ty]}`, arg.column);
        return { ...arg, ty: 'int', column: node.column };
      }
      case 'TraceID':
      case 'SpanID': {
        arity(1);
        const arg = args[0];
        const size = node.name === 'TraceID' ? 16 : 8;
        if (arg.kind !== 'bytes' || arg.value.length !== size) fail(`${node.name} needs a ${size}-byte literal such as 0x${'00'.repeat(size)}`, arg.column);
        const hex = Buffer.from((arg as { value: Uint8Array }).value).toString('hex');
        return constant(node.name === 'TraceID' ? 'traceid' : 'spanid', hex, node.column);
      }
      default:
        return fail(`converter ${node.name} is not supported (supported: IsMatch, Duration, Nanoseconds, TraceID, SpanID)`, node.column);
    }
  }

  private math(op: MathOp, l: Value, r: Value, column: number): Value {
    const result = mathType(op, l.ty, r.ty);
    if (typeof result === 'object') fail(result.error, column);
    const a = l.get;
    const b = r.get;
    const ty = result as Ty;
    let get: Getter;
    if (ty === 'any') {
      get = (c) => dynamicMath(op, a(c), b(c));
    } else if (ty === 'float') {
      get = (c) => floatMath(op, a(c) as number, b(c) as number);
    } else {
      // int, time and duration are all bigint nanoseconds or int64s.
      get = (c) => intMath(op, a(c) as bigint, b(c) as bigint);
    }
    if (l.constant && r.constant) {
      let folded: unknown;
      try {
        folded = get(undefined as unknown as EvalContext);
      } catch (e) {
        fail((e as Error).message, column);
      }
      return constant(ty, folded, column);
    }
    return { ty, get, column };
  }

  private compare(op: CompareOp, l: Value, r: Value, column: number): Condition {
    if (OPAQUE.has(l.ty) || OPAQUE.has(r.ty)) {
      if (l.ty !== r.ty) {
        const hint = l.ty === 'traceid' || r.ty === 'traceid' ? ' (use trace_id.string, or TraceID(0x...))' : l.ty === 'spanid' || r.ty === 'spanid' ? ' (use span_id.string, or SpanID(0x...))' : l.ty === 'duration' || r.ty === 'duration' ? ' (use Nanoseconds(...) for an int)' : '';
        fail(`${TYPE_NAMES[l.ty]} is never equal to ${TYPE_NAMES[r.ty]}${hint}`, column);
      }
      if ((l.ty === 'traceid' || l.ty === 'spanid') && op !== '==' && op !== '!=') fail(`ids can only be compared with == and !=`, column);
    } else if (l.ty !== 'any' && r.ty !== 'any' && l.ty !== r.ty && !(isNumeric(l.ty) && isNumeric(r.ty))) {
      // Never true (or, for !=, always true) in OTTL: almost certainly a mistake in the condition.
      fail(`${TYPE_NAMES[l.ty]} is never equal to ${TYPE_NAMES[r.ty]}, so this comparison is constant`, column);
    }
    const test = fastComparison(op, l, r) ?? fastComparison(flip(op), r, l) ?? genericComparison(op, l.get, r.get);
    if (l.constant && r.constant) {
      const v = test(undefined as unknown as EvalContext);
      return () => v;
    }
    return test;
  }
}

function flip(op: CompareOp): CompareOp {
  return op === '<' ? '>' : op === '>' ? '<' : op === '<=' ? '>=' : op === '>=' ? '<=' : op;
}

function genericComparison(op: CompareOp, a: Getter, b: Getter): Condition {
  return (c) => compareValues(a(c), b(c), op);
}

/** Types whose run-time values are bigints: compared with JS operators, exactly. */
const BIGINT_TYPES = new Set<Ty>(['int', 'time', 'duration']);

/**
 * A comparison without the generic type dispatch, where the types allow it (the common conditions:
 * a path against a literal). Undefined when only the generic comparison is correct.
 */
function fastComparison(op: CompareOp, l: Value, r: Value): Condition | undefined {
  const a = l.get;
  const equality = op === '==' || op === '!=';
  if (r.constant !== undefined) {
    const lit = r.constant.value;
    // A string or bool literal equals exactly the identical primitive: any other value (any type) is "not equal".
    const strict = equality && (typeof lit === 'string' || typeof lit === 'boolean' || (typeof lit === 'bigint' && BIGINT_TYPES.has(l.ty)));
    if (strict) return op === '==' ? (c) => a(c) === lit : (c) => a(c) !== lit;
    if (typeof lit === 'bigint' && BIGINT_TYPES.has(l.ty)) {
      const n = lit;
      switch (op) {
        case '<':
          return (c) => (a(c) as bigint) < n;
        case '<=':
          return (c) => (a(c) as bigint) <= n;
        case '>':
          return (c) => (a(c) as bigint) > n;
        case '>=':
          return (c) => (a(c) as bigint) >= n;
      }
    }
    return undefined;
  }
  if (l.constant !== undefined) return undefined;
  const b = r.get;
  const same = l.ty === r.ty;
  if (same && equality && (l.ty === 'string' || l.ty === 'bool' || l.ty === 'traceid' || l.ty === 'spanid' || BIGINT_TYPES.has(l.ty))) {
    return op === '==' ? (c) => a(c) === b(c) : (c) => a(c) !== b(c);
  }
  if (same && BIGINT_TYPES.has(l.ty)) {
    switch (op) {
      case '<':
        return (c) => (a(c) as bigint) < (b(c) as bigint);
      case '<=':
        return (c) => (a(c) as bigint) <= (b(c) as bigint);
      case '>':
        return (c) => (a(c) as bigint) > (b(c) as bigint);
      case '>=':
        return (c) => (a(c) as bigint) >= (b(c) as bigint);
    }
  }
  return undefined;
}

function isNumeric(t: Ty): boolean {
  return t === 'int' || t === 'float';
}

/** The static result type of `l op r`, or why it is refused. `any` defers the check to run time. */
function mathType(op: MathOp, l: Ty, r: Ty): Ty | { error: string } {
  const additive = op === '+' || op === '-';
  if (l === 'time' || l === 'duration' || r === 'time' || r === 'duration') {
    if (!additive) return { error: `${op} is not defined on times and durations (only + and -)` };
    if (l === 'time' && r === 'time' && op === '-') return 'duration';
    if (l === 'time' && r === 'duration') return 'time';
    if (l === 'duration' && r === 'time' && op === '+') return 'time';
    if (l === 'duration' && r === 'duration') return 'duration';
    return { error: `cannot compute ${TYPE_NAMES[l]} ${op} ${TYPE_NAMES[r]}` };
  }
  for (const t of [l, r]) {
    if (t !== 'int' && t !== 'float' && t !== 'any') return { error: `arithmetic needs ints or doubles, got ${TYPE_NAMES[t]}` };
  }
  if (l === 'any' || r === 'any') return 'any';
  if (l !== r) return { error: 'arithmetic cannot mix ints and doubles' };
  return l;
}

function intMath(op: MathOp, a: bigint, b: bigint): bigint {
  switch (op) {
    case '+':
      return BigInt.asIntN(64, a + b);
    case '-':
      return BigInt.asIntN(64, a - b);
    case '*':
      return BigInt.asIntN(64, a * b);
    case '/':
      if (b === 0n) throw new OttlEvalError('division by zero');
      return BigInt.asIntN(64, a / b);
  }
}

function floatMath(op: MathOp, a: number, b: number): number {
  switch (op) {
    case '+':
      return a + b;
    case '-':
      return a - b;
    case '*':
      return a * b;
    case '/':
      if (b === 0) throw new OttlEvalError('division by zero');
      return a / b;
  }
}

function dynamicMath(op: MathOp, a: unknown, b: unknown): bigint | number {
  if (typeof a === 'bigint' && typeof b === 'bigint') return intMath(op, a, b);
  if (typeof a === 'number' && typeof b === 'number') return floatMath(op, a, b);
  throw new OttlEvalError(`cannot compute ${runtimeTypeName(a)} ${op} ${runtimeTypeName(b)}`);
}

function pathText(node: Extract<Node, { kind: 'path' }>): string {
  return node.fields.join('.') + node.keys.map((k) => `[${JSON.stringify(k.key)}]`).join('');
}

function describeNode(node: Node): string {
  switch (node.kind) {
    case 'string':
    case 'int':
    case 'float':
    case 'bytes':
    case 'nil':
      return `a ${node.kind === 'nil' ? 'nil' : node.kind} literal`;
    case 'enum':
      return `the enum ${node.name}`;
    case 'math':
      return 'an arithmetic expression';
    case 'compare':
      return 'a comparison';
    case 'and':
    case 'or':
    case 'not':
      return `a boolean expression (${node.kind})`;
    default:
      return node.kind;
  }
}

/**
 * Parses and compiles one condition for a context. Throws {@link OttlError} (message and 1-based column)
 * when it does not parse or uses something this filter does not support.
 */
export function compileCondition(source: string, context: OttlContextName): Condition {
  return new Compiler(context).bool(parseCondition(source));
}
