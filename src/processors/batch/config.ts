import { s, type InferShape, type Path } from '../../config/schema.js';

export const batchConfig = s.object({
  send_batch_size: s
    .int()
    .range(1)
    .default(8192)
    .describe('Send when this many spans are buffered. A trigger, not a cap: one incoming batch can push a batch past it.'),
  send_batch_max_size: s
    .int()
    .range(0)
    .default(0)
    .describe('Split batches larger than this (0: no limit). When set, at least `send_batch_size`.'),
  timeout: s
    .duration()
    .default(200)
    .describe('Send a batch this long after its first span arrived, whatever its size (0: send at once, only splitting by `send_batch_max_size`).'),
  max_buffered_spans: s
    .int()
    .range(1)
    .default(100_000)
    .describe('Spans held at most, including batches waiting for a downstream retry; beyond it senders are refused with a retryable error.'),
  max_buffered_bytes: s
    .byteSize()
    .default(128 * 1024 * 1024)
    .describe('Memory the held spans may take at most (an estimate, as the sending queue\'s `queue_bytes`); beyond it senders are refused with a retryable error.'),
  wait_for_result: s
    .boolean()
    .default(false)
    .describe('Acknowledge a sender only when its spans were accepted downstream, and pass the downstream error back to it. On by itself when an exporter of the pipeline has a persistent queue (`sending_queue.storage`).'),
});

export type BatchConfig = InferShape<typeof batchConfig.shape>;

/** The checks that span several keys. */
export function validateBatchConfig(cfg: BatchConfig): { path: Path; message: string }[] {
  const problems: { path: Path; message: string }[] = [];
  if (cfg.send_batch_max_size !== 0 && cfg.send_batch_max_size < cfg.send_batch_size) {
    problems.push({
      path: ['send_batch_max_size'],
      message: `send_batch_max_size (${cfg.send_batch_max_size}) must be at least send_batch_size (${cfg.send_batch_size}) or 0`,
    });
  }
  if (cfg.max_buffered_spans < cfg.send_batch_size) {
    problems.push({
      path: ['max_buffered_spans'],
      message: `max_buffered_spans (${cfg.max_buffered_spans}) must be at least send_batch_size (${cfg.send_batch_size}), or batches would never fill`,
    });
  }
  return problems;
}
