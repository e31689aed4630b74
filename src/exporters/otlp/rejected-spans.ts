/**
 * What an OTLP exporter does with a partial success: the backend took the request but rejected some of
 * its spans. OTLP forbids retrying such a request, and the response does not say which spans were
 * rejected, so the attempt is a success for the queue; the rejected spans are counted as failed with
 * reason `rejected` and logged once per interval with their count and the backend's message. (They are
 * also among the queue's sent spans: the queue counts the request it handed over.)
 */
import type { ExporterContext } from '../../component/types.js';
import type { PartialSuccess } from '../../codecs/otlp-proto.js';
import { CountedLog } from '../../telemetry/logger.js';

export class RejectedSpans {
  private readonly log: CountedLog;
  private readonly warnings: CountedLog;

  constructor(private readonly context: ExporterContext) {
    this.log = new CountedLog(context.logger, 'spans rejected by the backend (OTLP partial success)');
    this.warnings = new CountedLog(context.logger, 'responses with a backend warning (OTLP partial success, nothing rejected)');
  }

  record(partial: PartialSuccess | undefined): void {
    if (partial === undefined) return;
    if (partial.rejectedSpans > 0) {
      this.context.metrics.exporterFailed.inc({ exporter: this.context.id, reason: 'rejected' }, partial.rejectedSpans);
      this.log.add(partial.rejectedSpans, partial.errorMessage);
    } else {
      // A warning with nothing rejected (OTLP allows it).
      this.warnings.add(1, partial.errorMessage);
    }
  }

  close(): void {
    this.log.close();
    this.warnings.close();
  }
}
