// An example spanline plugin: a processor that removes query strings and fragments from URL attributes,
// where tokens and personal data tend to hide (`/login?token=...`).
//
// Load it from YAML:
//
//   plugins: [./examples/plugins/url-query-scrubber.mjs]
//   processors:
//     url_query_scrubber:
//       attributes: [http.url, url.full]
//
// A plugin is a module whose default export is `definePlugin({ name, components })`. Components are
// declared exactly like spanline's built-ins: a type, a config schema (with defaults; unknown keys are
// errors), and `create(config, context)`. A processor only writes `process(batch)`; spanline counts,
// routes errors and runs the lifecycle around it.
import { definePlugin, defineProcessor, s } from 'spanline';

const scrubber = defineProcessor({
  type: 'url_query_scrubber',
  stability: 'alpha',
  description: 'Removes query strings and fragments from URL attributes (example plugin).',
  mutatesData: true,
  config: s.object({
    attributes: s
      .array(s.string().nonEmpty())
      .default(['http.url', 'url.full', 'http.target'])
      .describe('Span attributes holding URLs.'),
    replacement: s.string().default('').describe('Text put in place of the removed part, e.g. "?redacted".'),
  }),
  create(config, context) {
    const scrubbed = context.metrics.counter(
      'spanline_url_query_scrubber_scrubbed_total',
      'URL attributes whose query string or fragment was removed.',
      ['processor'],
    );
    return {
      /** @param {import('spanline').SpanBatch} batch */
      process(batch) {
        let n = 0;
        for (const span of batch) {
          for (const key of config.attributes) {
            const value = span.attributes[key];
            if (typeof value !== 'string') continue;
            const cut = value.search(/[?#]/);
            if (cut >= 0) {
              span.attributes[key] = value.slice(0, cut) + config.replacement;
              n++;
            }
          }
        }
        if (n > 0) scrubbed.inc({ processor: context.id }, n);
        return batch;
      },
    };
  },
});

export default definePlugin({ name: 'url-query-scrubber', components: [scrubber] });
