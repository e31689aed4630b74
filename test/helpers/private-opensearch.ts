/**
 * An OpenSearch node of a test's own, for fault tests that kill, freeze and restart the store: the shared
 * node that scripts/test-services.sh starts (port 19200) serves other test files at the same time and is
 * never touched here. It runs the same installation (`.cache/services/opensearch/opensearch-<version>`,
 * the integ-test zip the script provisions) with its own config copy, data and log directories in a temp
 * dir, free HTTP and transport ports fixed for its life (a restart comes back where the daemon points),
 * a small heap, and as root as the services' user `searchtest` (OpenSearch refuses root).
 *
 * The node runs in a process group of its own, so that SIGKILL reaches the JVM and not only a wrapper;
 * the group is killed when the test process exits, so that no node outlives a run.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { delimiter, dirname, join } from 'node:path';
import { freePort } from './daemon.js';
import { readServicesEnv, SERVICES_DIR } from './services.js';
import { tempDir } from './tmp.js';

const SEARCH_USER = 'searchtest';
/** Characters of the node's output kept for error messages. */
const LOG_LIMIT = 256 * 1024;
const START_TIMEOUT_MS = 150_000;

/** Process groups of nodes still running: killed when the test process exits. */
const live = new Set<number>();
let exitHook = false;

function track(pgid: number): void {
  live.add(pgid);
  if (!exitHook) {
    exitHook = true;
    process.once('exit', () => {
      for (const g of live) signalGroup(g, 'SIGKILL');
    });
  }
}

function signalGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch {
    // Already gone.
  }
}

/** The provisioned installation: the version in the services' env file, else any one in the cache. */
function installation(): { home: string; version: string } {
  const dir = join(SERVICES_DIR, 'opensearch');
  const wanted = process.env.OPENSEARCH_VERSION ?? readServicesEnv().OPENSEARCH_VERSION;
  const candidates = existsSync(dir) ? readdirSync(dir).filter((n) => /^opensearch-\d/.test(n)).map((n) => n.slice('opensearch-'.length)) : [];
  const version = candidates.find((v) => v === wanted) ?? candidates.sort().at(-1);
  if (version === undefined || !existsSync(join(dir, `opensearch-${version}`, 'bin', 'opensearch'))) {
    throw new Error(`no OpenSearch installation in ${dir}: provision it with: bash scripts/test-services.sh up opensearch`);
  }
  return { home: join(dir, `opensearch-${version}`), version };
}

/** JAVA_HOME if set, else the JDK of the `java` on PATH (as test-services.sh finds it). */
function javaHome(): string {
  const env = process.env.JAVA_HOME;
  if (env !== undefined && env !== '' && existsSync(join(env, 'bin', 'java'))) return env;
  for (const d of (process.env.PATH ?? '').split(delimiter)) {
    const java = join(d, 'java');
    if (d !== '' && existsSync(java)) return dirname(dirname(realpathSync(java)));
  }
  throw new Error('java is not installed (OpenSearch needs Java 17 or newer)');
}

/** uid and gid of the services' user, when we are root; undefined otherwise (we run the node ourselves). */
function searchUser(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  try {
    const uid = Number(execFileSync('id', ['-u', SEARCH_USER], { encoding: 'utf8' }).trim());
    const gid = Number(execFileSync('id', ['-g', SEARCH_USER], { encoding: 'utf8' }).trim());
    return { uid, gid };
  } catch {
    throw new Error(`the user ${SEARCH_USER} does not exist: run bash scripts/test-services.sh up opensearch, which creates it`);
  }
}

export class PrivateOpenSearch {
  private child: ChildProcess | undefined;
  private exited: Promise<void> = Promise.resolve();
  private output = '';
  /** How long each start took, from spawning to a yellow or green cluster, in ms. */
  readonly startupsMs: number[] = [];

  private constructor(
    readonly dir: string,
    readonly home: string,
    readonly version: string,
    readonly port: number,
    readonly transportPort: number,
    private readonly heap: string,
  ) {}

  /** `http://127.0.0.1:<port>`, no trailing slash. */
  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /**
   * Prepares the node's directories and picks its ports; does not start it. `heap` is -Xms/-Xmx (the
   * shared node has 512m; 320m is plenty for a test's few thousand spans).
   */
  static async create(options: { heap?: string } = {}): Promise<PrivateOpenSearch> {
    const { home, version } = installation();
    const dir = tempDir('spanline-opensearch-');
    const conf = join(dir, 'config');
    for (const sub of ['data', 'logs']) mkdirSync(join(dir, sub));
    cpSync(join(home, 'config'), conf, { recursive: true });
    // jvm.options names the GC log, heap dumps and crash files relative to the installation (the start
    // script changes to it), where the shared node writes them: point them here.
    const jvmOptions = join(conf, 'jvm.options');
    const rewritten = readFileSync(jvmOptions, 'utf8')
      .split('\n')
      .map((line) =>
        line
          .replace(/file=logs\/gc\.log/, `file=${join(dir, 'logs', 'gc.log')}`)
          .replace(/-Xloggc:logs\//, `-Xloggc:${join(dir, 'logs')}/`)
          .replace(/HeapDumpPath=data$/, `HeapDumpPath=${join(dir, 'data')}`)
          .replace(/ErrorFile=logs\//, `ErrorFile=${join(dir, 'logs')}/`),
      )
      .join('\n');
    writeFileSync(jvmOptions, rewritten);
    const user = searchUser();
    if (user !== undefined) execFileSync('chown', ['-R', `${user.uid}:${user.gid}`, dir]);
    return new PrivateOpenSearch(dir, home, version, await freePort(), await freePort(), options.heap ?? '320m');
  }

  /** Starts the node on its data directory and waits for a yellow or green cluster. */
  async start(): Promise<void> {
    if (this.running) throw new Error('the node is already running');
    const user = searchUser();
    const settings = [
      'discovery.type=single-node',
      'network.host=127.0.0.1',
      `http.port=${this.port}`,
      `transport.port=${this.transportPort}`,
      'cluster.name=spanline-private',
      `path.data=${join(this.dir, 'data')}`,
      `path.logs=${join(this.dir, 'logs')}`,
      'cluster.routing.allocation.disk.threshold_enabled=false',
    ].flatMap((s) => ['-E', s]);
    const env: NodeJS.ProcessEnv = {
      PATH: process.env.PATH,
      HOME: this.dir,
      LANG: process.env.LANG,
      OPENSEARCH_JAVA_HOME: javaHome(),
      OPENSEARCH_PATH_CONF: join(this.dir, 'config'),
      OPENSEARCH_JAVA_OPTS: `-Xms${this.heap} -Xmx${this.heap}`,
    };
    const started = Date.now();
    // detached: the node leads its own process group (bin/opensearch execs the JVM, and its helper JVMs
    // during start-up are in the group too), which kill() and freeze() signal as a whole.
    const child = spawn(join(this.home, 'bin', 'opensearch'), settings, {
      env,
      cwd: this.dir,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
      ...(user ?? {}),
    });
    const append = (d: string) => {
      this.output += d;
      if (this.output.length > LOG_LIMIT * 2) this.output = this.output.slice(-LOG_LIMIT);
    };
    child.stdout!.setEncoding('utf8').on('data', append);
    child.stderr!.setEncoding('utf8').on('data', append);
    this.child = child;
    const pgid = child.pid!;
    track(pgid);
    this.exited = new Promise((resolve) => {
      child.once('exit', () => {
        live.delete(pgid);
        // The JVM may leave helpers behind in its group; nothing of it may survive a kill.
        signalGroup(pgid, 'SIGKILL');
        resolve();
      });
    });
    const deadline = started + START_TIMEOUT_MS;
    for (;;) {
      if (child.exitCode !== null || child.signalCode !== null) {
        throw new Error(`opensearch exited with ${child.exitCode ?? child.signalCode} during start-up:\n${this.log(40)}`);
      }
      if (await this.healthy()) break;
      if (Date.now() > deadline) {
        await this.kill();
        throw new Error(`opensearch did not become healthy on ${this.url} within ${START_TIMEOUT_MS} ms:\n${this.log(40)}`);
      }
      await new Promise((r) => setTimeout(r, 250));
    }
    this.startupsMs.push(Date.now() - started);
  }

  get running(): boolean {
    const c = this.child;
    return c !== undefined && c.exitCode === null && c.signalCode === null;
  }

  /**
   * A yellow or green cluster: `_cluster/health` rather than `GET /` (which the integ-test zips may
   * lack); it answers 503 until the cluster state is recovered.
   */
  async healthy(): Promise<boolean> {
    try {
      const res = await fetch(`${this.url}/_cluster/health?wait_for_status=yellow&timeout=1s`, { signal: AbortSignal.timeout(3000) });
      const body = (await res.json()) as { status?: string };
      return res.status === 200 && (body.status === 'green' || body.status === 'yellow');
    } catch {
      return false;
    }
  }

  /** Kills the node (SIGKILL to its process group: a crash, not a shutdown) and waits for it to be gone. */
  async kill(): Promise<void> {
    if (!this.running) return;
    signalGroup(this.child!.pid!, 'SIGKILL');
    await this.exited;
  }

  /** Stops (SIGSTOP) or resumes (SIGCONT) the whole node: connections are accepted but never answered. */
  freeze(frozen: boolean): void {
    if (this.running) signalGroup(this.child!.pid!, frozen ? 'SIGSTOP' : 'SIGCONT');
  }

  /** The last `lines` lines the node printed. */
  log(lines = 40): string {
    return this.output.trimEnd().split('\n').slice(-lines).join('\n');
  }

  /** Kills the node and removes its directories. Safe to call twice. */
  async stop(): Promise<void> {
    if (this.running) {
      this.freeze(false);
      await this.kill();
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}
