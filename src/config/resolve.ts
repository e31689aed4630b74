/**
 * Turns a loaded config into a validated, frozen service description: every component id resolved to a
 * registered factory and a checked config, every pipeline checked. All problems are collected.
 */
import type { ComponentRegistry, RegisteredComponent } from '../component/registry.js';
import type { ComponentKind } from '../component/types.js';
import { didYouMean, isPlainMap, s, type Context, type InferShape } from './schema.js';
import type { LoadedConfig } from './load.js';

const TOP_LEVEL_KEYS = ['receivers', 'processors', 'exporters', 'extensions', 'plugins', 'service'] as const;
const SECTION_KIND: Record<string, ComponentKind> = {
  receivers: 'receiver',
  processors: 'processor',
  exporters: 'exporter',
  extensions: 'extension',
};

const ID_PATTERN = /^([a-zA-Z][0-9a-zA-Z_]{0,62})(?:\/([^\s/][^\s]{0,1023}))?$/;

const idList = () => s.array(s.string().nonEmpty()).default([]);

export const serviceSchema = s.object({
  extensions: idList().describe('Extensions to start, by id.'),
  pipelines: s.record(
    s.object({
      receivers: idList().describe('Receivers feeding the pipeline.'),
      processors: idList().describe('Processors, applied in order.'),
      exporters: idList().describe('Exporters the pipeline fans out to.'),
    }),
  )
    .default({})
    .describe('Pipelines by id: `traces` or `traces/<name>`.'),
  telemetry: s.object({
    logs: s.object({
      level: s.enum('trace', 'debug', 'info', 'warn', 'error', 'silent').default('info').describe('Log level.'),
    }),
    metrics: s.object({
      address: s.endpoint().default('127.0.0.1:8888').describe('Where /metrics (Prometheus text format) is served.'),
      enabled: s.boolean().default(true).describe('Serve self-metrics.'),
    }),
  }),
  shutdown_timeout: s.duration().default(30_000).describe('Deadline for draining batches and queues on SIGTERM/SIGINT.'),
});

export type ServiceConfig = InferShape<typeof serviceSchema.shape>;

export interface ResolvedComponent {
  id: string;
  kind: ComponentKind;
  registered: RegisteredComponent;
  config: unknown;
}

export interface ResolvedPipeline {
  id: string;
  receivers: string[];
  processors: string[];
  exporters: string[];
}

export interface ResolvedConfig {
  components: Map<ComponentKind, Map<string, ResolvedComponent>>;
  pipelines: ResolvedPipeline[];
  service: ServiceConfig;
}

export function resolveConfig(loaded: LoadedConfig, registry: ComponentRegistry): ResolvedConfig | undefined {
  const root = loaded.value;
  for (const k of Object.keys(root)) {
    if (!(TOP_LEVEL_KEYS as readonly string[]).includes(k)) {
      loaded.issue([k], `unknown top-level key "${k}"${didYouMean(k, TOP_LEVEL_KEYS)}`, true);
    }
  }

  const components = new Map<ComponentKind, Map<string, ResolvedComponent>>();
  for (const [section, kind] of Object.entries(SECTION_KIND)) {
    const byId = new Map<string, ResolvedComponent>();
    components.set(kind, byId);
    const value = root[section];
    if (value === undefined || value === null) continue;
    if (!isPlainMap(value)) {
      loaded.issue([section], `expected a map of ${kind} ids to configs`);
      continue;
    }
    for (const [id, cfg] of Object.entries(value)) {
      const m = ID_PATTERN.exec(id);
      if (!m) {
        loaded.issue([section, id], `invalid ${kind} id "${id}": expected type or type/name`, true);
        continue;
      }
      const type = m[1];
      const registered = registry.get(kind, type);
      if (!registered) {
        const known = registry.types(kind);
        loaded.issue([section, id], `unknown ${kind} type "${type}"${didYouMean(type, known)}; known types: ${known.join(', ') || 'none'}`, true);
        continue;
      }
      const ctx: Context = { issues: [] };
      const config = registered.schema.check(cfg ?? {}, [section, id], ctx);
      for (const i of ctx.issues) loaded.issue(i.path, i.message, i.message.startsWith('unknown key'));
      if (config === undefined) continue;
      const problems = registered.validate(config);
      for (const p of problems) loaded.issue([section, id, ...p.path], p.message);
      if (problems.length === 0) byId.set(id, { id, kind, registered, config });
    }
  }

  const ctx: Context = { issues: [] };
  const service = serviceSchema.check(root.service ?? {}, ['service'], ctx);
  for (const i of ctx.issues) loaded.issue(i.path, i.message, i.message.startsWith('unknown key'));

  const pipelines: ResolvedPipeline[] = [];
  if (service) {
    const declared = (section: string) => (isPlainMap(root[section]) ? Object.keys(root[section] as object) : []);
    const check = (path: (string | number)[], id: string, kind: ComponentKind, section: string) => {
      if (!declared(section).includes(id)) {
        loaded.issue(path, `references ${kind} "${id}" which is not configured${didYouMean(id, declared(section))}`);
      }
    };
    service.extensions.forEach((id, i) => check(['service', 'extensions', i], id, 'extension', 'extensions'));
    if (Object.keys(service.pipelines).length === 0) {
      loaded.issue(['service', 'pipelines'], 'no pipelines are configured; add at least one traces pipeline');
    }
    for (const [pid, p] of Object.entries(service.pipelines)) {
      const path = ['service', 'pipelines', pid];
      const m = /^([a-z]+)(?:\/(.+))?$/.exec(pid);
      if (!m || m[1] !== 'traces') {
        loaded.issue(path, `invalid pipeline id "${pid}": spanline runs traces pipelines only ("traces" or "traces/<name>")`, true);
        continue;
      }
      if (p.receivers.length === 0) loaded.issue(path, 'a pipeline needs at least one receiver', true);
      if (p.exporters.length === 0) loaded.issue(path, 'a pipeline needs at least one exporter', true);
      p.receivers.forEach((id, i) => check([...path, 'receivers', i], id, 'receiver', 'receivers'));
      p.exporters.forEach((id, i) => check([...path, 'exporters', i], id, 'exporter', 'exporters'));
      p.processors.forEach((id, i) => {
        check([...path, 'processors', i], id, 'processor', 'processors');
        if (p.processors.indexOf(id) !== i) loaded.issue([...path, 'processors', i], `processor "${id}" appears more than once in the pipeline`);
      });
      for (const list of ['receivers', 'exporters'] as const) {
        p[list].forEach((id, i) => {
          if (p[list].indexOf(id) !== i) loaded.issue([...path, list, i], `${list.slice(0, -1)} "${id}" appears more than once in the pipeline`);
        });
      }
      pipelines.push({ id: pid, receivers: [...p.receivers], processors: [...p.processors], exporters: [...p.exporters] });
    }
  }

  if (loaded.issues.length > 0 || !service) return undefined;
  return { components, pipelines, service };
}
