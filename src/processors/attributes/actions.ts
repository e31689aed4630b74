/**
 * The attribute actions, compiled once from the config and applied in order to one attribute map. This is
 * the hot path: every action has the same shape (one hidden class), dispatch is a switch on a number, and
 * nothing is allocated unless an attribute changes.
 */
import type { AnyValue, Attributes } from '../../model/span.js';
import { setOwn } from '../../codecs/json-text.js';
import { configValueToAnyValue } from '../common/match.js';
import { compileSafePattern, type SafePattern } from '../common/safe-regex.js';
import { extractGroupNames, type ActionConfig } from './config.js';
import { convertValue, hashValue, type ConvertTarget } from './values.js';

export enum Op {
  Insert,
  Update,
  Upsert,
  Delete,
  Hash,
  Extract,
  Convert,
}

const OPS: Record<ActionConfig['action'], Op> = {
  insert: Op.Insert,
  update: Op.Update,
  upsert: Op.Upsert,
  delete: Op.Delete,
  hash: Op.Hash,
  extract: Op.Extract,
  convert: Op.Convert,
};

/** Keys whose pattern result is remembered per delete/hash action: attribute keys repeat from span to span. */
const KEY_CACHE_LIMIT = 4096;

/**
 * extract: values whose groups are remembered per action, and the longest value remembered. Values such
 * as routes and statements repeat, and a pattern match with groups costs microseconds (linear-time engine
 * in JS) against tens of nanoseconds for a lookup. Bounded in entries and in the size of each entry.
 */
const EXTRACT_CACHE_LIMIT = 1024;
const EXTRACT_CACHE_MAX_INPUT = 512;
const NO_MATCH: Record<string, string> = Object.freeze({}) as Record<string, string>;

export class CompiledAction {
  readonly op: Op;
  /** "" when the action has no key (delete/hash by pattern only). */
  readonly key: string;
  /** The configured `value`, or undefined. */
  readonly value: AnyValue | undefined;
  /** "" when not set. */
  readonly fromAttribute: string;
  readonly defaultValue: AnyValue | undefined;
  readonly pattern: SafePattern | undefined;
  /** extract: the group names, in group order. */
  readonly groupNames: readonly string[];
  readonly convertTo: ConvertTarget;
  /** delete/hash: key → whether `pattern` matches it; bounded by KEY_CACHE_LIMIT. */
  private readonly keyMatches: Map<string, boolean> | undefined;
  /** extract: value → its groups (NO_MATCH when the pattern does not match); bounded by EXTRACT_CACHE_LIMIT. */
  private readonly extracted: Map<string, Record<string, string>> | undefined;

  constructor(a: ActionConfig) {
    this.op = OPS[a.action];
    this.key = a.key ?? '';
    const defaultValue = a.default_value === undefined ? undefined : configValueToAnyValue(a.default_value);
    // An empty `value` with a `default_value` is an unset `${env:...}` (the Collector reads that as no
    // value and falls back to the default; our config loader has already made it "").
    this.value = a.value === undefined || (a.value === '' && defaultValue !== undefined) ? undefined : configValueToAnyValue(a.value);
    this.fromAttribute = a.from_attribute ?? '';
    this.defaultValue = defaultValue;
    this.pattern = a.pattern !== undefined && a.pattern !== '' ? compileSafePattern(a.pattern) : undefined;
    this.groupNames = this.op === Op.Extract && a.pattern !== undefined ? extractGroupNames(a.pattern) : [];
    this.convertTo = a.converted_type ?? 'string';
    this.keyMatches = this.pattern !== undefined && (this.op === Op.Delete || this.op === Op.Hash) ? new Map() : undefined;
    this.extracted = this.op === Op.Extract ? new Map() : undefined;
  }

  /** extract: the named groups of the first match in `value`, or undefined when there is none. */
  groupsOf(value: string): Record<string, string> | undefined {
    const cacheable = value.length <= EXTRACT_CACHE_MAX_INPUT;
    if (cacheable) {
      const hit = this.extracted!.get(value);
      if (hit !== undefined) return hit === NO_MATCH ? undefined : hit;
    }
    const groups = this.pattern!.exec(value)?.groups;
    if (cacheable) {
      if (this.extracted!.size >= EXTRACT_CACHE_LIMIT) this.extracted!.clear();
      this.extracted!.set(value, groups ?? NO_MATCH);
    }
    return groups;
  }

  /** The value insert/update/upsert would write, or undefined when its source is absent on this span. */
  source(attrs: Attributes): AnyValue | undefined {
    if (this.value !== undefined) return copyValue(this.value);
    if (this.fromAttribute !== '' && Object.hasOwn(attrs, this.fromAttribute)) return copyValue(attrs[this.fromAttribute]);
    return this.defaultValue === undefined ? undefined : copyValue(this.defaultValue);
  }

  /** delete: whether this action removes any key of `attrs`. */
  deletes(attrs: Attributes): boolean {
    if (this.key !== '' && Object.hasOwn(attrs, this.key)) return true;
    if (this.pattern !== undefined) for (const k in attrs) if (this.keyMatchesPattern(k)) return true;
    return false;
  }

  /** delete: a copy of `attrs` without the keys this action removes, in the same order. */
  without(attrs: Attributes): Attributes {
    const out: Attributes = {};
    for (const k in attrs) {
      if ((this.key !== '' && k === this.key) || (this.pattern !== undefined && this.keyMatchesPattern(k))) continue;
      setOwn(out, k, attrs[k]);
    }
    return out;
  }

  keyMatchesPattern(key: string): boolean {
    const cache = this.keyMatches!;
    let hit = cache.get(key);
    if (hit === undefined) {
      hit = this.pattern!.test(key);
      if (cache.size >= KEY_CACHE_LIMIT) cache.clear();
      cache.set(key, hit);
    }
    return hit;
  }
}

/** Compiles the configured actions; throws on a config the validator would have refused. */
export function compileActions(actions: readonly ActionConfig[]): CompiledAction[] {
  return actions.map((a) => new CompiledAction(a));
}

/**
 * Applies the actions in order to one span's attributes and returns them: the same object, changed in
 * place, unless a delete removed keys, which gives a new object without them (V8 turns an object a key
 * was deleted from into a slow dictionary, which every later reader of the span would pay for).
 */
export function applyActions(actions: readonly CompiledAction[], attributes: Attributes): Attributes {
  let attrs = attributes;
  for (let i = 0; i < actions.length; i++) {
    const a = actions[i];
    switch (a.op) {
      case Op.Insert: {
        if (Object.hasOwn(attrs, a.key)) break;
        const v = a.source(attrs);
        if (v !== undefined) setOwn(attrs, a.key, v);
        break;
      }
      case Op.Update: {
        if (!Object.hasOwn(attrs, a.key)) break;
        const v = a.source(attrs);
        if (v !== undefined) attrs[a.key] = v;
        break;
      }
      case Op.Upsert: {
        const v = a.source(attrs);
        if (v !== undefined) setOwn(attrs, a.key, v);
        break;
      }
      case Op.Delete:
        if (a.deletes(attrs)) attrs = a.without(attrs);
        break;
      case Op.Hash:
        if (a.key !== '' && Object.hasOwn(attrs, a.key)) attrs[a.key] = hashValue(attrs[a.key]);
        if (a.pattern !== undefined) {
          for (const k in attrs) if (a.keyMatchesPattern(k)) attrs[k] = hashValue(attrs[k]);
        }
        break;
      case Op.Extract: {
        const v = attrs[a.key];
        if (typeof v !== 'string' || !Object.hasOwn(attrs, a.key)) break;
        const groups = a.groupsOf(v);
        if (groups === undefined) break;
        // A group that took no part in the match still writes "", as Go's FindStringSubmatch gives "".
        for (let g = 0; g < a.groupNames.length; g++) setOwn(attrs, a.groupNames[g], groups[a.groupNames[g]] ?? '');
        break;
      }
      case Op.Convert: {
        if (!Object.hasOwn(attrs, a.key)) break;
        const converted = convertValue(attrs[a.key], a.convertTo);
        if (converted !== undefined) attrs[a.key] = converted;
        break;
      }
    }
  }
  return attrs;
}

/** Scalars are immutable; lists, maps and bytes are copied so that two attributes never share one. */
function copyValue(v: AnyValue): AnyValue {
  if (v === null || typeof v !== 'object') return v;
  if (v instanceof Uint8Array) return v.slice();
  if (Array.isArray(v)) return v.map(copyValue);
  const out: Attributes = {};
  for (const k in v) setOwn(out, k, copyValue(v[k]));
  return out;
}
