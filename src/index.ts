/**
 * The public API of spanline, for plugin authors and for embedding. Everything exported here is
 * documented in the README ("Writing a plugin") and kept stable within a major version.
 */
export {
  definePlugin,
  defineReceiver,
  defineProcessor,
  defineExporter,
  defineExtension,
  RefusedError,
  isRefused,
  SUCCESS,
  retryable,
  permanent,
  prepareAndSend,
} from './component/types.js';
export type {
  Plugin,
  ComponentFactory,
  ComponentKind,
  ComponentContext,
  Stability,
  SpanConsumer,
  ExportResult,
  Receiver,
  ReceiverFactory,
  ReceiverContext,
  Processor,
  ProcessorFactory,
  ProcessorContext,
  Exporter,
  PreparedRequest,
  ExporterFactory,
  ExporterContext,
  Extension,
  ExtensionFactory,
  ExtensionContext,
} from './component/types.js';
export { s } from './config/schema.js';
export type { Infer, InferShape, Schema, ObjectSchema } from './config/schema.js';
export { Span, SpanKind, StatusCode, SERVICE_NAME, serviceNameOf, newResource, cloneBatch } from './model/span.js';
export type {
  AnyValue,
  Attributes,
  Endpoint,
  InstrumentationScope,
  KeyValueList,
  Resource,
  SpanBatch,
  SpanEvent,
  SpanLink,
  Status,
} from './model/span.js';
export { startFromConfig, validateConfig } from './service/run.js';
export type { SelfMetrics } from './telemetry/metrics.js';
