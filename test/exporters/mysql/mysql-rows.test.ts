/**
 * The mysql exporter against the real MariaDB: every value encoding, row by row, as Zipkin's
 * MySQLSpanConsumer + V2SpanConverter write them (zipkin.md §4.2), and idempotence on redelivery.
 * Spans come in as Zipkin v2 JSON through our decoder, as the zipkin receiver hands them on.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Pool } from 'mysql2/promise';
import type { Exporter } from '../../../src/component/types.js';
import { decodeZipkinV2Json } from '../../../src/codecs/zipkin-json.js';
import { CASES, TS } from './cases.js';
import { exporterConfig, hex16, never, signedText, startedExporter, storedTrace, testPool } from './db.js';

let pool: Pool;
let exporter: Exporter;
beforeAll(async () => {
  pool = testPool();
  exporter = await startedExporter(exporterConfig({ dependencies: { enabled: false } }));
});
afterAll(async () => {
  await exporter?.shutdown?.(never);
  await pool?.end();
});

describe('mysql exporter: rows as Zipkin writes them', () => {
  const traceIds = CASES.map((c) => (c.traceId ?? hex16)());
  const spans = CASES.map((c, i) => c.span(traceIds[i]) as { id: string });
  const json = JSON.stringify(spans);

  beforeAll(async () => {
    // All cases in one batch: one multi-row statement per table.
    expect(await exporter.export(decodeZipkinV2Json(json), never)).toEqual({ code: 'success' });
  });

  it.each(CASES.map((c, i) => [c.name, c, traceIds[i], spans[i]] as const))('%s', async (_name, c, traceId, spanJson) => {
    const stored = await storedTrace(pool, traceId);
    expect(stored.spans).toHaveLength(1);
    expect(stored.spans[0]).toMatchObject({
      trace_id_high: traceId.length === 32 ? signedText(traceId.slice(0, 16)) : '0',
      trace_id: signedText(traceId.slice(-16)),
      ...(c.row.id === undefined ? { id: signedText(spanJson.id) } : {}),
      ...c.row,
    });
    expect(stored.annotations).toEqual(c.annotations);
  });

  it('writing the same spans again changes no row and adds none', async () => {
    const before = await Promise.all(traceIds.map((t) => storedTrace(pool, t)));
    expect(await exporter.export(decodeZipkinV2Json(json), never)).toEqual({ code: 'success' });
    expect(await exporter.export(decodeZipkinV2Json(json), never)).toEqual({ code: 'success' });
    const after = await Promise.all(traceIds.map((t) => storedTrace(pool, t)));
    expect(after).toEqual(before);
    expect(after.reduce((n, t) => n + t.annotations.length, 0)).toBe(CASES.reduce((n, c) => n + c.annotations.length, 0));
  });
});

describe('mysql exporter: client and shared server of one RPC share a row', () => {
  const client = (traceId: string) => ({
    traceId,
    id: '00000000000000c1',
    parentId: '00000000000000aa',
    kind: 'CLIENT',
    name: 'get',
    timestamp: TS,
    duration: 900,
    localEndpoint: { serviceName: 'frontend' },
    remoteEndpoint: { serviceName: 'backend' },
  });
  const server = (traceId: string) => ({
    traceId,
    id: '00000000000000c1',
    parentId: '00000000000000aa',
    kind: 'SERVER',
    name: 'get /api',
    timestamp: TS + 100,
    duration: 700,
    localEndpoint: { serviceName: 'backend' },
    remoteEndpoint: { serviceName: 'frontend' },
    shared: true,
  });

  it.each([
    ['client first', [client, server]],
    ['server first', [server, client]],
    ['both in one batch, server first', [[server, client]]],
  ] as const)('%s: the client timestamp and duration win, both sides keep their annotations', async (_name, order) => {
    const traceId = hex16();
    for (const part of order) {
      const spans = (Array.isArray(part) ? part : [part]).map((f) => (f as (t: string) => object)(traceId));
      expect(await exporter.export(decodeZipkinV2Json(JSON.stringify(spans)), never)).toEqual({ code: 'success' });
    }
    const stored = await storedTrace(pool, traceId);
    expect(stored.spans).toHaveLength(1);
    expect(stored.spans[0]).toMatchObject({ start_ts: String(TS), duration: '900', parent_id: '170' });
    expect(stored.annotations.map((r) => [r[0], r[3], r[7]])).toEqual([
      ['ca', String(TS + 100), 'frontend'],
      ['cr', String(TS + 900), 'frontend'],
      ['cs', String(TS), 'frontend'],
      ['sa', String(TS), 'backend'],
      ['sr', String(TS + 100), 'backend'],
      ['ss', String(TS + 800), 'backend'],
    ]);
  });
});
