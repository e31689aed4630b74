/**
 * Shutdown of the elasticsearch exporter's dependency links: a run of the interval that is waiting on
 * the cluster ends when shutdown's deadline passes, instead of holding the daemon's exit.
 */
import { describe, expect, it } from 'vitest';
import type { Context } from '../../../src/config/schema.js';
import { SearchClient } from '../../../src/exporters/elasticsearch/client.js';
import { elasticsearchConfig } from '../../../src/exporters/elasticsearch/config.js';
import { DependencyLinks, MAX_PENDING_DAYS } from '../../../src/exporters/elasticsearch/dependencies.js';
import type { ServerVersion } from '../../../src/exporters/elasticsearch/templates.js';
import { createLogger } from '../../../src/telemetry/logger.js';
import { SelfMetrics } from '../../../src/telemetry/metrics.js';
import { service } from '../../helpers/services.js';

describe('elasticsearch exporter: dependency links at shutdown', () => {
  it("a run of the interval still waiting for the cluster ends within shutdown's deadline", async () => {
    const ctx: Context = { issues: [] };
    const cfg = elasticsearchConfig.check({ endpoints: [service('opensearch').OPENSEARCH_URL], dependencies: { interval: '1s' } }, [], ctx);
    if (cfg === undefined) throw new Error(JSON.stringify(ctx.issues));
    const client = new SearchClient(cfg.endpoints, cfg.tls, cfg, 1 << 20);
    await client.start();
    // The cluster's version and templates never come (a cluster that stopped answering): only an abort ends the wait.
    let waiting = 0;
    const prepare = (signal: AbortSignal) =>
      new Promise<ServerVersion>((_resolve, reject) => {
        waiting++;
        signal.addEventListener('abort', () => reject(new Error('aborted')), { once: true });
      });
    const context = { id: 'elasticsearch', logger: createLogger('silent'), metrics: new SelfMetrics(), configDir: '.' };
    const links = new DependencyLinks(client, cfg, context, prepare);
    links.touched('zipkin-span-2026-11-20');
    links.start();
    try {
      await expect.poll(() => waiting, { timeout: 10_000 }).toBe(1);
      const started = Date.now();
      const outcome = await Promise.race([
        links.shutdown(AbortSignal.timeout(300)).then(() => 'returned'),
        new Promise((resolve) => setTimeout(resolve, 5000, 'still waiting')),
      ]);
      expect(outcome).toBe('returned');
      expect(Date.now() - started).toBeLessThan(5000);
    } finally {
      client.close();
    }
  });

  it('days beyond those kept waiting, and days left at shutdown, are counted as dropped', async () => {
    const ctx: Context = { issues: [] };
    const cfg = elasticsearchConfig.check({ endpoints: [service('opensearch').OPENSEARCH_URL] }, [], ctx);
    if (cfg === undefined) throw new Error(JSON.stringify(ctx.issues));
    const client = new SearchClient(cfg.endpoints, cfg.tls, cfg, 1 << 20);
    await client.start();
    const metrics = new SelfMetrics();
    const context = { id: 'elasticsearch', logger: createLogger('silent'), metrics, configDir: '.' };
    const links = new DependencyLinks(client, cfg, context, () => Promise.reject(new Error('not asked')));
    for (let d = 0; d < MAX_PENDING_DAYS + 3; d++) links.touched(`zipkin-span-day${d}`);
    const name = 'spanline_elasticsearch_dependency_days_dropped_total{exporter="elasticsearch"}';
    expect(await metrics.text()).toContain(`${name} 3\n`);
    // Shutdown's deadline has passed already: every day waiting is given up, and counted.
    await links.shutdown(AbortSignal.abort());
    expect(await metrics.text()).toContain(`${name} ${3 + MAX_PENDING_DAYS}\n`);
    client.close();
  });
});
