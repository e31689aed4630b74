/**
 * Completeness and content check of a run: every span of every request answered 202 must appear in the
 * output exactly once; no span of a refused (503) request may appear; and a deterministic sample of
 * spans must carry exactly the fields that were sent.
 */
import { STATUS } from './status.mjs';
import { expectedSpan } from './workload.mjs';

/** Every CONTENT_SAMPLE-th span sequence number is parsed and compared field by field. */
const CONTENT_SAMPLE = 499;

export async function verify({ statuses, params, ids, workload, sink, workDir }) {
  const batch = params.batch;
  const spansSent = statuses.length * batch;
  const counts = new Uint8Array(spansSent);
  let foreign = 0;
  const foreignSamples = [];
  let checked = 0;
  const mismatchByField = {};
  const mismatchSamples = [];
  const extraFields = {};

  const t0 = performance.now();
  const scanned = await sink.scan(workDir, (buf, off, parse) => {
    const seq = ids.seqOf(buf, off);
    if (seq < 0 || seq >= spansSent) {
      foreign++;
      if (foreignSamples.length < 5) foreignSamples.push(buf.toString('latin1', off, off + 16));
      return;
    }
    if (counts[seq] < 255) counts[seq]++;
    // Zipkin v1 → v2 may turn one v1 span into a client and a server half with the same id; the
    // content check then only applies to the first half written.
    if (seq % CONTENT_SAMPLE === 0 && counts[seq] === 1) {
      checked++;
      const actual = parse();
      const expected = sink.expected(expectedSpan(workload, params, ids, seq));
      if (workload.encoding.sameIdSplits) dropV1MessagingTiming(expected);
      const bad = [];
      for (const key of Object.keys(expected)) if (!sameValue(actual[key], expected[key])) bad.push(key);
      for (const key of Object.keys(actual)) if (!(key in expected)) extraFields[key] = (extraFields[key] ?? 0) + 1;
      for (const key of bad) mismatchByField[key] = (mismatchByField[key] ?? 0) + 1;
      if (bad.length > 0 && mismatchSamples.length < 3) {
        mismatchSamples.push({ fields: bad, expected: pickKeys(expected, bad), actual: pickKeys(actual, bad) });
      }
    }
  });

  let acceptedSpans = 0, missing = 0, duplicates = 0, duplicatedSpans = 0, refusedButWritten = 0, unacknowledgedWritten = 0, notSentWritten = 0;
  const missingSamples = [];
  for (let k = 0; k < statuses.length; k++) {
    const st = statuses[k];
    for (let seq = k * batch, endSeq = seq + batch; seq < endSeq; seq++) {
      const c = counts[seq];
      if (st === STATUS.ACCEPTED) {
        acceptedSpans++;
        if (c === 0) {
          missing++;
          if (missingSamples.length < 5) missingSamples.push({ request: k, spanId: ids.spanIdHex(seq) });
        } else if (c > 1 && !workload.encoding.sameIdSplits) {
          duplicates += c - 1;
          duplicatedSpans++;
        }
      } else if (c > 0) {
        if (st === STATUS.REFUSED) refusedButWritten += c;
        else if (st === STATUS.NOT_SENT) notSentWritten += c;
        // A request that failed on the network or got another status may or may not have been taken.
        else unacknowledgedWritten += c;
      }
    }
  }
  const contentOk = Object.keys(mismatchByField).length === 0;
  return {
    ok: missing === 0 && duplicates === 0 && refusedButWritten === 0 && notSentWritten === 0 && foreign === 0 && scanned.malformed === 0 && contentOk,
    scanSeconds: (performance.now() - t0) / 1000,
    output: scanned,
    acceptedSpans,
    missing,
    missingSamples,
    duplicates,
    duplicatedSpans,
    refusedButWritten,
    unacknowledgedWritten,
    notSentWritten,
    foreign,
    foreignSamples,
    content: { checked, ok: contentOk, mismatchByField, mismatchSamples, extraFields },
  };
}

function sameValue(a, b) {
  return canonical(a) === canonical(b);
}

/** JSON with object keys sorted, so that field order does not matter. */
function canonical(v) {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (v !== null && typeof v === 'object') {
    return `{${Object.keys(v).sort().map((k) => `${JSON.stringify(k)}:${canonical(v[k])}`).join(',')}}`;
  }
  return JSON.stringify(v);
}

function pickKeys(o, keys) {
  const out = {};
  for (const k of keys) out[k] = o[k];
  return out;
}

/**
 * Zipkin's v1 → v2 conversion uses `ws`/`wr` of a messaging span (one with `ms` or `mr`) as its timing and
 * does not keep them as annotations (V1SpanConverter; ../shared/reference/zipkin.md §2 step 5), so a v2
 * PRODUCER/CONSUMER span sent as v1 comes back without them.
 */
function dropV1MessagingTiming(expected) {
  if ((expected.kind !== 'PRODUCER' && expected.kind !== 'CONSUMER') || !Array.isArray(expected.annotations)) return;
  const kept = expected.annotations.filter((a) => a.value !== 'ws' && a.value !== 'wr');
  if (kept.length > 0) expected.annotations = kept;
  else delete expected.annotations;
}
