/**
 * Zipkin v2 JSON request bodies (POST /api/v2/spans, application/json) with the positions of every id,
 * so the load generator can stamp fresh ids into a copy of a template without re-serializing.
 *
 * An encoding module exports:
 *   encodeTemplate(spans: LogicalSpan[]) -> { bytes: Buffer, slots: IdSlot[] }
 *   stamp(template, buf, firstSeq, ids)  -> writes the ids of a request whose first span is `firstSeq`
 * where IdSlot = { spanOff, parentOff (-1: none), traceOff, traceDigits, parentIdx, rootIdx }.
 */

const ID16 = '0'.repeat(16);
const ID32 = '0'.repeat(32);

export function encodeTemplate(spans) {
  let s = '[';
  const slots = [];
  for (let i = 0; i < spans.length; i++) {
    const sp = spans[i];
    if (i > 0) s += ',';
    s += '{"traceId":"';
    const traceOff = s.length;
    s += sp.traceDigits === 32 ? ID32 : ID16;
    let parentOff = -1;
    if (sp.parentIdx >= 0) {
      s += '","parentId":"';
      parentOff = s.length;
      s += ID16;
    }
    s += '","id":"';
    const spanOff = s.length;
    s += ID16 + '",';
    // The remaining fields are plain JSON; their order is the wire order of the object.
    s += JSON.stringify(sp.fields).slice(1);
    slots.push({ spanOff, parentOff, traceOff, traceDigits: sp.traceDigits, parentIdx: sp.parentIdx, rootIdx: sp.rootIdx });
  }
  s += ']';
  const bytes = Buffer.from(s, 'latin1');
  // Offsets are string offsets; they are byte offsets only for ASCII text.
  if (Buffer.byteLength(s, 'utf8') !== s.length) throw new Error('payload template is not ASCII');
  return { bytes, slots };
}

/** Writes the ids of request spans `firstSeq …` into `buf` (a copy of `template.bytes`). */
export function stamp(template, buf, firstSeq, ids) {
  const slots = template.slots;
  for (let i = 0; i < slots.length; i++) {
    const sl = slots[i];
    ids.writeTraceId(buf, sl.traceOff, firstSeq + sl.rootIdx, sl.traceDigits);
    if (sl.parentOff >= 0) ids.writeSpanId(buf, sl.parentOff, firstSeq + sl.parentIdx);
    ids.writeSpanId(buf, sl.spanOff, firstSeq + i);
  }
}

export const contentType = 'application/json';
