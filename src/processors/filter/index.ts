/**
 * The `filter` processor: drops spans, and span events, for which an OTTL condition is true, as the
 * OpenTelemetry Collector's filter processor does. Conditions are ORed; span conditions run first, then
 * span-event conditions on the spans that stay. Dropping every event of a span keeps the span. The legacy
 * `spans: {include, exclude}` form (match properties) is compiled into the same kind of drop conditions.
 *
 * It never changes a span it received: a span that loses events is passed on as a shallow copy with its
 * own event list, so the processor can share batches with other pipelines (`mutatesData: false`).
 */
import type { Counter } from 'prom-client';
import { defineProcessor, RefusedError, type ProcessorContext } from '../../component/types.js';
import { Span, type SpanBatch, type SpanEvent } from '../../model/span.js';
import { CountedLog } from '../../telemetry/logger.js';
import { throwIfInvalid } from '../common/config-problems.js';
import { compileSpanMatcher } from '../common/match.js';
import { compileFilterConfig, filterConfig, usesLegacyMatch, validateFilterConfig, type FilterConfig } from './config.js';
import { OttlEvalError, type Condition, type EvalContext } from './ottl-compile.js';

/** Metric label values naming each condition, e.g. `span_condition_0`. */
function reasons(prefix: string, n: number): string[] {
  return Array.from({ length: n }, (_, i) => `${prefix}_condition_${i}`);
}

export class SpanFilter {
  private readonly spanConditions: Condition[];
  private readonly eventConditions: Condition[];
  private readonly spanReasons: string[];
  private readonly eventReasons: string[];
  /** Drops per condition in the batch being processed; reported when the batch is done. */
  private readonly spanDrops: number[];
  private readonly eventDrops: number[];
  /** Reused for every evaluation; conditions never keep it. */
  private readonly ctx: EvalContext = { span: undefined as unknown as Span, event: undefined, eventIndex: 0 };
  private readonly eventsDropped: Counter<'processor' | 'pipeline' | 'reason'>;
  private readonly conditionErrors: Counter<'processor' | 'pipeline' | 'condition'>;
  private readonly eventDropLog: CountedLog;
  private readonly errorLog: CountedLog;

  constructor(
    private readonly cfg: FilterConfig,
    private readonly context: ProcessorContext,
  ) {
    throwIfInvalid(context.id, validateFilterConfig(cfg));
    const { compiled } = compileFilterConfig(cfg);
    if (usesLegacyMatch(cfg)) {
      // The legacy form keeps spans that match `include` and not `exclude`. As conditions that drop, it is
      // "not included" then "excluded", which also names the reason of each drop.
      const { include, exclude } = cfg.spans;
      if (include !== undefined) {
        const included = compileSpanMatcher(include, undefined);
        compiled.span.push((c) => !included(c.span));
      }
      if (exclude !== undefined) {
        const notExcluded = compileSpanMatcher(undefined, exclude);
        compiled.span.push((c) => !notExcluded(c.span));
      }
    }
    this.spanConditions = compiled.span;
    this.eventConditions = compiled.spanevent;
    this.spanReasons = usesLegacyMatch(cfg)
      ? [...(cfg.spans.include ? ['spans_not_included'] : []), ...(cfg.spans.exclude ? ['spans_excluded'] : [])]
      : reasons('span', compiled.span.length);
    this.eventReasons = reasons('spanevent', compiled.spanevent.length);
    this.spanDrops = compiled.span.map(() => 0);
    this.eventDrops = compiled.spanevent.map(() => 0);
    this.eventsDropped = context.metrics.counter(
      'spanline_processor_dropped_span_events_total',
      'Span events a processor removed from spans it passed on, by reason.',
      ['processor', 'pipeline', 'reason'],
    );
    this.conditionErrors = context.metrics.counter(
      'spanline_processor_filter_condition_errors_total',
      'Evaluations of a filter condition that failed (see error_mode), by condition.',
      ['processor', 'pipeline', 'condition'],
    );
    this.eventDropLog = new CountedLog(context.logger, 'span events dropped by processor');
    this.errorLog = new CountedLog(context.logger, 'filter condition failed to evaluate; treated as false');
  }

  process(batch: SpanBatch): SpanBatch {
    this.spanDrops.fill(0);
    this.eventDrops.fill(0);
    const filterEvents = this.eventConditions.length > 0;
    let out: SpanBatch | undefined;
    for (let i = 0; i < batch.length; i++) {
      const span = batch[i];
      this.ctx.span = span;
      const hit = this.spanConditions.length > 0 ? this.firstTrue(this.spanConditions, this.spanReasons) : -1;
      if (hit >= 0) {
        this.spanDrops[hit]++;
        out ??= batch.slice(0, i);
        continue;
      }
      const kept = filterEvents && span.events.length > 0 ? this.withoutDroppedEvents(span) : span;
      if (out !== undefined) out.push(kept);
      else if (kept !== span) {
        out = batch.slice(0, i);
        out.push(kept);
      }
    }
    this.ctx.span = undefined as unknown as Span;
    this.report();
    return out ?? batch;
  }

  async shutdown(): Promise<void> {
    this.eventDropLog.close();
    this.errorLog.close();
  }

  /** Index of the first condition that holds for `this.ctx`, or -1. */
  private firstTrue(conditions: Condition[], names: string[]): number {
    try {
      for (let k = 0; k < conditions.length; k++) if (conditions[k](this.ctx)) return k;
      return -1;
    } catch (e) {
      if (!(e instanceof OttlEvalError)) throw e;
      // Conditions have no side effects: evaluate again, one at a time, to apply error_mode to the failing ones.
      return this.firstTrueOneByOne(conditions, names);
    }
  }

  private firstTrueOneByOne(conditions: Condition[], names: string[]): number {
    for (let k = 0; k < conditions.length; k++) {
      try {
        if (conditions[k](this.ctx)) return k;
      } catch (e) {
        if (!(e instanceof OttlEvalError)) throw e;
        this.evaluationFailed(names[k], e);
      }
    }
    return -1;
  }

  private evaluationFailed(condition: string, e: OttlEvalError): void {
    const { processor, pipeline } = this.labels();
    this.conditionErrors.inc({ processor, pipeline, condition });
    if (this.cfg.error_mode === 'propagate') {
      this.ctx.span = undefined as unknown as Span;
      this.ctx.event = undefined;
      throw new RefusedError(`${this.context.id}: ${condition} failed: ${e.message}`, false, 0, 'filter_error');
    }
    if (this.cfg.error_mode === 'ignore') this.errorLog.add(1, `${condition}: ${e.message}`);
  }

  private withoutDroppedEvents(span: Span): Span {
    const events = span.events;
    let kept: SpanEvent[] | undefined;
    for (let j = 0; j < events.length; j++) {
      this.ctx.event = events[j];
      this.ctx.eventIndex = j;
      const hit = this.firstTrue(this.eventConditions, this.eventReasons);
      if (hit >= 0) {
        this.eventDrops[hit]++;
        kept ??= events.slice(0, j);
      } else if (kept !== undefined) {
        kept.push(events[j]);
      }
    }
    this.ctx.event = undefined;
    if (kept === undefined) return span;
    const copy = new Span(span.resource, span.attributes, kept, span.links);
    Object.assign(copy, span);
    copy.events = kept;
    return copy;
  }

  private labels(): { processor: string; pipeline: string } {
    return { processor: this.context.id, pipeline: this.context.pipeline };
  }

  private report(): void {
    for (let k = 0; k < this.spanDrops.length; k++) {
      if (this.spanDrops[k] > 0) this.context.dropped(this.spanDrops[k], this.spanReasons[k]);
    }
    for (let k = 0; k < this.eventDrops.length; k++) {
      const n = this.eventDrops[k];
      if (n === 0) continue;
      this.eventsDropped.inc({ ...this.labels(), reason: this.eventReasons[k] }, n);
      this.eventDropLog.add(n, this.eventReasons[k]);
    }
  }
}

export const filterProcessor = defineProcessor({
  type: 'filter',
  stability: 'beta',
  description: 'Drops spans and span events for which an OTTL condition is true (the Collector\'s filter processor).',
  mutatesData: false,
  config: filterConfig,
  validate: validateFilterConfig,
  create(cfg, context) {
    return new SpanFilter(cfg, context);
  },
});

export { filterConfig, type FilterConfig } from './config.js';
