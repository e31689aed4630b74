/**
 * The `tail_sampling` config: the OpenTelemetry Collector's keys and policy types, plus `max_memory_mib`
 * and `downstream_retry_max_elapsed`. Policies nest as in the Collector: top-level policies may be
 * `and`, `drop` or `composite`; a composite's sub-policies may be `and`; `and` and `drop` sub-policies
 * are leaf policies only.
 */
import { s, type Infer, type InferShape, type Path } from '../../config/schema.js';
import { compileSafePattern } from '../common/safe-regex.js';

const key = () => s.string().nonEmpty().describe('Attribute key, looked up in span and resource attributes.');
const invertMatch = () =>
  s.boolean().default(false).describe('Invert the match (deprecated in the Collector): a trace matches when no span or resource does.');

/** Config of each leaf policy type, under a key named like the type. */
const leafShape = {
  latency: s
    .object({
      threshold_ms: s.int().range(0).describe('Sample traces lasting at least this long (first start to last end).'),
      upper_threshold_ms: s
        .int()
        .range(0)
        .default(0)
        .describe('When set, sample traces lasting more than `threshold_ms` and at most this (0: no upper bound).'),
    })
    .optional(),
  status_code: s
    .object({ status_codes: s.array(s.enum('OK', 'ERROR', 'UNSET')).describe('Sample traces with a span of one of these status codes.') })
    .optional(),
  string_attribute: s
    .object({
      key: key(),
      values: s.array(s.string()).describe('Values to match exactly, or RE2 patterns (matching anywhere) with `enabled_regex_matching`.'),
      enabled_regex_matching: s.boolean().default(false).describe('Treat `values` as regular expressions.'),
      cache_max_size: s.int().range(0).default(128).describe('Values whose regex result is remembered (0 means 128); the cache empties when full.'),
      invert_match: invertMatch(),
    })
    .optional(),
  numeric_attribute: s
    .object({
      key: key(),
      min_value: s.int().optional().describe('Smallest matching value, inclusive (absent: no lower bound).'),
      max_value: s.int().optional().describe('Largest matching value, inclusive (absent: no upper bound).'),
      invert_match: invertMatch(),
    })
    .optional(),
  boolean_attribute: s
    .object({
      key: key(),
      value: s.boolean().describe('Sample traces where the attribute has this value.'),
      invert_match: invertMatch(),
    })
    .optional(),
  probabilistic: s
    .object({
      hash_salt: s.string().default('').describe('Salt of the trace-id hash (empty: the Collector\'s "default-hash-seed").'),
      sampling_percentage: s.number().range(0, 100).describe('Percentage of traces to sample, by trace-id hash.'),
    })
    .optional(),
  rate_limiting: s
    .object({ spans_per_second: s.int().range(1).describe('Token bucket rate in spans per second; the bucket holds twice that.') })
    .optional(),
  span_count: s
    .object({
      min_spans: s.int().range(0).describe('Sample traces with at least this many spans.'),
      max_spans: s.int().range(0).default(0).describe('… and at most this many (0: no upper bound).'),
    })
    .optional(),
  trace_state: s
    .object({
      key: s.string().nonEmpty().describe('W3C trace-state key.'),
      values: s.array(s.string()).describe('Sample traces with a span whose trace state has one of these values for the key.'),
    })
    .optional(),
};

export const LEAF_TYPES = [
  'always_sample',
  'latency',
  'status_code',
  'string_attribute',
  'numeric_attribute',
  'boolean_attribute',
  'probabilistic',
  'rate_limiting',
  'span_count',
  'trace_state',
] as const;

const name = () => s.string().nonEmpty().describe('Policy name, used in metrics and by `composite`.');

const leafPolicy = s.object({ name: name(), type: s.enum(...LEAF_TYPES), ...leafShape });

const andPolicyShape = {
  name: name(),
  type: s.enum(...LEAF_TYPES, 'and'),
  ...leafShape,
  and: s.object({ and_sub_policy: s.array(leafPolicy).describe('Sample when every sub-policy samples.') }).optional(),
};
const compositeSubPolicy = s.object(andPolicyShape);

const policy = s.object({
  ...andPolicyShape,
  type: s.enum(...LEAF_TYPES, 'and', 'drop', 'composite'),
  drop: s
    .object({ drop_sub_policy: s.array(leafPolicy).describe('Drop the trace, whatever other policies say, when every sub-policy samples.') })
    .optional(),
  composite: s
    .object({
      max_total_spans_per_second: s.int().range(1).describe('Spans per second sampled by the composite at most.'),
      policy_order: s.array(s.string()).default([]).describe('Accepted for Collector configs; sub-policies are evaluated in the order listed.'),
      composite_sub_policy: s.array(compositeSubPolicy).describe('Sub-policies, evaluated in this order; the first that samples spends its share.'),
      rate_allocation: s
        .array(
          s.object({
            policy: s.string().nonEmpty().describe('Sub-policy name.'),
            percent: s.number().range(0, 100).describe('Share of `max_total_spans_per_second` (0: an equal share).'),
          }),
        )
        .default([])
        .describe('Spans-per-second shares; a sub-policy without one never samples (as in the Collector).'),
    })
    .optional(),
});

export type LeafPolicyConfig = Infer<typeof leafPolicy>;
export type CompositeSubPolicyConfig = Infer<typeof compositeSubPolicy>;
export type PolicyConfig = Infer<typeof policy>;

export const tailSamplingConfig = s.object({
  decision_wait: s.duration().atLeast(1).default(30_000).describe("Time from a trace's first span to its decision."),
  num_traces: s.int().range(1).default(50_000).describe('Undecided traces held at most; beyond it the oldest is decided early on what it has.'),
  expected_new_traces_per_sec: s.int().range(0).default(0).describe('Accepted for Collector configs; no effect (nothing is pre-allocated).'),
  max_memory_mib: s
    .number()
    .range(1)
    .default(512)
    .describe('Estimated memory of undecided traces and sampled spans waiting for downstream at most: beyond 7/8 of it in undecided traces the oldest is decided early; with 1/8 of it waiting for downstream, senders are refused.'),
  decision_cache: s
    .object({
      sampled_cache_size: s.int().range(0).default(0).describe('Trace ids of sampled traces remembered, so late spans follow (0: `num_traces`).'),
      non_sampled_cache_size: s.int().range(0).default(0).describe('Trace ids of traces not sampled remembered (0: `num_traces`).'),
    })
    .describe('Decisions remembered for spans that arrive after their trace was decided (the last ids decided).'),
  sample_on_first_match: s.boolean().default(false).describe('Stop evaluating policies at the first that samples.'),
  downstream_retry_max_elapsed: s
    .duration()
    .default(60_000)
    .describe('How long sampled spans refused retryably downstream are retried before they are dropped and counted (0: until shutdown).'),
  policies: s.array(policy).describe('Policies, each `{ name, type, <type>: { settings } }`; see "Tail sampling" above the reference.'),
});

export type TailSamplingConfig = InferShape<typeof tailSamplingConfig.shape>;

type Problem = { path: Path; message: string };

/** Checks that span keys: the type's own config present, sub-policy names, regexes. */
export function validateTailSamplingConfig(cfg: TailSamplingConfig): Problem[] {
  const problems: Problem[] = [];
  if (cfg.policies.length === 0) problems.push({ path: ['policies'], message: 'at least one policy is required' });
  checkNames(cfg.policies, ['policies'], problems);
  cfg.policies.forEach((p, i) => checkPolicy(p, ['policies', i], problems));
  return problems;
}

function checkNames(list: readonly { name: string }[], path: Path, problems: Problem[]): void {
  const seen = new Set<string>();
  list.forEach((p, i) => {
    if (seen.has(p.name)) problems.push({ path: [...path, i, 'name'], message: `duplicate policy name "${p.name}"` });
    seen.add(p.name);
  });
}

function checkPolicy(p: PolicyConfig | CompositeSubPolicyConfig | LeafPolicyConfig, path: Path, problems: Problem[]): void {
  const t = p.type;
  if (t === 'always_sample') return;
  const sub = (p as Record<string, unknown>)[t];
  if (sub === undefined) {
    problems.push({ path: [...path, t], message: `policy type "${t}" needs its settings under "${t}"` });
    return;
  }
  switch (t) {
    case 'status_code': {
      const c = p.status_code!;
      if (c.status_codes.length === 0) problems.push({ path: [...path, t, 'status_codes'], message: 'at least one status code is required' });
      break;
    }
    case 'latency': {
      const c = p.latency!;
      if (c.upper_threshold_ms !== 0 && c.upper_threshold_ms < c.threshold_ms) {
        problems.push({ path: [...path, t, 'upper_threshold_ms'], message: `must be 0 or at least threshold_ms (${c.threshold_ms})` });
      }
      break;
    }
    case 'span_count': {
      const c = p.span_count!;
      if (c.max_spans !== 0 && c.max_spans < c.min_spans) {
        problems.push({ path: [...path, t, 'max_spans'], message: `must be 0 or at least min_spans (${c.min_spans})` });
      }
      break;
    }
    case 'numeric_attribute': {
      const c = p.numeric_attribute!;
      if (c.min_value === undefined && c.max_value === undefined) {
        problems.push({ path: [...path, t], message: 'set min_value, max_value or both' });
      } else if (c.min_value !== undefined && c.max_value !== undefined && c.max_value < c.min_value) {
        problems.push({ path: [...path, t, 'max_value'], message: `must be at least min_value (${c.min_value})` });
      }
      break;
    }
    case 'string_attribute': {
      const c = p.string_attribute!;
      if (c.enabled_regex_matching) {
        c.values.forEach((v, i) => {
          try {
            compileSafePattern(v);
          } catch (e) {
            problems.push({ path: [...path, t, 'values', i], message: (e as Error).message });
          }
        });
      }
      break;
    }
    case 'and': {
      const subs = (p as CompositeSubPolicyConfig).and!.and_sub_policy;
      if (subs.length === 0) problems.push({ path: [...path, t, 'and_sub_policy'], message: 'at least one sub-policy is required' });
      subs.forEach((q, i) => checkPolicy(q, [...path, t, 'and_sub_policy', i], problems));
      break;
    }
    case 'drop': {
      const subs = (p as PolicyConfig).drop!.drop_sub_policy;
      if (subs.length === 0) problems.push({ path: [...path, t, 'drop_sub_policy'], message: 'at least one sub-policy is required' });
      subs.forEach((q, i) => checkPolicy(q, [...path, t, 'drop_sub_policy', i], problems));
      break;
    }
    case 'composite': {
      const c = (p as PolicyConfig).composite!;
      const base = [...path, t];
      if (c.composite_sub_policy.length === 0) problems.push({ path: [...base, 'composite_sub_policy'], message: 'at least one sub-policy is required' });
      checkNames(c.composite_sub_policy, [...base, 'composite_sub_policy'], problems);
      c.composite_sub_policy.forEach((q, i) => checkPolicy(q, [...base, 'composite_sub_policy', i], problems));
      const names = c.composite_sub_policy.map((q) => q.name);
      const unknown = (n: string) => (names.includes(n) ? '' : `no sub-policy is named "${n}" (sub-policies: ${names.join(', ')})`);
      c.policy_order.forEach((n, i) => {
        const m = unknown(n);
        if (m) problems.push({ path: [...base, 'policy_order', i], message: m });
      });
      let total = 0;
      c.rate_allocation.forEach((a, i) => {
        const m = unknown(a.policy);
        if (m) problems.push({ path: [...base, 'rate_allocation', i, 'policy'], message: m });
        total += a.percent;
      });
      if (total > 100) problems.push({ path: [...base, 'rate_allocation'], message: `percentages add up to ${total}, more than 100` });
      break;
    }
    default:
      break;
  }
}
