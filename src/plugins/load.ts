/**
 * Loads the modules listed under `plugins:` and registers their components. A plugin that is missing,
 * throws while loading, or does not have the documented shape is a config error naming the plugin.
 */
import { createRequire } from 'node:module';
import { dirname, isAbsolute, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { ComponentRegistry } from '../component/registry.js';
import { factoryShapeProblem } from '../component/registry.js';
import type { Plugin } from '../component/types.js';
import type { LoadedConfig } from '../config/load.js';

function isPathLike(spec: string): boolean {
  return spec.startsWith('./') || spec.startsWith('../') || isAbsolute(spec);
}

/** Resolves a plugin entry: paths relative to the config file that lists it, packages from there too. */
function resolvePlugin(spec: string, configFile: string): string {
  const base = configFile && configFile !== '--set' ? dirname(resolve(configFile)) : process.cwd();
  if (isPathLike(spec)) return resolve(base, spec);
  return createRequire(resolve(base, 'noop.js')).resolve(spec);
}

function describeError(e: unknown): string {
  if (e instanceof Error) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') return `not found (${e.message.split('\n')[0]})`;
    return `it threw while loading: ${e.message.split('\n')[0]}`;
  }
  return `it threw while loading: ${String(e)}`;
}

export async function loadPlugins(loaded: LoadedConfig, registry: ComponentRegistry): Promise<void> {
  const list = loaded.value.plugins;
  if (list === undefined || list === null) return;
  if (!Array.isArray(list)) {
    loaded.issue(['plugins'], 'expected a list of module paths or package names');
    return;
  }
  for (const [i, spec] of list.entries()) {
    const path = ['plugins', i];
    if (typeof spec !== 'string' || spec === '') {
      loaded.issue(path, 'expected a module path or package name');
      continue;
    }
    const fail = (why: string) => loaded.issue(path, `plugin "${spec}" cannot be loaded: ${why}`);
    let mod: Record<string, unknown>;
    try {
      const file = resolvePlugin(spec, loaded.locate(path)?.file ?? '');
      mod = (await import(pathToFileURL(file).href)) as Record<string, unknown>;
    } catch (e) {
      fail(describeError(e));
      continue;
    }
    const plugin = (mod.default ?? mod.plugin) as Partial<Plugin> | undefined;
    if (!plugin || typeof plugin !== 'object') {
      fail('the module has no default export (use definePlugin from "spanline")');
      continue;
    }
    if (typeof plugin.name !== 'string' || plugin.name === '') {
      fail('the plugin has no name');
      continue;
    }
    if (!Array.isArray(plugin.components) || plugin.components.length === 0) {
      fail('the plugin has no components');
      continue;
    }
    for (const c of plugin.components) {
      const problem = factoryShapeProblem(c);
      if (problem) {
        fail(problem);
        continue;
      }
      try {
        registry.register(c, `plugin "${plugin.name}"`);
      } catch (e) {
        fail((e as Error).message);
      }
    }
  }
}
