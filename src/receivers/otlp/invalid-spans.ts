/**
 * Spans an OTLP receiver accepts from a request, and those it rejects: OTLP requires a trace id of 16
 * bytes and a span id of 8 bytes, neither all zeros. A span without them cannot be stored or joined to its
 * trace (the Zipkin exporter and most backends refuse it and, with it, the whole batch), so it is left
 * out and the sender told in a partial success; the rest of the request goes on.
 */
import type { Span } from '../../model/span.js';
import type { PartiallyDecoded } from '../../transport/http-span-server.js';

const ZERO_TRACE_ID = '00000000000000000000000000000000';
const ZERO_SPAN_ID = '0000000000000000';

function invalidBecause(s: Span): string | undefined {
  if (s.traceId === '' || s.traceId === ZERO_TRACE_ID) return 'trace_id is empty or all zeros';
  if (s.spanId === '' || s.spanId === ZERO_SPAN_ID) return 'span_id is empty or all zeros';
  return undefined;
}

/** The spans unchanged when all are valid (the common case, no copy), else the valid ones and a count. */
export function withoutInvalidSpans(spans: Span[]): Span[] | PartiallyDecoded {
  let i = 0;
  while (i < spans.length && invalidBecause(spans[i]) === undefined) i++;
  if (i === spans.length) return spans;
  const kept = spans.slice(0, i);
  const firstProblem = invalidBecause(spans[i])!;
  const firstName = spans[i].name;
  let rejected = 0;
  for (; i < spans.length; i++) {
    if (invalidBecause(spans[i]) === undefined) kept.push(spans[i]);
    else rejected++;
  }
  const message = `${rejected} span${rejected === 1 ? '' : 's'} rejected: ${firstProblem}${firstName === '' ? '' : ` (first: "${firstName.slice(0, 100)}")`}`;
  return { spans: kept, rejected, message };
}
