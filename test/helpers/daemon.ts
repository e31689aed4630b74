/**
 * Runs the real CLI (`node dist/cli.js`) as a user would, for end-to-end tests. `npm test` builds dist/
 * first.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';

export const CLI = resolve('dist/cli.js');

export async function freePort(): Promise<number> {
  return listenOnce(0);
}

/** Binds `port` on 127.0.0.1 and lets it go again: the port bound, or a rejection if it is taken. */
function listenOnce(port: number): Promise<number> {
  return new Promise((res, rej) => {
    const srv = createServer();
    srv.once('error', rej);
    srv.listen(port, '127.0.0.1', () => {
      const bound = (srv.address() as { port: number }).port;
      srv.close(() => res(bound));
    });
  });
}

/**
 * A free port below the kernel's ephemeral range (which starts at 32768 here), for a server that a test
 * stops and starts again on the same port. A port from {@link freePort} is ephemeral: between two
 * starts, any outgoing connection of the machine may be given it (`Address already in use`).
 */
export async function freeRestartablePort(): Promise<number> {
  for (let attempt = 0; attempt < 100; attempt++) {
    const port = 20_000 + Math.floor(Math.random() * 12_000);
    try {
      return await listenOnce(port);
    } catch {
      // taken: try another
    }
  }
  throw new Error('no free port in 20000-31999');
}

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a CLI command to completion. */
export function runCli(args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<CliResult> {
  return new Promise((res) => {
    const child = spawn(process.execPath, [CLI, ...args], { cwd: opts.cwd, env: { ...process.env, ...opts.env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (code) => res({ code, stdout, stderr }));
  });
}

export class Daemon {
  stderr = '';
  stdout = '';
  readonly exited: Promise<number | null>;

  private constructor(readonly child: ChildProcess) {
    child.stdout!.on('data', (d) => (this.stdout += d));
    child.stderr!.on('data', (d) => (this.stderr += d));
    this.exited = new Promise((res) => child.on('exit', (code) => res(code)));
  }

  /** Starts the daemon and waits for its "spanline is running" log line (or its exit). */
  static async start(args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<Daemon> {
    const child = spawn(process.execPath, [CLI, ...args], { cwd: opts.cwd, env: { ...process.env, ...opts.env } });
    const d = new Daemon(child);
    const deadline = Date.now() + (opts.timeoutMs ?? 15_000);
    while (!d.stderr.includes('"spanline is running"')) {
      if (child.exitCode !== null) throw new Error(`daemon exited with ${child.exitCode}:\n${d.stderr}`);
      if (Date.now() > deadline) {
        child.kill('SIGKILL');
        throw new Error(`daemon did not start:\n${d.stderr}`);
      }
      await new Promise((r) => setTimeout(r, 20));
    }
    return d;
  }

  /**
   * Writes `yaml` to `dir`/spanline.yaml and starts the daemon on it with `dir` as working directory, so
   * that relative paths in the YAML land in `dir`.
   */
  static startWithYaml(yaml: string, dir: string, opts: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<Daemon> {
    const path = join(dir, 'spanline.yaml');
    writeFileSync(path, yaml);
    return Daemon.start(['--config', path], { ...opts, cwd: dir });
  }

  /** Sends a signal and waits for the exit code. */
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
    if (this.child.exitCode === null) this.child.kill(signal);
    return this.exited;
  }

  logs(): Record<string, unknown>[] {
    return this.stderr
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Record<string, unknown>);
  }
}
