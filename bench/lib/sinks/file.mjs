/**
 * The `file` exporter writing Zipkin v2 JSON lines, one span per line, never rotating (so that nothing
 * written is deleted before it is verified).
 */
import { createReadStream, readdirSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

const FILE = 'spans.jsonl';

export function exporter(workDir) {
  return {
    id: 'file',
    config: { path: join(workDir, FILE), format: 'zipkin_json', rotation: { max_megabytes: 0 } },
  };
}

/** The output file and any rotated siblings (`spans.jsonl.1` …), which should not exist. */
function outputFiles(workDir) {
  const path = join(workDir, FILE);
  const dir = dirname(path);
  const base = basename(path);
  return readdirSync(dir)
    .filter((f) => f === base || f.startsWith(base + '.'))
    .map((f) => join(dir, f));
}

/**
 * The span as the output should show it: Zipkin lower-cases span and service names on intake (as its
 * own collector does), everything else is kept as sent.
 */
export function expected(span) {
  const out = { ...span, name: span.name.toLowerCase() };
  for (const k of ['localEndpoint', 'remoteEndpoint']) {
    if (span[k]) out[k] = { ...span[k], serviceName: span[k].serviceName.toLowerCase() };
  }
  return out;
}

const ID_KEY = Buffer.from('"id":"');
const NL = 0x0a;

/**
 * Reads every line of the output. The id is found by its key (the first `"id":"` of a line is the span's
 * own: nothing nested in a Zipkin span has an `id` key); a line without one is reported as malformed.
 */
export async function scan(workDir, visit) {
  const files = outputFiles(workDir);
  const out = await readLines(files, line);
  return { files: files.map((f) => basename(f)), ...out };

  function line(buf, start, end) {
    const k = buf.indexOf(ID_KEY, start);
    if (k === -1 || k + ID_KEY.length + 17 > end || buf[k + ID_KEY.length + 16] !== 0x22) return false;
    visit(buf, k + ID_KEY.length, () => JSON.parse(buf.toString('utf8', start, end)));
    return true;
  }
}

/**
 * Calls `onLine(buf, start, end)` for every newline-terminated line of `files`, in order; a line it
 * returns false for, and a last line without its newline (a torn write), count as malformed.
 */
export async function readLines(files, onLine) {
  let lines = 0;
  let bytes = 0;
  let malformed = 0;
  const malformedSamples = [];
  for (const path of files) {
    bytes += statSync(path).size;
    let rest = Buffer.alloc(0);
    for await (const chunk of createReadStream(path, { highWaterMark: 8 << 20 })) {
      const buf = rest.length > 0 ? Buffer.concat([rest, chunk]) : chunk;
      let start = 0;
      for (let nl = buf.indexOf(NL, start); nl !== -1; nl = buf.indexOf(NL, start)) {
        lines++;
        if (onLine(buf, start, nl) === false) {
          malformed++;
          if (malformedSamples.length < 5) malformedSamples.push(buf.toString('utf8', start, Math.min(nl, start + 300)));
        }
        start = nl + 1;
      }
      rest = Buffer.from(buf.subarray(start));
    }
    if (rest.length > 0) {
      lines++;
      malformed++;
      if (malformedSamples.length < 5) malformedSamples.push(`(no trailing newline) ${rest.toString('utf8', 0, 300)}`);
    }
  }
  return { lines, bytes, malformed, malformedSamples };
}
