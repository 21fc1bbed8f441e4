/**
 * The one table from an error to what the pool does about it.
 *
 * mysql2 reports the same failure in different shapes: an ERR packet that
 * arrives while idle has a numeric `code`; in reply to a command it has a string
 * `code` and a numeric `errno`; socket errors have only a string `code`; some
 * client-side errors have only a `message`. Server numbers above ~1900 differ
 * between MySQL and MariaDB (4031 is MySQL's idle timeout but something else on
 * MariaDB), so numbers are looked up per server flavour.
 */

import { rethrowLater } from './isolate.js';

export type Flavor = 'mysql' | 'mariadb';

export interface ErrorAction {
  /** Short label for logs, events and stats: why the connection is being dropped. */
  readonly reason: ErrorReason;
  /** Destroy the connection the error happened on (never hand it out again). */
  readonly destroy: boolean;
  /**
   * What the error says about the pool's other connections:
   * - `none`: nothing;
   * - `suspect`: idle ones older than now are pinged on their next checkout,
   *   whatever the skip window (SQLAlchemy recycles them all after a disconnect);
   * - `retire`: every connection created before now is closed, idle ones at
   *   their next checkout and busy ones on release (HikariCP's soft eviction),
   *   because the server behind them changed (restart);
   * - `retire-if-read-only`: the same as `retire`, but only once the server,
   *   asked (`@@global.read_only`...), confirms it is read-only: the error alone
   *   may be the application's (a write in its own `START TRANSACTION READ ONLY`,
   *   `secure_file_priv`), not a failover. Until then nothing is retired, and
   *   the statement is retried only if the server confirmed it.
   */
  readonly others: 'none' | 'suspect' | 'retire' | 'retire-if-read-only';
  /** A connection-level failure: the same statement may succeed on another connection. */
  readonly retryable: boolean;
  /**
   * What the error proves about a statement that was sent (one never sent did
   * not run, whatever the error):
   * - `true`: it did not run: the server never read it (it closed first, MySQL's
   *   ERR 4031) or the client never wrote it;
   * - `'if-single-atomic'`: the server refused it, which proves nothing ran only
   *   for a single statement that cannot have changed anything before failing
   *   (not a `CALL`, not several statements, no function outside the allow-list:
   *   `statementFacts(sql).singleAtomic`); see `didNotRun` in retry.ts, the one
   *   place that applies this;
   * - `false`: it may have run (outcome unknown).
   */
  readonly notExecuted: boolean | 'if-single-atomic';
}

export type ErrorReason =
  | 'connection-lost'
  | 'closed'
  | 'idle-timeout'
  | 'killed'
  | 'server-shutdown'
  | 'read-only'
  | 'not-ready'
  | 'query-timeout'
  | 'protocol'
  | 'fatal';

function action(
  reason: ErrorReason,
  others: ErrorAction['others'],
  retryable: boolean,
  notExecuted: ErrorAction['notExecuted'],
  destroy = true,
): ErrorAction {
  return Object.freeze({ reason, destroy, others, retryable, notExecuted });
}

const LOST = action('connection-lost', 'suspect', true, false);
/** The client refused to send: the socket was already closed or half-closed. */
const CLOSED = action('closed', 'suspect', true, true);
/** MySQL >= 8.0.24 sends ERR 4031 and closes before reading the next command. */
const IDLE_TIMEOUT = action('idle-timeout', 'suspect', true, true);
const KILLED = action('killed', 'suspect', true, false);
const SHUTDOWN = action('server-shutdown', 'retire', true, false);
/**
 * A read-only refusal: failover left us on a read-only host, or the application
 * wrote inside its own read-only transaction, or hit `secure_file_priv` (1290
 * covers every "option prevents statement"). The connection is fine, so it is
 * not destroyed on the error alone; the pool asks the server whether it is
 * read-only, and retires (closes) this and the older connections only if so.
 * A refusal proves "did not run" only for a single atomic statement: a `CALL`
 * whose procedure inserted before the refusal did run in part.
 */
const READ_ONLY = action('read-only', 'retire-if-read-only', true, 'if-single-atomic', false);
/**
 * ERR 1047 (`08S01`): a Galera node that is not in the primary component, is
 * shutting down, or has `wsrep_reject_queries` set refuses every statement that
 * touches a table ("WSREP has not yet prepared node for application use"; also
 * Percona XtraDB Cluster, which reports itself as MySQL). The connection is fine
 * and the node may serve again without a reconnect, so it is kept; other nodes
 * are what a caller needs (the cluster takes the node out of rotation). Like a
 * read-only refusal, it proves "did not run" only for a single atomic statement.
 * On a server without Galera, 1047 is "Unknown command": also refused unread.
 */
const NOT_READY = action('not-ready', 'none', true, 'if-single-atomic', false);
/**
 * A query timeout is a bound the caller chose: honour it, do not retry. The
 * connection is still busy with the query, so it is destroyed.
 */
const QUERY_TIMEOUT = action('query-timeout', 'suspect', false, false);
const PROTOCOL = action('protocol', 'none', false, false);
const FATAL = action('fatal', 'none', false, false);

/** Socket and mysql2 protocol codes (strings), the same on every server. */
const BY_CODE: ReadonlyMap<string, ErrorAction> = new Map([
  ['PROTOCOL_CONNECTION_LOST', LOST],
  ['ECONNRESET', LOST],
  ['EPIPE', LOST],
  ['ETIMEDOUT', LOST],
  ['ECONNREFUSED', LOST],
  ['ECONNABORTED', LOST],
  ['EHOSTUNREACH', LOST],
  ['ENETUNREACH', LOST],
  ['ENETDOWN', LOST],
  ['PROTOCOL_SEQUENCE_TIMEOUT', QUERY_TIMEOUT],
  ['PROTOCOL_PACKETS_OUT_OF_ORDER', PROTOCOL],
  ['PROTOCOL_UNEXPECTED_PACKET', PROTOCOL],
  ['PROTOCOL_INCORRECT_PACKET_SEQUENCE', PROTOCOL],
  ['ER_CLIENT_INTERACTION_TIMEOUT', IDLE_TIMEOUT],
  // Node refused to write to a socket the pool had already destroyed: nothing was sent.
  ['ERR_STREAM_DESTROYED', CLOSED],
]);

/** Server error numbers with the same meaning on MySQL and MariaDB. */
const BY_ERRNO_COMMON: ReadonlyMap<number, ErrorAction> = new Map([
  [1047, NOT_READY], // ER_UNKNOWN_COM_ERROR: WSREP has not yet prepared node for application use
  [1053, SHUTDOWN], // ER_SERVER_SHUTDOWN
  [1077, SHUTDOWN], // ER_NORMAL_SHUTDOWN
  [1079, SHUTDOWN], // ER_SHUTDOWN_COMPLETE
  [1152, KILLED], // ER_ABORTING_CONNECTION
  [1158, LOST], // ER_NET_READ_ERROR
  [1159, LOST], // ER_NET_READ_INTERRUPTED
  [1160, LOST], // ER_NET_ERROR_ON_WRITE
  [1161, LOST], // ER_NET_WRITE_INTERRUPTED
  [1290, READ_ONLY], // ER_OPTION_PREVENTS_STATEMENT (--read-only; Aurora during failover)
  [1792, READ_ONLY], // ER_CANT_EXECUTE_IN_READ_ONLY_TRANSACTION
  [1836, READ_ONLY], // ER_READ_ONLY_MODE
  [2006, LOST], // CR_SERVER_GONE_ERROR (client code some proxies relay)
  [2013, LOST], // CR_SERVER_LOST
]);

const BY_ERRNO_MYSQL: ReadonlyMap<number, ErrorAction> = new Map([
  [3169, KILLED], // ER_SESSION_WAS_KILLED
  [4031, IDLE_TIMEOUT], // ER_CLIENT_INTERACTION_TIMEOUT (8.0.24+)
]);

const BY_ERRNO_MARIADB: ReadonlyMap<number, ErrorAction> = new Map([
  [1927, KILLED], // ER_CONNECTION_KILLED
]);

/** mysql2 errors that carry no code, only a message. */
const BY_MESSAGE: readonly (readonly [string, ErrorAction])[] = [
  ["Can't add new command when connection is in closed state", CLOSED],
  ["Can't write in closed state", CLOSED],
  // Node's writeAfterFIN: the server's FIN arrived, nothing left the client.
  ['This socket has been ended by the other party', CLOSED],
];

interface MysqlishError {
  code?: unknown;
  errno?: unknown;
  message?: unknown;
  fatal?: unknown;
}

/**
 * What to do about `err`, seen on a connection to a server of `flavor`.
 * Returns null for errors that leave the connection usable (syntax errors,
 * duplicate keys, deadlocks, `KILL QUERY`): those are the application's.
 */
export function classify(err: unknown, flavor: Flavor): ErrorAction | null {
  if (!err || typeof err !== 'object') return null;
  const e = err as MysqlishError;
  // Server errors carry an errno; only client-side errors are matched by text
  // (a duplicate-key message could quote anything).
  if (typeof e.errno !== 'number' && typeof e.message === 'string') {
    for (const [text, act] of BY_MESSAGE) {
      if (e.message.includes(text)) return act;
    }
  }
  // An ERR packet that arrived while idle: numeric code, no errno.
  const number = typeof e.errno === 'number' ? e.errno : typeof e.code === 'number' ? e.code : undefined;
  if (number !== undefined) {
    const act =
      BY_ERRNO_COMMON.get(number) ?? (flavor === 'mariadb' ? BY_ERRNO_MARIADB : BY_ERRNO_MYSQL).get(number);
    if (act) return act;
  }
  if (typeof e.code === 'string') {
    const act = BY_CODE.get(e.code);
    // mysql2 names errnos by MySQL's list; on MariaDB the name of 4031 is wrong.
    if (act && !(act === IDLE_TIMEOUT && flavor === 'mariadb')) return act;
  }
  return e.fatal === true ? FATAL : null;
}

/**
 * Applies the user's override (the `classifyError` option), if any. An
 * override that throws is user code failing, not a verdict: the table's own
 * answer stands, and the exception is rethrown on the next tick (see isolate.ts).
 */
export function classifyWith(
  err: unknown,
  flavor: Flavor,
  override: ((err: Error, action: ErrorAction | null) => ErrorAction | null | undefined) | undefined,
): ErrorAction | null {
  const act = classify(err, flavor);
  if (!override) return act;
  let chosen: ErrorAction | null | undefined;
  try {
    chosen = override(err as Error, act);
  } catch (thrown) {
    rethrowLater(thrown);
    return act;
  }
  return chosen === undefined ? act : chosen;
}
