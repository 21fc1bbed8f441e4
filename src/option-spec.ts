/**
 * The one table of options. Everything else is produced from it: the defaults (`DEFAULTS`), the option types
 * (`ResilienceOptions`, `ResolvedOptions` in options.ts), the validation and its error codes (options.ts), and the
 * README's options tables (`node --import tsx scripts/options-table.ts --write`; test/unit/options.test.ts fails
 * when the README differs). To add an option, add a row here; the compiler and that test point at the rest.
 *
 * A data file: each row is what a reader needs to know about one option.
 */

/** How a value is checked. `integer`: a non-negative integer (>= `min`); mysql2's own also accept numeric strings. */
export type OptionType = 'integer' | 'boolean' | 'function' | 'object';

export interface OptionSpec {
  type: OptionType;
  /** What the number counts (README's Unit column); every duration is in ms. */
  unit?: 'ms' | 'connections' | 'callers' | 'attempts';
  /** The value used when the option is unset (or null); undefined: none. */
  default: number | boolean | undefined;
  /** README's Default column when it is not the default itself. */
  defaultText?: string;
  /** Smallest allowed value of an integer (default 0). */
  min?: number;
  /** Largest allowed value of an integer (default none). */
  max?: number;
  /** README's Meaning column (Markdown, one line). */
  doc: string;
  /** Left out of the README (test hooks). */
  internal?: true;
  /** mysql2's: documented here, handed to mysql2 and not read by the pool (so not in `ResolvedOptions`). */
  passThrough?: true;
}

/**
 * This library's own options: validated, and removed before the rest is handed to mysql2, so mysql2 never warns
 * about them. Every duration is in milliseconds, named the way mysql2 names its own (`idleTimeout`).
 */
export const OWN_OPTIONS = {
  /**
   * Longest a caller waits for a connection (queue + validation + connect), and the budget retries spend from.
   * Default 10000. 0 means wait forever (mysql2's behaviour; not recommended).
   */
  acquireTimeout: {
    type: 'integer',
    unit: 'ms',
    default: 10_000,
    doc: 'Longest a caller waits for a connection (queue, validation, connect); also the retry budget. 0 waits forever.',
  },
  /**
   * How long a pre-ping on checkout may take before the connection is declared dead and dropped. Default 500: two
   * orders of magnitude above a healthy ping (<1 ms on a LAN, ~2 ms across zones), so a busy server is not mistaken
   * for a dead one, yet a silently dropped flow costs a checkout half a second, not TCP's ~15 minutes. Must be > 0.
   */
  pingTimeout: {
    type: 'integer',
    unit: 'ms',
    default: 500,
    min: 1,
    doc: 'Longest a checkout ping may take before the connection is dropped. > 0.',
  },
  /**
   * A connection used less than this long ago is handed out without a ping (HikariCP and the mariadb driver use
   * 500). Default 500. 0 pings every checkout.
   */
  pingSkipWindow: {
    type: 'integer',
    unit: 'ms',
    default: 500,
    doc: 'Connections used less than this long ago are not pinged. 0 pings every checkout.',
  },
  /**
   * Maximum age of a connection; older ones are closed when idle or on release. Each connection gets up to 2.5% less,
   * at random, so they do not all expire at once. Clamped below the server's `wait_timeout` and
   * `networkIdleTimeout`. Default 1800000 (30 min). 0 means no age limit (the clamps still apply).
   */
  maxLifetime: {
    type: 'integer',
    unit: 'ms',
    default: 1_800_000,
    doc: 'Maximum connection age (jittered, clamped below `wait_timeout`). 0: no age limit besides the clamps.',
  },
  /**
   * An idle limit that SQL cannot see: a proxy, NAT or load balancer that drops idle flows (AWS NLB/NAT gateway
   * 350000, Azure LB 240000, GCP 600000). Idle eviction and lifetime are kept below it. Default 0 (none known).
   */
  networkIdleTimeout: {
    type: 'integer',
    unit: 'ms',
    default: 0,
    doc: 'Idle limit of a proxy/NAT/load balancer on the path; 0 = none known.',
  },
  /** Connections kept open even when idle (created at start). Default 0. */
  minConnections: {
    type: 'integer',
    unit: 'connections',
    default: 0,
    doc: 'Connections kept open even when idle.',
  },
  /**
   * Default timeout for pool-level `query`/`execute` when the call does not set mysql2's `timeout`; on expiry the
   * connection is destroyed (mysql2 leaves it busy). Default 0 (none: long queries are legitimate).
   */
  queryTimeout: {
    type: 'integer',
    unit: 'ms',
    default: 0,
    doc: 'Default timeout for pool-level `query`/`execute` without their own `timeout`; 0 = none.',
  },
  /**
   * Attempts for a pool-level `query`/`execute` whose failure is safe to retry. Default 3 (Go's database/sql: 2 on
   * pooled connections, then a fresh one). 1 disables retries.
   */
  maxAttempts: {
    type: 'integer',
    unit: 'attempts',
    default: 3,
    min: 1,
    max: 1000,
    doc: 'Attempts for a pool-level call whose failure is safe to retry (1-1000); 1 disables retries.',
  },
  /**
   * Treat every pool-level statement as idempotent: retry it even when the connection died after it was sent.
   * Default false: only plain reads are. Per call: `pool.query({ sql, idempotent: true | false })`.
   */
  assumeIdempotent: {
    type: 'boolean',
    default: false,
    doc: 'Retry every pool-level statement even when its outcome is unknown.',
  },
  /**
   * Retry a statement after it was sent on the strength of its SQL text: a plain read whose connection died
   * mid-flight, or a single statement the server refused as read-only. Default true. Set false when views, triggers
   * or functions make reads write (a view over a side-effecting function cannot be seen in the text): then nothing
   * sent is retried unless declared idempotent (per call `idempotent: true`, or `assumeIdempotent`, which win: they
   * are your word about the statement), and a read-only refusal no longer counts as "did not run". Statements never
   * sent, or that the server certainly never read (ERR 4031), are still retried. Not the same as `maxAttempts: 1`,
   * which stops those always-safe retries too.
   */
  retryReadsAfterSend: {
    type: 'boolean',
    default: true,
    doc:
      '`false`: never retry a sent statement on the strength of its SQL text (plain reads, read-only refusals), for ' +
      'schemas whose views or triggers make reads write. Never-sent statements and declared-idempotent ones are still retried.',
  },
  /**
   * How long `end()` waits for checked-out connections to be released before it destroys them. Default 10000. 0
   * destroys them at once.
   */
  endTimeout: {
    type: 'integer',
    unit: 'ms',
    default: 10_000,
    doc: 'How long `end()` waits for checked-out connections before destroying them.',
  },
  /**
   * Report a connection held (checked out with getConnection) longer than this, once per checkout, with the stack of
   * the getConnection call: a `leak` event and a `debug` line. Default 0 (off: when on, each checkout captures a
   * stack and arms a timer).
   */
  leakDetectionThreshold: {
    type: 'integer',
    unit: 'ms',
    default: 0,
    doc:
      'Report a connection held (via `getConnection`) longer than this, once per checkout, with the stack of the ' +
      '`getConnection` call: a `leak` event and a `debug` line. 0 = off (when on, each checkout captures a stack and arms a timer).',
  },
  /**
   * An ordered list of hosts for one pool: `['h1:3306', 'h2:3307']` or `[{ host, port }]` (a port left out is
   * `port`'s, else 3306). The same list can be given as a multi-host URL (`mysql://u:p@h1:3306,h2:3306/db`) or a
   * comma-separated `host` (`'h1:3306,h2:3307'`). New connections go to the current host (at first the first); a
   * connect that fails moves to the next, and connections to the failed host are no longer handed out.
   */
  hosts: {
    type: 'object',
    default: undefined,
    defaultText: '—',
    doc: "Ordered host list (`['h1:3306', 'h2:3307']`; also a multi-host URL or a comma-separated `host`): connects to the current host, moves to the next when a connect fails.",
  },
  /** With several hosts: move back to an earlier host as soon as a background check finds it healthy again. */
  preferFirstHost: {
    type: 'boolean',
    default: false,
    doc: 'With several hosts: go back to the first (earliest healthy) host once a background check finds it up again.',
  },
  /**
   * With several hosts, for a writer pool: a new connection to a host whose `read_only` (`super_read_only`,
   * `innodb_read_only`) is on is closed and the next host tried, so after a primary/replica role swap the pool finds
   * the new writer (one extra round trip per new connection, only with this option).
   */
  skipReadOnlyHosts: {
    type: 'boolean',
    default: false,
    doc: 'With several hosts: a host that is read-only counts as failed (a writer pool follows a role swap). One round trip per new connection.',
  },
  /** How often, while a later host is current, `preferFirstHost` checks the earlier ones. */
  hostRecheckInterval: {
    type: 'integer',
    unit: 'ms',
    default: 5_000,
    min: 1,
    doc: 'With `preferFirstHost`: how often the earlier hosts are checked while a later one is current. > 0.',
  },
  /**
   * Override the error table: called with the table's action (null: a plain SQL error); return an action to use
   * instead, null for "leave the connection alone", or undefined to keep the table's answer. Called for every error
   * on a connection.
   */
  classifyError: {
    type: 'function',
    default: undefined,
    defaultText: '—',
    doc: '`(err, action) => action \\| null \\| undefined`: override the error table.',
  },
  /** @internal Time source; tests pass a fake clock. */
  clock: { type: 'object', default: undefined, doc: 'Time source (tests).', internal: true },
} as const satisfies Record<string, OptionSpec>;

/**
 * mysql2's pool options as this pool reads them (mysql2 stays the spec for their meaning, and gets them unchanged).
 * Like mysql2, they accept numeric strings, and the booleans follow `Boolean()`.
 */
export const MYSQL2_OPTIONS = {
  connectionLimit: { type: 'integer', unit: 'connections', default: 10, doc: 'Same; 0 means no limit, as in mysql2.' },
  waitForConnections: {
    type: 'boolean',
    default: true,
    doc: 'Same: `false` gives `No connections available.` at once when all are busy.',
  },
  queueLimit: {
    type: 'integer',
    unit: 'callers',
    default: 0,
    defaultText: '0 (none)',
    doc: 'Same: counts callers queued because every connection is busy.',
  },
  maxIdle: {
    type: 'integer',
    unit: 'connections',
    // The user's connectionLimit (resolved in options.ts).
    default: undefined,
    defaultText: '`connectionLimit`',
    doc:
      'Idle connections above it are closed at the next eviction run (every second), the least recently released ' +
      'first, as in mysql2.',
  },
  idleTimeout: {
    type: 'integer',
    unit: 'ms',
    default: 60_000,
    doc: 'Always applies (mysql2: only when `maxIdle < connectionLimit`), above `minConnections`, clamped below `wait_timeout`.',
  },
  enableKeepAlive: { type: 'boolean', default: true, doc: 'Same.', passThrough: true },
  keepAliveInitialDelay: {
    type: 'integer',
    unit: 'ms',
    // mysql2 leaves it unset, so Linux's 7200 s applies: useless against 240-600 s load balancer idle drops.
    default: 30_000,
    doc: 'mysql2 leaves it unset (Linux: 7200 s). Yours wins.',
    passThrough: true,
  },
  connectTimeout: {
    type: 'integer',
    unit: 'ms',
    // mysql2's own default; this library does not set it.
    default: undefined,
    defaultText: '10000',
    doc: 'Same (per connection attempt); the caller\'s wait is bounded by `acquireTimeout`.',
    passThrough: true,
  },
  resetOnRelease: {
    type: 'boolean',
    default: false,
    doc: 'Same: `COM_RESET_CONNECTION` on release; a failed reset destroys the connection.',
  },
} as const satisfies Record<string, OptionSpec>;

export type OwnOptionName = keyof typeof OWN_OPTIONS;
export type Mysql2OptionName = keyof typeof MYSQL2_OPTIONS;
