/**
 * The memory a process may use: the memory limit of its cgroup (what a container runtime's OOM killer
 * enforces), else the host's total memory. Percent limits are taken of this.
 *
 * cgroup v2 keeps the limit in `memory.max` ("max": none), v1 in `memory.limit_in_bytes` (a huge number:
 * none). The process's own cgroup comes from /proc/self/cgroup; inside a container with its own cgroup
 * namespace that path is `/` and the files sit at the mount's root. A limit set on an ancestor cgroup binds
 * too, so every level visible under the mount is read and the smallest limit wins.
 */
import { readFileSync } from 'node:fs';
import { totalmem } from 'node:os';
import { join } from 'node:path';

export interface MemoryTotal {
  bytes: number;
  /** Where `bytes` came from, for the start-up log: a cgroup file, or `total memory`. */
  source: string;
}

function read(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    return undefined;
  }
}

/** `/a/b` → [`/a/b`, `/a`, `/`]: the cgroup and its ancestors, as paths below the mount. */
function levels(cgroupPath: string): string[] {
  const parts = cgroupPath.split('/').filter(Boolean);
  const out: string[] = [];
  for (let i = parts.length; i >= 0; i--) out.push('/' + parts.slice(0, i).join('/'));
  return out;
}

/** The smallest limit found in `file` at any level of `cgroupPath` under `mount`; `undefined` if none. */
function smallestLimit(mount: string, cgroupPath: string, file: string): { bytes: number; path: string } | undefined {
  let best: { bytes: number; path: string } | undefined;
  // The own path may not exist under the mount (no cgroup namespace, v1 bind mounts); the mount root then
  // is the container's cgroup, which `levels` ends with.
  for (const level of levels(cgroupPath)) {
    const path = join(mount, level, file);
    const text = read(path);
    if (text === undefined || !/^\d+$/.test(text)) continue; // "max", or no such file
    const bytes = Number(text);
    if (best === undefined || bytes < best.bytes) best = { bytes, path };
  }
  return best;
}

/**
 * The memory available to this process. `root` and `hostTotal` are for tests (a directory laid out like
 * `/`, and the host's memory).
 */
export function availableMemory(root = '/', hostTotal = totalmem()): MemoryTotal {
  const selfCgroup = read(join(root, 'proc/self/cgroup')) ?? '';
  let v2Path: string | undefined;
  let v1Path: string | undefined;
  for (const line of selfCgroup.split('\n')) {
    const [id, controllers, path] = line.split(':', 3);
    if (path === undefined) continue;
    if (id === '0' && controllers === '') v2Path = path;
    else if (controllers.split(',').includes('memory')) v1Path = path;
  }
  const found =
    smallestLimit(join(root, 'sys/fs/cgroup'), v2Path ?? '/', 'memory.max') ??
    smallestLimit(join(root, 'sys/fs/cgroup/memory'), v1Path ?? '/', 'memory.limit_in_bytes');
  // v1 writes "no limit" as a page-rounded 2^63; any limit above the host's memory is no limit either.
  if (found === undefined || found.bytes >= hostTotal) return { bytes: hostTotal, source: 'total memory' };
  return { bytes: found.bytes, source: found.path.slice(join(root, '/').length - 1) };
}
