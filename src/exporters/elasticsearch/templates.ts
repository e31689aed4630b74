/**
 * Zipkin's index templates (zipkin-storage/elasticsearch `VersionSpecificTemplates`, with search enabled
 * and strict trace ids, Zipkin's defaults), for the distributions this exporter writes to:
 * Elasticsearch 7–9 and OpenSearch 1–3. Both use `-` between prefix, type and day, no mapping types,
 * and the same bodies; a composable template (`/_index_template/`, settings and mappings inside
 * `template`, plus `priority`) when `template_priority` is set and the server has them (ES ≥ 7.8, any
 * OpenSearch), else a legacy one (`/_template/`).
 *
 * Spans written before these templates exist get dynamic mappings (`name` as text), after which
 * Zipkin's queries fail; the exporter installs them before its first write.
 */

export type Distribution = 'elasticsearch' | 'opensearch';

export interface ServerVersion {
  distribution: Distribution;
  /** e.g. "8.19.21". */
  number: string;
  major: number;
  minor: number;
}

export interface TemplateOptions {
  prefix: string;
  shards: number;
  replicas: number;
  priority?: number;
}

export interface IndexTemplate {
  /** `span`, `dependency` or `autocomplete`. */
  type: string;
  /** Path of the template, e.g. `/_template/zipkin-span_template`. */
  path: string;
  body: Record<string, unknown>;
}

/** Parses `version.number` (and `version.distribution`) of `GET /`; undefined when not a version. */
export function parseVersion(number: unknown, distribution: unknown): ServerVersion | undefined {
  if (typeof number !== 'string') return undefined;
  const m = /^(\d+)\.(\d+)/.exec(number);
  if (m === null) return undefined;
  return {
    distribution: distribution === 'opensearch' ? 'opensearch' : 'elasticsearch',
    number,
    major: Number(m[1]),
    minor: Number(m[2]),
  };
}

/** Why this exporter cannot write Zipkin's layout to that server; undefined when it can. */
export function unsupported(v: ServerVersion): string | undefined {
  if (v.distribution === 'opensearch') return v.major >= 1 && v.major <= 3 ? undefined : `OpenSearch ${v.number} is not supported (1.x to 3.x are)`;
  return v.major >= 7 && v.major <= 9 ? undefined : `Elasticsearch ${v.number} is not supported (7.x to 9.x are)`;
}

function composable(v: ServerVersion, priority: number | undefined): boolean {
  if (priority === undefined) return false;
  return v.distribution === 'opensearch' || v.major > 7 || (v.major === 7 && v.minor >= 8);
}

const KEYWORD = { type: 'keyword', norms: false };
const SHORT_STRING_LENGTH = 256;

/** The three templates Zipkin installs, in the order it installs them. */
export function zipkinTemplates(v: ServerVersion, o: TemplateOptions): IndexTemplate[] {
  const settings = {
    'index.number_of_shards': o.shards,
    'index.number_of_replicas': o.replicas,
    'index.requests.cache.enable': true,
  };
  const spanMappings = {
    _source: { excludes: ['_q'] },
    dynamic_templates: [
      { strings: { mapping: { type: 'keyword', norms: false, ignore_above: SHORT_STRING_LENGTH }, match_mapping_type: 'string', match: '*' } },
    ],
    properties: {
      traceId: KEYWORD,
      name: KEYWORD,
      localEndpoint: { type: 'object', dynamic: false, properties: { serviceName: KEYWORD } },
      remoteEndpoint: { type: 'object', dynamic: false, properties: { serviceName: KEYWORD } },
      timestamp_millis: { type: 'date', format: 'epoch_millis' },
      duration: { type: 'long' },
      annotations: { enabled: false },
      tags: { enabled: false },
      _q: KEYWORD,
    },
  };
  const mappings: Record<string, Record<string, unknown>> = {
    span: spanMappings,
    dependency: { enabled: false },
    autocomplete: { enabled: true, properties: { tagKey: KEYWORD, tagValue: KEYWORD } },
  };
  const useComposable = composable(v, o.priority);
  return ['span', 'dependency', 'autocomplete'].map((type) => {
    const name = `${o.prefix}-${type}_template`;
    const index_patterns = `${o.prefix}-${type}-*`;
    if (useComposable) {
      return {
        type,
        path: `/_index_template/${name}`,
        body: { index_patterns, template: { settings, mappings: mappings[type] }, priority: o.priority },
      };
    }
    return { type, path: `/_template/${name}`, body: { index_patterns, settings, mappings: mappings[type] } };
  });
}
