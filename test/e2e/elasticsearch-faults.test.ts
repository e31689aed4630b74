/**
 * Delivery through faults, with real processes: an OpenSearch node of this test's own (so that it can be
 * killed and frozen without disturbing the shared one other test files use), the real daemon with a
 * persistent queue in front of the `elasticsearch` exporter, and a real Zipkin server reading the node at
 * the end.
 *
 * One stream of traces runs through four phases: the node down when the daemon starts (so the templates
 * are installed only once it comes up); the node killed with SIGKILL mid-stream and restarted on the same
 * data directory; the daemon killed with SIGKILL mid-stream and restarted; the node frozen (SIGSTOP, so
 * that exports hang and spans pile up in the queue) while the daemon is killed and restarted, then
 * resumed. After recovery every trace the daemon acknowledged (202) is in the node, and Zipkin's API
 * returns each of its spans exactly once. Without a durable queue the daemon phases lose spans: what was
 * acknowledged but still queued dies with the daemon.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { Daemon, freePort } from '../helpers/daemon.js';
import { PrivateOpenSearch } from '../helpers/private-opensearch.js';
import { tempDir, writeTemp } from '../helpers/tmp.js';
import { durablePipelineYaml, missingTraces, spanIds, TraceStream } from '../helpers/trace-stream.js';
import { startZipkinServer, type ZipkinServer } from '../helpers/zipkin-server.js';

const SPANS_PER_TRACE = 5;
/** Pause of each of the 4 senders between posts: at most ~40 traces a second, a few thousand in all. */
const SEND_PAUSE_MS = 100;
/** Ids per traceMany request: Zipkin 3.6 answers 500 once an answer passes 64 KiB (a Netty buffer limit). */
const TRACE_MANY_CHUNK = 25;

function config(port: number, node: PrivateOpenSearch, index: string, storage: string): string {
  const settings = `
endpoints: [${node.url}]
index: ${index}
index_shards: 1
index_replicas: 0
dependencies:
  enabled: false
timeout: 5s`;
  return durablePipelineYaml({ port, exporter: 'elasticsearch', settings, storage, retry: { initial: '100ms', max: '500ms' } });
}

async function search(node: PrivateOpenSearch, method: string, path: string, body?: unknown): Promise<any> {
  const res = await fetch(node.url + path, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(10_000),
  });
  const text = await res.text();
  if (res.status !== 200) throw new Error(`${method} ${path} answered ${res.status}: ${text.slice(0, 500)}`);
  return JSON.parse(text);
}

/** Span documents per trace id, read from the node after a refresh. */
async function storedTraces(node: PrivateOpenSearch, index: string): Promise<Map<string, number>> {
  await search(node, 'POST', `/${index}-span-*/_refresh`);
  const answer = await search(node, 'POST', `/${index}-span-*/_search`, {
    size: 0,
    aggs: { traces: { terms: { field: 'traceId', size: 50_000 } } },
  });
  const buckets = (answer.aggregations?.traces?.buckets ?? []) as { key: string; doc_count: number }[];
  return new Map(buckets.map((b) => [b.key, b.doc_count]));
}

/** The acknowledged trace ids not (fully) stored once the deadline passes; [] as soon as all are. */
function missingAfter(node: PrivateOpenSearch, index: string, ids: string[]): Promise<string[]> {
  return missingTraces(ids, SPANS_PER_TRACE, () => storedTraces(node, index));
}

let node: PrivateOpenSearch | undefined;
let zipkin: ZipkinServer | undefined;
const daemons: Daemon[] = [];
afterAll(async () => {
  await Promise.all(daemons.map((d) => d.stop('SIGKILL')));
  await zipkin?.stop();
  await node?.stop();
}, 30_000);

describe('elasticsearch exporter through faults', () => {
  it('stores every acknowledged span once: node down at start, node killed, daemon killed, daemon killed while the node hangs', async () => {
    node = await PrivateOpenSearch.create();
    const index = `spanline-faults-${randomBytes(4).toString('hex')}`;
    const storage = tempDir();
    let port = await freePort();
    const start = async (timeoutMs?: number) => {
      const d = await Daemon.start(['--config', writeTemp('spanline.yaml', config(port, node!, index, storage))], { timeoutMs });
      daemons.push(d);
      return d;
    };
    const restartDaemon = async (d: Daemon, timeoutMs?: number) => {
      d.child.kill('SIGKILL');
      await d.exited;
      port = await freePort();
      return start(timeoutMs);
    };

    // 1. The node is down when the daemon starts: spans are acknowledged (they are on disk) and wait;
    //    the templates are installed once it is up, before the first write.
    let daemon = await start();
    const stream = new TraceStream({
      port: () => port,
      trace: { spans: SPANS_PER_TRACE, service: 'faults-frontend', remoteService: 'faults-backend' },
      senders: 4,
      pauseMs: SEND_PAUSE_MS,
    });
    await stream.until(20);
    await node.start();
    const phase1 = [...stream.acknowledged];
    expect(await missingAfter(node, index, phase1), 'stored after the node came up').toEqual([]);
    const templates = await search(node, 'GET', `/_template/${index}-*`);
    expect(Object.keys(templates).sort(), 'Zipkin templates installed after a late start').toEqual([`${index}-autocomplete_template`, `${index}-dependency_template`, `${index}-span_template`]);
    const mapping = await search(node, 'GET', `/${index}-span-*/_mapping`);
    for (const m of Object.values(mapping) as { mappings: { properties: Record<string, { type: string }> } }[]) {
      // Documents written before the template would have made `name` a text field, which Zipkin cannot query.
      expect(m.mappings.properties.name.type).toBe('keyword');
    }

    // 2. The node dies mid-stream (SIGKILL) and is restarted on the same data directory.
    await stream.until(phase1.length + 20);
    await node.kill();
    const whileDown = stream.acknowledged.length;
    await stream.until(whileDown + 20); // still acknowledged: the queue is on disk
    await node.start();
    const phase2 = [...stream.acknowledged];
    expect(await missingAfter(node, index, phase2), 'stored after the node restarted').toEqual([]);

    // 3. The daemon dies mid-stream (SIGKILL) and is restarted on the same queue directory.
    await stream.until(phase2.length + 20);
    daemon = await restartDaemon(daemon);
    await stream.until(stream.acknowledged.length + 20);
    const phase3 = [...stream.acknowledged];
    expect(await missingAfter(node, index, phase3), 'stored after the daemon restarted').toEqual([]);

    // 4. The node hangs (exports time out, acknowledged spans queue up) and the daemon dies meanwhile.
    //    Killed well within the export timeout, most of what was acknowledged since has not been sent.
    //    The daemon comes back while the node still hangs: it must start at once (the exporter does not
    //    wait for the cluster at start-up; when it did, receivers stayed closed for 10 s).
    node.freeze(true);
    const frozenAt = stream.acknowledged.length;
    await stream.until(frozenAt + 40);
    daemon = await restartDaemon(daemon, 5_000);
    await stream.until(stream.acknowledged.length + 20); // acknowledged while the node hangs: on disk
    node.freeze(false);
    await stream.until(stream.acknowledged.length + 20);
    await stream.stop();
    const all = [...stream.acknowledged];
    expect(await missingAfter(node, index, all), 'stored after the daemon was killed while the node hung').toEqual([]);
    expect(await daemon.stop('SIGTERM')).toBe(0);

    // Zipkin's answers: each acknowledged span exactly once.
    zipkin = await startZipkinServer({ env: { STORAGE_TYPE: 'elasticsearch', ES_HOSTS: node.url, ES_INDEX: index } });
    const returned = new Map<string, string[]>();
    for (let i = 0; i < all.length; i += TRACE_MANY_CHUNK) {
      const ids = all.slice(i, i + TRACE_MANY_CHUNK);
      // traceMany refuses a single id (400): that one is asked for alone.
      const url = ids.length === 1 ? `${zipkin.url}/api/v2/trace/${ids[0]}` : `${zipkin.url}/api/v2/traceMany?traceIds=${ids.join(',')}`;
      const res = await fetch(url);
      const text = await res.text();
      expect(res.status, `${url}: ${text.slice(0, 500)}`).toBe(200);
      const traces = ids.length === 1 ? [JSON.parse(text) as { traceId: string; id: string }[]] : (JSON.parse(text) as { traceId: string; id: string }[][]);
      for (const spans of traces) {
        for (const s of spans) returned.set(s.traceId, [...(returned.get(s.traceId) ?? []), s.id]);
      }
    }
    const wrong = all.filter((id) => JSON.stringify(returned.get(id)?.sort()) !== JSON.stringify(spanIds(SPANS_PER_TRACE)));
    expect(wrong.map((id) => `${id}: ${JSON.stringify(returned.get(id))}`), 'traces Zipkin does not return with each span once').toEqual([]);
    console.log(`elasticsearch faults: ${all.length} traces acknowledged; node start-ups ${node.startupsMs.join(', ')} ms; Zipkin start-up ${zipkin.startupMs} ms`);
  }, 240_000);
});
