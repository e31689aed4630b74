import type { Path } from '../../config/schema.js';

/**
 * Throws what a processor's `validate` found. The config loader reports these earlier, with file and
 * line; `create` calls this first so that a caller that builds the processor directly (a test, a plugin
 * host) cannot get one from a config that validation refuses.
 */
export function throwIfInvalid(id: string, problems: readonly { path: Path; message: string }[]): void {
  if (problems.length === 0) return;
  throw new Error(`${id}: ${problems.map((p) => `${p.path.join('.')}: ${p.message}`).join('; ')}`);
}
