/**
 * Machinery for the fuzz test (test/e2e/fuzz.test.ts): a seeded PRNG, mutators that know the wire
 * formats only as far as a fuzzer needs to (protobuf wire format, Thrift TBinaryProtocol, JSON trees),
 * compression wrappers, and clients that send raw bytes over keep-alive HTTP/1.1 and over HTTP/2 as gRPC
 * and report exactly what came back: a status, a reset, or nothing before the deadline.
 *
 * Every case is a pure function of (run seed, decoder, case index), so a failing case can be rebuilt and
 * sent again alone, whatever the concurrency that found it.
 */
import { Agent, request as httpRequest } from 'node:http';
import { connect as http2Connect, constants as h2, type ClientHttp2Session } from 'node:http2';
import { deflateSync, gzipSync } from 'node:zlib';

// ---------------------------------------------------------------------------------------------------
// PRNG

/** sfc32, seeded through splitmix32 from any number of 32-bit words. */
export class Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(...words: number[]) {
    let h = 0x9e3779b9;
    const mix = (x: number) => {
      h = (h + 0x9e3779b9 + x) | 0;
      let z = h;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
      return (z ^ (z >>> 16)) >>> 0;
    };
    for (const w of words) mix(w >>> 0);
    this.a = mix(1);
    this.b = mix(2);
    this.c = mix(3);
    this.d = mix(4);
    for (let i = 0; i < 12; i++) this.u32();
  }

  u32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  /** An integer in [0, n). */
  int(n: number): number {
    return n <= 0 ? 0 : Math.floor((this.u32() / 0x1_0000_0000) * n);
  }

  /** An integer in [lo, hi]. */
  range(lo: number, hi: number): number {
    return lo + this.int(hi - lo + 1);
  }

  chance(p: number): boolean {
    return this.u32() / 0x1_0000_0000 < p;
  }

  pick<T>(list: readonly T[]): T {
    return list[this.int(list.length)];
  }

  /** One of `entries` with probability proportional to its weight. */
  weighted<T>(entries: readonly (readonly [number, T])[]): T {
    let total = 0;
    for (const [w] of entries) total += w;
    let x = (this.u32() / 0x1_0000_0000) * total;
    for (const [w, v] of entries) {
      if ((x -= w) < 0) return v;
    }
    return entries[entries.length - 1][1];
  }

  bytes(n: number): Buffer {
    const out = Buffer.allocUnsafe(n);
    for (let i = 0; i < n; i++) out[i] = this.u32() & 0xff;
    return out;
  }
}

/** A 31-bit seed from FUZZ_SEED (decimal or 0x hex), else a fresh random one. */
export function runSeed(env: string | undefined): number {
  if (env !== undefined && env.trim() !== '') {
    const n = Number(env.trim());
    if (!Number.isSafeInteger(n) || n < 0) throw new Error(`FUZZ_SEED must be a non-negative integer, got ${JSON.stringify(env)}`);
    return n >>> 0;
  }
  return (Math.random() * 0x7fff_ffff) >>> 0;
}

// ---------------------------------------------------------------------------------------------------
// Byte-level mutations, for every format

/** A mutated body and how it was made (printed with failures). */
export interface Mutant {
  body: Buffer;
  how: string;
}

const INTERESTING_BYTES = [0x00, 0x01, 0x7f, 0x80, 0xff, 0xfe, 0x0a, 0x0b, 0x0c, 0x0f, 0x22, 0x5c, 0x5b, 0x5d, 0x7b, 0x7d, 0x2c, 0x3a, 0x30, 0x2d];
const INTERESTING_WORDS = ['ffffffff', '7fffffff', '80000000', '00000000', 'ffffffffffffffff01', '8080808080808080808001', 'c0af', 'eda080', 'efbbbf'].map((h) => Buffer.from(h, 'hex'));

function splice(b: Buffer, start: number, deleteCount: number, insert: Buffer = Buffer.alloc(0)): Buffer {
  return Buffer.concat([b.subarray(0, start), insert, b.subarray(start + deleteCount)]);
}

/** One generic byte-level mutation; `other` is another seed of the same decoder, for splicing. */
export function byteMutation(rng: Rng, input: Buffer, other: Buffer): Mutant {
  const n = input.length;
  if (n === 0) return { body: rng.bytes(rng.range(1, 8)), how: 'random bytes' };
  const op = rng.weighted([
    [3, 'truncate'],
    [3, 'byte'],
    [3, 'bit'],
    [2, 'insert'],
    [2, 'delete'],
    [1, 'duplicate'],
    [1, 'word'],
    [2, 'splice'],
  ] as const);
  switch (op) {
    case 'truncate': {
      const at = rng.int(n);
      return { body: input.subarray(0, at), how: `truncate@${at}` };
    }
    case 'byte': {
      const b = Buffer.from(input);
      const at = rng.int(n);
      b[at] = rng.chance(0.5) ? rng.pick(INTERESTING_BYTES) : rng.int(256);
      return { body: b, how: `byte@${at}=${b[at].toString(16)}` };
    }
    case 'bit': {
      const b = Buffer.from(input);
      const flips = rng.chance(0.7) ? 1 : rng.range(2, 8);
      const at: string[] = [];
      for (let k = 0; k < flips && n > 0; k++) {
        const i = rng.int(n);
        const bit = rng.int(8);
        b[i] ^= 1 << bit;
        at.push(`${i}.${bit}`);
      }
      return { body: b, how: `bitflip@${at.join(',')}` };
    }
    case 'insert': {
      const at = rng.int(n + 1);
      const ins = rng.chance(0.5) ? Buffer.from([rng.pick(INTERESTING_BYTES)]) : rng.bytes(rng.range(1, 16));
      return { body: splice(input, at, 0, ins), how: `insert@${at}:${ins.toString('hex')}` };
    }
    case 'delete': {
      const at = rng.int(n);
      const len = rng.chance(0.5) ? 1 : rng.range(1, Math.min(64, n - at));
      return { body: splice(input, at, len), how: `delete@${at}+${len}` };
    }
    case 'duplicate': {
      const from = rng.int(n);
      const len = rng.range(1, Math.min(256, n - from));
      const to = rng.int(n + 1);
      return { body: splice(input, to, 0, input.subarray(from, from + len)), how: `dup[${from}+${len}]@${to}` };
    }
    case 'word': {
      const w = rng.pick(INTERESTING_WORDS);
      const at = rng.int(n);
      const b = Buffer.from(input);
      w.copy(b, at, 0, Math.min(w.length, n - at));
      return { body: b, how: `word@${at}=${w.toString('hex')}` };
    }
    case 'splice': {
      const a = rng.int(n + 1);
      const c = rng.int(other.length + 1);
      return { body: Buffer.concat([input.subarray(0, a), other.subarray(c)]), how: `splice@${a}+other@${c}` };
    }
  }
}

/** 2 to 8 byte-level mutations stacked. */
export function havoc(rng: Rng, input: Buffer, other: Buffer): Mutant {
  let body = input;
  const hows: string[] = [];
  const k = rng.range(2, 8);
  for (let i = 0; i < k && body.length > 0; i++) {
    const m = byteMutation(rng, body, other);
    body = m.body;
    hows.push(m.how);
  }
  return { body, how: `havoc(${hows.join(' ')})` };
}

// ---------------------------------------------------------------------------------------------------
// Protobuf wire format

const VARINT = 0;
const I64 = 1;
const LEN = 2;
const SGROUP = 3;
const EGROUP = 4;
const I32 = 5;
/** Not a wire type: a PField whose `raw` bytes are written as they are, tag included. */
const VERBATIM = -1;

export function varint(v: bigint | number): Buffer {
  let x = BigInt.asUintN(64, BigInt(v));
  const out: number[] = [];
  while (x >= 0x80n) {
    out.push(Number(x & 0x7fn) | 0x80);
    x >>= 7n;
  }
  out.push(Number(x));
  return Buffer.from(out);
}

/** A field of a parsed message; `children` when a LEN payload parses as a message itself. */
export interface PField {
  field: number;
  wire: number;
  /** The encoded value: varint bytes, 8 or 4 bytes, or the LEN payload (without its length). */
  raw: Buffer;
  children?: PField[];
}

/** Offsets in the buffer a parse walked over, for truncation and in-place corruption. */
export interface ProtoMarks {
  /** Where each tag starts, where its length varint starts (LEN) and where its value starts and ends. */
  tags: number[];
  lengths: { at: number; size: number; value: number }[];
  values: { start: number; end: number }[];
}

function readVarint(buf: Buffer, pos: number, end: number): { value: bigint; next: number } | undefined {
  let v = 0n;
  for (let shift = 0n, p = pos; p < end && shift < 70n; shift += 7n, p++) {
    const b = buf[p];
    v |= BigInt(b & 0x7f) << shift;
    if (b < 0x80) return { value: v, next: p + 1 };
  }
  return undefined;
}

/** Parses `buf[start, end)` as a message; undefined when it is not one. */
export function parseProto(buf: Buffer, start = 0, end = buf.length, marks?: ProtoMarks, depth = 0): PField[] | undefined {
  const out: PField[] = [];
  let pos = start;
  while (pos < end) {
    const tagStart = pos;
    const t = readVarint(buf, pos, end);
    if (t === undefined || t.value > 0xffff_ffffn) return undefined;
    const field = Number(t.value >> 3n);
    const wire = Number(t.value & 7n);
    if (field === 0) return undefined;
    pos = t.next;
    let raw: Buffer;
    let children: PField[] | undefined;
    if (wire === VARINT) {
      const v = readVarint(buf, pos, end);
      if (v === undefined) return undefined;
      raw = buf.subarray(pos, v.next);
      marks?.values.push({ start: pos, end: v.next });
      pos = v.next;
    } else if (wire === I64 || wire === I32) {
      const size = wire === I64 ? 8 : 4;
      if (pos + size > end) return undefined;
      raw = buf.subarray(pos, pos + size);
      marks?.values.push({ start: pos, end: pos + size });
      pos += size;
    } else if (wire === LEN) {
      const l = readVarint(buf, pos, end);
      if (l === undefined || l.value > BigInt(end - l.next)) return undefined;
      const len = Number(l.value);
      marks?.lengths.push({ at: pos, size: l.next - pos, value: len });
      pos = l.next;
      raw = buf.subarray(pos, pos + len);
      marks?.values.push({ start: pos, end: pos + len });
      if (len > 0 && depth < 12) {
        const sub: ProtoMarks | undefined = marks && { tags: [], lengths: [], values: [] };
        children = parseProto(buf, pos, pos + len, sub, depth + 1);
        if (children !== undefined && marks && sub) {
          marks.tags.push(...sub.tags);
          marks.lengths.push(...sub.lengths);
          marks.values.push(...sub.values);
        }
      }
      pos += len;
    } else return undefined;
    marks?.tags.push(tagStart);
    out.push(children === undefined ? { field, wire, raw } : { field, wire, raw, children });
  }
  return out;
}

export function serializeProto(fields: readonly PField[]): Buffer {
  const parts: Buffer[] = [];
  for (const f of fields) {
    if (f.wire === VERBATIM) {
      parts.push(f.raw);
      continue;
    }
    parts.push(varint((BigInt(f.field) << 3n) | BigInt(f.wire & 7)));
    if (f.wire === LEN) {
      const payload = f.children ? serializeProto(f.children) : f.raw;
      parts.push(varint(payload.length), payload);
    } else parts.push(f.raw);
  }
  return Buffer.concat(parts);
}

/** Every field list in the tree, with the fields in it (for picking a place to mutate). */
function fieldLists(fields: PField[], out: PField[][] = []): PField[][] {
  out.push(fields);
  for (const f of fields) if (f.children) fieldLists(f.children, out);
  return out;
}

const VARINT_EXTREMES: readonly (readonly [string, Buffer])[] = [
  ['0', varint(0)],
  ['1', varint(1)],
  ['2^31-1', varint(0x7fff_ffff)],
  ['2^31', varint(0x8000_0000)],
  ['2^32-1', varint(0xffff_ffff)],
  ['2^32', varint(0x1_0000_0000)],
  ['2^53+1', varint(2n ** 53n + 1n)],
  ['2^63-1', varint(2n ** 63n - 1n)],
  ['2^63', varint(2n ** 63n)],
  ['2^64-1', varint(2n ** 64n - 1n)],
  ['-1', varint(-1n)],
  ['-2^31', varint(-(2n ** 31n))],
  ['overlong11', Buffer.from('8080808080808080808001', 'hex')],
  ['overflow10', Buffer.from('ffffffffffffffffff7f', 'hex')],
  ['padded0', Buffer.from('80808000', 'hex')],
];

const LENGTH_CORRUPTIONS: readonly string[] = ['huge', '2^31', '2^28', 'negative', 'overlong', 'plus1', 'minus1', 'zero', 'unterminated', 'double'];

/** Replaces a LEN field's length in place (the enclosing lengths are left alone). */
function corruptLength(buf: Buffer, m: { at: number; size: number; value: number }, kind: string): Buffer {
  const repl: Record<string, () => Buffer> = {
    huge: () => varint(0xffff_ffff),
    '2^31': () => varint(0x8000_0000),
    '2^28': () => varint(1 << 28),
    negative: () => varint(-1n),
    overlong: () => Buffer.from('8080808080808080808080808001', 'hex'),
    plus1: () => varint(m.value + 1),
    minus1: () => varint(Math.max(0, m.value - 1)),
    zero: () => varint(0),
    unterminated: () => Buffer.from('ffffffff', 'hex'),
    double: () => varint(m.value * 2 + 1),
  };
  return splice(buf, m.at, m.size, repl[kind]());
}

/** Groups nested `depth` deep under field `field` (decoders must skip them without recursing forever). */
export function nestedGroups(field: number, depth: number, balanced = true): Buffer {
  const start = varint((field << 3) | SGROUP);
  const end = varint((field << 3) | EGROUP);
  return Buffer.concat([Buffer.alloc(start.length * depth, start), balanced ? Buffer.alloc(end.length * depth, end) : Buffer.alloc(0)]);
}

/** An unknown field of a random wire type, sometimes deliberately malformed. */
function unknownField(rng: Rng): { bytes: Buffer; how: string } {
  const field = rng.pick([15, 16, 100, 2047, 19000, 536_870_911]);
  const kind = rng.pick(['varint', 'i64', 'i32', 'len', 'group', 'deep-group', 'unbalanced-group', 'egroup', 'wire6', 'wire7'] as const);
  const tagOf = (w: number) => varint((BigInt(field) << 3n) | BigInt(w));
  switch (kind) {
    case 'varint':
      return { bytes: Buffer.concat([tagOf(VARINT), rng.pick(VARINT_EXTREMES)[1]]), how: `unknown ${field}:varint` };
    case 'i64':
      return { bytes: Buffer.concat([tagOf(I64), rng.bytes(8)]), how: `unknown ${field}:i64` };
    case 'i32':
      return { bytes: Buffer.concat([tagOf(I32), rng.bytes(4)]), how: `unknown ${field}:i32` };
    case 'len': {
      const len = rng.pick([0, 1, 100, 70_000]);
      return { bytes: Buffer.concat([tagOf(LEN), varint(len), rng.bytes(len)]), how: `unknown ${field}:len${len}` };
    }
    case 'group':
      return { bytes: Buffer.concat([tagOf(SGROUP), tagOf(VARINT), varint(1), tagOf(EGROUP)]), how: `unknown ${field}:group` };
    case 'deep-group': {
      const depth = rng.pick([100, 10_000, 200_000]);
      return { bytes: nestedGroups(field, depth), how: `unknown ${field}:groups${depth}` };
    }
    case 'unbalanced-group':
      return { bytes: nestedGroups(field, rng.pick([1, 1000]), false), how: `unknown ${field}:open-group` };
    case 'egroup':
      return { bytes: tagOf(EGROUP), how: `unknown ${field}:stray-egroup` };
    case 'wire6':
      return { bytes: Buffer.concat([tagOf(6), rng.bytes(4)]), how: `unknown ${field}:wire6` };
    case 'wire7':
      return { bytes: Buffer.concat([tagOf(7), rng.bytes(4)]), how: `unknown ${field}:wire7` };
  }
}

const LEN_PAYLOADS: readonly (readonly [string, (rng: Rng, old: Buffer) => Buffer])[] = [
  ['empty', () => Buffer.alloc(0)],
  ['1byte', (rng) => rng.bytes(1)],
  ['7bytes', (rng) => rng.bytes(7)],
  ['9bytes', (rng) => rng.bytes(9)],
  ['15bytes', (rng) => rng.bytes(15)],
  ['17bytes', (rng) => rng.bytes(17)],
  ['32bytes', (rng) => rng.bytes(32)],
  ['zeros16', () => Buffer.alloc(16)],
  ['zeros8', () => Buffer.alloc(8)],
  ['bad-utf8', () => Buffer.from('c328a0a1e28228f09f92edA080ff', 'hex')],
  ['random', (rng, old) => rng.bytes(old.length)],
  ['64KiB', (rng) => Buffer.alloc(65_536, rng.int(256))],
  ['cut', (rng, old) => old.subarray(0, rng.int(old.length + 1))],
];

/**
 * One protobuf-aware mutation: corrupt a length, a tag's wire type or field number, a value, or the
 * tree's shape (delete, duplicate, move, insert unknown fields); the structural ones re-encode enclosing
 * lengths so that the damage reaches the inner decoder. `deepValue` gives a format's own nesting bomb.
 */
export function protoMutation(rng: Rng, input: Buffer, deepValue?: (rng: Rng, tree: PField[]) => string | undefined): Mutant {
  const marks: ProtoMarks = { tags: [], lengths: [], values: [] };
  const tree = parseProto(input, 0, input.length, marks);
  if (tree === undefined || tree.length === 0) return byteMutation(rng, input, input);
  const op = rng.weighted([
    [3, 'length'],
    [2, 'trunc'],
    [2, 'wire'],
    [1, 'fieldno'],
    [2, 'value'],
    [2, 'payload'],
    [1, 'delete'],
    [1, 'dup'],
    [1, 'move'],
    [2, 'unknown'],
    [1, 'deep'],
  ] as const);
  switch (op) {
    case 'length': {
      if (marks.lengths.length === 0) break;
      const m = rng.pick(marks.lengths);
      const kind = rng.pick(LENGTH_CORRUPTIONS);
      return { body: corruptLength(input, m, kind), how: `length@${m.at}=${kind}` };
    }
    case 'trunc': {
      // Within a tag, within a length varint, at a value's first or last byte.
      const positions: number[] = [];
      for (const t of marks.tags) positions.push(t, t + 1);
      for (const l of marks.lengths) positions.push(l.at, l.at + 1, l.at + l.size);
      for (const v of marks.values) positions.push(v.start + 1, v.end - 1, v.end);
      const at = Math.min(input.length, rng.pick(positions));
      return { body: input.subarray(0, at), how: `truncate-structural@${at}` };
    }
    case 'deep': {
      const how = deepValue?.(rng, tree);
      if (how !== undefined) return { body: serializeProto(tree), how };
      break;
    }
    default:
      break;
  }
  const lists = fieldLists(tree);
  const list = rng.pick(lists);
  if (list.length === 0) return byteMutation(rng, input, input);
  const i = rng.int(list.length);
  const f = list[i];
  let how: string;
  switch (op) {
    case 'wire': {
      const wire = rng.pick([VARINT, I64, LEN, SGROUP, EGROUP, I32, 6, 7].filter((w) => w !== f.wire));
      list[i] = { field: f.field, wire, raw: f.wire === LEN ? Buffer.concat([varint(f.raw.length), f.raw]) : f.raw };
      how = `wire ${f.field}:${f.wire}->${wire}`;
      break;
    }
    case 'fieldno': {
      const field = rng.pick([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 15, 16, 536_870_911]);
      list[i] = { ...f, field };
      how = `fieldno ${f.field}->${field}`;
      break;
    }
    case 'value': {
      if (f.wire === VARINT) {
        const [name, raw] = rng.pick(VARINT_EXTREMES);
        list[i] = { field: f.field, wire: VARINT, raw };
        how = `varint ${f.field}=${name}`;
      } else if (f.wire === I64 || f.wire === I32) {
        const raw = rng.chance(0.5) ? rng.bytes(f.raw.length) : Buffer.alloc(f.raw.length, rng.pick([0x00, 0xff, 0x7f, 0x80]));
        list[i] = { field: f.field, wire: f.wire, raw };
        how = `fixed ${f.field}=${raw.toString('hex')}`;
      } else {
        const [name, make] = rng.pick(LEN_PAYLOADS);
        list[i] = { field: f.field, wire: LEN, raw: make(rng, f.raw) };
        how = `bytes ${f.field}=${name}`;
      }
      break;
    }
    case 'payload': {
      // A LEN payload mutated bytewise, its length re-encoded.
      const lens = lists.flat().filter((x) => x.wire === LEN && x.raw.length > 0);
      if (lens.length === 0) return byteMutation(rng, input, input);
      const g = rng.pick(lens);
      const m = byteMutation(rng, g.children ? serializeProto(g.children) : g.raw, g.raw);
      g.children = undefined;
      g.raw = m.body;
      how = `in-field ${g.field}: ${m.how}`;
      break;
    }
    case 'delete':
      list.splice(i, 1);
      how = `delete field ${f.field}`;
      break;
    case 'dup': {
      const times = Math.min(rng.pick([1, 2, 10, 500]), Math.max(1, Math.floor(1_000_000 / (f.raw.length + 4))));
      list.splice(i, 0, ...Array.from({ length: times }, () => f));
      how = `repeat field ${f.field} x${times + 1}`;
      break;
    }
    case 'move': {
      const to = rng.pick(lists);
      list.splice(i, 1);
      to.splice(rng.int(to.length + 1), 0, f);
      how = `move field ${f.field}`;
      break;
    }
    default: {
      // Verbatim bytes: the enclosing lengths are re-encoded around them, so the inner decoder sees them.
      const u = unknownField(rng);
      list.splice(rng.int(list.length + 1), 0, { field: 0, wire: VERBATIM, raw: u.bytes });
      how = u.how;
      break;
    }
  }
  return { body: serializeProto(tree), how };
}

/** Finds the first field list reached by following field numbers (LEN fields with children). */
export function findProtoPath(tree: PField[], path: readonly number[]): PField[] | undefined {
  let list: PField[] | undefined = tree;
  for (const n of path) {
    const next: PField | undefined = list?.find((f) => f.field === n && f.children !== undefined);
    list = next?.children;
    if (list === undefined) return undefined;
  }
  return list;
}

/** A message nested `depth` times: each level is `prefix(level) ++ length ++ inner`, built in O(depth). */
export function nestedMessage(depth: number, inner: Buffer, wrap: readonly number[]): Buffer {
  // `wrap` is the chain of LEN field numbers from the outer message to the inner one, repeated per level.
  const headers: Buffer[] = [];
  let size = inner.length;
  for (let d = 0; d < depth; d++) {
    for (let k = wrap.length - 1; k >= 0; k--) {
      const h = Buffer.concat([varint((wrap[k] << 3) | LEN), varint(size)]);
      headers.push(h);
      size += h.length;
    }
  }
  headers.reverse();
  return Buffer.concat([...headers, inner]);
}

// ---------------------------------------------------------------------------------------------------
// Thrift TBinaryProtocol

const T = { STOP: 0, BOOL: 2, BYTE: 3, DOUBLE: 4, I16: 6, I32: 8, I64: 10, STRING: 11, STRUCT: 12, MAP: 13, SET: 14, LIST: 15 };

/** Offsets a walk over a Thrift `list<struct>` found. */
export interface ThriftMarks {
  /** i32 string lengths and container counts. */
  lengths: number[];
  /** Field type bytes (field headers), container element types. */
  types: number[];
  /** i16 field ids. */
  ids: number[];
  stops: number[];
  /** [start, end) of whole fields (header and value). */
  fields: [number, number][];
  /** Fixed-size values: offset and size. */
  values: [number, number][];
}

export function walkThrift(buf: Buffer): ThriftMarks {
  const m: ThriftMarks = { lengths: [], types: [], ids: [], stops: [], fields: [], values: [] };
  let pos = 0;
  const need = (n: number) => {
    if (pos + n > buf.length) throw new Error('end');
  };
  const value = (type: number, depth: number): void => {
    if (depth > 50) throw new Error('deep');
    const fixed: Record<number, number> = { [T.BOOL]: 1, [T.BYTE]: 1, [T.I16]: 2, [T.I32]: 4, [T.I64]: 8, [T.DOUBLE]: 8 };
    if (fixed[type] !== undefined) {
      need(fixed[type]);
      m.values.push([pos, fixed[type]]);
      pos += fixed[type];
    } else if (type === T.STRING) {
      need(4);
      m.lengths.push(pos);
      const len = buf.readInt32BE(pos);
      pos += 4;
      if (len < 0) throw new Error('neg');
      need(len);
      pos += len;
    } else if (type === T.STRUCT) {
      for (;;) {
        const start = pos;
        need(1);
        m.types.push(pos);
        const t = buf[pos++];
        if (t === T.STOP) {
          m.stops.push(start);
          return;
        }
        need(2);
        m.ids.push(pos);
        pos += 2;
        value(t, depth + 1);
        m.fields.push([start, pos]);
      }
    } else if (type === T.MAP) {
      need(6);
      m.types.push(pos, pos + 1);
      const kt = buf[pos];
      const vt = buf[pos + 1];
      m.lengths.push(pos + 2);
      const n = buf.readInt32BE(pos + 2);
      pos += 6;
      for (let k = 0; k < n; k++) {
        value(kt, depth + 1);
        value(vt, depth + 1);
      }
    } else if (type === T.LIST || type === T.SET) {
      need(5);
      m.types.push(pos);
      const et = buf[pos];
      m.lengths.push(pos + 1);
      const n = buf.readInt32BE(pos + 1);
      pos += 5;
      for (let k = 0; k < n; k++) value(et, depth + 1);
    } else throw new Error('type');
  };
  try {
    value(T.LIST, 0);
  } catch {
    // A partial walk is enough to mutate.
  }
  return m;
}

function i32(v: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeInt32BE(v | 0);
  return b;
}

/** An unknown field (id 100+) that a reader must skip: deep, huge, or malformed. */
function thriftUnknown(rng: Rng): { bytes: Buffer; how: string } {
  const id = Buffer.from([0x00, rng.pick([0x64, 0x7f, 0xff])]);
  const kind = rng.pick(['deep-struct', 'deep-list', 'map', 'set', 'string', 'huge-list', 'bad-elem', 'double'] as const);
  switch (kind) {
    case 'deep-struct': {
      const depth = rng.pick([63, 64, 65, 1000, 100_000]);
      const open = Buffer.concat([Buffer.from([T.STRUCT]), id]);
      return { bytes: Buffer.concat([Buffer.alloc(open.length * depth, open), Buffer.alloc(depth, T.STOP)]), how: `unknown struct depth ${depth}` };
    }
    case 'deep-list': {
      const depth = rng.pick([63, 64, 65, 1000, 100_000]);
      // list<list<...>> each of one element, the innermost empty.
      const open = Buffer.concat([Buffer.from([T.LIST]), i32(1)]);
      const body = Buffer.concat([Buffer.alloc(open.length * (depth - 1), open), Buffer.from([T.LIST]), i32(0)]);
      return { bytes: Buffer.concat([Buffer.from([T.LIST]), id, body]), how: `unknown list depth ${depth}` };
    }
    case 'map': {
      const n = rng.pick([0, 1, 3, -1, 0x7fff_ffff]);
      return { bytes: Buffer.concat([Buffer.from([T.MAP]), id, Buffer.from([T.STRING, T.I32]), i32(n), i32(1), Buffer.from('k'), i32(7)]), how: `unknown map n=${n}` };
    }
    case 'set': {
      const n = rng.pick([0, 2, -5]);
      return { bytes: Buffer.concat([Buffer.from([T.SET]), id, Buffer.from([T.I64]), i32(n), Buffer.alloc(16)]), how: `unknown set n=${n}` };
    }
    case 'string': {
      const n = rng.pick([0, 5, -1, 0x7fff_ffff, 1 << 20]);
      return { bytes: Buffer.concat([Buffer.from([T.STRING]), id, i32(n), Buffer.from('hello')]), how: `unknown string len=${n}` };
    }
    case 'huge-list': {
      const n = rng.pick([0x7fff_ffff, 1_000_000]);
      return { bytes: Buffer.concat([Buffer.from([T.LIST]), id, Buffer.from([T.BOOL]), i32(n), Buffer.alloc(8)]), how: `unknown list n=${n}` };
    }
    case 'bad-elem': {
      const et = rng.pick([0, 1, 5, 7, 9, 16, 0x7f, 0xff]);
      return { bytes: Buffer.concat([Buffer.from([T.LIST]), id, Buffer.from([et]), i32(2), Buffer.alloc(8)]), how: `unknown list elem type ${et}` };
    }
    case 'double':
      return { bytes: Buffer.concat([Buffer.from([T.DOUBLE]), id, Buffer.from('7ff8000000000001', 'hex')]), how: 'unknown double NaN' };
  }
}

/** One Thrift-aware mutation: lengths and counts, type bytes, ids, STOPs, values, unknown fields. */
export function thriftMutation(rng: Rng, input: Buffer): Mutant {
  const m = walkThrift(input);
  const op = rng.weighted([
    [3, 'length'],
    [2, 'type'],
    [1, 'id'],
    [1, 'stop'],
    [2, 'value'],
    [2, 'unknown'],
    [1, 'dupfield'],
    [1, 'delfield'],
    [2, 'trunc'],
  ] as const);
  switch (op) {
    case 'length': {
      if (m.lengths.length === 0) break;
      const at = rng.pick(m.lengths);
      const cur = input.readInt32BE(at);
      const v = rng.pick([-1, -2_147_483_648, 2_147_483_647, 0x1000_0000, 65_536, 0, cur + 1, cur - 1, cur * 2 + 1]);
      const b = Buffer.from(input);
      b.writeInt32BE(v | 0, at);
      return { body: b, how: `length@${at}=${v | 0}` };
    }
    case 'type': {
      if (m.types.length === 0) break;
      const at = rng.pick(m.types);
      const b = Buffer.from(input);
      b[at] = rng.pick([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 0x7f, 0x80, 0xff]);
      return { body: b, how: `type@${at}=${b[at]}` };
    }
    case 'id': {
      if (m.ids.length === 0) break;
      const at = rng.pick(m.ids);
      const b = Buffer.from(input);
      b.writeInt16BE(rng.pick([0, -1, -32768, 32767, 1, 2, 3, 4, 5, 6, 8, 9, 10, 11, 12]), at);
      return { body: b, how: `id@${at}=${b.readInt16BE(at)}` };
    }
    case 'stop': {
      if (m.stops.length === 0) break;
      const at = rng.pick(m.stops);
      return { body: splice(input, at, 1), how: `drop-stop@${at}` };
    }
    case 'value': {
      if (m.values.length === 0) break;
      const [at, size] = rng.pick(m.values);
      const b = Buffer.from(input);
      const fill = rng.pick(['ff', '00', '7f', '80', 'rand'] as const);
      if (fill === 'rand') rng.bytes(size).copy(b, at);
      else b.fill(Number.parseInt(fill, 16), at, at + size);
      if (fill === '7f' || fill === '80') b.fill(fill === '7f' ? 0xff : 0x00, at + 1, at + size);
      return { body: b, how: `value@${at}/${size}=${fill}` };
    }
    case 'unknown': {
      const u = thriftUnknown(rng);
      const at = m.fields.length > 0 && rng.chance(0.8) ? rng.pick(m.fields)[rng.int(2)] : rng.pick(m.stops.length ? m.stops : [input.length]);
      return { body: splice(input, at, 0, u.bytes), how: `${u.how} @${at}` };
    }
    case 'dupfield': {
      if (m.fields.length === 0) break;
      const [s, e] = rng.pick(m.fields);
      const times = rng.pick([1, 2, 100]);
      return { body: splice(input, e, 0, Buffer.concat(Array.from({ length: times }, () => input.subarray(s, e)))), how: `repeat field@${s} x${times + 1}` };
    }
    case 'delfield': {
      if (m.fields.length === 0) break;
      const [s, e] = rng.pick(m.fields);
      return { body: splice(input, s, e - s), how: `delete field@${s}` };
    }
    case 'trunc': {
      const positions = [...m.lengths.flatMap((x) => [x, x + 2, x + 4]), ...m.types, ...m.ids.map((x) => x + 1), ...m.stops, ...m.values.map(([a, s]) => a + s - 1)];
      if (positions.length === 0) break;
      const at = Math.min(input.length, rng.pick(positions));
      return { body: input.subarray(0, at), how: `truncate-structural@${at}` };
    }
  }
  return byteMutation(rng, input, input);
}

// ---------------------------------------------------------------------------------------------------
// JSON

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

/** Raw JSON texts (possibly invalid) by the key they replace the value of; `*` for any key. */
export type JsonDictionary = Readonly<Record<string, readonly string[]>>;

const q = (s: string) => JSON.stringify(s);

export const GENERIC_JSON: readonly string[] = [
  'null', 'true', 'false', '0', '-1', '1.5', '-0', '1e400', '-1e400', '123456789012345678901234567890', '9007199254740993',
  '18446744073709551616', '""', '"x"', '[]', '{}', '[[]]', '{"":{}}', '[null]', '"\\ud800"', '"\\u0000"', q('😀'),
  '"\\udc00\\ud800"', q('e\u0301\u202e'), '"\\uFEFF"', '"' + 'x'.repeat(70_000) + '"', 'NaN', 'Infinity', '0x10', '01', '1.', '.5', '+1',
  '"\\x41"', '"\\u12"', '"abc', 'tru', 'nul', '[1,]', '{"a":1,}', "'single'",
];

export const ID_JSON: readonly string[] = [
  '"xyz"', '"g000000000000000"', '""', '"0"', '"0000000000000000"', '"00000000000000000000000000000000"', '"FFFFFFFFFFFFFFFF"',
  '"7180C278B62E8F6A216A2AEA45D08FC9"', '"1"', '"12345678901234567"', '"7180c278b62e8f6a216a2aea45d08fc9a"', q('a'.repeat(64)),
  '" 1"', '"-1"', '"0x1"', q('１２'), '"463ac35c9f6413ad\\u0000"', '"W47/95gDgQPSabYzgT/GDA=="', '"7u Gb7DwbF0="', '123', '-1', '1e400',
  '12345678901234567890123', 'null', 'true', '[]', '{}', '"\\ud83d\\ude00"', '"0000000000000001"', '"ffffffffffffffffffffffffffffffff"',
];

const BIG_NUMBERS = ['0', '-1', '1.5', '1e400', '-1e400', '18446744073709551616', '18446744073709551615', '9223372036854775807', '9223372036854775808', '-9223372036854775809', '123456789012345678901234567890', '9007199254740993', '-0', '1E3', '0.0000001', '4294967296', '2147483648'];
const NUMBERS_AS_TEXT = BIG_NUMBERS.map((n) => q(n)).concat(['"abc"', '""', '"1e3"', '" 1"', '"0x10"', '"-"', '"99999999999999999999999999999"']);
const STRINGS = ['""', '"\\ud800"', '"\\u0000"', q('😀'), q('n'.repeat(10_000)), '123', 'null', '{}', '[]', 'true', '"\\n\\t\\"\\\\"', q('\u202e\u0301')];
const LISTS = ['[]', 'null', '{}', '[null]', '[1]', '[{}]', '[[]]', '"x"', '[""]'];
const OBJECTS = ['{}', 'null', '[]', '"x"', '1', '{"":null}', '{"__proto__":{"polluted":1}}', '{"constructor":{"prototype":{}}}'];

export const ZIPKIN_JSON: JsonDictionary = {
  traceId: ID_JSON,
  id: ID_JSON,
  parentId: ID_JSON,
  name: STRINGS,
  serviceName: STRINGS,
  key: STRINGS.concat(['"sa"', '"ca"', '"ma"', '"lc"', '"error"', '""']),
  value: STRINGS.concat(['"cs"', '"sr"', '"ss"', '"cr"', '"ms"', '"mr"', '"ws"', 'true', 'false', '1', '1.5', '1e400', '{"a":1}', '[1]']),
  kind: ['"CLIENT"', '"client"', '"SERVER"', '"PRODUCER"', '"CONSUMER"', '"FOO"', '""', '1', 'null', '[]', '{}'],
  timestamp: BIG_NUMBERS.concat(NUMBERS_AS_TEXT, ['null', 'true', '[]']),
  duration: BIG_NUMBERS.concat(NUMBERS_AS_TEXT, ['null', 'true', '[]']),
  ipv4: ['"999.1.1.1"', '"1.2.3"', '"1.2.3.4.5"', '"01.02.03.04"', '""', '"::1"', '"1.2.3.4\\u0000"', '1', 'null', '"255.255.255.255"', '"1.2.3.-4"', '"0.0.0.0"', q('1.2.3.4'.repeat(100))],
  ipv6: ['"::"', '"::::"', '"1:2:3:4:5:6:7:8:9"', '"::ffff:1.2.3.4"', '"::ffff:999.2.3.4"', '"fe80::1%eth0"', '"gggg::"', '"1.2.3.4"', '""', '"[::1]"', '"2001:db8::c001:1:2:3:4:5"', '"1::2::3"', '":1"', '"1:"', '"::1.2.3.4"', '1', 'null', q('f'.repeat(1000))],
  port: ['0', '-1', '65535', '65536', '70000', '2147483648', '1.5', '"80"', 'null', '1e400', '-32768', '32768'],
  shared: ['true', 'false', '"true"', '1', '0', 'null', '[]'],
  debug: ['true', 'false', '"true"', '1', '0', 'null', '[]'],
  tags: ['{}', 'null', '[]', '"x"', '{"a":1}', '{"a":null}', '{"a":{}}', '{"a":[]}', '{"":""}', '{"__proto__":"x"}', '{"a":true}', '{"a":1e400}', '{"error":""}', '{"otel.status_code":"ERROR","error":"x"}', '{"otel.scope.name":"s","otel.library.name":"l"}', '{"otel.dropped_attributes_count":"-1"}', '{"otlp.link.0":"garbage"}'],
  annotations: LISTS.concat(['[{"timestamp":1}]', '[{"value":"x"}]', '[{"timestamp":"x","value":1}]', '[{"timestamp":1,"value":"cs","endpoint":{}}]', '[{"timestamp":-1,"value":"sr"}]', '[{"timestamp":1e400,"value":"x"}]']),
  binaryAnnotations: LISTS.concat(['[{"key":"sa","value":true}]', '[{"key":"sa","value":true,"endpoint":{}}]', '[{"key":"ca","value":true,"endpoint":{"ipv6":"::1"}}]', '[{"key":"x","value":{"a":1}}]', '[{"key":"x","value":1e400}]', '[{"key":"lc","value":""}]', '[{"key":null,"value":"x"}]', '[{"key":"x","value":"y","type":"I32"}]']),
  localEndpoint: OBJECTS.concat(['{"serviceName":null}', '{"ipv4":"1.2.3.4","ipv6":"::1","port":-1}', JSON.stringify({ serviceName: 's'.repeat(300) })]),
  remoteEndpoint: OBJECTS.concat(['{"serviceName":null}', '{"ipv4":"1.2.3.4","ipv6":"::1","port":-1}']),
  endpoint: OBJECTS.concat(['{"serviceName":null}', '{"ipv4":"1.2.3.4","ipv6":"::1","port":-1}']),
  '*': GENERIC_JSON,
};

const NANOS = ['"0"', '"-1"', '"18446744073709551615"', '"18446744073709551616"', '"1e3"', '"abc"', '""', '1544712660000000123', '1.5', '-1', '1e400', 'null', 'true', '{}', '"99999999999999999999999999"', '"1544712660000000123 "', '"+1"', '"0x10"'];
const COUNTS = ['0', '-1', '4294967295', '4294967296', '1.5', '"1"', '"x"', 'null', '1e400', '"-1"', '9007199254740993'];

export const OTLP_JSON: JsonDictionary = {
  traceId: ID_JSON,
  spanId: ID_JSON,
  parentSpanId: ID_JSON,
  startTimeUnixNano: NANOS,
  endTimeUnixNano: NANOS,
  timeUnixNano: NANOS,
  kind: ['0', '1', '5', '6', '-1', '99', '2147483648', '"SPAN_KIND_SERVER"', '"SPAN_KIND_FOO"', '"FOO"', '1.5', 'null', '"2"', '[]'],
  flags: COUNTS,
  droppedAttributesCount: COUNTS,
  droppedEventsCount: COUNTS,
  droppedLinksCount: COUNTS,
  intValue: ['"9223372036854775807"', '"9223372036854775808"', '"-9223372036854775809"', '"1.5"', '"abc"', '""', '1.5', '1e400', '-0', '9007199254740993', '9223372036854775808', 'true', 'null', '{}', '"0x1"', '" 1"'],
  doubleValue: ['"NaN"', '"Infinity"', '"-Infinity"', '"nan"', '"x"', '1e400', '-0', 'null', '"1.5"', 'true', '5e-324', '1.7976931348623157e308', '{}'],
  boolValue: ['true', '"true"', '1', 'null', '"false"', '{}'],
  stringValue: STRINGS,
  bytesValue: ['"!!!"', '"AAA"', '"AA=="', '"A"', '""', '"SGVsbG8"', '"_-_-"', '"A===="', '1', 'null', q('QUFB'.repeat(20_000))],
  arrayValue: ['{}', '{"values":null}', '{"values":{}}', '{"values":[null]}', '{"values":[{}]}', '[]', 'null', '{"values":[{"arrayValue":{}}]}', '{"values":[1]}'],
  kvlistValue: ['{}', '{"values":[{"key":1}]}', '{"values":[null]}', '[]', '{"values":[{"key":"a"}]}', '{"values":[{"key":"a","value":{"kvlistValue":{}}}]}'],
  value: ['{}', 'null', '[]', '{"stringValue":"a","intValue":"1"}', '{"foo":1}', '"x"', '{"arrayValue":null}', '{"bytesValue":"@@"}', '{"intValue":null}'],
  attributes: LISTS.concat(['[{"key":null}]', '[{"key":"a"}]', '[{"key":"a","value":null}]', '[{"key":"a","value":{"stringValue":"x"}},{"key":"a","value":{"intValue":"1"}}]', '[{"value":{"stringValue":"x"}}]', '[{"key":"__proto__","value":{"stringValue":"x"}}]']),
  status: OBJECTS.concat(['{"code":3}', '{"code":-1}', '{"code":"STATUS_CODE_ERROR"}', '{"code":"STATUS_CODE_FOO"}', '{"message":1}', '{"code":2,"message":"' + 'm'.repeat(5000) + '"}']),
  code: ['0', '1', '2', '3', '-1', '"x"', 'null', '"STATUS_CODE_OK"', '"2"', '1.5'],
  events: LISTS.concat(['[{"name":"e"}]', '[{"timeUnixNano":"x"}]']),
  links: LISTS.concat(['[{"traceId":"x","spanId":"y"}]', '[{"traceId":"5b8efff798038103d269b633813fc60c"}]', '[{"spanId":"eee19b7ec3c1b174"}]']),
  spans: LISTS,
  scopeSpans: LISTS,
  resourceSpans: LISTS,
  resource: OBJECTS.concat(['{"attributes":null}', '{"droppedAttributesCount":-1}']),
  scope: OBJECTS.concat(['{"name":null}', '{"version":1}']),
  traceState: STRINGS,
  name: STRINGS,
  key: STRINGS,
  version: STRINGS,
  schemaUrl: STRINGS,
  '*': GENERIC_JSON,
};

interface JsonNode {
  parent: Json[] | { [k: string]: Json } | undefined;
  key: string | number;
  value: Json;
}

function collectNodes(value: Json, parent: JsonNode['parent'], key: string | number, out: JsonNode[]): void {
  out.push({ parent, key, value });
  if (Array.isArray(value)) value.forEach((v, i) => collectNodes(v, value, i, out));
  else if (value !== null && typeof value === 'object') for (const [k, v] of Object.entries(value)) collectNodes(v, value, k, out);
}

/**
 * Depths for nesting bombs: shallow, around where recursive decoders and encoders run out of stack (a few
 * thousand levels, depending on frame sizes and on what the JIT has optimized), and far beyond.
 */
export const NESTING_DEPTHS: readonly number[] = [64, 1000, 2000, 2500, 3000, 4000, 5000, 6000, 8000, 10_000, 100_000];

const deepCache = new Map<string, string>();

/** JSON nested `depth` deep; `kind` picks the shape (arrays, objects, or OTLP AnyValues). */
export function deepJson(kind: 'array' | 'object' | 'anyvalue' | 'kvlist', depth: number): string {
  const k = `${kind}:${depth}`;
  const hit = deepCache.get(k);
  if (hit !== undefined) return hit;
  const [open, inner, close] = {
    array: ['[', '1', ']'],
    object: ['{"a":', '1', '}'],
    anyvalue: ['{"arrayValue":{"values":[', '{"stringValue":"x"}', ']}}'],
    kvlist: ['{"kvlistValue":{"values":[{"key":"k","value":', '{"intValue":"1"}', '}]}}'],
  }[kind];
  const text = open.repeat(depth) + inner + close.repeat(depth);
  deepCache.set(k, text);
  return text;
}

/** Text edits after serialization: broken structure, BOMs, garbage, bad UTF-8. */
function jsonTextEdit(rng: Rng, text: Buffer): Mutant {
  const op = rng.pick(['drop-struct', 'add-struct', 'bom', 'trailing', 'leading-ws', 'bad-utf8', 'comment', 'dup-key', 'nul'] as const);
  const structural = [];
  for (let i = 0; i < text.length; i++) if ('{}[],:"'.includes(String.fromCharCode(text[i]))) structural.push(i);
  switch (op) {
    case 'drop-struct': {
      if (structural.length === 0) break;
      const at = rng.pick(structural);
      return { body: splice(text, at, 1), how: `drop '${String.fromCharCode(text[at])}'@${at}` };
    }
    case 'add-struct': {
      const at = rng.int(text.length + 1);
      const c = rng.pick(['{', '}', '[', ']', ',', ':', '"', '\\', ',,', '}}}']);
      return { body: splice(text, at, 0, Buffer.from(c)), how: `add '${c}'@${at}` };
    }
    case 'bom':
      return { body: Buffer.concat([Buffer.from('efbbbf', 'hex'), text]), how: 'bom' };
    case 'trailing':
      return { body: Buffer.concat([text, Buffer.from(rng.pick([' x', ']', '[]', '\u0000', '{}', ' '.repeat(1000)]))]), how: 'trailing garbage' };
    case 'leading-ws':
      return { body: Buffer.concat([Buffer.from(rng.pick(['\n', ' \t\r\n', ' '.repeat(10_000), '\u00a0'])), text]), how: 'leading whitespace' };
    case 'bad-utf8': {
      const quotes = structural.filter((i) => text[i] === 0x22);
      if (quotes.length === 0) break;
      const at = rng.pick(quotes) + 1;
      const bad = rng.pick(['ff', 'c0af', 'eda080', 'f4908080', 'c3', 'e282', 'f09f98']);
      return { body: splice(text, at, 0, Buffer.from(bad, 'hex')), how: `bad-utf8 ${bad}@${at}` };
    }
    case 'comment': {
      const at = rng.pick(structural.length ? structural : [0]);
      return { body: splice(text, at + 1, 0, Buffer.from('/* c */')), how: `comment@${at + 1}` };
    }
    case 'dup-key': {
      // `{"k":` → `{"k":1,"k":` : the same key twice in one object.
      const s = text.toString('latin1');
      const keys = [...s.matchAll(/[{,]("[A-Za-z]+":)/g)];
      if (keys.length === 0) break;
      const k = rng.pick(keys);
      const at = k.index + 1;
      const ins = Buffer.from(`${k[1]}${rng.pick(['null', '1', '"x"', '{}', '[]'])},`);
      return { body: splice(text, at, 0, ins), how: `dup-key ${k[1]}@${at}` };
    }
    case 'nul': {
      const at = rng.int(text.length + 1);
      return { body: splice(text, at, 0, Buffer.from([0])), how: `nul@${at}` };
    }
  }
  return byteMutation(rng, text, text);
}

/**
 * One to four mutations of the JSON tree (a value replaced by a raw text from the dictionary for its key
 * or a generic one, deleted, repeated, nested deep, renamed, moved), then sometimes a text edit. Raw texts
 * go in through placeholders so that they may be numbers JSON.stringify cannot write, or invalid JSON.
 */
export function jsonMutation(rng: Rng, input: Buffer, dict: JsonDictionary, deepKinds: readonly ('array' | 'object' | 'anyvalue' | 'kvlist')[]): Mutant {
  let root: Json;
  try {
    root = JSON.parse(input.toString('utf8')) as Json;
  } catch {
    return byteMutation(rng, input, input);
  }
  const raws: string[] = [];
  const raw = (text: string): string => {
    raws.push(text);
    return `@@RAW${raws.length - 1}@@`;
  };
  /** The length of a value once its raw texts are in. */
  const expandedLength = (v: Json): number => {
    const text = JSON.stringify(v) ?? '';
    let n = text.length;
    for (const m of text.matchAll(/@@RAW(\d+)@@/g)) n += raws[Number(m[1])].length;
    return n;
  };
  const set = (n: JsonNode, v: Json) => {
    if (n.parent === undefined) root = v;
    else (n.parent as Record<string | number, Json>)[n.key] = v;
  };
  const hows: string[] = [];
  const rounds = rng.chance(0.7) ? 1 : rng.range(2, 4);
  for (let r = 0; r < rounds; r++) {
    const nodes: JsonNode[] = [];
    collectNodes(root, undefined, '', nodes);
    const entryFor = (key: string | number) => (typeof key === 'string' && Object.hasOwn(dict, key) ? dict[key] : undefined);
    const keyed = nodes.filter((n) => entryFor(n.key) !== undefined);
    const n = keyed.length > 0 && rng.chance(0.5) ? rng.pick(keyed) : rng.pick(nodes);
    const op = rng.weighted([
      [6, 'dict'],
      [3, 'generic'],
      [1, 'null'],
      [2, 'delete'],
      [1, 'repeat'],
      [1, 'deep'],
      [1, 'rename'],
      [1, 'move'],
      [1, 'unwrap'],
    ] as const);
    const where = n.parent === undefined ? '$' : String(n.key);
    switch (op) {
      case 'dict': {
        const text = rng.pick(entryFor(n.key) ?? dict['*']);
        set(n, raw(text));
        hows.push(`${where}=${text.length > 40 ? text.slice(0, 40) + '…' : text}`);
        break;
      }
      case 'generic': {
        const text = rng.pick(GENERIC_JSON);
        set(n, raw(text));
        hows.push(`${where}=${text.length > 40 ? text.slice(0, 40) + '…' : text}`);
        break;
      }
      case 'null':
        set(n, null);
        hows.push(`${where}=null`);
        break;
      case 'delete':
        if (Array.isArray(n.parent)) n.parent.splice(n.key as number, 1);
        else if (n.parent !== undefined) delete n.parent[n.key as string];
        else root = null;
        hows.push(`delete ${where}`);
        break;
      case 'repeat': {
        const arrays = nodes.filter((x) => Array.isArray(x.value) && x.value.length > 0);
        if (arrays.length === 0) break;
        const a = rng.pick(arrays);
        const list = a.value as Json[];
        const el = rng.pick(list);
        // Many, but the body stays well under the receivers' limit: a 413 would test nothing here.
        const times = Math.min(rng.pick([2, 10, 300, 2000]), Math.floor(1_000_000 / expandedLength(el)));
        // Copies, not the same object: a later mutation of a shared nested array would multiply through
        // every copy and blow past the maximum string length.
        const text = JSON.stringify(el);
        for (let k = 0; k < times; k++) list.push(JSON.parse(text) as Json);
        hows.push(`repeat ${String(a.key)}[] x${times}`);
        break;
      }
      case 'deep': {
        const kind = rng.pick(deepKinds);
        const depth = rng.pick(NESTING_DEPTHS);
        set(n, raw(deepJson(kind, depth)));
        hows.push(`${where}=deep ${kind} ${depth}`);
        break;
      }
      case 'rename': {
        if (n.parent === undefined || Array.isArray(n.parent)) break;
        const key = String(n.key);
        const to = rng.pick([key.toUpperCase(), key + 'x', '', '__proto__', 'constructor', key.slice(0, -1), `${key}\u0000`]);
        const obj = n.parent;
        delete obj[key];
        Object.defineProperty(obj, to, { value: n.value, enumerable: true, writable: true, configurable: true });
        hows.push(`rename ${key}->${JSON.stringify(to)}`);
        break;
      }
      case 'move': {
        const other = rng.pick(nodes);
        set(n, JSON.parse(JSON.stringify(other.value)) as Json);
        hows.push(`${where}=<${String(other.key)}>`);
        break;
      }
      case 'unwrap': {
        const v = n.value;
        if (Array.isArray(v)) set(n, Object.fromEntries(v.map((x, i) => [String(i), x])));
        else if (v !== null && typeof v === 'object') set(n, Object.values(v));
        else set(n, [v]);
        hows.push(`unwrap ${where}`);
        break;
      }
    }
  }
  let text = JSON.stringify(root) ?? 'null';
  // A raw piece copied by 'move' or 'repeat' is spliced in once; its copies become null, so that a large
  // raw piece (deep nesting) cannot multiply past the maximum string length.
  for (let k = raws.length - 1; k >= 0; k--) {
    const parts = text.split(`"@@RAW${k}@@"`);
    text = parts.length === 1 ? text : parts[0] + raws[k] + parts.slice(1).join('null');
  }
  let body: Buffer = Buffer.from(text);
  if (rng.chance(0.15)) {
    const e = jsonTextEdit(rng, body);
    body = e.body;
    hows.push(e.how);
  }
  return { body, how: `json(${hows.join('; ')})` };
}

/** A JSON text edit only (structure, BOM, garbage, invalid UTF-8, duplicate keys). */
export function jsonTextMutation(rng: Rng, input: Buffer): Mutant {
  const e = jsonTextEdit(rng, input);
  return { body: e.body, how: `json-text(${e.how})` };
}

// ---------------------------------------------------------------------------------------------------
// Compression

export type Encoding = 'gzip' | 'deflate';

/** A compressed body: good compression of a mutant, or broken compression of a seed. */
export interface Wrapped {
  body: Buffer;
  encoding: Encoding;
  how: string;
  /** The decompressed size exceeds any limit: must be refused with 413 / RESOURCE_EXHAUSTED. */
  bomb?: boolean;
}

let bombCache: Buffer | undefined;

/** 64 MiB of zeros as gzip (about 64 KiB on the wire). */
export function gzipBomb(): Buffer {
  return (bombCache ??= gzipSync(Buffer.alloc(64 * 1024 * 1024), { level: 9 }));
}

/** A broken gzip/deflate stream made from `plain`. */
export function brokenCompression(rng: Rng, plain: Buffer): Wrapped {
  const gz = gzipSync(plain);
  const kind = rng.pick(['truncated', 'truncated-header', 'bitflip', 'crc', 'isize', 'trailing', 'concat', 'double', 'not-gzip', 'deflate-truncated', 'deflate-raw', 'empty-gzip'] as const);
  switch (kind) {
    case 'truncated': {
      const at = rng.range(10, Math.max(10, gz.length - 1));
      return { body: gz.subarray(0, at), encoding: 'gzip', how: `gzip truncated@${at}/${gz.length}` };
    }
    case 'truncated-header': {
      const at = rng.int(10);
      return { body: gz.subarray(0, at), encoding: 'gzip', how: `gzip header truncated@${at}` };
    }
    case 'bitflip': {
      const b = Buffer.from(gz);
      const at = rng.range(10, b.length - 9);
      b[at] ^= 1 << rng.int(8);
      return { body: b, encoding: 'gzip', how: `gzip bitflip@${at}` };
    }
    case 'crc': {
      const b = Buffer.from(gz);
      b.writeUInt32LE((b.readUInt32LE(b.length - 8) ^ 1) >>> 0, b.length - 8);
      return { body: b, encoding: 'gzip', how: 'gzip bad crc' };
    }
    case 'isize': {
      const b = Buffer.from(gz);
      b.writeUInt32LE(0xffff_ffff, b.length - 4);
      return { body: b, encoding: 'gzip', how: 'gzip bad isize' };
    }
    case 'trailing':
      return { body: Buffer.concat([gz, rng.bytes(rng.range(1, 32))]), encoding: 'gzip', how: 'gzip trailing garbage' };
    case 'concat':
      return { body: Buffer.concat([gz, gz]), encoding: 'gzip', how: 'gzip two members' };
    case 'double':
      return { body: gzipSync(gz), encoding: 'gzip', how: 'gzip twice, declared once' };
    case 'not-gzip':
      return { body: plain, encoding: 'gzip', how: 'declared gzip, sent plain' };
    case 'deflate-truncated': {
      const d = deflateSync(plain);
      const at = rng.int(d.length);
      return { body: d.subarray(0, at), encoding: 'deflate', how: `deflate truncated@${at}/${d.length}` };
    }
    case 'deflate-raw':
      return { body: gz.subarray(10, gz.length - 8), encoding: 'deflate', how: 'raw deflate declared zlib deflate' };
    case 'empty-gzip':
      return { body: gzipSync(Buffer.alloc(0)), encoding: 'gzip', how: 'gzip of nothing' };
  }
}

// ---------------------------------------------------------------------------------------------------
// Sending

export type Outcome =
  | { kind: 'http'; status: number; body: Buffer }
  | { kind: 'grpc'; code: number; message: string; httpStatus: number }
  | { kind: 'error'; code: string; message: string }
  | { kind: 'timeout' };

/** POSTs over keep-alive HTTP/1.1 connections (at most `sockets` at once). */
export class HttpSender {
  private readonly agent: Agent;

  constructor(
    private readonly port: number,
    sockets: number,
    private readonly timeoutMs: number,
  ) {
    this.agent = new Agent({ keepAlive: true, maxSockets: sockets, maxFreeSockets: sockets });
  }

  post(path: string, body: Buffer, headers: Record<string, string>): Promise<Outcome> {
    return new Promise((resolve) => {
      let done = false;
      const finish = (o: Outcome) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        resolve(o);
      };
      const req = httpRequest(
        { agent: this.agent, host: '127.0.0.1', port: this.port, method: 'POST', path, headers: { ...headers, 'content-length': String(body.length) } },
        (res) => {
          const chunks: Buffer[] = [];
          let size = 0;
          res.on('data', (c: Buffer) => {
            if (size < 65_536) chunks.push(c);
            size += c.length;
          });
          res.on('end', () => finish({ kind: 'http', status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
          res.on('error', (e: NodeJS.ErrnoException) => finish({ kind: 'error', code: e.code ?? 'ERR', message: e.message }));
        },
      );
      const timer = setTimeout(() => {
        finish({ kind: 'timeout' });
        req.destroy();
      }, this.timeoutMs);
      req.on('error', (e: NodeJS.ErrnoException) => finish({ kind: 'error', code: e.code ?? 'ERR', message: e.message }));
      req.end(body);
    });
  }

  close(): void {
    this.agent.destroy();
  }
}

/** A gRPC length-prefixed message: compressed flag, big-endian u32 length, bytes. */
export function grpcFrame(message: Buffer, compressed = false, declaredLength = message.length, flag = compressed ? 1 : 0): Buffer {
  const head = Buffer.alloc(5);
  head[0] = flag;
  head.writeUInt32BE(declaredLength >>> 0, 1);
  return Buffer.concat([head, message]);
}

/**
 * Unary gRPC calls written by hand on one HTTP/2 connection, so that the frames themselves can be
 * malformed. The answer is the `grpc-status` of the trailers (or of a trailers-only response).
 */
export class GrpcSender {
  private session: ClientHttp2Session | undefined;

  constructor(
    private readonly port: number,
    private readonly path: string,
    private readonly timeoutMs: number,
  ) {}

  private connect(): ClientHttp2Session {
    if (this.session && !this.session.closed && !this.session.destroyed) return this.session;
    // maxSessionMemory (MB): with the default 10, this client's own nghttp2 refuses new streams with
    // ENHANCE_YOUR_CALM once a few multi-MiB messages are buffered, and stays so for the session.
    const s = http2Connect(`http://127.0.0.1:${this.port}`, { maxSessionMemory: 1024 });
    s.on('error', () => undefined);
    s.on('close', () => {
      if (this.session === s) this.session = undefined;
    });
    this.session = s;
    return s;
  }

  call(body: Buffer, headers: Record<string, string> = {}): Promise<Outcome> {
    return new Promise((resolve) => {
      let done = false;
      const finish = (o: Outcome) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        resolve(o);
      };
      let stream: ReturnType<ClientHttp2Session['request']>;
      try {
        stream = this.connect().request({
          ':method': 'POST',
          ':path': this.path,
          'content-type': 'application/grpc',
          te: 'trailers',
          ...headers,
        });
      } catch (e) {
        resolve({ kind: 'error', code: (e as NodeJS.ErrnoException).code ?? 'ERR', message: (e as Error).message });
        return;
      }
      const timer = setTimeout(() => {
        finish({ kind: 'timeout' });
        stream.close(h2.NGHTTP2_CANCEL);
      }, this.timeoutMs);
      let httpStatus = 0;
      let status: string | undefined;
      let message = '';
      const take = (h: Record<string, unknown>) => {
        if (h['grpc-status'] !== undefined) status = String(h['grpc-status']);
        if (h['grpc-message'] !== undefined) message = decodeURIComponent(String(h['grpc-message']));
      };
      stream.on('response', (h) => {
        httpStatus = Number(h[':status']);
        take(h);
      });
      stream.on('trailers', (h) => take(h));
      stream.on('data', () => undefined);
      stream.on('error', (e: NodeJS.ErrnoException) => finish({ kind: 'error', code: e.code ?? 'ERR', message: e.message }));
      stream.on('close', () => {
        if (status !== undefined) finish({ kind: 'grpc', code: Number(status), message, httpStatus });
        else finish({ kind: 'error', code: stream.rstCode ? `RST_STREAM ${stream.rstCode}` : 'NO_STATUS', message: `HTTP ${httpStatus}, no grpc-status` });
      });
      stream.end(body);
    });
  }

  close(): void {
    this.session?.destroy();
  }
}

export const GRPC_CODES = ['OK', 'CANCELLED', 'UNKNOWN', 'INVALID_ARGUMENT', 'DEADLINE_EXCEEDED', 'NOT_FOUND', 'ALREADY_EXISTS', 'PERMISSION_DENIED', 'RESOURCE_EXHAUSTED', 'FAILED_PRECONDITION', 'ABORTED', 'OUT_OF_RANGE', 'UNIMPLEMENTED', 'INTERNAL', 'UNAVAILABLE', 'DATA_LOSS', 'UNAUTHENTICATED'];

/** A short label of an outcome, for counting: `202`, `400`, `grpc INVALID_ARGUMENT`, `reset ECONNRESET`, `timeout`. */
export function outcomeLabel(o: Outcome): string {
  switch (o.kind) {
    case 'http':
      return String(o.status);
    case 'grpc':
      return `grpc ${GRPC_CODES[o.code] ?? o.code}`;
    case 'error':
      return `error ${o.code}`;
    case 'timeout':
      return 'timeout';
  }
}

/**
 * V8 and Node messages of errors a decoder should never let out: a bug that a catch-all turned into a
 * 4xx (the status is fine, the decoder is not).
 */
export const RUNTIME_ERROR_MESSAGE =
  /Cannot read propert|Cannot set propert|is not a function|is not iterable|is not defined|is not a constructor|Maximum call stack|Invalid array length|Invalid string length|Invalid typed array length|out of range\. It must be|outside (the )?buffer bounds|outside the bounds of|Cannot convert .* to a BigInt|Cannot mix BigInt|Do not know how to serialize a BigInt|Invalid time value|undefined is not|null is not/;

// ---------------------------------------------------------------------------------------------------
// Running many cases

/** Runs `task(i)` for i in [0, n) with at most `concurrency` at once; stops early when `stop()` says so. */
export async function runPool(n: number, concurrency: number, task: (i: number) => Promise<void>, stop: () => boolean): Promise<number> {
  let next = 0;
  const worker = async () => {
    while (next < n && !stop()) await task(next++);
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, n) }, worker));
  return next;
}

/** Deletes chunks of `input` while `fails` still holds: a small ddmin, at most `budget` tries. */
export async function minimize(input: Buffer, fails: (b: Buffer) => Promise<boolean>, budget: number): Promise<Buffer> {
  let cur = input;
  // Shortest failing prefix first: cheap and often most of the reduction.
  let lo = 0;
  let hi = cur.length;
  while (lo < hi && budget > 0) {
    const mid = (lo + hi) >> 1;
    budget--;
    if (await fails(cur.subarray(0, mid))) hi = mid;
    else lo = mid + 1;
  }
  if (hi < cur.length && (await fails(cur.subarray(0, hi)))) cur = cur.subarray(0, hi);
  for (let chunk = cur.length >> 1; chunk >= 1 && budget > 0; ) {
    let progress = false;
    for (let start = 0; start < cur.length && budget > 0; ) {
      const cand = Buffer.concat([cur.subarray(0, start), cur.subarray(start + chunk)]);
      budget--;
      if (await fails(cand)) {
        cur = cand;
        progress = true;
      } else start += chunk;
    }
    if (!progress) chunk >>= 1;
  }
  return cur;
}

/** A fixed-width text table. */
export function table(rows: readonly (readonly (string | number)[])[]): string {
  const cells = rows.map((r) => r.map(String));
  const widths = cells[0].map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  return cells.map((r) => r.map((c, i) => (i === 0 || i === r.length - 1 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ').trimEnd()).join('\n');
}
