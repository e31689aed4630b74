/**
 * A MariaDB server of a test's own, for fault tests that kill and restart the database: the shared one
 * that scripts/test-services.sh starts serves other test files at the same time. Uses the same Debian
 * binaries (the script installs them); the data directory is a fresh temp dir, kept across restarts.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { freeRestartablePort } from './daemon.js';
import { tempDir } from './tmp.js';

function binary(...names: string[]): string {
  for (const name of names) {
    for (const dir of ['/usr/sbin', '/usr/bin', '/usr/local/sbin', '/usr/local/bin']) {
      if (existsSync(join(dir, name))) return join(dir, name);
    }
  }
  throw new Error(`${names[0]} not found: run bash scripts/test-services.sh up mariadb, which installs it`);
}

/** Servers still running when the test process exits are killed, so a failed test leaves none behind. */
const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of live) child.kill('SIGKILL');
});

export class PrivateMariaDb {
  private child: ChildProcess | undefined;
  private log = '';
  readonly user = 'zipkin';
  readonly password = 'zipkin';
  readonly database = 'zipkin';

  private constructor(
    readonly dir: string,
    readonly port: number,
  ) {}

  get socket(): string {
    return join(this.dir, 'mysqld.sock');
  }

  /** Initialises a data directory (about 3 s); does not start the server. */
  static async create(): Promise<PrivateMariaDb> {
    const dir = tempDir('spanline-mariadb-');
    execFileSync(binary('mariadb-install-db', 'mysql_install_db'), [
      '--no-defaults',
      `--datadir=${join(dir, 'data')}`,
      `--user=${process.getuid?.() === 0 ? 'root' : (process.env.USER ?? 'root')}`,
      '--auth-root-authentication-method=normal',
      '--skip-test-db',
    ], { stdio: 'pipe' });
    return new PrivateMariaDb(dir, await freeRestartablePort());
  }

  /** Starts the server and waits until the `zipkin` user can connect (creating it the first time). */
  async start(): Promise<void> {
    const args = [
      '--no-defaults',
      ...(process.getuid?.() === 0 ? ['--user=root'] : []),
      `--datadir=${join(this.dir, 'data')}`,
      `--socket=${this.socket}`,
      `--port=${this.port}`,
      '--bind-address=127.0.0.1',
      `--pid-file=${join(this.dir, 'mariadbd.pid')}`,
      '--skip-name-resolve',
      '--innodb-buffer-pool-size=64M',
      '--character-set-server=utf8mb4',
    ];
    const child = spawn(binary('mariadbd', 'mysqld'), args, { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout!.on('data', (d) => (this.log += d));
    child.stderr!.on('data', (d) => (this.log += d));
    this.child = child;
    live.add(child);
    child.once('exit', () => live.delete(child));
    const deadline = Date.now() + 60_000;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`mariadbd exited with ${child.exitCode}:\n${this.log.slice(-3000)}`);
      if (this.sql('root', 'SELECT 1') !== undefined) break;
      if (Date.now() > deadline) throw new Error(`mariadbd did not start:\n${this.log.slice(-3000)}`);
      await new Promise((r) => setTimeout(r, 200));
    }
    this.sql(
      'root',
      `CREATE DATABASE IF NOT EXISTS zipkin;
       CREATE USER IF NOT EXISTS 'zipkin'@'%' IDENTIFIED BY 'zipkin';
       GRANT ALL PRIVILEGES ON zipkin.* TO 'zipkin'@'%';`,
    );
  }

  /** Runs SQL through the socket; the output, or undefined when the server does not answer. */
  sql(user: string, statements: string): string | undefined {
    try {
      return execFileSync(binary('mariadb', 'mysql'), ['--no-defaults', `--socket=${this.socket}`, `-u${user}`, ...(user === this.user ? [`-p${this.password}`] : []), '-N', '-B', '-e', statements], {
        stdio: 'pipe',
        encoding: 'utf8',
      });
    } catch {
      return undefined;
    }
  }

  /** Kills the server (SIGKILL: a crash, not a shutdown) and waits for it to be gone. */
  async kill(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const gone = new Promise((r) => child.once('exit', r));
    child.kill('SIGKILL');
    await gone;
  }

  async stop(): Promise<void> {
    await this.kill();
  }
}
