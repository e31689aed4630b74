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
export const SCENARIOS = [
  { name: 'zipkin-v2-json-max', encoding: 'zipkin-v2-json', sink: 'file', mode: 'max' },
  { name: 'zipkin-v2-json-rate', encoding: 'zipkin-v2-json', sink: 'file', mode: 'rate', rate: 'half-max' },
  ...['zipkin-v2-proto3', 'zipkin-v1-json', 'zipkin-v1-thrift', 'otlp-http-proto', 'otlp-grpc', 'otlp-http-json'].flatMap((encoding) => [
    { name: `${encoding}-max`, encoding, sink: 'file', mode: 'max' },
    { name: `${encoding}-rate`, encoding, sink: 'file', mode: 'rate', rate: 'half-max' },
  ]),
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
