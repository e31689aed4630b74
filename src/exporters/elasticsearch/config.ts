/** Config of the `elasticsearch` exporter; the names of Zipkin's `ES_*` variables where there is one. */
import { s, type InferShape, type Path } from '../../config/schema.js';
import { tlsClientSchema, validateTls } from '../../transport/tls.js';

const URL_PATTERN = /^https?:\/\/[^\s]+$/;
// What Elasticsearch refuses in index names, and upper case (Zipkin's prefixes are lower case).
const INDEX_PREFIX = /^[a-z0-9][^\s*?"<>|,/\\#:A-Z]*$/;

export const elasticsearchConfig = s.object({
  endpoints: s
    .array(s.string().matches(URL_PATTERN, 'an http:// or https:// URL'))
    .describe('Base URLs of the cluster\'s nodes (`ES_HOSTS`), e.g. `[http://es:9200]`; requests go to them in turn.'),
  index: s
    .string()
    .matches(INDEX_PREFIX, 'a lower-case index name prefix')
    .default('zipkin')
    .describe('Index prefix (`ES_INDEX`): spans go to `<index>-span-YYYY-MM-DD`, links to `<index>-dependency-YYYY-MM-DD`.'),
  date_separator: s
    .string()
    .matches(/^[^\s*?"<>|,/\\#:A-Z]?$/, 'one character, or empty')
    .default('-')
    .describe('Separator of the date in index names (`ES_DATE_SEPARATOR`); empty gives `YYYYMMDD`.'),
  index_shards: s.int().range(1, 1024).default(5).describe('`index.number_of_shards` in the index templates (`ES_INDEX_SHARDS`).'),
  index_replicas: s.int().range(0, 100).default(1).describe('`index.number_of_replicas` in the index templates (`ES_INDEX_REPLICAS`).'),
  template_priority: s
    .int()
    .range(0, 2 ** 31 - 1)
    .optional()
    .describe('When set, install composable templates (`/_index_template`, ES ≥ 7.8 and OpenSearch) with this priority (`ES_TEMPLATE_PRIORITY`); otherwise legacy `/_template`.'),
  ensure_templates: s
    .boolean()
    .default(true)
    .describe("Install Zipkin's index templates, where missing, before the first write (`ES_ENSURE_TEMPLATES`)."),
  autocomplete_keys: s
    .array(s.string().nonEmpty())
    .default([])
    .describe("Tag keys whose values Zipkin's UI offers in its search form (`AUTOCOMPLETE_KEYS`): written to `<index>-autocomplete-<day>` as `{tagKey, tagValue}`."),
  autocomplete_ttl: s
    .duration()
    .atLeast(1)
    .default(3_600_000)
    .describe('How long a (day, key, value) written to the autocomplete index is not written again (`AUTOCOMPLETE_TTL`).'),
  autocomplete_cardinality: s
    .int()
    .range(1, 10_000_000)
    .default(20_000)
    .describe('Most (day, key, value) entries remembered for that (`AUTOCOMPLETE_CARDINALITY`); the oldest are forgotten first.'),
  bulk_max_bytes: s
    .byteSize()
    .default(5 * 1024 * 1024)
    .describe('Documents per `_bulk` request at most this many bytes (a single larger document goes alone): a batch is sent in as many requests as needed, below the cluster\'s `http.max_content_length` (100 MiB by default, 413 beyond).'),
  pipeline: s.string().nonEmpty().optional().describe('Ingest pipeline of every `_bulk` request (`ES_PIPELINE`).'),
  username: s.string().optional().describe('Basic authentication user (`ES_USERNAME`); needs `password`.'),
  password: s.string().optional().describe('Basic authentication password (`ES_PASSWORD`).'),
  api_key: s.string().nonEmpty().optional().describe('API key, sent as `Authorization: ApiKey <api_key>` (the base64 `id:key` form Elasticsearch issues).'),
  tls: tlsClientSchema(),
  dependencies: s
    .object({
      enabled: s
        .boolean()
        .default(true)
        .describe('Compute dependency links (what zipkin-dependencies does) for the days spans were written to, and store them in `<index>-dependency-<day>`.'),
      interval: s
        .duration()
        .atLeast(1000)
        .default(300_000)
        .describe('How often the days written to since the last run are linked again (each run reads those whole days back); also done at shutdown.'),
      max_spans_per_day: s
        .int()
        .range(1, 100_000_000)
        .default(5_000_000)
        .describe('Spans read per day and run at most; a day with more is linked from its first spans only (logged).'),
    })
    .describe('Dependency links, as Zipkin\'s UI shows them at `/dependency`.'),
});

export type ElasticsearchConfig = InferShape<typeof elasticsearchConfig.shape>;

export function validateElasticsearchConfig(cfg: ElasticsearchConfig): { path: Path; message: string }[] {
  const problems: { path: Path; message: string }[] = validateTls(cfg.tls);
  if (cfg.endpoints.length === 0) problems.push({ path: ['endpoints'], message: 'needs at least one URL' });
  const schemes = new Set(cfg.endpoints.map((e) => e.slice(0, e.indexOf(':'))));
  if (schemes.size > 1) problems.push({ path: ['endpoints'], message: 'mixes http:// and https:// URLs' });
  for (let i = 0; i < cfg.endpoints.length; i++) {
    try {
      new URL(cfg.endpoints[i]);
    } catch {
      problems.push({ path: ['endpoints', i], message: `${JSON.stringify(cfg.endpoints[i])} is not a valid URL` });
    }
  }
  if ((cfg.username === undefined) !== (cfg.password === undefined)) {
    problems.push({ path: [cfg.username === undefined ? 'username' : 'password'], message: 'username and password must be set together' });
  }
  if (cfg.api_key !== undefined && cfg.username !== undefined) {
    problems.push({ path: ['api_key'], message: 'set either api_key or username/password, not both' });
  }
  const tls = cfg.tls;
  // The shared TLS keys include gRPC's `insecure`, which means nothing to a REST client: refused rather than ignored.
  if (tls.insecure) problems.push({ path: ['tls', 'insecure'], message: 'is gRPC only: use an http:// endpoint for plaintext' });
  const usesTls = tls.insecure_skip_verify || tls.ca_file !== undefined || tls.cert_file !== undefined;
  if (usesTls && cfg.endpoints.some((e) => e.startsWith('http:'))) problems.push({ path: ['tls'], message: 'TLS options need https:// endpoints' });
  return problems;
}
