/**
 * The redaction rules, as the OpenTelemetry Collector's `redaction` processor applies them, to span,
 * event, link, resource and scope attributes, and to event names. Links are covered because failing
 * closed must hold for every attribute map a span carries: a link's attributes reach storage too.
 *
 * For each attribute, in this order:
 *  1. a key in `ignored_keys` or matching `ignored_key_patterns` is kept unchanged;
 *  2. a key not in `allowed_keys` (unless `allow_all_keys`) is removed;
 *  3. a value matching `allowed_values` is kept unchanged (this wins over 4 and 5, as the Collector's
 *     README says and its current code does; an older Collector version checked `blocked_values` first);
 *  4. the value of a key matching `blocked_key_patterns` is masked as a whole;
 *  5. each `blocked_values` pattern, in order, masks the parts of the value it matches.
 * Only string values go through 3 and 5 unless `redact_all_types`; 4 masks a value of any type. A
 * non-string value is read as the Collector's `AsString` writes it (maps as JSON with sorted keys), so
 * that a hash of it is the Collector's hash.
 *
 * Event names are values without a key: in spans from Zipkin they are the annotation values, which often
 * carry the same data as tags. They go through 3 and 5 and are reported as the key `event.name` in the
 * span's summary.
 */
import { createHash } from 'node:crypto';
import { hasKeys, type AnyValue, type Attributes, type SpanBatch } from '../../model/span.js';
import { valueAsString } from '../common/match.js';
import { compileSafePatternSet, type SafePatternSet } from '../common/safe-regex.js';
import type { RedactionConfig } from './config.js';

export const REDACTED_KEYS = 'redaction.redacted.keys';
export const REDACTED_COUNT = 'redaction.redacted.count';
export const MASKED_KEYS = 'redaction.masked.keys';
export const MASKED_COUNT = 'redaction.masked.count';
export const ALLOWED_KEYS = 'redaction.allowed.keys';
export const ALLOWED_COUNT = 'redaction.allowed.count';
export const IGNORED_COUNT = 'redaction.ignored.count';

/** The summary key for an event name that was masked or allowed. */
export const EVENT_NAME_KEY = 'event.name';

/**
 * The processor's own attributes are always allowed, so that a second redaction processor downstream
 * keeps (and adds to) the first one's summary instead of removing it.
 */
const SUMMARY_KEYS: ReadonlySet<string> = new Set([
  REDACTED_KEYS,
  REDACTED_COUNT,
  MASKED_KEYS,
  MASKED_COUNT,
  ALLOWED_KEYS,
  ALLOWED_COUNT,
  IGNORED_COUNT,
]);

const MASK = '****';

/** Key decisions repeat across spans (keys are few, values many); the cache is bounded and restarts when full. */
const KEY_CACHE_LIMIT = 4096;
const enum KeyRule {
  Ignore,
  Remove,
  MaskValue,
  CheckValue,
}

/** What one {@link Redactor.redact} call changed, for the processor's metrics. */
export interface RedactionTally {
  removed: number;
  masked: number;
}

export class Redactor {
  private readonly allowAllKeys: boolean;
  private readonly allowedKeys: ReadonlySet<string>;
  private readonly ignoredKeys: ReadonlySet<string>;
  private readonly ignoredKeyPatterns: SafePatternSet;
  private readonly blockedKeyPatterns: SafePatternSet;
  private readonly blockedValues: SafePatternSet;
  private readonly allowedValues: SafePatternSet;
  private readonly hasAllowedValues: boolean;
  private readonly redactAllTypes: boolean;
  private readonly listKeys: boolean;
  private readonly countKeys: boolean;
  private readonly mask: (match: string) => string;
  private readonly keyRules = new Map<string, KeyRule>();

  /** Compiles every pattern; throws on a bad one (the config loader has reported it before). */
  constructor(cfg: RedactionConfig) {
    this.allowAllKeys = cfg.allow_all_keys;
    this.allowedKeys = new Set(cfg.allowed_keys);
    this.ignoredKeys = new Set(cfg.ignored_keys);
    this.ignoredKeyPatterns = compileSafePatternSet(cfg.ignored_key_patterns);
    this.blockedKeyPatterns = compileSafePatternSet(cfg.blocked_key_patterns);
    this.blockedValues = compileSafePatternSet(cfg.blocked_values);
    this.allowedValues = compileSafePatternSet(cfg.allowed_values);
    this.hasAllowedValues = cfg.allowed_values.length > 0;
    this.redactAllTypes = cfg.redact_all_types;
    this.listKeys = cfg.summary === 'debug';
    this.countKeys = cfg.summary !== 'silent';
    const algorithm = cfg.hash_function === undefined ? undefined : HASH_ALGORITHMS[cfg.hash_function];
    this.mask = algorithm === undefined ? () => MASK : (m) => createHash(algorithm).update(m, 'utf8').digest('hex');
  }

  /** True if the config removes every attribute (the fail-closed default), worth a warning at start-up. */
  removesEverything(): boolean {
    return !this.allowAllKeys && this.allowedKeys.size === 0 && this.ignoredKeys.size === 0 && this.ignoredKeyPatterns.patterns.length === 0;
  }

  /** Redacts a batch in place. Resources and scopes shared by several spans are redacted once. */
  redact(batch: SpanBatch): RedactionTally {
    const tally: RedactionTally = { removed: 0, masked: 0 };
    const seen = new Set<object>();
    for (let i = 0; i < batch.length; i++) {
      const span = batch[i];
      const resource = span.resource;
      if (!seen.has(resource)) {
        seen.add(resource);
        resource.attributes = this.redactAttributes(resource.attributes, tally, undefined, undefined);
      }
      const scope = span.scope;
      // The shared empty scope is frozen and has nothing to redact.
      if (!seen.has(scope) && !Object.isFrozen(scope)) {
        seen.add(scope);
        scope.attributes = this.redactAttributes(scope.attributes, tally, undefined, undefined);
      }
      let maskedNames: string[] | undefined;
      let allowedNames: string[] | undefined;
      for (const event of span.events) {
        event.attributes = this.redactAttributes(event.attributes, tally, undefined, undefined);
        const name = event.name;
        const matching = this.blockedValues.matching(name);
        if (matching.length === 0) continue;
        if (this.hasAllowedValues && this.allowedValues.testAny(name)) {
          (allowedNames ??= []).push(EVENT_NAME_KEY);
          continue;
        }
        const masked = this.maskBlockedValues(name, matching);
        if (masked !== name) {
          event.name = masked;
          (maskedNames ??= []).push(EVENT_NAME_KEY);
        }
      }
      for (const link of span.links) link.attributes = this.redactAttributes(link.attributes, tally, undefined, undefined);
      span.attributes = this.redactAttributes(span.attributes, tally, maskedNames, allowedNames);
    }
    return tally;
  }

  /**
   * Applies the rules to one attribute map and writes its summary into it; returns the map to use from
   * now on. When keys are removed that is a new map with the others in their order: `delete` would turn
   * every map into a slow dictionary, and on the fail-closed path that is most maps. `maskedExtra` and
   * `allowedExtra` are event names already handled, reported with the span's own keys.
   */
  private redactAttributes(
    attrs: Attributes,
    tally: RedactionTally,
    maskedExtra: string[] | undefined,
    allowedExtra: string[] | undefined,
  ): Attributes {
    // A shared constant map (decoders give every annotation's event one frozen empty map) must not be
    // written: work on a copy. An empty one has nothing to redact and gets no summary.
    if (Object.isFrozen(attrs)) {
      if (!hasKeys(attrs)) return attrs;
      attrs = { ...attrs };
    }
    let removed: string[] | undefined;
    let masked = maskedExtra;
    let allowed = allowedExtra;
    let ignored = 0;
    for (const key in attrs) {
      const rule = this.keyRule(key);
      if (rule === KeyRule.Ignore) {
        ignored++;
        continue;
      }
      if (rule === KeyRule.Remove) {
        (removed ??= []).push(key);
        continue;
      }
      const value = attrs[key];
      const text = typeof value === 'string' ? value : this.redactAllTypes ? valueAsString(value) : undefined;
      if (rule === KeyRule.MaskValue) {
        if (text !== undefined && this.hasAllowedValues && this.allowedValues.testAny(text)) {
          (allowed ??= []).push(key);
          continue;
        }
        attrs[key] = this.mask(text ?? valueAsString(value));
        (masked ??= []).push(key);
        continue;
      }
      if (text === undefined) continue;
      // Most values match nothing: one pass over the blocked patterns settles them. Allowed values are
      // checked first only when the summary reports them, or when there is something to mask.
      const matching = this.blockedValues.matching(text);
      if (this.hasAllowedValues && (matching.length > 0 || this.countKeys) && this.allowedValues.testAny(text)) {
        (allowed ??= []).push(key);
        continue;
      }
      if (matching.length === 0) continue;
      const result = this.maskBlockedValues(text, matching);
      if (result !== text) {
        attrs[key] = result;
        (masked ??= []).push(key);
      }
    }
    let out = attrs;
    if (removed !== undefined) {
      out = {};
      for (const key in attrs) if (this.keyRule(key) !== KeyRule.Remove) out[key] = attrs[key];
      tally.removed += removed.length;
    }
    if (masked !== undefined) tally.masked += masked.length;
    if (!this.countKeys) return out;
    if (removed !== undefined) this.summarize(out, removed, REDACTED_KEYS, REDACTED_COUNT);
    if (masked !== undefined) this.summarize(out, masked, MASKED_KEYS, MASKED_COUNT);
    if (allowed !== undefined) this.summarize(out, allowed, ALLOWED_KEYS, ALLOWED_COUNT);
    if (ignored > 0) addCount(out, IGNORED_COUNT, ignored);
    return out;
  }

  /**
   * Each blocked pattern in order replaces its matches in what the previous ones left, as the Collector
   * does. `matching` (the set pass on `value`, not empty) says which patterns match before anything
   * changed; once the value changed, later patterns are tested again on the new text.
   */
  private maskBlockedValues(value: string, matching: readonly number[]): string {
    const patterns = this.blockedValues.patterns;
    let out = value;
    for (let i = matching[0]; i < patterns.length; i++) {
      const p = patterns[i];
      if (out === value ? !matching.includes(i) : !p.test(out)) continue;
      out = p.replaceAll(out, this.mask);
    }
    return out;
  }

  private keyRule(key: string): KeyRule {
    let rule = this.keyRules.get(key);
    if (rule !== undefined) return rule;
    if (this.ignoredKeys.has(key) || this.ignoredKeyPatterns.testAny(key)) rule = KeyRule.Ignore;
    else if (!this.allowAllKeys && !this.allowedKeys.has(key) && !SUMMARY_KEYS.has(key)) rule = KeyRule.Remove;
    else if (this.blockedKeyPatterns.testAny(key)) rule = KeyRule.MaskValue;
    else rule = KeyRule.CheckValue;
    if (this.keyRules.size >= KEY_CACHE_LIMIT) this.keyRules.clear();
    this.keyRules.set(key, rule);
    return rule;
  }

  /** Adds to a summary already present (from a redaction processor upstream), as the Collector does. */
  private summarize(attrs: Attributes, keys: string[], keysAttribute: string, countAttribute: string): void {
    if (this.listKeys) {
      const existing = attrs[keysAttribute];
      const all = typeof existing === 'string' && existing !== '' ? keys.concat(existing.split(',')) : keys;
      attrs[keysAttribute] = all.sort().join(',');
    }
    addCount(attrs, countAttribute, keys.length);
  }
}

function addCount(attrs: Attributes, key: string, n: number): void {
  attrs[key] = BigInt(n) + intValue(attrs[key]);
}

function intValue(v: AnyValue | undefined): bigint {
  if (typeof v === 'bigint') return v;
  if (typeof v === 'number' && Number.isSafeInteger(v)) return BigInt(v);
  if (typeof v === 'string' && /^-?\d{1,18}$/.test(v)) return BigInt(v);
  return 0n;
}

const HASH_ALGORITHMS = { md5: 'md5', sha1: 'sha1', sha3: 'sha3-256' } as const;
