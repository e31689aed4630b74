/**
 * Building one processor in a unit test, as the config loader and the graph would: its config checked
 * against the factory's schema, and a context whose drops the test can read.
 */
import { pino } from 'pino';
import type { ProcessorContext, ProcessorFactory } from '../../src/component/types.js';
import type { Context, InferShape, Shape } from '../../src/config/schema.js';
import { SelfMetrics } from '../../src/telemetry/metrics.js';

/** `raw` through the factory's schema (defaults applied); throws with the schema's issues. */
export function checkedConfig<S extends Shape>(factory: ProcessorFactory<S>, raw: Record<string, unknown>): InferShape<S> {
  const ctx: Context = { issues: [] };
  const cfg = factory.config.check(raw, [], ctx);
  if (cfg === undefined) throw new Error(ctx.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '));
  return cfg;
}

/** The problems the config loader reports for `raw`: the schema's issues, else those of `validate`. */
export function configProblems<S extends Shape>(factory: ProcessorFactory<S>, raw: Record<string, unknown>): { path: string; message: string }[] {
  const ctx: Context = { issues: [] };
  const cfg = factory.config.check(raw, [], ctx);
  const issues = cfg === undefined ? ctx.issues : (factory.validate?.(cfg) ?? []);
  return issues.map((i) => ({ path: i.path.join('.'), message: i.message }));
}

/** A context for pipeline `traces` with no next consumer; `dropped` records the drops by reason. */
export function processorContext(id: string, over: Partial<ProcessorContext> = {}): ProcessorContext & { drops: Record<string, number> } {
  const drops: Record<string, number> = {};
  return {
    id,
    logger: pino({ level: 'silent' }),
    metrics: new SelfMetrics(),
    configDir: '.',
    pipeline: 'traces',
    next: { consume: async () => {} },
    durableDownstream: false,
    dropped: (count, reason) => void (drops[reason] = (drops[reason] ?? 0) + count),
    ...over,
    drops,
  };
}
