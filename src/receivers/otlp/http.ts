/**
 * OTLP/HTTP traces: `POST /v1/traces` with a protobuf (`application/x-protobuf`) or JSON
 * (`application/json`) `ExportTraceServiceRequest`, answered in the request's encoding as the OTLP
 * specification requires: 200 with an `ExportTraceServiceResponse` (with a partial success when spans
 * were left out), and a `google.rpc.Status` body on 4xx/5xx. Limits, gzip and the 503/Retry-After
 * backpressure come from the shared SpanHttpServer.
 */
import { decodeOtlpJsonRequest, encodeJsonRpcStatus, encodeOtlpJsonResponse } from '../../codecs/otlp-json.js';
import { decodeOtlpProtoRequest, encodeOtlpProtoResponse, encodeRpcStatus } from '../../codecs/otlp-proto.js';
import type { HttpAnswer, SpanRoute } from '../../transport/http-span-server.js';
import { withoutInvalidSpans } from './invalid-spans.js';

const PROTOBUF = 'application/x-protobuf';
const JSON_TYPE = 'application/json';

function encodingOf(contentType: string): 'proto' | 'json' | undefined {
  const media = contentType.split(';', 1)[0].trim().toLowerCase();
  if (media === PROTOBUF) return 'proto';
  if (media === JSON_TYPE) return 'json';
  return undefined;
}

/** The gRPC code a Status body carries for an HTTP status (OTLP clients act on the HTTP status only). */
function rpcCodeOf(httpStatus: number): number {
  switch (httpStatus) {
    case 413:
    case 429:
      return 8; // RESOURCE_EXHAUSTED
    case 503:
      return 14; // UNAVAILABLE
    case 500:
      return 13; // INTERNAL
    default:
      return 3; // INVALID_ARGUMENT
  }
}

export function otlpTracesRoute(url: string): SpanRoute {
  return {
    method: 'POST',
    url,
    transport: 'http_proto',
    // Requests with another Content-Type are refused (415) and counted under `http`.
    transportFor: (contentType) => {
      const encoding = encodingOf(contentType);
      return encoding === 'json' ? 'http_json' : encoding === 'proto' ? 'http_proto' : 'http';
    },
    decode(body, contentType) {
      const encoding = encodingOf(contentType);
      if (encoding === undefined) {
        return { status: 415, message: `unsupported Content-Type ${JSON.stringify(contentType)}; send ${PROTOBUF} or ${JSON_TYPE}` };
      }
      return withoutInvalidSpans(encoding === 'proto' ? decodeOtlpProtoRequest(body) : decodeOtlpJsonRequest(body));
    },
    answers: {
      accepted(contentType, partial): HttpAnswer {
        const p = partial && { rejectedSpans: partial.rejected, errorMessage: partial.message };
        if (encodingOf(contentType) === 'json') return { status: 200, contentType: JSON_TYPE, body: encodeOtlpJsonResponse(p) };
        return { status: 200, contentType: PROTOBUF, body: encodeOtlpProtoResponse(p) };
      },
      failed(contentType, status, message): HttpAnswer {
        const encoding = encodingOf(contentType);
        if (encoding === 'json') return { status, contentType: JSON_TYPE, body: encodeJsonRpcStatus(rpcCodeOf(status), message) };
        if (encoding === 'proto') return { status, contentType: PROTOBUF, body: encodeRpcStatus({ code: rpcCodeOf(status), message }) };
        return { status, contentType: 'text/plain; charset=utf-8', body: message + '\n' };
      },
    },
  };
}
