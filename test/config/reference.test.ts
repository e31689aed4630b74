import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { builtInRegistry } from '../../src/components.js';
import { componentReference, REFERENCE_END, REFERENCE_START } from '../../src/config/reference.js';

describe('the README component reference', () => {
  it('is what the schemas generate (run `npm run docs` after changing a schema)', () => {
    const readme = readFileSync('README.md', 'utf8');
    const section = readme.slice(readme.indexOf(REFERENCE_START), readme.indexOf(REFERENCE_END) + REFERENCE_END.length);
    expect(section).toBe(componentReference(builtInRegistry()));
  });

  it('documents every key of every built-in component, with its default', () => {
    const ref = componentReference(builtInRegistry());
    for (const key of ['`endpoint`', '`max_request_body_size`', '`send_batch_size`', '`send_batch_max_size`', '`timeout`', '`path`', '`format`', '`rotation.max_megabytes`', '`sending_queue.queue_size`', '`retry_on_failure.max_elapsed_time`', '`verbosity`', '`shutdown_timeout`']) {
      expect(ref).toContain(`| ${key} |`);
    }
    expect(ref).toContain('| `timeout` | duration | `200ms` |');
    expect(ref).toContain('| `path` | string | *required* |');
  });
});
