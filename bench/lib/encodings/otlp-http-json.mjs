/** OTLP/HTTP JSON (POST /v1/traces, application/json), encoded by the daemon's own encoder. */
import { decodeZipkinV2Json } from '../../../dist/codecs/zipkin-json.js';
import { encodeOtlpJsonRequest } from '../../../dist/codecs/otlp-json.js';
import { locate, markedV2Objects } from './marker.mjs';
export { stamp } from './marker.mjs';

export function encodeTemplate(spans) {
  const s = encodeOtlpJsonRequest(decodeZipkinV2Json(JSON.stringify(markedV2Objects(spans))));
  if (Buffer.byteLength(s, 'utf8') !== s.length) throw new Error('payload template is not ASCII');
  return locate(spans, Buffer.from(s, 'latin1'), true);
}
export const contentType = 'application/json';
export const acceptedStatus = 200;
