/**
 * The `file` exporter writing OTLP/JSON (one ExportTraceServiceRequest per line, one line per exported
 * batch): the conversion scenarios, where Zipkin comes in and OTLP goes out. The verifier still compares
 * Zipkin v2 spans: each OTLP span it checks is turned back into Zipkin JSON by spanline's own codecs, so
 * a field is accepted only if it survives Zipkin → model → OTLP/JSON → model → Zipkin unchanged.
 */
import { readdirSync } from 'node:fs';
import { basename, join } from 'node:path';
import { expected as zipkinExpected, readLines } from './file.mjs';

const FILE = 'spans.otlp.jsonl';

export function exporter(workDir) {
  return {
    id: 'file',
    config: { path: join(workDir, FILE), format: 'otlp_json', rotation: { max_megabytes: 0 } },
  };
}

export const expected = zipkinExpected;

/** dist/ is built by `npm run bench` before any scenario runs. */
const codecs = Promise.all([import('../../../dist/codecs/otlp-json.js'), import('../../../dist/codecs/zipkin-json.js')]);

export async function scan(workDir, visit) {
  const [{ decodeOtlpJsonRequest }, { encodeZipkinV2Span }] = await codecs;
  const files = readdirSync(workDir)
    .filter((f) => f === FILE || f.startsWith(FILE + '.'))
    .map((f) => join(workDir, f));
  let badIds = 0;
  const out = await readLines(files, (buf, start, end) => request(buf.toString('utf8', start, end)));
  return { files: files.map((f) => basename(f)), ...out, malformed: out.malformed + badIds };

  /** Visits every span of one request line (false when it is not JSON); spanline decodes a span again only when it is checked. */
  function request(text) {
    let req;
    try {
      req = JSON.parse(text);
    } catch {
      return false;
    }
    for (const rs of req.resourceSpans ?? []) {
      for (const ss of rs.scopeSpans ?? []) {
        for (const span of ss.spans ?? []) {
          const id = Buffer.from(String(span.spanId ?? ''), 'latin1');
          if (id.length !== 16) {
            badIds++;
            continue;
          }
          visit(id, 0, () => {
            const one = { resourceSpans: [{ ...rs, scopeSpans: [{ ...ss, spans: [span] }] }] };
            const [decoded] = decodeOtlpJsonRequest(JSON.stringify(one));
            return JSON.parse(encodeZipkinV2Span(decoded));
          });
        }
      }
    }
  }
}
