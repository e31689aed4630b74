/**
 * The `probabilistic_sampler` processor: keeps a percentage of traces, deciding per span from its trace id
 * exactly as the OpenTelemetry Collector's `hash_seed` mode does (see sampler.ts), so every span of a
 * trace gets the same decision here and in a Collector with the same seed.
 */
import { defineProcessor } from '../../component/types.js';
import type { SpanBatch } from '../../model/span.js';
import { throwIfInvalid } from '../common/config-problems.js';
import { probabilisticSamplerConfig, validateProbabilisticSamplerConfig } from './config.js';
import { HashSeedSampler, type SamplingPolicy } from './sampler.js';

const POLICIES: readonly SamplingPolicy[] = ['trace_id_hash', 'sampling_priority', 'zipkin_debug', 'missing_randomness', 'tracestate'];

export const probabilisticSamplerProcessor = defineProcessor({
  type: 'probabilistic_sampler',
  stability: 'beta',
  description:
    "Keeps a percentage of traces by hashing the trace id, with the same decisions as the Collector's hash_seed mode; honours sampling.priority and Zipkin debug.",
  mutatesData: false,
  config: probabilisticSamplerConfig,
  validate: validateProbabilisticSamplerConfig,
  create(cfg, context) {
    throwIfInvalid(context.id, validateProbabilisticSamplerConfig(cfg));
    const sampler = new HashSeedSampler(cfg.sampling_percentage, cfg.hash_seed, cfg.fail_closed);
    if (sampler.threshold === 0 && cfg.sampling_percentage > 0) {
      context.logger.warn(
        { processor: context.id, sampling_percentage: cfg.sampling_percentage },
        'sampling percentage rounds to zero of 16384 hash buckets: every span is dropped (as in the Collector)',
      );
    }
    const decisions = context.metrics.counter(
      'spanline_probabilistic_sampler_decisions_total',
      'Sampling decisions of the probabilistic sampler, by the rule that decided.',
      ['processor', 'pipeline', 'policy', 'sampled'],
    );
    // Label children made once: the hot path only adds.
    const kept = new Map(POLICIES.map((p) => [p, decisions.labels(context.id, context.pipeline, p, 'true')]));
    const dropped = new Map(POLICIES.map((p) => [p, decisions.labels(context.id, context.pipeline, p, 'false')]));
    const keptCounts = new Map<SamplingPolicy, number>();
    const droppedCounts = new Map<SamplingPolicy, number>();

    return {
      process(batch: SpanBatch): SpanBatch {
        const out: SpanBatch = [];
        keptCounts.clear();
        droppedCounts.clear();
        for (let i = 0; i < batch.length; i++) {
          const span = batch[i];
          const d = sampler.decide(span);
          if (d.sampled) {
            out.push(span);
            keptCounts.set(d.policy, (keptCounts.get(d.policy) ?? 0) + 1);
          } else {
            droppedCounts.set(d.policy, (droppedCounts.get(d.policy) ?? 0) + 1);
          }
        }
        for (const [policy, n] of keptCounts) kept.get(policy)!.inc(n);
        for (const [policy, n] of droppedCounts) {
          dropped.get(policy)!.inc(n);
          // Sampled-out spans are this processor's purpose, not a loss; the reason tells them apart.
          context.dropped(n, policy === 'trace_id_hash' ? 'sampled_out' : policy);
        }
        return out;
      },
    };
  },
});

export { probabilisticSamplerConfig, type ProbabilisticSamplerConfig } from './config.js';
export { computeHash, HashSeedSampler, scaledSamplingRate } from './sampler.js';
