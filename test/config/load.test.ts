import { describe, expect, it } from 'vitest';
import { expandEnv, loadConfig } from '../../src/config/load.js';
import { writeTemp, tempDir } from '../helpers/tmp.js';

describe('environment expansion', () => {
  const env = { PORT: '4318', EMPTY: '', NAME: 'api', FLAG: 'true' };
  it.each([
    ['${env:PORT}', true, 4318],
    ['${PORT}', true, 4318],
    ['${env:PORT}', false, '4318'],
    ['"quoted" ${env:PORT}', true, '"quoted" 4318'],
    ['0.0.0.0:${env:PORT}', true, '0.0.0.0:4318'],
    ['${env:MISSING:-fallback}', true, 'fallback'],
    ['${env:EMPTY:-fallback}', true, 'fallback'],
    ['${env:MISSING}', true, ''],
    ['${env:FLAG}', true, true],
    ['$${env:PORT}', true, '${env:PORT}'],
    ['cost: $$5', true, 'cost: $5'],
    ['a $ b', true, 'a $ b'],
    ['${env:NAME}-${env:NAME}', true, 'api-api'],
  ])('%s (typed: %s) -> %j', (text, typed, expected) => {
    expect(expandEnv(text, typed, env, (m) => expect.fail(m))).toEqual(expected);
  });

  it.each([
    ['${env:PORT', 'unterminated "${" in "${env:PORT"'],
    ['${file:/etc/passwd}', 'unsupported config source "file:" in "${file:/etc/passwd}"; only env: is supported'],
    ['${env:A-B}', 'invalid environment variable name "A-B" in "${env:A-B}"'],
  ])('%s is an error', (text, message) => {
    const errors: string[] = [];
    expandEnv(text, true, env, (m) => errors.push(m));
    expect(errors).toEqual([message]);
  });

  it('warns about unset variables without a default', () => {
    const warnings: string[] = [];
    expandEnv('${env:NOPE}', true, {}, () => undefined, (w) => warnings.push(w));
    expect(warnings).toEqual(['environment variable NOPE is not set; using an empty string']);
  });
});

describe('several --config files and --set', () => {
  it('merges maps, replaces lists, and applies --set last', () => {
    const dir = tempDir();
    const a = writeTemp('a.yaml', 'processors:\n  batch:\n    timeout: 1s\n    send_batch_size: 10\nservice:\n  extensions: [a, b]\n', dir);
    const b = writeTemp('b.yaml', 'processors:\n  batch:\n    send_batch_size: 20\nservice:\n  extensions: [c]\n', dir);
    const loaded = loadConfig([a, b], ['processors.batch.timeout=5s', 'exporters.file.path=/x']);
    expect(loaded.issues).toEqual([]);
    expect(loaded.value).toEqual({
      processors: { batch: { timeout: '5s', send_batch_size: 20 } },
      service: { extensions: ['c'] },
      exporters: { file: { path: '/x' } },
    });
    // Positions follow the file that set the value last.
    expect(loaded.locate(['processors', 'batch', 'send_batch_size'])).toEqual({ file: b, line: 3, col: 22 });
    expect(loaded.locate(['service', 'extensions', 0])).toEqual({ file: b, line: 5, col: 16 });
    expect(loaded.locate(['processors', 'batch', 'timeout'])?.file).toBe('--set');
  });

  it('keeps quoted numbers as strings and expands env in scalars only', () => {
    const f = writeTemp('c.yaml', 'a: "0123"\nb: ${env:N}\nc: "${env:N}"\n${env:N}: key\n');
    const loaded = loadConfig([f], [], { env: { N: '7' } });
    expect(loaded.value).toEqual({ a: '0123', b: 7, c: '7', '${env:N}': 'key' });
  });

  it('rejects duplicate keys and non-map documents', () => {
    const dup = writeTemp('d.yaml', 'a: 1\na: 2\n');
    expect(loadConfig([dup]).issues.map((i) => `${i.location?.line}:${i.location?.col} ${i.message}`)).toEqual([
      expect.stringMatching(/^2:1 invalid YAML: Map keys must be unique/),
    ]);
    const list = writeTemp('e.yaml', '- a\n');
    expect(loadConfig([list]).issues.map((i) => i.message)).toEqual(['the config must be a map at the top level']);
  });
});
