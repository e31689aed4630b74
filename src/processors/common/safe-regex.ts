/**
 * User-supplied regular expressions, compiled so that no pattern can stall the daemon.
 *
 * Contract: patterns use RE2 syntax (the syntax of Go's `regexp`, which the OpenTelemetry Collector uses),
 * so a pattern copied from a Collector config means the same here. Matching takes time linear in the
 * input whatever the pattern: `(a+)+$` on a megabyte of `a` is as cheap as `a$`. Syntax that cannot run
 * in linear time (backreferences, lookahead, lookbehind, possessive quantifiers) is rejected with a
 * message that says so. Indexes are JS string (UTF-16) offsets.
 *
 * Two engines, chosen per pattern at compile time (measured on short tag values, Node 20):
 *  - V8's own RegExp when bounded-regex.ts proves the pattern cannot backtrack for long (no unbounded
 *    repetition, few ways to match) and can translate it exactly: card-number, SSN and IP patterns.
 *    There it is 3-8x faster than RE2 in JS (30-90 ns against 130-650 ns per test, and a megabyte of
 *    card numbers is masked in 11 ms instead of 630 ms).
 *  - re2js (RE2 in JS, linear time) for everything else. Its DFA is as fast as V8 or faster on patterns
 *    with a leading unbounded class, where V8 backtracks: an e-mail pattern tests in ~130 ns against
 *    ~640 ns. For lists of patterns, {@link compileSafePatternSet} tests all of them in one DFA pass.
 * Both give the same answers (a test compares them on generated inputs).
 *
 * Every processor compiles user patterns through {@link compileSafePattern}, never with `new RegExp`.
 */
import { RE2JS, RE2Set } from 're2js';
import { boundedRegExpSource } from './bounded-regex.js';

export interface SafePattern {
  readonly source: string;
  /** True if the pattern matches anywhere in `input` (users anchor with ^...$). */
  test(input: string): boolean;
  /** The first match with its named groups, or undefined. Groups that took no part in the match are absent. */
  exec(input: string): { index: number; end: number; groups: Record<string, string> } | undefined;
  /**
   * Replaces every non-overlapping match with `replacer(match)`. Returns `input` itself (the same string)
   * when nothing matched. Empty matches right after a previous match are skipped, as in Go.
   */
  replaceAll(input: string, replacer: (match: string) => string): string;
}

/** Throws an Error whose message says what is wrong with the pattern (shown in config errors). */
export function compileSafePattern(source: string): SafePattern {
  if (typeof source !== 'string') throw new Error(`expected a regular expression string, got ${typeof source}`);
  const unsupported = unsupportedSyntax(source);
  if (unsupported !== undefined) throw new Error(`invalid regular expression ${JSON.stringify(source)}: ${unsupported}`);
  let re: RE2JS;
  try {
    re = RE2JS.compile(source);
  } catch (e) {
    // re2js prefixes "error parsing regexp: "; keep only what is wrong.
    const detail = (e instanceof Error ? e.message : String(e)).replace(/^error parsing regexp: /, '');
    throw new Error(`invalid regular expression ${JSON.stringify(source)}: ${detail} (RE2 syntax expected)`);
  }
  const native = boundedRegExpSource(source);
  return native === undefined ? new Re2Pattern(source, re) : new NativePattern(source, re, native);
}

/** Which engine runs a compiled pattern (for tests and diagnostics). */
export function safePatternEngine(p: SafePattern): 'native' | 're2' {
  return p instanceof NativePattern ? 'native' : 're2';
}

/** Compiles on the RE2 engine only, whatever the pattern (for tests that compare the engines). */
export function compileRe2Pattern(source: string): SafePattern {
  return new Re2Pattern(source, RE2JS.compile(source));
}

/**
 * Several patterns tested against one input in a single pass. For processors that check a value against
 * a list of patterns (redaction's `blocked_values`): with ten patterns one pass costs about a fifth of
 * ten separate tests, and the common answer, "none", is reached without running any pattern alone.
 */
export interface SafePatternSet {
  /** The compiled patterns, in the order given. */
  readonly patterns: readonly SafePattern[];
  /** Indexes (ascending) of the patterns that match anywhere in `input`. Shared: do not modify. */
  matching(input: string): readonly number[];
  /** True if any pattern matches anywhere in `input`. */
  testAny(input: string): boolean;
}

/**
 * Compiles every pattern of a list. Throws like {@link compileSafePattern} for the first bad one, with its
 * index in the message (`[2]: invalid regular expression ...`).
 */
export function compileSafePatternSet(sources: readonly string[]): SafePatternSet {
  const patterns = sources.map((source, i) => {
    try {
      return compileSafePattern(source);
    } catch (e) {
      throw new Error(`[${i}]: ${(e as Error).message}`);
    }
  });
  if (patterns.length === 0) return EMPTY_SET;
  if (patterns.length === 1) return new SinglePatternSet(patterns);
  const set = new RE2Set();
  for (const source of sources) set.add(source);
  set.compile();
  return new Re2PatternSet(patterns, set);
}

const NO_MATCHES: readonly number[] = Object.freeze([]);
const ONLY_FIRST: readonly number[] = Object.freeze([0]);

const EMPTY_SET: SafePatternSet = Object.freeze({
  patterns: [],
  matching: () => NO_MATCHES,
  testAny: () => false,
});

class SinglePatternSet implements SafePatternSet {
  constructor(readonly patterns: readonly SafePattern[]) {}
  matching(input: string): readonly number[] {
    return this.patterns[0].test(input) ? ONLY_FIRST : NO_MATCHES;
  }
  testAny(input: string): boolean {
    return this.patterns[0].test(input);
  }
}

class Re2PatternSet implements SafePatternSet {
  constructor(
    readonly patterns: readonly SafePattern[],
    private readonly set: RE2Set,
  ) {}
  matching(input: string): readonly number[] {
    const ids = this.set.match(input);
    return ids.length > 1 ? ids.sort((a, b) => a - b) : ids;
  }
  testAny(input: string): boolean {
    return this.set.match(input).length > 0;
  }
}

/**
 * Names the common non-RE2 constructs so the user learns why, not only where, the pattern is refused.
 * Walks the pattern once, skipping escaped characters and character classes.
 */
function unsupportedSyntax(source: string): string | undefined {
  let inClass = false;
  for (let i = 0; i < source.length; i++) {
    const c = source[i];
    if (c === '\\') {
      const n = source[i + 1];
      if (!inClass && n !== undefined && n >= '1' && n <= '9') {
        return `backreferences such as \\${n} are not supported: patterns must run in linear time (RE2 syntax)`;
      }
      if (n === 'k' && source[i + 2] === '<') {
        return 'named backreferences (\\k<name>) are not supported: patterns must run in linear time (RE2 syntax)';
      }
      i++;
      continue;
    }
    if (inClass) {
      if (c === ']') inClass = false;
      continue;
    }
    if (c === '[') {
      inClass = true;
      // A `]` right after `[` or `[^` is a literal member.
      if (source[i + 1] === '^') i++;
      if (source[i + 1] === ']') i++;
      continue;
    }
    if (c === '(' && source[i + 1] === '?') {
      const look = source.slice(i + 2, i + 5);
      if (look.startsWith('=') || look.startsWith('!') || look.startsWith('<=') || look.startsWith('<!')) {
        return 'lookahead and lookbehind ((?=, (?!, (?<=, (?<!) are not supported: patterns must run in linear time (RE2 syntax)';
      }
    }
    if ((c === '+' || c === '*' || c === '?' || c === '}') && source[i + 1] === '+') {
      return 'possessive quantifiers (such as a++) are not supported (RE2 syntax)';
    }
  }
  return undefined;
}

class Re2Pattern implements SafePattern {
  constructor(
    readonly source: string,
    private readonly re: RE2JS,
  ) {}

  test(input: string): boolean {
    // `test` runs the DFA without capture tracking: the cheap path, and the common answer is "no".
    return this.re.test(input);
  }

  exec(input: string): { index: number; end: number; groups: Record<string, string> } | undefined {
    if (!this.re.test(input)) return undefined;
    const m = this.re.matcher(input);
    if (!m.find(0)) return undefined;
    return { index: m.start(), end: m.end(), groups: presentGroups(m.getNamedGroups()) };
  }

  replaceAll(input: string, replacer: (match: string) => string): string {
    if (!this.re.test(input)) return input;
    return replaceEachMatch(input, this.re.matcher(input), replacer);
  }
}

/**
 * A pattern that V8 runs with bounded backtracking (see bounded-regex.ts): several times faster than
 * RE2 in JS for the bounded patterns people block (card numbers, SSNs). Groups come from RE2, whose
 * capture rules inside repetitions differ from V8's; V8 answers first whether there is a match at all.
 */
class NativePattern implements SafePattern {
  private readonly once: RegExp;
  private readonly global: RegExp;
  private readonly re2: Re2Pattern;

  constructor(
    readonly source: string,
    re: RE2JS,
    native: string,
  ) {
    this.once = new RegExp(native, 'u');
    this.global = new RegExp(native, 'gu');
    this.re2 = new Re2Pattern(source, re);
  }

  test(input: string): boolean {
    return this.once.test(input);
  }

  exec(input: string): { index: number; end: number; groups: Record<string, string> } | undefined {
    return this.once.test(input) ? this.re2.exec(input) : undefined;
  }

  replaceAll(input: string, replacer: (match: string) => string): string {
    if (!this.once.test(input)) return input;
    const g = this.global;
    let m: RegExpExecArray | null = null;
    const cursor: MatchCursor = {
      find(from) {
        g.lastIndex = from;
        m = g.exec(input);
        return m !== null;
      },
      start: () => m!.index,
      end: () => m!.index + m![0].length,
    };
    return replaceEachMatch(input, cursor, replacer);
  }
}

/** The leftmost match at or after `from`, as RE2JS's Matcher reports it. */
interface MatchCursor {
  find(from: number): boolean;
  start(): number;
  end(): number;
}

/**
 * Replaces each match with Go's rules (regexp.ReplaceAllStringFunc), whichever engine finds them: an
 * empty match steps one code point on so the search moves, and is skipped when it abuts the previous
 * match, so `a*` on "baaac" gives three replacements, not four. Returns `input` itself when nothing
 * matched.
 */
function replaceEachMatch(input: string, cursor: MatchCursor, replacer: (match: string) => string): string {
  let out = '';
  let copied = 0;
  let pos = 0;
  let prevEnd = -1;
  let replaced = false;
  while (pos <= input.length && cursor.find(pos)) {
    const start = cursor.start();
    const end = cursor.end();
    if (end === start) {
      pos = end + codePointWidth(input, end);
      if (start === prevEnd) {
        prevEnd = end;
        continue;
      }
    } else {
      pos = end;
    }
    prevEnd = end;
    replaced = true;
    out += input.slice(copied, start) + replacer(input.slice(start, end));
    copied = end;
  }
  return replaced ? out + input.slice(copied) : input;
}

function codePointWidth(s: string, i: number): number {
  if (i >= s.length) return 1;
  const c = s.charCodeAt(i);
  return c >= 0xd800 && c <= 0xdbff && i + 1 < s.length ? 2 : 1;
}

function presentGroups(named: Record<string, string | null>): Record<string, string> {
  const groups: Record<string, string> = {};
  for (const k in named) {
    const v = named[k];
    if (v !== null && v !== undefined) groups[k] = v;
  }
  return groups;
}
