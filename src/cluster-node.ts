/**
 * One node of a cluster: a resilient pool, what the cluster last learned about the server behind it, and the
 * background probe that keeps that knowledge fresh. A node is never dropped here: it goes down and comes back up
 * as the probes say (removal is the cluster's decision, only when the application asked for it).
 */
import type { Connection } from 'mysql2';
import type { ResilientPool } from './pool.js';
import { openProbeConnection, probeNode } from './node-health.js';
import type { NodeHealth, NodeState } from './node-health.js';

/** A node's role as its last answered probe said: `writer` (not read-only) or `reader` (read-only). */
export type NodeRole = 'writer' | 'reader';

/** What a node tells its cluster. */
export interface NodeHost {
  /** The node's role changed from one known role to the other (a role swap, a promotion). */
  roleChanged(node: ClusterNode, role: NodeRole, previous: NodeRole): void;
  /** The node's health changed (from `up`/`degraded` to `down` or back, or between `up` and `degraded`). */
  nodeChanged(node: ClusterNode, before: NodeHealth, state: NodeState): void;
  /** A background probe failed (for the error count of `removeNodeErrorCount`). */
  probeFailed(node: ClusterNode, state: NodeState): void;
}

export interface NodeTiming {
  /** Probe period while the node serves; 0: no periodic probe (errors still trigger one). */
  healthCheckInterval: number;
  /** Bound of one probe (connect and both statements). */
  healthCheckTimeout: number;
  /** First recheck of a down node after this; doubled after each failed recheck up to `maxRecheckDelay`. */
  firstRecheckDelay: number;
  maxRecheckDelay: number;
}

export class ClusterNode {
  /** Assumed `up` until the first probe answers: a node added to a running cluster takes traffic at once. */
  health: NodeHealth = 'up';
  /** A connection-level error was seen and the probe it started has not answered yet: other nodes first. */
  suspect = false;
  /** mysql2's errorCount: up on each failure, down (not below 0) on each success. */
  errorCount = 0;
  /** The last probe's answer. */
  state: NodeState | undefined;
  /** The role the last probe that could tell said (kept while the node is down); undefined until known. */
  role: NodeRole | undefined;
  /** Why the node is down, for the error a caller gets when no node can serve. */
  downReason = '';
  removed = false;
  private probeConn: Connection | undefined;
  /** The host index probeConn is connected to, when the node's pool has several hosts. */
  private probeHost: number | undefined;
  private probing: Promise<NodeState> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private recheckDelay: number;
  private readonly waiters = new Set<() => void>();

  constructor(
    readonly id: string,
    readonly pool: ResilientPool,
    private readonly host: NodeHost,
    private readonly timing: NodeTiming,
  ) {
    this.recheckDelay = timing.firstRecheckDelay;
  }

  get serving(): boolean {
    return !this.removed && this.health !== 'down';
  }

  /** Order of preference among serving nodes: 0 best. */
  get rank(): number {
    return this.health === 'up' && !this.suspect ? 0 : 1;
  }

  /** Starts the background probes (the first one now). */
  start(): void {
    void this.probe();
  }

  /**
   * Probes now, or joins the probe under way. Always resolves (a failed probe is a `down` state). The next
   * background probe is scheduled from its answer.
   */
  probe(): Promise<NodeState> {
    if (this.removed) return Promise.resolve(this.state ?? { health: 'down', why: 'removed', galera: undefined, readOnly: undefined });
    this.probing ??= new Promise<NodeState>((resolve) => {
      this.clearTimer();
      // A node given several hosts (host-rotation.ts) is probed on its current host, and on each next one while down.
      const hosts = this.pool.connector.hosts;
      let hostsLeft = hosts ? hosts.hosts.length - 1 : 0;
      const attempt = (retryFresh: boolean): void => {
        const host = hosts?.current;
        if (host !== undefined && this.probeHost !== host) {
          this.probeConn?.destroy();
          this.probeConn = undefined;
        }
        this.probeHost = host;
        const reused = this.probeConn !== undefined;
        this.probeConn ??= openProbeConnection(hosts?.currentConfig() ?? this.pool.config.connectionConfig, this.timing.healthCheckTimeout);
        const conn = this.probeConn;
        probeNode(conn, this.timing.healthCheckTimeout, (state, failed) => {
          if (failed && this.probeConn === conn) this.probeConn = undefined;
          if (hosts && host !== undefined && state.health === 'down' && hostsLeft > 0 && !this.removed) {
            hostsLeft--;
            hosts.probeFailed(host, state.why);
            return attempt(true);
          }
          // A kept connection may have been closed by the server while idle (wait_timeout): ask once more on a new one.
          // (Not after a timeout: a server that does not answer one connection will not answer another.)
          if (failed && reused && retryFresh && !this.removed && !state.why.startsWith('no answer')) return attempt(false);
          this.probing = undefined;
          this.learn(state);
          resolve(state);
        });
      };
      attempt(true);
    });
    return this.probing;
  }

  /** A connection-level error from this node's pool: suspect until a probe (started now) says otherwise. */
  noteConnectionError(): void {
    if (this.removed) return;
    this.suspect = true;
    void this.probe();
  }

  /**
   * Evidence that the node cannot serve now (a failed connect, ERR 1047): down at once, without waiting for a
   * probe; the background recheck brings it back.
   */
  markDown(why: string): void {
    if (this.removed) return;
    const before = this.health;
    this.health = 'down';
    this.downReason = why;
    this.suspect = false;
    if (before !== 'down') {
      this.recheckDelay = this.timing.firstRecheckDelay;
      this.host.nodeChanged(this, before, { health: 'down', why, galera: this.state?.galera, readOnly: this.state?.readOnly });
      if (!this.probing) this.schedule(this.recheckDelay);
    }
  }

  /** Resolves at the next change of health (or at once if removed). */
  nextChange(): Promise<void> {
    if (this.removed) return Promise.resolve();
    return new Promise((resolve) => this.waiters.add(resolve));
  }

  private learn(state: NodeState): void {
    if (this.removed) return;
    this.state = state;
    this.suspect = false;
    const before = this.health;
    this.health = state.health;
    const previousRole = this.role;
    if (state.readOnly !== undefined) this.role = state.readOnly ? 'reader' : 'writer';
    if (state.health === 'down') {
      this.downReason = state.why;
      this.host.probeFailed(this, state);
      if (this.removed) return;
      // Back off while it stays down; a fresh outage starts from the first delay.
      const delay = before === 'down' ? this.recheckDelay : this.timing.firstRecheckDelay;
      this.recheckDelay = Math.min(delay * 2, this.timing.maxRecheckDelay);
      this.schedule(delay);
    } else {
      this.recheckDelay = this.timing.firstRecheckDelay;
      if (this.timing.healthCheckInterval > 0) this.schedule(this.timing.healthCheckInterval);
    }
    if (before !== state.health) this.host.nodeChanged(this, before, state);
    if (previousRole !== undefined && this.role !== previousRole && !this.removed) this.host.roleChanged(this, this.role!, previousRole);
    for (const wake of [...this.waiters]) wake();
    this.waiters.clear();
  }

  private schedule(ms: number): void {
    this.clearTimer();
    // Housekeeping: nobody waits on it, so it never keeps the process alive.
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.probe();
    }, ms);
    this.timer.unref();
  }

  private clearTimer(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** Stops probing and closes the probe connection; the pool is ended by the cluster. */
  close(): void {
    this.removed = true;
    this.clearTimer();
    this.probeConn?.destroy();
    this.probeConn = undefined;
    for (const wake of [...this.waiters]) wake();
    this.waiters.clear();
  }
}
