/**
 * A span as the document Zipkin's Elasticsearch storage writes for it (zipkin-storage/elasticsearch,
 * `BulkIndexWriter`): the span's Zipkin v2 JSON with two search fields put first, `timestamp_millis`
 * (omitted when 0) and `_q` (present when the span has annotations or tags: each annotation value of at
 * most 256 UTF-16 units, then for each tag in key order `key` and `key=value` when `key=value` fits in
 * 256), and the `_id` `traceId-md5hex(document bytes)`. The id is a hash of the content, so a span
 * delivered twice lands on the same document, and Zipkin itself would give the same span the same id
 * (both write the same fields in the same order; only JSON string escaping of unusual characters can
 * differ).
 *
 * The index is `<prefix>-span-<day>`, the UTC day of the span's timestamp, else of its first
 * annotation, else of now (Zipkin's `ElasticsearchSpanConsumer` rule).
 */
import * as crypto from 'node:crypto';
import { quoteJson } from '../../codecs/json-text.js';
import { encodeZipkinV2Span } from '../../codecs/zipkin-json.js';
import { ZipkinView } from '../../codecs/zipkin-view.js';
import type { Span } from '../../model/span.js';

/** Zipkin's `SHORT_STRING_LENGTH`: longer `_q` entries are not indexed (and would pass `ignore_above`). */
export const SHORT_STRING_LENGTH = 256;

export interface SpanDocument {
  /** `traceId-md5`. */
  id: string;
  /** The trace id as written (64-bit when the high half is zero). */
  traceId: string;
  /** Epoch ms that chooses the daily index. */
  indexMillis: number;
  /** The document's JSON. */
  json: string;
  /** Tags for Zipkin's autocomplete, key then value, of the keys asked for (that fit in 256 characters). */
  autocomplete: string[] | undefined;
}

const VIEW = new ZipkinView();

/**
 * MD5 of the UTF-8 text, in hex. The one-shot `crypto.hash` (Node ≥ 20.12) is about 3 times faster here
 * than a Hash object per span; older Node 20 releases (the engines range starts at 20.6) lack it.
 */
const md5Hex: (text: string) => string =
  typeof crypto.hash === 'function'
    ? (text) => crypto.hash('md5', text, 'hex')
    : (text) => crypto.createHash('md5').update(text, 'utf8').digest('hex');

/**
 * Builds the document of one span. `nowMillis` chooses the day of spans without any time; the span's
 * tags whose keys are in `autocompleteKeys` are returned for the autocomplete index.
 */
export function spanDocument(span: Span, nowMillis: number, autocompleteKeys?: ReadonlySet<string>): SpanDocument {
  const v2 = encodeZipkinV2Span(span);
  // The view gives the values Zipkin's search fields are made of, exactly as the JSON above says them.
  const v = VIEW.fill(span);
  let search = '';
  const timestampMillis = v.timestamp / 1000n;
  if (timestampMillis !== 0n) search += '"timestamp_millis":' + timestampMillis + ',';
  if (v.annotationCount > 0 || v.tagCount > 0) {
    let q = '';
    for (let k = 0; k < v.annotationCount; k++) {
      const value = v.annotationValues[k];
      if (value.length > SHORT_STRING_LENGTH) continue;
      q += (q === '' ? '' : ',') + quoteJson(value);
    }
    for (let k = 0; k < v.tagCount; k++) {
      const key = v.tagKeys[k];
      const value = v.tagValues[k];
      if (key.length + value.length + 1 > SHORT_STRING_LENGTH) continue;
      q += (q === '' ? '' : ',') + quoteJson(key) + ',' + quoteJson(key + '=' + value);
    }
    search += '"_q":[' + q + '],';
  }
  const json = search === '' ? v2 : '{' + search + v2.slice(1);
  let indexMillis: number;
  if (v.timestamp !== 0n) indexMillis = Number(timestampMillis);
  else if (v.annotationCount > 0) indexMillis = Number(v.annotationTimestamps[0] / 1000n);
  else indexMillis = nowMillis;
  const id = v.traceId + '-' + md5Hex(json);
  let autocomplete: string[] | undefined;
  if (autocompleteKeys !== undefined && autocompleteKeys.size > 0) {
    for (let k = 0; k < v.tagCount; k++) {
      const key = v.tagKeys[k];
      const value = v.tagValues[k];
      if (!autocompleteKeys.has(key) || key.length + value.length + 1 > SHORT_STRING_LENGTH) continue;
      (autocomplete ??= []).push(key, value);
    }
  }
  return { id, traceId: v.traceId, indexMillis, json, autocomplete };
}

/**
 * The UTC day of `millis` as Zipkin names indices: `yyyy-MM-dd` with `-` replaced by `separator` (an
 * empty separator gives `yyyyMMdd`).
 */
export function indexDay(millis: number, separator: string): string {
  const d = new Date(millis);
  const year = d.getUTCFullYear();
  // Years outside 0..9999 cannot be in an index name Zipkin reads; they are clamped rather than
  // making an invalid name (the span is still stored, on a day nobody queries).
  const y = String(Math.min(9999, Math.max(0, Number.isFinite(year) ? year : 1970))).padStart(4, '0');
  const m = String((Number.isFinite(year) ? d.getUTCMonth() : 0) + 1).padStart(2, '0');
  const day = String(Number.isFinite(year) ? d.getUTCDate() : 1).padStart(2, '0');
  return y + separator + m + separator + day;
}

/** `<prefix>-<type>-<day>`, Zipkin's name for ES ≥ 7 and OpenSearch. */
export function indexName(prefix: string, type: 'span' | 'dependency' | 'autocomplete', day: string): string {
  return prefix + '-' + type + '-' + day;
}
