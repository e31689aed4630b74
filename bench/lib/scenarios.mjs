/**
 * The scenario table. A scenario is a wire encoding (a receiver, see encodings/index.mjs), a sink (an
 * exporter and how to read it back, see sinks/index.mjs), and a load mode:
 *   max  — closed loop, as fast as the daemon accepts;
 *   rate — open loop at `rate` spans/s; 'half-max' means half of what the `max` scenario of the same
 *          encoding and sink measured earlier in this invocation (or --rate).
 * Each scenario runs against a fresh daemon, in table order.
 *
 * Adding Thrift, proto3 or OTLP, or a MySQL/OpenSearch exporter, is a new encoding or sink and two rows.
 */
import { TAIL_SAMPLING, TAIL_SAMPLING_WATCH, tailSamplingFigures } from './tail-sampling.mjs';
import { REDACTION } from './redaction.mjs';

export const SCENARIOS = [
  { name: 'zipkin-v2-json-max', encoding: 'zipkin-v2-json', sink: 'file', mode: 'max' },
  { name: 'zipkin-v2-json-rate', encoding: 'zipkin-v2-json', sink: 'file', mode: 'rate', rate: 'half-max' },
  // The elasticsearch exporter into the OpenSearch test cluster (`--scenario zipkin-v2-json-opensearch`).
  { name: 'zipkin-v2-json-opensearch-max', encoding: 'zipkin-v2-json', sink: 'opensearch', mode: 'max' },
  // The mysql exporter into the MariaDB test server (`--scenario zipkin-v2-json-mysql`).
  { name: 'zipkin-v2-json-mysql-max', encoding: 'zipkin-v2-json', sink: 'mysql', mode: 'max' },
  // Issue 4's open-loop rows: the 20,000 spans/s target, which the store must keep up with.
  { name: 'zipkin-v2-json-mysql-rate', encoding: 'zipkin-v2-json', sink: 'mysql', mode: 'rate', rate: 20_000 },
  { name: 'zipkin-v2-json-opensearch-rate', encoding: 'zipkin-v2-json', sink: 'opensearch', mode: 'rate', rate: 20_000 },
  // The same loads into the same stores through a Zipkin server's own collector instead of the daemon
  // (`target: 'zipkin-server'`, lib/zipkin-server.mjs): `--scenario zipkin-server`. Side by side with
  // spanline in one invocation: `npm run bench -- --scenario zipkin-v2-json-mysql,zipkin-server-mysql`.
  ...['mysql', 'opensearch'].flatMap((sink) => [
    { name: `zipkin-server-${sink}-max`, target: 'zipkin-server', encoding: 'zipkin-v2-json', sink, mode: 'max' },
    { name: `zipkin-server-${sink}-rate`, target: 'zipkin-server', encoding: 'zipkin-v2-json', sink, mode: 'rate', rate: 20_000 },
  ]),
  ...['zipkin-v2-proto3', 'zipkin-v1-json', 'zipkin-v1-thrift', 'otlp-http-proto', 'otlp-grpc', 'otlp-http-json'].flatMap((encoding) => [
    { name: `${encoding}-max`, encoding, sink: 'file', mode: 'max' },
    { name: `${encoding}-rate`, encoding, sink: 'file', mode: 'rate', rate: 'half-max' },
  ]),
  // Conversion: Zipkin v2 JSON in, OTLP/JSON out (and OTLP in, Zipkin out, is every otlp-* row above),
  // beside the same input written as Zipkin: `--scenario zipkin-v2-json-max,zipkin-v2-json-to-otlp-max`.
  { name: 'zipkin-v2-json-to-otlp-max', encoding: 'zipkin-v2-json', sink: 'file-otlp', mode: 'max' },
  // The tail_sampling processor (before batch) beside the same pipeline without it, in one invocation:
  // `--scenario tail-sampling`. Optional keys: `processors` (added before batch), `watch` (gauges whose
  // peak is sampled during the load), `figures(metrics, peaks)` (extra figures for the result).
  { name: 'tail-sampling-off', encoding: 'zipkin-v2-json', sink: 'file', mode: 'max' },
  {
    name: 'tail-sampling-on',
    encoding: 'zipkin-v2-json',
    sink: 'file',
    mode: 'max',
    processors: { tail_sampling: TAIL_SAMPLING },
    watch: TAIL_SAMPLING_WATCH,
    figures: tailSamplingFigures,
  },
  // The redaction processor (ten value patterns, see redaction.mjs) beside the same pipeline without it:
  // `--scenario redaction`.
  { name: 'redaction-off', encoding: 'zipkin-v2-json', sink: 'file', mode: 'max' },
  { name: 'redaction-on', encoding: 'zipkin-v2-json', sink: 'file', mode: 'max', processors: { redaction: REDACTION } },
];

/** Scenarios selected by `--scenario` values: exact names, or prefixes (`zipkin-v2-json` selects both). */
export function selectScenarios(selectors) {
  if (!selectors || selectors.length === 0) return SCENARIOS;
  const wanted = selectors.flatMap((s) => s.split(',')).map((s) => s.trim()).filter(Boolean);
  const out = SCENARIOS.filter((sc) => wanted.some((w) => sc.name.startsWith(w)));
  const unknown = wanted.filter((w) => !SCENARIOS.some((sc) => sc.name.startsWith(w)));
  if (unknown.length > 0) throw new Error(`unknown scenario ${unknown.map((u) => `"${u}"`).join(', ')}; known: ${SCENARIOS.map((s) => s.name).join(', ')}`);
  return out;
}
