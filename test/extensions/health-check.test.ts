import { afterEach, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import type { Context } from '../../src/config/schema.js';
import { healthCheckExtension, type HealthCheck } from '../../src/extensions/health-check/index.js';
import { SelfMetrics } from '../../src/telemetry/metrics.js';

const started: HealthCheck[] = [];

afterEach(async () => {
  await Promise.all(started.splice(0).map((h) => h.shutdown!(AbortSignal.abort())));
});

function configOf(raw: Record<string, unknown>) {
  const ctx: Context = { issues: [] };
  const cfg = healthCheckExtension.config.check(raw, [], ctx);
  return { cfg, issues: ctx.issues };
}

/** Starts a health check on a free port; `ready` is what the service reports about its pipelines. */
async function start(raw: Record<string, unknown> = {}) {
  const state = { ready: false };
  const { cfg, issues } = configOf({ endpoint: '127.0.0.1:0', ...raw });
  if (cfg === undefined) throw new Error(JSON.stringify(issues));
  const ext = healthCheckExtension.create(cfg, {
    id: 'health_check',
    logger: pino({ level: 'silent' }),
    metrics: new SelfMetrics(),
    configDir: '.',
    pipelinesReady: () => state.ready,
  }) as HealthCheck;
  await ext.start!();
  started.push(ext);
  const port = ext.address()!.port;
  const get = (path: string, init?: RequestInit) => fetch(`http://127.0.0.1:${port}${path}`, init);
  return { ext, state, port, get };
}

describe('health_check extension', () => {
  it('defaults to 0.0.0.0:13133 and path /', () => {
    expect(configOf({}).cfg).toEqual({ endpoint: '0.0.0.0:13133', path: '/' });
    expect(configOf({ path: 'health' }).issues).toMatchObject([{ path: ['path'], message: expect.stringContaining('a path starting with "/"') }]);
    expect(configOf({ endpoint: 'localhost' }).issues).toMatchObject([{ path: ['endpoint'] }]);
  });

  it('answers 503 until the pipelines are ready, then 200 with the time they became ready', async () => {
    const { ext, state, get } = await start();
    expect(ext.address()).toMatchObject({ address: '127.0.0.1', port: expect.any(Number) });

    let res = await get('/');
    expect(res.status).toBe(503);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    expect(await res.json()).toEqual({ status: 'Server not available' });

    const before = Date.now();
    state.ready = true;
    ext.pipelinesReady!();
    res = await get('/?verbose');
    expect(res.status).toBe(200);
    const body = (await res.json()) as { status: string; upSince: string };
    expect(body.status).toBe('Server available');
    expect(Date.parse(body.upSince)).toBeGreaterThanOrEqual(before - 1);
    expect(Date.parse(body.upSince)).toBeLessThanOrEqual(Date.now());

    // Stable across checks while ready.
    expect(((await (await get('/')).json()) as { upSince: string }).upSince).toBe(body.upSince);

    state.ready = false;
    ext.pipelinesNotReady!();
    res = await get('/');
    expect(res.status).toBe(503);
    expect(await res.json()).toEqual({ status: 'Server not available' });
  });

  it('serves only its path, and only GET and HEAD', async () => {
    const { state, get } = await start({ path: '/health/status' });
    state.ready = true;
    expect((await get('/health/status')).status).toBe(200);
    expect((await get('/health/status', { method: 'HEAD' })).status).toBe(200);
    expect((await get('/')).status).toBe(404);
    expect((await get('/health')).status).toBe(404);
    const post = await get('/health/status', { method: 'POST' });
    expect(post.status).toBe(405);
    expect(post.headers.get('allow')).toBe('GET, HEAD');
  });

  it('stops listening on shutdown, and shutdown is idempotent', async () => {
    const { ext, get } = await start();
    expect((await get('/')).status).toBe(503);
    await ext.shutdown!(new AbortController().signal);
    await ext.shutdown!(new AbortController().signal);
    expect(ext.address()).toBeUndefined();
    await expect(get('/')).rejects.toThrow();
  });

  it('fails to start with a message naming the endpoint when the port is taken', async () => {
    const { port } = await start();
    const { cfg } = configOf({ endpoint: `127.0.0.1:${port}` });
    const clash = healthCheckExtension.create(cfg!, {
      id: 'health_check/2',
      logger: pino({ level: 'silent' }),
      metrics: new SelfMetrics(),
      configDir: '.',
      pipelinesReady: () => true,
    });
    await expect(clash.start!()).rejects.toThrow(`cannot listen on 127.0.0.1:${port}: address already in use`);
  });
});
