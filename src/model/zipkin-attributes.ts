/**
 * Attribute keys that carry Zipkin-only fields through OTLP, and OTel conventions used when converting
 * between the two. Shared by the Zipkin and OTLP codecs so that both sides agree.
 *
 * Zipkin → OTLP writes these from the span's Zipkin fields; OTLP → Zipkin reads them back, so a Zipkin
 * span that travels as OTLP (spanline agent → spanline gateway) comes out as the same Zipkin span.
 */

/** Zipkin `shared` (boolean attribute); the OpenTelemetry Collector drops it. */
export const ZIPKIN_SHARED = 'zipkin.shared';
/** Zipkin `debug` (boolean attribute); the OpenTelemetry Collector drops it. */
export const ZIPKIN_DEBUG = 'zipkin.debug';
/** An endpoint's IPv6 when the endpoint has both an IPv4 (in the `*.ip` key below) and an IPv6. */
export const ZIPKIN_LOCAL_IPV6 = 'zipkin.local_endpoint.ipv6';
export const ZIPKIN_REMOTE_IPV6 = 'zipkin.remote_endpoint.ipv6';

// The OpenTelemetry Collector's default Zipkin mapping (old network conventions).
export const NET_HOST_IP = 'net.host.ip';
export const NET_HOST_PORT = 'net.host.port';
export const PEER_SERVICE = 'peer.service';
export const NET_PEER_IP = 'net.peer.ip';
export const NET_PEER_PORT = 'net.peer.port';
// Newer conventions, also read when converting OTLP to Zipkin.
export const NETWORK_LOCAL_ADDRESS = 'network.local.address';
export const NETWORK_LOCAL_PORT = 'network.local.port';
export const NETWORK_PEER_ADDRESS = 'network.peer.address';
export const NETWORK_PEER_PORT = 'network.peer.port';
export const SERVICE_PEER_NAME = 'service.peer.name';

// Status and scope, as the OpenTelemetry specification maps them to Zipkin tags.
export const OTEL_STATUS_CODE = 'otel.status_code';
export const OTEL_STATUS_DESCRIPTION = 'otel.status_description';
export const ZIPKIN_ERROR = 'error';
export const OTEL_SCOPE_NAME = 'otel.scope.name';
export const OTEL_SCOPE_VERSION = 'otel.scope.version';
export const OTEL_LIBRARY_NAME = 'otel.library.name';
export const OTEL_LIBRARY_VERSION = 'otel.library.version';
export const W3C_TRACESTATE = 'w3c.tracestate';
