/**
 * The `batch` processor: groups spans into larger batches by size and time before they go downstream.
 * It holds data, so it takes over the flow (`consume`) and calls the next consumer itself.
 */
import { defineProcessor } from '../../component/types.js';
import { SpanBatcher } from './batcher.js';
import { batchConfig, validateBatchConfig } from './config.js';

export const batchProcessor = defineProcessor({
  type: 'batch',
  stability: 'beta',
  description: 'Groups spans into batches by size and time; bounded, retries downstream refusals and pushes back when full.',
  mutatesData: false,
  config: batchConfig,
  validate: validateBatchConfig,
  create(cfg, context) {
    // The config loader runs `validate` already; this catches callers that build components directly.
    const problems = validateBatchConfig(cfg);
    if (problems.length > 0) throw new Error(`${context.id}: ${problems.map((p) => p.message).join('; ')}`);
    return new SpanBatcher(cfg, context);
  },
});

export { SpanBatcher } from './batcher.js';
export { batchConfig, type BatchConfig } from './config.js';
