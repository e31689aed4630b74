// Expected values come from Go: strconv.ParseInt / ParseFloat (go1 toolchain) and the Collector's hasher
// algorithm (SHA-256 over the bytes described in values.ts) run with crypto/sha256.
import { describe, expect, it } from 'vitest';
import type { AnyValue } from '../../../src/model/span.js';
import { convertValue, hashValue, parseGoFloat, parseGoInt } from '../../../src/processors/attributes/values.js';

describe('parseGoInt = strconv.ParseInt(s, 10, 64)', () => {
  it.each([
    ['12', 12n],
    ['+12', 12n],
    ['-12', -12n],
    ['007', 7n],
    ['9223372036854775807', 9223372036854775807n],
    ['-9223372036854775808', -9223372036854775808n],
    ['9223372036854775808', undefined],
    ['-9223372036854775809', undefined],
    ['1_000', undefined],
    [' 12', undefined],
    ['12 ', undefined],
    ['12.5', undefined],
    ['0x1f', undefined],
    ['1e3', undefined],
    ['', undefined],
    ['+', undefined],
    ['١٢', undefined],
  ])('%j -> %s', (s, expected) => {
    expect(parseGoInt(s)).toBe(expected);
  });
});

describe('parseGoFloat = strconv.ParseFloat(s, 64)', () => {
  it.each([
    ['1.5', 1.5],
    ['+1.5', 1.5],
    ['-1.5', -1.5],
    ['.5', 0.5],
    ['5.', 5],
    ['1e3', 1000],
    ['1E-3', 0.001],
    ['00012', 12],
    ['1_000.5', 1000.5],
    ['1__0', undefined],
    ['_1', undefined],
    ['1_', undefined],
    ['inf', Infinity],
    ['+Inf', Infinity],
    ['-infinity', -Infinity],
    ['Infinity', Infinity],
    ['nan', NaN],
    ['NaN', NaN],
    ['+nan', undefined],
    ['-nan', undefined],
    ['infinit', undefined],
    ['infx', undefined],
    ['0x1p-2', 0.25],
    ['0x1.8p1', 3],
    ['0X1P+3', 8],
    ['0x_1p0', 1],
    ['0x1_0p0', 16],
    ['0x10', undefined],
    ['1.7976931348623157e308', 1.7976931348623157e308],
    ['1e400', undefined],
    ['-1e400', undefined],
    ['1e-400', 0],
    ['', undefined],
    ['.', undefined],
    ['e5', undefined],
    ['1e', undefined],
    [' 1', undefined],
    ['1 ', undefined],
    ['0b101', undefined],
    ['0o17', undefined],
    ['1.5f', undefined],
  ])('%j -> %s', (s, expected) => {
    expect(parseGoFloat(s)).toBe(expected);
  });
});

describe('hashValue: SHA-256 hex of the Collector byte encoding', () => {
  it.each<[string, AnyValue, string]>([
    ['string: UTF-8 bytes', 'abc', 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad'],
    ['string: non-ASCII', 'héllo', '3c48591d8d098a4538f5e013dfcf406e948eac4d3277b10bf614e295d6068179'],
    ['empty string: "", not a hash', '', ''],
    ['true: one byte 1', true, '4bf5122f344554c53bde2ebb8cd2b7e3d1600ad631c385a5d7cce23c7785459a'],
    ['false: one byte 0', false, '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d'],
    ['int 1: 8 bytes little-endian', 1n, '7c9fa136d4413fa6173637e883b6998d32e1d675f88cddff9dcbcf331820f4b8'],
    ['int -1: two\'s complement', -1n, '12a3ae445661ce5dee78d0650d33362dec29c4f82af05e7e57fb595bbbacf0ca'],
    ['int 0', 0n, 'af5570f5a1810b7af78caf4bc70a660f0df51e42baf91d4de5b2328de0e83dfc'],
    ['double 2.5: IEEE bits little-endian', 2.5, '5caaabe50da77f59f448b3edf650d68fbca7b858390664c251c52b3f458a881c'],
    ['double -0 differs from int 0', -0, 'e6ad6c9a3a3b7658c35bacf6553fcb8ffe34387534a648fe18f875b8f7a86ddb'],
    ['bytes: ""', new Uint8Array([1, 2]), ''],
    ['list: ""', ['a'], ''],
    ['map: ""', { a: 'b' }, ''],
    ['empty value: ""', null, ''],
  ])('%s', (_rule, v, expected) => {
    expect(hashValue(v)).toBe(expected);
  });
});

describe('convertValue', () => {
  // undefined: the value is left as it is.
  it.each<[string, AnyValue, 'int' | 'double' | 'string', AnyValue | undefined]>([
    ['int: string of digits', '123', 'int', 123n],
    ['int: signed string', '-42', 'int', -42n],
    ['int: decimal string is unconvertible', '12.5', 'int', undefined],
    ['int: padded string is unconvertible', ' 12', 'int', undefined],
    ['int: out of int64 range', '9223372036854775808', 'int', undefined],
    ['int: double truncates toward zero', 12.9, 'int', 12n],
    ['int: negative double truncates toward zero', -12.9, 'int', -12n],
    ['int: NaN is left as it is', NaN, 'int', undefined],
    ['int: true', true, 'int', 1n],
    ['int: false', false, 'int', 0n],
    ['int: already an int', 5n, 'int', undefined],
    ['int: bytes', new Uint8Array([1]), 'int', undefined],
    ['int: list', [1n], 'int', undefined],
    ['int: map', { a: 1n }, 'int', undefined],
    ['int: empty value', null, 'int', undefined],
    ['double: string', '2.5', 'double', 2.5],
    ['double: exponent', '1e3', 'double', 1000],
    ['double: underscores between digits', '1_000.5', 'double', 1000.5],
    ['double: inf', 'inf', 'double', Infinity],
    ['double: not a number', 'abc', 'double', undefined],
    ['double: overflow is unconvertible', '1e400', 'double', undefined],
    ['double: int', 3n, 'double', 3],
    ['double: int beyond 2^53 rounds to nearest', 9007199254740993n, 'double', 9007199254740992],
    ['double: true', true, 'double', 1],
    ['double: already a double', 2.5, 'double', undefined],
    ['double: list', ['1'], 'double', undefined],
    ['string: int', 123n, 'string', '123'],
    ['string: double', 2.5, 'string', '2.5'],
    ['string: large double uses an exponent', 1e21, 'string', '1e+21'],
    ['string: boolean', false, 'string', 'false'],
    ['string: bytes are base64', new Uint8Array([104, 105]), 'string', 'aGk='],
    ['string: list is JSON', ['a', 1n], 'string', '["a",1]'],
    ['string: map is JSON with sorted keys', { z: 1n, a: 'x' }, 'string', '{"a":"x","z":1}'],
    ['string: empty value is ""', null, 'string', ''],
    ['string: already a string', 'x', 'string', undefined],
  ])('%s', (_rule, v, to, expected) => {
    expect(convertValue(v, to)).toEqual(expected);
  });
});
