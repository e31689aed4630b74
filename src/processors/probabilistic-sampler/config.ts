import { s, type InferShape, type Path } from '../../config/schema.js';
import { unsupportedKey } from '../common/unsupported-key.js';

const logsOnly = (key: string) =>
  unsupportedKey('probabilistic_sampler', `\`${key}\` applies to logs only in the Collector, and spanline carries traces`);

export const probabilisticSamplerConfig = s.object({
  sampling_percentage: s
    .number()
    .range(0)
    .describe('Percentage of traces to keep: 0 drops every span, 100 or more keeps every span. Read as a 32-bit float, as the Collector does.'),
  hash_seed: s
    .int()
    .range(0, 0xffffffff)
    .default(0)
    .describe('Seed of the trace-id hash. Every spanline and Collector in one tier must use the same seed to keep the same traces; give each tier its own.'),
  mode: s
    .enum('hash_seed', 'proportional', 'equalizing')
    .default('hash_seed')
    .describe('Only `hash_seed` is supported (the Collector\'s FNV-1a trace-id hash); `proportional` and `equalizing` are config errors.'),
  fail_closed: s
    .boolean()
    .default(true)
    .describe('Drop spans that cannot be sampled by hash: an all-zero trace id, or a W3C tracestate that is invalid or already carries OTel sampling (`ot=rv:`/`th:`). False keeps them.'),
  sampling_precision: s
    .int()
    .range(1, 14)
    .default(4)
    .describe('Accepted for Collector configs; only the `proportional` and `equalizing` modes use it, so it has no effect here.'),
  attribute_source: logsOnly('attribute_source'),
  from_attribute: logsOnly('from_attribute'),
  sampling_priority: logsOnly('sampling_priority'),
});

export type ProbabilisticSamplerConfig = InferShape<typeof probabilisticSamplerConfig.shape>;

/** The smallest probability the Collector accepts (2^-56); a smaller non-zero percentage is an error there too. */
const MIN_SAMPLING_PROBABILITY = 2 ** -56;

export function validateProbabilisticSamplerConfig(cfg: ProbabilisticSamplerConfig): { path: Path; message: string }[] {
  const problems: { path: Path; message: string }[] = [];
  if (cfg.mode !== 'hash_seed') {
    problems.push({
      path: ['mode'],
      message: `mode "${cfg.mode}" is not supported: it samples by OTel tracestate thresholds (rv/th), which spanline does not implement; use "hash_seed"`,
    });
  }
  const ratio = Math.fround(cfg.sampling_percentage) / 100;
  if (ratio > 0 && ratio < MIN_SAMPLING_PROBABILITY) {
    problems.push({ path: ['sampling_percentage'], message: `sampling rate is too small: ${cfg.sampling_percentage}%` });
  }
  return problems;
}
