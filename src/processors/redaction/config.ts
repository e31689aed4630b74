import { s, type InferShape, type Path } from '../../config/schema.js';
import { compileSafePattern } from '../common/safe-regex.js';
import { unsupportedKey } from '../common/unsupported-key.js';

const patterns = () => s.array(s.string()).default([]);

export const redactionConfig = s.object({
  allow_all_keys: s
    .boolean()
    .default(false)
    .describe('Keep every attribute key (`allowed_keys` is then ignored); values are still checked against `blocked_values`.'),
  allowed_keys: s
    .array(s.string())
    .default([])
    .describe('Attribute keys to keep; every other attribute is removed. Fails closed: empty (and `allow_all_keys` false) removes all attributes.'),
  ignored_keys: s
    .array(s.string())
    .default([])
    .describe('Attribute keys kept unchanged: never removed, masked or checked. Checked before every other rule.'),
  ignored_key_patterns: patterns().describe('Like `ignored_keys`, for keys matching one of these regular expressions (RE2 syntax).'),
  blocked_key_patterns: patterns().describe(
    'Regular expressions (RE2 syntax) on keys: the whole value of a matching key is masked (or hashed), whatever its type.',
  ),
  blocked_values: patterns().describe(
    'Regular expressions (RE2 syntax) on values: every matching part of a value is masked (or hashed), patterns applied in order. Also applied to event names (Zipkin annotation values).',
  ),
  allowed_values: patterns().describe(
    'Regular expressions (RE2 syntax): a value matching one is left as it is, even if it matches `blocked_values` or its key matches `blocked_key_patterns`.',
  ),
  redact_all_types: s
    .boolean()
    .default(false)
    .describe('Check non-string values too, as their string form (the Collector\'s `AsString`: ints, doubles, booleans, arrays and maps as JSON, map keys sorted); a masked value becomes a string.'),
  hash_function: s
    .enum('md5', 'sha1', 'sha3')
    .optional()
    .describe('Replace each match with its hex digest (`sha3` is SHA3-256) instead of `****`.'),
  summary: s
    .enum('debug', 'info', 'silent')
    .default('silent')
    .describe(
      'Diagnostic attributes added where something changed: `debug` adds `redaction.{redacted,masked,allowed}.keys` and the counts, `info` only `redaction.{redacted,masked,allowed,ignored}.count`, `silent` nothing.',
    ),
  url_sanitizer: unsupportedKey(
    'redaction processor',
    'the Collector classifies URL path segments with a trained model that spanline does not have; remove the key, or mask with `blocked_values`',
  ),
  db_sanitizer: unsupportedKey(
    'redaction processor',
    'spanline has no database query obfuscators; remove the key, or mask literals with `blocked_values`',
  ),
});

export type RedactionConfig = InferShape<typeof redactionConfig.shape>;

const PATTERN_KEYS = ['ignored_key_patterns', 'blocked_key_patterns', 'blocked_values', 'allowed_values'] as const;

/** Compiles every pattern, so a bad one is a config error at its YAML path (e.g. `blocked_values.2`). */
export function validateRedactionConfig(cfg: RedactionConfig): { path: Path; message: string }[] {
  const problems: { path: Path; message: string }[] = [];
  for (const key of PATTERN_KEYS) {
    cfg[key].forEach((source, i) => {
      try {
        compileSafePattern(source);
      } catch (e) {
        problems.push({ path: [key, i], message: (e as Error).message });
      }
    });
  }
  return problems;
}
