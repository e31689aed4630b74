/**
 * The `attributes` processor's config: the keys of the OpenTelemetry Collector's attributes processor, so
 * a Collector config runs unchanged. Checks the Collector makes when it builds the processor are made
 * here at validation, with the YAML path of the offending key.
 */
import { RE2JS } from 're2js';
import { didYouMean, s, Schema, type Context, type InferShape, type Path } from '../../config/schema.js';
import { ConfigValueSchema, newMatchPropertiesSchema, validateSpanMatch } from '../common/match.js';
import { compileSafePattern } from '../common/safe-regex.js';

export const ACTIONS = ['insert', 'update', 'upsert', 'delete', 'hash', 'extract', 'convert'] as const;
export type ActionName = (typeof ACTIONS)[number];

/** An action name; any case is accepted, as by the Collector (`INSERT` is `insert`). */
class ActionNameSchema extends Schema<ActionName> {
  check(value: unknown, path: Path, ctx: Context): ActionName | undefined {
    const lower = typeof value === 'string' ? value.toLowerCase() : undefined;
    if (lower !== undefined && (ACTIONS as readonly string[]).includes(lower)) return lower as ActionName;
    const hint = typeof value === 'string' ? didYouMean(value, ACTIONS) : '';
    ctx.issues.push({ path, message: `must be one of ${ACTIONS.join(', ')}; got ${JSON.stringify(value)}${hint}` });
    return undefined;
  }
  typeName(): string {
    return ACTIONS.map((a) => `\`${a}\``).join(' \\| ');
  }
  jsonSchema(): Record<string, unknown> {
    // Editors complete the lower-case names; upper case is listed too, as Collector configs use it.
    return { enum: [...ACTIONS, ...ACTIONS.map((a) => a.toUpperCase())] };
  }
}

const actionSchema = s.object({
  key: s.string().optional().describe('The attribute to act on. Required except for `delete` and `hash` with a `pattern`.'),
  action: new ActionNameSchema().describe(
    '`insert` (only if absent), `update` (only if present), `upsert` (either), `delete`, `hash` (SHA-256, hex), `extract` (named groups of `pattern` to new keys, overwriting), `convert` (to `converted_type`).',
  ),
  value: new ConfigValueSchema()
    .optional()
    .describe('insert/update/upsert: the value, typed as written (200 is an int, "200" a string, 2.5 a double, true a boolean).'),
  from_attribute: s.string().optional().describe('insert/update/upsert: copy the value of this span attribute; nothing happens when it is absent (unless `default_value`).'),
  from_context: s
    .string()
    .optional()
    .describe('Not supported: spanline does not pass request metadata to processors; a config that sets it is refused.'),
  default_value: new ConfigValueSchema()
    .optional()
    .describe('insert/update/upsert: the value to use when `from_attribute` is absent on the span, or when `value` is the empty string (an unset `${env:...}`).'),
  pattern: s
    .string()
    .optional()
    .describe('delete/hash: also act on every key this RE2 pattern matches; extract: the pattern, with named groups `(?P<name>...)`, matched against the value of `key`.'),
  converted_type: s.enum('int', 'double', 'string').optional().describe('convert: the target type; a value that does not convert is left as it is.'),
});

export const attributesConfig = s.object({
  actions: s.array(actionSchema).describe('Applied to each selected span in the order listed.'),
  include: newMatchPropertiesSchema().optional().describe('Act only on spans that match all the properties given.'),
  exclude: newMatchPropertiesSchema().optional().describe('Do not act on spans that match; checked after `include`.'),
});

export type AttributesConfig = InferShape<typeof attributesConfig.shape>;
export type ActionConfig = AttributesConfig['actions'][number];

type Problem = { path: Path; message: string };

/** The named groups of an extract pattern in group order; throws when the pattern has none or an unnamed one. */
export function extractGroupNames(pattern: string): string[] {
  // Only for group introspection, which SafePattern does not expose; matching goes through compileSafePattern.
  const re = RE2JS.compile(pattern);
  const named = re.namedGroups();
  const names = Object.keys(named).sort((a, b) => named[a] - named[b]);
  if (names.length === 0) throw new Error('has no named groups: name each value to extract, as in (?P<name>...)');
  if (re.groupCount() > names.length) throw new Error('has an unnamed group: every group must be named ((?P<name>...)), or made non-capturing ((?:...))');
  return names;
}

/** The checks across keys of one action, as the Collector makes them, plus the pattern's syntax. */
function validateAction(a: ActionConfig, path: Path): Problem[] {
  const problems: Problem[] = [];
  const at = (key: string, message: string): void => void problems.push({ path: [...path, key], message });
  const has = (v: string | undefined): v is string => v !== undefined && v !== '';
  const hasKey = has(a.key);
  const hasPattern = has(a.pattern);
  const name = a.action;

  if (a.from_context !== undefined) {
    at('from_context', 'is not supported: spanline does not pass request metadata (metadata.*, auth.*, client.address) to processors; remove it, or use `value` or `from_attribute`');
  }
  const notFor = (key: keyof ActionConfig, present: boolean): void => {
    if (present) at(key, `is not used by action "${name}"; remove it`);
  };

  switch (name) {
    case 'insert':
    case 'update':
    case 'upsert':
      if (!hasKey) at('key', `is required for action "${name}"`);
      if (a.value !== undefined && has(a.from_attribute)) {
        at('from_attribute', 'give one value source: either `value` or `from_attribute`, not both');
      } else if (a.value === undefined && !has(a.from_attribute) && a.default_value === undefined && a.from_context === undefined) {
        problems.push({ path, message: `action "${name}" needs a value: set \`value\`, \`from_attribute\` or \`default_value\`` });
      }
      notFor('pattern', a.pattern !== undefined);
      notFor('converted_type', a.converted_type !== undefined);
      break;
    case 'delete':
    case 'hash':
      if (!hasKey && !hasPattern) problems.push({ path, message: `action "${name}" needs \`key\`, \`pattern\` or both` });
      notFor('value', a.value !== undefined);
      notFor('from_attribute', a.from_attribute !== undefined);
      notFor('default_value', a.default_value !== undefined);
      notFor('converted_type', a.converted_type !== undefined);
      if (hasPattern) patternProblem(a.pattern!, (m) => at('pattern', m));
      break;
    case 'extract':
      if (!hasKey) at('key', 'is required for action "extract" (the attribute to extract from)');
      notFor('value', a.value !== undefined);
      notFor('from_attribute', a.from_attribute !== undefined);
      notFor('default_value', a.default_value !== undefined);
      notFor('converted_type', a.converted_type !== undefined);
      if (!hasPattern) at('pattern', 'is required for action "extract"');
      else if (patternProblem(a.pattern!, (m) => at('pattern', m))) {
        try {
          extractGroupNames(a.pattern!);
        } catch (e) {
          at('pattern', `${JSON.stringify(a.pattern)} ${(e as Error).message}`);
        }
      }
      break;
    case 'convert':
      if (!hasKey) at('key', 'is required for action "convert"');
      notFor('value', a.value !== undefined);
      notFor('from_attribute', a.from_attribute !== undefined);
      notFor('default_value', a.default_value !== undefined);
      notFor('pattern', a.pattern !== undefined);
      if (a.converted_type === undefined) at('converted_type', 'is required for action "convert" (int, double or string)');
      break;
  }
  return problems;
}

/** Reports a pattern that does not compile; true when it compiles. */
function patternProblem(pattern: string, report: (message: string) => void): boolean {
  try {
    compileSafePattern(pattern);
    return true;
  } catch (e) {
    report(e instanceof Error ? e.message : String(e));
    return false;
  }
}

export function validateAttributesConfig(cfg: AttributesConfig): Problem[] {
  const problems: Problem[] = [];
  if (cfg.actions.length === 0) problems.push({ path: ['actions'], message: 'must list at least one action' });
  cfg.actions.forEach((a, i) => problems.push(...validateAction(a, ['actions', i])));
  problems.push(...validateSpanMatch(cfg.include, cfg.exclude));
  return problems;
}
