/**
 * The resource → scope → spans nesting both OTLP encoders (protobuf and JSON) write an
 * `ExportTraceServiceRequest` in.
 */
import type { InstrumentationScope, Resource, Span } from '../model/span.js';

/**
 * Spans by resource object, then scope object, each group in first-seen order. Grouping is by
 * identity, not by content. Consecutive spans with the same resource and scope are the fast path.
 */
export function groupByResourceAndScope(spans: readonly Span[]): Map<Resource, Map<InstrumentationScope, Span[]>> {
  const byResource = new Map<Resource, Map<InstrumentationScope, Span[]>>();
  let lastResource: Resource | undefined;
  let lastScope: InstrumentationScope | undefined;
  let lastGroup: Span[] = [];
  for (let i = 0; i < spans.length; i++) {
    const s = spans[i];
    if (s.resource === lastResource && s.scope === lastScope) {
      lastGroup.push(s);
      continue;
    }
    let scopes = byResource.get(s.resource);
    if (scopes === undefined) {
      scopes = new Map();
      byResource.set(s.resource, scopes);
    }
    let group = scopes.get(s.scope);
    if (group === undefined) {
      group = [];
      scopes.set(s.scope, group);
    }
    group.push(s);
    lastResource = s.resource;
    lastScope = s.scope;
    lastGroup = group;
  }
  return byResource;
}
