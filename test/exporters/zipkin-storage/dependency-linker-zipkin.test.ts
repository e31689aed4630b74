/**
 * Our dependency linker against Zipkin's own: a real Zipkin server with in-memory storage links stored
 * traces on the fly (`InMemoryStorage.getDependencies` runs `DependencyLinker` over every trace with a
 * span in the time range). Each case gets its own millisecond and trace ids; its links from
 * `GET /api/v2/dependencies?endTs=<that ms>&lookback=1` must equal ours, in the same order, for the
 * DependencyLinkerTest cases, the clean-up cases and a few hundred random span trees (shared ids, missing
 * parents, fragments, duplicates, no kinds, servers told apart by address).
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { linkTraces, type DependencyLink, type ZipkinKind, type ZipkinSpanJson } from '../../../src/exporters/zipkin-storage/dependency-linker.js';
import { startZipkinServer, type ZipkinServer } from '../../helpers/zipkin-server.js';
import { cases, cleanupCases } from './dependency-linker-cases.js';

let zipkin: ZipkinServer;
beforeAll(async () => {
  zipkin = await startZipkinServer({ env: { STORAGE_TYPE: 'mem' } });
}, 300_000);
afterAll(async () => {
  await zipkin?.stop();
});

interface Slot {
  name: string;
  /** The case's millisecond: every span's timestamp is in it. */
  ms: number;
  spans: ZipkinSpanJson[];
}

let nextMs = Date.now() - 3_600_000;

/**
 * The case's traces with fresh trace ids and timestamps in a millisecond of their own (a case's own
 * timestamps, under 1000 µs, are kept as offsets in it).
 */
function slot(name: string, traces: ZipkinSpanJson[][], micros: (i: number) => number = () => 0): Slot {
  // Zipkin's range is [endTs - lookback, endTs], both ends included: a millisecond between cases.
  const ms = (nextMs += 2);
  const spans: ZipkinSpanJson[] = [];
  for (const trace of traces) {
    const traceId = randomBytes(8).toString('hex');
    trace.forEach((s, i) => spans.push({ ...s, traceId, timestamp: ms * 1000 + (s.timestamp ?? micros(i)) }));
  }
  return { name, ms, spans };
}

async function post(spans: ZipkinSpanJson[]): Promise<void> {
  const res = await fetch(`${zipkin.url}/api/v2/spans`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(spans) });
  expect(res.status, await res.text()).toBe(202);
}

async function zipkinLinks(ms: number): Promise<DependencyLink[]> {
  const res = await fetch(`${zipkin.url}/api/v2/dependencies?endTs=${ms}&lookback=1`);
  expect(res.status).toBe(200);
  const links = (await res.json()) as { parent: string; child: string; callCount: number; errorCount?: number }[];
  return links.map((l) => ({ parent: l.parent, child: l.child, callCount: l.callCount, errorCount: l.errorCount ?? 0 }));
}

/** Posts every slot, waits until Zipkin has stored them all, then compares slot by slot. */
async function compare(slots: Slot[]): Promise<void> {
  await post(slots.flatMap((s) => s.spans));
  const total = slots.reduce((n, s) => n + s.spans.length, 0);
  // Storage happens after the 202: wait for the last trace to be readable.
  const last = slots[slots.length - 1].spans[0].traceId;
  for (let i = 0; i < 100; i++) {
    const res = await fetch(`${zipkin.url}/api/v2/trace/${last}`);
    if (res.status === 200) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  const mismatches: string[] = [];
  for (const s of slots) {
    // In order too: both count links in the order the trees are walked (the in-memory store gives a
    // trace's spans back in the order they were posted).
    const theirs = await zipkinLinks(s.ms);
    const ours = linkTraces(s.spans);
    if (JSON.stringify(ours) !== JSON.stringify(theirs)) {
      mismatches.push(`${s.name}: zipkin ${JSON.stringify(theirs)}, ours ${JSON.stringify(ours)}, spans ${JSON.stringify(s.spans)}`);
    }
  }
  expect(mismatches, `${mismatches.length} of ${slots.length} cases (${total} spans) differ`).toEqual([]);
}

describe('dependency links: ours equal a real Zipkin server’s', () => {
  it('DependencyLinkerTest cases', async () => {
    const slots = cases.filter((c) => c.traces.length > 0).map((c) => slot(c.name, c.traces));
    // The cases are not vacuous: most have links.
    expect(slots.filter((s) => linkTraces(s.spans).length > 0).length).toBeGreaterThan(30);
    await compare(slots);
  });

  it('trees Zipkin has to clean up first', async () => {
    await compare(cleanupCases.map((c) => slot(c.name, c.traces)));
  });

  it('random span trees', async () => {
    const random = seeded(0x5eed);
    const slots: Slot[] = [];
    for (let n = 0; n < 300; n++) slots.push(slot(`random #${n}`, [randomTrace(random)], () => Math.floor(random() * 1000)));
    expect(slots.filter((s) => linkTraces(s.spans).length > 0).length).toBeGreaterThan(100);
    await compare(slots);
  });
});

const SERVICES = ['a', 'b', 'c', 'd'];
const ADDRESSES = ['10.0.0.1', '10.0.0.2'];
const KINDS: (ZipkinKind | undefined)[] = [undefined, 'CLIENT', 'SERVER', 'PRODUCER', 'CONSUMER', 'CLIENT', 'SERVER'];

/** A trace of 1–8 spans with the mistakes instrumentation makes: missing parents, shared ids, no kind. */
function randomTrace(random: () => number): ZipkinSpanJson[] {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)];
  const maybe = (p: number) => random() < p;
  const spans: ZipkinSpanJson[] = [];
  const ids: string[] = [];
  const count = 1 + Math.floor(random() * 8);
  for (let i = 0; i < count; i++) {
    const s: ZipkinSpanJson = { traceId: 'a', id: (i + 1).toString(16) };
    if (ids.length > 0 && maybe(0.25)) {
      // Another side of an earlier span: a shared server, a fragment or a duplicate.
      const earlier = spans[Math.floor(random() * spans.length)];
      s.id = earlier.id;
      if (earlier.parentId != null && maybe(0.7)) s.parentId = earlier.parentId;
      if (maybe(0.6)) s.shared = true;
    } else if (ids.length > 0 && maybe(0.85)) {
      s.parentId = pick(ids);
    } else if (maybe(0.3)) {
      s.parentId = 'f' + i; // a parent that was never reported
    }
    const kind = pick(KINDS);
    if (kind !== undefined) s.kind = kind;
    if (maybe(0.85)) s.localEndpoint = { serviceName: pick(SERVICES) };
    // Addresses tell apart servers sharing an id, and fragments that cannot be one span.
    if (maybe(0.3)) s.localEndpoint = { ...s.localEndpoint, ipv4: pick(ADDRESSES) };
    if (maybe(0.5)) s.remoteEndpoint = { serviceName: pick(SERVICES) };
    if (maybe(0.25)) s.tags = { error: '' };
    ids.push(s.id);
    spans.push(s);
  }
  return spans;
}

/** mulberry32: the same trees on every run. */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
