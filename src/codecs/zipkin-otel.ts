/**
 * What Zipkin tags mean in OpenTelemetry terms: span status (`otel.status_code`,
 * `otel.status_description`, `error`), instrumentation scope (`otel.scope.*`, `otel.library.*`), trace
 * state (`w3c.tracestate`), and the attributes that stand for endpoints (`net.*`, `network.*`,
 * `peer.service`, …). Used both ways:
 *
 * - decoding: every Zipkin decoder applies these to the span it builds and keeps the tags as they are,
 *   so that processors see OTel status and scope while Zipkin in → Zipkin out stays unchanged;
 * - encoding (zipkin-view.ts): a span's status, scope and trace state are written as tags only when its
 *   tags do not already say them, by the same reading.
 */
import { StatusCode, UNSET_STATUS, type Attributes, type InstrumentationScope, type Span, type Status } from '../model/span.js';
import {
  NETWORK_LOCAL_ADDRESS,
  NETWORK_LOCAL_PORT,
  NETWORK_PEER_ADDRESS,
  NETWORK_PEER_PORT,
  NET_HOST_IP,
  NET_HOST_PORT,
  NET_PEER_IP,
  NET_PEER_PORT,
  OTEL_LIBRARY_NAME,
  OTEL_LIBRARY_VERSION,
  OTEL_SCOPE_NAME,
  OTEL_SCOPE_VERSION,
  OTEL_STATUS_CODE,
  OTEL_STATUS_DESCRIPTION,
  PEER_SERVICE,
  SERVICE_PEER_NAME,
  W3C_TRACESTATE,
  ZIPKIN_ERROR,
  ZIPKIN_LOCAL_IPV6,
  ZIPKIN_REMOTE_IPV6,
} from '../model/zipkin-attributes.js';

// Groups of tag keys that a decoder must interpret; decoders OR `zipkinTagGroup(key)` over a span's tag
// keys, so that a span without any of them costs one map lookup per tag and nothing more.
const TAGS_STATUS = 1;
const TAGS_SCOPE = 2;
const TAGS_TRACE_STATE = 4;
/** Keys that the Zipkin encoders read as the local endpoint when a span has none. */
const TAGS_LOCAL_ENDPOINT = 8;
/** Keys that the Zipkin encoders read as the remote endpoint when a span has none. */
const TAGS_REMOTE_ENDPOINT = 16;

// The tag keys with an OTel meaning, numbered: a key's number is its index in OTEL_TAG_KEYS, and the
// slot that the Zipkin encoders keep a span's value for the key in (zipkin-view.ts).
export const S_ERROR = 0;
export const S_STATUS_CODE = 1;
export const S_STATUS_DESCRIPTION = 2;
export const S_SCOPE_NAME = 3;
export const S_SCOPE_VERSION = 4;
export const S_LIBRARY_NAME = 5;
export const S_LIBRARY_VERSION = 6;
export const S_TRACESTATE = 7;
export const S_NET_HOST_IP = 8;
export const S_NET_HOST_PORT = 9;
export const S_NETWORK_LOCAL_ADDRESS = 10;
export const S_NETWORK_LOCAL_PORT = 11;
export const S_LOCAL_IPV6 = 12;
export const S_PEER_SERVICE = 13;
export const S_SERVICE_PEER_NAME = 14;
export const S_NET_PEER_IP = 15;
export const S_NET_PEER_PORT = 16;
export const S_NETWORK_PEER_ADDRESS = 17;
export const S_NETWORK_PEER_PORT = 18;
export const S_REMOTE_IPV6 = 19;

/** Each key with its group, in the order of the numbers above. */
const OTEL_TAGS: readonly (readonly [key: string, group: number])[] = [
  [ZIPKIN_ERROR, TAGS_STATUS],
  [OTEL_STATUS_CODE, TAGS_STATUS],
  [OTEL_STATUS_DESCRIPTION, TAGS_STATUS],
  [OTEL_SCOPE_NAME, TAGS_SCOPE],
  [OTEL_SCOPE_VERSION, TAGS_SCOPE],
  [OTEL_LIBRARY_NAME, TAGS_SCOPE],
  [OTEL_LIBRARY_VERSION, TAGS_SCOPE],
  [W3C_TRACESTATE, TAGS_TRACE_STATE],
  [NET_HOST_IP, TAGS_LOCAL_ENDPOINT],
  [NET_HOST_PORT, TAGS_LOCAL_ENDPOINT],
  [NETWORK_LOCAL_ADDRESS, TAGS_LOCAL_ENDPOINT],
  [NETWORK_LOCAL_PORT, TAGS_LOCAL_ENDPOINT],
  [ZIPKIN_LOCAL_IPV6, TAGS_LOCAL_ENDPOINT],
  [PEER_SERVICE, TAGS_REMOTE_ENDPOINT],
  [SERVICE_PEER_NAME, TAGS_REMOTE_ENDPOINT],
  [NET_PEER_IP, TAGS_REMOTE_ENDPOINT],
  [NET_PEER_PORT, TAGS_REMOTE_ENDPOINT],
  [NETWORK_PEER_ADDRESS, TAGS_REMOTE_ENDPOINT],
  [NETWORK_PEER_PORT, TAGS_REMOTE_ENDPOINT],
  [ZIPKIN_REMOTE_IPV6, TAGS_REMOTE_ENDPOINT],
];

/** The tag keys with an OTel meaning, by number (see S_ERROR and the rest). */
export const OTEL_TAG_KEYS: readonly string[] = OTEL_TAGS.map(([key]) => key);

const GROUPS = new Map<string, number>(OTEL_TAGS);

/** The group of a tag key (0 for an ordinary tag). */
export function zipkinTagGroup(key: string): number {
  return GROUPS.get(key) ?? 0;
}

const OK_STATUS: Status = Object.freeze({ code: StatusCode.Ok, message: '' });
const ERROR_STATUS: Status = Object.freeze({ code: StatusCode.Error, message: '' });

function status(code: StatusCode.Ok | StatusCode.Error, message: string): Status {
  if (message === '') return code === StatusCode.Ok ? OK_STATUS : ERROR_STATUS;
  return { code, message };
}

/**
 * The status that tags say (each argument is the tag's value, undefined when absent):
 * - `otel.status_code` `OK` or `ERROR` (the OTel specification's names) or `STATUS_CODE_OK` /
 *   `STATUS_CODE_ERROR` (what the OpenTelemetry Collector writes) decides the code; the message is
 *   `otel.status_description`, else (for an error) the `error` tag's value;
 * - otherwise an `error` tag means Error, with the tag's value as message unless it is "" or "true"
 *   (Zipkin instrumentation writes the exception message or just "true");
 * - otherwise Unset.
 */
export function statusFromZipkinTags(error: string | undefined, code: string | undefined, description: string | undefined): Status {
  if (code === 'ERROR' || code === 'STATUS_CODE_ERROR') return status(StatusCode.Error, description ?? errorMessage(error));
  if (code === 'OK' || code === 'STATUS_CODE_OK') return status(StatusCode.Ok, description ?? '');
  if (error !== undefined) return status(StatusCode.Error, errorMessage(error));
  return UNSET_STATUS;
}

function errorMessage(error: string | undefined): string {
  return error === undefined || error === '' || error === 'true' ? '' : error;
}

/** The scope name that tags say: `otel.scope.name`, else `otel.library.name` ('' when neither). */
export function scopeNameFromZipkinTags(scopeName: string | undefined, libraryName: string | undefined): string {
  return scopeName ?? libraryName ?? '';
}

function stringTag(a: Attributes, key: string): string | undefined {
  const v = a[key];
  return typeof v === 'string' ? v : undefined;
}

/**
 * Sets status, scope and trace state from the tags of a span just decoded from Zipkin (`groups`: see
 * {@link zipkinTagGroup}); `scopes` shares one scope object per name and version within a decode call.
 *
 * When a tag stands for an endpoint the span does not have (say `net.peer.ip` on a span without remote
 * endpoint), the endpoint is set to an empty one: it tells the Zipkin encoders that the span has its
 * Zipkin endpoints already, so that they write the tag back as a tag instead of reading it as the
 * endpoint.
 */
export function applyZipkinTagSemantics(span: Span, groups: number, scopes: Map<string, InstrumentationScope>): void {
  const a = span.attributes;
  if ((groups & TAGS_STATUS) !== 0) {
    span.status = statusFromZipkinTags(stringTag(a, ZIPKIN_ERROR), stringTag(a, OTEL_STATUS_CODE), stringTag(a, OTEL_STATUS_DESCRIPTION));
  }
  if ((groups & TAGS_SCOPE) !== 0) {
    const name = scopeNameFromZipkinTags(stringTag(a, OTEL_SCOPE_NAME), stringTag(a, OTEL_LIBRARY_NAME));
    if (name !== '') {
      const version = stringTag(a, OTEL_SCOPE_VERSION) ?? stringTag(a, OTEL_LIBRARY_VERSION) ?? '';
      const key = name + '\u0000' + version;
      let scope = scopes.get(key);
      if (scope === undefined) {
        scope = { name, version, attributes: {}, droppedAttributesCount: 0 };
        scopes.set(key, scope);
      }
      span.scope = scope;
    }
  }
  if ((groups & TAGS_TRACE_STATE) !== 0) span.traceState = stringTag(a, W3C_TRACESTATE) ?? '';
  if ((groups & TAGS_LOCAL_ENDPOINT) !== 0 && span.localEndpoint === undefined) {
    span.localEndpoint = { serviceName: '', ipv4: '', ipv6: '', port: 0 };
  }
  if ((groups & TAGS_REMOTE_ENDPOINT) !== 0 && span.remoteEndpoint === undefined) {
    span.remoteEndpoint = { serviceName: '', ipv4: '', ipv6: '', port: 0 };
  }
}
