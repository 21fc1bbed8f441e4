/**
 * A cluster's pattern (`cluster.of(pattern, selector)`): picks a node and fails over to another one under the
 * single-pool retry contract (docs/retry-contract.md). Each call tries each serving node of its pattern at most
 * once, within the acquire deadline of the first node it used; a held connection never moves.
 *
 * What a node's pool already decided travels on its error (`retryable`, `outcomeUnknown`): a connection-level
 * failure whose statement certainly did not run (never sent, ERR 4031, a Galera 1047 on a single atomic statement)
 * moves to another node; one whose outcome is unknown moves only when its final text is a plain read (and
 * `retryReadsAfterSend` is on) or it was declared idempotent. Anything else is passed on unchanged, with `nodeId`.
 */
import type { PoolConnection } from 'mysql2';
import { createQuery } from './mysql2-internals.js';
import type { ClusterNode } from './cluster-node.js';
import { ErrorCodes, poolClosedError } from './errors.js';
import type { AnnotatedError } from './errors.js';
import { rethrowLater } from './isolate.js';
import { log } from './log.js';
import { statementFacts } from './statement.js';
import { byRole, isReadOnlyRefusal, noWriterError, probeAll, toProbe, unknownRoles } from './cluster-roles.js';
import type { NodeRole } from './cluster-roles.js';

export const SELECTORS = ['RR', 'RANDOM', 'ORDER'] as const;

/** What a namespace needs of its cluster (cluster.ts implements it; no import back, so no cycle). */
export interface ClusterHost {
  readonly _closed: boolean;
  readonly config: { readonly canRetry: boolean };
  find(pattern: string | RegExp): ClusterNode[];
  noteFailure(node: ClusterNode): void;
  noteSuccess(node: ClusterNode): void;
  emit(event: string, ...args: unknown[]): boolean;
}
export type Selector = (typeof SELECTORS)[number];

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Callback = (err: any, ...rest: any[]) => void;
type ClusterError = AnnotatedError & { nodeId?: string; syscall?: string };

interface QueryLike {
  sql?: unknown;
  onResult?: Callback;
  emit(event: string, ...args: unknown[]): boolean;
}

function clusterError(code: 'POOL_NOEXIST' | 'POOL_NONEONLINE', message: string, cause?: string): Error {
  return Object.assign(new Error(cause ? `${message} (${cause})` : message), { code });
}

/** The node refused to connect or never answered the handshake: it cannot serve now. */
function isConnectFailure(err: ClusterError): boolean {
  return err.syscall === 'connect' || err.code === 'ECONNREFUSED' || err.code === 'EHOSTUNREACH' || err.code === 'ENETUNREACH';
}

/** Calls back once, isolating the caller's exceptions from the cluster's bookkeeping. */
function answer(cb: Callback, err: Error | null, ...rest: unknown[]): void {
  try {
    cb(err, ...rest);
  } catch (thrown) {
    rethrowLater(thrown);
  }
}

/** One call's attempts: the nodes tried, the deadline, the last error. */
class Attempts {
  readonly tried = new Set<ClusterNode>();
  deadline = Infinity;
  last: ClusterError | undefined;
  count = 0;
  /** Nodes of unknown role were probed once for this call. */
  rolesAsked = false;
}

export class PoolNamespace {
  private rr = 0;

  constructor(
    readonly cluster: ClusterHost,
    readonly pattern: string | RegExp,
    readonly selector: Selector,
    /** Ours: only writers, or readers first (cluster-roles.ts); undefined: any node, as mysql2. */
    readonly role?: NodeRole,
  ) {}

  /** A serving node not yet tried, of the namespace's role: the healthiest rank, then the selector. Undefined if none. */
  pick(exclude: ReadonlySet<ClusterNode>): ClusterNode | undefined {
    const nodes = byRole(this.cluster.find(this.pattern).filter((n) => n.serving && !exclude.has(n)), this.role);
    if (nodes.length === 0) return undefined;
    const best = Math.min(...nodes.map((n) => n.rank));
    const candidates = nodes.filter((n) => n.rank === best);
    if (candidates.length === 1 || this.selector === 'ORDER') return candidates[0];
    if (this.selector === 'RANDOM') return candidates[Math.floor(Math.random() * candidates.length)];
    return candidates[this.rr++ % candidates.length];
  }

  /**
   * The node for the next attempt. On a first attempt with no node serving (for a writer: none known writable), the
   * pattern's nodes are probed now (on demand, bounded by the probe timeout) before giving up with mysql2's
   * POOL_NONEONLINE (or POOL_NOWRITER when nodes serve but none is writable). On a later attempt with none left,
   * calls back with no node (the caller passes its last error on).
   */
  choose(at: Attempts, cb: (err: Error | null, node?: ClusterNode) => void): void {
    if (this.cluster._closed) return cb(poolClosedError());
    // A role namespace first waits for the first probe of serving nodes whose role is not known yet (just added).
    const unknown = this.role && !at.rolesAsked ? unknownRoles(this.cluster.find(this.pattern)) : [];
    at.rolesAsked = true;
    if (unknown.length > 0) return void probeAll(unknown).then(() => this.choose(at, cb));
    const node = this.pick(at.tried);
    if (node) return cb(null, node);
    const all = this.cluster.find(this.pattern);
    if (all.length === 0) return cb(clusterError('POOL_NOEXIST', 'Pool does Not exist.'));
    if (at.tried.size > 0) return cb(null, undefined);
    const stale = toProbe(all, this.role);
    log.pool('cluster pattern %s: no %s serving, probing %d now', String(this.pattern), this.role ?? 'node', stale.length);
    void probeAll(stale).then(() => {
      const again = this.cluster._closed ? undefined : this.pick(at.tried);
      if (again) return cb(null, again);
      if (this.cluster._closed) return cb(poolClosedError());
      if (this.role === 'writer' && all.some((n) => n.serving)) return cb(noWriterError(all));
      const why = all.filter((n) => !n.serving).map((n) => `${n.id}: ${n.downReason}`).join('; ');
      cb(clusterError('POOL_NONEONLINE', 'Pool does Not have online node.', why));
    });
  }

  getConnection(cb: (err: NodeJS.ErrnoException | null, connection: PoolConnection) => void): void {
    const at = new Attempts();
    const attempt = (): void => {
      this.choose(at, (err, node) => {
        if (err) return answer(cb, err, undefined);
        if (!node) return answer(cb, at.last ?? null, undefined);
        if (at.count++ === 0) at.deadline = deadlineOf(node);
        node.pool.getConnection((connErr, conn) => {
          if (!connErr) {
            this.cluster.noteSuccess(node);
            (conn as PoolConnection & { _clusterId?: string })._clusterId = node.id;
            return answer(cb, null, conn);
          }
          const e = Object.assign(connErr as ClusterError, { nodeId: node.id });
          at.tried.add(node);
          at.last = e;
          this.judgeNode(node, e);
          // Nothing was sent: any node may serve it, while time is left (mysql2 retries every error too).
          if (!this.cluster.config.canRetry || e.code === ErrorCodes.ACQUIRE_TIMEOUT || Date.now() >= at.deadline) {
            return answer(cb, e, undefined);
          }
          this.cluster.emit('warn', e);
          attempt();
        });
      });
    };
    attempt();
  }

  /** What a node's error says about the node: down at once (1047, refused connect), or suspect until probed. */
  private judgeNode(node: ClusterNode, e: ClusterError): void {
    if (e.code === ErrorCodes.POOL_CLOSED) return;
    this.cluster.noteFailure(node);
    if (e.errno === 1047) node.markDown(`1047: ${e.message}`);
    else if (isConnectFailure(e)) node.markDown(`${String(e.code)}: ${e.message}`);
    else if (e.retryable === true || e.fatal === true) node.noteConnectionError();
  }

  /** Whether a failed pool-level call may run on another node (see the file comment). */
  private movable(node: ClusterNode, e: ClusterError, sql: unknown, finalSql: () => unknown, at: Attempts): boolean {
    if (!this.cluster.config.canRetry || Date.now() >= at.deadline) return false;
    // The node was removed under the call: it never reached a connection there.
    if (e.code === ErrorCodes.POOL_CLOSED) return !this.cluster._closed;
    if (e.retryable !== true) return false;
    if (e.outcomeUnknown !== true) return true;
    const declared = sql && typeof sql === 'object' ? (sql as { idempotent?: unknown }).idempotent : undefined;
    const opts = node.pool.config.resilience;
    const idempotent = typeof declared === 'boolean' ? declared : opts.assumeIdempotent ? true : undefined;
    if (idempotent !== undefined) return idempotent;
    if (opts.retryReadsAfterSend === false) return false;
    const text = finalSql();
    return typeof text === 'string' && statementFacts(text).plainRead;
  }

  /** Pool-level query/execute with failover; see the file comment. */
  run(kind: 'query' | 'execute', args: unknown[]): unknown {
    const sql = args[0];
    let [, values, cb] = args as [unknown, unknown, Callback | undefined];
    if (typeof values === 'function') {
      cb = values as Callback;
      values = undefined;
    }
    if (kind === 'execute' && typeof cb !== 'function') throw new TypeError('execute() needs a callback (or use the promise API)');
    if (typeof cb !== 'function') return this.runEvents(sql, values);
    const callback = cb;
    const at = new Attempts();
    let returned: unknown;
    let sync = true;
    const attempt = (): void => {
      this.choose(at, (err, node) => {
        if (err) return answer(callback, err);
        if (!node) return answer(callback, at.last ?? null);
        if (at.count++ === 0) at.deadline = deadlineOf(node);
        const sent: { q?: QueryLike } = {};
        const done: Callback = (callErr, ...rest) => {
          if (!callErr) {
            this.cluster.noteSuccess(node);
            return answer(callback, null, ...rest);
          }
          const e = Object.assign(callErr as ClusterError, { nodeId: node.id });
          at.tried.add(node);
          at.last = e;
          this.judgeNode(node, e);
          const template = typeof sql === 'string' ? sql : (sql as { sql?: unknown } | undefined)?.sql;
          const finalSql = () => (kind === 'query' && typeof sent.q?.sql === 'string' ? sent.q.sql : template);
          const move = (): void => {
            if (!this.movable(node, e, sql, finalSql, at)) return answer(callback, e);
            log.retry('cluster %s on %s failed (%s: %s): trying another node', kind, node.id, String(e.code), e.message);
            this.cluster.emit('warn', e);
            attempt();
          };
          if (!isReadOnlyRefusal(e)) return move();
          // Refused as read-only: the roles may have swapped. Every node's role is stale: probe the pattern now (a
          // swap changes two nodes), then move only if this node is no longer a writer (else the error is the
          // application's own, e.g. `secure_file_priv`).
          void probeAll(this.cluster.find(this.pattern)).then(() => (this.role === 'writer' && node.role === 'writer' ? answer(callback, e) : move()));
        };
        const call = node.pool[kind] as unknown as (...a: unknown[]) => QueryLike | undefined;
        sent.q = values === undefined ? call.call(node.pool, sql, done) : call.call(node.pool, sql, values, done);
        if (sync) returned = sent.q;
      });
    };
    attempt();
    sync = false;
    return kind === 'query' ? (returned ?? createQuery(sql, values, undefined, {})) : undefined;
  }

  /**
   * A query with no callback (events, `.stream()`): rows may have been emitted when it fails, so it runs on one
   * node, chosen now, without failover.
   */
  private runEvents(sql: unknown, values: unknown): unknown {
    const node = this.cluster._closed ? undefined : this.pick(new Set());
    if (node) {
      const query = node.pool.query as unknown as (...a: unknown[]) => QueryLike;
      return values === undefined ? query.call(node.pool, sql) : query.call(node.pool, sql, values);
    }
    const q = createQuery(sql, values, undefined, {});
    const all = this.cluster._closed ? [] : this.cluster.find(this.pattern);
    const err = this.cluster._closed
      ? poolClosedError()
      : all.length === 0
        ? clusterError('POOL_NOEXIST', 'Pool does Not exist.')
        : this.role === 'writer' && all.some((n) => n.serving)
          ? noWriterError(all)
          : clusterError('POOL_NONEONLINE', 'Pool does Not have online node.');
    process.nextTick(() => {
      q.emit('error', err);
      q.emit('end');
    });
    return q;
  }

  query(...args: unknown[]): unknown {
    return this.run('query', args);
  }

  execute(...args: unknown[]): unknown {
    return this.run('execute', args);
  }
}

/** A call's deadline: the first node's acquireTimeout from now (0: none). */
function deadlineOf(node: ClusterNode): number {
  const ms = node.pool.config.resilience.acquireTimeout;
  return ms > 0 ? Date.now() + ms : Infinity;
}
