/**
 * The value rules of the `hash` and `convert` actions, as the OpenTelemetry Collector applies them
 * (contrib `internal/coreinternal/attraction`: `hasher.go`, `type_converter.go`), so a value hashes to the
 * same text and converts to the same type and value here as there.
 */
import { hash } from 'node:crypto';
import type { AnyValue } from '../../model/span.js';
import { valueAsString } from '../common/match.js';

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

// One scratch buffer for the 8-byte encodings: `hash` runs synchronously, so it is never shared.
const scratch = Buffer.alloc(8);
const TRUE_BYTE = Buffer.from([1]);
const FALSE_BYTE = Buffer.from([0]);

/**
 * SHA-256 of the value, lower-case hex (the Collector's hash since v0.75, then SHA-1 behind a gate that is
 * gone). What is hashed: a string's UTF-8 bytes; a boolean as one byte 1 or 0; an int as its 8 bytes
 * little-endian (two's complement); a double as the 8 bytes little-endian of its IEEE 754 bits. Every
 * other value (bytes, lists, maps, empty) and the empty string become "" rather than a hash, as there.
 */
export function hashValue(v: AnyValue): string {
  let input: Buffer | string;
  switch (typeof v) {
    case 'string':
      if (v.length === 0) return '';
      input = v;
      break;
    case 'boolean':
      input = v ? TRUE_BYTE : FALSE_BYTE;
      break;
    case 'bigint':
      scratch.writeBigInt64LE(v);
      input = scratch;
      break;
    case 'number':
      scratch.writeDoubleLE(v);
      input = scratch;
      break;
    default:
      return '';
  }
  // The one-shot hash is about twice as fast as createHash().update().digest() on short values.
  return hash('sha256', input, 'hex');
}

export type ConvertTarget = 'int' | 'double' | 'string';

/**
 * The converted value, or `undefined` when the Collector leaves the value as it is: a string that Go's
 * `strconv.ParseInt(s, 10, 64)` / `ParseFloat(s, 64)` refuses (also out of range), and bytes, lists,
 * maps and the empty value for `int` and `double`. Doubles become ints by truncation toward zero; a NaN,
 * infinite or out-of-int64 double is left as it is (Go's result there depends on the CPU).
 */
export function convertValue(v: AnyValue, to: ConvertTarget): AnyValue | undefined {
  switch (to) {
    case 'string':
      return typeof v === 'string' ? undefined : valueAsString(v);
    case 'int':
      switch (typeof v) {
        case 'bigint':
          return undefined;
        case 'number': {
          if (!Number.isFinite(v)) return undefined;
          const n = BigInt(Math.trunc(v));
          return n < INT64_MIN || n > INT64_MAX ? undefined : n;
        }
        case 'boolean':
          return v ? 1n : 0n;
        case 'string':
          return parseGoInt(v);
        default:
          return undefined;
      }
    case 'double':
      switch (typeof v) {
        case 'bigint':
          return Number(v);
        case 'number':
          return undefined;
        case 'boolean':
          return v ? 1 : 0;
        case 'string':
          return parseGoFloat(v);
        default:
          return undefined;
      }
  }
}

const DECIMAL_INT = /^[+-]?[0-9]+$/;

/** Go's `strconv.ParseInt(s, 10, 64)`: optional sign, ASCII digits only, in int64 range. */
export function parseGoInt(s: string): bigint | undefined {
  if (!DECIMAL_INT.test(s)) return undefined;
  const n = BigInt(s);
  return n < INT64_MIN || n > INT64_MAX ? undefined : n;
}

const DECIMAL_FLOAT = /^[+-]?(?:[0-9_]+\.?[0-9_]*|\.[0-9_]+)(?:[eE][+-]?[0-9_]+)?$/;
const HEX_FLOAT = /^([+-]?)0[xX]([0-9a-fA-F_]*)(?:\.([0-9a-fA-F_]*))?[pP]([+-]?[0-9_]+)$/;
const SPECIAL_FLOAT = /^(?:([+-]?)(inf|infinity)|nan)$/i;

/**
 * Go's `strconv.ParseFloat(s, 64)`: decimal or hexadecimal (`0x1.8p3`, the `p` exponent required)
 * literals, `_` between digits, `inf` / `infinity` with an optional sign and `nan` in any case; no
 * spaces. A value beyond the double range is an error there (undefined here); underflow gives 0.
 */
export function parseGoFloat(s: string): number | undefined {
  const special = SPECIAL_FLOAT.exec(s);
  if (special !== null) {
    if (special[2] === undefined) return NaN;
    return special[1] === '-' ? -Infinity : Infinity;
  }
  let value: number;
  if (DECIMAL_FLOAT.test(s)) {
    if (s.includes('_') && !underscoresBetweenDigits(s)) return undefined;
    value = Number(s.includes('_') ? s.replaceAll('_', '') : s);
  } else {
    const hex = HEX_FLOAT.exec(s);
    if (hex === null) return undefined;
    if (s.includes('_') && !underscoresBetweenDigits(s)) return undefined;
    const whole = hex[2].replaceAll('_', '');
    const fraction = (hex[3] ?? '').replaceAll('_', '');
    if (whole.length + fraction.length === 0) return undefined;
    const mantissa = Number(BigInt('0x' + whole + fraction));
    const exponent = Number(hex[4].replaceAll('_', '')) - 4 * fraction.length;
    // Two steps so that a large mantissa with a very negative exponent does not underflow halfway.
    const half = Math.trunc(exponent / 2);
    value = mantissa * 2 ** half * 2 ** (exponent - half);
    if (hex[1] === '-') value = -value;
  }
  return Number.isFinite(value) ? value : undefined;
}

/** Go's `underscoreOK`: each `_` sits between digits, or between a base prefix and a digit. */
function underscoresBetweenDigits(s: string): boolean {
  let i = s[0] === '+' || s[0] === '-' ? 1 : 0;
  let saw = '^';
  let hex = false;
  if (s.length >= i + 2 && s[i] === '0' && 'bBoOxX'.includes(s[i + 1])) {
    hex = s[i + 1] === 'x' || s[i + 1] === 'X';
    saw = '0';
    i += 2;
  }
  for (; i < s.length; i++) {
    const c = s[i];
    if ((c >= '0' && c <= '9') || (hex && ((c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')))) {
      saw = '0';
      continue;
    }
    if (c === '_') {
      if (saw !== '0') return false;
      saw = '_';
      continue;
    }
    if (saw === '_') return false;
    saw = '!';
  }
  return saw !== '_';
}
