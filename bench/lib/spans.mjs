/**
 * Realistic spans for the load generator, independent of any wire format: each request is a list of
 * small traces (1–8 spans, a root and children pointing at an earlier span of the same trace) from a
 * handful of services, as HTTP servers/clients and Kafka producers/consumers, with ~6 tags and 1–2
 * annotations each — about 500–700 bytes per span in Zipkin v2 JSON.
 *
 * The output is deterministic in `seed`, so the verifier regenerates exactly what the load generator
 * sent. Ids are not part of a logical span: they are stamped per request (see ids.mjs).
 */

/** mulberry32: small, fast, good enough to vary payloads. */
export function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const SERVICES = [
  'frontend', 'checkout-service', 'cart-service', 'payment-gateway', 'inventory', 'shipping-quote',
  'user-profile', 'search-api', 'recommendation-engine', 'auth-service', 'pricing', 'notification-worker',
];
const ROUTES = [
  ['GET', '/api/v1/orders/{orderId}', (r) => `/api/v1/orders/${100000 + Math.floor(r() * 900000)}`],
  ['POST', '/api/v1/orders', () => '/api/v1/orders'],
  ['GET', '/api/v2/cart/{userId}/items', (r) => `/api/v2/cart/u-${Math.floor(r() * 1e7)}/items`],
  ['PUT', '/api/v2/cart/{userId}/items/{sku}', (r) => `/api/v2/cart/u-${Math.floor(r() * 1e7)}/items/SKU-${Math.floor(r() * 99999)}`],
  ['GET', '/api/v1/products/search', () => '/api/v1/products/search'],
  ['POST', '/api/v1/payments/authorize', () => '/api/v1/payments/authorize'],
  ['GET', '/api/v1/users/{id}/profile', (r) => `/api/v1/users/${Math.floor(r() * 1e8)}/profile`],
  ['DELETE', '/api/v1/sessions/{token}', (r) => `/api/v1/sessions/${Math.floor(r() * 1e12).toString(36)}`],
];
const STATUS = ['200', '200', '200', '200', '201', '204', '304', '404', '500', '503'];
const TOPICS = ['orders.created', 'payments.authorized', 'inventory.reserved', 'emails.outbound'];
const COMPONENTS = ['spring-webmvc', 'express', 'grpc-netty', 'aiohttp', 'net/http'];

const pick = (r, xs) => xs[Math.floor(r() * xs.length)];
const ip = (r) => `10.${Math.floor(r() * 256)}.${Math.floor(r() * 256)}.${1 + Math.floor(r() * 254)}`;
const endpoint = (r, serviceName, port) => ({ serviceName, ipv4: ip(r), port });

/**
 * @typedef {object} LogicalSpan
 * @property {object} fields      Zipkin v2 JSON fields except traceId/parentId/id, in wire order
 * @property {number} parentIdx   index of the parent span in the request, or -1 for a root
 * @property {number} rootIdx     index of the trace's root span in the request (defines the trace id)
 * @property {16|32} traceDigits  64- or 128-bit trace id
 */

/** The spans of one request body. @returns {LogicalSpan[]} */
export function requestSpans(r, count, baseTimeUs) {
  const out = [];
  while (out.length < count) {
    const size = Math.min(count - out.length, 1 + Math.floor(r() * 8));
    const rootIdx = out.length;
    const traceDigits = r() < 0.7 ? 32 : 16;
    const start = baseTimeUs + Math.floor(r() * 60_000_000);
    for (let k = 0; k < size; k++) {
      const parentIdx = k === 0 ? -1 : rootIdx + Math.floor(r() * k);
      out.push({ fields: spanFields(r, k, start + k * 137), parentIdx, rootIdx, traceDigits });
    }
  }
  return out;
}

function spanFields(r, depth, timestamp) {
  const local = pick(r, SERVICES);
  let remote = pick(r, SERVICES);
  if (remote === local) remote = SERVICES[(SERVICES.indexOf(local) + 1) % SERVICES.length];
  const duration = 50 + Math.floor(r() * 250_000);
  const roll = r();
  const kind = depth === 0 ? 'SERVER' : roll < 0.45 ? 'CLIENT' : roll < 0.8 ? 'SERVER' : roll < 0.9 ? 'PRODUCER' : 'CONSUMER';
  const ann = [{ timestamp: timestamp + 3, value: kind === 'CLIENT' ? 'ws' : 'wr' }];
  if (r() < 0.5) ann.push({ timestamp: timestamp + Math.floor(duration / 2), value: pick(r, ['cache.miss', 'retry', 'db.query.start', 'gc.pause']) });
  if (kind === 'PRODUCER' || kind === 'CONSUMER') {
    const topic = pick(r, TOPICS);
    return {
      kind,
      name: `${kind === 'PRODUCER' ? 'send' : 'poll'} ${topic}`,
      timestamp,
      duration,
      localEndpoint: endpoint(r, local, 8000 + Math.floor(r() * 1000)),
      remoteEndpoint: endpoint(r, 'kafka', 9092),
      annotations: ann,
      tags: {
        'messaging.system': 'kafka',
        'messaging.destination': topic,
        'messaging.kafka.partition': String(Math.floor(r() * 32)),
        'messaging.message_id': `m-${Math.floor(r() * 1e12).toString(36)}`,
        'host.name': `${local}-${Math.floor(r() * 1e6).toString(36)}-${Math.floor(r() * 1e5).toString(36)}`,
        'component': 'kafka-clients',
      },
    };
  }
  const [method, route, path] = pick(r, ROUTES);
  const p = path(r);
  const status = pick(r, STATUS);
  const tags = {
    'http.method': method,
    'http.path': p,
    'http.route': route,
    'http.status_code': status,
    'http.url': `http://${kind === 'CLIENT' ? remote : local}:8080${p}`,
    'component': pick(r, COMPONENTS),
  };
  if (status >= '500') tags.error = status === '500' ? 'Internal Server Error' : 'Service Unavailable';
  return {
    kind,
    name: `${method.toLowerCase()} ${route}`,
    timestamp,
    duration,
    localEndpoint: endpoint(r, local, 8080),
    remoteEndpoint: endpoint(r, kind === 'CLIENT' ? remote : 'client', kind === 'CLIENT' ? 8080 : 30000 + Math.floor(r() * 30000)),
    annotations: ann,
    tags,
  };
}
