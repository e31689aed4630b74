/**
 * Writes span rows with multi-row statements. Redelivery is harmless, by the schema's keys:
 * - `zipkin_spans` has PRIMARY KEY (trace_id_high, trace_id, id): a span written again updates its own
 *   row (`INSERT … ON DUPLICATE KEY UPDATE`) with the values Zipkin's consumer would update, to the same
 *   values;
 * - `zipkin_annotations` has UNIQUE KEY (trace_id_high, trace_id, span_id, a_key, a_timestamp), and
 *   every row has a non-NULL a_timestamp (0 when the span has none): `INSERT IGNORE` skips rows already
 *   stored, so annotations are never duplicated.
 *
 * Zipkin's consumer decides per span which columns a duplicate may update; in one multi-row statement
 * that is said with `IF(VALUES(col) …)`: name and remote service name only when not '', duration and
 * parent id only when not NULL, and start_ts only from a span that is not shared (the client's timestamp
 * wins over the server's). Shared spans therefore go in their own statement, without the start_ts update.
 */
import type { Pool, PoolConnection } from 'mysql2/promise';
import { ANNOTATION_COLUMNS, SPAN_COLUMNS, type AnnotationRow, type SpanRow, type SpanRows } from './span-rows.js';

const KEEP_UNLESS_EMPTY = (col: string) => `${col} = IF(VALUES(${col}) = '', ${col}, VALUES(${col}))`;
const KEEP_UNLESS_NULL = (col: string) => `${col} = IF(VALUES(${col}) IS NULL, ${col}, VALUES(${col}))`;

const UPDATES = [
  KEEP_UNLESS_EMPTY('name'),
  KEEP_UNLESS_EMPTY('remote_service_name'),
  KEEP_UNLESS_NULL('duration'),
  KEEP_UNLESS_NULL('parent_id'),
];

const INSERT_SPANS = `INSERT INTO zipkin_spans (${SPAN_COLUMNS.join(', ')}) VALUES ? ON DUPLICATE KEY UPDATE `;
/** For spans that are not shared: their timestamp replaces a tentative one. */
export const INSERT_SPANS_SQL = INSERT_SPANS + [KEEP_UNLESS_NULL('start_ts'), ...UPDATES].join(', ');
/** For shared spans: their timestamp is kept only when no other is stored. */
export const INSERT_SHARED_SPANS_SQL = INSERT_SPANS + UPDATES.join(', ');
export const INSERT_ANNOTATIONS_SQL = `INSERT IGNORE INTO zipkin_annotations (${ANNOTATION_COLUMNS.join(', ')}) VALUES ?`;

/**
 * Upper bound of one statement's size (estimated). MySQL 5.7's default max_allowed_packet is 4 MiB
 * (MariaDB's 16 MiB); a tag value may be 64 KiB, written as hex.
 */
export const MAX_STATEMENT_BYTES = 2 * 1024 * 1024;

export class SpanWriter {
  constructor(
    private readonly pool: Pool,
    /** Spans per multi-row INSERT. */
    private readonly batchSize: number,
  ) {}

  /** Writes every row; rejects with the driver's error. Statements of one chunk share a connection. */
  async write(rows: SpanRows[]): Promise<void> {
    let from = 0;
    while (from < rows.length) {
      let to = from;
      let bytes = 0;
      while (to < rows.length && to - from < this.batchSize && (to === from || bytes + rows[to].bytes <= MAX_STATEMENT_BYTES)) {
        bytes += rows[to].bytes;
        to++;
      }
      await this.writeChunk(rows, from, to);
      from = to;
    }
  }

  private async writeChunk(rows: SpanRows[], from: number, to: number): Promise<void> {
    const spans: SpanRow[] = [];
    const shared: SpanRow[] = [];
    const annotations: AnnotationRow[] = [];
    for (let i = from; i < to; i++) {
      const r = rows[i];
      (r.shared ? shared : spans).push(r.span);
      for (let k = 0; k < r.annotations.length; k++) annotations.push(r.annotations[k]);
    }
    const conn: PoolConnection = await this.pool.getConnection();
    try {
      if (spans.length > 0) await conn.query(INSERT_SPANS_SQL, [spans]);
      if (shared.length > 0) await conn.query(INSERT_SHARED_SPANS_SQL, [shared]);
      // Annotation rows are independent of each other: one span's many large tags may take several statements.
      let from = 0;
      let bytes = 0;
      for (let k = 0; k < annotations.length; k++) {
        const size = annotationBytes(annotations[k]);
        if (k > from && bytes + size > MAX_STATEMENT_BYTES) {
          await conn.query(INSERT_ANNOTATIONS_SQL, [annotations.slice(from, k)]);
          from = k;
          bytes = 0;
        }
        bytes += size;
      }
      if (from < annotations.length) await conn.query(INSERT_ANNOTATIONS_SQL, [from === 0 ? annotations : annotations.slice(from)]);
    } finally {
      conn.release();
    }
  }
}

/** Rough size of an annotation row as SQL text (a BLOB is written as hex). */
function annotationBytes(row: AnnotationRow): number {
  return 100 + row[3].length + (row[4] === null ? 0 : 2 * row[4].length) + (row[10] === null ? 0 : row[10].length);
}
