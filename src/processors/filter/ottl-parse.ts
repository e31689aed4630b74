/**
 * Parser for the subset of OTTL boolean expressions (conditions) that the `filter` processor accepts.
 *
 * Grammar, loosest binding first (OTTL's precedence: `not` over `and` over `or`; `*` `/` over `+` `-`):
 *
 *   condition  := or
 *   or         := and ("or" and)*
 *   and        := not ("and" not)*
 *   not        := "not" not | comparison
 *   comparison := sum (("==" | "!=" | "<" | "<=" | ">" | ">=") sum)?
 *   sum        := product (("+" | "-") product)*
 *   product    := atom (("*" | "/") atom)*
 *   atom       := literal | ENUM | path | Converter "(" args ")" | "(" or ")"
 *   path       := ident ("." ident)* ("[" (string | int) "]")*
 *
 * The parser only builds the tree; whether a node may stand where it stands (a path is not a condition, a
 * comparison is not a number) is checked by the compiler, which knows the types. Every node carries the
 * 1-based column where it starts, so that errors point into the condition.
 */

export class OttlError extends Error {
  override readonly name = 'OttlError';
  constructor(
    message: string,
    /** 1-based column in the condition. */
    readonly column: number,
  ) {
    super(message);
  }
}

export type CompareOp = '==' | '!=' | '<' | '<=' | '>' | '>=';
export type MathOp = '+' | '-' | '*' | '/';

export type Node =
  | { kind: 'string'; value: string; column: number }
  | { kind: 'int'; value: bigint; column: number }
  | { kind: 'float'; value: number; column: number }
  | { kind: 'bool'; value: boolean; column: number }
  | { kind: 'nil'; column: number }
  | { kind: 'bytes'; value: Uint8Array; column: number }
  | { kind: 'enum'; name: string; column: number }
  | { kind: 'path'; fields: string[]; keys: PathKey[]; column: number }
  | { kind: 'call'; name: string; args: Node[]; column: number }
  | { kind: 'math'; op: MathOp; left: Node; right: Node; column: number }
  | { kind: 'compare'; op: CompareOp; left: Node; right: Node; column: number }
  | { kind: 'and' | 'or'; operands: Node[]; column: number }
  | { kind: 'not'; operand: Node; column: number }
  | { kind: 'group'; inner: Node; column: number };

export interface PathKey {
  key: string | number;
  column: number;
}

type TokenKind = 'ident' | 'string' | 'int' | 'float' | 'bytes' | 'punct' | 'end';

interface Token {
  kind: TokenKind;
  text: string;
  /** The decoded value of a string literal. */
  value?: string;
  column: number;
}

const PUNCT = ['==', '!=', '<=', '>=', '<', '>', '(', ')', '[', ']', ',', '.', '+', '-', '*', '/'];
const KEYWORDS = new Set(['and', 'or', 'not', 'true', 'false', 'nil']);
const INT64_MAX = (1n << 63n) - 1n;

function isIdentStart(c: string): boolean {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c === '_';
}

function isDigit(c: string | undefined): boolean {
  return c !== undefined && c >= '0' && c <= '9';
}

function tokenize(src: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < src.length) {
    const c = src[i];
    if (c === ' ' || c === '\t' || c === '\n' || c === '\r') {
      i++;
      continue;
    }
    const column = i + 1;
    if (c === '"') {
      let value = '';
      let j = i + 1;
      for (;;) {
        if (j >= src.length) throw new OttlError('unterminated string literal', column);
        const d = src[j];
        if (d === '"') break;
        if (d === '\\') {
          const e = src[j + 1];
          if (e === '"' || e === '\\') value += e;
          else if (e === 'n') value += '\n';
          else if (e === 't') value += '\t';
          else if (e === 'r') value += '\r';
          // Any other escape is kept as written, so regular expressions such as "\d+" need no doubling.
          else if (e !== undefined) value += '\\' + e;
          else throw new OttlError('unterminated string literal', column);
          j += 2;
          continue;
        }
        value += d;
        j++;
      }
      tokens.push({ kind: 'string', text: src.slice(i, j + 1), value, column });
      i = j + 1;
      continue;
    }
    if (c === '0' && (src[i + 1] === 'x' || src[i + 1] === 'X')) {
      let j = i + 2;
      while (j < src.length && /[0-9a-fA-F]/.test(src[j])) j++;
      const hex = src.slice(i + 2, j);
      if (hex.length === 0 || hex.length % 2 !== 0) {
        throw new OttlError(`byte literal ${JSON.stringify(src.slice(i, j))} needs an even, non-zero number of hex digits`, column);
      }
      tokens.push({ kind: 'bytes', text: src.slice(i, j), column });
      i = j;
      continue;
    }
    if (isDigit(c) || (c === '.' && isDigit(src[i + 1]))) {
      let j = i;
      while (isDigit(src[j])) j++;
      let kind: TokenKind = 'int';
      if (src[j] === '.' && isDigit(src[j + 1])) {
        kind = 'float';
        j++;
        while (isDigit(src[j])) j++;
      }
      if (j < src.length && (isIdentStart(src[j]) || src[j] === '.')) {
        throw new OttlError(`malformed number ${JSON.stringify(src.slice(i, j + 1))}`, column);
      }
      tokens.push({ kind, text: src.slice(i, j), column });
      i = j;
      continue;
    }
    if (isIdentStart(c)) {
      let j = i + 1;
      while (j < src.length && (isIdentStart(src[j]) || isDigit(src[j]))) j++;
      tokens.push({ kind: 'ident', text: src.slice(i, j), column });
      i = j;
      continue;
    }
    const p = PUNCT.find((q) => src.startsWith(q, i));
    if (p === undefined) {
      const hint = c === '=' ? ' (use == to compare)' : c === '&' || c === '|' || c === '!' ? ' (use and, or, not)' : c === "'" ? ' (strings use double quotes)' : '';
      throw new OttlError(`unexpected character ${JSON.stringify(c)}${hint}`, column);
    }
    tokens.push({ kind: 'punct', text: p, column });
    i += p.length;
  }
  tokens.push({ kind: 'end', text: '', column: src.length + 1 });
  return tokens;
}

function describe(t: Token): string {
  return t.kind === 'end' ? 'end of condition' : JSON.stringify(t.text);
}

function hexBytes(hex: string): Uint8Array {
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(i * 2, i * 2 + 2), 16);
  return out;
}

/** Nesting (parentheses, calls, `not`) allowed at most: deep enough for any real condition, far from the stack's limit. */
const MAX_DEPTH = 64;

class Parser {
  private pos = 0;
  private depth = 0;
  constructor(private readonly tokens: Token[]) {}

  private peek(): Token {
    return this.tokens[this.pos];
  }

  private next(): Token {
    return this.tokens[this.pos++];
  }

  private isPunct(text: string): boolean {
    const t = this.peek();
    return t.kind === 'punct' && t.text === text;
  }

  private isKeyword(word: string): boolean {
    const t = this.peek();
    return t.kind === 'ident' && t.text === word;
  }

  private expectPunct(text: string, what: string): Token {
    const t = this.next();
    if (t.kind !== 'punct' || t.text !== text) throw new OttlError(`expected ${JSON.stringify(text)} ${what}, got ${describe(t)}`, t.column);
    return t;
  }

  parseCondition(): Node {
    if (this.peek().kind === 'end') throw new OttlError('empty condition', 1);
    const node = this.parseOr();
    const t = this.peek();
    if (t.kind !== 'end') {
      const hint = t.kind === 'ident' && !KEYWORDS.has(t.text) ? ' (conditions are joined with "and" or "or")' : '';
      throw new OttlError(`unexpected ${describe(t)}${hint}`, t.column);
    }
    return node;
  }

  private enter(column: number): void {
    if (++this.depth > MAX_DEPTH) throw new OttlError(`nested more than ${MAX_DEPTH} levels deep`, column);
  }

  private parseOr(): Node {
    this.enter(this.peek().column);
    try {
      return this.parseOrInner();
    } finally {
      this.depth--;
    }
  }

  private parseOrInner(): Node {
    const first = this.parseAnd();
    if (!this.isKeyword('or')) return first;
    const operands = [first];
    while (this.isKeyword('or')) {
      this.next();
      operands.push(this.parseAnd());
    }
    return { kind: 'or', operands, column: first.column };
  }

  private parseAnd(): Node {
    const first = this.parseNot();
    if (!this.isKeyword('and')) return first;
    const operands = [first];
    while (this.isKeyword('and')) {
      this.next();
      operands.push(this.parseNot());
    }
    return { kind: 'and', operands, column: first.column };
  }

  private parseNot(): Node {
    if (this.isKeyword('not')) {
      const t = this.next();
      this.enter(t.column);
      const operand = this.parseNot();
      this.depth--;
      return { kind: 'not', operand, column: t.column };
    }
    return this.parseComparison();
  }

  private parseComparison(): Node {
    const left = this.parseSum();
    const t = this.peek();
    if (t.kind === 'punct' && (t.text === '==' || t.text === '!=' || t.text === '<' || t.text === '<=' || t.text === '>' || t.text === '>=')) {
      this.next();
      const right = this.parseSum();
      const after = this.peek();
      if (after.kind === 'punct' && ['==', '!=', '<', '<=', '>', '>='].includes(after.text)) {
        throw new OttlError(`comparisons cannot be chained; join them with "and"`, after.column);
      }
      return { kind: 'compare', op: t.text as CompareOp, left, right, column: left.column };
    }
    return left;
  }

  private parseSum(): Node {
    let left = this.parseProduct();
    while (this.isPunct('+') || this.isPunct('-')) {
      const op = this.next().text as MathOp;
      const right = this.parseProduct();
      left = { kind: 'math', op, left, right, column: left.column };
    }
    return left;
  }

  private parseProduct(): Node {
    let left = this.parseAtom();
    while (this.isPunct('*') || this.isPunct('/')) {
      const op = this.next().text as MathOp;
      const right = this.parseAtom();
      left = { kind: 'math', op, left, right, column: left.column };
    }
    return left;
  }

  private parseAtom(): Node {
    const t = this.next();
    switch (t.kind) {
      case 'string':
        return { kind: 'string', value: t.value!, column: t.column };
      case 'int':
        return this.intLiteral(t.text, t.column);
      case 'float':
        return { kind: 'float', value: Number(t.text), column: t.column };
      case 'bytes':
        return { kind: 'bytes', value: hexBytes(t.text.slice(2)), column: t.column };
      case 'punct':
        if (t.text === '(') {
          const inner = this.parseOr();
          this.expectPunct(')', 'to close the "(" at column ' + t.column);
          return { kind: 'group', inner, column: t.column };
        }
        if (t.text === '-' || t.text === '+') {
          // OTTL has signed number literals, not a negation operator.
          const n = this.peek();
          if (n.column === t.column + 1 && (n.kind === 'int' || n.kind === 'float')) {
            this.next();
            const text = t.text === '-' ? '-' + n.text : n.text;
            return n.kind === 'int' ? this.intLiteral(text, t.column) : { kind: 'float', value: Number(text), column: t.column };
          }
        }
        throw new OttlError(`expected a value, got ${describe(t)}`, t.column);
      case 'ident':
        return this.identifier(t);
      case 'end':
        throw new OttlError('expected a value, got end of condition', t.column);
    }
  }

  private intLiteral(text: string, column: number): Node {
    const value = BigInt(text);
    if (value > INT64_MAX || value < -INT64_MAX - 1n) throw new OttlError(`integer ${text} does not fit in 64 bits`, column);
    return { kind: 'int', value, column };
  }

  private identifier(t: Token): Node {
    switch (t.text) {
      case 'true':
      case 'false':
        return { kind: 'bool', value: t.text === 'true', column: t.column };
      case 'nil':
        return { kind: 'nil', column: t.column };
      case 'and':
      case 'or':
      case 'not':
        throw new OttlError(`expected a value, got ${JSON.stringify(t.text)}`, t.column);
    }
    const upper = t.text[0] >= 'A' && t.text[0] <= 'Z';
    if (upper && this.isPunct('(')) return this.call(t);
    if (upper && /^[A-Z][A-Z0-9_]*$/.test(t.text)) return { kind: 'enum', name: t.text, column: t.column };
    if (upper) throw new OttlError(`${JSON.stringify(t.text)} is neither an enum (all upper case) nor a converter call`, t.column);
    return this.path(t);
  }

  private call(name: Token): Node {
    this.next(); // "("
    const args: Node[] = [];
    if (!this.isPunct(')')) {
      for (;;) {
        args.push(this.parseOr());
        if (this.isPunct(',')) {
          this.next();
          continue;
        }
        break;
      }
    }
    this.expectPunct(')', `to close the arguments of ${name.text}`);
    if (this.isPunct('[')) throw new OttlError(`indexing the result of ${name.text} is not supported`, this.peek().column);
    return { kind: 'call', name: name.text, args, column: name.column };
  }

  private path(first: Token): Node {
    const fields = [first.text];
    while (this.isPunct('.')) {
      this.next();
      const t = this.next();
      if (t.kind !== 'ident') throw new OttlError(`expected a field name after ".", got ${describe(t)}`, t.column);
      fields.push(t.text);
    }
    const keys: PathKey[] = [];
    while (this.isPunct('[')) {
      this.next();
      const t = this.next();
      if (t.kind === 'string') keys.push({ key: t.value!, column: t.column });
      else if (t.kind === 'int') keys.push({ key: Number(t.text), column: t.column });
      else throw new OttlError(`expected a string or integer key inside [...], got ${describe(t)}`, t.column);
      this.expectPunct(']', 'after the key');
    }
    if (this.isPunct('.')) throw new OttlError('a field cannot follow [...] in a path', this.peek().column);
    return { kind: 'path', fields, keys, column: first.column };
  }
}

/** Parses one condition; throws {@link OttlError} with the column of the problem. */
export function parseCondition(source: string): Node {
  return new Parser(tokenize(source)).parseCondition();
}
