import { describe, expect, it } from 'vitest';
import { Fifo } from '../../../src/processors/common/fifo.js';

describe('Fifo', () => {
  it('gives items back in order across compactions', () => {
    const q = new Fifo<number>();
    const out: number[] = [];
    let next = 0;
    // Interleaved pushes and shifts keep the head past 1024 with a live tail, which forces compaction.
    for (let round = 0; round < 50; round++) {
      for (let i = 0; i < 300; i++) q.push(next++);
      for (let i = 0; i < 250; i++) out.push(q.shift()!);
    }
    expect(q.size).toBe(next - out.length);
    expect(q.peek()).toBe(out.length);
    out.push(...q.takeAll());
    expect(out).toEqual(Array.from({ length: next }, (_, i) => i));
    expect([q.size, q.shift(), q.peek()]).toEqual([0, undefined, undefined]);
  });

  it('does not keep a shifted item reachable', () => {
    const q = new Fifo<object>();
    const first = {};
    q.push(first);
    q.push({});
    q.shift();
    // The backing array is private; reaching it here checks the contract that matters for memory.
    expect((q as unknown as { items: unknown[] }).items).not.toContain(first);
  });
});
