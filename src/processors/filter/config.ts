import { s, type InferShape, type Path } from '../../config/schema.js';
import { newMatchPropertiesSchema, validateSpanMatch } from '../common/match.js';
import { compileCondition, type Condition, type OttlContextName } from './ottl-compile.js';
import { OttlError } from './ottl-parse.js';

export const filterConfig = s.object({
  error_mode: s
    .enum('propagate', 'ignore', 'silent')
    .default('propagate')
    .describe(
      'When a condition fails to evaluate (arithmetic on a string attribute, division by zero): `propagate` refuses the whole batch (the sender gets a permanent error), `ignore` treats the condition as false and logs it (once per interval, with a count), `silent` treats it as false.',
    ),
  traces: s
    .object({
      span: s
        .array(s.string())
        .default([])
        .describe('OTTL conditions on spans (span context: `name`, `kind`, `attributes["k"]`, `resource.attributes["k"]`, …). A span for which any condition is true is dropped.'),
      spanevent: s
        .array(s.string())
        .default([])
        .describe('OTTL conditions on the span events of the spans kept (`name`, `attributes["k"]`, `span.*`). An event for which any is true is removed; the span stays.'),
    })
    .describe('OTTL conditions, ORed, spans first. The subset supported is listed in the README.'),
  spans: s
    .object({
      include: newMatchPropertiesSchema().optional().describe('Legacy form: keep only the spans that match (match properties, as in `attributes`).'),
      exclude: newMatchPropertiesSchema().optional().describe('Legacy form: drop the spans that match.'),
    })
    .describe('The legacy `include`/`exclude` form; cannot be combined with `traces`.'),
});

export type FilterConfig = InferShape<typeof filterConfig.shape>;

export interface CompiledConditions {
  span: Condition[];
  spanevent: Condition[];
}

/**
 * Compiles every condition; problems carry the YAML path of the condition and the column inside it.
 * Used by `validate` (config errors before start) and by `create`.
 */
export function compileFilterConfig(cfg: FilterConfig): { compiled: CompiledConditions; problems: { path: Path; message: string }[] } {
  const problems: { path: Path; message: string }[] = [];
  const compiled: CompiledConditions = { span: [], spanevent: [] };
  for (const context of ['span', 'spanevent'] as OttlContextName[]) {
    cfg.traces[context].forEach((source, i) => {
      try {
        compiled[context].push(compileCondition(source, context));
      } catch (e) {
        if (!(e instanceof OttlError)) throw e;
        problems.push({ path: ['traces', context, i], message: `column ${e.column}: ${e.message}` });
      }
    });
  }
  return { compiled, problems };
}

/** True when the legacy `spans: include/exclude` form is used. */
export function usesLegacyMatch(cfg: FilterConfig): boolean {
  return cfg.spans.include !== undefined || cfg.spans.exclude !== undefined;
}

export function validateFilterConfig(cfg: FilterConfig): { path: Path; message: string }[] {
  const problems = compileFilterConfig(cfg).problems;
  problems.push(...validateSpanMatch(cfg.spans.include, cfg.spans.exclude, ['spans']));
  if (usesLegacyMatch(cfg) && cfg.traces.span.length + cfg.traces.spanevent.length > 0) {
    problems.push({ path: ['spans'], message: 'cannot be combined with OTTL conditions in `traces`; use one form' });
  }
  return problems;
}
