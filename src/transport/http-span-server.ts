/**
 * The HTTP side shared by span receivers: body limits applied after decompression, gzip/deflate, the
 * mapping of pipeline acceptance to status codes, and the receiver metrics. A receiver supplies routes
 * that turn a body into spans and, when its protocol prescribes the bodies of answers (OTLP/HTTP), how
 * to write them.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { createGunzip, createInflate } from 'node:zlib';
import type { Readable } from 'node:stream';
import Fastify, { type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { Receiver, ReceiverContext, RefusedError } from '../component/types.js';
import { isRefused } from '../component/types.js';
import { contentLength, refuseEarly } from './admission.js';
import type { Span } from '../model/span.js';
import { parseEndpoint } from '../service/http.js';
import { BodyError, BufferPool, readBody, type RequestBody } from './request-body.js';

export interface DecodeFailure {
  status: 400 | 413 | 415;
  message: string;
}

/**
 * Spans of a request of which the decoder left some out as invalid; the rest go on. The client is told
 * (an OTLP partial success) and the left-out spans are counted as refused with reason `invalid`.
 */
export interface PartiallyDecoded {
  spans: Span[];
  rejected: number;
  /** Why they were left out, for the client. */
  message: string;
}

/** A response: status, and an optional body with its Content-Type. */
export interface HttpAnswer {
  status: number;
  contentType?: string;
  body?: string | Buffer;
}

/** How a route answers; without it, success is 202 with no body and errors are text/plain. */
export interface SpanRouteAnswers {
  /** The spans were accepted; `partial` when the decoder left some out. */
  accepted(contentType: string, partial?: { rejected: number; message: string }): HttpAnswer;
  /**
   * The request failed with `status` (400, 413, 415, 500 or 503) because of `message`. A 503 gets a
   * Retry-After header from the server.
   */
  failed(contentType: string, status: number, message: string): HttpAnswer;
}

export interface SpanRoute {
  method: 'POST';
  url: string;
  /** Label for metrics, e.g. `http_json_v2`. */
  transport: string;
  /** For a URL that takes several encodings: the metrics label of a request by its Content-Type. */
  transportFor?(contentType: string): string;
  /**
   * Decodes a whole (decompressed) body. Throwing means the body is malformed: the client gets 400 with
   * the error's message. Called with a non-empty body only, which is a pooled buffer used again for
   * another request as soon as this returns: what it returns must not refer to `body`'s memory (copy
   * what it keeps, as `Buffer.from(body.subarray(…))` or a string does).
   */
  decode(body: Buffer, contentType: string): Span[] | DecodeFailure | PartiallyDecoded;
  answers?: SpanRouteAnswers;
}

const PLAIN_ANSWERS: SpanRouteAnswers = {
  accepted: () => ({ status: 202 }),
  failed: (_contentType, status, message) => ({ status, contentType: 'text/plain; charset=utf-8', body: message + '\n' }),
};

function transportOf(route: SpanRoute, contentType: string): string {
  return route.transportFor === undefined ? route.transport : route.transportFor(contentType);
}

async function send(reply: FastifyReply, answer: HttpAnswer): Promise<void> {
  void reply.code(answer.status);
  if (answer.contentType !== undefined) void reply.type(answer.contentType);
  await reply.send(answer.body);
}

/** A refusal's answer: 503 with Retry-After when the sender should retry, else 400. */
function refusalAnswer(reply: FastifyReply, answers: SpanRouteAnswers, contentType: string, refused: RefusedError): HttpAnswer {
  if (!refused.retryable) return answers.failed(contentType, 400, refused.message);
  reply.header('retry-after', String(Math.max(1, Math.ceil(refused.retryAfterMs / 1000))));
  return answers.failed(contentType, 503, refused.message);
}

export class SpanHttpServer implements Receiver {
  private app: FastifyInstance | undefined;
  private readonly bodies = new BufferPool();

  constructor(
    private readonly context: ReceiverContext,
    private readonly endpoint: string,
    private readonly maxBodySize: number,
    private readonly routes: SpanRoute[],
  ) {}

  /** The bound port, once started (tests listen on port 0). */
  port(): number {
    const a = this.app?.server.address();
    return a && typeof a === 'object' ? a.port : 0;
  }

  async start(): Promise<void> {
    const app = Fastify({
      logger: false,
      return503OnClosing: true,
      forceCloseConnections: 'idle',
    });
    app.removeAllContentTypeParsers();
    app.addContentTypeParser('*', (request: FastifyRequest, payload: Readable) => this.readBody(request.headers, payload));

    const byUrl = new Map(this.routes.map((r) => [r.url, r]));
    app.setErrorHandler((error: FastifyError, request, reply) => {
      let status = error.statusCode ?? 500;
      let message = error.message;
      if (status >= 500) {
        this.context.logger.error({ err: error }, 'request failed');
        message = 'internal error';
      } else if (status < 400) status = 400;
      const route = byUrl.get(request.routeOptions.url ?? '');
      const contentType = String(request.headers['content-type'] ?? '');
      this.countMalformed(route === undefined ? 'http' : transportOf(route, contentType), status);
      void send(reply, (route?.answers ?? PLAIN_ANSWERS).failed(contentType, status, message));
    });

    for (const route of this.routes) {
      app.route({
        method: route.method,
        url: route.url,
        // Early refusal: before the body is read or decompressed, so a refused body never fills memory.
        onRequest: async (request, reply) => {
          const contentType = String(request.headers['content-type'] ?? '');
          const refused = refuseEarly(this.context, transportOf(route, contentType), contentLength(request.headers['content-length']));
          if (refused === undefined) return;
          const answer = refusalAnswer(reply, route.answers ?? PLAIN_ANSWERS, contentType, refused);
          void reply.code(answer.status);
          if (answer.contentType !== undefined) void reply.type(answer.contentType);
          void reply.send(answer.body);
          return reply;
        },
        handler: (request, reply) => this.handle(route, request.body as RequestBody | undefined, String(request.headers['content-type'] ?? ''), reply),
      });
    }

    const { host, port } = parseEndpoint(this.endpoint);
    try {
      await app.listen({ host, port });
    } catch (e) {
      throw new Error(`cannot listen on ${this.endpoint}: ${(e as NodeJS.ErrnoException).code === 'EADDRINUSE' ? 'address already in use' : (e as Error).message}`);
    }
    this.app = app;
    this.context.logger.info({ endpoint: this.endpoint, port: this.port() }, 'receiver listening');
  }

  private countMalformed(transport: string, status: number): void {
    const reason = status === 413 ? 'too_large' : status === 415 ? 'unsupported' : 'malformed';
    this.context.metrics.receiverMalformed.inc({ receiver: this.context.id, transport, reason });
  }

  /**
   * The body of a request, decompressed, read into a pooled buffer (see request-body.ts) and limited to
   * maxBodySize: 413 past it, 415 for an unknown Content-Encoding, 400 for a corrupt one.
   */
  private readBody(headers: IncomingHttpHeaders, payload: Readable): Promise<RequestBody> {
    const encoding = (headers['content-encoding'] ?? '').toLowerCase();
    const declared = contentLength(headers['content-length']);
    const limit = this.maxBodySize;
    if (declared !== undefined && declared > limit) {
      return Promise.reject(new BodyError(413, `request body is larger than max_request_body_size (${limit} bytes)`));
    }
    if (encoding === '' || encoding === 'identity') {
      return readBody(payload, { maxBytes: limit, tooLarge: `request body is larger than max_request_body_size (${limit} bytes)`, exactLength: declared }, this.bodies);
    }
    const gzip = encoding.includes('gzip');
    if (!gzip && !encoding.includes('deflate')) return Promise.reject(new BodyError(415, `unsupported Content-Encoding "${encoding}"; use gzip or deflate`));
    const inflate = gzip ? createGunzip() : createInflate();
    payload.pipe(inflate);
    // pipe() does not pass on an end without 'end': a client gone half-way must fail the inflater.
    payload.on('close', () => {
      if (!payload.readableEnded) inflate.destroy(new Error('the request ended before its body did'));
    });
    return readBody(
      inflate,
      {
        maxBytes: limit,
        tooLarge: `request body is larger than max_request_body_size (${limit} bytes) after decompression`,
        exactLength: undefined,
        describeError: (e) => `Cannot ${gzip ? 'gunzip' : 'inflate'} spans: ${e.message}`,
        abandon() {
          // A bomb is never inflated whole; the rest of the compressed body is read and dropped.
          payload.unpipe(inflate);
          inflate.destroy();
          payload.resume();
        },
      },
      this.bodies,
    );
  }

  private async handle(route: SpanRoute, received: RequestBody | undefined, contentType: string, reply: FastifyReply): Promise<void> {
    const answers = route.answers ?? PLAIN_ANSWERS;
    if (received === undefined || received.bytes.length === 0) {
      await send(reply, answers.accepted(contentType));
      return;
    }
    const transport = transportOf(route, contentType);
    let decoded: Span[] | DecodeFailure | PartiallyDecoded;
    try {
      decoded = route.decode(received.bytes, contentType);
    } catch (e) {
      decoded = { status: 400, message: (e as Error).message };
    } finally {
      received.release();
    }
    if ('status' in decoded) {
      this.countMalformed(transport, decoded.status);
      await send(reply, answers.failed(contentType, decoded.status, decoded.message));
      return;
    }
    const spans = Array.isArray(decoded) ? decoded : decoded.spans;
    const partial = Array.isArray(decoded) || decoded.rejected === 0 ? undefined : { rejected: decoded.rejected, message: decoded.message };
    const labels = { receiver: this.context.id, transport };
    const n = spans.length;
    this.context.metrics.receiverReceived.inc(labels, n + (partial?.rejected ?? 0));
    if (partial !== undefined) this.context.metrics.receiverRefused.inc({ ...labels, reason: 'invalid' }, partial.rejected);
    if (n === 0) {
      await send(reply, answers.accepted(contentType, partial));
      return;
    }
    try {
      await this.context.next.consume(spans);
    } catch (e) {
      const refused = isRefused(e) ? e : undefined;
      this.context.metrics.receiverRefused.inc({ ...labels, reason: refused?.reason ?? 'internal_error' }, n);
      if (refused === undefined) this.context.logger.error({ err: e }, 'pipeline failed');
      await send(reply, refused === undefined ? answers.failed(contentType, 500, 'internal error') : refusalAnswer(reply, answers, contentType, refused));
      return;
    }
    this.context.metrics.receiverAccepted.inc(labels, n);
    await send(reply, answers.accepted(contentType, partial));
  }

  /**
   * Stops accepting connections and waits for requests in flight (they finish their hand-off); at
   * `signal`'s deadline the connections left are closed. Without it, a client still sending the body of
   * a request refused early (never read) would hold the shutdown for as long as it kept the connection.
   */
  async shutdown(signal?: AbortSignal): Promise<void> {
    const app = this.app;
    this.app = undefined;
    if (app === undefined) return;
    const force = () => app.server.closeAllConnections();
    if (signal?.aborted) force();
    else signal?.addEventListener('abort', force, { once: true });
    try {
      await app.close();
    } finally {
      signal?.removeEventListener('abort', force);
    }
  }
}
