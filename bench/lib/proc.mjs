/** Process and machine facts read from /proc, and small process helpers. */
import { readFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { createServer } from 'node:net';
import os from 'node:os';

let clockTicks;
/** USER_HZ, the unit of utime/stime in /proc/<pid>/stat. */
export function clockTicksPerSecond() {
  if (clockTicks === undefined) {
    try {
      clockTicks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      clockTicks = 100;
    }
  }
  return clockTicks;
}

/** Resident set size of `pid` in bytes (VmRSS), or undefined once it is gone. */
export function rssBytes(pid) {
  try {
    const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

/** CPU time (user + system, all threads) `pid` has used so far, in seconds, or undefined once it is gone. */
export function cpuSeconds(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may contain spaces) start after the last ')'.
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // f[0] is field 3 (state); utime is field 14, stime field 15.
    return (Number(f[11]) + Number(f[12])) / clockTicksPerSecond();
  } catch {
    return undefined;
  }
}

/**
 * Per-CPU counters from /proc/stat, in seconds: `busy` (everything but idle and iowait) and `steal`
 * (time the hypervisor ran someone else). Differences of two readings tell whether anything besides the
 * benchmark used the daemon's CPU.
 */
export function cpuTimes() {
  const out = {};
  try {
    for (const line of readFileSync('/proc/stat', 'utf8').split('\n')) {
      const m = /^cpu(\d+)\s+(.*)$/.exec(line);
      if (!m) continue;
      const [user, nice, system, idle, iowait, irq, softirq, steal] = m[2].split(/\s+/).map(Number);
      const hz = clockTicksPerSecond();
      out[m[1]] = { busy: (user + nice + system + irq + softirq) / hz, steal: steal / hz, idle: (idle + iowait) / hz };
    }
  } catch {
    /* not Linux */
  }
  return out;
}

/** Utilization of each CPU between two cpuTimes() readings, as fractions of `wallS`. */
export function cpuUtilization(a, b, wallS) {
  const out = {};
  for (const cpu of Object.keys(b)) {
    if (!a[cpu]) continue;
    out[cpu] = { busy: (b[cpu].busy - a[cpu].busy) / wallS, steal: (b[cpu].steal - a[cpu].steal) / wallS };
  }
  return out;
}

/**
 * Samples a process's RSS every `intervalMs` until stopped; keeps the peak and a coarse series.
 */
export class RssSampler {
  constructor(pid, intervalMs = 250) {
    this.pid = pid;
    this.peak = 0;
    this.series = []; // [ms since start, bytes]
    this.t0 = performance.now();
    const sample = () => {
      const v = rssBytes(pid);
      if (v === undefined) return;
      if (v > this.peak) this.peak = v;
      this.series.push([Math.round(performance.now() - this.t0), v]);
    };
    sample();
    this.timer = setInterval(sample, intervalMs);
    this.sample = sample;
  }

  stop() {
    this.sample();
    clearInterval(this.timer);
  }
}

/** A TCP port free on 127.0.0.1 right now. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/** True if `taskset` can run here and there are at least two CPUs to split between daemon and load. */
export function canPin() {
  if (os.availableParallelism() < 2) return false;
  try {
    execFileSync('taskset', ['-c', '0', 'true'], { stdio: 'ignore' });
    execFileSync('taskset', ['-c', '1', 'true'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

export function machine() {
  let cpuModel = os.cpus()[0]?.model ?? 'unknown';
  try {
    const m = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'));
    if (m) cpuModel = m[1].trim();
  } catch {
    /* not Linux */
  }
  return {
    nproc: os.availableParallelism(),
    cpuModel,
    cpuMHz: os.cpus()[0]?.speed,
    memTotalGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    v8: process.versions.v8,
    kernel: os.release(),
    platform: `${process.platform}-${process.arch}`,
  };
}
