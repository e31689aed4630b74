/**
 * A private Zipkin server per test file: the real `io.zipkin:zipkin-server` exec jar (the one
 * `scripts/test-services.sh` downloads into its cache) as a child process on a free 127.0.0.1 port, with
 * the storage the test gives it through Zipkin's environment variables, e.g.
 *
 *   const zipkin = await startZipkinServer({ env: { STORAGE_TYPE: 'mysql', MYSQL_HOST: '127.0.0.1', ... } });
 *   ... GET `${zipkin.url}/api/v2/dependencies?endTs=...` ...
 *   await zipkin.stop();
 *
 * Start-up costs one JVM, ~6-10 s to `/health` UP on this 2-core machine while it is busy (the jar as is,
 * with default JVM flags: 37-64 s): the JIT stops at C1, the heap is small (RSS ~160 MB), and the jar runs
 * extracted with a class-data-sharing archive of its classes. The extracted jar and the archive are made
 * once per cache (`.cache/services/zipkin/cds/`, ~40 s, under a lock so that test workers wait for each
 * other); if that fails, the server starts from the jar as is. A caller's `beforeAll` should therefore
 * allow a few minutes (the tests here use 300 s).
 *
 * The server's environment is only what is given here (plus PATH, HOME, JAVA_HOME, LANG), so that the
 * test process's own variables cannot change its storage.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, realpathSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, delimiter, join } from 'node:path';
import { freePort } from './daemon.js';
import { readServicesEnv, SERVICES_DIR } from './services.js';

export interface ZipkinServerOptions {
  /**
   * Zipkin's environment: `STORAGE_TYPE` (default `mem`), `MYSQL_*`, `ES_*`, `QUERY_LOOKBACK`, ... (see
   * zipkin-server/README.md). `QUERY_PORT` is set by the helper.
   */
  env?: Record<string, string>;
  /** How long to wait for `/health` to say UP, from the JVM's start; default 120 s. */
  timeoutMs?: number;
  /** `-Xmx`; default `256m` (enough for the in-memory storage of a test's spans). */
  maxHeap?: string;
  /** The exec jar; default: the one in the test services' cache. */
  jar?: string;
  /** Extra JVM flags, after the helper's own (a later `-XX` flag wins), e.g. to lift the C1-only JIT. */
  jvmArgs?: string[];
  /** Runs the JVM under `taskset -c <cpus>` (a benchmark pins it like the daemon). */
  cpus?: string;
}

export interface ZipkinServer {
  /** `http://127.0.0.1:<port>`, no trailing slash: the API is under `/api/v2/`. */
  readonly url: string;
  readonly port: number;
  /** The JVM's process id (`taskset` execs java, so it is the JVM's own). */
  readonly pid: number;
  /** From spawning the JVM to `/health` UP, in ms. */
  readonly startupMs: number;
  /** What the server printed (stdout and stderr), the last {@link LOG_LIMIT} characters of it. */
  log(): string;
  /** Stops the server (SIGTERM, then SIGKILL after 10 s) and waits for its exit. Safe to call twice. */
  stop(): Promise<void>;
}

/** Characters of a server's output kept for {@link ZipkinServer.log}. */
export const LOG_LIMIT = 512 * 1024;

const JVM_FLAGS = [
  '-XX:TieredStopAtLevel=1',
  '-XX:+UseSerialGC',
  '-XX:-UsePerfData',
  '-Xss512k',
  '-Xms32m',
  '-Djava.net.preferIPv4Stack=true',
];

/** JVMs not ended yet: killed when the test process exits, so that none outlives a test run. */
const live = new Set<ChildProcess>();
let exitHook = false;

function track(child: ChildProcess): void {
  live.add(child);
  if (!exitHook) {
    exitHook = true;
    process.once('exit', () => {
      for (const c of live) c.kill('SIGKILL');
    });
  }
}

/**
 * Starts a Zipkin server and waits until `/health` reports UP. Rejects, with the last lines of the
 * server's log, when it exits or does not come up in time (the JVM is then killed).
 */
export async function startZipkinServer(options: ZipkinServerOptions = {}): Promise<ZipkinServer> {
  const jar = options.jar ?? zipkinServerJar();
  const launch = await preparedLaunch(jar);
  // Another process may take the free port before the JVM binds it: then try another.
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnce(launch, await freePort(), options);
    } catch (e) {
      if (!(e instanceof PortTakenError) || attempt >= 3) throw e;
    }
  }
}

/**
 * The exec jar: `ZIPKIN_SERVER_JAR` from the environment or the test services' env file, else the newest
 * `zipkin-server-*-exec.jar` in the services' Maven cache.
 */
export function zipkinServerJar(): string {
  const configured = process.env.ZIPKIN_SERVER_JAR ?? readServicesEnv().ZIPKIN_SERVER_JAR;
  if (configured !== undefined && configured !== '' && existsSync(configured)) return configured;
  const dir = join(SERVICES_DIR, 'm2', 'io', 'zipkin', 'zipkin-server');
  const versions = existsSync(dir) ? readdirSync(dir).sort(compareVersions).reverse() : [];
  for (const v of versions) {
    const jar = join(dir, v, `zipkin-server-${v}-exec.jar`);
    if (existsSync(jar)) return jar;
  }
  throw new Error(`the Zipkin server jar is not in ${dir}; download it with: bash scripts/test-services.sh up zipkin`);
}

// ---- one start

class PortTakenError extends Error {}

interface Launch {
  jar: string;
  jvmArgs: string[];
  /** Why the jar runs without class-data sharing, if it does. */
  note: string;
}

async function startOnce(launch: Launch, port: number, options: ZipkinServerOptions): Promise<ZipkinServer> {
  const env: Record<string, string> = { STORAGE_TYPE: 'mem', COLLECTOR_GRPC_ENABLED: 'false' };
  for (const key of ['PATH', 'HOME', 'JAVA_HOME', 'LANG']) {
    const v = process.env[key];
    if (v !== undefined) env[key] = v;
  }
  Object.assign(env, options.env, { QUERY_PORT: String(port) });
  const args = [
    ...JVM_FLAGS,
    `-Xmx${options.maxHeap ?? '256m'}`,
    ...launch.jvmArgs,
    ...(options.jvmArgs ?? []),
    '-jar',
    launch.jar,
    '--armeria.ports[0].ip=127.0.0.1',
    `--armeria.ports[0].port=${port}`,
    '--armeria.ports[0].protocols[0]=http',
  ];

  const started = Date.now();
  const [command, commandArgs] = options.cpus === undefined ? [javaCommand(), args] : ['taskset', ['-c', options.cpus, javaCommand(), ...args]];
  const child = spawn(command, commandArgs, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  track(child);
  const output = new BoundedText(LOG_LIMIT);
  if (launch.note !== '') output.append(`[zipkin-server helper] ${launch.note}\n`);
  child.stdout!.setEncoding('utf8').on('data', (d: string) => output.append(d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => output.append(d));
  const exited = new Promise<number | null>((resolve) => {
    child.once('exit', (code, signal) => {
      live.delete(child);
      resolve(code ?? (signal === null ? null : -1));
    });
    child.once('error', (e) => {
      output.append(`[zipkin-server helper] could not run java: ${e.message}\n`);
      live.delete(child);
      resolve(-1);
    });
  });
  let exitCode: number | null | undefined;
  void exited.then((code) => (exitCode = code));

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> =>
    (stopping ??= (async () => {
      if (exitCode !== undefined) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    })());

  const url = `http://127.0.0.1:${port}`;
  const deadline = started + (options.timeoutMs ?? 120_000);
  for (;;) {
    if (exitCode !== undefined) {
      const text = output.text();
      if (/Address already in use|Failed to bind/i.test(text)) throw new PortTakenError(`port ${port} was taken`);
      throw new Error(`the Zipkin server exited with ${exitCode} during start-up (${commandLine(args, options)}); its last log lines:\n${lastLines(text, 40)}`);
    }
    if (await isUp(url)) break;
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      await exited;
      throw new Error(
        `the Zipkin server did not report UP on ${url}/health within ${options.timeoutMs ?? 120_000} ms (${commandLine(args, options)}); ` +
          `its last log lines:\n${lastLines(output.text(), 40)}`,
      );
    }
    await sleep(200);
  }
  return { url, port, pid: child.pid ?? -1, startupMs: Date.now() - started, log: () => output.text(), stop };
}

async function isUp(url: string): Promise<boolean> {
  try {
    const res = await fetch(`${url}/health`, { signal: AbortSignal.timeout(2000) });
    const body = await res.text();
    return res.ok && /"status"\s*:\s*"UP"/.test(body);
  } catch {
    return false;
  }
}

function commandLine(args: string[], options: ZipkinServerOptions): string {
  const env = Object.entries({ STORAGE_TYPE: 'mem', ...options.env }).map(([k, v]) => `${k}=${v}`);
  return `${env.join(' ')} java ${args.join(' ')}`;
}

function lastLines(text: string, n: number): string {
  const lines = text.trimEnd().split('\n');
  return lines.slice(-n).join('\n');
}

/** The last `limit` characters appended, and how many were dropped before them. */
class BoundedText {
  private parts: string[] = [];
  private length = 0;
  private dropped = 0;

  constructor(private readonly limit: number) {}

  append(s: string): void {
    this.parts.push(s);
    this.length += s.length;
    if (this.length > this.limit * 2) this.compact();
  }

  text(): string {
    this.compact();
    const body = this.parts.join('');
    return this.dropped > 0 ? `[... ${this.dropped} earlier characters dropped]\n${body}` : body;
  }

  private compact(): void {
    let body = this.parts.join('');
    if (body.length > this.limit) {
      this.dropped += body.length - this.limit;
      body = body.slice(body.length - this.limit);
    }
    this.parts = [body];
    this.length = body.length;
  }
}

// ---- the extracted jar and its class-data-sharing archive, made once per cache

const PREPARE_TIMEOUT_MS = 240_000;
/** A lock older than this was left by a process that died while preparing. */
const STALE_LOCK_MS = PREPARE_TIMEOUT_MS + 60_000;

/** By jar: prepared once per test process. */
const prepared = new Map<string, Promise<Launch>>();

function preparedLaunch(jar: string): Promise<Launch> {
  let launch = prepared.get(jar);
  if (launch === undefined) {
    launch = prepare(jar).catch((e: unknown) => ({ jar, jvmArgs: [], note: `running the jar without class-data sharing: ${String(e)}` }));
    prepared.set(jar, launch);
  }
  return launch;
}

/**
 * Spring Boot's nested jars keep their classes out of a CDS archive; extracted (`-Djarmode=tools
 * extract`) they can be archived. The archive records the class path, so it is made where it is used,
 * and a `ready` file marks the directory complete. Deleting the directory makes the next start rebuild it.
 */
async function prepare(jar: string): Promise<Launch> {
  const java = javaCommand();
  const key = createHash('sha256').update(`${realpathSync(jar)}\0${javaIdentity(java)}`).digest('hex').slice(0, 12);
  const dir = join(SERVICES_DIR, 'zipkin', 'cds', `${basename(jar, '.jar')}-${key}`);
  const appJar = join(dir, 'app', basename(jar));
  const archive = join(dir, 'app.jsa');
  const ready = join(dir, 'ready');
  const launch: Launch = { jar: appJar, jvmArgs: [`-XX:SharedArchiveFile=${archive}`, '-Xshare:auto'], note: '' };
  if (existsSync(ready)) return launch;

  const lock = `${dir}.lock`;
  mkdirSync(join(SERVICES_DIR, 'zipkin', 'cds'), { recursive: true });
  const waitUntil = Date.now() + STALE_LOCK_MS;
  for (;;) {
    try {
      mkdirSync(lock);
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      if (existsSync(ready)) return launch;
      if (Date.now() - lockAge(lock) > STALE_LOCK_MS || Date.now() > waitUntil) rmSync(lock, { recursive: true, force: true });
      else await sleep(500);
    }
  }
  try {
    if (existsSync(ready)) return launch;
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    const deadline = Date.now() + PREPARE_TIMEOUT_MS;
    await run(java, ['-Djarmode=tools', '-jar', jar, 'extract', '--destination', join(dir, 'app')], {}, deadline);
    if (!existsSync(appJar)) throw new Error(`extracting ${jar} did not give ${appJar}`);
    // A training run: Spring Boot exits once the application context is up, and the JVM then writes
    // the classes it loaded.
    const port = await freePort();
    await run(
      java,
      [
        ...JVM_FLAGS,
        '-Xmx256m',
        `-XX:ArchiveClassesAtExit=${archive}`,
        '-Dspring.context.exit=onRefresh',
        '-jar',
        appJar,
        '--armeria.ports[0].ip=127.0.0.1',
        `--armeria.ports[0].port=${port}`,
        '--armeria.ports[0].protocols[0]=http',
      ],
      { STORAGE_TYPE: 'mem', COLLECTOR_GRPC_ENABLED: 'false', QUERY_PORT: String(port) },
      deadline,
    );
    if (!existsSync(archive)) throw new Error('the training run wrote no CDS archive');
    writeFileSync(ready, new Date().toISOString() + '\n');
    return launch;
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

function lockAge(lock: string): number {
  try {
    return statSync(lock).mtimeMs;
  } catch {
    return Date.now();
  }
}

/** Runs a command to completion; rejects with its output's tail on failure or at the deadline. */
function run(command: string, args: string[], env: Record<string, string>, deadline: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    track(child);
    const out = new BoundedText(64 * 1024);
    child.stdout!.setEncoding('utf8').on('data', (d: string) => out.append(d));
    child.stderr!.setEncoding('utf8').on('data', (d: string) => out.append(d));
    const timer = setTimeout(() => child.kill('SIGKILL'), Math.max(0, deadline - Date.now()));
    child.once('error', (e) => {
      clearTimeout(timer);
      live.delete(child);
      reject(e);
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      live.delete(child);
      if (code === 0) resolve();
      else reject(new Error(`${basename(command)} ${args.join(' ')} ended with ${code ?? signal}:\n${lastLines(out.text(), 20)}`));
    });
  });
}

function javaCommand(): string {
  const home = process.env.JAVA_HOME;
  if (home !== undefined && home !== '' && existsSync(join(home, 'bin', 'java'))) return join(home, 'bin', 'java');
  return 'java';
}

/** The real path of the java binary: an archive is only valid for the JVM that wrote it. */
function javaIdentity(java: string): string {
  if (java !== 'java') return realpathSync(java);
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    const candidate = join(dir, 'java');
    if (dir !== '' && existsSync(candidate)) return realpathSync(candidate);
  }
  // Unusual set-ups: ask the JVM (one extra start, only while preparing).
  const r = spawnSync('java', ['-version'], { encoding: 'utf8' });
  return r.stderr ?? 'java';
}

function compareVersions(a: string, b: string): number {
  const pa = a.split('.').map((p) => parseInt(p, 10) || 0);
  const pb = b.split('.').map((p) => parseInt(p, 10) || 0);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
