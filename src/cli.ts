#!/usr/bin/env -S node --max-semi-space-size=64
/**
 * spanline [run] [--config FILE]... [--set path=value]...   run pipelines (default: the embedded config)
 * spanline validate [--config FILE]... [--set ...]          check a config without starting it
 * spanline components [--config FILE]...                    list component types (with plugins' too)
 */
// The shebang's V8 flag (also in `npm start` and the Dockerfile): spans live from decode until their batch
// is exported, long enough to survive V8's default 16 MiB young generation and be copied by every
// scavenge; a 64 MiB semi-space halves scavenge time and raised throughput by ~70% in `npm run bench`
// (BENCHMARKS.md, "GC").
import { parseArgs } from 'node:util';
import { readFileSync } from 'node:fs';
import { ConfigError, loadConfig, sortIssues } from './config/load.js';
import { loadPlugins } from './plugins/load.js';
import { startFromConfig, validateConfig, type ConfigInput } from './service/run.js';
import type { Service } from './service/service.js';
import { builtInRegistry } from './components.js';

const USAGE = `Usage:
  spanline [run] [--config FILE]... [--set path=value]...
  spanline validate [--config FILE]... [--set path=value]...
  spanline components [--config FILE]...

Options:
  -c, --config FILE     config file; repeat to merge several (maps merge, lists replace).
                        Without --config, the embedded config.example.yaml is used.
      --set PATH=VALUE  override one value, e.g. --set processors.batch.timeout=1s (applied last)
  -h, --help            show this help
  -v, --version         print the version
`;

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

/** Prints config problems the way editors and CI logs link them: FILE:LINE:COL: path: message. */
function reportStartupError(e: unknown): number {
  if (e instanceof ConfigError) {
    process.stderr.write(`spanline: invalid configuration (${e.issues.length} problem${e.issues.length === 1 ? '' : 's'}):\n${e.message}\n`);
  } else {
    process.stderr.write(`spanline: ${(e as Error)?.message ?? String(e)}\n`);
  }
  return 1;
}

async function run(input: ConfigInput): Promise<number> {
  let service: Service;
  try {
    service = await startFromConfig(input);
  } catch (e) {
    return reportStartupError(e);
  }
  const logger = service.logger;
  return new Promise<number>((resolveExit) => {
    let signals = 0;
    const stop = (signal: NodeJS.Signals) => {
      signals++;
      if (signals > 1) {
        logger.warn({ signal }, 'second signal: exiting without draining');
        resolveExit(1);
        return;
      }
      logger.info({ signal }, 'shutting down: draining batches and queues');
      service.shutdown().then(
        () => resolveExit(0),
        (err: unknown) => {
          logger.error({ err }, 'shutdown completed with errors');
          resolveExit(1);
        },
      );
    };
    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);
    // A bug reached the top: keep serving, but make it loud. Input never gets here (receivers answer 4xx).
    process.on('unhandledRejection', (err) => logger.error({ err }, 'unhandled rejection'));
  });
}

async function components(input: ConfigInput): Promise<number> {
  // Only the plugins matter here: the rest of the config need not be complete.
  const registry = builtInRegistry();
  if (input.files && input.files.length > 0) {
    const loaded = loadConfig(input.files, input.sets ?? []);
    if (loaded.issues.length === 0) await loadPlugins(loaded, registry);
    if (loaded.issues.length > 0) return reportStartupError(new ConfigError(sortIssues(loaded.issues)));
  }
  const rows = registry.all().map((c) => [c.factory.kind, c.factory.type, c.factory.stability, c.source, c.factory.description]);
  const header = ['KIND', 'TYPE', 'STABILITY', 'SOURCE', 'DESCRIPTION'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  for (const r of [header, ...rows]) {
    process.stdout.write(r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]))).join('  ') + '\n');
  }
  return 0;
}

async function main(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        config: { type: 'string', short: 'c', multiple: true },
        set: { type: 'string', multiple: true },
        help: { type: 'boolean', short: 'h' },
        version: { type: 'boolean', short: 'v' },
      },
    });
  } catch (e) {
    process.stderr.write(`spanline: ${(e as Error).message}\n\n${USAGE}`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (values.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  if (values.version) {
    process.stdout.write(`spanline ${version()}\n`);
    return 0;
  }
  const input: ConfigInput = { files: values.config ?? [], sets: values.set ?? [] };
  const command = positionals[0] ?? 'run';
  if (positionals.length > 1) {
    process.stderr.write(`spanline: unexpected argument "${positionals[1]}"\n\n${USAGE}`);
    return 2;
  }
  switch (command) {
    case 'run':
      return run(input);
    case 'validate':
      try {
        const prepared = await validateConfig(input);
        for (const w of prepared.warnings) process.stderr.write(`warning: ${w}\n`);
        process.stdout.write(`configuration is valid: ${prepared.resolved.pipelines.map((p) => p.id).join(', ')}\n`);
        return 0;
      } catch (e) {
        return reportStartupError(e);
      }
    case 'components':
      return components(input);
    default:
      process.stderr.write(`spanline: unknown command "${command}"\n\n${USAGE}`);
      return 2;
  }
}

main(process.argv.slice(2)).then(
  // Servers are closed and queues drained by now; exit even if a library left a timer behind.
  (code) => process.exit(code),
  (e: unknown) => {
    process.stderr.write(`spanline: ${(e as Error)?.stack ?? String(e)}\n`);
    process.exit(1);
  },
);
