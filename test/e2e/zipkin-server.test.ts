/**
 * End-to-end against the real Zipkin server (io.zipkin:zipkin-server exec jar, in-memory storage, started
 * by `bash scripts/test-services.sh up`): spans posted to our zipkin receiver go out through our zipkin
 * exporter to the Zipkin server, and are read back through its `GET /api/v2/trace/{id}`.
 *
 * What Zipkin answers is compared field by field with golden files of what Zipkin makes of the fixtures
 * (its normalisation: lower-cased names, canonical IPs, padded ids, 128-bit ids with a zero high half
 * written as 64-bit, sorted and de-duplicated annotations). Zipkin stores spans as they come: the
 * client and server halves of a shared span come back as two spans (merging is the UI's business).
 *
 * The server is shared by every run, so every run uses fresh trace ids.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Daemon, freePort } from '../helpers/daemon.js';
import { service } from '../helpers/services.js';
import { tempDir, writeTemp } from '../helpers/tmp.js';

type ZipkinSpan = Record<string, unknown> & { traceId: string; id: string; kind?: string; shared?: boolean };

const fixture = (name: string) => readFileSync(join('test/fixtures/zipkin', name), 'utf8');
const CLIENT_SERVER = { sent: fixture('client-server.json'), stored: fixture('client-server.normalized.json') };
const RICH = { sent: fixture('rich-trace.json'), stored: fixture('rich-trace.normalized.json') };

let zipkinUrl: string;
beforeAll(() => {
  zipkinUrl = service('zipkin').ZIPKIN_SERVER_URL;
});

let daemons: Daemon[] = [];
afterEach(async () => {
  await Promise.all(daemons.map((d) => d.stop('SIGKILL')));
  daemons = [];
});

/**
 * Replaces every 16-hex half of the trace ids in `texts` by a random one, the same in every text; an
 * all-zero high half stays zero, so that Zipkin's 128 → 64-bit rule is still exercised.
 */
function withFreshTraceIds(...texts: string[]): string[] {
  const halves = new Map<string, string>();
  const fresh = (half: string) => {
    if (/^0+$/.test(half)) return half;
    let h = halves.get(half);
    if (h === undefined) halves.set(half, (h = randomBytes(8).toString('hex')));
    return h;
  };
  return texts.map((t) =>
    t.replace(/"traceId": ?"([0-9a-f]{16}|[0-9a-f]{32})"/g, (_m, id: string) =>
      `"traceId": "${id.length === 32 ? fresh(id.slice(0, 16)) + fresh(id.slice(16)) : fresh(id)}"`,
    ),
  );
}

const byIdentity = (a: ZipkinSpan, b: ZipkinSpan) => {
  const ka = `${a.traceId}/${a.id}/${a.kind ?? ''}/${a.shared ?? ''}`;
  const kb = `${b.traceId}/${b.id}/${b.kind ?? ''}/${b.shared ?? ''}`;
  return ka < kb ? -1 : ka > kb ? 1 : 0;
};

/** Every trace of `spans`, read from Zipkin once it holds as many spans of it as `spans` has. */
async function readBack(spans: ZipkinSpan[], timeoutMs = 15_000): Promise<ZipkinSpan[]> {
  const want = new Map<string, number>();
  for (const s of spans) want.set(s.traceId, (want.get(s.traceId) ?? 0) + 1);
  const out: ZipkinSpan[] = [];
  const deadline = Date.now() + timeoutMs;
  for (const [traceId, count] of want) {
    for (;;) {
      const res = await fetch(`${zipkinUrl}/api/v2/trace/${traceId}`);
      const body = res.status === 200 ? ((await res.json()) as ZipkinSpan[]) : (await res.body?.cancel(), []);
      if (body.length >= count) {
        out.push(...body);
        break;
      }
      if (Date.now() > deadline) throw new Error(`Zipkin has ${body.length} of ${count} spans of trace ${traceId} (last status ${res.status})`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  return out.sort(byIdentity);
}

async function startDaemon(exporter: string) {
  const dir = tempDir();
  const [zipkin, metrics] = [await freePort(), await freePort()];
  const cfg = writeTemp(
    'spanline.yaml',
    `
receivers:
  zipkin: { endpoint: "127.0.0.1:${zipkin}" }
exporters:
  zipkin:
${exporter}
    retry_on_failure: { initial_interval: 100ms, max_elapsed_time: 10s }
  file: { path: ${join(dir, 'spans.jsonl')} }
service:
  pipelines:
    traces: { receivers: [zipkin], exporters: [zipkin, file] }
  telemetry: { metrics: { address: "127.0.0.1:${metrics}" } }
`,
    dir,
  );
  const d = await Daemon.start(['--config', cfg], { cwd: dir });
  daemons.push(d);
  const post = (body: string) =>
    fetch(`http://127.0.0.1:${zipkin}/api/v2/spans`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
  const metricsText = async () => (await fetch(`http://127.0.0.1:${metrics}/metrics`)).text();
  const fileLines = () =>
    readFileSync(join(dir, 'spans.jsonl'), 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as ZipkinSpan);
  return { d, post, metricsText, fileLines };
}

describe('zipkin exporter → real Zipkin server', () => {
  it.each([
    ['json', 'gzip'],
    ['json', 'none'],
    ['proto', 'gzip'],
    ['proto', 'none'],
  ])('spans sent with format %s, compression %s read back from Zipkin as Zipkin normalises them', async (format, compression) => {
    const [sentA, storedA, sentB, storedB] = withFreshTraceIds(CLIENT_SERVER.sent, CLIENT_SERVER.stored, RICH.sent, RICH.stored);
    const expected = [...(JSON.parse(storedA) as ZipkinSpan[]), ...(JSON.parse(storedB) as ZipkinSpan[])].sort(byIdentity);
    const { d, post, metricsText, fileLines } = await startDaemon(`    endpoint: ${zipkinUrl}/api/v2/spans
    format: ${format}
    compression: ${compression}`);

    expect((await post(sentA)).status).toBe(202);
    expect((await post(sentB)).status).toBe(202);
    const stored = await readBack(expected);

    expect(stored).toHaveLength(11);
    for (let i = 0; i < expected.length; i++) expect(stored[i]).toEqual(expected[i]);
    // Zipkin keeps both halves of a shared span: same id, one with `shared`.
    const halves = stored.filter((s) => s.id === '5b4185666d50f68b');
    expect(halves.map((s) => [s.kind, s.shared])).toEqual([
      ['CLIENT', undefined],
      ['SERVER', true],
    ]);
    // 128-bit ids keep their 32 hex digits; one with a zero high half is stored as 64-bit.
    expect(stored.find((s) => s.name === 'zero high bits')!.traceId).toMatch(/^[0-9a-f]{16}$/);
    expect(stored.find((s) => s.name === 'get /checkout')!.traceId).toMatch(/^[0-9a-f]{32}$/);

    // What our own encoder wrote to the file is exactly what Zipkin answers.
    await expect.poll(() => fileLines().length).toBe(11);
    expect(fileLines().sort(byIdentity)).toEqual(stored);

    await expect.poll(metricsText).toContain('spanline_exporter_sent_spans_total{exporter="zipkin"} 11');
    expect(await d.stop()).toBe(0);
  });

  it('names spans without a service default_service_name, which Zipkin lower-cases', async () => {
    const traceId = randomBytes(16).toString('hex');
    const { d, post } = await startDaemon(`    endpoint: ${zipkinUrl}/api/v2/spans
    default_service_name: Unnamed-Service`);
    const body = JSON.stringify([
      { traceId, id: '0000000000000001', name: 'anonymous', timestamp: 1732192000000000, duration: 10, localEndpoint: { ipv4: '10.1.2.3' } },
      { traceId, id: '0000000000000002', parentId: '0000000000000001', name: 'named', localEndpoint: { serviceName: 'svc' } },
    ]);
    expect((await post(body)).status).toBe(202);
    const stored = await readBack([{ traceId, id: '' }, { traceId, id: '' }]);
    expect(stored).toEqual([
      { traceId, id: '0000000000000001', name: 'anonymous', timestamp: 1732192000000000, duration: 10, localEndpoint: { serviceName: 'unnamed-service', ipv4: '10.1.2.3' } },
      { traceId, parentId: '0000000000000001', id: '0000000000000002', name: 'named', localEndpoint: { serviceName: 'svc' } },
    ]);
    expect(await d.stop()).toBe(0);
  });

  it('gives up at once on a 4xx from Zipkin (a wrong path), and counts the spans as failed', async () => {
    const { d, post, metricsText } = await startDaemon(`    endpoint: ${zipkinUrl}/api/v2/no-such-path`);
    const [sent] = withFreshTraceIds(CLIENT_SERVER.sent);
    expect((await post(sent)).status).toBe(202);
    await expect.poll(metricsText, { timeout: 10_000 }).toContain('spanline_exporter_send_failed_spans_total{exporter="zipkin",reason="permanent"} 3');
    const text = await metricsText();
    expect(text).not.toContain('spanline_exporter_retries_total{exporter="zipkin"} 1');
    expect(text).toContain('spanline_exporter_sent_spans_total{exporter="file"} 3');
    const warning = d.logs().find((l) => l.msg === 'export failed');
    expect(String((warning?.err as { message?: string } | undefined)?.message)).toMatch(/no-such-path answered 404/);
    expect(await d.stop()).toBe(0);
  });
});
