/**
 * The pool of request templates both processes derive from the same parameters: the load generator to
 * send them, the verifier to know what each accepted span id should carry. Request `k` uses template
 * `k % pool` and span sequence numbers `k * batch …`, so nothing per request needs to be remembered.
 */
import { rng, requestSpans } from './spans.mjs';
import { loadEncoding } from './encodings/index.mjs';

/** @param {{encoding: string, batch: number, pool: number, seed: number, baseTimeUs: number}} p */
export async function buildWorkload(p) {
  const encoding = await loadEncoding(p.encoding);
  const r = rng(p.seed);
  const templates = [];
  let bytes = 0;
  for (let i = 0; i < p.pool; i++) {
    const spans = requestSpans(r, p.batch, p.baseTimeUs);
    const t = encoding.encodeTemplate(spans);
    t.spans = spans;
    templates.push(t);
    bytes += t.bytes.length;
  }
  return { encoding, templates, avgRequestBytes: bytes / p.pool, avgSpanBytes: bytes / p.pool / p.batch };
}

/** The Zipkin v2 JSON object of span `seq` as it was sent (ids stamped), for content checks. */
export function expectedSpan(workload, params, ids, seq) {
  const req = Math.floor(seq / params.batch);
  const i = seq - req * params.batch;
  const first = req * params.batch;
  const sp = workload.templates[req % params.pool].spans[i];
  const o = { traceId: ids.traceIdHex(first + sp.rootIdx, sp.traceDigits) };
  if (sp.parentIdx >= 0) o.parentId = ids.spanIdHex(first + sp.parentIdx);
  o.id = ids.spanIdHex(seq);
  return Object.assign(o, sp.fields);
}
