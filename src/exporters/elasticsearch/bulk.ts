/**
 * `_bulk` bodies and answers. A body is NDJSON, two lines per document: the action
 * `{"index":{"_index":…,"_id":…}}` and the document, each ending in a newline. The answer has one item
 * per action, in request order, each with its own status; the request's status only says whether the
 * body was read.
 */

export interface BulkEntry {
  index: string;
  id: string;
  json: string;
}

export function bulkBody(entries: readonly BulkEntry[]): string {
  let out = '';
  for (const e of entries) {
    out += '{"index":{"_index":' + JSON.stringify(e.index) + ',"_id":' + JSON.stringify(e.id) + '}}\n' + e.json + '\n';
  }
  return out;
}

/** Item statuses worth another attempt: rejected for load (429) or shards not available now. */
export function isRetryableItemStatus(status: number): boolean {
  return status === 429 || status === 502 || status === 503 || status === 504;
}

export interface BulkItemFailure {
  /** Position in the request. */
  position: number;
  status: number;
  /** The error's `type` (e.g. `mapper_parsing_exception`), a bounded set: the metrics' reason. */
  type: string;
  reason: string;
}

export interface BulkOutcome {
  /** Items the server did not store, in request order. */
  failures: BulkItemFailure[];
}

/**
 * Reads a 2xx `_bulk` answer. Throws when it is not one (not JSON, or fewer items than were sent), so
 * that the caller can treat the attempt as failed as a whole.
 */
export function readBulkAnswer(text: string, sent: number): BulkOutcome {
  const root = JSON.parse(text) as { errors?: boolean; items?: unknown[] };
  if (!Array.isArray(root.items)) throw new Error('the _bulk answer has no items');
  if (root.items.length !== sent) throw new Error(`the _bulk answer has ${root.items.length} items for ${sent} documents`);
  const failures: BulkItemFailure[] = [];
  if (root.errors !== true) return { failures };
  for (let i = 0; i < root.items.length; i++) {
    const item = root.items[i] as Record<string, { status?: number; error?: { type?: string; reason?: string } | string }>;
    const result = item.index ?? item.create ?? Object.values(item)[0];
    const status = typeof result?.status === 'number' ? result.status : 0;
    if (status >= 200 && status < 300 && result?.error === undefined) continue;
    const error = result?.error;
    const type = typeof error === 'object' && typeof error.type === 'string' ? error.type : `status_${status}`;
    const reason = typeof error === 'object' ? (error.reason ?? '') : (error ?? '');
    failures.push({ position: i, status, type, reason });
  }
  return { failures };
}
