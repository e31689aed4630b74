/**
 * JSON text helpers shared by the JSON codecs: string quoting, exact integers, and a second parser that
 * keeps the text of numbers.
 *
 * Why a second parser: `JSON.parse` turns every number into a double, which loses integers above 2^53
 * (OTLP nanosecond times sent as JSON numbers) and the literal text of a number (a Zipkin tag value
 * `1.0` must stay "1.0"). The codecs decode from `JSON.parse` and, in the rare payload where that loss
 * matters, throw {@link NEEDS_NUMBER_TEXT} and decode again from {@link parseJsonKeepingNumberText},
 * where every number is a {@link JsonNumberText}. The common payload pays nothing for this.
 */

/** A JSON number as written in the payload; produced only by {@link parseJsonKeepingNumberText}. */
export class JsonNumberText {
  constructor(readonly text: string) {}
}

/**
 * Thrown by a decoder reading a `JSON.parse` tree when it needs a number's text; the caller catches it
 * and decodes again from {@link parseJsonKeepingNumberText}, where no plain numbers occur.
 */
export const NEEDS_NUMBER_TEXT: unique symbol = Symbol('needs number text');

const NEEDS_ESCAPE = /["\\\u0000-\u001f\u2028\u2029]/;
const LINE_SEPARATORS = /[\u2028\u2029]/g;

function escapeLineSeparator(c: string): string {
  return c === '\u2028' ? '\\u2028' : '\\u2029';
}

/**
 * A JSON string literal for `s`, escaped as Zipkin's `JsonEscaper` does: quote, backslash and control
 * characters (short forms for \b \t \n \f \r), plus U+2028 and U+2029.
 */
export function quoteJson(s: string): string {
  // A RegExp test: measured faster here than a charCodeAt loop (V8 compiles it to native code).
  if (!NEEDS_ESCAPE.test(s)) return '"' + s + '"';
  const q = JSON.stringify(s);
  return q.indexOf('\u2028') < 0 && q.indexOf('\u2029') < 0 ? q : q.replace(LINE_SEPARATORS, escapeLineSeparator);
}

/** "00" to "99" as ASCII bytes, for writing two decimal digits at a time. */
const DIGIT_PAIRS = Uint8Array.from({ length: 200 }, (_, k) => 0x30 + (k % 2 === 0 ? Math.floor(k / 20) : (k >> 1) % 10));

/**
 * A growing byte buffer that JSON is written into as UTF-8, so that encoders produce bytes without
 * building strings first (and without the flatten and UTF-8 pass of `Buffer.from` on a joined string). Strings are written byte by byte while they are ASCII and need no
 * escape (ids, names, tags: nearly all of them); any other string is written as the UTF-8 of
 * {@link quoteJson} (or of itself, for {@link text}), so the bytes are always exactly those of
 * `Buffer.from(<the same JSON as a string>, 'utf8')`.
 *
 * Not re-entrant: one encoder fills it synchronously and then {@link take}s the bytes, which from then
 * on belong to the caller (they may wait for an asynchronous write); the writer goes on after them
 * while its buffer has room, else in a new buffer sized like the last output, so a stream of similar
 * chunks costs at most one allocation each and no copy. The caller bounds what is written between two
 * takes (e.g. by encoding a batch in chunks).
 */
const EMPTY = Buffer.alloc(0);

export class JsonBytes {
  private buf: Buffer;
  /** Where the bytes not yet taken start: the buffer before it belongs to callers of {@link take}. */
  private start = 0;
  private pos = 0;

  constructor(private readonly initialBytes = 64 * 1024) {
    this.buf = Buffer.allocUnsafe(initialBytes);
  }

  get length(): number {
    return this.pos - this.start;
  }

  /**
   * The bytes written since the last take, exactly sized. The writer goes on after them in the same
   * buffer while it has room for as much again, else in a new buffer sized for that (so the bytes taken
   * are never overwritten, and never copied, and a writer sized for a whole batch allocates once).
   */
  take(): Buffer {
    const out = this.buf.subarray(this.start, this.pos);
    const piece = this.pos - this.start;
    const wanted = piece + (piece >> 3);
    if (this.buf.length - this.pos >= wanted) {
      this.start = this.pos;
    } else {
      this.buf = Buffer.allocUnsafe(Math.max(this.initialBytes, wanted));
      this.start = this.pos = 0;
    }
    return out;
  }

  /**
   * The bytes written since the last take, exactly sized, for a writer that is done: it keeps no buffer
   * (where {@link take} may allocate the next one at once); writing again starts a new one.
   */
  finish(): Buffer {
    const out = this.buf.subarray(this.start, this.pos);
    this.buf = EMPTY;
    this.start = this.pos = 0;
    return out;
  }

  /** The bytes written since the last take, without taking them: valid until the next write. */
  written(): Buffer {
    return this.buf.subarray(this.start, this.pos);
  }

  /** Bytes the current buffer holds; it grows when a write needs more. */
  get capacity(): number {
    return this.buf.length;
  }

  /**
   * Forgets everything written, taken or not, and writes again from the start of the same buffer: for
   * a writer used again once nothing it produced is read any more (see the file exporter).
   */
  clear(): void {
    this.start = this.pos = 0;
  }

  /** Forgets what was written since the last take (after an encoder failed half-way). */
  reset(): void {
    this.pos = this.start;
  }

  private room(n: number): void {
    if (this.pos + n > this.buf.length) {
      // The bytes not yet taken move to a new buffer; those taken stay where they are.
      const pending = this.pos - this.start;
      const next = Buffer.allocUnsafe(Math.max(this.initialBytes, 2 * (pending + n)));
      this.buf.copy(next, 0, this.start, this.pos);
      this.buf = next;
      this.start = 0;
      this.pos = pending;
    }
  }

  byte(c: number): void {
    this.room(1);
    this.buf[this.pos++] = c;
  }

  /**
   * Pre-encoded bytes ({@link asciiBytes}) written as they are. For the constant parts of a format:
   * copying bytes costs a fraction of reading a string's chars ({@link text}).
   */
  raw(b: Uint8Array): void {
    const n = b.length;
    this.room(n);
    const buf = this.buf;
    let pos = this.pos;
    for (let k = 0; k < n; k++) buf[pos++] = b[k];
    this.pos = pos;
  }

  /** Text written as it is (not quoted, not escaped), as UTF-8. For literals and ids. */
  text(s: string): void {
    const n = s.length;
    this.room(n);
    const buf = this.buf;
    let pos = this.pos;
    for (let k = 0; k < n; k++) {
      const c = s.charCodeAt(k);
      if (c >= 0x80) {
        this.pos = pos;
        this.utf8(k === 0 ? s : s.slice(k));
        return;
      }
      buf[pos++] = c;
    }
    this.pos = pos;
  }

  /** `s` as a JSON string literal, escaped as {@link quoteJson} escapes it. */
  string(s: string): void {
    const n = s.length;
    this.room(n + 2);
    const buf = this.buf;
    const start = this.pos;
    let pos = start;
    buf[pos++] = 0x22;
    for (let k = 0; k < n; k++) {
      const c = s.charCodeAt(k);
      if (c < 0x20 || c >= 0x80 || c === 0x22 || c === 0x5c) {
        // Escapes and non-ASCII: the general path, from the start of the literal.
        this.pos = start;
        this.utf8(quoteJson(s));
        return;
      }
      buf[pos++] = c;
    }
    buf[pos++] = 0x22;
    this.pos = pos;
  }

  /** A non-negative safe integer in decimal. */
  uint(v: number): void {
    if (v < 10) {
      this.byte(0x30 + v);
      return;
    }
    if (v < 1e8) {
      this.smallUint(v);
      return;
    }
    // Microsecond timestamps have 16 digits: two halves below 10^8 are written with int32 arithmetic
    // (V8 divides an int32 by a constant with a multiply) two digits at a time, instead of sixteen
    // chained double divisions. Measured: 16 digits in 39 ns instead of 63.
    const hi = Math.floor(v / 1e8);
    this.smallUint(hi);
    this.room(8);
    const buf = this.buf;
    let lo = v - hi * 1e8;
    let pos = this.pos + 8;
    this.pos = pos;
    for (let k = 0; k < 4; k++) {
      const q = (lo / 100) | 0;
      const r = 2 * (lo - q * 100);
      buf[--pos] = DIGIT_PAIRS[r + 1];
      buf[--pos] = DIGIT_PAIRS[r];
      lo = q;
    }
  }

  /** `v` below 10^8 (an int32) in decimal. */
  private smallUint(v: number): void {
    let digits = 1;
    for (let p = 10; p <= v; p *= 10) digits++;
    this.room(digits);
    const buf = this.buf;
    let x = v | 0;
    let pos = this.pos + digits;
    this.pos = pos;
    while (x >= 100) {
      const q = (x / 100) | 0;
      const r = 2 * (x - q * 100);
      buf[--pos] = DIGIT_PAIRS[r + 1];
      buf[--pos] = DIGIT_PAIRS[r];
      x = q;
    }
    if (x >= 10) {
      buf[--pos] = DIGIT_PAIRS[2 * x + 1];
      buf[--pos] = DIGIT_PAIRS[2 * x];
    } else {
      buf[--pos] = 0x30 + x;
    }
  }

  /** A number as `String(v)` writes it. */
  number(v: number): void {
    if (Number.isSafeInteger(v) && v >= 0) this.uint(v);
    else this.text(String(v));
  }

  /** An integer in decimal, as `String(v)` writes it. */
  bigint(v: bigint): void {
    // Exact up to 2^53 - 1; anything larger converts to 2^53 or more (rounding is monotonic).
    const n = Number(v);
    if (n >= 0 && n <= Number.MAX_SAFE_INTEGER) this.uint(n);
    else this.text(v.toString());
  }

  private utf8(s: string): void {
    this.room(s.length * 3);
    this.pos += this.buf.write(s, this.pos, 'utf8');
  }
}

/** The bytes of an ASCII literal, for {@link JsonBytes.raw}. */
export function asciiBytes(s: string): Uint8Array {
  const out = new Uint8Array(s.length);
  for (let k = 0; k < s.length; k++) {
    const c = s.charCodeAt(k);
    if (c >= 0x80) throw new RangeError(`not ASCII: ${s}`);
    out[k] = c;
  }
  return out;
}

const JSON_NUMBER = /^(-?)(\d+)(?:\.(\d+))?(?:[eE]([+-]?\d+))?$/;

/**
 * The exact integer that a JSON number literal denotes (`12`, `-3`, `1.0`, `1.5e3`), or undefined when
 * the text is not a JSON number or not integral. Results beyond ±10^40 are reported as undefined too:
 * every caller range-checks to 64 bits.
 */
export function parseJsonInteger(text: string): bigint | undefined {
  const m = JSON_NUMBER.exec(text);
  if (m === null) return undefined;
  const frac = m[3] ?? '';
  let digits = (m[2] + frac).replace(/^0+/, '');
  if (digits === '') return 0n;
  let exp = (m[4] === undefined ? 0 : Number(m[4])) - frac.length;
  while (exp < 0 && digits.endsWith('0')) {
    digits = digits.slice(0, -1);
    exp++;
  }
  if (exp < 0 || digits.length + exp > 40) return undefined;
  const v = BigInt(digits) * 10n ** BigInt(exp);
  return m[1] === '-' ? -v : v;
}

export const NESTED_TOO_DEEPLY = 'JSON nested too deeply';

/**
 * Parses JSON text that `JSON.parse` has already accepted, keeping every number as a
 * {@link JsonNumberText}. Objects get own data properties for every key, `__proto__` included, as with
 * `JSON.parse`.
 */
export function parseJsonKeepingNumberText(text: string): unknown {
  const p = new NumberTextParser(text);
  let v: unknown;
  try {
    v = p.value();
  } catch (e) {
    // Recursive descent runs out of stack where JSON.parse does not.
    throw e instanceof RangeError ? new SyntaxError(NESTED_TOO_DEEPLY) : e;
  }
  p.skipWhitespace();
  if (p.pos !== text.length) throw new SyntaxError(`Unexpected text at position ${p.pos}`);
  return v;
}


const NUMBER_TOKEN = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;

class NumberTextParser {
  pos = 0;
  constructor(private readonly s: string) {}

  skipWhitespace(): void {
    const s = this.s;
    let i = this.pos;
    while (i < s.length) {
      const c = s.charCodeAt(i);
      if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) break;
      i++;
    }
    this.pos = i;
  }

  value(): unknown {
    this.skipWhitespace();
    const s = this.s;
    const c = s.charCodeAt(this.pos);
    if (c === 0x7b) return this.object();
    if (c === 0x5b) return this.array();
    if (c === 0x22) return this.string();
    if (s.startsWith('true', this.pos)) return this.literal(4, true);
    if (s.startsWith('false', this.pos)) return this.literal(5, false);
    if (s.startsWith('null', this.pos)) return this.literal(4, null);
    NUMBER_TOKEN.lastIndex = this.pos;
    const m = NUMBER_TOKEN.exec(s);
    if (m === null) throw new SyntaxError(`Unexpected character at position ${this.pos}`);
    this.pos += m[0].length;
    return new JsonNumberText(m[0]);
  }

  private literal(length: number, v: boolean | null): boolean | null {
    this.pos += length;
    return v;
  }

  private string(): string {
    const s = this.s;
    const start = this.pos;
    let i = start + 1;
    let escaped = false;
    for (;;) {
      if (i >= s.length) throw new SyntaxError('Unterminated string');
      const c = s.charCodeAt(i);
      if (c === 0x22) break;
      if (c === 0x5c) {
        escaped = true;
        i += 2;
      } else {
        i++;
      }
    }
    this.pos = i + 1;
    return escaped ? (JSON.parse(s.slice(start, i + 1)) as string) : s.slice(start + 1, i);
  }

  private object(): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    this.pos++;
    this.skipWhitespace();
    if (this.s.charCodeAt(this.pos) === 0x7d) {
      this.pos++;
      return out;
    }
    for (;;) {
      this.skipWhitespace();
      const key = this.string();
      this.skipWhitespace();
      this.expect(0x3a);
      const v = this.value();
      setOwn(out, key, v);
      this.skipWhitespace();
      if (this.s.charCodeAt(this.pos) === 0x2c) {
        this.pos++;
        continue;
      }
      this.expect(0x7d);
      return out;
    }
  }

  private array(): unknown[] {
    const out: unknown[] = [];
    this.pos++;
    this.skipWhitespace();
    if (this.s.charCodeAt(this.pos) === 0x5d) {
      this.pos++;
      return out;
    }
    for (;;) {
      out.push(this.value());
      this.skipWhitespace();
      if (this.s.charCodeAt(this.pos) === 0x2c) {
        this.pos++;
        continue;
      }
      this.expect(0x5d);
      return out;
    }
  }

  private expect(c: number): void {
    if (this.s.charCodeAt(this.pos) !== c) throw new SyntaxError(`Expected '${String.fromCharCode(c)}' at position ${this.pos}`);
    this.pos++;
  }
}

/** Sets `key` as an own data property, also when the key is `__proto__` (plain assignment would not). */
export function setOwn(target: Record<string, unknown>, key: string, value: unknown): void {
  if (key === '__proto__') Object.defineProperty(target, key, { value, writable: true, enumerable: true, configurable: true });
  else target[key] = value;
}

/** Standard base64 of the bytes. */
export function toBase64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
}

/** The Gson token name of a parsed JSON value, for messages worded like Zipkin's. */
export function jsonTokenName(v: unknown): string {
  if (v === null) return 'NULL';
  switch (typeof v) {
    case 'string':
      return 'STRING';
    case 'number':
      return 'NUMBER';
    case 'boolean':
      return 'BOOLEAN';
    default:
      if (v instanceof JsonNumberText) return 'NUMBER';
      return Array.isArray(v) ? 'BEGIN_ARRAY' : 'BEGIN_OBJECT';
  }
}
