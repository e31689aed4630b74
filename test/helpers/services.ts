/**
 * Endpoints of the real services that `bash scripts/test-services.sh up` starts (npm test runs it first).
 * The script writes them to .cache/services/env as KEY=VALUE lines; a variable of the same name in the
 * environment wins, to point the tests at a service of your own.
 */
import { existsSync, readFileSync, realpathSync } from 'node:fs';
import { resolve } from 'node:path';

/**
 * The services' cache, with links resolved: `.cache/services` links to a cache shared by every clone, and
 * the search nodes run as another user, who may not be able to enter the clone itself (a `mktemp -d`
 * directory is private) but can reach the shared cache by its own path.
 */
export const SERVICES_DIR = realDir(resolve(process.env.SPANLINE_SERVICES_DIR ?? '.cache/services'));
export const SERVICES_ENV_FILE = resolve(SERVICES_DIR, 'env');

/** The keys each service writes. */
const KEYS = {
  zipkin: ['ZIPKIN_SERVER_URL', 'ZIPKIN_SERVER_VERSION', 'ZIPKIN_SERVER_JAR'],
  mariadb: ['MARIADB_HOST', 'MARIADB_PORT', 'MARIADB_USER', 'MARIADB_PASSWORD', 'MARIADB_DATABASE', 'MARIADB_SOCKET'],
  opensearch: ['OPENSEARCH_URL', 'OPENSEARCH_VERSION'],
  elasticsearch: ['ELASTICSEARCH_URL', 'ELASTICSEARCH_VERSION'],
  kafka: ['KAFKA_BOOTSTRAP_SERVERS', 'KAFKA_VERSION'],
} as const;

export type ServiceName = keyof typeof KEYS;
export type ServiceEnv<N extends ServiceName> = Record<(typeof KEYS)[N][number], string>;

/** The env file's lines, parsed; empty when the file is missing. */
export function readServicesEnv(path = SERVICES_ENV_FILE): Record<string, string> {
  if (!existsSync(path)) return {};
  const env: Record<string, string> = {};
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    const eq = line.indexOf('=');
    if (eq <= 0 || line.startsWith('#')) continue;
    env[line.slice(0, eq).trim()] = line.slice(eq + 1).trim();
  }
  return env;
}

/**
 * The endpoints of one service. Throws, saying how to start it, when the service is not up: a test that
 * needs a real service fails rather than skips.
 */
export function service<N extends ServiceName>(name: N): ServiceEnv<N> {
  const file = readServicesEnv();
  const out: Record<string, string> = {};
  const missing: string[] = [];
  for (const key of KEYS[name]) {
    const value = process.env[key] ?? file[key];
    if (value === undefined || value === '') missing.push(key);
    else out[key] = value;
  }
  if (missing.length > 0) {
    throw new Error(
      `the ${name} test service is not running (${missing.join(', ')} not in ${SERVICES_ENV_FILE}); ` +
        `start it with: bash scripts/test-services.sh up ${name}`,
    );
  }
  return out as ServiceEnv<N>;
}

function realDir(dir: string): string {
  return existsSync(dir) ? realpathSync(dir) : dir;
}
