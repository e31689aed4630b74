/**
 * An attempt that times out is not retried while it may still complete: an exporter that cannot stop
 * midway (a file write) would otherwise deliver the batch twice.
 */
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import type { Exporter, ExportResult } from '../../src/component/types.js';
import { s } from '../../src/config/schema.js';
import { newResource, Span, type SpanBatch } from '../../src/model/span.js';
import { exporterHelperShape, SendingQueue } from '../../src/pipeline/exporter-queue.js';
import { SelfMetrics } from '../../src/telemetry/metrics.js';

const config = s.object(exporterHelperShape()).check(
  { sending_queue: { enabled: false }, timeout: '100ms', retry_on_failure: { initial_interval: '10ms', max_elapsed_time: '0s' } },
  [],
  { issues: [] } as never,
)!;

/** Ignores the abort signal and settles after `ms` with `result`; counts its attempts. */
class Stubborn implements Exporter {
  attempts = 0;
  constructor(
    private readonly ms: number,
    private readonly result: ExportResult,
  ) {}
  export(): Promise<ExportResult> {
    this.attempts++;
    const ms = this.attempts === 1 ? this.ms : 0;
    return new Promise((r) => setTimeout(() => r(this.result), ms).unref());
  }
}

const batch = (): SpanBatch => [new Span(newResource())];

describe('export timeout', () => {
  it('takes the outcome of an attempt that completes after its timeout, without a second attempt', async () => {
    const exporter = new Stubborn(150, { code: 'success' });
    const q = new SendingQueue('file', exporter, config, new SelfMetrics(), pino({ level: 'silent' }));
    await q.consume(batch());
    expect(exporter.attempts).toBe(1);
  });

  it('retries an attempt that does not settle within twice the timeout', async () => {
    const exporter = new Stubborn(60_000, { code: 'success' });
    const metrics = new SelfMetrics();
    const q = new SendingQueue('file', exporter, config, metrics, pino({ level: 'silent' }));
    const t0 = Date.now();
    await q.consume(batch());
    expect(exporter.attempts).toBe(2);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(190);
    expect(await metrics.text()).toMatch(/spanline_exporter_retries_total\{exporter="file"\} 1/);
  });
});
