/**
 * The stores' own ceilings, without spanline: how many bench spans/s MariaDB (Zipkin's MySQL schema) and
 * OpenSearch (Zipkin's span indices) can ingest on this machine when the rows or documents are already
 * made. The rows and documents are the exporters' own (dist/exporters/…: SpanRowConverter and the
 * writer's statements, spanDocument and bulkBody) for the spans the bench load generator sends
 * (bench/lib/workload.mjs, fresh ids per run), so only the store's work is timed.
 *
 *   npm run build
 *   node bench/store-ceiling.mjs mysql      [--spans N] [--method insert|insert-tx|load-data] [--chunk SPANS] [--streams S]
 *                                           [--preload N] [--row-format compressed|dynamic]
 *   node bench/store-ceiling.mjs opensearch [--spans N] [--bulk SPANS] [--connections C] [--refresh=1s|--refresh=-1]
 *
 * mysql: a fresh database with Zipkin's schema (as root over the server's socket), then the rows are
 * written by S `mariadb` command-line clients at once, each reading a prepared SQL script over the
 * socket: `insert` is the exporter's statements as it sends them (per chunk of SPANS spans: one
 * `INSERT … ON DUPLICATE KEY UPDATE` of span rows, one `INSERT IGNORE` of annotation rows, each
 * autocommitted), `insert-tx` the same statements with a transaction per chunk, `load-data` a
 * `LOAD DATA INFILE … IGNORE` of tab-separated files per chunk (server-side: the server reads the files
 * itself), with a transaction per chunk (the bench spans are ASCII, so the files need no character set
 * care). `--preload N` first writes N other spans (not timed) so that the tables are as large as after a
 * long run. `--row-format dynamic` is a diagnostic, not Zipkin's schema: what the tables' compression
 * costs.
 *
 * opensearch: Zipkin's templates as the exporter installs them (1 shard, 0 replicas, as the bench sink
 * configures), then `_bulk` bodies of SPANS span documents each, built beforehand, are sent over C
 * keep-alive connections (each sends its next body when the last was answered). Every item's status is
 * checked. `--refresh=-1` sets `index.refresh_interval` on the span template (not Zipkin's layout: it
 * shows what the 1 s default costs).
 *
 * Figures (one JSON line on stdout, a summary on stderr): spans/s over the wall time of the writes
 * (until the last statement or bulk was answered; for OpenSearch, until a refresh made everything
 * countable), the store server's CPU (/proc, 100% = one core) over that time and per span stored, how
 * busy the whole machine was, and the counts checked afterwards (exit status 1 when they disagree). Run it under `flock /tmp/spanline-bench.lock`
 * like the benchmark: the machine is shared.
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync, createWriteStream } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import mysql from 'mysql2';
import { decodeZipkinV2Json } from '../dist/codecs/zipkin-json.js';
import { SpanRowConverter, SPAN_COLUMNS, ANNOTATION_COLUMNS } from '../dist/exporters/mysql/span-rows.js';
import { INSERT_SPANS_SQL, INSERT_SHARED_SPANS_SQL, INSERT_ANNOTATIONS_SQL } from '../dist/exporters/mysql/span-writer.js';
import { ZIPKIN_MYSQL_SQL } from '../dist/exporters/mysql/zipkin-schema.js';
import { spanDocument, indexDay, indexName } from '../dist/exporters/elasticsearch/document.js';
import { bulkBody } from '../dist/exporters/elasticsearch/bulk.js';
import { zipkinTemplates } from '../dist/exporters/elasticsearch/templates.js';
import { RunIds } from './lib/ids.mjs';
import { cpuSeconds, cpuTimes } from './lib/proc.mjs';
import { findPid } from './lib/store-watch.mjs';
import { buildWorkload } from './lib/workload.mjs';

const { values: args, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    spans: { type: 'string', default: '200000' },
    method: { type: 'string', default: 'insert' },
    chunk: { type: 'string', default: '500' },
    streams: { type: 'string', default: '1' },
    preload: { type: 'string', default: '0' },
    bulk: { type: 'string', default: '8192' },
    connections: { type: 'string', default: '4' },
    refresh: { type: 'string' },
    'row-format': { type: 'string', default: 'compressed' },
    keep: { type: 'boolean', default: false },
  },
});
const store = positionals[0];
const N = Number(args.spans);
const log = (m) => process.stderr.write(m + '\n');
const fmt = (n) => Math.round(n).toLocaleString('en-US');

function servicesEnv() {
  const file = join(process.env.SPANLINE_SERVICES_DIR ?? '.cache/services', 'env');
  const env = {};
  if (existsSync(file)) for (const l of readFileSync(file, 'utf8').split('\n')) if (l.includes('=')) env[l.slice(0, l.indexOf('='))] = l.slice(l.indexOf('=') + 1).trim();
  return { ...env, ...process.env };
}

/** `count` model spans as the daemon's receiver decodes them from the bench load (ids from `ids`, starting at span `first`). */
async function* benchSpans(count, ids, first = 0) {
  const params = { encoding: 'zipkin-v2-json', batch: 100, pool: 64, seed: 20240611, baseTimeUs: (Date.now() - 120_000) * 1000 };
  const w = await buildWorkload(params);
  const firstReq = Math.floor(first / params.batch);
  for (let req = firstReq; (req - firstReq) * params.batch < count; req++) {
    const t = w.templates[req % params.pool];
    const buf = Buffer.from(t.bytes);
    w.encoding.stamp(t, buf, req * params.batch, ids);
    yield decodeZipkinV2Json(buf);
  }
}

/** The store server's CPU seconds and the machine's busy seconds, to report utilisation over an interval. */
function cpuMeter(pid) {
  const t0 = performance.now();
  const c0 = cpuSeconds(pid);
  const m0 = cpuTimes();
  return () => {
    const wall = (performance.now() - t0) / 1000;
    const m1 = cpuTimes();
    let busy = 0;
    for (const k of Object.keys(m1)) busy += m1[k].busy - (m0[k]?.busy ?? 0);
    return { wallS: wall, storeCpu: (cpuSeconds(pid) - c0) / wall, machineBusy: busy / wall, loadavg: os.loadavg()[0] };
  };
}

// ---- MariaDB

/** A value as LOAD DATA's default format reads it (tab-separated, `\N` for NULL, backslash escapes). */
function tsvValue(v) {
  if (v === null) return '\\N';
  if (typeof v === 'bigint' || typeof v === 'number') return String(v);
  const s = Buffer.isBuffer(v) ? v.toString('latin1') : v;
  return s.replace(/[\\\t\n\0]/g, (c) => (c === '\0' ? '\\0' : '\\' + (c === '\t' ? 't' : c === '\n' ? 'n' : '\\')));
}

async function mysqlCeiling() {
  const env = servicesEnv();
  const socket = env.MARIADB_SOCKET;
  if (!socket) throw new Error('needs MariaDB: bash scripts/test-services.sh up mariadb');
  const method = args.method;
  const chunk = Number(args.chunk);
  const streams = Number(args.streams);
  const preload = Number(args.preload);
  if (!['insert', 'insert-tx', 'load-data'].includes(method)) throw new Error(`--method: insert, insert-tx or load-data, not ${method}`);
  const db = `spanline_ceiling_${process.pid}`;
  const dir = mkdtempSync(join(os.tmpdir(), 'spanline-ceiling-'));
  const root = (sql, database) => execFileSync('mariadb', ['--no-defaults', `--socket=${socket}`, '-uroot', ...(database ? [database] : [])], { input: sql, encoding: 'utf8' });
  const pid = findPid(['mariadbd', `--socket=${socket}`]);
  try {
    root(`CREATE DATABASE ${db}`);
    // Zipkin's tables are ROW_FORMAT=COMPRESSED; `--row-format dynamic` is a diagnostic (not Zipkin's schema).
    root(args['row-format'] === 'compressed' ? ZIPKIN_MYSQL_SQL : ZIPKIN_MYSQL_SQL.replaceAll('ROW_FORMAT=COMPRESSED', `ROW_FORMAT=${args['row-format'].toUpperCase()}`), db);
    const converter = new SpanRowConverter(true);
    const ids = RunIds.random();

    /** Writes the rows of `count` spans from span `first` into one SQL script per stream; returns row counts. */
    async function prepare(count, first, name, how) {
      const scripts = Array.from({ length: streams }, (_, s) => join(dir, `${name}-${s}.sql`));
      const out = scripts.map((f) => createWriteStream(f));
      let spans = [];
      let shared = [];
      let annotations = [];
      let chunks = 0;
      let spanRows = 0;
      let annotationRows = 0;
      const flush = () => {
        if (spans.length + shared.length === 0) return;
        const o = out[chunks % streams];
        let sql = '';
        if (how === 'load-data') {
          const base = join(dir, `${name}-${chunks}`);
          writeFileSync(base + '-spans.tsv', [...spans, ...shared].map((r) => r.map(tsvValue).join('\t')).join('\n') + '\n', 'latin1');
          writeFileSync(base + '-annotations.tsv', annotations.map((r) => r.map(tsvValue).join('\t')).join('\n') + '\n', 'latin1');
          sql += 'START TRANSACTION;\n';
          sql += `LOAD DATA INFILE '${base}-spans.tsv' IGNORE INTO TABLE zipkin_spans CHARACTER SET binary (${SPAN_COLUMNS.join(', ')});\n`;
          sql += `LOAD DATA INFILE '${base}-annotations.tsv' IGNORE INTO TABLE zipkin_annotations CHARACTER SET binary (${ANNOTATION_COLUMNS.join(', ')});\n`;
          sql += 'COMMIT;\n';
        } else {
          if (how === 'insert-tx') sql += 'START TRANSACTION;\n';
          if (spans.length > 0) sql += mysql.format(INSERT_SPANS_SQL, [spans]) + ';\n';
          if (shared.length > 0) sql += mysql.format(INSERT_SHARED_SPANS_SQL, [shared]) + ';\n';
          sql += mysql.format(INSERT_ANNOTATIONS_SQL, [annotations]) + ';\n';
          if (how === 'insert-tx') sql += 'COMMIT;\n';
        }
        o.write(sql);
        spanRows += spans.length + shared.length;
        annotationRows += annotations.length;
        chunks++;
        spans = [];
        shared = [];
        annotations = [];
      };
      for await (const batch of benchSpans(count, ids, first)) {
        for (const span of batch) {
          const r = converter.convert(span);
          if (typeof r === 'string') throw new Error(r);
          (r.shared ? shared : spans).push(r.span);
          for (const a of r.annotations) annotations.push(a);
          if (spans.length + shared.length === chunk) flush();
        }
      }
      flush();
      await Promise.all(out.map((o) => new Promise((resolve) => o.end(resolve))));
      return { scripts, chunks, spanRows, annotationRows };
    }

    const run = (scripts) =>
      Promise.all(
        scripts.map(
          (file) =>
            new Promise((resolve, reject) => {
              const c = spawn('sh', ['-c', `exec mariadb --no-defaults --socket='${socket}' -uroot ${db} < '${file}'`], { stdio: ['ignore', 'ignore', 'pipe'] });
              let err = '';
              c.stderr.on('data', (d) => (err += d));
              c.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`mariadb < ${file}: exit ${code}: ${err.slice(0, 500)}`))));
            }),
        ),
      );

    if (preload > 0) {
      log(`preloading ${fmt(preload)} spans (not timed)…`);
      const p = await prepare(preload, 0, 'preload', 'load-data');
      await run(p.scripts);
    }
    log(`preparing ${fmt(N)} spans: ${method}, chunks of ${chunk} spans, ${streams} stream(s)…`);
    const w = await prepare(N, preload + 1_000_000, 'timed', method);
    log(`${fmt(w.spanRows)} span rows, ${fmt(w.annotationRows)} annotation rows (${(w.annotationRows / w.spanRows).toFixed(2)}/span) in ${w.chunks} chunks; writing…`);
    const meter = cpuMeter(pid);
    await run(w.scripts);
    const m = meter();
    const counts = root('SELECT (SELECT COUNT(*) FROM zipkin_spans), (SELECT COUNT(*) FROM zipkin_annotations)', db).trim().split('\n')[1].split('\t').map(Number);
    const expectedSpans = preload + w.spanRows;
    const ok = counts[0] === expectedSpans;
    const result = {
      store: 'mariadb',
      method,
      chunk,
      streams,
      preload,
      spans: w.spanRows,
      annotationRows: w.annotationRows,
      wallS: +m.wallS.toFixed(2),
      spansPerS: Math.round(w.spanRows / m.wallS),
      rowsPerS: Math.round((w.spanRows + w.annotationRows) / m.wallS),
      rowFormat: args['row-format'],
      storeCpu: +(m.storeCpu * 100).toFixed(0),
      storeCpuUsPerSpan: Math.round((m.storeCpu * m.wallS * 1e6) / w.spanRows),
      machineBusy: +(m.machineBusy * 100).toFixed(0),
      loadavg: +m.loadavg.toFixed(2),
      counted: { spans: counts[0], annotations: counts[1] },
      ok,
    };
    console.log(JSON.stringify(result));
    if (!ok) process.exitCode = 1;
    log(`mariadb ${method} chunk ${chunk} × ${streams}: ${fmt(result.spansPerS)} spans/s (${fmt(result.rowsPerS)} rows/s) over ${result.wallS} s, mariadbd ${result.storeCpu}% CPU (${result.storeCpuUsPerSpan} µs/span), machine ${result.machineBusy}% busy, load ${result.loadavg}${ok ? '' : ` — COUNT MISMATCH: ${counts[0]} span rows, expected ${expectedSpans}`}`);
  } finally {
    try {
      root(`DROP DATABASE IF EXISTS ${db}`);
    } catch {
      /* named after the pid: visible to whoever looks */
    }
    if (!args.keep) rmSync(dir, { recursive: true, force: true });
  }
}

// ---- OpenSearch

function request(agent, url, method, path, body, contentType = 'application/json') {
  return new Promise((resolve, reject) => {
    const req = http.request(new URL(path, url), { method, agent, headers: body ? { 'content-type': contentType, 'content-length': body.length } : {} }, (res) => {
      const parts = [];
      res.on('data', (d) => parts.push(d));
      res.on('end', () => resolve({ status: res.statusCode, body: Buffer.concat(parts).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

async function opensearchCeiling() {
  const env = servicesEnv();
  const url = env.OPENSEARCH_URL;
  if (!url) throw new Error('needs OpenSearch: bash scripts/test-services.sh up opensearch');
  const bulk = Number(args.bulk);
  const connections = Number(args.connections);
  const prefix = `spanline-ceiling-${process.pid}`;
  const agent = new http.Agent({ keepAlive: true, maxSockets: connections });
  const pid = findPid(['org.opensearch.bootstrap.OpenSearch', 'http.port=' + new URL(url).port]) ?? findPid(['org.opensearch.bootstrap.OpenSearch', '.cache/services/opensearch']);
  const templates = zipkinTemplates({ distribution: 'opensearch', number: '2', major: 2, minor: 0 }, { prefix, shards: 1, replicas: 0 });
  try {
    for (const t of templates) {
      const body = structuredClone(t.body);
      if (t.type === 'span' && args.refresh !== undefined) body.settings['index.refresh_interval'] = args.refresh;
      const r = await request(agent, url, 'PUT', t.path, Buffer.from(JSON.stringify(body)));
      if (r.status !== 200) throw new Error(`PUT ${t.path}: ${r.status} ${r.body}`);
    }
    log(`preparing ${fmt(N)} span documents in _bulk bodies of ${bulk}…`);
    const ids = RunIds.random();
    const bodies = [];
    let entries = [];
    let days = new Set();
    const now = Date.now();
    for await (const batch of benchSpans(N, ids)) {
      for (const span of batch) {
        const doc = spanDocument(span, now);
        const day = indexDay(doc.indexMillis, '-');
        days.add(day);
        entries.push({ index: indexName(prefix, 'span', day), id: doc.id, json: doc.json });
        if (entries.length === bulk) {
          bodies.push({ body: Buffer.from(bulkBody(entries)), count: entries.length });
          entries = [];
        }
      }
    }
    if (entries.length > 0) bodies.push({ body: Buffer.from(bulkBody(entries)), count: entries.length });
    const bytes = bodies.reduce((n, b) => n + b.body.length, 0);
    log(`${bodies.length} bodies, ${(bytes / 1024 / 1024).toFixed(0)} MiB (${Math.round(bytes / N)} B/span); sending over ${connections} connection(s)…`);
    // The indices exist before the clock starts (the exporter's first write creates them; once a day).
    for (const day of days) await request(agent, url, 'PUT', `/${indexName(prefix, 'span', day)}`);
    const meter = cpuMeter(pid);
    let next = 0;
    let failed = 0;
    let firstError;
    const lane = async () => {
      while (next < bodies.length) {
        const b = bodies[next++];
        const r = await request(agent, url, 'POST', '/_bulk?filter_path=errors,items.*.error.type', b.body, 'application/x-ndjson');
        if (r.status !== 200) throw new Error(`_bulk: ${r.status} ${r.body.slice(0, 300)}`);
        if (r.body.includes('"errors":true')) {
          const items = JSON.parse(r.body).items ?? [];
          for (const it of items) if (it.index?.error) (failed++, (firstError ??= it.index.error.type));
        }
      }
    };
    await Promise.all(Array.from({ length: connections }, lane));
    const sent = meter();
    await request(agent, url, 'POST', `/${prefix}-span-*/_refresh`);
    const m = meter();
    const count = JSON.parse((await request(agent, url, 'GET', `/${prefix}-span-*/_count`)).body).count;
    const result = {
      store: 'opensearch',
      bulk,
      connections,
      refresh: args.refresh ?? 'default',
      spans: N,
      bytesPerSpan: Math.round(bytes / N),
      wallS: +m.wallS.toFixed(2),
      spansPerS: Math.round(N / m.wallS),
      sentSpansPerS: Math.round(N / sent.wallS),
      storeCpu: +(m.storeCpu * 100).toFixed(0),
      storeCpuUsPerSpan: Math.round((m.storeCpu * m.wallS * 1e6) / N),
      machineBusy: +(m.machineBusy * 100).toFixed(0),
      loadavg: +m.loadavg.toFixed(2),
      failedItems: failed,
      firstError,
      counted: count,
      ok: count === N && failed === 0,
    };
    console.log(JSON.stringify(result));
    if (!result.ok) process.exitCode = 1;
    log(`opensearch bulk ${bulk} × ${connections} conn: ${fmt(result.spansPerS)} spans/s stored+refreshed (${fmt(result.sentSpansPerS)}/s answered) over ${result.wallS} s, OpenSearch ${result.storeCpu}% CPU (${result.storeCpuUsPerSpan} µs/span), machine ${result.machineBusy}% busy, load ${result.loadavg}${result.ok ? '' : ` — ${count} counted, ${failed} failed items (${firstError})`}`);
  } finally {
    await request(agent, url, 'DELETE', `/${prefix}-span-*`).catch(() => undefined);
    for (const t of templates) await request(agent, url, 'DELETE', t.path).catch(() => undefined);
    agent.destroy();
  }
}

if (store === 'mysql') await mysqlCeiling();
else if (store === 'opensearch') await opensearchCeiling();
else {
  log('usage: node bench/store-ceiling.mjs mysql|opensearch [options] (see the comment at the top)');
  process.exit(2);
}
