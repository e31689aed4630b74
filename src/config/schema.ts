/**
 * A small schema language for component configs. One schema is the single source of truth for
 * validation (every error, with its path), defaults, the TypeScript type (`Infer<typeof schema>`), the
 * JSON Schema for editors and the component reference in the README.
 */

export type Path = readonly (string | number)[];

export interface Issue {
  path: Path;
  message: string;
}

export interface Context {
  issues: Issue[];
}

export interface SchemaDoc {
  type: string;
  description: string;
  default?: unknown;
  optional?: boolean;
}

export abstract class Schema<T> {
  /** Phantom field that carries the output type. */
  declare readonly _type: T;
  description = '';
  defaultValue: T | undefined = undefined;
  hasDefault = false;
  isOptional = false;

  /** Validates and normalizes `value`; returns `undefined` after reporting an issue. */
  abstract check(value: unknown, path: Path, ctx: Context): T | undefined;

  /** Human-readable type, as shown in error messages and the reference. */
  abstract typeName(): string;

  abstract jsonSchema(): Record<string, unknown>;

  describe(text: string): this {
    this.description = text;
    return this;
  }

  default(value: T): this {
    this.defaultValue = value;
    this.hasDefault = true;
    return this;
  }

  optional(): Schema<T | undefined> {
    this.isOptional = true;
    return this as Schema<T | undefined>;
  }
}

export type Infer<S> = S extends Schema<infer T> ? T : never;

function describeValue(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a map';
  if (typeof v === 'string') return `string ${JSON.stringify(v)}`;
  return `${typeof v} ${String(v)}`;
}

export class StringSchema extends Schema<string> {
  private pattern: RegExp | undefined;
  private patternHint = '';
  private minLength = 0;
  constructor() {
    super();
  }
  matches(pattern: RegExp, hint: string): this {
    this.pattern = pattern;
    this.patternHint = hint;
    return this;
  }
  nonEmpty(): this {
    this.minLength = 1;
    return this;
  }
  check(value: unknown, path: Path, ctx: Context): string | undefined {
    if (typeof value !== 'string') {
      ctx.issues.push({ path, message: `expected a string, got ${describeValue(value)}` });
      return undefined;
    }
    if (value.length < this.minLength) {
      ctx.issues.push({ path, message: 'must not be empty' });
      return undefined;
    }
    if (this.pattern && !this.pattern.test(value)) {
      ctx.issues.push({ path, message: `${JSON.stringify(value)} is not ${this.patternHint}` });
      return undefined;
    }
    return value;
  }
  typeName(): string {
    return this.patternHint || 'string';
  }
  jsonSchema(): Record<string, unknown> {
    return { type: 'string', ...(this.pattern ? { pattern: this.pattern.source } : {}) };
  }
}

export class NumberSchema extends Schema<number> {
  private min = -Infinity;
  private max = Infinity;
  constructor(private readonly integer: boolean) {
    super();
  }
  range(min: number, max = Infinity): this {
    this.min = min;
    this.max = max;
    return this;
  }
  check(value: unknown, path: Path, ctx: Context): number | undefined {
    if (typeof value !== 'number' || !Number.isFinite(value) || (this.integer && !Number.isInteger(value))) {
      ctx.issues.push({ path, message: `expected ${this.integer ? 'an integer' : 'a number'}, got ${describeValue(value)}` });
      return undefined;
    }
    if (value < this.min || value > this.max) {
      ctx.issues.push({ path, message: rangeMessage(value, this.min, this.max) });
      return undefined;
    }
    return value;
  }
  typeName(): string {
    const base = this.integer ? 'integer' : 'number';
    if (this.min === -Infinity && this.max === Infinity) return base;
    if (this.max === Infinity) return `${base} ≥ ${this.min}`;
    return `${base} ${this.min}..${this.max}`;
  }
  jsonSchema(): Record<string, unknown> {
    return {
      type: this.integer ? 'integer' : 'number',
      ...(this.min > -Infinity ? { minimum: this.min } : {}),
      ...(this.max < Infinity ? { maximum: this.max } : {}),
    };
  }
}

function rangeMessage(value: number, min: number, max: number): string {
  if (max === Infinity) return `must be at least ${min}, got ${value}`;
  if (min === -Infinity) return `must be at most ${max}, got ${value}`;
  return `must be between ${min} and ${max}, got ${value}`;
}

export class BooleanSchema extends Schema<boolean> {
  check(value: unknown, path: Path, ctx: Context): boolean | undefined {
    if (typeof value !== 'boolean') {
      ctx.issues.push({ path, message: `expected true or false, got ${describeValue(value)}` });
      return undefined;
    }
    return value;
  }
  typeName(): string {
    return 'boolean';
  }
  jsonSchema(): Record<string, unknown> {
    return { type: 'boolean' };
  }
}

const DURATION_UNITS: Record<string, number> = { ns: 1e-6, us: 1e-3, µs: 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
const DURATION_PART = /(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/y;

/** Parses a Go-style duration ("200ms", "1m30s", "0") into milliseconds; undefined if malformed. */
export function parseDuration(text: string): number | undefined {
  if (text === '0') return 0;
  let ms = 0;
  DURATION_PART.lastIndex = 0;
  let pos = 0;
  while (pos < text.length) {
    DURATION_PART.lastIndex = pos;
    const m = DURATION_PART.exec(text);
    if (!m) return undefined;
    ms += Number(m[1]) * DURATION_UNITS[m[2]];
    pos = DURATION_PART.lastIndex;
  }
  return text.length > 0 ? ms : undefined;
}

/** A duration in milliseconds, written in YAML as "200ms", "5s", "1m30s" (or 0). */
export class DurationSchema extends Schema<number> {
  private minMs = 0;
  atLeast(ms: number): this {
    this.minMs = ms;
    return this;
  }
  check(value: unknown, path: Path, ctx: Context): number | undefined {
    const ms = value === 0 ? 0 : typeof value === 'string' ? parseDuration(value) : undefined;
    if (ms === undefined) {
      ctx.issues.push({ path, message: `expected a duration such as "200ms", "5s" or "1m", got ${describeValue(value)}` });
      return undefined;
    }
    if (ms < this.minMs) {
      ctx.issues.push({ path, message: `must be at least ${this.minMs}ms, got ${JSON.stringify(value)}` });
      return undefined;
    }
    return ms;
  }
  typeName(): string {
    return 'duration';
  }
  jsonSchema(): Record<string, unknown> {
    return { type: ['string', 'integer'], pattern: '^(0|(\\d+(\\.\\d+)?(ns|us|µs|ms|s|m|h))+)$' };
  }
}

const SIZE_UNITS: Record<string, number> = { '': 1, b: 1, kb: 1e3, mb: 1e6, gb: 1e9, kib: 1024, mib: 1024 ** 2, gib: 1024 ** 3 };

/** A byte size, written as an integer or "512KiB", "20MiB", "1GB". */
export class ByteSizeSchema extends Schema<number> {
  check(value: unknown, path: Path, ctx: Context): number | undefined {
    let bytes: number | undefined;
    if (typeof value === 'number' && Number.isInteger(value) && value >= 0) bytes = value;
    else if (typeof value === 'string') {
      const m = /^(\d+(?:\.\d+)?)\s*([a-zA-Z]*)$/.exec(value.trim());
      const unit = m ? SIZE_UNITS[m[2].toLowerCase()] : undefined;
      if (m && unit !== undefined) bytes = Math.floor(Number(m[1]) * unit);
    }
    if (bytes === undefined) {
      ctx.issues.push({ path, message: `expected a size such as 4194304, "512KiB" or "20MiB", got ${describeValue(value)}` });
      return undefined;
    }
    if (bytes < 1) {
      ctx.issues.push({ path, message: `must be at least 1 byte, got ${JSON.stringify(value)}` });
      return undefined;
    }
    return bytes;
  }
  typeName(): string {
    return 'byte size';
  }
  jsonSchema(): Record<string, unknown> {
    return { type: ['string', 'integer'] };
  }
}

export class EnumSchema<T extends string> extends Schema<T> {
  constructor(readonly values: readonly T[]) {
    super();
  }
  check(value: unknown, path: Path, ctx: Context): T | undefined {
    if (typeof value === 'string' && (this.values as readonly string[]).includes(value)) return value as T;
    const hint = typeof value === 'string' ? didYouMean(value, this.values) : '';
    ctx.issues.push({ path, message: `must be one of ${this.values.join(', ')}; got ${describeValue(value)}${hint}` });
    return undefined;
  }
  typeName(): string {
    return this.values.map((v) => `\`${v}\``).join(' \\| ');
  }
  jsonSchema(): Record<string, unknown> {
    return { enum: [...this.values] };
  }
}

export class ArraySchema<T> extends Schema<T[]> {
  constructor(readonly item: Schema<T>) {
    super();
  }
  check(value: unknown, path: Path, ctx: Context): T[] | undefined {
    if (!Array.isArray(value)) {
      ctx.issues.push({ path, message: `expected a list, got ${describeValue(value)}` });
      return undefined;
    }
    const before = ctx.issues.length;
    const out = value.map((v, i) => this.item.check(v, [...path, i], ctx) as T);
    return ctx.issues.length === before ? out : undefined;
  }
  typeName(): string {
    return `list of ${this.item.typeName()}`;
  }
  jsonSchema(): Record<string, unknown> {
    return { type: 'array', items: this.item.jsonSchema() };
  }
}

export class RecordSchema<T> extends Schema<Record<string, T>> {
  constructor(readonly value: Schema<T>) {
    super();
  }
  check(value: unknown, path: Path, ctx: Context): Record<string, T> | undefined {
    if (!isPlainMap(value)) {
      ctx.issues.push({ path, message: `expected a map, got ${describeValue(value)}` });
      return undefined;
    }
    const before = ctx.issues.length;
    const out: Record<string, T> = {};
    for (const [k, v] of Object.entries(value)) out[k] = this.value.check(v, [...path, k], ctx) as T;
    return ctx.issues.length === before ? out : undefined;
  }
  typeName(): string {
    return `map of ${this.value.typeName()}`;
  }
  jsonSchema(): Record<string, unknown> {
    return { type: 'object', additionalProperties: this.value.jsonSchema() };
  }
}

export type Shape = Record<string, Schema<unknown>>;

type OptionalKeys<S extends Shape> = {
  [K in keyof S]: undefined extends Infer<S[K]> ? K : never;
}[keyof S];

export type InferShape<S extends Shape> = {
  readonly [K in Exclude<keyof S, OptionalKeys<S>>]: Infer<S[K]>;
} & {
  readonly [K in OptionalKeys<S>]?: Infer<S[K]>;
};

export class ObjectSchema<S extends Shape> extends Schema<InferShape<S>> {
  constructor(readonly shape: S) {
    super();
    // An object whose every field has a default is itself optional and defaults to those defaults.
    if (Object.values(shape).every((f) => f.hasDefault || f.isOptional)) {
      this.hasDefault = true;
    }
  }

  check(value: unknown, path: Path, ctx: Context): InferShape<S> | undefined {
    if (value === undefined || value === null) value = {};
    if (!isPlainMap(value)) {
      ctx.issues.push({ path, message: `expected a map, got ${describeValue(value)}` });
      return undefined;
    }
    const before = ctx.issues.length;
    const keys = Object.keys(this.shape);
    for (const k of Object.keys(value)) {
      if (!(k in this.shape)) {
        ctx.issues.push({ path: [...path, k], message: `unknown key "${k}"${didYouMean(k, keys)}` });
      }
    }
    const out: Record<string, unknown> = {};
    for (const k of keys) {
      const field = this.shape[k];
      const v = value[k];
      if (v === undefined || v === null) {
        if (field.hasDefault) {
          out[k] = field instanceof ObjectSchema ? field.check({}, [...path, k], ctx) : cloneDefault(field.defaultValue);
        } else if (!field.isOptional) {
          ctx.issues.push({ path: [...path, k], message: `is required (${field.typeName()})` });
        }
        continue;
      }
      out[k] = field.check(v, [...path, k], ctx);
    }
    return ctx.issues.length === before ? (deepFreeze(out) as InferShape<S>) : undefined;
  }

  /** Defaults only; throws if a required key has no default. */
  defaults(): InferShape<S> {
    const ctx: Context = { issues: [] };
    const v = this.check({}, [], ctx);
    if (v === undefined) throw new Error(`schema has required keys: ${ctx.issues.map((i) => i.path.join('.')).join(', ')}`);
    return v;
  }

  typeName(): string {
    return 'map';
  }

  jsonSchema(): Record<string, unknown> {
    const properties: Record<string, unknown> = {};
    const required: string[] = [];
    for (const [k, f] of Object.entries(this.shape)) {
      properties[k] = {
        ...f.jsonSchema(),
        ...(f.description ? { description: f.description } : {}),
        ...(f.hasDefault && !(f instanceof ObjectSchema) ? { default: f.defaultValue } : {}),
      };
      if (!f.hasDefault && !f.isOptional) required.push(k);
    }
    return { type: 'object', properties, additionalProperties: false, ...(required.length ? { required } : {}) };
  }
}

function cloneDefault<T>(v: T): T {
  return v !== null && typeof v === 'object' ? (structuredClone(v) as T) : v;
}

function deepFreeze<T>(o: T): T {
  if (o !== null && typeof o === 'object' && !Object.isFrozen(o)) {
    Object.freeze(o);
    for (const v of Object.values(o as object)) deepFreeze(v);
  }
  return o;
}

export function isPlainMap(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** Levenshtein distance, small inputs only (config keys). */
function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0];
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const cur = row[j];
      row[j] = Math.min(row[j] + 1, row[j - 1] + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = cur;
    }
  }
  return row[b.length];
}

/** ` (did you mean "x"?)` when one candidate is close enough to be a likely typo, else "". */
export function didYouMean(word: string, candidates: Iterable<string>): string {
  let best = '';
  let bestD = Infinity;
  for (const c of candidates) {
    const d = distance(word.toLowerCase(), c.toLowerCase());
    if (d < bestD) {
      bestD = d;
      best = c;
    }
  }
  const limit = Math.max(2, Math.floor(word.length / 3));
  return bestD <= limit ? ` (did you mean "${best}"?)` : '';
}

/** Schema constructors. */
export const s = {
  string: () => new StringSchema(),
  int: () => new NumberSchema(true),
  number: () => new NumberSchema(false),
  boolean: () => new BooleanSchema(),
  duration: () => new DurationSchema(),
  byteSize: () => new ByteSizeSchema(),
  enum: <T extends string>(...values: T[]) => new EnumSchema<T>(values),
  array: <T>(item: Schema<T>) => new ArraySchema<T>(item),
  record: <T>(value: Schema<T>) => new RecordSchema<T>(value),
  object: <S extends Shape>(shape: S) => new ObjectSchema<S>(shape),
  /** "host:port" or ":port"; the port is required. */
  endpoint: () =>
    new StringSchema().matches(/^(\[[0-9a-fA-F:.]+\]|[^:\s]*):\d{1,5}$/, 'an endpoint "host:port"'),
};

/** A flat list of the documented keys of an object schema, for the component reference. */
export function documentKeys(schema: ObjectSchema<Shape>, prefix = ''): { key: string; doc: SchemaDoc }[] {
  const rows: { key: string; doc: SchemaDoc }[] = [];
  for (const [k, f] of Object.entries(schema.shape)) {
    const key = prefix + k;
    if (f instanceof ObjectSchema) {
      rows.push({ key, doc: { type: 'map', description: f.description } });
      rows.push(...documentKeys(f, key + '.'));
    } else {
      rows.push({
        key,
        doc: {
          type: f.typeName(),
          description: f.description,
          ...(f.hasDefault ? { default: f.defaultValue } : {}),
          ...(f.isOptional ? { optional: true } : {}),
        },
      });
    }
  }
  return rows;
}
