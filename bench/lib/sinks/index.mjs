/**
 * Where the daemon's output goes and how the verifier reads it back. A sink contributes the exporter's
 * config (given a scratch directory), `expected(span)` (a sent Zipkin v2 span as the output should show
 * it), and `scan(workDir, visit)`, which calls `visit(buf, idOff, parse)` once
 * per span found in the output: the span's 16-hex-digit id is at `buf[idOff…idOff+16]`, and `parse()`
 * returns the span as a Zipkin v2 JSON object (called only for the sampled spans whose content is
 * checked). To add MySQL or OpenSearch: write a module with the same three functions, add a row.
 */
import * as file from './file.mjs';
import * as fileOtlp from './file-otlp.mjs';
import * as mysql from './mysql.mjs';
import * as opensearch from './opensearch.mjs';

export const SINKS = { file, 'file-otlp': fileOtlp, opensearch, mysql };

export function sink(name) {
  const s = SINKS[name];
  if (!s) throw new Error(`unknown sink "${name}" (known: ${Object.keys(SINKS).join(', ')})`);
  return s;
}
