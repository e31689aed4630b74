/**
 * The `file` exporter: appends spans to a local file, one JSON document per line, rotating by size.
 */
import { resolve } from 'node:path';
import { defineExporter, prepareAndSend, retryable, SUCCESS, type PreparedRequest } from '../../component/types.js';
import { s } from '../../config/schema.js';
import { appendZipkinV2Lines } from '../../codecs/zipkin-json.js';
import { appendOtlpJson } from '../../codecs/otlp-json.js';
import { JsonBytes } from '../../codecs/json-text.js';
import type { SpanBatch } from '../../model/span.js';
import { RotatingFile } from './rotating-file.js';

const config = s.object({
  path: s.string().nonEmpty().describe('File to append to (relative to the working directory); its directory is created.'),
  format: s
    .enum('zipkin_json', 'otlp_json')
    .default('zipkin_json')
    .describe('`zipkin_json`: one Zipkin v2 span object per line. `otlp_json`: one OTLP/JSON ExportTraceServiceRequest per line (one per batch).'),
  rotation: s
    .object({
      max_megabytes: s.int().range(0).default(100).describe('Rotate when the file would grow past this size (0: never rotate).'),
      max_backups: s.int().range(0).default(5).describe('Rotated files to keep (`path.1` is the newest).'),
    })
    .describe('Size-based rotation.'),
});

/** Spans encoded between two yields to the event loop: a large batch must not stall receivers. */
const CHUNK_SPANS = 512;

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * Zipkin JSON lines for a batch, written into `w`, a chunk of spans at a time with a yield to the event
 * loop between chunks: one 8192-span batch encoded in one go held the loop for ~50 ms (BENCHMARKS.md),
 * which is what receivers' p99 latency was made of.
 */
async function writeZipkinLines(w: JsonBytes, batch: SpanBatch): Promise<void> {
  for (let from = 0; from < batch.length; from += CHUNK_SPANS) {
    if (from > 0) await nextTurn();
    appendZipkinV2Lines(w, batch, from, Math.min(batch.length, from + CHUNK_SPANS));
  }
}

/** One OTLP/JSON request line for a batch, written into `w` in chunks with yields between them (as above). */
async function writeOtlpLine(w: JsonBytes, batch: SpanBatch): Promise<void> {
  for (const _ of appendOtlpJson(w, batch, CHUNK_SPANS)) await nextTurn();
  w.byte(0x0a);
}

/**
 * The writers a batch is encoded into, used again once its bytes are in the file. A new buffer for
 * every batch was ~650 bytes of ArrayBuffer a span, and young ArrayBuffers are what start most
 * scavenges (BENCHMARKS.md); a writer kept here has grown to the size of a batch and stays so.
 */
class Writers {
  private readonly free: JsonBytes[] = [];

  borrow(): JsonBytes {
    return this.free.pop() ?? new JsonBytes(256 * 1024);
  }

  /** Takes back a writer whose bytes nothing reads any more; keeps a few, none above 16 MiB. */
  giveBack(w: JsonBytes): void {
    if (this.free.length >= KEPT_WRITERS || w.capacity > 16 * 1024 * 1024) return;
    w.clear();
    this.free.push(w);
  }
}

/** As many as the sending queue's default consumers: each holds one batch's bytes while it writes. */
const KEPT_WRITERS = 4;

export const fileExporter = defineExporter({
  type: 'file',
  stability: 'beta',
  description: 'Appends spans to a file as Zipkin v2 JSON lines or OTLP/JSON requests, with size-based rotation.',
  config,
  create(cfg, context) {
    const path = resolve(cfg.path);
    const file = new RotatingFile(path, cfg.rotation.max_megabytes * 1024 * 1024, cfg.rotation.max_backups);
    const encode = cfg.format === 'zipkin_json' ? writeZipkinLines : writeOtlpLine;
    const writers = new Writers();
    /**
     * The bytes of a batch, written by each attempt; only the write is retried. Their writer goes back
     * once they are in the file; a request dropped unwritten leaves its writer to the GC.
     */
    async function prepareRequest(batch: SpanBatch): Promise<PreparedRequest> {
      const w = writers.borrow();
      await encode(w, batch);
      const data = w.written();
      return {
        async send() {
          try {
            await file.write(data);
            writers.giveBack(w);
            return SUCCESS;
          } catch (e) {
            // Disk full or a transient I/O error: the queue retries.
            return retryable(e as Error);
          }
        },
      };
    }
    return {
      async start() {
        await file.open();
        context.logger.info({ path, format: cfg.format }, 'writing spans to file');
      },
      prepareRequest,
      export: (batch, signal) => prepareAndSend(prepareRequest, batch, signal),
      async shutdown() {
        await file.close();
      },
    };
  },
});
