/**
 * The `file` exporter: appends spans to a local file, one JSON document per line, rotating by size.
 */
import { resolve } from 'node:path';
import { defineExporter, prepareAndSend, retryable, SUCCESS, type PreparedRequest } from '../../component/types.js';
import { s } from '../../config/schema.js';
import { writeZipkinV2Lines } from '../../codecs/zipkin-json.js';
import { encodeOtlpJsonChunks } from '../../codecs/otlp-json.js';
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

/**
 * Zipkin JSON lines for a batch, as bytes, one Buffer per chunk (written with one writev). Each chunk
 * is encoded straight into bytes (writeZipkinV2Lines) with a yield to the event loop between chunks:
 * one 8192-span batch encoded in one go held the loop for ~50 ms (BENCHMARKS.md), which is what
 * receivers' p99 latency was made of.
 */
async function encodeZipkinLines(batch: SpanBatch): Promise<Buffer[]> {
  const chunks: Buffer[] = [];
  for (let from = 0; from < batch.length; from += CHUNK_SPANS) {
    if (from > 0) await new Promise<void>((resolve) => setImmediate(resolve));
    chunks.push(writeZipkinV2Lines(batch, from, Math.min(batch.length, from + CHUNK_SPANS)));
  }
  return chunks;
}

/** One OTLP/JSON request line for a batch, encoded in chunks with yields between them (as above). */
async function encodeOtlpLine(batch: SpanBatch): Promise<Buffer[]> {
  const chunks: Buffer[] = [];
  for (const chunk of encodeOtlpJsonChunks(batch, CHUNK_SPANS)) {
    if (chunks.length > 0) await new Promise<void>((resolve) => setImmediate(resolve));
    chunks.push(chunk);
  }
  chunks.push(NEWLINE);
  return chunks;
}

const NEWLINE = Buffer.from('\n');

export const fileExporter = defineExporter({
  type: 'file',
  stability: 'beta',
  description: 'Appends spans to a file as Zipkin v2 JSON lines or OTLP/JSON requests, with size-based rotation.',
  config,
  create(cfg, context) {
    const path = resolve(cfg.path);
    const file = new RotatingFile(path, cfg.rotation.max_megabytes * 1024 * 1024, cfg.rotation.max_backups);
    const encode = cfg.format === 'zipkin_json' ? encodeZipkinLines : encodeOtlpLine;
    /** The bytes of a batch, written by each attempt; only the write is retried. */
    async function prepareRequest(batch: SpanBatch): Promise<PreparedRequest> {
      const data = await encode(batch);
      return {
        async send() {
          try {
            await file.write(data);
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
