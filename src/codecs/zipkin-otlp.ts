/**
 * The Zipkin-only fields of a span (endpoints, `shared`, `debug`) as OTLP attributes, for the OTLP
 * encoders. The Zipkin encoders read these attributes back (see zipkin-view.ts), so a Zipkin span that
 * travels as OTLP (spanline agent → spanline gateway) comes out as the same Zipkin span. The whole
 * mapping, both directions, is in ARCHITECTURE.md ("Zipkin ↔ OTLP mapping").
 */
import type { Attributes, Endpoint, Span } from '../model/span.js';
import {
  NET_HOST_IP,
  NET_HOST_PORT,
  NET_PEER_IP,
  NET_PEER_PORT,
  PEER_SERVICE,
  ZIPKIN_DEBUG,
  ZIPKIN_LOCAL_IPV6,
  ZIPKIN_REMOTE_IPV6,
  ZIPKIN_SHARED,
} from '../model/zipkin-attributes.js';

/**
 * The attributes to write for `span` besides its own, or undefined when there are none (the common case
 * for spans that did not come from Zipkin). Keys the span already has are left out: its own value wins.
 * Does not change the span.
 *
 * - local endpoint: `net.host.ip` (the IPv4, else the IPv6), `net.host.port` (int),
 *   `zipkin.local_endpoint.ipv6` when the endpoint has both an IPv4 and an IPv6;
 * - remote endpoint: `peer.service`, `net.peer.ip`, `net.peer.port`, `zipkin.remote_endpoint.ipv6` alike;
 * - `zipkin.shared` and `zipkin.debug` (booleans) when true.
 *
 * The local service name is the resource's `service.name`, which OTLP carries as it is.
 */
export function zipkinFieldsToAttributes(span: Span): Attributes | undefined {
  const local = span.localEndpoint;
  const remote = span.remoteEndpoint;
  if (local === undefined && remote === undefined && !span.shared && !span.debug) return undefined;
  const own = span.attributes;
  let out: Attributes | undefined;
  if (local !== undefined) out = putEndpoint(own, out, local, NET_HOST_IP, NET_HOST_PORT, ZIPKIN_LOCAL_IPV6);
  if (remote !== undefined) {
    if (remote.serviceName !== '') out = put(own, out, PEER_SERVICE, remote.serviceName);
    out = putEndpoint(own, out, remote, NET_PEER_IP, NET_PEER_PORT, ZIPKIN_REMOTE_IPV6);
  }
  if (span.shared) out = put(own, out, ZIPKIN_SHARED, true);
  if (span.debug) out = put(own, out, ZIPKIN_DEBUG, true);
  return out;
}

function put(own: Attributes, out: Attributes | undefined, key: string, value: string | bigint | boolean): Attributes | undefined {
  if (Object.hasOwn(own, key)) return out;
  out ??= {};
  out[key] = value;
  return out;
}

function putEndpoint(own: Attributes, out: Attributes | undefined, ep: Endpoint, ipKey: string, portKey: string, ipv6Key: string): Attributes | undefined {
  if (ep.ipv4 !== '') {
    out = put(own, out, ipKey, ep.ipv4);
    if (ep.ipv6 !== '') out = put(own, out, ipv6Key, ep.ipv6);
  } else if (ep.ipv6 !== '') {
    out = put(own, out, ipKey, ep.ipv6);
  }
  if (ep.port !== 0) out = put(own, out, portKey, BigInt(ep.port));
  return out;
}
