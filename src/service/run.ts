/**
 * From config files to a running service: load, expand, merge, load plugins, validate everything,
 * then create (and, for `run`, start) the graph. Used by the CLI and by tests.
 */
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Logger } from 'pino';
import { builtInRegistry } from '../components.js';
import type { ComponentRegistry } from '../component/registry.js';
import { ConfigError, loadConfig, sortIssues, type LoadOptions } from '../config/load.js';
import { resolveConfig, type ResolvedConfig } from '../config/resolve.js';
import { loadPlugins } from '../plugins/load.js';
import { createLogger } from '../telemetry/logger.js';
import { Service } from './service.js';

/** The embedded default: the package's own config.example.yaml. */
export const DEFAULT_CONFIG = resolve(dirname(fileURLToPath(import.meta.url)), '../../config.example.yaml');

export interface ConfigInput extends LoadOptions {
  files?: readonly string[];
  sets?: readonly string[];
}

export interface PreparedConfig {
  resolved: ResolvedConfig;
  registry: ComponentRegistry;
  warnings: string[];
  configDir: string;
}

/** Loads and validates; throws a ConfigError listing every problem. */
export async function prepareConfig(input: ConfigInput = {}): Promise<PreparedConfig> {
  const files = input.files && input.files.length > 0 ? input.files : [DEFAULT_CONFIG];
  const loaded = loadConfig(files, input.sets ?? [], input);
  const registry = builtInRegistry();
  if (loaded.issues.length === 0) await loadPlugins(loaded, registry);
  const resolved = loaded.issues.length === 0 ? resolveConfig(loaded, registry) : undefined;
  if (!resolved || loaded.issues.length > 0) throw new ConfigError(sortIssues(loaded.issues));
  return { resolved, registry, warnings: loaded.warnings, configDir: dirname(resolve(files[0])) };
}

/** Everything `spanline validate` checks: the config, the plugins, and that every component can be created. */
export async function validateConfig(input: ConfigInput = {}, logger?: Logger): Promise<PreparedConfig> {
  const prepared = await prepareConfig(input);
  new Service(prepared.resolved, { logger: logger ?? createLogger('silent'), configDir: prepared.configDir });
  return prepared;
}

export async function startFromConfig(input: ConfigInput = {}, logger?: Logger): Promise<Service> {
  const prepared = await prepareConfig(input);
  const log = logger ?? createLogger(prepared.resolved.service.telemetry.logs.level);
  for (const w of prepared.warnings) log.warn(w);
  const service = new Service(prepared.resolved, { logger: log, configDir: prepared.configDir });
  await service.start();
  return service;
}
