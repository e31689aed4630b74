import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A fresh directory under the OS temp dir. */
export function tempDir(prefix = 'spanline-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** Writes `text` to `name` in a fresh temp directory and returns the path. */
export function writeTemp(name: string, text: string, dir = tempDir()): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}
