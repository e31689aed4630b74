/** Zipkin v1 Thrift (POST /api/v1/spans, application/x-thrift), a TBinaryProtocol list<Span>. */
import { encodeV1ThriftList } from '../../../test/codecs/zipkin-v1-thrift-writer.mjs';
import { locate, markedV1Objects } from './marker.mjs';
export { stamp } from './marker.mjs';

export function encodeTemplate(spans) {
  return locate(spans, encodeV1ThriftList(markedV1Objects(spans)), false);
}
export const contentType = 'application/x-thrift';
/** v1 → v2 conversion may split a span into client and server halves with the same id. */
export const sameIdSplits = true;
