/**
 * The `attributes` processor: inserts, updates, upserts, deletes, hashes, extracts and converts span
 * attributes, as the OpenTelemetry Collector's attributes processor does, on the spans that `include` /
 * `exclude` select. It changes spans in place (`mutatesData`), so its pipeline gets its own copy.
 */
import { defineProcessor } from '../../component/types.js';
import { throwIfInvalid } from '../common/config-problems.js';
import { compileSpanMatcher } from '../common/match.js';
import { applyActions, compileActions } from './actions.js';
import { attributesConfig, validateAttributesConfig } from './config.js';

export const attributesProcessor = defineProcessor({
  type: 'attributes',
  stability: 'beta',
  description: 'Inserts, updates, upserts, deletes, hashes, extracts and converts span attributes, on the spans that include/exclude select.',
  mutatesData: true,
  config: attributesConfig,
  validate: validateAttributesConfig,
  create(cfg, context) {
    throwIfInvalid(context.id, validateAttributesConfig(cfg));
    const actions = compileActions(cfg.actions);
    const selected = cfg.include === undefined && cfg.exclude === undefined ? undefined : compileSpanMatcher(cfg.include, cfg.exclude);
    return {
      process(batch) {
        for (let i = 0; i < batch.length; i++) {
          const span = batch[i];
          if (selected === undefined || selected(span)) span.attributes = applyActions(actions, span.attributes);
        }
        return batch;
      },
    };
  },
});

export { attributesConfig, type AttributesConfig } from './config.js';
