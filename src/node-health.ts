/**
 * What one server says about itself: reachable, and if so whether it is a Galera node that can serve (in the
 * primary component, synced, not rejecting queries), and whether it is read-only. One bounded probe on a connection
 * the caller owns; no state here. The cluster (cluster-node.ts) uses it to keep nodes in or out of rotation, and a
 * primary/replica role check can read `readOnly` from the same answer.
 */
import { Connection } from 'mysql2';
import type { ConnectionConfig } from 'mysql2';
import { cloneConnectionConfig } from './mysql2-internals.js';

/**
 * - `up`: serves (not Galera, or Galera Synced in the primary component, not rejecting queries);
 * - `degraded`: serves, but is not where traffic should go while an `up` node exists (Galera Donor/Desynced,
 *   Joined: behind the cluster, or busy as a state-transfer donor);
 * - `down`: cannot serve (unreachable, no answer in time, Galera not ready, non-primary, rejecting queries).
 */
export type NodeHealth = 'up' | 'degraded' | 'down';

/** The Galera side of a node's state, as its status and variables say. */
export interface GaleraState {
  /** `wsrep_ready`: the node accepts statements that touch tables. */
  ready: boolean;
  /** `wsrep_cluster_status`: 'Primary', 'non-Primary', 'Disconnected'. */
  clusterStatus: string;
  /** `wsrep_local_state`: 1 Joining, 2 Donor/Desynced, 3 Joined, 4 Synced. */
  localState: number;
  /** `wsrep_local_state_comment`. */
  localStateComment: string;
  /** `wsrep_reject_queries`: 'NONE', 'ALL', 'ALL_KILL'. */
  rejectQueries: string;
}

export interface NodeState {
  health: NodeHealth;
  /** Why, in a few words (for events and logs). */
  why: string;
  /** Undefined when the node is not a Galera node (no wsrep, or `wsrep_on` OFF) or did not answer. */
  galera: GaleraState | undefined;
  /** `read_only` (and on MySQL `super_read_only`/`innodb_read_only`) on; undefined when not known. */
  readOnly: boolean | undefined;
}

/** The variables and status one probe reads, by lower-case name. */
export type ServerVariables = Readonly<Record<string, string>>;

const VARIABLES_SQL =
  "SHOW GLOBAL VARIABLES WHERE Variable_name IN ('wsrep_on', 'wsrep_provider', 'wsrep_reject_queries', " +
  "'read_only', 'super_read_only', 'innodb_read_only')";
const STATUS_SQL =
  "SHOW GLOBAL STATUS WHERE Variable_name IN ('wsrep_ready', 'wsrep_cluster_status', 'wsrep_local_state', " +
  "'wsrep_local_state_comment')";

const SYNCED = 4;

/** A server variable's value means "on": 1, 'ON', MariaDB 11's 'NO_LOCK'...; not 0, 'OFF', ''. */
function isOn(value: string | undefined): boolean {
  if (value === undefined) return false;
  return value !== '0' && value.toUpperCase() !== 'OFF' && value !== '';
}

/**
 * The verdict from what a node answered (pure: unit-tested on its own). A node whose wsrep is off, or that has
 * no wsrep variables at all (MySQL), is judged on reachability alone.
 */
export function judge(vars: ServerVariables): NodeState {
  const readOnly = ['read_only', 'super_read_only', 'innodb_read_only'].some((name) => isOn(vars[name]));
  const wsrepOn = isOn(vars.wsrep_on) && (vars.wsrep_provider ?? 'none').toLowerCase() !== 'none';
  if (!wsrepOn) return { health: 'up', why: 'reachable', galera: undefined, readOnly };
  const galera: GaleraState = {
    ready: isOn(vars.wsrep_ready),
    clusterStatus: vars.wsrep_cluster_status ?? '',
    localState: Number(vars.wsrep_local_state ?? 0),
    localStateComment: vars.wsrep_local_state_comment ?? '',
    rejectQueries: (vars.wsrep_reject_queries ?? 'NONE').toUpperCase(),
  };
  const down = (why: string): NodeState => ({ health: 'down', why, galera, readOnly });
  if (galera.clusterStatus !== 'Primary') return down(`Galera ${galera.clusterStatus || 'no cluster status'}`);
  if (!galera.ready) return down('Galera wsrep_ready OFF');
  if (galera.rejectQueries !== 'NONE') return down(`Galera wsrep_reject_queries ${galera.rejectQueries}`);
  if (galera.localState !== SYNCED) {
    return { health: 'degraded', why: `Galera ${galera.localStateComment || `state ${galera.localState}`}`, galera, readOnly };
  }
  return { health: 'up', why: 'Galera Synced, Primary', galera, readOnly };
}

type Row = { Variable_name?: unknown; Value?: unknown } | unknown[];

function addRows(into: Record<string, string>, rows: unknown): void {
  if (!Array.isArray(rows)) return;
  for (const row of rows as Row[]) {
    const [name, value] = Array.isArray(row) ? row : [row.Variable_name, row.Value];
    if (name === undefined || name === null) return;
    into[String(name).toLowerCase()] = value === null || value === undefined ? '' : String(value);
  }
}

/** A connection for probes: the node's own config (user, TLS, database...), with the probe's connect bound. */
export function openProbeConnection(config: ConnectionConfig, timeoutMs: number): Connection {
  const cfg = cloneConnectionConfig(config) as ConnectionConfig & { connectTimeout: number; pool?: unknown };
  cfg.connectTimeout = timeoutMs;
  const Ctor = Connection as unknown as new (opts: { config: ConnectionConfig }) => Connection;
  const conn = new Ctor({ config: cfg });
  // Errors come back through the probe's callbacks; one that arrives while idle must not crash the process.
  conn.on('error', () => undefined);
  return conn;
}

/**
 * Asks the server behind `conn` for its state, in two short statements (`SHOW GLOBAL VARIABLES`, `SHOW GLOBAL
 * STATUS`, both answered by a Galera node that rejects table statements). Calls back once, within `timeoutMs`
 * (after which the connection is destroyed and the node judged down). `failed` is true when the connection is no
 * longer usable (the caller opens a new one next time).
 */
export function probeNode(
  conn: Connection,
  timeoutMs: number,
  done: (state: NodeState, failed: boolean) => void,
): void {
  let finished = false;
  const finish = (state: NodeState, failed: boolean): void => {
    if (finished) return;
    finished = true;
    clearTimeout(timer);
    if (failed) conn.destroy();
    done(state, failed);
  };
  const down = (why: string): NodeState => ({ health: 'down', why, galera: undefined, readOnly: undefined });
  // Background work: it must not keep the process alive.
  const timer = setTimeout(() => finish(down(`no answer within ${timeoutMs} ms`), true), timeoutMs);
  timer.unref();
  const vars: Record<string, string> = {};
  const onError = (err: { code?: unknown; message?: string }): void =>
    finish(down(`${String(err.code ?? 'error')}: ${err.message ?? ''}`.trim()), true);
  try {
    conn.query({ sql: VARIABLES_SQL, rowsAsArray: true, nestTables: false, typeCast: true }, (err: unknown, rows: unknown) => {
      if (err) return onError(err as Error);
      addRows(vars, rows);
      conn.query({ sql: STATUS_SQL, rowsAsArray: true, nestTables: false, typeCast: true }, (err2: unknown, rows2: unknown) => {
        if (err2) return onError(err2 as Error);
        addRows(vars, rows2);
        finish(judge(vars), false);
      });
    });
  } catch (err) {
    onError(err as Error);
  }
}
