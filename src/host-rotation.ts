/**
 * One pool, several hosts (the list: host-list.ts). Every new connection goes to the current host; when a connect to
 * it fails, the next host becomes current (and connections to the failed one are no longer handed out). With
 * `preferFirstHost`, a background check (every `hostRecheckInterval` ms, unref'd, bounded by a timeout; node-health.ts)
 * moves back to the earliest host that is healthy again. A pool with one host has no HostRotation at all (no cost).
 */
import type { Connection, ConnectionConfig } from 'mysql2';
import type { Clock, TimerHandle } from './clock.js';
import type { HostAddress } from './host-list.js';
import { cloneConnectionConfig } from './mysql2-internals.js';
import { openProbeConnection, probeNode } from './node-health.js';
import type { NodeState } from './node-health.js';
import { log } from './log.js';

export interface HostRotationOptions {
  preferFirstHost: boolean;
  /** A read-only host is not moved back to. */
  skipReadOnly: boolean;
  hostRecheckInterval: number;
  /** Longest a recheck of a preferred host may take. */
  recheckTimeout: number;
  clock: Clock;
  /** The current host changed (from, to, why): the pool forgets what it learned about the server. */
  onMove: (from: number, to: number, why: string) => void;
}

/** One host's failed connect, on the error of a connect that failed on every host (`err.hostErrors`). */
export interface HostError {
  host: string;
  port: number;
  code: string | number | undefined;
  errno: number | undefined;
  message: string;
}

function hostError({ host, port }: HostAddress, err: unknown): HostError {
  const e = (err ?? {}) as { code?: unknown; errno?: unknown; message?: unknown };
  return {
    host,
    port,
    code: typeof e.code === 'string' || typeof e.code === 'number' ? e.code : undefined,
    errno: typeof e.errno === 'number' ? e.errno : undefined,
    message: typeof e.message === 'string' ? e.message : String(err),
  };
}

/** The rotation state of a multi-host pool. */
export class HostRotation {
  /** The host new connections go to. */
  current = 0;
  private readonly hostOf = new WeakMap<object, number>();
  private readonly configs: ConnectionConfig[];
  private timer: TimerHandle | undefined;
  private probe: Connection | undefined;
  private closed = false;

  constructor(
    readonly hosts: readonly HostAddress[],
    base: ConnectionConfig,
    private readonly opts: HostRotationOptions,
  ) {
    this.configs = hosts.map(({ host, port }) => {
      const config = cloneConnectionConfig(base) as ConnectionConfig & { host: string; port: number };
      config.host = host;
      config.port = port;
      return config;
    });
  }

  describe(i: number): string {
    const { host, port } = this.hosts[i]!;
    return `${host}:${port}`;
  }

  /**
   * Opens a connection with `open`, on the current host first, then on each next one (wrapping around) while
   * connects fail; a failure moves the current host on. Rejects with the last host's error when every host failed:
   * mysql2's error object unchanged (code, errno, message, fatal), with `hostErrors` added, one entry per host tried
   * in order (`{ host, port, code, errno, message }`, plain data: no reference back to the error itself).
   */
  async connect<T extends object>(
    open: (config: ConnectionConfig) => Promise<T>,
    stop: () => boolean,
    /** Rejects (and closes `conn`) when the host must not be used after all (skipReadOnlyHosts). */
    accept?: (conn: T) => Promise<void>,
  ): Promise<T> {
    const start = this.current;
    let lastError: unknown;
    const hostErrors: HostError[] = [];
    for (let k = 0; k < this.hosts.length; k++) {
      const i = (start + k) % this.hosts.length;
      try {
        const conn = await open(this.configs[i]!);
        if (accept) await accept(conn);
        this.hostOf.set(conn, i);
        return conn;
      } catch (err) {
        lastError = err;
        hostErrors.push(hostError(this.hosts[i]!, err));
        if (stop()) break;
        this.failed(i, err as Error);
      }
    }
    if (lastError !== null && typeof lastError === 'object' && hostErrors.length > 1) {
      log.pool('every host failed: %s', hostErrors.map((h) => `${h.host}:${h.port} ${String(h.code ?? '')} ${h.message}`.trim()).join('; '));
      Object.assign(lastError, { hostErrors });
    }
    throw lastError;
  }

  /** The current host's connection config (for a health probe of the pool as a whole). */
  currentConfig(): ConnectionConfig {
    return this.configs[this.current]!;
  }

  /** A health probe found the current host down: the next one becomes current. */
  probeFailed(i: number, why: string): void {
    if (i !== this.current || this.closed) return;
    this.moveTo((i + 1) % this.hosts.length, `probe: ${why}`);
  }

  /** A connection made to a host that is no longer current: not to be handed out. */
  abandoned(conn: object): boolean {
    const i = this.hostOf.get(conn);
    return i !== undefined && i !== this.current;
  }

  private failed(i: number, err: Error): void {
    if (i !== this.current || this.closed) return;
    this.moveTo((i + 1) % this.hosts.length, `connect failed (${String((err as { code?: unknown }).code ?? err.message)})`);
  }

  private moveTo(to: number, why: string): void {
    const from = this.current;
    if (from === to) return;
    this.current = to;
    this.opts.onMove(from, to, why);
    this.schedule();
  }

  /** With preferFirstHost and a later host current, a background recheck of the earlier ones. */
  private schedule(): void {
    if (!this.opts.preferFirstHost || this.closed || this.current === 0 || this.timer) return;
    this.timer = this.opts.clock.setBackgroundTimeout(() => {
      this.timer = undefined;
      this.recheck(0);
    }, this.opts.hostRecheckInterval);
  }

  /** Probes host `i` (< current): healthy → it becomes current; otherwise the next one, then wait again. */
  private recheck(i: number): void {
    if (this.closed) return;
    if (i >= this.current) return this.schedule();
    const conn = openProbeConnection(this.configs[i]!, this.opts.recheckTimeout);
    this.probe = conn;
    probeNode(conn, this.opts.recheckTimeout, (state: NodeState, failed: boolean) => {
      this.probe = undefined;
      if (!failed) conn.destroy();
      if (this.closed) return;
      if (state.health === 'up' && !(this.opts.skipReadOnly && state.readOnly) && i < this.current) this.moveTo(i, `preferred host ${this.describe(i)} is back`);
      else this.recheck(i + 1);
    });
  }

  close(): void {
    this.closed = true;
    if (this.timer) this.opts.clock.clearTimeout(this.timer);
    this.timer = undefined;
    this.probe?.destroy();
    this.probe = undefined;
  }
}
