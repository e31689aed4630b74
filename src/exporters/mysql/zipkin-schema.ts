/**
 * Zipkin's MySQL schema, and applying it. {@link ZIPKIN_MYSQL_SQL} is `mysql.sql` of
 * io.zipkin.zipkin2:zipkin-storage-mysql-v1 3.6.1 byte for byte (Apache-2.0, header kept), because a
 * stock Zipkin server must read what the exporter writes: the tables, column types and keys are the
 * contract. Its ALTER statements are not idempotent, so the file is applied only when a table is
 * missing, under a named lock so that two daemons starting together do not both apply it.
 */
import type { PoolConnection } from 'mysql2/promise';

export const ZIPKIN_MYSQL_SQL = `--
-- Copyright The OpenZipkin Authors
-- SPDX-License-Identifier: Apache-2.0
--

CREATE TABLE IF NOT EXISTS zipkin_spans (
  \`trace_id_high\` BIGINT NOT NULL DEFAULT 0 COMMENT 'If non zero, this means the trace uses 128 bit traceIds instead of 64 bit',
  \`trace_id\` BIGINT NOT NULL,
  \`id\` BIGINT NOT NULL,
  \`name\` VARCHAR(255) NOT NULL,
  \`remote_service_name\` VARCHAR(255),
  \`parent_id\` BIGINT,
  \`debug\` BIT(1),
  \`start_ts\` BIGINT COMMENT 'Span.timestamp(): epoch micros used for endTs query and to implement TTL',
  \`duration\` BIGINT COMMENT 'Span.duration(): micros used for minDuration and maxDuration query',
  PRIMARY KEY (\`trace_id_high\`, \`trace_id\`, \`id\`)
) ENGINE=InnoDB ROW_FORMAT=COMPRESSED CHARACTER SET=utf8 COLLATE utf8_general_ci;

ALTER TABLE zipkin_spans ADD INDEX(\`trace_id_high\`, \`trace_id\`) COMMENT 'for getTracesByIds';
ALTER TABLE zipkin_spans ADD INDEX(\`name\`) COMMENT 'for getTraces and getSpanNames';
ALTER TABLE zipkin_spans ADD INDEX(\`remote_service_name\`) COMMENT 'for getTraces and getRemoteServiceNames';
ALTER TABLE zipkin_spans ADD INDEX(\`start_ts\`) COMMENT 'for getTraces ordering and range';

CREATE TABLE IF NOT EXISTS zipkin_annotations (
  \`trace_id_high\` BIGINT NOT NULL DEFAULT 0 COMMENT 'If non zero, this means the trace uses 128 bit traceIds instead of 64 bit',
  \`trace_id\` BIGINT NOT NULL COMMENT 'coincides with zipkin_spans.trace_id',
  \`span_id\` BIGINT NOT NULL COMMENT 'coincides with zipkin_spans.id',
  \`a_key\` VARCHAR(255) NOT NULL COMMENT 'BinaryAnnotation.key or Annotation.value if type == -1',
  \`a_value\` BLOB COMMENT 'BinaryAnnotation.value(), which must be smaller than 64KB',
  \`a_type\` INT NOT NULL COMMENT 'BinaryAnnotation.type() or -1 if Annotation',
  \`a_timestamp\` BIGINT COMMENT 'Used to implement TTL; Annotation.timestamp or zipkin_spans.timestamp',
  \`endpoint_ipv4\` INT COMMENT 'Null when Binary/Annotation.endpoint is null',
  \`endpoint_ipv6\` BINARY(16) COMMENT 'Null when Binary/Annotation.endpoint is null, or no IPv6 address',
  \`endpoint_port\` SMALLINT COMMENT 'Null when Binary/Annotation.endpoint is null',
  \`endpoint_service_name\` VARCHAR(255) COMMENT 'Null when Binary/Annotation.endpoint is null'
) ENGINE=InnoDB ROW_FORMAT=COMPRESSED CHARACTER SET=utf8 COLLATE utf8_general_ci;

ALTER TABLE zipkin_annotations ADD UNIQUE KEY(\`trace_id_high\`, \`trace_id\`, \`span_id\`, \`a_key\`, \`a_timestamp\`) COMMENT 'Ignore insert on duplicate';
ALTER TABLE zipkin_annotations ADD INDEX(\`trace_id_high\`, \`trace_id\`, \`span_id\`) COMMENT 'for joining with zipkin_spans';
ALTER TABLE zipkin_annotations ADD INDEX(\`trace_id_high\`, \`trace_id\`) COMMENT 'for getTraces/ByIds';
ALTER TABLE zipkin_annotations ADD INDEX(\`endpoint_service_name\`) COMMENT 'for getTraces and getServiceNames';
ALTER TABLE zipkin_annotations ADD INDEX(\`a_type\`) COMMENT 'for getTraces and autocomplete values';
ALTER TABLE zipkin_annotations ADD INDEX(\`a_key\`) COMMENT 'for getTraces and autocomplete values';
ALTER TABLE zipkin_annotations ADD INDEX(\`trace_id\`, \`span_id\`, \`a_key\`) COMMENT 'for dependencies job';

CREATE TABLE IF NOT EXISTS zipkin_dependencies (
  \`day\` DATE NOT NULL,
  \`parent\` VARCHAR(255) NOT NULL,
  \`child\` VARCHAR(255) NOT NULL,
  \`call_count\` BIGINT,
  \`error_count\` BIGINT,
  PRIMARY KEY (\`day\`, \`parent\`, \`child\`)
) ENGINE=InnoDB ROW_FORMAT=COMPRESSED CHARACTER SET=utf8 COLLATE utf8_general_ci;
`;

/** The tables the schema creates, in its order. */
export const ZIPKIN_TABLES = ['zipkin_spans', 'zipkin_annotations', 'zipkin_dependencies'] as const;

/** The statements of the schema, in order, without comments. */
export function schemaStatements(sql: string = ZIPKIN_MYSQL_SQL): string[] {
  return sql
    .split('\n')
    .filter((line) => !line.startsWith('--'))
    .join('\n')
    // Statements end at a line's end; comments inside them hold semicolons too.
    .split(/;[ \t]*$/m)
    .map((statement) => statement.trim())
    .filter((statement) => statement !== '');
}

/** Names of the Zipkin tables missing from the connection's database. */
export async function missingTables(conn: PoolConnection): Promise<string[]> {
  const [rows] = await conn.query(
    'SELECT table_name AS name FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name IN (?)',
    [ZIPKIN_TABLES],
  );
  const present = new Set((rows as { name: string }[]).map((r) => r.name.toLowerCase()));
  return ZIPKIN_TABLES.filter((t) => !present.has(t));
}

const SCHEMA_LOCK = 'spanline_zipkin_schema';
const SCHEMA_LOCK_TIMEOUT_S = 30;

/**
 * Applies Zipkin's schema when any of its tables is missing; returns the tables that were missing
 * (empty when nothing was done). When only some tables exist, only the statements of the missing ones
 * run (each statement names its table), so a partly created schema is completed rather than broken.
 */
export async function ensureZipkinSchema(conn: PoolConnection): Promise<string[]> {
  if ((await missingTables(conn)).length === 0) return [];
  const [locked] = await conn.query('SELECT GET_LOCK(?, ?) AS ok', [SCHEMA_LOCK, SCHEMA_LOCK_TIMEOUT_S]);
  if ((locked as { ok: number | null }[])[0]?.ok !== 1) {
    throw new Error(`could not take the lock ${SCHEMA_LOCK} within ${SCHEMA_LOCK_TIMEOUT_S}s to create the Zipkin schema`);
  }
  try {
    // Again under the lock: another daemon may have created them meanwhile.
    const missing = await missingTables(conn);
    for (const statement of schemaStatements()) {
      const table = /(?:TABLE IF NOT EXISTS|ALTER TABLE)\s+(\w+)/.exec(statement)?.[1];
      if (table !== undefined && missing.includes(table as (typeof ZIPKIN_TABLES)[number])) await conn.query(statement);
    }
    return missing;
  } finally {
    await conn.query('SELECT RELEASE_LOCK(?)', [SCHEMA_LOCK]);
  }
}

/**
 * Whether the span and annotation text columns hold only 3-byte UTF-8 (`utf8`/`utf8mb3`, as Zipkin's
 * schema declares them; also when the tables do not exist yet). Then characters outside the BMP (emoji) must be replaced before writing:
 * strict SQL mode refuses the whole statement otherwise.
 */
export async function textColumnsAreUtf8mb3(conn: PoolConnection): Promise<boolean> {
  const [rows] = await conn.query(
    `SELECT character_set_name AS cs FROM information_schema.columns
      WHERE table_schema = DATABASE() AND table_name IN ('zipkin_spans', 'zipkin_annotations')
        AND column_name IN ('name', 'remote_service_name', 'a_key', 'endpoint_service_name')`,
  );
  const columns = rows as { cs: string | null }[];
  // No tables yet (create_schema off): they will be Zipkin's.
  return columns.length === 0 || columns.some((r) => r.cs !== null && r.cs.toLowerCase() !== 'utf8mb4');
}
