/**
 * Span and trace ids of a benchmark run. Every span sent gets an id derived from its sequence number
 * (`request index * batch size + position in the request`), so the verifier can tell from an id alone
 * which request it came from, without the load generator having to remember millions of ids.
 *
 * Layout (hex, as Zipkin JSON writes ids):
 *   span id      = TTTT SSSSSSSSSSSS      T: the run's 16-bit tag, S: span sequence + 1 (48 bits)
 *   64-bit trace = UUUU SSSSSSSSSSSS      U: tag ^ 0x8000, S: sequence of the trace's root span + 1
 *   128-bit trace= HHHHHHHHHHHHHHHH + the 64-bit form                    H: the run's 64-bit high word
 */
const HEX = Buffer.from('0123456789abcdef', 'latin1');

/** Writes `value` (an integer < 2^53) as `digits` lower-case hex digits at `off`. */
export function writeHex(buf, off, value, digits) {
  for (let i = off + digits - 1; i >= off; i--) {
    buf[i] = HEX[value % 16];
    value = Math.floor(value / 16);
  }
}

export class RunIds {
  /** @param {number} tag 16-bit, non-zero; @param {string} high 16 hex digits */
  constructor(tag, high) {
    if (!(tag > 0 && tag < 0x10000)) throw new Error(`bad run tag ${tag}`);
    this.tag = tag;
    this.high = high;
    this.tagHex = tag.toString(16).padStart(4, '0');
    this.traceTagHex = (tag ^ 0x8000).toString(16).padStart(4, '0');
  }

  static random() {
    const tag = 1 + Math.floor(Math.random() * 0xfffe);
    const high = Array.from({ length: 16 }, () => '0123456789abcdef'[Math.floor(Math.random() * 16)]).join('');
    return new RunIds(tag, high);
  }

  toJSON() {
    return { tag: this.tag, high: this.high };
  }

  static from(o) {
    return new RunIds(o.tag, o.high);
  }

  /** Hex span id of span sequence number `seq`, written into `buf` at `off` (16 bytes). */
  writeSpanId(buf, off, seq) {
    buf.write(this.tagHex, off, 4, 'latin1');
    writeHex(buf, off + 4, seq + 1, 12);
  }

  /** Hex trace id (16 or 32 digits) of the trace rooted at span `rootSeq`. */
  writeTraceId(buf, off, rootSeq, digits) {
    if (digits === 32) {
      buf.write(this.high, off, 16, 'latin1');
      off += 16;
    }
    buf.write(this.traceTagHex, off, 4, 'latin1');
    writeHex(buf, off + 4, rootSeq + 1, 12);
  }

  spanIdHex(seq) {
    return this.tagHex + (seq + 1).toString(16).padStart(12, '0');
  }

  traceIdHex(rootSeq, digits) {
    const low = this.traceTagHex + (rootSeq + 1).toString(16).padStart(12, '0');
    return digits === 32 ? this.high + low : low;
  }

  /**
   * The span sequence number encoded in a 16-digit hex span id (given as the bytes of `buf` at `off`),
   * or -1 if the id is not one of this run's.
   */
  seqOf(buf, off) {
    for (let i = 0; i < 4; i++) if (buf[off + i] !== this.tagHex.charCodeAt(i)) return -1;
    let v = 0;
    for (let i = off + 4; i < off + 16; i++) {
      const c = buf[i];
      const d = c >= 48 && c <= 57 ? c - 48 : c >= 97 && c <= 102 ? c - 87 : -1;
      if (d < 0) return -1;
      v = v * 16 + d;
    }
    return v - 1;
  }
}
