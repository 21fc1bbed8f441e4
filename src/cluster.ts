/**
 * A drop-in for mysql2's `createPoolCluster` (issue 11): mysql2's PoolCluster API (add/remove/of/getConnection/end,
 * RR/RANDOM/ORDER, glob patterns, online/offline/remove/warn events, its four options), where each node is a
 * resilient pool, a node that fails goes offline and comes back by itself once a probe finds it healthy (Galera
 * aware), and pool-level calls fail over to another node under the single-pool retry contract (cluster-call.ts).
 */
import { EventEmitter } from 'node:events';
import type { PoolConnection, PoolNamespace as MysqlPoolNamespace, PoolOptions } from 'mysql2';
import { ClusterNode } from './cluster-node.js';
import type { NodeHost, NodeRole, NodeTiming } from './cluster-node.js';
import { PoolNamespace, SELECTORS } from './cluster-call.js';
import type { Selector } from './cluster-call.js';
import { roleOption } from './cluster-roles.js';
import type { NamespaceOptions } from './cluster-roles.js';
import type { NodeHealth, NodeState } from './node-health.js';
import type { ResilientPoolOptions } from './options.js';
import { ResilientPool } from './pool.js';
import { ResilientPromisePoolCluster } from './cluster-promise.js';
import { emitIsolated } from './isolate.js';
import { log } from './log.js';

/** mysql2's PoolCluster options, plus this library's. */
export interface ResilientPoolClusterOptions {
  /** Try another node when getting a connection from one fails (mysql2's option). Default true. */
  canRetry?: boolean;
  /**
   * Remove a node for good after this many failures (failed connects, failed calls and failed probes; each success
   * takes one off, as in mysql2), but only when set explicitly and `restoreNodeTimeout` is 0: mysql2's meaning
   * when you ask for it. Default: never remove (mysql2's default is 5, and removed nodes never come back).
   */
  removeNodeErrorCount?: number;
  /**
   * How long a node that went offline waits before its first recheck (then the recheck delay doubles, up to
   * 2 s or this, whichever is longer). Unlike mysql2, a node comes back only when a probe finds it healthy,
   * never blindly. Default 0: first recheck after 250 ms.
   */
  restoreNodeTimeout?: number;
  /** 'RR' (default), 'RANDOM' or 'ORDER' (mysql2's). */
  defaultSelector?: string;
  /** How often a serving node is probed (Galera state, read-only). Default 2000 ms; 0: only after errors. */
  healthCheckInterval?: number;
  /** Bound of one probe: connect plus two `SHOW` statements. Default 1000 ms. */
  healthCheckTimeout?: number;
  /** The promise implementation of `.promise()` (mysql2's `Promise` option). */
  Promise?: PromiseConstructor;
}

export const CLUSTER_DEFAULTS = Object.freeze({
  canRetry: true,
  removeNodeErrorCount: Infinity,
  restoreNodeTimeout: 0,
  defaultSelector: 'RR' as Selector,
  healthCheckInterval: 2_000,
  healthCheckTimeout: 1_000,
});

export type ResolvedClusterOptions = Omit<Required<ResilientPoolClusterOptions>, 'Promise' | 'defaultSelector'> & {
  defaultSelector: Selector;
};

function positive(name: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || Number.isNaN(value) || value < 0) {
    throw new RangeError(`resilient-mysql-pool: ${name} must be a non-negative number, got ${String(value)}`);
  }
  return value;
}

function selectorOf(value: unknown, fallback: Selector): Selector {
  const name = typeof value === 'string' ? value.toUpperCase() : undefined;
  return name && (SELECTORS as readonly string[]).includes(name) ? (name as Selector) : fallback;
}

/** mysql2's pattern: `*` matches anything, the rest literally; or a RegExp. */
export function patternRegExp(pattern: string | RegExp): RegExp {
  if (pattern instanceof RegExp) return pattern;
  const source = pattern.replace(/([.+?^=!:${}()|[\]/\\])/g, '\\$1').replace(/\*/g, '.*');
  return new RegExp(`^${source}$`);
}

type Callback<T> = (err: NodeJS.ErrnoException | null, value: T) => void;

/** One node in `nodeStates()`. */
export interface NodeStateInfo {
  id: string;
  health: NodeHealth;
  /** `writer` (not read-only) or `reader` (read-only), from the last probe that could tell; undefined until known. */
  role: NodeRole | undefined;
  suspect: boolean;
  errorCount: number;
  state: NodeState | undefined;
}

export class ResilientPoolCluster extends EventEmitter implements NodeHost {
  /** The options as resolved (mysql2's cluster keeps its own in private fields). */
  readonly config: ResolvedClusterOptions;
  /** mysql2's flag: set by end(). */
  _closed = false;
  private readonly nodes = new Map<string, ClusterNode>();
  private readonly namespaces = new Map<string, PoolNamespace>();
  private lastId = 0;
  private readonly timing: NodeTiming;
  private readonly removeExplicit: boolean;
  private readonly promiseImpl: PromiseConstructor | undefined;
  private ending: Promise<void> | undefined;

  constructor(options: ResilientPoolClusterOptions = {}) {
    super();
    const o = options ?? {};
    this.removeExplicit = o.removeNodeErrorCount !== undefined && !(Number(o.restoreNodeTimeout) > 0);
    this.config = Object.freeze({
      canRetry: o.canRetry === undefined ? CLUSTER_DEFAULTS.canRetry : Boolean(o.canRetry),
      removeNodeErrorCount: positive('removeNodeErrorCount', o.removeNodeErrorCount, CLUSTER_DEFAULTS.removeNodeErrorCount),
      restoreNodeTimeout: positive('restoreNodeTimeout', o.restoreNodeTimeout, CLUSTER_DEFAULTS.restoreNodeTimeout),
      defaultSelector: selectorOf(o.defaultSelector, CLUSTER_DEFAULTS.defaultSelector),
      healthCheckInterval: positive('healthCheckInterval', o.healthCheckInterval, CLUSTER_DEFAULTS.healthCheckInterval),
      healthCheckTimeout: positive('healthCheckTimeout', o.healthCheckTimeout, CLUSTER_DEFAULTS.healthCheckTimeout) || 1,
    });
    const first = this.config.restoreNodeTimeout > 0 ? this.config.restoreNodeTimeout : 250;
    this.timing = {
      healthCheckInterval: this.config.healthCheckInterval,
      healthCheckTimeout: this.config.healthCheckTimeout,
      firstRecheckDelay: first,
      maxRecheckDelay: Math.max(first, 2_000),
    };
    this.promiseImpl = o.Promise;
  }

  /** `add(id, config)` or `add(config)` (id `CLUSTER::n`, as mysql2); an id already present is ignored, as in mysql2. */
  add(config: PoolOptions | ResilientPoolOptions): void;
  add(id: string, config: string | PoolOptions | ResilientPoolOptions): void;
  add(idOrConfig: string | PoolOptions | ResilientPoolOptions, config?: string | PoolOptions | ResilientPoolOptions): void {
    let id: string;
    if (typeof idOrConfig === 'object') {
      config = idOrConfig;
      id = `CLUSTER::${++this.lastId}`;
    } else {
      id = idOrConfig;
    }
    if (this.nodes.has(id)) return;
    const pool = new ResilientPool(config as string | ResilientPoolOptions);
    const node = new ClusterNode(id, pool, this, this.timing);
    pool.on('warn', (warning: Error) => this.emit('warn', Object.assign(warning, { nodeId: id })));
    // A write refused as read-only that the node's pool found confirmed: its role is stale, ask now.
    pool.on('retry', (info: { reason?: string }) => {
      if (info.reason === 'read-only') void node.probe();
    });
    this.nodes.set(id, node);
    if (this._closed) return;
    node.start();
  }

  /** Removes the matching nodes and ends their pools (no `remove` event, as in mysql2). */
  remove(pattern: string | RegExp): void {
    for (const node of this.find(pattern)) this.drop(node);
  }

  /**
   * The namespace of a pattern and selector (one per pair, as in mysql2). Typed as mysql2's `PoolNamespace`, whose
   * typings call it an EventEmitter; like mysql2's, it is not one at run time. `options.role` (ours): `'writer'`
   * serves only the nodes whose last probe said writable, `'reader'` read-only nodes first (cluster-roles.ts).
   */
  of(pattern?: string | RegExp, selector?: string, options?: NamespaceOptions): MysqlPoolNamespace {
    return this.namespace(pattern, selector, options) as unknown as MysqlPoolNamespace;
  }

  /** @internal The namespace object itself. */
  namespace(pattern?: string | RegExp, selector?: string, options?: NamespaceOptions): PoolNamespace {
    const p = pattern || '*';
    const s = selectorOf(selector, this.config.defaultSelector);
    const role = roleOption(options);
    const key = `${String(p)}\u0000${s}\u0000${role ?? ''}`;
    let ns = this.namespaces.get(key);
    if (!ns) {
      ns = new PoolNamespace(this, p, s, role);
      this.namespaces.set(key, ns);
    }
    return ns;
  }

  getConnection(cb: Callback<PoolConnection>): void;
  getConnection(pattern: string | RegExp, cb: Callback<PoolConnection>): void;
  getConnection(pattern: string | RegExp, selector: string, cb: Callback<PoolConnection>): void;
  getConnection(pattern: string | RegExp, selector: string, options: NamespaceOptions, cb: Callback<PoolConnection>): void;
  getConnection(...args: unknown[]): void {
    const cb = args.find((a) => typeof a === 'function') as Callback<PoolConnection>;
    const [pattern, selector, options] = args.filter((a) => typeof a !== 'function') as [string | undefined, string | undefined, NamespaceOptions | undefined];
    this.namespace(pattern, selector, options).getConnection(cb);
  }

  /** `query` on every node (`of('*')`): with mysql2 this exists only on the promise cluster, and fails there. */
  query(...args: unknown[]): unknown {
    return this.namespace().query(...args);
  }

  execute(...args: unknown[]): unknown {
    return this.namespace().execute(...args);
  }

  /** Ends every node's pool (each waits for its checked-out connections, up to its `endTimeout`). Idempotent. */
  end(cb?: (err: NodeJS.ErrnoException | null) => void): void {
    this._closed = true;
    this.ending ??= (async () => {
      const pools = [...this.nodes.values()].map((node) => {
        node.close();
        return new Promise<void>((resolve) => node.pool.end(() => resolve()));
      });
      await Promise.all(pools);
    })();
    this.ending.then(() => cb?.(null));
  }

  [Symbol.dispose](): void {
    if (!this._closed) this.end();
  }

  promise(promiseImpl?: PromiseConstructor): ResilientPromisePoolCluster {
    return new ResilientPromisePoolCluster(this, promiseImpl ?? this.promiseImpl);
  }

  /** Each node's id, health, role (as last probed), error count and last probe answer; plain data. */
  nodeStates(): NodeStateInfo[] {
    return [...this.nodes.values()].map((n) => ({ id: n.id, health: n.health, role: n.role, suspect: n.suspect, errorCount: n.errorCount, state: n.state }));
  }

  /** The node's pool (for stats), or undefined. */
  poolOf(id: string): ResilientPool | undefined {
    return this.nodes.get(id)?.pool;
  }

  override emit(event: string | symbol, ...args: unknown[]): boolean {
    return emitIsolated(this, event, args);
  }

  // ---------------------------------------------------------------- for namespaces and nodes (internal)

  /** @internal Nodes whose id matches, in the order they were added. */
  find(pattern: string | RegExp): ClusterNode[] {
    const re = patternRegExp(pattern);
    return [...this.nodes.values()].filter((node) => re.test(node.id));
  }

  /** @internal A failure seen on a node (a failed connect or call); may remove it when the application asked for that. */
  noteFailure(node: ClusterNode): void {
    node.errorCount++;
    this.maybeRemove(node);
  }

  /** @internal */
  noteSuccess(node: ClusterNode): void {
    node.errorCount = Math.max(0, Math.min(node.errorCount, this.config.removeNodeErrorCount) - 1);
  }

  nodeChanged(node: ClusterNode, before: NodeHealth, state: NodeState): void {
    const wasServing = before !== 'down';
    const serving = state.health !== 'down';
    log.pool('cluster node %s: %s -> %s (%s)', node.id, before, state.health, state.why);
    if (wasServing && !serving) this.emit('offline', node.id);
    else if (!wasServing && serving) this.emit('online', node.id);
  }

  /** A node's role changed (a swap, a promotion): the `role` event (ours), `(nodeId, role, previousRole)`. */
  roleChanged(node: ClusterNode, role: NodeRole, previous: NodeRole): void {
    log.pool('cluster node %s: role %s -> %s', node.id, previous, role);
    this.emit('role', node.id, role, previous);
  }

  probeFailed(node: ClusterNode): void {
    this.noteFailure(node);
  }

  private maybeRemove(node: ClusterNode): void {
    if (!this.removeExplicit || node.removed || node.errorCount < this.config.removeNodeErrorCount) return;
    this.drop(node);
    this.emit('remove', node.id);
  }

  private drop(node: ClusterNode): void {
    if (this.nodes.get(node.id) !== node) return;
    this.nodes.delete(node.id);
    node.close();
    node.pool.end();
  }
}

/** Drop-in for mysql2's `createPoolCluster`. */
export function createResilientPoolCluster(options?: ResilientPoolClusterOptions): ResilientPoolCluster {
  return new ResilientPoolCluster(options);
}
