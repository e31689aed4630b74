/**
 * Reads config files into one plain value and remembers where every value came from, so that any later
 * error can name FILE:LINE:COL and the YAML path.
 *
 * Order of resolution, as in the OpenTelemetry Collector: each file is parsed, its `${env:...}`
 * references expanded, then files merge left to right (maps merge, lists replace), then each
 * `--set path=value` is applied last.
 */
import { readFileSync } from 'node:fs';
import { isAlias, isMap, isScalar, isSeq, LineCounter, parseDocument, parse as parseYaml, type Node } from 'yaml';
import { isPlainMap, type Path } from './schema.js';

export interface Location {
  file: string;
  line: number;
  col: number;
}

export interface ConfigIssue {
  path: Path;
  message: string;
  location: Location | undefined;
}

/** Every config problem found, reported together. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  readonly code = 'SPANLINE_ERR_CONFIG';
  constructor(readonly issues: ConfigIssue[]) {
    super(issues.map(formatIssue).join('\n'));
  }
}

export function formatPath(path: Path): string {
  let out = '';
  for (const p of path) {
    if (typeof p === 'number') out += `[${p}]`;
    else out += out === '' ? p : `.${p}`;
  }
  return out;
}

export function formatIssue(i: ConfigIssue): string {
  const where = i.location ? `${i.location.file}:${i.location.line}:${i.location.col}: ` : '';
  const path = i.path.length ? `${formatPath(i.path)}: ` : '';
  return `${where}${path}${i.message}`;
}

export function sortIssues(issues: ConfigIssue[]): ConfigIssue[] {
  return [...issues].sort((a, b) => {
    const fa = a.location?.file ?? '';
    const fb = b.location?.file ?? '';
    if (fa !== fb) return fa < fb ? -1 : 1;
    return (a.location?.line ?? 0) - (b.location?.line ?? 0) || (a.location?.col ?? 0) - (b.location?.col ?? 0);
  });
}

interface Positions {
  value: Location;
  key?: Location;
}

const keyOf = (path: Path): string => path.join('\u0000');

/** The merged config value and the source positions of its parts. */
export class LoadedConfig {
  private readonly positions = new Map<string, Positions>();
  value: Record<string, unknown> = {};
  readonly issues: ConfigIssue[] = [];
  readonly warnings: string[] = [];

  /** Where the value at `path` (or, with `key`, its key) was written; falls back to the nearest parent. */
  locate(path: Path, key = false): Location | undefined {
    for (let n = path.length; n >= 0; n--) {
      const p = this.positions.get(keyOf(path.slice(0, n)));
      if (p) return (key || n < path.length ? p.key : undefined) ?? p.value;
    }
    return undefined;
  }

  issue(path: Path, message: string, key = false): void {
    this.issues.push({ path, message, location: this.locate(path, key) });
  }

  setPosition(path: Path, value: Location, key?: Location): void {
    this.positions.set(keyOf(path), { value, key });
  }
}

export interface LoadOptions {
  env?: NodeJS.ProcessEnv;
}

export function loadConfig(files: readonly string[], sets: readonly string[] = [], opts: LoadOptions = {}): LoadedConfig {
  const env = opts.env ?? process.env;
  const loaded = new LoadedConfig();
  for (const file of files) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (e) {
      loaded.issues.push({ path: [], message: `cannot read config file: ${(e as NodeJS.ErrnoException).code ?? String(e)}`, location: { file, line: 0, col: 0 } });
      continue;
    }
    const value = parseSource(text, file, loaded, env);
    if (value === undefined) continue;
    if (!isPlainMap(value)) {
      loaded.issues.push({ path: [], message: 'the config must be a map at the top level', location: { file, line: 1, col: 1 } });
      continue;
    }
    loaded.value = mergeMaps(loaded.value, value);
  }
  for (const [i, set] of sets.entries()) applySet(loaded, set, i, env);
  return loaded;
}

function parseSource(text: string, file: string, loaded: LoadedConfig, env: NodeJS.ProcessEnv): unknown {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const at = (offset: number): Location => {
    const { line, col } = lineCounter.linePos(offset);
    return { file, line, col };
  };
  if (doc.errors.length > 0) {
    for (const e of doc.errors) {
      loaded.issues.push({ path: [], message: `invalid YAML: ${e.message.split('\n')[0]}`, location: at(e.pos[0]) });
    }
    return undefined;
  }
  const walk = (node: Node | null, path: Path): unknown => {
    if (node === null) return null;
    if (isAlias(node)) return walk(node.resolve(doc) ?? null, path);
    if (isMap(node)) {
      const out: Record<string, unknown> = {};
      for (const pair of node.items) {
        const keyNode = pair.key as Node | null;
        const k = isScalar(keyNode) ? String(keyNode.value) : String(keyNode);
        const childPath = [...path, k];
        const valueNode = pair.value as Node | null;
        const keyLoc = keyNode?.range ? at(keyNode.range[0]) : undefined;
        const valueLoc = valueNode?.range ? at(valueNode.range[0]) : keyLoc;
        if (valueLoc) loaded.setPosition(childPath, valueLoc, keyLoc);
        out[k] = walk(valueNode, childPath);
      }
      return out;
    }
    if (isSeq(node)) {
      return node.items.map((item, i) => {
        const n = item as Node | null;
        if (n?.range) loaded.setPosition([...path, i], at(n.range[0]));
        return walk(n, [...path, i]);
      });
    }
    if (isScalar(node)) {
      const v = node.value;
      if (typeof v !== 'string') return v;
      const plain = node.type === 'PLAIN';
      return expandEnv(v, plain, env, (message) => loaded.issue(path, message), (w) => loaded.warnings.push(w));
    }
    return null;
  };
  if (doc.contents?.range) loaded.setPosition([], at(doc.contents.range[0]));
  return walk(doc.contents as Node | null, []);
}

const ENV_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/**
 * Expands `${env:VAR}`, `${VAR}` and `${env:VAR:-default}`; `$$` is a literal `$`. A plain (unquoted)
 * scalar that is exactly one reference takes the YAML type of the expanded text, so `port: ${env:PORT}`
 * is an integer; anything else stays a string.
 */
export function expandEnv(
  text: string,
  typed: boolean,
  env: NodeJS.ProcessEnv,
  onError: (message: string) => void,
  onWarning: (message: string) => void = () => {},
): unknown {
  if (!text.includes('$')) return text;
  let out = '';
  let refs = 0;
  let literal = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c !== '$') {
      out += c;
      literal = true;
      continue;
    }
    const next = text[i + 1];
    if (next === '$') {
      out += '$';
      literal = true;
      i++;
      continue;
    }
    if (next !== '{') {
      out += c;
      literal = true;
      continue;
    }
    const end = text.indexOf('}', i + 2);
    if (end < 0) {
      onError(`unterminated "\${" in ${JSON.stringify(text)}`);
      return text;
    }
    let ref = text.slice(i + 2, end);
    if (ref.startsWith('env:')) ref = ref.slice(4);
    else if (/^[a-z]+:/.test(ref)) {
      onError(`unsupported config source "${ref.split(':')[0]}:" in ${JSON.stringify(text)}; only env: is supported`);
      return text;
    }
    const dash = ref.indexOf(':-');
    const name = dash >= 0 ? ref.slice(0, dash) : ref;
    if (!ENV_NAME.test(name)) {
      onError(`invalid environment variable name ${JSON.stringify(name)} in ${JSON.stringify(text)}`);
      return text;
    }
    let value = env[name];
    if (value === undefined || (dash >= 0 && value === '')) {
      if (dash >= 0) value = ref.slice(dash + 2);
      else {
        onWarning(`environment variable ${name} is not set; using an empty string`);
        value = '';
      }
    }
    out += value;
    refs++;
    i = end;
  }
  if (typed && refs === 1 && !literal) {
    try {
      const parsed: unknown = parseYaml(out);
      if (parsed === null || typeof parsed !== 'object') return parsed ?? out;
    } catch {
      // Not a scalar YAML value: keep the text.
    }
  }
  return out;
}

/** Maps merge key by key; everything else (lists too) is replaced by the later value. */
export function mergeMaps(base: Record<string, unknown>, over: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(over)) {
    const b = out[k];
    out[k] = isPlainMap(b) && isPlainMap(v) ? mergeMaps(b, v) : v;
  }
  return out;
}

function applySet(loaded: LoadedConfig, set: string, index: number, env: NodeJS.ProcessEnv): void {
  const where: Location = { file: '--set', line: index + 1, col: 1 };
  const eq = set.indexOf('=');
  if (eq <= 0) {
    loaded.issues.push({ path: [], message: `--set ${JSON.stringify(set)}: expected path=value`, location: where });
    return;
  }
  const path = set.slice(0, eq).split('.');
  if (path.some((p) => p === '')) {
    loaded.issues.push({ path: [], message: `--set ${JSON.stringify(set)}: empty key in path`, location: where });
    return;
  }
  let value: unknown;
  try {
    value = parseYaml(set.slice(eq + 1));
  } catch (e) {
    loaded.issues.push({ path, message: `--set: invalid YAML value: ${(e as Error).message.split('\n')[0]}`, location: where });
    return;
  }
  if (typeof value === 'string') value = expandEnv(value, false, env, (m) => loaded.issues.push({ path, message: m, location: where }));
  let nested: unknown = value;
  for (let i = path.length - 1; i >= 0; i--) nested = { [path[i]]: nested };
  loaded.value = mergeMaps(loaded.value, nested as Record<string, unknown>);
  for (let i = 1; i <= path.length; i++) loaded.setPosition(path.slice(0, i), { ...where, col: eq + 2 }, where);
}
