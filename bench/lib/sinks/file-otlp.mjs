/**
 * The `file` exporter writing OTLP/JSON (one ExportTraceServiceRequest per line, one line per exported
 * batch): the conversion scenarios, where Zipkin comes in and OTLP goes out. The verifier still compares
 * Zipkin v2 spans: each OTLP span it checks is turned back into Zipkin JSON by spanline's own codecs, so
 * a field is accepted only if it survives Zipkin → model → OTLP/JSON → model → Zipkin unchanged.
 */
import { createReadStream, readdirSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { expected as zipkinExpected } from './file.mjs';

const FILE = 'spans.otlp.jsonl';
const NL = 0x0a;

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
  const files = readdirSync(workDir).filter((f) => f === FILE || f.startsWith(FILE + '.'));
  let lines = 0;
  let bytes = 0;
  let malformed = 0;
  const malformedSamples = [];
  for (const f of files) {
    const path = join(workDir, f);
    bytes += statSync(path).size;
    let rest = Buffer.alloc(0);
    for await (const chunk of createReadStream(path, { highWaterMark: 8 << 20 })) {
      const buf = rest.length > 0 ? Buffer.concat([rest, chunk]) : chunk;
      let start = 0;
      for (let nl = buf.indexOf(NL, start); nl !== -1; nl = buf.indexOf(NL, start)) {
        lines++;
        request(buf.toString('utf8', start, nl));
        start = nl + 1;
      }
      rest = Buffer.from(buf.subarray(start));
    }
    if (rest.length > 0) {
      lines++;
      malformed++; // a last line without its newline: a torn write
      if (malformedSamples.length < 5) malformedSamples.push(`(no trailing newline) ${rest.toString('utf8', 0, 300)}`);
    }
  }
  return { files: files.map((f) => basename(f)), lines, bytes, malformed, malformedSamples };

  /** Visits every span of one request line; the line is decoded again by spanline only for checked spans. */
  function request(text) {
    let req;
    try {
      req = JSON.parse(text);
    } catch {
      malformed++;
      if (malformedSamples.length < 5) malformedSamples.push(text.slice(0, 300));
      return;
    }
    for (const rs of req.resourceSpans ?? []) {
      for (const ss of rs.scopeSpans ?? []) {
        for (const span of ss.spans ?? []) {
          const id = Buffer.from(String(span.spanId ?? ''), 'latin1');
          if (id.length !== 16) {
            malformed++;
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
