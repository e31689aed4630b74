/**
 * End-to-end with Zipkin's own Java reporter (io.zipkin.reporter2 AsyncReporter + URLConnectionSender,
 * gzip on; test/java/Send.java) as the client: it sends the fixtures to our zipkin receiver as JSON v2,
 * proto3 and v1 Thrift, and what our file exporter writes (Zipkin v2 JSON lines) is compared field by
 * field with
 *  - Zipkin's own reading of the very message the reporter sent (Send.java decodes it with
 *    zipkin2.codec.SpanBytesDecoder: what a Zipkin server would store), and
 *  - the golden files of what Zipkin makes of the fixtures (test/fixtures/zipkin/*.normalized.json),
 *    with, for v1 Thrift, the two things the v1 model cannot carry (see THRIFT_LOSSES).
 */
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Daemon, freePort } from '../helpers/daemon.js';
import { buildJavaReporter, sendWithJavaReporter, type JavaEncoding } from '../helpers/java-reporter.js';
import { tempDir, writeTemp } from '../helpers/tmp.js';

type ZipkinSpan = Record<string, unknown> & { traceId: string; id: string; name?: string; kind?: string; shared?: boolean };

const FIXTURES = ['client-server', 'rich-trace'].map((name) => ({
  file: resolve('test/fixtures/zipkin', `${name}.json`),
  stored: JSON.parse(readFileSync(resolve('test/fixtures/zipkin', `${name}.normalized.json`), 'utf8')) as ZipkinSpan[],
}));

/**
 * What a v2 span loses on its way through v1 Thrift (zipkin2.v1.V2SpanConverter, then V1SpanConverter):
 * a span without timestamp loses its duration (v1 keeps a duration only with a timestamp), and the
 * `lc` tag of a span without kind becomes the v1 "local component" binary annotation, which is not
 * turned back into a tag when it is empty.
 */
const THRIFT_LOSSES: Record<string, (s: ZipkinSpan) => ZipkinSpan> = {
  'duration only': ({ duration: _d, ...rest }) => rest as ZipkinSpan,
  'compute invoice': ({ tags: _t, ...rest }) => rest as ZipkinSpan,
};

const ROUTES: Record<JavaEncoding, string> = { JSON_V2: '/api/v2/spans', PROTO3: '/api/v2/spans', THRIFT: '/api/v1/spans' };

const byIdentity = (a: ZipkinSpan, b: ZipkinSpan) => {
  const ka = `${a.traceId}/${a.id}/${a.kind ?? ''}/${a.shared ?? ''}`;
  const kb = `${b.traceId}/${b.id}/${b.kind ?? ''}/${b.shared ?? ''}`;
  return ka < kb ? -1 : ka > kb ? 1 : 0;
};

beforeAll(() => buildJavaReporter(), 600_000);

let daemons: Daemon[] = [];
afterEach(async () => {
  await Promise.all(daemons.map((d) => d.stop('SIGKILL')));
  daemons = [];
});

describe("Zipkin's Java reporter → zipkin receiver → file exporter", () => {
  it.each(['JSON_V2', 'PROTO3', 'THRIFT'] as const)('%s: every field arrives as Zipkin reads it', async (encoding) => {
    const dir = tempDir();
    const [zipkin, metrics] = [await freePort(), await freePort()];
    const out = join(dir, 'spans.jsonl');
    const cfg = writeTemp(
      'spanline.yaml',
      `
receivers:
  zipkin: { endpoint: "127.0.0.1:${zipkin}" }
exporters:
  file: { path: ${out}, format: zipkin_json }
service:
  pipelines:
    traces: { receivers: [zipkin], exporters: [file] }
  telemetry: { metrics: { address: "127.0.0.1:${metrics}" } }
`,
      dir,
    );
    const d = await Daemon.start(['--config', cfg], { cwd: dir });
    daemons.push(d);

    const zipkinReads: ZipkinSpan[] = [];
    for (const f of FIXTURES) {
      const sent = await sendWithJavaReporter(`http://127.0.0.1:${zipkin}${ROUTES[encoding]}`, encoding, f.file);
      expect(sent.code, `the Java reporter failed to send ${f.file} as ${encoding}:\n${sent.stderr}`).toBe(0);
      zipkinReads.push(...(JSON.parse(sent.stdout) as ZipkinSpan[]));
    }
    expect(await d.stop()).toBe(0);
    const written = readFileSync(out, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as ZipkinSpan)
      .sort(byIdentity);

    const golden = FIXTURES.flatMap((f) => f.stored)
      .map((s) => (encoding === 'THRIFT' && THRIFT_LOSSES[s.name ?? ''] ? THRIFT_LOSSES[s.name!](s) : s))
      .sort(byIdentity);
    zipkinReads.sort(byIdentity);

    expect(written).toHaveLength(11);
    for (let i = 0; i < written.length; i++) {
      expect(written[i], `span ${i} as Zipkin's decoder reads the reporter's message`).toEqual(zipkinReads[i]);
      expect(written[i], `span ${i} against the golden file`).toEqual(golden[i]);
    }
  });
});
