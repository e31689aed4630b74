/**
 * The elasticsearch exporter against an Elasticsearch 8 node with security on: HTTPS with the test CA
 * (test/fixtures/tls) and a file-realm user. The node is the test service's installation
 * (`bash scripts/test-services.sh up elasticsearch`), started here with its own config, data and port,
 * and stopped afterwards; as root it runs as the services' user `searchtest`, as the script does.
 *
 * API keys are not exercised against the server: creating one needs the `.security` index, whose
 * mapping needs the analysis-common module that the integ-test distribution lacks. The `ApiKey` header
 * shape is checked in document.test.ts.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Context } from '../../../src/config/schema.js';
import { decodeZipkinV2Json } from '../../../src/codecs/zipkin-json.js';
import { elasticsearchExporter, type ZipkinIndexWriter } from '../../../src/exporters/elasticsearch/index.js';
import { spanDocument } from '../../../src/exporters/elasticsearch/document.js';
import { createLogger } from '../../../src/telemetry/logger.js';
import { SelfMetrics } from '../../../src/telemetry/metrics.js';
import { freePort } from '../../helpers/daemon.js';
import { SERVICES_DIR, service } from '../../helpers/services.js';

const TLS = resolve('test/fixtures/tls');
const CA = readFileSync(join(TLS, 'ca.pem'));
const USER = 'spanline';
const PASSWORD = 'spanline-secret';
const never = new AbortController().signal;

let node: ChildProcess | undefined;
let dir = '';
let base = '';
let log = '';

const isRoot = process.getuid?.() === 0;
/** As root, runs as the services' user (Elasticsearch refuses root). */
const asSearchUser = (cmd: string, args: string[]): [string, string[]] => (isRoot ? ['runuser', ['-u', 'searchtest', '--', cmd, ...args]] : [cmd, args]);

/** GET over HTTPS with the test CA and the user; the parsed answer. */
function get(path: string): Promise<{ status: number; json: any }> {
  return new Promise((res, rej) => {
    const req = request(base + path, { ca: CA, auth: `${USER}:${PASSWORD}` }, (r) => {
      let text = '';
      r.on('data', (d) => (text += d));
      r.on('end', () => res({ status: r.statusCode ?? 0, json: text === '' ? undefined : JSON.parse(text) }));
    });
    req.on('error', rej);
    req.end();
  });
}

beforeAll(async () => {
  const { ELASTICSEARCH_VERSION } = service('elasticsearch');
  const home = join(SERVICES_DIR, 'elasticsearch', `elasticsearch-${ELASTICSEARCH_VERSION}`);
  const javaHome = execFileSync('bash', ['-c', 'dirname "$(dirname "$(readlink -f "$(command -v java)")")"'], { encoding: 'utf8' }).trim();
  dir = mkdtempSync(join(tmpdir(), 'spanline-es-secured-'));
  const conf = join(dir, 'config');
  cpSync(join(home, 'config'), conf, { recursive: true });
  for (const f of ['ca.pem', 'server.pem', 'server.key']) cpSync(join(TLS, f), join(conf, f));
  appendFileSync(
    join(conf, 'elasticsearch.yml'),
    [
      'xpack.security.enabled: true',
      'xpack.security.enrollment.enabled: false',
      'xpack.security.http.ssl.enabled: true',
      'xpack.security.http.ssl.certificate: server.pem',
      'xpack.security.http.ssl.key: server.key',
      'xpack.security.http.ssl.certificate_authorities: [ca.pem]',
      'xpack.security.transport.ssl.enabled: false',
      '',
    ].join('\n'),
  );
  if (isRoot) execFileSync('chown', ['-R', 'searchtest:', dir]);
  const env = { ...process.env, ES_JAVA_HOME: javaHome, ES_PATH_CONF: conf, ES_JAVA_OPTS: '-Xms256m -Xmx256m' };
  const [usersCmd, usersArgs] = asSearchUser('env', [`ES_JAVA_HOME=${javaHome}`, `ES_PATH_CONF=${conf}`, join(home, 'bin/elasticsearch-users'), 'useradd', USER, '-p', PASSWORD, '-r', 'superuser']);
  execFileSync(usersCmd, usersArgs, { env, stdio: 'pipe' });

  const [port, transport] = [await freePort(), await freePort()];
  const settings = [
    'discovery.type=single-node',
    'network.host=127.0.0.1',
    `http.port=${port}`,
    `transport.port=${transport}`,
    `path.data=${join(dir, 'data')}`,
    `path.logs=${join(dir, 'logs')}`,
    'cluster.routing.allocation.disk.threshold_enabled=false',
  ].flatMap((s) => ['-E', s]);
  const [cmd, args] = asSearchUser('env', [`ES_JAVA_HOME=${javaHome}`, `ES_PATH_CONF=${conf}`, 'ES_JAVA_OPTS=-Xms256m -Xmx256m', join(home, 'bin/elasticsearch'), ...settings]);
  node = spawn(cmd, args, { env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  node.stdout!.on('data', (d) => (log += d));
  node.stderr!.on('data', (d) => (log += d));
  base = `https://127.0.0.1:${port}`;
  const deadline = Date.now() + 150_000;
  for (;;) {
    if (node.exitCode !== null) throw new Error(`elasticsearch exited with ${node.exitCode}:\n${log.slice(-4000)}`);
    const health = await get('/_cluster/health?wait_for_status=yellow&timeout=1s').catch(() => undefined);
    if (health?.status === 200) break;
    if (Date.now() > deadline) throw new Error(`elasticsearch did not start:\n${log.slice(-4000)}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}, 180_000);

afterAll(async () => {
  if (node?.pid !== undefined && node.exitCode === null) {
    const exited = new Promise((r) => node!.on('exit', r));
    process.kill(-node.pid, 'SIGTERM');
    await Promise.race([exited, new Promise((r) => setTimeout(r, 20_000))]);
    if (node.exitCode === null) process.kill(-node.pid, 'SIGKILL');
  }
  if (dir !== '') rmSync(dir, { recursive: true, force: true });
}, 30_000);

function exporter(config: Record<string, unknown>) {
  const ctx: Context = { issues: [] };
  const cfg = elasticsearchExporter.config.check({ endpoints: [base], index_shards: 1, index_replicas: 0, dependencies: { enabled: false }, ...config }, [], ctx);
  if (cfg === undefined) throw new Error(JSON.stringify(ctx.issues));
  return elasticsearchExporter.create(cfg, { id: 'elasticsearch', logger: createLogger('silent'), metrics: new SelfMetrics(), configDir: '.' }) as ZipkinIndexWriter;
}

const span = () =>
  decodeZipkinV2Json(`[{"traceId":"${Date.now().toString(16).padStart(16, '0')}","id":"000000000000000b","name":"secured","timestamp":1732192000000000,"localEndpoint":{"serviceName":"svc"}}]`)[0];

describe('Elasticsearch 8 with security: HTTPS and basic authentication', () => {
  const tls = { ca_file: join(TLS, 'ca.pem') };
  it.each([
    { name: 'the user and the CA: stored', config: { username: USER, password: PASSWORD, tls }, outcome: 'success', message: undefined },
    { name: 'no credentials: permanent, with the server\'s reason', config: { tls }, outcome: 'permanent', message: /401: security_exception: missing authentication credentials/ },
    { name: 'a wrong password: permanent', config: { username: USER, password: 'wrong', tls }, outcome: 'permanent', message: /401: security_exception: unable to authenticate user \[spanline\]/ },
    { name: 'without the CA the certificate is not trusted: retryable', config: { username: USER, password: PASSWORD }, outcome: 'retryable', message: /UNABLE_TO_VERIFY_LEAF_SIGNATURE|unable to verify/ },
    { name: 'insecure_skip_verify: stored', config: { username: USER, password: PASSWORD, tls: { insecure_skip_verify: true } }, outcome: 'success', message: undefined },
  ])('$name', async ({ config, outcome, message }) => {
    const index = `spanline-secured-${Math.random().toString(16).slice(2, 10)}`;
    const exp = exporter({ ...config, index });
    await exp.start();
    try {
      const s = span();
      const result = await exp.export([s], never);
      expect(result.code).toBe(outcome);
      if (result.code !== 'success') {
        expect(result.error.message).toMatch(message!);
        return;
      }
      const doc = spanDocument(s, Date.now());
      await get(`/${index}-span-*/_refresh`);
      const found = await get(`/${index}-span-2024-11-21/_doc/${doc.id}`);
      expect(found.status).toBe(200);
      expect(found.json._source).toMatchObject({ traceId: doc.traceId, name: 'secured', timestamp_millis: 1732192000000 });
      expect((await get(`/_template/${index}-span_template`)).status).toBe(200);
    } finally {
      await exp.shutdown(never);
    }
  });
});
