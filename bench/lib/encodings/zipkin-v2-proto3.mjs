/** Zipkin v2 proto3 (POST /api/v2/spans, application/x-protobuf), encoded by the daemon's own encoder. */
import { decodeZipkinV2Json } from '../../../dist/codecs/zipkin-json.js';
import { encodeZipkinProto3 } from '../../../dist/codecs/zipkin-proto3.js';
import { locate, markedV2Objects } from './marker.mjs';
export { stamp } from './marker.mjs';

export function encodeTemplate(spans) {
  const bytes = encodeZipkinProto3(decodeZipkinV2Json(JSON.stringify(markedV2Objects(spans))));
  return locate(spans, bytes, false);
}
export const contentType = 'application/x-protobuf';
