import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/config/load.js';
import { prepareConfig } from '../../src/service/run.js';
import { tempDir, writeTemp } from '../helpers/tmp.js';

const PIPELINE = `
receivers: { zipkin: { endpoint: "127.0.0.1:0" } }
exporters: { debug: {} }
service: { pipelines: { traces: { receivers: [zipkin], exporters: [debug] } } }
`;

async function pluginProblems(moduleText: string | undefined, entry = './plugin.mjs'): Promise<string[]> {
  const dir = tempDir();
  if (moduleText !== undefined) writeTemp('plugin.mjs', moduleText, dir);
  const cfg = writeTemp('config.yaml', `plugins:\n  - ${entry}\n${PIPELINE}`, dir);
  try {
    await prepareConfig({ files: [cfg] });
    return [];
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    return e.issues.map((i) => `${i.location?.line}:${i.location?.col} ${i.message}`);
  }
}

describe('plugins that cannot be loaded stop start-up with their name and why', () => {
  it.each([
    ['missing module', undefined, /^2:5 plugin "\.\/plugin\.mjs" cannot be loaded: not found \(/],
    ['throws on load', 'throw new Error("no licence key");', /^2:5 plugin "\.\/plugin\.mjs" cannot be loaded: it threw while loading: no licence key$/],
    ['no default export', 'export const x = 1;', /^2:5 plugin "\.\/plugin\.mjs" cannot be loaded: the module has no default export/],
    ['no name', 'export default { components: [] };', /cannot be loaded: the plugin has no name$/],
    ['no components', 'export default { name: "p", components: [] };', /cannot be loaded: the plugin has no components$/],
    [
      'a component of the wrong shape',
      'export default { name: "p", components: [{ kind: "processor", type: "Bad-Type" }] };',
      /cannot be loaded: component type must be lower_snake_case; got "Bad-Type"$/,
    ],
    [
      'a processor without create',
      'export default { name: "p", components: [{ kind: "processor", type: "p", stability: "alpha", config: { check() {}, shape: {} }, mutatesData: false }] };',
      /cannot be loaded: p: create must be a function$/,
    ],
  ])('%s', async (_name, text, pattern) => {
    const problems = await pluginProblems(text);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(pattern);
  });

  it('a type that clashes with a built-in', async () => {
    const example = resolve('examples/plugins/url-query-scrubber.mjs');
    const text = `import base from ${JSON.stringify(example)};\nexport default { name: "clash", components: [{ ...base.components[0], type: "batch" }] };`;
    expect(await pluginProblems(text)).toEqual(['2:5 plugin "./plugin.mjs" cannot be loaded: processor type "batch" is already registered by built-in']);
  });

  it('a package name that is not installed', async () => {
    const problems = await pluginProblems(undefined, 'spanline-plugin-that-does-not-exist');
    expect(problems[0]).toMatch(/^2:5 plugin "spanline-plugin-that-does-not-exist" cannot be loaded: not found/);
  });
});
