/**
 * A Zipkin server as a benchmark target, in place of the daemon: the same real jar and start-up as the
 * tests (test/helpers/zipkin-server.ts, compiled here with the installed TypeScript, so that there is one
 * copy of that logic), pinned like the daemon, with the store of a sink (`zipkinStorage(workDir)`).
 *
 * The JVM runs with the helper's flags except its C1-only JIT, which saves start-up in tests but would
 * handicap a server under sustained load: `-XX:TieredStopAtLevel=4` restores the full tiered JIT, and
 * the heap is 1 GiB (the helper's 256 MiB is sized for tests).
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { httpGet, parsePrometheus } from './daemon.mjs';

const ROOT = dirname(dirname(dirname(fileURLToPath(import.meta.url))));
const HELPERS = ['zipkin-server', 'daemon', 'services'];

export const ZIPKIN_JVM_ARGS = ['-XX:TieredStopAtLevel=4', '-XX:+ExitOnOutOfMemoryError'];
export const ZIPKIN_HEAP = '1g';

/** test/helpers/zipkin-server.ts and what it imports, transpiled once per content into the temp dir. */
async function helperModule() {
  const ts = (await import('typescript')).default;
  const sources = HELPERS.map((n) => [n, readFileSync(join(ROOT, 'test/helpers', `${n}.ts`), 'utf8')]);
  const key = createHash('sha1').update(sources.map(([n, s]) => `${n}\0${s}`).join('\0')).digest('hex').slice(0, 12);
  const dir = join(tmpdir(), `spanline-bench-helpers-${key}`);
  if (!existsSync(join(dir, 'zipkin-server.js'))) {
    mkdirSync(dir, { recursive: true });
    for (const [name, source] of sources) {
      const out = ts.transpileModule(source, { compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 }, fileName: `${name}.ts` });
      writeFileSync(join(dir, `${name}.js`), out.outputText);
    }
    writeFileSync(join(dir, 'package.json'), '{"type":"module"}\n');
  }
  return import(pathToFileURL(join(dir, 'zipkin-server.js')).href);
}

/**
 * Starts the server on `cpu` (or unpinned) with `env` and resolves once `/health` is UP. The object has
 * the part of bench/lib/daemon.mjs's `Daemon` that run.mjs uses for a target.
 */
export async function startZipkinTarget({ env, cpu }) {
  const { startZipkinServer } = await helperModule();
  const server = await startZipkinServer({ env, cpus: cpu, jvmArgs: ZIPKIN_JVM_ARGS, maxHeap: ZIPKIN_HEAP, timeoutMs: 180_000 });
  let stopped;
  return {
    server,
    pid: server.pid,
    port: server.port,
    command: `${Object.entries(env).map(([k, v]) => `${k}=${/PASS/.test(k) ? '***' : v}`).join(' ')} ${cpu === undefined ? '' : `taskset -c ${cpu} `}java … ${ZIPKIN_JVM_ARGS.join(' ')} -Xmx${ZIPKIN_HEAP} -jar zipkin-server.jar (test/helpers/zipkin-server.ts flags)`,
    /** Zipkin's own collector counters (`/prometheus`): received, dropped, … */
    async metrics() {
      const r = await httpGet(server.port, '/prometheus');
      if (r.status !== 200) throw new Error(`GET /prometheus: ${r.status}`);
      return parsePrometheus(r.body);
    },
    async stop() {
      const t0 = Date.now();
      await server.stop();
      stopped = { code: 0, signal: null, ms: Date.now() - t0 };
      return stopped;
    },
    kill() {
      void server.stop();
    },
    logTail(lines = 30) {
      return server.log().trimEnd().split('\n').slice(-lines).join('\n');
    },
  };
}
