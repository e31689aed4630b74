/**
 * The `zipkin` receiver: Zipkin's HTTP collector API. Answers like Zipkin's own collector (202, and 400
 * with the decoder's message), except that it answers 202 only once the pipelines accepted the spans, and
 * 503 with Retry-After when they push back.
 */
import { defineReceiver } from '../../component/types.js';
import { s } from '../../config/schema.js';
import { decodeZipkinV2Json } from '../../codecs/zipkin-json.js';
import { SpanHttpServer, type SpanRoute } from '../../transport/http-span-server.js';

const config = s.object({
  endpoint: s.endpoint().default('0.0.0.0:9411').describe('Address to listen on.'),
  max_request_body_size: s
    .byteSize()
    .default(20 * 1024 * 1024)
    .describe('Largest accepted body after decompression; larger requests get 413.'),
});

const JSON_V1_MARKER = Buffer.from('yAnnotations"');

const v2Spans: SpanRoute = {
  method: 'POST',
  url: '/api/v2/spans',
  transport: 'http_json_v2',
  decode(body, contentType) {
    if (contentType.startsWith('application/x-protobuf')) {
      return { status: 415, message: 'application/x-protobuf (proto3) is not supported yet; send application/json' };
    }
    if (body[0] !== 0x5b /* [ */) return { status: 400, message: 'Expected a JSON_V2 encoded list' };
    if (body.includes(JSON_V1_MARKER)) return { status: 400, message: 'Expected a JSON_V2 encoded list, but received: JSON_V1' };
    return decodeZipkinV2Json(body);
  },
};

export const zipkinReceiver = defineReceiver({
  type: 'zipkin',
  stability: 'beta',
  description: 'Receives spans on the Zipkin HTTP collector API (POST /api/v2/spans, JSON v2, gzip/deflate).',
  config,
  create(cfg, context) {
    return new SpanHttpServer(context, cfg.endpoint, cfg.max_request_body_size, [v2Spans]);
  },
});
