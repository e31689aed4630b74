/**
 * The `zipkin` receiver: Zipkin's HTTP collector API. Answers like Zipkin's own collector (202, and 400
 * with the decoder's message), except that it answers 202 only once the pipelines accepted the spans, and
 * 503 with Retry-After when they push back.
 *
 * | route | Content-Type | decoder | transport label |
 * | --- | --- | --- | --- |
 * | POST /api/v2/spans | `application/x-protobuf` | proto3 `ListOfSpans` | `http_v2_proto` |
 * | POST /api/v2/spans | anything else (or none) | v2 JSON | `http_v2_json` |
 * | POST /api/v1/spans | `application/x-thrift` | Thrift `list<Span>` | `http_v1_thrift` |
 * | POST /api/v1/spans | anything else (or none) | v1 JSON | `http_v1_json` |
 *
 * Before decoding, the body goes through Zipkin's checks (its `ZipkinHttpCollector`): exactly `[]` is
 * an empty list; the first byte must start a list in some Zipkin encoding (`[`, Thrift `0x0C` or `0x0B`,
 * proto3 `0x0A` followed by a non-zero byte), else `Expected a <DECODER> encoded list`; and JSON meant
 * for the other API version is refused by name (`Expected a JSON_V2 encoded list, but received: JSON_V1`).
 */
import { defineReceiver } from '../../component/types.js';
import { s } from '../../config/schema.js';
import type { Span } from '../../model/span.js';
import { V1_ON_V2_ROUTE, decodeZipkinV2JsonRefusingV1 } from '../../codecs/zipkin-json.js';
import { decodeZipkinProto3 } from '../../codecs/zipkin-proto3.js';
import { decodeZipkinThrift } from '../../codecs/zipkin-thrift.js';
import { decodeZipkinV1Json, decodeZipkinV1JsonUnlessV2 } from '../../codecs/zipkin-v1-json.js';
import { SpanHttpServer, type DecodeFailure, type SpanRoute } from '../../transport/http-span-server.js';

const config = s.object({
  endpoint: s.endpoint().default('0.0.0.0:9411').describe('Address to listen on.'),
  max_request_body_size: s
    .byteSize()
    .default(20 * 1024 * 1024)
    .describe('Largest accepted body after decompression; larger requests get 413.'),
});

/** A Zipkin decoder as the collector names it in its messages. */
interface ZipkinDecoder {
  name: 'JSON_V1' | 'JSON_V2' | 'PROTO3' | 'THRIFT';
  transport: string;
  decode(body: Buffer): Span[];
}

const JSON_V2: ZipkinDecoder = { name: 'JSON_V2', transport: 'http_v2_json', decode: decodeZipkinV2JsonRefusingV1 };
const PROTO3: ZipkinDecoder = { name: 'PROTO3', transport: 'http_v2_proto', decode: decodeZipkinProto3 };
const JSON_V1: ZipkinDecoder = { name: 'JSON_V1', transport: 'http_v1_json', decode: decodeZipkinV1Json };
const THRIFT: ZipkinDecoder = { name: 'THRIFT', transport: 'http_v1_thrift', decode: decodeZipkinThrift };

/** Zipkin's marker of v1 JSON (`SpanBytesDecoderDetector`, `testForUnexpectedFormat`); the v1 decoder finds those of v2. */
const V1_MARKER = Buffer.from('yAnnotations"');

function isMediaType(contentType: string, mediaType: string): boolean {
  return contentType.slice(0, mediaType.length).toLowerCase() === mediaType && (contentType.length === mediaType.length || contentType[mediaType.length] === ';' || contentType[mediaType.length] === ' ');
}

/** Zipkin's `decoderForListMessage` check: the first bytes start a list in one of its encodings. */
function startsAList(body: Buffer): boolean {
  const first = body[0];
  return first === 0x5b /* [ */ || first === 12 /* Thrift list of structs */ || first === 11 /* zipkin-reporter-java#133 */ || (first === 10 && body.length > 1 && body[1] !== 0) /* proto3 */;
}

function decodeWith(decoder: ZipkinDecoder, body: Buffer): Span[] | DecodeFailure {
  if (body.length === 2 && body[0] === 0x5b && body[1] === 0x5d) return [];
  if (!startsAList(body)) return { status: 400, message: `Expected a ${decoder.name} encoded list` };
  // Zipkin refuses a v2 body with the text `yAnnotations"` anywhere before decoding it. Scanning every
  // body cost more than a key read per span, so the decoder refuses a span with a `binaryAnnotations`
  // key instead, and the body is scanned only when decoding failed, which keeps Zipkin's answer for every
  // body it refuses as v1 except one that decodes: a v2 body whose marker text is not a span's key (a
  // tag value or a tag key ending in `binaryAnnotations`, or one nested deeper) is accepted here, and a
  // span key written with escapes (`binaryAnnotation\u0073`) is refused here but not by Zipkin.
  if (decoder === JSON_V2) {
    try {
      return decoder.decode(body);
    } catch (e) {
      if (body.includes(V1_MARKER)) return { status: 400, message: V1_ON_V2_ROUTE };
      throw e;
    }
  }
  if (decoder === JSON_V1) {
    // Zipkin's v2 markers are looked for in the same pass that reads the body (zipkin-v1-json.ts).
    return decodeZipkinV1JsonUnlessV2(body) ?? { status: 400, message: 'Expected a JSON_V1 encoded list, but received: JSON_V2' };
  }
  return decoder.decode(body);
}

function route(url: string, binary: ZipkinDecoder, binaryMediaType: string, json: ZipkinDecoder): SpanRoute {
  const decoderFor = (contentType: string): ZipkinDecoder => (isMediaType(contentType, binaryMediaType) ? binary : json);
  return {
    method: 'POST',
    url,
    transport: json.transport,
    transportFor: (contentType) => decoderFor(contentType).transport,
    decode: (body, contentType) => decodeWith(decoderFor(contentType), body),
  };
}

export const zipkinReceiver = defineReceiver({
  type: 'zipkin',
  stability: 'beta',
  description: 'Receives spans on the Zipkin HTTP collector API: /api/v2/spans (JSON, proto3) and /api/v1/spans (JSON, Thrift), gzip/deflate.',
  config,
  create(cfg, context) {
    return new SpanHttpServer(context, cfg.endpoint, cfg.max_request_body_size, [
      route('/api/v2/spans', PROTO3, 'application/x-protobuf', JSON_V2),
      route('/api/v1/spans', THRIFT, 'application/x-thrift', JSON_V1),
    ]);
  },
});
