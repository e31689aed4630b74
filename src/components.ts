/** The built-in components. Adding one is one import and one line here. */
import { ComponentRegistry } from './component/registry.js';
import type { ComponentFactory } from './component/types.js';
import { debugExporter } from './exporters/debug/index.js';
import { fileExporter } from './exporters/file/index.js';
import { zipkinExporter } from './exporters/zipkin/index.js';
import { otlpExporter } from './exporters/otlp/index.js';
import { otlpHttpExporter } from './exporters/otlphttp/index.js';
import { elasticsearchExporter } from './exporters/elasticsearch/index.js';
import { mysqlExporter } from './exporters/mysql/index.js';
import { healthCheckExtension } from './extensions/health-check/index.js';
import { attributesProcessor } from './processors/attributes/index.js';
import { batchProcessor } from './processors/batch/index.js';
import { filterProcessor } from './processors/filter/index.js';
import { memoryLimiterProcessor } from './processors/memory-limiter/index.js';
import { probabilisticSamplerProcessor } from './processors/probabilistic-sampler/index.js';
import { redactionProcessor } from './processors/redaction/index.js';
import { tailSamplingProcessor } from './processors/tail-sampling/index.js';
import { otlpReceiver } from './receivers/otlp/index.js';
import { zipkinReceiver } from './receivers/zipkin/index.js';

export const builtInComponents: readonly ComponentFactory[] = [
  zipkinReceiver,
  otlpReceiver,
  memoryLimiterProcessor,
  batchProcessor,
  attributesProcessor,
  filterProcessor,
  probabilisticSamplerProcessor,
  redactionProcessor,
  tailSamplingProcessor,
  fileExporter,
  debugExporter,
  zipkinExporter,
  otlpExporter,
  otlpHttpExporter,
  elasticsearchExporter,
  mysqlExporter,
  healthCheckExtension,
] as ComponentFactory[];

export function builtInRegistry(): ComponentRegistry {
  const registry = new ComponentRegistry();
  for (const f of builtInComponents) registry.register(f);
  return registry;
}
