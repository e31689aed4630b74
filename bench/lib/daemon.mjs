import net from 'node:net';
/**
 * The daemon under test, started as a user would: `node dist/cli.js --config <yaml>`, optionally pinned
 * to one CPU and profiled. Talks to it only over its public surfaces: the receiver port, /metrics and
 * signals.
 */
import { spawn } from 'node:child_process';
import { openSync, closeSync, readFileSync } from 'node:fs';
import http from 'node:http';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * The node flags in the shebang of `dist/cli.js` (e.g. `#!/usr/bin/env -S node --max-semi-space-size=64`):
 * the installed `spanline` command runs with them, so the benchmark does too.
 */
export function shebangNodeFlags(cliPath) {
  const first = readFileSync(cliPath, 'utf8').split('\n', 1)[0];
  if (!first.startsWith('#!')) return [];
  const words = first.slice(2).trim().split(/\s+/);
  const node = words.findIndex((w) => w === 'node' || w.endsWith('/node'));
  return node < 0 ? [] : words.slice(node + 1).filter((w) => w.startsWith('-'));
}

export class Daemon {
  /**
   * @param {{root: string, configPath: string, logPath: string, cpu?: string, profileDir?: string}} o
   *   cpu: the CPU list for `taskset -c`, or undefined not to pin.
   *   nodeArgs: extra flags for node, after the shebang's (V8 experiments; a later V8 flag wins);
   *   probe: a module to preload (`--import`);
   *   sets: `--set path=value` overrides for the CLI; env: extra environment.
   */
  constructor(o) {
    this.o = o;
    const cli = join(o.root, 'dist/cli.js');
    const nodeArgs = [...shebangNodeFlags(cli), ...(o.nodeArgs ?? [])];
    if (o.profileDir) nodeArgs.push('--cpu-prof', '--cpu-prof-dir', o.profileDir);
    if (o.probe) nodeArgs.push('--import', o.probe);
    nodeArgs.push(cli, '--config', o.configPath);
    for (const set of o.sets ?? []) nodeArgs.push('--set', set);
    const [cmd, args] = o.cpu !== undefined ? ['taskset', ['-c', o.cpu, process.execPath, ...nodeArgs]] : [process.execPath, nodeArgs];
    this.command = [cmd, ...args].join(' ');
    const log = openSync(o.logPath, 'a');
    // taskset execs node, so the child's pid is the daemon's own: /proc/<pid> describes the daemon.
    this.child = spawn(cmd, args, { cwd: o.root, stdio: ['ignore', log, log], env: { ...process.env, ...o.env } });
    closeSync(log);
    this.pid = this.child.pid;
    this.exit = new Promise((resolve) => this.child.on('exit', (code, signal) => resolve({ code, signal })));
    this.exited = undefined;
    this.exit.then((e) => (this.exited = e));
  }

  logTail(lines = 30) {
    try {
      return readFileSync(this.o.logPath, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
    } catch {
      return '';
    }
  }

  /** Resolves once the receiver answers HTTP and /metrics responds; throws if the daemon exits first. */
  async ready(receiverPort, metricsPort, timeoutMs = 30_000) {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (this.exited) throw new Error(`daemon exited during start-up (${JSON.stringify(this.exited)}):\n${this.logTail()}`);
      // A TCP connect, not an HTTP/1.1 request: the OTLP/gRPC receiver speaks HTTP/2 only.
      const r = await tcpConnects(receiverPort);
      const m = r && (await httpGet(metricsPort, '/metrics').catch(() => undefined));
      if (m && m.status === 200) return;
      await sleep(100);
    }
    throw new Error(`daemon not ready after ${timeoutMs} ms:\n${this.logTail()}`);
  }

  async metrics(metricsPort) {
    const r = await httpGet(metricsPort, '/metrics');
    if (r.status !== 200) throw new Error(`GET /metrics: ${r.status}`);
    return parsePrometheus(r.body);
  }

  /**
   * Waits until the exporter queues are empty and everything accepted left the batch processor (sent,
   * failed or dropped), so that SIGTERM has nothing left to drain. Resolves with the last metrics.
   */
  async drained(metricsPort, timeoutMs = 120_000) {
    const t0 = Date.now();
    let m;
    for (;;) {
      m = await this.metrics(metricsPort);
      const queue = m.sum('spanline_exporter_queue_size');
      const accepted = m.sum('spanline_receiver_accepted_spans_total');
      const settled = m.sum('spanline_exporter_sent_spans_total') + m.sum('spanline_exporter_send_failed_spans_total') + m.sum('spanline_processor_dropped_spans_total');
      if (queue === 0 && settled >= accepted) return { ms: Date.now() - t0, metrics: m, timedOut: false };
      if (Date.now() - t0 > timeoutMs) return { ms: Date.now() - t0, metrics: m, timedOut: true };
      await sleep(250);
    }
  }

  /** SIGTERM, then the exit status; SIGKILL after `timeoutMs`. */
  async stop(timeoutMs = 60_000) {
    const t0 = Date.now();
    if (!this.exited) this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), timeoutMs);
    const e = await this.exit;
    clearTimeout(timer);
    return { ...e, ms: Date.now() - t0, killed: e.signal === 'SIGKILL' };
  }

  /** Sends `signal` if the daemon is still running. */
  signal(signal) {
    if (!this.exited) this.child.kill(signal);
  }

  kill() {
    if (!this.exited) this.child.kill('SIGKILL');
  }
}

export function httpGet(port, path) {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path, agent: false, timeout: 5000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode, body }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
  });
}

/** Prometheus text format → samples, with `sum(name)` over all label sets. */
export function parsePrometheus(text) {
  const samples = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)/.exec(line);
    if (m) samples.push({ name: m[1], labels: m[2] ?? '', value: Number(m[3]) });
  }
  return {
    samples,
    sum(name) {
      let s = 0;
      for (const x of samples) if (x.name === name) s += x.value;
      return s;
    },
    /** name{labels} → value, for the metrics whose name starts with `prefix`. */
    pick(prefix) {
      const out = {};
      for (const x of samples) if (x.name.startsWith(prefix) && !x.name.endsWith('_bucket')) out[x.name + x.labels] = x.value;
      return out;
    },
  };
}

/** Resolves true once something accepts a TCP connection on 127.0.0.1:`port`. */
function tcpConnects(port) {
  return new Promise((resolve) => {
    const sock = net.connect({ host: '127.0.0.1', port }, () => {
      sock.destroy();
      resolve(true);
    });
    sock.on('error', () => resolve(false));
  });
}
