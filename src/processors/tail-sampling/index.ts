/**
 * The `tail_sampling` processor: decides per trace, once `decision_wait` has passed since its first span,
 * whether to keep it, with the OpenTelemetry Collector's policies and rules. It holds data, so it takes
 * over the flow (`consume`) and calls the next consumer itself. See sampler.ts for how it holds, bounds
 * and releases traces, and policies.ts for the policies.
 */
import { defineProcessor } from '../../component/types.js';
import { tailSamplingConfig, validateTailSamplingConfig } from './config.js';
import { TailSampler } from './sampler.js';

export const tailSamplingProcessor = defineProcessor({
  type: 'tail_sampling',
  stability: 'alpha',
  description: 'Keeps or drops whole traces by policy once decision_wait has passed; bounded in traces and memory, never evicts a trace undecided.',
  mutatesData: false,
  config: tailSamplingConfig,
  validate: validateTailSamplingConfig,
  create(cfg, context) {
    // The config loader runs `validate` already; this catches callers that build components directly.
    const problems = validateTailSamplingConfig(cfg);
    if (problems.length > 0) throw new Error(`${context.id}: ${problems.map((p) => `${p.path.join('.')}: ${p.message}`).join('; ')}`);
    return new TailSampler(cfg, context);
  },
});

export { TailSampler } from './sampler.js';
export { tailSamplingConfig, type TailSamplingConfig } from './config.js';
