/** OTLP/HTTP protobuf (POST /v1/traces), encoded by the daemon's own encoder from the v2 JSON pool. */
import { decodeZipkinV2Json } from '../../../dist/codecs/zipkin-json.js';
import { encodeOtlpProtoRequest } from '../../../dist/codecs/otlp-proto.js';
import { locate, markedV2Objects } from './marker.mjs';
export { stamp } from './marker.mjs';

export function encodeTemplate(spans) {
  const bytes = encodeOtlpProtoRequest(decodeZipkinV2Json(JSON.stringify(markedV2Objects(spans))));
  return locate(spans, bytes, false);
}
export const contentType = 'application/x-protobuf';
export const acceptedStatus = 200;
