/**
 * The `debug` exporter: writes what reaches it to the daemon's own log, to see a pipeline work without a
 * backend. It never fails.
 */
import { defineExporter, permanent, SUCCESS } from '../../component/types.js';
import { s } from '../../config/schema.js';
import { describeSpan, spanLine, summarizeBatch } from './describe.js';

const config = s.object({
  verbosity: s
    .enum('basic', 'normal', 'detailed')
    .default('basic')
    .describe('`basic`: one line per batch with counts. `normal`: adds one line per span. `detailed`: also logs every span in full.'),
});

export const debugExporter = defineExporter({
  type: 'debug',
  stability: 'development',
  description: 'Logs the spans it receives: counts per batch, a line per span, or every span in full.',
  config,
  create(cfg, context) {
    const logger = context.logger;
    return {
      async export(batch) {
        try {
          const summary = summarizeBatch(batch);
          if (cfg.verbosity === 'basic') {
            logger.info(summary, 'spans exported');
            return SUCCESS;
          }
          logger.info({ ...summary, summary: batch.map(spanLine) }, 'spans exported');
          if (cfg.verbosity === 'detailed') {
            for (const span of batch) logger.info({ span: describeSpan(span) }, 'span');
          }
          return SUCCESS;
        } catch (e) {
          return permanent(e instanceof Error ? e : new Error(String(e)));
        }
      },
    };
  },
});
