/** Zipkin v1 JSON (POST /api/v1/spans, application/json): annotations cs/cr, sr/ss, ms/mr + binaryAnnotations. */
import { locate, markedV1Objects } from './marker.mjs';
export { stamp } from './marker.mjs';

export function encodeTemplate(spans) {
  const s = JSON.stringify(markedV1Objects(spans));
  if (Buffer.byteLength(s, 'utf8') !== s.length) throw new Error('payload template is not ASCII');
  return locate(spans, Buffer.from(s, 'latin1'), true);
}
export const contentType = 'application/json';
/** v1 → v2 conversion may split a span into client and server halves with the same id. */
export const sameIdSplits = true;
