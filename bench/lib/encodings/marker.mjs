/**
 * Templates for encodings produced by an encoder we do not control byte by byte (the daemon's own
 * proto3 / OTLP encoders, the Thrift test writer): every id of the template is first a distinct 8-byte
 * marker, the body is encoded once, and the marker positions are found by search. `stamp` then writes
 * the run's ids at those positions, as hex digits (JSON encodings) or raw big-endian bytes (binary ones).
 * Ids have the same values as in zipkin-v2-json.mjs (see ../ids.mjs), so the verifier is unchanged.
 */

const PREFIX = [0xf1, 0xe2, 0xd3]; // + kind byte + 2-byte index + 2 fixed bytes
const KIND = { span: 0xa1, parent: 0xa2, trace: 0xa3, high: 0xa4 };

function marker(kind, i) {
  return Buffer.from([...PREFIX, KIND[kind], (i >> 8) & 255, i & 255, 0xb4, 0x7c]);
}

/** Hex markers of span `i`: { span, parent, traceLow, traceHigh } (16 hex digits each). */
export function markerIds(i) {
  return {
    span: marker('span', i).toString('hex'),
    parent: marker('parent', i).toString('hex'),
    traceLow: marker('trace', i).toString('hex'),
    traceHigh: marker('high', i).toString('hex'),
  };
}

/** Zipkin v2 JSON objects of `spans`, ids replaced by markers. */
export function markedV2Objects(spans) {
  return spans.map((sp, i) => {
    const m = markerIds(i);
    const o = { traceId: sp.traceDigits === 32 ? m.traceHigh + m.traceLow : m.traceLow };
    if (sp.parentIdx >= 0) o.parentId = m.parent;
    o.id = m.span;
    return Object.assign(o, sp.fields);
  });
}

function find(bytes, needle, what, required) {
  const off = bytes.indexOf(needle);
  if (off < 0) {
    if (required) throw new Error(`template: ${what} marker not found in the encoded body`);
    return -1;
  }
  if (bytes.indexOf(needle, off + 1) >= 0) throw new Error(`template: ${what} marker occurs twice`);
  return off;
}

/**
 * Locates the markers of `spans` in `bytes`. `hex`: ids are written as hex text, else as raw bytes.
 * `highOptional`: the encoding may drop a 128-bit trace id's high half (it then must not be stamped).
 */
export function locate(spans, bytes, hex) {
  const slots = spans.map((sp, i) => {
    const enc = (kind) => (hex ? Buffer.from(marker(kind, i).toString('hex'), 'latin1') : marker(kind, i));
    return {
      spanOff: find(bytes, enc('span'), `span ${i} id`, true),
      parentOff: sp.parentIdx >= 0 ? find(bytes, enc('parent'), `span ${i} parent`, true) : -1,
      traceOff: find(bytes, enc('trace'), `span ${i} trace`, true),
      highOff: sp.traceDigits === 32 ? find(bytes, enc('high'), `span ${i} trace high`, true) : -1,
      parentIdx: sp.parentIdx,
      rootIdx: sp.rootIdx,
    };
  });
  return { bytes, slots, hex };
}

const highCache = new WeakMap();

export function stamp(template, buf, firstSeq, ids) {
  const slots = template.slots;
  if (template.hex) {
    for (let i = 0; i < slots.length; i++) {
      const sl = slots[i];
      ids.writeTraceId(buf, sl.traceOff, firstSeq + sl.rootIdx, 16);
      if (sl.highOff >= 0) buf.write(ids.high, sl.highOff, 16, 'latin1');
      if (sl.parentOff >= 0) ids.writeSpanId(buf, sl.parentOff, firstSeq + sl.parentIdx);
      ids.writeSpanId(buf, sl.spanOff, firstSeq + i);
    }
    return;
  }
  let high = highCache.get(ids);
  if (!high) highCache.set(ids, (high = Buffer.from(ids.high, 'hex')));
  const traceTag = ids.tag ^ 0x8000;
  for (let i = 0; i < slots.length; i++) {
    const sl = slots[i];
    buf.writeUInt16BE(traceTag, sl.traceOff);
    buf.writeUIntBE(firstSeq + sl.rootIdx + 1, sl.traceOff + 2, 6);
    if (sl.highOff >= 0) high.copy(buf, sl.highOff);
    if (sl.parentOff >= 0) {
      buf.writeUInt16BE(ids.tag, sl.parentOff);
      buf.writeUIntBE(firstSeq + sl.parentIdx + 1, sl.parentOff + 2, 6);
    }
    buf.writeUInt16BE(ids.tag, sl.spanOff);
    buf.writeUIntBE(firstSeq + i + 1, sl.spanOff + 2, 6);
  }
}

/**
 * Zipkin v1 JSON span objects (annotations cs/cr, sr/ss, ms, mr with the local endpoint; tags and the
 * remote endpoint as binary annotations), ids replaced by markers.
 */
export function markedV1Objects(spans) {
  return markedV2Objects(spans).map((s) => {
    const f = s;
    const local = f.localEndpoint;
    const ann = [];
    const ts = f.timestamp, end = f.timestamp + f.duration;
    if (f.kind === 'CLIENT') ann.push({ timestamp: ts, value: 'cs', endpoint: local }, { timestamp: end, value: 'cr', endpoint: local });
    else if (f.kind === 'SERVER') ann.push({ timestamp: ts, value: 'sr', endpoint: local }, { timestamp: end, value: 'ss', endpoint: local });
    else if (f.kind === 'PRODUCER') ann.push({ timestamp: ts, value: 'ms', endpoint: local });
    else if (f.kind === 'CONSUMER') ann.push({ timestamp: ts, value: 'mr', endpoint: local });
    for (const a of f.annotations ?? []) ann.push({ timestamp: a.timestamp, value: a.value, endpoint: local });
    ann.sort((a, b) => a.timestamp - b.timestamp);
    const bin = Object.entries(f.tags ?? {}).map(([key, value]) => ({ key, value, endpoint: local }));
    if (f.remoteEndpoint) {
      const key = f.kind === 'CLIENT' ? 'sa' : f.kind === 'SERVER' ? 'ca' : 'ma';
      bin.push({ key, value: true, endpoint: f.remoteEndpoint });
    }
    const o = { traceId: s.traceId, id: s.id };
    if (s.parentId) o.parentId = s.parentId;
    Object.assign(o, { name: f.name, timestamp: f.timestamp, duration: f.duration, annotations: ann, binaryAnnotations: bin });
    return o;
  });
}
