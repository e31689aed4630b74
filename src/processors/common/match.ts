/**
 * Which spans a processor acts on: the OpenTelemetry Collector's `include` / `exclude` "match properties"
 * (contrib `internal/filter/filterspan`, `filtermatcher`, `filterset`), so that a Collector config selects
 * the same spans here. Used by `attributes` and by the legacy `spans: include/exclude` form of `filter`.
 *
 * Semantics (as the Collector's):
 * - a span is acted on when it matches `include` (if given) and does not match `exclude` (if given);
 * - within one block every property that is given must match (AND); an empty list is "not given";
 *   `services`, `span_names` and `span_kinds` match when any entry matches;
 * - `services` compares the resource's `service.name` (`<nil-service-name>` when the resource has none);
 * - `span_kinds` compares the kind spelled as the OTLP enum: `SPAN_KIND_SERVER`, `SPAN_KIND_CLIENT`, ...;
 * - `attributes` / `resources`: every listed key must be present; with a `value`, strict compares type
 *   and value (an int 200 never equals the string "200"), regexp matches the value's text (strings,
 *   booleans, ints and doubles; other types never match);
 * - `libraries`: every entry must match the span's instrumentation scope name (and version, if given);
 * - regexp patterns are RE2 (Go) syntax and unanchored: anchor with `^...$`.
 */
import { s, Schema, type Context, type Infer, type Path } from '../../config/schema.js';
import { setOwn, toBase64 } from '../../codecs/json-text.js';
import { SERVICE_NAME, type AnyValue, type Attributes, type Span } from '../../model/span.js';
import { compileSafePattern, type SafePattern } from './safe-regex.js';

/** A value written in YAML: scalars, lists and maps of them. Ints become `bigint`, other numbers doubles. */
export type ConfigValue = string | boolean | number | ConfigValue[] | { [key: string]: ConfigValue };

/**
 * Accepts any YAML value (the Collector's `value: any`). Its type is kept, so `value: 200` is an int and
 * `value: "200"` a string; {@link configValueToAnyValue} turns it into a span attribute value.
 */
export class ConfigValueSchema extends Schema<ConfigValue> {
  check(value: unknown, path: Path, ctx: Context): ConfigValue | undefined {
    const problem = invalidConfigValue(value, 0);
    if (problem !== undefined) {
      ctx.issues.push({ path, message: problem });
      return undefined;
    }
    return value as ConfigValue;
  }
  typeName(): string {
    return 'any value';
  }
  jsonSchema(): Record<string, unknown> {
    return {};
  }
}

function invalidConfigValue(v: unknown, depth: number): string | undefined {
  if (depth > 32) return 'value is nested too deeply';
  if (typeof v === 'string' || typeof v === 'boolean') return undefined;
  if (typeof v === 'number') return Number.isFinite(v) ? undefined : `expected a finite number, got ${v}`;
  if (Array.isArray(v)) {
    for (const item of v) {
      const p = invalidConfigValue(item, depth + 1);
      if (p !== undefined) return p;
    }
    return undefined;
  }
  if (v !== null && typeof v === 'object') {
    for (const item of Object.values(v)) {
      const p = invalidConfigValue(item, depth + 1);
      if (p !== undefined) return p;
    }
    return undefined;
  }
  return `expected a string, number, boolean, list or map, got ${v === null ? 'null' : typeof v}`;
}

/**
 * The attribute value a config value stands for. YAML integers become int64 (`bigint`), other numbers
 * doubles, as the Collector's `pcommon.Value.FromRaw` types them. (A YAML `1.0` reaches us as the number
 * 1 and becomes an int: the YAML text is gone by then.)
 */
export function configValueToAnyValue(v: ConfigValue): AnyValue {
  if (typeof v === 'number') return Number.isSafeInteger(v) ? BigInt(v) : v;
  if (Array.isArray(v)) return v.map(configValueToAnyValue);
  if (typeof v === 'object') {
    const out: Record<string, AnyValue> = {};
    for (const k of Object.keys(v)) setOwn(out, k, configValueToAnyValue(v[k]));
    return out;
  }
  return v;
}

/** The bound on `regexp.cachemaxnumentries: 0`, which the Collector leaves unbounded. */
const DEFAULT_CACHE_ENTRIES = 10_000;

const attributeMatchSchema = s.object({
  key: s.string().nonEmpty().describe('Attribute key that must be present.'),
  value: new ConfigValueSchema()
    .optional()
    .describe('With `strict`: the value, compared with its type; with `regexp`: a pattern for the value as text. Absent: the key alone must be present.'),
});

/**
 * A new schema for one `include` or `exclude` key. Schemas are mutable (`optional()`, `describe()`), so each
 * key gets its own instance.
 */
export function newMatchPropertiesSchema() {
  const schema = s.object({
    match_type: s
      .enum('strict', 'regexp')
      .optional()
      .describe('How the names and values below are compared: `strict` (equal) or `regexp` (RE2 pattern, unanchored). Required unless only attribute/resource keys are listed.'),
    regexp: s
      .object({
        cacheenabled: s.boolean().default(false).describe('Remember the result of each distinct input (with `regexp`).'),
        cachemaxnumentries: s
          .int()
          .range(0)
          .default(0)
          .describe(`Inputs remembered at most per pattern (0: ${DEFAULT_CACHE_ENTRIES}, the cache is always bounded).`),
      })
      .describe('Options for `match_type: regexp`.'),
    services: s.array(s.string()).optional().describe("Resource `service.name` values; any may match."),
    span_names: s.array(s.string()).optional().describe('Span names; any may match.'),
    span_kinds: s
      .array(s.string())
      .optional()
      .describe('Span kinds as the OTLP enum spells them: `SPAN_KIND_SERVER`, `SPAN_KIND_CLIENT`, `SPAN_KIND_PRODUCER`, `SPAN_KIND_CONSUMER`, `SPAN_KIND_INTERNAL`, `SPAN_KIND_UNSPECIFIED`; any may match.'),
    attributes: s.array(attributeMatchSchema).optional().describe('Span attributes that must all match.'),
    resources: s.array(attributeMatchSchema).optional().describe('Resource attributes that must all match.'),
    libraries: s
      .array(
        s.object({
          name: s.string().describe('Instrumentation scope name.'),
          version: s.string().optional().describe('Instrumentation scope version; absent: any.'),
        }),
      )
      .optional()
      .describe('Instrumentation scopes; every entry must match.'),
  }).describe("Span selection (the Collector's match properties).");
  // Every key has a default or is optional, which would make the block default to `{}` when absent: an
  // absent `include` must stay absent.
  schema.hasDefault = false;
  return schema;
}

/** The schema of `include` / `exclude`, shared by the components that select spans this way. */
export const matchPropertiesSchema = newMatchPropertiesSchema();

export type MatchProperties = Infer<typeof matchPropertiesSchema>;

/** Span kinds by their OTLP enum names, indexed by `SpanKind`. */
export const SPAN_KIND_NAMES: readonly string[] = [
  'SPAN_KIND_UNSPECIFIED',
  'SPAN_KIND_INTERNAL',
  'SPAN_KIND_SERVER',
  'SPAN_KIND_CLIENT',
  'SPAN_KIND_PRODUCER',
  'SPAN_KIND_CONSUMER',
];

/** The Collector's stand-in for a resource without `service.name`, so `services` can match it. */
export const NIL_SERVICE_NAME = '<nil-service-name>';

type Problem = { path: Path; message: string };

/**
 * Checks one `include` / `exclude` block as the Collector does, and what it would only find out at run
 * time: every pattern compiles (RE2), strict span kinds are real kind names. `path` is the block's path
 * relative to the component config (e.g. `['include']`).
 */
export function validateMatchProperties(mp: MatchProperties, path: Path): Problem[] {
  const problems: Problem[] = [];
  const given = (l: readonly unknown[] | undefined): boolean => l !== undefined && l.length > 0;
  if (!given(mp.services) && !given(mp.span_names) && !given(mp.span_kinds) && !given(mp.attributes) && !given(mp.resources) && !given(mp.libraries)) {
    problems.push({
      path,
      message: 'at least one of "services", "span_names", "span_kinds", "attributes", "resources" or "libraries" must be given',
    });
    return problems;
  }
  const needsType =
    given(mp.services) ||
    given(mp.span_names) ||
    given(mp.span_kinds) ||
    given(mp.libraries) ||
    (mp.attributes ?? []).some((a) => a.value !== undefined) ||
    (mp.resources ?? []).some((a) => a.value !== undefined);
  if (mp.match_type === undefined) {
    if (needsType) problems.push({ path: [...path, 'match_type'], message: 'is required (`strict` or `regexp`) to compare names or values' });
    return problems;
  }
  const checkPatterns = (list: readonly string[] | undefined, key: string): void => {
    if (mp.match_type !== 'regexp' || list === undefined) return;
    list.forEach((p, i) => {
      const problem = patternProblem(p);
      if (problem !== undefined) problems.push({ path: [...path, key, i], message: problem });
    });
  };
  checkPatterns(mp.services, 'services');
  checkPatterns(mp.span_names, 'span_names');
  checkPatterns(mp.span_kinds, 'span_kinds');
  if (mp.match_type === 'strict' && mp.span_kinds !== undefined) {
    mp.span_kinds.forEach((k, i) => {
      if (!SPAN_KIND_NAMES.includes(k)) {
        problems.push({ path: [...path, 'span_kinds', i], message: `unknown span kind ${JSON.stringify(k)}; use one of ${SPAN_KIND_NAMES.join(', ')}` });
      }
    });
  }
  for (const key of ['attributes', 'resources'] as const) {
    (mp[key] ?? []).forEach((a, i) => {
      if (a.value === undefined || mp.match_type !== 'regexp') return;
      if (typeof a.value !== 'string') {
        problems.push({ path: [...path, key, i, 'value'], message: `match_type regexp for ${JSON.stringify(a.key)} only supports a string pattern` });
        return;
      }
      const problem = patternProblem(a.value);
      if (problem !== undefined) problems.push({ path: [...path, key, i, 'value'], message: problem });
    });
  }
  (mp.libraries ?? []).forEach((l, i) => {
    if (mp.match_type !== 'regexp') return;
    const nameProblem = patternProblem(l.name);
    if (nameProblem !== undefined) problems.push({ path: [...path, 'libraries', i, 'name'], message: nameProblem });
    const versionProblem = l.version === undefined ? undefined : patternProblem(l.version);
    if (versionProblem !== undefined) problems.push({ path: [...path, 'libraries', i, 'version'], message: versionProblem });
  });
  return problems;
}

/** Both blocks, with paths `include...` and `exclude...` under `prefix`. */
export function validateSpanMatch(include: MatchProperties | undefined, exclude: MatchProperties | undefined, prefix: Path = []): Problem[] {
  return [
    ...(include === undefined ? [] : validateMatchProperties(include, [...prefix, 'include'])),
    ...(exclude === undefined ? [] : validateMatchProperties(exclude, [...prefix, 'exclude'])),
  ];
}

function patternProblem(source: string): string | undefined {
  try {
    compileSafePattern(source);
    return undefined;
  } catch (e) {
    return e instanceof Error ? e.message : String(e);
  }
}

/**
 * Compiles `include` / `exclude` once into a predicate: true when the processor should act on the span.
 * Throws an Error naming the problems when a block is invalid (the config loader reports them earlier,
 * with positions, through {@link validateSpanMatch}).
 */
export function compileSpanMatcher(include?: MatchProperties, exclude?: MatchProperties): (span: Span) => boolean {
  const problems = validateSpanMatch(include, exclude);
  if (problems.length > 0) throw new Error(problems.map((p) => `${p.path.join('.')}: ${p.message}`).join('; '));
  const inc = include === undefined ? undefined : new PropertiesMatcher(include);
  const exc = exclude === undefined ? undefined : new PropertiesMatcher(exclude);
  if (inc === undefined && exc === undefined) return () => true;
  if (exc === undefined) return (span) => inc!.matches(span);
  if (inc === undefined) return (span) => !exc.matches(span);
  return (span) => inc.matches(span) && !exc.matches(span);
}

/** A set of names compared strictly or by patterns (the Collector's `filterset`). */
interface NameSet {
  matches(name: string): boolean;
}

class StrictSet implements NameSet {
  private readonly names: Set<string>;
  constructor(names: readonly string[]) {
    this.names = new Set(names);
  }
  matches(name: string): boolean {
    return this.names.has(name);
  }
}

class PatternSet implements NameSet {
  private readonly patterns: SafePattern[];
  /** Bounded: when full, the oldest entry goes (Map keeps insertion order). */
  private readonly cache: Map<string, boolean> | undefined;
  constructor(
    sources: readonly string[],
    private readonly cacheLimit: number,
  ) {
    this.patterns = sources.map(compileSafePattern);
    this.cache = cacheLimit > 0 ? new Map() : undefined;
  }
  matches(name: string): boolean {
    const cache = this.cache;
    if (cache !== undefined) {
      const hit = cache.get(name);
      if (hit !== undefined) return hit;
    }
    let result = false;
    for (let i = 0; i < this.patterns.length; i++) {
      if (this.patterns[i].test(name)) {
        result = true;
        break;
      }
    }
    if (cache !== undefined) {
      if (cache.size >= this.cacheLimit) cache.delete(cache.keys().next().value as string);
      cache.set(name, result);
    }
    return result;
  }
}

interface AttributeCondition {
  key: string;
  /** Strict: the value to equal. */
  value: AnyValue | undefined;
  /** Regexp: the pattern for the value's text. */
  pattern: NameSet | undefined;
}

interface LibraryCondition {
  name: NameSet;
  version: NameSet | undefined;
}

/** One compiled `include` or `exclude` block. */
class PropertiesMatcher {
  private readonly services: NameSet | undefined;
  private readonly names: NameSet | undefined;
  /** Indexed by SpanKind: whether `span_kinds` accepts it (decided once here, not per span). */
  private readonly kinds: readonly boolean[] | undefined;
  private readonly attributes: AttributeCondition[];
  private readonly resources: AttributeCondition[];
  private readonly libraries: LibraryCondition[];

  constructor(mp: MatchProperties) {
    const regexp = mp.match_type === 'regexp';
    const cacheLimit = regexp && mp.regexp.cacheenabled ? mp.regexp.cachemaxnumentries || DEFAULT_CACHE_ENTRIES : 0;
    const set = (list: readonly string[]): NameSet => (regexp ? new PatternSet(list, cacheLimit) : new StrictSet(list));
    const nonEmpty = (list: readonly string[] | undefined): list is readonly string[] => list !== undefined && list.length > 0;
    this.services = nonEmpty(mp.services) ? set(mp.services) : undefined;
    this.names = nonEmpty(mp.span_names) ? set(mp.span_names) : undefined;
    if (nonEmpty(mp.span_kinds)) {
      const kindSet = set(mp.span_kinds);
      this.kinds = SPAN_KIND_NAMES.map((n) => kindSet.matches(n));
    }
    const conditions = (list: MatchProperties['attributes']): AttributeCondition[] =>
      (list ?? []).map((a) => ({
        key: a.key,
        value: a.value !== undefined && !regexp ? configValueToAnyValue(a.value) : undefined,
        pattern: a.value !== undefined && regexp ? set([a.value as string]) : undefined,
      }));
    this.attributes = conditions(mp.attributes);
    this.resources = conditions(mp.resources);
    this.libraries = (mp.libraries ?? []).map((l) => ({
      name: set([l.name]),
      version: l.version === undefined ? undefined : set([l.version]),
    }));
  }

  matches(span: Span): boolean {
    if (this.services !== undefined && !this.services.matches(serviceNameFor(span.resource.attributes))) return false;
    if (this.names !== undefined && !this.names.matches(span.name)) return false;
    if (this.kinds !== undefined && this.kinds[span.kind] !== true) return false;
    for (let i = 0; i < this.libraries.length; i++) {
      const l = this.libraries[i];
      if (!l.name.matches(span.scope.name)) return false;
      if (l.version !== undefined && !l.version.matches(span.scope.version)) return false;
    }
    if (this.resources.length > 0 && !attributesMatch(this.resources, span.resource.attributes)) return false;
    return this.attributes.length === 0 || attributesMatch(this.attributes, span.attributes);
  }
}

function serviceNameFor(attrs: Attributes): string {
  if (!Object.hasOwn(attrs, SERVICE_NAME)) return NIL_SERVICE_NAME;
  const v = attrs[SERVICE_NAME];
  return typeof v === 'string' ? v : valueAsString(v);
}

function attributesMatch(conditions: AttributeCondition[], attrs: Attributes): boolean {
  for (let i = 0; i < conditions.length; i++) {
    const c = conditions[i];
    if (!Object.hasOwn(attrs, c.key)) return false;
    const v = attrs[c.key];
    if (c.pattern !== undefined) {
      const text = scalarText(v);
      if (text === undefined || !c.pattern.matches(text)) return false;
    } else if (c.value !== undefined && !sameValue(c.value, v)) {
      return false;
    }
  }
  return true;
}

/**
 * The text a regexp compares for an attribute value, doubles written by `formatDouble`; undefined for
 * the types that have no scalar text (bytes, lists, maps, the empty value).
 */
function scalarText(v: AnyValue, formatDouble: (f: number) => string = formatFloatPlain): string | undefined {
  switch (typeof v) {
    case 'string':
      return v;
    case 'boolean':
      return v ? 'true' : 'false';
    case 'bigint':
      return v.toString();
    case 'number':
      return formatDouble(v);
    default:
      return undefined;
  }
}

/** Equal type and value (the Collector's strict attribute match); lists, maps and bytes compare deeply. */
export function sameValue(a: AnyValue, b: AnyValue): boolean {
  if (a === b) return typeof a !== 'number' || !Number.isNaN(a);
  if (a === null || b === null || typeof a !== 'object' || typeof b !== 'object') return false;
  if (a instanceof Uint8Array || b instanceof Uint8Array) {
    if (!(a instanceof Uint8Array && b instanceof Uint8Array) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
    return true;
  }
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!(Array.isArray(a) && Array.isArray(b)) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!sameValue(a[i], b[i])) return false;
    return true;
  }
  const ka = Object.keys(a);
  if (ka.length !== Object.keys(b).length) return false;
  for (const k of ka) if (!Object.hasOwn(b, k) || !sameValue(a[k], b[k])) return false;
  return true;
}

/**
 * A double as Go's `strconv.FormatFloat(f, 'f', -1, 64)` writes it: the shortest digits that read back
 * exactly, never an exponent (1e21 is "1000000000000000000000").
 */
export function formatFloatPlain(f: number): string {
  if (Number.isNaN(f)) return 'NaN';
  if (f === Infinity) return '+Inf';
  if (f === -Infinity) return '-Inf';
  if (f === 0) return Object.is(f, -0) ? '-0' : '0';
  const text = String(f);
  const e = text.indexOf('e');
  if (e < 0) return text;
  const negative = text.startsWith('-');
  const mantissa = text.slice(negative ? 1 : 0, e);
  const exponent = Number(text.slice(e + 1));
  const dot = mantissa.indexOf('.');
  const digits = dot < 0 ? mantissa : mantissa.slice(0, dot) + mantissa.slice(dot + 1);
  const pointAt = (dot < 0 ? mantissa.length : dot) + exponent;
  let out: string;
  if (pointAt <= 0) out = '0.' + '0'.repeat(-pointAt) + digits;
  else if (pointAt >= digits.length) out = digits + '0'.repeat(pointAt - digits.length);
  else out = digits.slice(0, pointAt) + '.' + digits.slice(pointAt);
  return negative ? '-' + out : out;
}

/**
 * Any value as text, as the Collector's `pcommon.Value.AsString` writes it: doubles like JSON numbers,
 * bytes as base64, lists and maps as JSON (map keys sorted), the empty value as "".
 */
export function valueAsString(v: AnyValue): string {
  const scalar = scalarText(v, formatFloatJson);
  if (scalar !== undefined) return scalar;
  if (v === null) return '';
  if (v instanceof Uint8Array) return toBase64(v);
  return jsonText(v);
}

/**
 * A double as the Collector writes it in `AsString`: ES6 number formatting (what JSON encoders use), except
 * that non-finite values, which JSON cannot hold, read `json: unsupported value: NaN` as Go's encoder says.
 */
function formatFloatJson(f: number): string {
  if (!Number.isFinite(f)) return `json: unsupported value: ${formatFloatPlain(f)}`;
  if (Object.is(f, -0)) return '-0';
  return String(f);
}

function jsonText(v: AnyValue): string {
  switch (typeof v) {
    case 'string':
      return JSON.stringify(v);
    case 'boolean':
      return v ? 'true' : 'false';
    case 'bigint':
      return v.toString();
    case 'number':
      // Go's encoder fails on NaN/Inf inside a list or map; null is the nearest JSON can say.
      return Number.isFinite(v) ? formatFloatJson(v) : 'null';
    default:
      if (v === null) return 'null';
      if (v instanceof Uint8Array) return JSON.stringify(valueAsString(v));
      if (Array.isArray(v)) return '[' + v.map(jsonText).join(',') + ']';
      return '{' + Object.keys(v).sort().map((k) => JSON.stringify(k) + ':' + jsonText(v[k])).join(',') + '}';
  }
}
