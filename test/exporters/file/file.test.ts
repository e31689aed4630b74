import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { decodeOtlpJsonRequest } from '../../../src/codecs/otlp-json.js';
import { decodeZipkinV2Json, encodeZipkinV2Span } from '../../../src/codecs/zipkin-json.js';
import { fileExporter } from '../../../src/exporters/file/index.js';
import { createLogger } from '../../../src/telemetry/logger.js';
import { SelfMetrics } from '../../../src/telemetry/metrics.js';
import { spans } from '../../helpers/components.js';
import { tempDir } from '../../helpers/tmp.js';

function create(config: Record<string, unknown>) {
  const cfg = fileExporter.config.check(config, [], { issues: [] });
  if (!cfg) throw new Error('invalid test config');
  return fileExporter.create(cfg, { id: 'file', logger: createLogger('silent'), metrics: new SelfMetrics(), configDir: '.' });
}

const never = new AbortController().signal;

describe('file exporter', () => {
  it('writes one Zipkin v2 span per line, readable by the Zipkin decoder', async () => {
    const path = join(tempDir(), 'nested', 'dir', 'spans.jsonl');
    const exp = create({ path });
    await exp.start!();
    const batch = spans('a', 'b', 'c');
    expect(await exp.export(batch, never)).toEqual({ code: 'success' });
    await exp.shutdown!(never);
    const lines = readFileSync(path, 'utf8').split('\n');
    expect(lines.pop()).toBe('');
    expect(lines).toHaveLength(3);
    expect(lines.map((l) => decodeZipkinV2Json(`[${l}]`)[0].spanId)).toEqual(batch.map((s) => s.spanId));
  });

  it('writes batches of several chunks byte for byte, also when exports run concurrently', async () => {
    const path = join(tempDir(), 'chunks.jsonl');
    const exp = create({ path, rotation: { max_megabytes: 0 } });
    await exp.start!();
    // 1300 and 700 spans: several 512-span chunks each, encoded with yields in between, so the two
    // exports interleave their encoding; each batch must still land whole and unmixed.
    const a = spans(...Array.from({ length: 1300 }, (_, j) => `a-${j} "é\u2028💩`));
    const b = spans(...Array.from({ length: 700 }, (_, j) => `b-${j}`));
    const results = await Promise.all([exp.export(a, never), exp.export(b, never)]);
    expect(results).toEqual([{ code: 'success' }, { code: 'success' }]);
    await exp.shutdown!(never);
    const lines = (batch: typeof a) => batch.map((s) => encodeZipkinV2Span(s) + '\n').join('');
    const got = readFileSync(path);
    const want = [Buffer.from(lines(a) + lines(b)), Buffer.from(lines(b) + lines(a))];
    expect(want.some((w) => w.equals(got))).toBe(true);
  });

  it('writes one OTLP/JSON ExportTraceServiceRequest per batch with format otlp_json', async () => {
    const path = join(tempDir(), 'otlp.jsonl');
    const exp = create({ path, format: 'otlp_json' });
    await exp.start!();
    const first = spans('a', 'b');
    const second = spans('c');
    await exp.export(first, never);
    await exp.export(second, never);
    await exp.shutdown!(never);
    const lines = readFileSync(path, 'utf8').trim().split('\n');
    expect(lines).toHaveLength(2);
    const request = JSON.parse(lines[0]) as { resourceSpans: { scopeSpans: { spans: { traceId: string; spanId: string }[] }[] }[] };
    // OTLP/JSON: hex ids, 128-bit trace ids (64-bit Zipkin ids are left-padded).
    expect(request.resourceSpans[0].scopeSpans[0].spans[0].traceId).toBe('00000000000000000000000000000001');
    expect(decodeOtlpJsonRequest(lines[0]).map((s) => s.spanId)).toEqual(first.map((s) => s.spanId));
    expect(decodeOtlpJsonRequest(lines[1]).map((s) => s.name)).toEqual(['c']);
  });

  it('rotates by size, keeps max_backups files, and never splits a batch across files', async () => {
    const path = join(tempDir(), 'rot.jsonl');
    const exp = create({ path, rotation: { max_megabytes: 1, max_backups: 2 } });
    await exp.start!();
    const written: string[] = [];
    // Each batch is ~50 KB of Zipkin JSON; 100 batches are ~5 MB, so the file rotates several times.
    for (let i = 0; i < 100; i++) {
      const batch = spans(...Array.from({ length: 400 }, (_, j) => `span-${i}-${j}`));
      written.push(...batch.map((s) => s.spanId));
      expect((await exp.export(batch, never)).code).toBe('success');
    }
    await exp.shutdown!(never);
    expect(existsSync(`${path}.1`)).toBe(true);
    expect(existsSync(`${path}.2`)).toBe(true);
    expect(existsSync(`${path}.3`)).toBe(false);
    const ids = [path, `${path}.1`, `${path}.2`].flatMap((p) => {
      const text = readFileSync(p, 'utf8');
      expect(text.length).toBeLessThanOrEqual(1024 * 1024);
      expect(text.endsWith('\n')).toBe(true);
      return text.trim().split('\n').map((l) => (JSON.parse(l) as { id: string }).id);
    });
    // The files hold the newest spans, in order, with nothing missing between them.
    const kept = [...readIds(`${path}.2`), ...readIds(`${path}.1`), ...readIds(path)];
    expect(kept).toEqual(written.slice(written.length - kept.length));
    expect(ids.length).toBe(kept.length);
  });
  it.each(['zipkin_json', 'otlp_json'])('%s: encodes a batch into a buffer used again only once its bytes are in the file', async (format) => {
    const path = join(tempDir(), `reuse-${format}.jsonl`);
    const exp = create({ path, format, rotation: { max_megabytes: 0 } });
    await exp.start!();
    const batch = (p: string, n: number) => spans(...Array.from({ length: n }, (_, j) => `${p}-${j}`));
    const [a, b, c, d] = [batch('a', 900), batch('b', 700), batch('c', 1100), batch('d', 5)];
    // b and c are encoded while a's bytes wait for their write, d once a's and b's are written: a
    // buffer handed back too early would have a later batch's bytes written over the earlier one's.
    const ra = await exp.prepareRequest!(a);
    const rb = await exp.prepareRequest!(b);
    const rc = await exp.prepareRequest!(c);
    expect(await ra.send(never)).toEqual({ code: 'success' });
    expect(await rb.send(never)).toEqual({ code: 'success' });
    const rd = await exp.prepareRequest!(d);
    expect(await Promise.all([rc.send(never), rd.send(never)])).toEqual([{ code: 'success' }, { code: 'success' }]);
    await exp.shutdown!(never);
    const lines = readFileSync(path, 'utf8').trim().split('\n');
    const ids = (text: string) => (format === 'zipkin_json' ? decodeZipkinV2Json(`[${text}]`) : decodeOtlpJsonRequest(text)).map((s) => s.spanId);
    const got = format === 'zipkin_json' ? [ids(lines.join(','))] : lines.map(ids);
    const want = [a, b, c, d].map((x) => x.map((s) => s.spanId));
    expect(got).toEqual(format === 'zipkin_json' ? [want.flat()] : want);
  });
});

function readIds(p: string): string[] {
  return readFileSync(p, 'utf8').trim().split('\n').map((l) => (JSON.parse(l) as { id: string }).id);
}
