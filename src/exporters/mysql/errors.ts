/**
 * Which MySQL/MariaDB failures are worth another attempt. Retryable: the server could not be reached or
 * dropped the connection, is shutting down or read-only (a fail-over), has no connection to spare, chose
 * this transaction as a deadlock victim or timed out on a lock, and missing tables or privileges (an
 * operator can fix them while the queue holds the spans). Everything else is about the data (too long,
 * wrong value, syntax) and fails the same way again: permanent.
 */
import { permanent, retryable, type ExportResult } from '../../component/types.js';

/** Server error numbers that are retryable (MySQL and MariaDB share them). */
const RETRYABLE_ERRNOS = new Set([
  1040, // ER_CON_COUNT_ERROR: too many connections
  1042, // ER_BAD_HOST_ERROR
  1043, // ER_HANDSHAKE_ERROR
  1044, // ER_DBACCESS_DENIED_ERROR
  1045, // ER_ACCESS_DENIED_ERROR
  1053, // ER_SERVER_SHUTDOWN
  1077, // ER_NORMAL_SHUTDOWN
  1079, // ER_SHUTDOWN_COMPLETE
  1105, // ER_UNKNOWN_ERROR (MariaDB reports some transient engine failures so)
  1129, // ER_HOST_IS_BLOCKED
  1142, // ER_TABLEACCESS_DENIED_ERROR
  1146, // ER_NO_SUCH_TABLE
  1152, // ER_ABORTING_CONNECTION
  1158, // ER_NET_READ_ERROR
  1159, // ER_NET_READ_INTERRUPTED
  1160, // ER_NET_ERROR_ON_WRITE
  1161, // ER_NET_WRITE_INTERRUPTED
  1203, // ER_TOO_MANY_USER_CONNECTIONS
  1205, // ER_LOCK_WAIT_TIMEOUT
  1206, // ER_LOCK_TABLE_FULL
  1213, // ER_LOCK_DEADLOCK
  1290, // ER_OPTION_PREVENTS_STATEMENT (--read-only)
  1317, // ER_QUERY_INTERRUPTED
  1792, // ER_CANT_EXECUTE_IN_READ_ONLY_TRANSACTION
  1836, // ER_READ_ONLY_MODE
  1927, // ER_CONNECTION_KILLED (MariaDB)
  3024, // ER_QUERY_TIMEOUT (MySQL max_execution_time)
  4031, // ER_CLIENT_INTERACTION_TIMEOUT (MySQL 8)
]);

/** Errors about the statement itself, whatever their SQLSTATE class says. */
const PERMANENT_ERRNOS = new Set([
  1153, // ER_NET_PACKET_TOO_LARGE: the same statement is too large again
]);

/** Client-side codes of mysql2 and Node for a connection that failed or broke. */
const RETRYABLE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'PROTOCOL_CONNECTION_LOST',
  'PROTOCOL_SEQUENCE_TIMEOUT',
  'POOL_CLOSED',
  'HANDSHAKE_SSL_ERROR',
]);

interface MysqlError extends Error {
  code?: string;
  errno?: number;
  sqlState?: string;
  fatal?: boolean;
}

/** True when another attempt may succeed. */
export function isRetryable(e: unknown): boolean {
  if (!(e instanceof Error)) return false;
  const err = e as MysqlError;
  if (err.name === 'AbortError' || err.name === 'TimeoutError') return true;
  if (err.errno !== undefined && PERMANENT_ERRNOS.has(err.errno)) return false;
  if (err.errno !== undefined && RETRYABLE_ERRNOS.has(err.errno)) return true;
  if (err.code !== undefined && RETRYABLE_CODES.has(err.code)) return true;
  // SQLSTATE class 08 (connection exception) and 40 (transaction rollback, e.g. serialization failure).
  if (err.sqlState !== undefined && (err.sqlState.startsWith('08') || err.sqlState.startsWith('40'))) return true;
  // mysql2 marks errors that ended the connection as fatal: nothing about the data.
  if (err.fatal === true && err.errno === undefined) return true;
  return false;
}

/** One line naming the failure: the server's error code and number when there is one. */
export function describeMysqlError(e: unknown): string {
  if (!(e instanceof Error)) return String(e);
  const err = e as MysqlError;
  const code = err.code && !err.message.includes(err.code) ? `${err.code}${err.errno ? ` (${err.errno})` : ''}: ` : '';
  return code + err.message;
}

/** The export result of a failed attempt. */
export function classify(e: unknown, what: string): ExportResult {
  const error = new Error(`${what}: ${describeMysqlError(e)}`);
  return isRetryable(e) ? retryable(error) : permanent(error);
}
