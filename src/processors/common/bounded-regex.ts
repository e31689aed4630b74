/**
 * Translates an RE2 pattern into an equivalent V8 RegExp source, but only when V8's backtracking cannot
 * take long on it: the pattern has no unbounded repetition (`*`, `+`, `{n,}`), and the work of one
 * match attempt (the number of ways the backtracker can try the pattern, times the longest text it can
 * span) is at most {@link MAX_WORK}. A search then costs at most MAX_WORK steps per input position:
 * linear in the input. Card numbers, SSNs, IP addresses, `^GET$` are in this class; e-mail patterns
 * (unbounded `+`) are not, and stay on the linear-time RE2 engine.
 *
 * The translation covers a subset of RE2 and spells out what differs in V8: `.` excludes only `\n`,
 * `\s` is ASCII white space, characters are code points (the `u` flag). Anything outside the subset
 * (flags such as `(?i)`, `\p{…}`, POSIX classes, `\Q…\E`, `\x…`) returns undefined and stays on RE2.
 */

/** Upper bound on the steps of one anchored match attempt, for a pattern to run on V8. */
export const MAX_WORK = 4096;

type Node =
  | { k: 'char'; js: string }
  | { k: 'assert'; js: string }
  | { k: 'cat'; items: Node[] }
  | { k: 'alt'; items: Node[] }
  | { k: 'group'; open: string; body: Node }
  | { k: 'rep'; min: number; max: number; lazy: boolean; body: Node };

class Unsupported extends Error {}

/** A V8 RegExp source (for the `u` flag) that matches exactly as `source` does in RE2, or undefined. */
export function boundedRegExpSource(source: string): string | undefined {
  let node: Node;
  try {
    const p = new Parser(source);
    node = p.parseAlt();
    if (!p.done()) return undefined;
  } catch (e) {
    if (e instanceof Unsupported) return undefined;
    throw e;
  }
  const { ways, length } = measure(node);
  if (ways * (length + 1) > MAX_WORK) return undefined;
  return emit(node);
}

function measure(n: Node): { ways: number; length: number } {
  switch (n.k) {
    case 'char':
      return { ways: 1, length: 1 };
    case 'assert':
      return { ways: 1, length: 0 };
    case 'group':
      return measure(n.body);
    case 'cat': {
      let ways = 1;
      let length = 0;
      for (const item of n.items) {
        const m = measure(item);
        ways = Math.min(ways * m.ways, Number.MAX_SAFE_INTEGER);
        length += m.length;
      }
      return { ways, length };
    }
    case 'alt': {
      let ways = 0;
      let length = 0;
      for (const item of n.items) {
        const m = measure(item);
        ways = Math.min(ways + m.ways, Number.MAX_SAFE_INTEGER);
        length = Math.max(length, m.length);
      }
      return { ways, length };
    }
    case 'rep': {
      const m = measure(n.body);
      // The backtracker may try every count from min to max, each with every combination of ways.
      let ways = 0;
      for (let c = n.min; c <= n.max; c++) {
        ways = Math.min(ways + m.ways ** c, Number.MAX_SAFE_INTEGER);
        if (ways > MAX_WORK) break;
      }
      return { ways, length: m.length * n.max };
    }
  }
}

function emit(n: Node): string {
  switch (n.k) {
    case 'char':
    case 'assert':
      return n.js;
    case 'cat':
      return n.items.map(emit).join('');
    case 'alt':
      return n.items.map(emit).join('|');
    case 'group':
      return `${n.open}${emit(n.body)})`;
    case 'rep': {
      const q = n.min === 0 && n.max === 1 ? '?' : n.min === n.max ? `{${n.min}}` : `{${n.min},${n.max}}`;
      return emit(n.body) + q + (n.lazy ? '?' : '');
    }
  }
}

const cp = (c: number) => `\\u{${c.toString(16)}}`;
const SPACE_CLASS = [9, 10, 12, 13, 32].map(cp).join('');
const PERL_CLASSES: Record<string, string> = {
  d: '[0-9]',
  D: '[^0-9]',
  w: '[0-9A-Za-z_]',
  W: '[^0-9A-Za-z_]',
  s: `[${SPACE_CLASS}]`,
  S: `[^${SPACE_CLASS}]`,
};
// Inside a class, V8 without the `i` flag reads \d \D \w \W as RE2 does; \s is expanded; \S is refused.
const IN_CLASS: Record<string, string> = { d: '\\d', D: '\\D', w: '\\w', W: '\\W', s: SPACE_CLASS };
const CONTROL_ESCAPES: Record<string, number> = { n: 10, t: 9, r: 13, f: 12, v: 11 };

class Parser {
  private i = 0;
  constructor(private readonly s: string) {}

  done(): boolean {
    return this.i >= this.s.length;
  }

  private peek(): string | undefined {
    return this.s[this.i];
  }

  /** The code point at the cursor, consumed. */
  private next(): number {
    const c = this.s.codePointAt(this.i);
    if (c === undefined) throw new Unsupported();
    this.i += c > 0xffff ? 2 : 1;
    return c;
  }

  parseAlt(): Node {
    const items = [this.parseCat()];
    while (this.peek() === '|') {
      this.i++;
      items.push(this.parseCat());
    }
    return items.length === 1 ? items[0] : { k: 'alt', items };
  }

  private parseCat(): Node {
    const items: Node[] = [];
    for (let c = this.peek(); c !== undefined && c !== '|' && c !== ')'; c = this.peek()) items.push(this.parseRepeat());
    return items.length === 1 ? items[0] : { k: 'cat', items };
  }

  private parseRepeat(): Node {
    const body = this.parseAtom();
    const c = this.peek();
    let min: number;
    let max: number;
    if (c === '?') {
      this.i++;
      [min, max] = [0, 1];
    } else if (c === '{') {
      const m = /^\{(\d{1,4})(?:(,)(\d{1,4})?)?\}/.exec(this.s.slice(this.i));
      // `{n,}` is unbounded; a `{` that is not a repeat is a literal in RE2: both stay on RE2.
      if (m === null || (m[2] !== undefined && m[3] === undefined)) throw new Unsupported();
      min = Number(m[1]);
      max = m[3] !== undefined ? Number(m[3]) : min;
      this.i += m[0].length;
    } else if (c === '*' || c === '+') {
      throw new Unsupported();
    } else {
      return body;
    }
    // V8 refuses a quantified assertion with the `u` flag.
    if (body.k === 'assert') throw new Unsupported();
    const lazy = this.peek() === '?';
    if (lazy) this.i++;
    const after = this.peek();
    if (after === '?' || after === '*' || after === '+' || after === '{') throw new Unsupported();
    return { k: 'rep', min, max, lazy, body };
  }

  private parseAtom(): Node {
    const c = this.next();
    switch (c) {
      case 0x28: /* ( */ {
        let open = '(';
        if (this.peek() === '?') {
          const named = /^\?P?<([A-Za-z_][A-Za-z0-9_]*)>/.exec(this.s.slice(this.i));
          if (this.s.startsWith('?:', this.i)) {
            open = '(?:';
            this.i += 2;
          } else if (named !== null) {
            open = `(?<${named[1]}>`;
            this.i += named[0].length;
          } else {
            throw new Unsupported();
          }
        }
        const body = this.parseAlt();
        if (this.peek() !== ')') throw new Unsupported();
        this.i++;
        return { k: 'group', open, body };
      }
      case 0x5b /* [ */:
        return { k: 'char', js: this.parseClass() };
      case 0x2e /* . */:
        return { k: 'char', js: '[^\\n]' };
      case 0x5e /* ^ */:
        return { k: 'assert', js: '^' };
      case 0x24 /* $ */:
        return { k: 'assert', js: '$' };
      case 0x5c /* \ */: {
        const e = String.fromCodePoint(this.next());
        if (e in PERL_CLASSES) return { k: 'char', js: PERL_CLASSES[e] };
        if (e === 'b' || e === 'B') return { k: 'assert', js: `\\${e}` };
        return { k: 'char', js: cp(this.escapedChar(e)) };
      }
      case 0x2a: // *
      case 0x2b: // +
      case 0x3f: // ?
      case 0x7b: // {
      case 0x29: // )
      case 0x7c: // |
        throw new Unsupported();
      default:
        return { k: 'char', js: cp(c) };
    }
  }

  /** A `\x` escape that stands for one character: punctuation, or \n \t \r \f \v. */
  private escapedChar(e: string): number {
    if (e in CONTROL_ESCAPES) return CONTROL_ESCAPES[e];
    const c = e.codePointAt(0)!;
    if (c < 0x80 && !/[0-9A-Za-z]/.test(e)) return c;
    throw new Unsupported();
  }

  /** After `[`: the class up to its `]`, as a V8 class. */
  private parseClass(): string {
    let out = '[';
    if (this.peek() === '^') {
      this.i++;
      out += '^';
    }
    let first = true;
    for (;;) {
      const ch = this.peek();
      if (ch === undefined) throw new Unsupported();
      if (ch === ']' && !first) {
        this.i++;
        return out + ']';
      }
      first = false;
      if (ch === '[' && this.s[this.i + 1] === ':') throw new Unsupported();
      const lo = this.classChar();
      if (typeof lo === 'string') {
        if (this.peek() === '-' && this.s[this.i + 1] !== ']') throw new Unsupported();
        out += lo;
        continue;
      }
      if (this.peek() === '-' && this.s[this.i + 1] !== ']' && this.s[this.i + 1] !== undefined) {
        this.i++;
        const hi = this.classChar();
        if (typeof hi === 'string') throw new Unsupported();
        out += `${cp(lo)}-${cp(hi)}`;
      } else {
        out += cp(lo);
      }
    }
  }

  /** One class member: a code point, or a Perl class already written out. */
  private classChar(): number | string {
    const c = this.next();
    if (c !== 0x5c) return c;
    const e = String.fromCodePoint(this.next());
    if (e in IN_CLASS) return IN_CLASS[e];
    return this.escapedChar(e);
  }
}
