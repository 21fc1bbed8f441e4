/** The doctor's report: what it reads from the server, the pool settings it derives, and its findings. */
import type { Flavor } from './error-table.js';
import type { Clamp } from './limits.js';

/** Durations the caller (or the URL's query string) may set; in ms, as the pool options. */
export interface DoctorOptions {
  /** Idle limit of a load balancer / NAT / proxy on the path (the pool's `networkIdleTimeout`). */
  networkIdleTimeout?: number;
  /** The `maxLifetime` the application will pass to the pool. */
  maxLifetime?: number;
  /** The `idleTimeout` the application will pass to the pool. */
  idleTimeout?: number;
}

export type Severity = 'warning' | 'note';

/** Something worth knowing before the pool meets this server. */
export interface Finding {
  severity: Severity;
  /** Stable identifier, e.g. `WAIT_TIMEOUT_SHORT`. */
  code: string;
  message: string;
}

/** Where a requested pool value comes from. */
export type Source = 'default' | 'url' | 'option';

export interface DoctorReport {
  /** The URL as given, password masked. */
  url: string;
  target: { host: string; port: number; socketPath?: string; user: string; database?: string };
  /** What the server reports. Timeouts are in seconds, as the server reports them. */
  server: {
    flavor: Flavor;
    /** e.g. `10.11.6`. */
    version: string;
    /** `SELECT VERSION()` as returned, e.g. `10.11.6-MariaDB-0+deb12u1`. */
    versionString: string;
    /** What this connection got (the pool's connections get the same) and the server-wide default. */
    waitTimeout: { session: number; global: number };
    interactiveTimeout: { session: number; global: number };
    maxConnections: number;
    /** `Threads_connected`, this connection included; null if it could not be read. */
    threadsConnected: number | null;
    /** `Max_used_connections` since the server started; null if it could not be read. */
    maxUsedConnections: number | null;
    readOnly: boolean;
    /** MySQL only; null where the server has no such variable (MariaDB). */
    superReadOnly: boolean | null;
    netReadTimeout: number;
    netWriteTimeout: number;
    /** null if it could not be read. */
    innodbLockWaitTimeout: number | null;
    /** `@@init_connect` when set (runs per session for users without SUPER / CONNECTION ADMIN); null when empty. */
    initConnect: string | null;
  };
  /**
   * The settings the pool will run with for this URL and these options. Durations in ms; null means none
   * (no limit), which JSON cannot write as Infinity.
   */
  pool: {
    requested: {
      idleTimeout: { value: number; source: Source };
      maxLifetime: { value: number; source: Source };
      networkIdleTimeout: { value: number; source: Source };
    };
    /** Idle connections above `minConnections` are closed after this long. */
    idleTimeout: number | null;
    /** Connections are closed at this age, each up to `maxLifetimeJitterPercent` earlier at random. */
    maxLifetime: number | null;
    maxLifetimeJitterPercent: number;
    /** Idle this long, a connection is presumed closed by the server or network and never handed out. */
    idleLimit: number | null;
    /** What `idleLimit` is derived from. */
    idleLimitBecause: string | null;
    clamps: Clamp[];
    keepAlive: { enabled: boolean; initialDelay: number | null };
    pingSkipWindow: number;
    pingTimeout: number;
    acquireTimeout: number;
    connectionLimit: number;
    maxAttempts: number;
  };
  warnings: Finding[];
  notes: Finding[];
  /** Time taken to connect and read everything, ms. */
  elapsedMs: number;
}
