import { describe, expect, it } from 'vitest';
import {
  compileRe2Pattern,
  compileSafePattern,
  compileSafePatternSet,
  safePatternEngine,
} from '../../../src/processors/common/safe-regex.js';

describe('compileSafePattern: matching (RE2 semantics)', () => {
  const cases: [pattern: string, input: string, matches: boolean][] = [
    ['abc', 'xxabcxx', true],
    ['^abc$', 'xxabcxx', false],
    ['^abc$', 'abc', true],
    // `$` is end of text only, not before a final newline (unlike Perl, like JS without /m).
    ['^abc$', 'abc\n', false],
    ['(?m)^b$', 'a\nb\nc', true],
    ['4[0-9]{12}(?:[0-9]{3})?', 'card 4111111111111111 end', true],
    ['4[0-9]{12}(?:[0-9]{3})?', 'card 411111111111 end', false],
    ['\\b\\d{3}\\b', 'x 123 y', true],
    ['\\b\\d{3}\\b', 'x1234y', false],
    // `.` excludes only \n in RE2 (JS also excludes \r and U+2028).
    ['^a.b$', 'a\rb', true],
    ['^a.b$', 'a\u2028b', true],
    ['^a.b$', 'a\nb', false],
    ['(?s)^a.b$', 'a\nb', true],
    // `\s` is ASCII white space in RE2: a no-break space is not one.
    ['^a\\sb$', 'a\tb', true],
    ['^a\\sb$', 'a\u00a0b', false],
    ['^a\\Sb$', 'a\u00a0b', true],
    // `.` is one code point, not one UTF-16 unit.
    ['^.$', '😀', true],
    ['(?i)^secret$', 'SeCrEt', true],
    ['(?i)^k$', '\u212a', true],
    ['[[:digit:]]{2}', 'a12', true],
    ['\\pL+', '123', false],
    ['\\p{Greek}', 'αβ', true],
    ['\\Qa.b\\E', 'axb', false],
    ['\\Qa.b\\E', 'a.b', true],
    ['x{', 'ax{', true],
    ['a|b', 'zzb', true],
    ['', 'anything', true],
  ];
  it.each(cases)('%j on %j → %s', (pattern, input, want) => {
    const p = compileSafePattern(pattern);
    expect(p.source).toBe(pattern);
    expect(p.test(input)).toBe(want);
    expect(p.exec(input) !== undefined).toBe(want);
    // The same compiled pattern answers the same twice (no lastIndex-style state).
    expect(p.test(input)).toBe(want);
  });
});

describe('compileSafePattern: exec', () => {
  it('returns UTF-16 offsets and named groups in both RE2 spellings', () => {
    const p = compileSafePattern('(?P<year>\\d{4})-(?<month>\\d{2})');
    expect(p.exec('😀 on 2024-05-17')).toEqual({ index: 6, end: 13, groups: { year: '2024', month: '05' } });
  });
  it('leaves out groups that took no part in the match', () => {
    const p = compileSafePattern('(?P<a>x)|(?P<b>y)');
    expect(p.exec('--y')).toEqual({ index: 2, end: 3, groups: { b: 'y' } });
  });
  it('takes the leftmost match, then the first alternative (leftmost-first, not longest)', () => {
    expect(compileSafePattern('a|ab').exec('xab')).toEqual({ index: 1, end: 2, groups: {} });
    expect(compileSafePattern('a+?').exec('aaa')).toEqual({ index: 0, end: 1, groups: {} });
  });
  it('returns undefined without a match', () => {
    expect(compileSafePattern('(?P<n>\\d+)').exec('none')).toBeUndefined();
  });
});

describe('compileSafePattern: replaceAll', () => {
  const cases: [pattern: string, input: string, want: string][] = [
    ['\\d', 'a1b22c', 'a#b##c'],
    ['\\d+', 'a1b22c', 'a#b#c'],
    ['[a-z0-9.]+@[a-z0-9.]+', 'to: ann@x.org, bob@y.io', 'to: #, #'],
    // Empty matches: Go's rule, one replacement per position, none right after a match.
    ['a*', 'baaac', '#b#c#'],
    ['', 'ab', '#a#b#'],
    ['x*', '😀', '#😀#'],
    ['^', 'ab', '#ab'],
    ['$', 'ab', 'ab#'],
    ['\\bw', 'w ww w', '# #w #'],
  ];
  it.each(cases)('%j in %j → %j', (pattern, input, want) => {
    const p = compileSafePattern(pattern);
    expect(p.replaceAll(input, () => '#')).toBe(want);
  });
  it('passes each match to the replacer', () => {
    const seen: string[] = [];
    const out = compileSafePattern('[0-9]{4}').replaceAll('1234-5678-9', (m) => {
      seen.push(m);
      return `<${m.length}>`;
    });
    expect(seen).toEqual(['1234', '5678']);
    expect(out).toBe('<4>-<4>-9');
  });
  it('returns the input itself when nothing matched', () => {
    const input = 'nothing to see ' + 'x'.repeat(10);
    expect(compileSafePattern('\\d').replaceAll(input, () => '#')).toBe(input);
  });
});

describe('compileSafePattern: rejected syntax', () => {
  const cases: [pattern: string, messagePart: string][] = [
    ['(a)\\1', 'backreferences such as \\1 are not supported'],
    ['(?<n>a)\\k<n>', 'named backreferences'],
    ['a(?=b)', 'lookahead and lookbehind'],
    ['a(?!b)', 'lookahead and lookbehind'],
    ['(?<=a)b', 'lookahead and lookbehind'],
    ['(?<!a)b', 'lookahead and lookbehind'],
    ['a++', 'possessive quantifiers'],
    ['(', 'missing closing )'],
    ['a{1001}', 'invalid repeat count'],
    ['a{2,1}', 'invalid repeat count'],
    ['[z-a]', 'invalid character class range'],
    ['(?P<n>a)(?P<n>b)', 'duplicate capture group name'],
  ];
  it.each(cases)('%j: %s', (pattern, messagePart) => {
    expect(() => compileSafePattern(pattern)).toThrow(messagePart);
    expect(() => compileSafePattern(pattern)).toThrow(JSON.stringify(pattern));
  });
  it('accepts the same characters when they are escaped or inside a class', () => {
    expect(compileSafePattern('[(?=]x').test('=x')).toBe(true);
    expect(compileSafePattern('\\(\\?=').test('(?=')).toBe(true);
  });
});

describe('compileSafePattern: linear time', () => {
  // A backtracking engine needs ~2^n steps for the first and ~n^4 for the second on these inputs; both
  // would run for hours. Linear matching takes milliseconds; the bound leaves room for a slow CI box.
  const n = 100_000;
  const cases: [pattern: string, input: string][] = [
    ['(a+)+$', 'a'.repeat(n) + 'b'],
    ['^(a|a)*$', 'a'.repeat(n) + 'b'],
    ['(a|aa)+$', 'a'.repeat(n) + 'b'],
    ['\\d+\\d+\\d+x', '1'.repeat(n)],
    // Twelve counted copies make the capture engine's constant large; a shorter input keeps the bound.
    ['(.*a){12}', 'a'.repeat(n / 5)],
    ['([a-z0-9._%+-]+)+@example\\.com', 'a'.repeat(n)],
  ];
  it.each(cases)('%j on a long input', (pattern, input) => {
    const p = compileSafePattern(pattern);
    const started = performance.now();
    const matched = p.test(input);
    const found = p.exec(input);
    const replaced = p.replaceAll(input, () => '#');
    const ms = performance.now() - started;
    expect(ms).toBeLessThan(2_000);
    // The answers are still right.
    expect(found !== undefined).toBe(matched);
    expect(replaced === input).toBe(!matched);
  });
});

describe('compileSafePatternSet', () => {
  const sources = ['^abc$', '\\Qa.b', '(?i)XY', 'z|q', '\\d{4}'];
  const cases: [input: string, want: number[]][] = [
    ['abc', [0]],
    ['xxabcxx', []],
    ['a.b', [1]],
    ['axb', []],
    ['xy', [2]],
    ['q 2024 XY', [2, 3, 4]],
    ['', []],
  ];
  const set = compileSafePatternSet(sources);
  it.each(cases)('%j → %j', (input, want) => {
    expect(set.matching(input)).toEqual(want);
    expect(set.testAny(input)).toBe(want.length > 0);
    // Each index agrees with the single pattern.
    for (let i = 0; i < sources.length; i++) expect(set.patterns[i].test(input)).toBe(want.includes(i));
  });
  it.each([[[]], [['x']], [['x', 'y']]])('works with %j', (list) => {
    const s = compileSafePatternSet(list);
    expect(s.matching('x')).toEqual(list.includes('x') ? [0] : []);
    expect(s.testAny('y')).toBe(list.includes('y'));
  });
  it('names the index of a bad pattern', () => {
    expect(() => compileSafePatternSet(['a', '(b'])).toThrow(/^\[1\]: invalid regular expression "\(b": missing closing \)/);
  });
  it('stays linear', () => {
    const s = compileSafePatternSet(['(a+)+$', '\\d+\\d+\\d+x', '(x|xx)+y']);
    const started = performance.now();
    expect(s.matching('a'.repeat(100_000) + 'b' + '1'.repeat(100_000) + 'x'.repeat(100_000))).toEqual([1]);
    expect(performance.now() - started).toBeLessThan(2_000);
  });
});

describe('compileSafePattern: V8 for bounded patterns, RE2 for the rest', () => {
  const engines: [pattern: string, engine: 'native' | 're2'][] = [
    ['\\b4[0-9]{12}(?:[0-9]{3})?\\b', 'native'],
    ['\\b5[1-5][0-9]{14}\\b', 'native'],
    ['\\b(?:\\d{1,3}\\.){3}\\d{1,3}\\b', 'native'],
    ['\\b[0-9]{3}-[0-9]{2}-[0-9]{4}\\b', 'native'],
    ['^GET$', 'native'],
    ['(?P<year>\\d{4})-(?<month>\\d\\d)', 'native'],
    ['a|b|[^x-z\\]]', 'native'],
    // Unbounded repetition: a backtracker can take quadratic time or worse.
    ['[a-zA-Z0-9._%+-]+@[a-zA-Z0-9.-]+\\.[a-zA-Z]{2,}', 're2'],
    ['(a+)+$', 're2'],
    ['\\d+\\d+\\d+x', 're2'],
    ['a*', 're2'],
    // Bounded, but too many ways to try: 2^20 for the first.
    ['(a|a){1,20}$', 're2'],
    ['[0-9]{1,1000}x', 're2'],
    // Outside the translated subset.
    ['(?i)secret', 're2'],
    ['\\pL', 're2'],
    ['[[:digit:]]', 're2'],
    ['\\Qa.b\\E', 're2'],
    ['x{', 're2'],
  ];
  it.each(engines)('%j runs on %s', (pattern, engine) => {
    expect(safePatternEngine(compileSafePattern(pattern))).toBe(engine);
  });

  // Both engines must answer alike on every input: the same matches, groups and replacements.
  const patterns = [
    '\\b4[0-9]{12}(?:[0-9]{3})?\\b',
    '\\b(?:\\d{1,3}\\.){3}\\d{1,3}\\b',
    '^a.b$',
    'a.b',
    '\\s\\S',
    '[^\\s]{2}',
    '\\w\\W',
    '\\Bb\\B',
    'a|ab|abc',
    '(?:ab|a)(?:bc|c)?',
    'x??y',
    '(?P<d>\\d{2,3}?)(?P<rest>\\d)?',
    '(?:(a)|b){2}',
    '^$',
    '$',
    '^',
    '[😀-😂]',
    '.',
    '\\.\\-\\[\\]',
    '[\\d.-]{1,4}',
    'é{2}',
    '(?:)',
  ];
  let seed = 12345;
  const rand = (n: number) => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed % n;
  };
  const alphabet = ['a', 'b', 'c', 'x', 'y', '1', '4', '0', '.', '-', ' ', '\t', '\n', '\r', '\u00a0', '\u2028', 'é', '😀', '😁', '[', ']', '_'];
  const inputs = [
    '',
    'a b',
    'axb',
    'a\nb',
    'a\rb',
    'ab abc a',
    'card 4111111111111111 and 4012888888881881!',
    'ip 10.0.0.1 and 256.1.1.999.3',
    '12345678',
    '😀😁😂',
    ...Array.from({ length: 300 }, () => Array.from({ length: rand(12) }, () => alphabet[rand(alphabet.length)]).join('')),
  ];
  it.each(patterns)('%j: V8 and RE2 agree on every input', (pattern) => {
    const native = compileSafePattern(pattern);
    const re2 = compileRe2Pattern(pattern);
    expect(safePatternEngine(native)).toBe('native');
    for (const input of inputs) {
      const want = { test: re2.test(input), exec: re2.exec(input), replaced: re2.replaceAll(input, (m) => `<${m}>`) };
      expect({ test: native.test(input), exec: native.exec(input), replaced: native.replaceAll(input, (m) => `<${m}>`) }, JSON.stringify(input)).toEqual(want);
    }
  });
});
