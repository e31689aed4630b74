import { describe, expect, it } from 'vitest';
import { JsonNumberText, parseJsonInteger, parseJsonKeepingNumberText, quoteJson } from '../../src/codecs/json-text.js';

/** The parse tree with number texts turned back into numbers, to compare with JSON.parse. */
function asNumbers(v: unknown): unknown {
  if (v instanceof JsonNumberText) return Number(v.text);
  if (Array.isArray(v)) return v.map(asNumbers);
  if (typeof v === 'object' && v !== null) {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) Object.defineProperty(out, k, { value: asNumbers(x), enumerable: true, writable: true, configurable: true });
    return out;
  }
  return v;
}

describe('parseJsonKeepingNumberText', () => {
  it.each([
    ['scalars', '[true,false,null,"s",0,-1.5e-3]'],
    ['whitespace everywhere', ' \t\n\r{ "a" : [ 1 , { } , [ ] ] , "b" :"x" } \n'],
    ['string escapes', String.raw`["\"\\\/\b\f\n\r\t\u00e9\ud83d\udca9", "plain é 💩"]`],
    ['empty containers', '{"a":{},"b":[],"c":[[],{}]}'],
    ['repeated key keeps the last value', '{"a":1,"a":2}'],
    ['__proto__ is an own key', '{"__proto__":{"x":1}}'],
    ['integer-like keys', '{"b":1,"10":2,"9":3}'],
  ])('parses %s like JSON.parse', (_title, text) => {
    const tree = parseJsonKeepingNumberText(text);
    expect(asNumbers(tree)).toEqual(JSON.parse(text));
    expect(Object.keys(asNumbers(tree) as object)).toEqual(Object.keys(JSON.parse(text) as object));
  });

  it('keeps the text of every number', () => {
    const tree = parseJsonKeepingNumberText('[1.0,-0,1e3,12345678901234567890,0.10]') as JsonNumberText[];
    expect(tree.map((n) => n.text)).toEqual(['1.0', '-0', '1e3', '12345678901234567890', '0.10']);
  });

  it('refuses trailing text', () => {
    expect(() => parseJsonKeepingNumberText('{} x')).toThrow(SyntaxError);
  });
});

describe('parseJsonInteger', () => {
  it.each<[string, bigint | undefined]>([
    ['0', 0n],
    ['-0', 0n],
    ['123', 123n],
    ['-9223372036854775808', -9223372036854775808n],
    ['18446744073709551615', 18446744073709551615n],
    ['1.0', 1n],
    ['1.50e1', 15n],
    ['1e3', 1000n],
    ['1544712660000000123e0', 1544712660000000123n],
    ['12300e-2', 123n],
    ['1.5', undefined],
    ['1e-1', undefined],
    ['1e41', undefined],
    ['1e999999999', undefined],
    ['', undefined],
    [' 1', undefined],
    ['0x10', undefined],
    ['1_000', undefined],
  ])('%j → %s', (text, want) => {
    expect(parseJsonInteger(text)).toBe(want);
  });
});

describe('quoteJson', () => {
  it.each([
    ['plain text is only quoted', 'get /api', '"get /api"'],
    ['non-ASCII is kept', 'é ⻩ 💩', '"é ⻩ 💩"'],
    ['quote and backslash', 'a"b\\c', String.raw`"a\"b\\c"`],
    ['short escapes', '\b\t\n\f\r', String.raw`"\b\t\n\f\r"`],
    ['other control characters as lower-case \\u', '\u0000\u001f', String.raw`"\u0000\u001f"`],
    ['line and paragraph separators', '\u2028 and \u2029', String.raw`"\u2028 and \u2029"`],
  ])('%s', (_title, input, want) => {
    expect(quoteJson(input)).toBe(want);
    expect(JSON.parse(quoteJson(input))).toBe(input);
  });
});
