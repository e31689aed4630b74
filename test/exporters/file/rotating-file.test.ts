import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { RotatingFile } from '../../../src/exporters/file/rotating-file.js';
import { tempDir } from '../../helpers/tmp.js';

const line = (i: number, width: number) => Buffer.from(`${String(i).padStart(width - 1, '0')}\n`);

describe('RotatingFile', () => {
  it('rotates between concurrent writes, never inside one, keeping their order', async () => {
    const dir = tempDir();
    const path = join(dir, 'out.log');
    // 30-byte writes, 100-byte files: three writes per file.
    const file = new RotatingFile(path, 100, 10);
    await file.open();
    await Promise.all(Array.from({ length: 10 }, (_, i) => file.write([line(i, 10), line(i, 10), line(i, 10)])));
    await file.close();
    const files = readdirSync(dir).sort((a, b) => suffix(b) - suffix(a)); // oldest (highest suffix) first
    const contents = files.map((f) => readFileSync(join(dir, f), 'utf8'));
    expect(contents.map((c) => c.length)).toEqual([90, 90, 90, 30]);
    const lines = contents.join('').trim().split('\n').map(Number);
    expect(lines).toEqual(Array.from({ length: 10 }, (_, i) => [i, i, i]).flat());
  });

  it('writes alone a write larger than a whole file', async () => {
    const dir = tempDir();
    const path = join(dir, 'out.log');
    const file = new RotatingFile(path, 100, 10);
    await file.open();
    await Promise.all([file.write(line(1, 50)), file.write(line(2, 250)), file.write(line(3, 50))]);
    await file.close();
    const sizes = readdirSync(dir)
      .sort((a, b) => suffix(b) - suffix(a))
      .map((f) => readFileSync(join(dir, f)).length);
    expect(sizes).toEqual([50, 250, 50]);
  });
});

function suffix(name: string): number {
  const m = /\.(\d+)$/.exec(name);
  return m ? Number(m[1]) : 0;
}
