import { s, type ObjectSchema, type Shape } from '../config/schema.js';
import type { Path } from '../config/schema.js';
import { exporterHelperShape, validateExporterHelper, type ExporterHelperConfig } from '../pipeline/exporter-queue.js';
import type { ComponentFactory, ComponentKind, Stability } from './types.js';

export interface RegisteredComponent {
  factory: ComponentFactory;
  /** The schema the config is validated against (exporters get the queue/retry keys added). */
  schema: ObjectSchema<Shape>;
  /** The factory's cross-key checks, and the framework's for the keys it adds. */
  validate(config: unknown): { path: Path; message: string }[];
  /** `built-in`, or the plugin's name. */
  source: string;
}

const TYPE_PATTERN = /^[a-z][a-z0-9_]{0,62}$/;
const KINDS: readonly ComponentKind[] = ['receiver', 'processor', 'exporter', 'extension'];
const STABILITIES: readonly Stability[] = ['development', 'alpha', 'beta', 'stable', 'deprecated'];

/** Why a value is not a component factory, or undefined if it is one. */
export function factoryShapeProblem(f: unknown): string | undefined {
  if (f === null || typeof f !== 'object') return 'a component is not an object';
  const c = f as Partial<ComponentFactory> & Record<string, unknown>;
  if (!KINDS.includes(c.kind as ComponentKind)) return `component kind must be one of ${KINDS.join(', ')}; got ${JSON.stringify(c.kind)}`;
  if (typeof c.type !== 'string' || !TYPE_PATTERN.test(c.type)) return `component type must be lower_snake_case; got ${JSON.stringify(c.type)}`;
  if (!STABILITIES.includes(c.stability as Stability)) return `${c.type}: stability must be one of ${STABILITIES.join(', ')}`;
  if (typeof c.create !== 'function') return `${c.type}: create must be a function`;
  const cfg = c.config as { check?: unknown; shape?: unknown } | undefined;
  if (!cfg || typeof cfg.check !== 'function' || typeof cfg.shape !== 'object') return `${c.type}: config must be a schema made with s.object(...)`;
  if (c.kind === 'processor' && typeof c.mutatesData !== 'boolean') return `${c.type}: processors must declare mutatesData`;
  return undefined;
}

export class ComponentRegistry {
  private readonly byKind = new Map<ComponentKind, Map<string, RegisteredComponent>>(KINDS.map((k) => [k, new Map()]));

  /** Throws with a message naming the clash when the type is already registered for that kind. */
  register(factory: ComponentFactory, source = 'built-in'): void {
    const problem = factoryShapeProblem(factory);
    if (problem) throw new Error(problem);
    const kinds = this.byKind.get(factory.kind)!;
    const existing = kinds.get(factory.type);
    if (existing) throw new Error(`${factory.kind} type "${factory.type}" is already registered by ${existing.source}`);
    const schema =
      factory.kind === 'exporter'
        ? (s.object({ ...factory.config.shape, ...exporterHelperShape() }) as unknown as ObjectSchema<Shape>)
        : (factory.config as ObjectSchema<Shape>);
    const own = (config: unknown) => factory.validate?.(config as never) ?? [];
    const validate =
      factory.kind === 'exporter' ? (config: unknown) => [...own(config), ...validateExporterHelper(config as ExporterHelperConfig)] : own;
    kinds.set(factory.type, { factory, schema, validate, source });
  }

  get(kind: ComponentKind, type: string): RegisteredComponent | undefined {
    return this.byKind.get(kind)!.get(type);
  }

  types(kind: ComponentKind): string[] {
    return [...this.byKind.get(kind)!.keys()];
  }

  all(): RegisteredComponent[] {
    return KINDS.flatMap((k) => [...this.byKind.get(k)!.values()]);
  }
}
