/**
 * The `file` exporter: appends spans to a local file, one JSON document per line, rotating by size.
 */
import { resolve } from 'node:path';
import { defineExporter, permanent, retryable, SUCCESS } from '../../component/types.js';
import { s } from '../../config/schema.js';
import { encodeZipkinV2Span } from '../../codecs/zipkin-json.js';
import { encodeOtlpJsonRequest } from '../../codecs/otlp-json.js';
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

function encodeZipkinLines(batch: SpanBatch): string {
  let out = '';
  for (let i = 0; i < batch.length; i++) out += encodeZipkinV2Span(batch[i]) + '\n';
  return out;
}

export const fileExporter = defineExporter({
  type: 'file',
  stability: 'beta',
  description: 'Appends spans to a file as Zipkin v2 JSON lines or OTLP/JSON requests, with size-based rotation.',
  config,
  create(cfg, context) {
    const path = resolve(cfg.path);
    const file = new RotatingFile(path, cfg.rotation.max_megabytes * 1024 * 1024, cfg.rotation.max_backups);
    const encode = cfg.format === 'zipkin_json' ? encodeZipkinLines : (b: SpanBatch) => encodeOtlpJsonRequest(b) + '\n';
    return {
      async start() {
        await file.open();
        context.logger.info({ path, format: cfg.format }, 'writing spans to file');
      },
      async export(batch) {
        let data: string;
        try {
          data = encode(batch);
        } catch (e) {
          return permanent(e as Error);
        }
        try {
          await file.write(data);
          return SUCCESS;
        } catch (e) {
          // Disk full or a transient I/O error: the queue retries.
          return retryable(e as Error);
        }
      },
      async shutdown() {
        await file.close();
      },
    };
  },
});
