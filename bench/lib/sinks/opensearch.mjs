/**
 * The `elasticsearch` exporter writing into the OpenSearch test cluster (`bash scripts/test-services.sh
 * up opensearch`; OPENSEARCH_URL from .cache/services/env, or the environment), under an index prefix
 * of its own per run. Dependency linking is off: the figure is span writes. The verifier reads every
 * span document back with a scroll; the indices are deleted after the scan.
 *
 * The cluster runs on the same machine, so its CPU competes with the daemon's (it is not pinned).
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

function opensearchUrl() {
  if (process.env.OPENSEARCH_URL) return process.env.OPENSEARCH_URL;
  const envFile = join(process.env.SPANLINE_SERVICES_DIR ?? '.cache/services', 'env');
  if (existsSync(envFile)) {
    const line = readFileSync(envFile, 'utf8').split('\n').find((l) => l.startsWith('OPENSEARCH_URL='));
    if (line) return line.slice('OPENSEARCH_URL='.length).trim();
  }
  throw new Error('the opensearch sink needs OpenSearch: bash scripts/test-services.sh up opensearch');
}

/** The index prefix of a run, from its scratch directory (the verifier gets only that). */
const prefixOf = (workDir) => `spanline-bench-${createHash('sha1').update(workDir).digest('hex').slice(0, 10)}`;

export function exporter(workDir) {
  return {
    id: 'elasticsearch',
    config: {
      endpoints: [opensearchUrl()],
      index: prefixOf(workDir),
      index_shards: 1,
      index_replicas: 0,
      dependencies: { enabled: false },
    },
  };
}

/** The same cluster and index prefix for a Zipkin server target (STORAGE_TYPE=elasticsearch). */
export async function zipkinStorage(workDir) {
  return { STORAGE_TYPE: 'elasticsearch', ES_HOSTS: opensearchUrl(), ES_INDEX: prefixOf(workDir), ES_INDEX_SHARDS: '1', ES_INDEX_REPLICAS: '0' };
}

/** What identifies the cluster's (single) node process (its CPU is reported beside the target's). */
export function storeProcess() {
  return ['org.opensearch.bootstrap.OpenSearch', '.cache/services/opensearch'];
}

/** Counts span documents while the load runs (the store-side rate): `_count` sees refreshed documents only. */
export function storedCounter(workDir) {
  const base = opensearchUrl();
  return {
    count: async () => {
      const r = await call(base, 'GET', `/${prefixOf(workDir)}-span-*/_count?allow_no_indices=true`);
      return r?.count ?? 0;
    },
    close: async () => undefined,
  };
}

/** As the file sink: names lower-cased by the receiver, the rest as sent. */
export { expected } from './file.mjs';

const ID_KEY = Buffer.from('"id":"');

async function call(base, method, path, body) {
  const res = await fetch(base + path, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  if (res.status >= 300 && res.status !== 404) throw new Error(`${method} ${path}: ${res.status} ${text.slice(0, 300)}`);
  return text === '' ? undefined : JSON.parse(text);
}

/**
 * Reads every span document. Each `_source` is handed to `visit` as its JSON text (the first `"id":"`
 * is the span's own: `traceId` and `parentId` keys have a capital I); `parse()` gives the Zipkin span
 * without the `timestamp_millis` search field (`_q` is not kept in `_source`).
 */
export async function scan(workDir, visit) {
  const base = opensearchUrl();
  const pattern = `${prefixOf(workDir)}-span-*`;
  let docs = 0;
  let bytes = 0;
  let malformed = 0;
  const malformedSamples = [];
  const indices = ((await call(base, 'GET', `/_cat/indices/${pattern}?format=json&h=index`)) ?? []).map((r) => r.index);
  await call(base, 'POST', `/${pattern}/_refresh`);
  let page = await call(base, 'POST', `/${pattern}/_search?scroll=2m`, { size: 10_000, sort: ['_doc'] });
  try {
    while (page?.hits?.hits?.length > 0) {
      for (const hit of page.hits.hits) {
        docs++;
        const buf = Buffer.from(JSON.stringify(hit._source));
        bytes += buf.length;
        const k = buf.indexOf(ID_KEY);
        if (k === -1 || buf[k + ID_KEY.length + 16] !== 0x22) {
          malformed++;
          if (malformedSamples.length < 5) malformedSamples.push(buf.toString('utf8', 0, 300));
          continue;
        }
        visit(buf, k + ID_KEY.length, () => {
          const span = JSON.parse(buf.toString('utf8'));
          delete span.timestamp_millis;
          return span;
        });
      }
      page = await call(base, 'POST', '/_search/scroll', { scroll: '2m', scroll_id: page._scroll_id });
    }
  } finally {
    if (page?._scroll_id) await call(base, 'DELETE', '/_search/scroll', { scroll_id: page._scroll_id }).catch(() => undefined);
    for (const index of indices) await call(base, 'DELETE', `/${index}`).catch(() => undefined);
    for (const type of ['span', 'dependency', 'autocomplete']) await call(base, 'DELETE', `/_template/${prefixOf(workDir)}-${type}_template`).catch(() => undefined);
    // A Zipkin server target names its templates after the prefix too, legacy or composable.
    for (const kind of ['_template', '_index_template']) {
      const found = await call(base, 'GET', `/${kind}/${prefixOf(workDir)}*`).catch(() => undefined);
      const names = kind === '_template' ? Object.keys(found ?? {}) : (found?.index_templates ?? []).map((t) => t.name);
      for (const name of names) await call(base, 'DELETE', `/${kind}/${name}`).catch(() => undefined);
    }
  }
  return { files: indices, lines: docs, bytes, malformed, malformedSamples };
}
