/**
 * The `redaction` processor: removes attributes whose keys are not allowed and masks (or hashes) values
 * that match blocked patterns, with the OpenTelemetry Collector's keys and rules (see redactor.ts).
 * Patterns are compiled once, at create(), through the linear-time safe-regex module.
 */
import { defineProcessor } from '../../component/types.js';
import { throwIfInvalid } from '../common/config-problems.js';
import { redactionConfig, validateRedactionConfig } from './config.js';
import { Redactor } from './redactor.js';

export const redactionProcessor = defineProcessor({
  type: 'redaction',
  stability: 'beta',
  description:
    'Removes span, event, link, resource and scope attributes whose keys are not allowed (fails closed) and masks or hashes values matching blocked patterns.',
  mutatesData: true,
  config: redactionConfig,
  validate: validateRedactionConfig,
  create(cfg, context) {
    throwIfInvalid(context.id, validateRedactionConfig(cfg));
    const redactor = new Redactor(cfg);
    if (redactor.removesEverything()) {
      context.logger.warn(
        { processor: context.id },
        'redaction removes every attribute: allowed_keys is empty and allow_all_keys is false (set one of them to keep attributes)',
      );
    }
    const changed = context.metrics.counter(
      'spanline_redaction_attributes_total',
      'Attributes the redaction processor removed or masked (event names count as masked attributes).',
      ['processor', 'pipeline', 'action'],
    );
    const removed = changed.labels(context.id, context.pipeline, 'removed');
    const masked = changed.labels(context.id, context.pipeline, 'masked');
    return {
      process(batch) {
        const tally = redactor.redact(batch);
        if (tally.removed > 0) removed.inc(tally.removed);
        if (tally.masked > 0) masked.inc(tally.masked);
        return batch;
      },
    };
  },
});

export { redactionConfig, type RedactionConfig } from './config.js';
export { Redactor } from './redactor.js';
