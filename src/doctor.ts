/**
 * `resilient-mysql-pool doctor <mysql-url>`: connects once (a plain mysql2 connection, bounded), reads the server
 * settings that decide how long pooled connections survive, and shows the limits the pool will derive from them with
 * the given options, plus warnings about what will bite in production.
 *
 * The derived limits come from the pool's own code (`resolveOptions`, `computeLimits`), fed with the session
 * `wait_timeout` read over a connection opened with the same options, so they match what `createResilientPool(url)`
 * uses exactly. The password never appears in the report, its text or its errors.
 */
import { createConnection, type Connection, type ConnectionOptions } from 'mysql2';
import type { Flavor } from './error-table.js';
import { computeLimits, type Clamp, type ServerInfo } from './limits.js';
import { DEFAULTS, resolveOptions } from './options.js';

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

/** A failure to connect or to read the server; `code` is mysql2's (ECONNREFUSED, ER_ACCESS_DENIED_ERROR, ...). */
export class DoctorError extends Error {
  code: string;
  errno?: number;
  sqlState?: string;
  constructor(message: string, code: string, cause?: unknown) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = 'DoctorError';
    this.code = code;
    const c = cause as { errno?: unknown; sqlState?: unknown } | undefined;
    if (typeof c?.errno === 'number') this.errno = c.errno;
    if (typeof c?.sqlState === 'string') this.sqlState = c.sqlState;
  }
}

/** Bounds: the connect (mysql2's connectTimeout), each statement, closing, and the whole run. */
const CONNECT_TIMEOUT_MS = 5_000;
const QUERY_TIMEOUT_MS = 5_000;
const CLOSE_TIMEOUT_MS = 2_000;
const TOTAL_TIMEOUT_MS = 15_000;

/** Below this a session wait_timeout makes the pool recycle idle connections very often. */
const SHORT_WAIT_TIMEOUT_S = 60;
/** Share of max_connections in use that deserves a warning. */
const NEARLY_FULL = 0.8;

/** Idle limits of common load balancers / NAT gateways (ms), for the hint. */
export const KNOWN_NETWORK_IDLE_TIMEOUTS: readonly { what: string; ms: number }[] = [
  { what: 'AWS NLB / NAT gateway', ms: 350_000 },
  { what: 'Azure Load Balancer', ms: 240_000 },
  { what: 'GCP (Cloud NAT / VPC firewall)', ms: 600_000 },
];

/** The URL with its password replaced by `***`; never throws. */
export function maskUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    // Unparseable: mask the userinfo's password part by pattern.
    return url.replace(/\/\/([^:@/]*):[^@/]*@/, '//$1:***@');
  }
}

function validDuration(name: string, value: unknown): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) {
    throw new RangeError(`doctor: ${name} must be an integer number of ms >= 0, got ${String(value)}`);
  }
  return value;
}

/** Text of an error without any trace of `password`. */
function scrub(text: string, password: string | undefined): string {
  if (!password) return text;
  let out = text;
  for (const form of new Set([password, encodeURIComponent(password)])) out = out.split(form).join('***');
  return out;
}

function errorText(err: unknown): string {
  const e = err as { message?: unknown; errors?: unknown } | undefined;
  if (typeof e?.message === 'string' && e.message) return e.message;
  // Node's happy-eyeballs connect fails with an AggregateError whose own message is empty.
  if (Array.isArray(e?.errors)) return e.errors.map((x: { message?: string }) => x?.message ?? String(x)).join('; ');
  return String(err);
}

function errorCode(err: unknown, fallback: string): string {
  const code = (err as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' && code ? code : fallback;
}

type Row = Record<string, unknown>;

function query(conn: Connection, sql: string): Promise<Row[]> {
  return new Promise((resolve, reject) => {
    conn.query({ sql, timeout: QUERY_TIMEOUT_MS }, (err, rows) => (err ? reject(err) : resolve(rows as Row[])));
  });
}

function num(value: unknown): number {
  const n = Number(value);
  return Number.isFinite(n) ? n : NaN;
}

/** Reads `SHOW ... WHERE Variable_name IN (...)` into a map; missing names are simply absent. */
function nameValues(rows: Row[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const r of rows) out.set(String(r.Variable_name).toLowerCase(), String(r.Value));
  return out;
}

function onOff(value: string | undefined): boolean | null {
  if (value === undefined) return null;
  return /^(1|on|true)$/i.test(value.trim());
}

/** Closes politely (COM_QUIT), bounded; destroys the socket if the server does not answer. */
function close(conn: Connection): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      conn.destroy();
      (conn as unknown as { stream?: { destroy(): void } }).stream?.destroy();
      resolve();
    }, CLOSE_TIMEOUT_MS);
    conn.end(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}

function dropNow(conn: Connection): void {
  try {
    conn.destroy();
    (conn as unknown as { stream?: { destroy(): void } }).stream?.destroy();
  } catch {}
}

interface Raw {
  versionString: string;
  handshakeMariaDB: boolean;
  sessionWait: number;
  globalWait: number;
  sessionInteractive: number;
  globalInteractive: number;
  maxConnections: number;
  readOnly: boolean;
  netRead: number;
  netWrite: number;
  status: Map<string, string>;
  extra: Map<string, string>;
}

/** Connects and reads everything; always closes the connection. */
async function readServer(options: ConnectionOptions, masked: string, password: string | undefined): Promise<Raw> {
  // The URL's own connectTimeout applies if it is shorter.
  const connectTimeout = Math.min(Number(options.connectTimeout) || CONNECT_TIMEOUT_MS, CONNECT_TIMEOUT_MS);
  const conn = createConnection({ ...options, connectTimeout });
  // A late error (the server goes away after we are done) must never crash the process.
  conn.on('error', () => undefined);
  let phase: 'connect' | 'read' = 'connect';
  let timer: NodeJS.Timeout | undefined;
  const guard = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      dropNow(conn);
      reject(new DoctorError(`no answer from ${masked} within ${TOTAL_TIMEOUT_MS / 1000} s (${phase})`, 'ETIMEDOUT'));
    }, TOTAL_TIMEOUT_MS);
  });
  const work = (async (): Promise<Raw> => {
    try {
      await new Promise<void>((resolve, reject) => conn.connect((err) => (err ? reject(err) : resolve())));
    } catch (err) {
      dropNow(conn);
      const code = errorCode(err, 'ECONNECT');
      throw new DoctorError(`cannot connect to ${masked} (${code}): ${scrub(errorText(err), password)}`, code, err);
    }
    phase = 'read';
    try {
      const [main] = await query(
        conn,
        'SELECT VERSION() AS version, @@SESSION.wait_timeout AS sw, @@GLOBAL.wait_timeout AS gw, ' +
          '@@SESSION.interactive_timeout AS si, @@GLOBAL.interactive_timeout AS gi, @@max_connections AS mc, ' +
          '@@read_only AS ro, @@net_read_timeout AS nr, @@net_write_timeout AS nw',
      );
      // The rest is optional: a server or account that cannot answer it still gets a report.
      const status = await query(
        conn,
        "SHOW GLOBAL STATUS WHERE Variable_name IN ('Threads_connected', 'Max_used_connections')",
      ).then(nameValues, () => new Map<string, string>());
      const extra = await query(
        conn,
        "SHOW VARIABLES WHERE Variable_name IN ('super_read_only', 'innodb_lock_wait_timeout', 'init_connect')",
      ).then(nameValues, () => new Map<string, string>());
      const handshake = (conn as unknown as { _handshakePacket?: { serverVersion?: string } })._handshakePacket;
      await close(conn);
      return {
        versionString: String(main!.version ?? ''),
        handshakeMariaDB: /mariadb/i.test(handshake?.serverVersion ?? ''),
        sessionWait: num(main!.sw),
        globalWait: num(main!.gw),
        sessionInteractive: num(main!.si),
        globalInteractive: num(main!.gi),
        maxConnections: num(main!.mc),
        readOnly: onOff(String(main!.ro)) === true,
        netRead: num(main!.nr),
        netWrite: num(main!.nw),
        status,
        extra,
      };
    } catch (err) {
      dropNow(conn);
      if (err instanceof DoctorError) throw err;
      const code = errorCode(err, 'EQUERY');
      throw new DoctorError(`connected to ${masked}, but reading its settings failed (${code}): ${scrub(errorText(err), password)}`, code, err);
    }
  })();
  try {
    return await Promise.race([work, guard]);
  } finally {
    clearTimeout(timer);
    // If the guard won, `work` still settles (its connection was destroyed); keep that from becoming unhandled.
    work.catch(() => undefined);
  }
}

/**
 * Connects to `url` once and reports the server's settings, the limits the pool will use with these options (the
 * URL's query string counts, as for `createResilientPool(url)`), and warnings. Rejects with a DoctorError carrying
 * mysql2's code when it cannot connect or read; always closes its connection; bounded (about 15 s at most).
 */
export async function doctor(url: string, opts: DoctorOptions = {}): Promise<DoctorReport> {
  const started = Date.now();
  const masked = maskUrl(url);
  const given = {
    networkIdleTimeout: validDuration('networkIdleTimeout', opts.networkIdleTimeout),
    maxLifetime: validDuration('maxLifetime', opts.maxLifetime),
    idleTimeout: validDuration('idleTimeout', opts.idleTimeout),
  };

  let mysql: ReturnType<typeof resolveOptions>['mysql'];
  let resolved: ReturnType<typeof resolveOptions>['resolved'];
  let fromUrl: Set<string>;
  try {
    if (typeof url !== 'string' || !/^[a-z][a-z0-9+.-]*:\/\//i.test(url)) {
      throw Object.assign(new TypeError('expected a URL like mysql://user:password@host:3306/database'), { code: 'ERR_INVALID_URL' });
    }
    fromUrl = new Set(new URL(url).searchParams.keys());
    // Exactly what createResilientPool(url) resolves (the query string may set pool options), then the caller's.
    ({ mysql, resolved } = resolveOptions(url));
    resolved = { ...resolved, ...definedOnly(given) };
  } catch (err) {
    const own = /^resilient-mysql-pool:/.test(errorText(err));
    const code = errorCode(err, own ? 'ERR_INVALID_OPTION' : 'ERR_INVALID_URL');
    const what = own ? `invalid option in URL ${masked}` : `invalid URL ${masked}`;
    throw new DoctorError(`${what} (${code}): ${scrubUrlError(errorText(err), url)}`, code, err);
  }
  const password = typeof mysql.password === 'string' ? mysql.password : undefined;
  const source = (key: keyof DoctorOptions): Source =>
    given[key] !== undefined ? 'option' : fromUrl.has(key) ? 'url' : 'default';

  const raw = await readServer(mysql, masked, password);

  const flavor: Flavor = /mariadb/i.test(raw.versionString) || raw.handshakeMariaDB ? 'mariadb' : 'mysql';
  const version = /^\d+(\.\d+)*/.exec(raw.versionString)?.[0] ?? raw.versionString;
  const info: ServerInfo = {
    flavor,
    version: raw.versionString,
    waitTimeout: Number.isFinite(raw.sessionWait) && raw.sessionWait > 0 ? raw.sessionWait * 1000 : undefined,
  };
  const { limits, clamps } = computeLimits(resolved, info);
  const finite = (n: number): number | null => (Number.isFinite(n) ? n : null);

  const threads = raw.status.has('threads_connected') ? num(raw.status.get('threads_connected')) : null;
  const maxUsed = raw.status.has('max_used_connections') ? num(raw.status.get('max_used_connections')) : null;
  const lockWait = raw.extra.get('innodb_lock_wait_timeout');
  const initConnect = raw.extra.get('init_connect');

  const report: DoctorReport = {
    url: masked,
    target: {
      host: mysql.socketPath ? 'localhost' : String(mysql.host || 'localhost'),
      port: Number(mysql.port) || 3306,
      ...(mysql.socketPath ? { socketPath: String(mysql.socketPath) } : {}),
      user: String(mysql.user ?? ''),
      ...(mysql.database ? { database: String(mysql.database) } : {}),
    },
    server: {
      flavor,
      version,
      versionString: raw.versionString,
      waitTimeout: { session: raw.sessionWait, global: raw.globalWait },
      interactiveTimeout: { session: raw.sessionInteractive, global: raw.globalInteractive },
      maxConnections: raw.maxConnections,
      threadsConnected: threads !== null && Number.isFinite(threads) ? threads : null,
      maxUsedConnections: maxUsed !== null && Number.isFinite(maxUsed) ? maxUsed : null,
      readOnly: raw.readOnly,
      superReadOnly: flavor === 'mysql' ? onOff(raw.extra.get('super_read_only')) : null,
      netReadTimeout: raw.netRead,
      netWriteTimeout: raw.netWrite,
      innodbLockWaitTimeout: lockWait !== undefined && Number.isFinite(num(lockWait)) ? num(lockWait) : null,
      initConnect: initConnect ? initConnect : null,
    },
    pool: {
      requested: {
        idleTimeout: { value: resolved.idleTimeout, source: source('idleTimeout') },
        maxLifetime: { value: resolved.maxLifetime, source: source('maxLifetime') },
        networkIdleTimeout: { value: resolved.networkIdleTimeout, source: source('networkIdleTimeout') },
      },
      idleTimeout: finite(limits.idleTimeout),
      maxLifetime: finite(limits.maxLifetime),
      maxLifetimeJitterPercent: 2.5,
      idleLimit: finite(limits.idleLimit),
      idleLimitBecause: Number.isFinite(limits.idleLimit) ? describeIdleLimitSource(info, resolved.networkIdleTimeout) : null,
      clamps,
      keepAlive: {
        enabled: mysql.enableKeepAlive !== false,
        initialDelay: mysql.enableKeepAlive === false ? null : Number(mysql.keepAliveInitialDelay ?? DEFAULTS.keepAliveInitialDelay),
      },
      pingSkipWindow: resolved.pingSkipWindow,
      pingTimeout: resolved.pingTimeout,
      acquireTimeout: resolved.acquireTimeout,
      connectionLimit: resolved.connectionLimit,
      maxAttempts: resolved.maxAttempts,
    },
    warnings: [],
    notes: [],
    elapsedMs: 0,
  };
  addFindings(report);
  report.elapsedMs = Date.now() - started;
  return report;
}

function definedOnly<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

function scrubUrlError(text: string, url: string): string {
  // Node's URL errors do not echo the input, but be sure: never print the raw URL.
  return url ? text.split(url).join(maskUrl(url)) : text;
}

function describeIdleLimitSource(info: ServerInfo, networkIdleTimeout: number): string {
  const wait = info.waitTimeout ?? Infinity;
  if (networkIdleTimeout > 0 && networkIdleTimeout < wait) return `networkIdleTimeout (${networkIdleTimeout} ms)`;
  return `the server's wait_timeout (${wait / 1000} s)`;
}

function addFindings(r: DoctorReport): void {
  const warn = (code: string, message: string) => r.warnings.push({ severity: 'warning', code, message });
  const note = (code: string, message: string) => r.notes.push({ severity: 'note', code, message });
  const s = r.server;
  const p = r.pool;

  if (s.waitTimeout.session < SHORT_WAIT_TIMEOUT_S) {
    warn(
      'WAIT_TIMEOUT_SHORT',
      `wait_timeout is ${s.waitTimeout.session} s: the server closes connections idle that long, so the pool recycles ` +
        `idle connections after ${fmtMs(p.idleLimit)} and reconnects often; raise it (e.g. SET GLOBAL wait_timeout = 600) ` +
        'unless that churn is intended',
    );
  }
  if (s.waitTimeout.session !== s.waitTimeout.global) {
    const interactive = s.waitTimeout.session === s.interactiveTimeout.global && s.interactiveTimeout.global !== s.waitTimeout.global;
    warn(
      'WAIT_TIMEOUT_SESSION_DIFFERS',
      `session wait_timeout (${s.waitTimeout.session} s) differs from the global one (${s.waitTimeout.global} s): ` +
        (interactive
          ? 'it equals interactive_timeout, so this connection was opened as interactive (CLIENT_INTERACTIVE in flags); '
          : 'something sets it per session (init_connect, a proxy, or the CLIENT_INTERACTIVE flag); ') +
        'the pool uses the session value, read on its first connection; check the application user gets the same',
    );
  }
  if (s.interactiveTimeout.global !== s.waitTimeout.global) {
    note(
      'INTERACTIVE_TIMEOUT_DIFFERS',
      `interactive_timeout (${s.interactiveTimeout.global} s) differs from wait_timeout (${s.waitTimeout.global} s): ` +
        'interactive_timeout applies only to clients that connect with CLIENT_INTERACTIVE (the mysql command-line client); ' +
        `mysql2 does not set it unless your flags do, so the pool gets wait_timeout (here ${s.waitTimeout.session} s)`,
    );
  }
  if (s.initConnect && /wait_timeout/i.test(s.initConnect)) {
    note(
      'INIT_CONNECT_SETS_WAIT_TIMEOUT',
      `init_connect changes wait_timeout (${JSON.stringify(s.initConnect)}); it does not run for users with SUPER or ` +
        'CONNECTION ADMIN, so run doctor with the application user to see what its sessions get',
    );
  }
  if (s.maxConnections > 0 && s.threadsConnected !== null && s.threadsConnected > NEARLY_FULL * s.maxConnections) {
    warn(
      'MAX_CONNECTIONS_NEARLY_USED',
      `${s.threadsConnected} of max_connections ${s.maxConnections} are in use (${pct(s.threadsConnected, s.maxConnections)}): ` +
        'new connections will soon fail with ER_CON_COUNT_ERROR (Too many connections)',
    );
  } else if (s.maxConnections > 0 && s.maxUsedConnections !== null && s.maxUsedConnections > NEARLY_FULL * s.maxConnections) {
    warn(
      'MAX_CONNECTIONS_PEAK_HIGH',
      `the peak since the server started was ${s.maxUsedConnections} of max_connections ${s.maxConnections} ` +
        `(${pct(s.maxUsedConnections, s.maxConnections)}): under a similar peak, new connections may fail with ER_CON_COUNT_ERROR`,
    );
  }
  if (s.maxConnections > 0 && s.threadsConnected !== null && p.connectionLimit > 0) {
    const free = s.maxConnections - s.threadsConnected;
    if (free < p.connectionLimit) {
      warn(
        'POOL_EXCEEDS_FREE_CONNECTIONS',
        `only ${Math.max(0, free)} connection slot(s) are free, fewer than one pool's connectionLimit (${p.connectionLimit}); ` +
          'each application instance opens up to connectionLimit connections',
      );
    }
  }
  if (s.readOnly || s.superReadOnly) {
    const which = s.superReadOnly ? 'super_read_only' : 'read_only';
    warn(
      'READ_ONLY',
      `${which} is ON: writes will fail (ER_OPTION_PREVENTS_STATEMENT, 1290). Is this a replica, or a failover target ` +
        'that has not been promoted? The pool retires its connections on read-only errors, so after a failover it ' +
        'reconnects, but only DNS or your proxy can point it at the new primary',
    );
  }
  for (const c of p.clamps) {
    const requested = p.requested[c.option];
    const text = `${c.option} ${fmtMs(c.requested)} is above ${c.because}; the pool uses ${fmtMs(c.applied)}`;
    if (requested.source === 'default') {
      note('OPTION_CLAMPED', `${text} (the default; expected: the pool emits a 'warn' event, code OPTION_CLAMPED, at start)`);
    } else {
      warn('OPTION_CLAMPED', `${text}, not the ${fmtMs(c.requested)} you asked for: connections idle longer would be closed by the server or network`);
    }
  }
  const nit = p.requested.networkIdleTimeout;
  if (nit.value === 0) {
    note(
      'NETWORK_IDLE_TIMEOUT_UNKNOWN',
      'SQL cannot see a load balancer, NAT gateway or proxy that drops idle flows; if one sits between the application ' +
        'and this server, pass its idle timeout (option networkIdleTimeout; here --network-idle-timeout): ' +
        KNOWN_NETWORK_IDLE_TIMEOUTS.map((k) => `${k.what} ${k.ms / 1000}s`).join(', '),
    );
  } else if (nit.value < 1_000) {
    warn(
      'NETWORK_IDLE_TIMEOUT_TINY',
      `networkIdleTimeout is ${nit.value} ms; durations are in ms (did you mean ${nit.value} s? write ${nit.value}s)`,
    );
  }
}

function pct(part: number, whole: number): string {
  return `${Math.round((100 * part) / whole)}%`;
}

/** 500 ms, 27 s, 1.5 s, 30 min, 8 h, 28795 s (~8 h); exact unless it says ~. null / Infinity: none. */
export function fmtMs(ms: number | null): string {
  if (ms === null || !Number.isFinite(ms)) return 'none';
  if (ms < 1_000) return `${ms} ms`;
  const s = ms / 1000;
  if (s < 120) return `${trim(s)} s`;
  if (s % 3600 === 0) return `${s / 3600} h`;
  if (s % 60 === 0) return `${s / 60} min`;
  const approx = s >= 7_200 ? `${trim(s / 3600)} h` : `${trim(s / 60)} min`;
  return `${trim(s)} s (~${approx})`;
}

function trim(n: number): string {
  return String(Math.round(n * 10) / 10);
}

/** Seconds as the server reports them, with a readable equivalent when long: `28800 s (8 h)`. */
function fmtS(s: number): string {
  if (!Number.isFinite(s)) return 'unknown';
  return s >= 120 && (s % 60 === 0) ? `${s} s (${fmtMs(s * 1000)})` : `${s} s`;
}

/** Aligned rows: label, value, detail. */
function table(rows: Array<[string, string, string?]>, indent = '  '): string[] {
  const w0 = Math.max(...rows.map((r) => r[0].length));
  const w1 = Math.max(...rows.map((r) => r[1].length));
  return rows.map(([a, b, c]) => `${indent}${a.padEnd(w0)}  ${c ? `${b.padEnd(w1)}  ${c}` : b}`.trimEnd());
}

/** Wraps `text` at `width` columns, continuation lines indented by `hang`. */
function wrap(text: string, width: number, first: string, hang: string): string[] {
  const words = text.split(/\s+/);
  const lines: string[] = [];
  let line = first;
  let empty = true;
  for (const word of words) {
    if (!empty && line.length + 1 + word.length > width) {
      lines.push(line);
      line = hang + word;
    } else {
      line += (empty ? '' : ' ') + word;
    }
    empty = false;
  }
  lines.push(line);
  return lines;
}

/** The human-readable report: aligned tables, then warnings and notes. */
export function formatReport(r: DoctorReport): string {
  const s = r.server;
  const p = r.pool;
  const out: string[] = [];
  const flavour = s.flavor === 'mariadb' ? 'MariaDB' : 'MySQL';
  const target = r.target.socketPath ? r.target.socketPath : `${r.target.host}:${r.target.port}`;
  out.push(`resilient-mysql-pool doctor: ${r.url}`);
  out.push('');
  out.push(`Server (${target}, user ${r.target.user || '(none)'}, read in ${r.elapsedMs} ms)`);
  const usage = (n: number | null) => (n === null ? 'unknown' : `${n} (${pct(n, s.maxConnections)})`);
  const serverRows: Array<[string, string, string?]> = [
    ['version', `${flavour} ${s.version}`, s.versionString !== s.version ? s.versionString : undefined],
    ['wait_timeout', `${fmtS(s.waitTimeout.session)}`, s.waitTimeout.global !== s.waitTimeout.session ? `session; global ${fmtS(s.waitTimeout.global)}` : 'session = global'],
    ['interactive_timeout', `${fmtS(s.interactiveTimeout.global)}`, 'global (interactive clients only)'],
    ['max_connections', String(s.maxConnections), `in use ${usage(s.threadsConnected)}, peak ${usage(s.maxUsedConnections)}`],
    ['read_only', s.readOnly ? 'ON' : 'OFF', s.superReadOnly === null ? undefined : `super_read_only ${s.superReadOnly ? 'ON' : 'OFF'}`],
    ['net_read/write_timeout', `${s.netReadTimeout} s / ${s.netWriteTimeout} s`],
  ];
  if (s.innodbLockWaitTimeout !== null) serverRows.push(['innodb_lock_wait_timeout', `${s.innodbLockWaitTimeout} s`]);
  if (s.initConnect !== null) serverRows.push(['init_connect', JSON.stringify(s.initConnect)]);
  out.push(...table(serverRows));
  out.push('');

  const custom = Object.values(p.requested).some((v) => v.source !== 'default');
  out.push(`Pool settings derived for this server (${custom ? 'with your options' : 'default options'})`);
  const req = (k: keyof DoctorReport['pool']['requested']) => {
    const v = p.requested[k];
    const what = v.source === 'default' ? 'default' : v.source === 'url' ? 'from the URL' : 'given';
    return `${what} ${k === 'networkIdleTimeout' && v.value === 0 ? 'none' : fmtMs(v.value === 0 && k !== 'idleTimeout' ? Infinity : v.value)}`;
  };
  const clampOf = (k: 'idleTimeout' | 'maxLifetime') => (p.clamps.some((c) => c.option === k) ? ', clamped' : '');
  out.push(
    ...table([
      ['idleTimeout', fmtMs(p.idleTimeout), `${req('idleTimeout')}${clampOf('idleTimeout')}`],
      ['maxLifetime', fmtMs(p.maxLifetime), `${req('maxLifetime')}${clampOf('maxLifetime')}, each connection up to ${p.maxLifetimeJitterPercent}% less`],
      ['idle limit', fmtMs(p.idleLimit), p.idleLimitBecause ? `below ${p.idleLimitBecause}: idle longer = presumed dead` : 'no server or network limit known'],
      ['networkIdleTimeout', p.requested.networkIdleTimeout.value ? fmtMs(p.requested.networkIdleTimeout.value) : 'none', req('networkIdleTimeout')],
      ['TCP keepalive', p.keepAlive.enabled ? `after ${fmtMs(p.keepAlive.initialDelay)}` : 'off', p.keepAlive.enabled ? "Linux's default would be 2 h" : undefined],
      ['ping on checkout', `if idle > ${fmtMs(p.pingSkipWindow)}`, `ping timeout ${fmtMs(p.pingTimeout)}`],
      ['acquireTimeout', p.acquireTimeout > 0 ? fmtMs(p.acquireTimeout) : 'none (waits forever)'],
      ['connectionLimit', p.connectionLimit > 0 ? String(p.connectionLimit) : 'unlimited'],
      ['maxAttempts', String(p.maxAttempts), 'for pool-level query/execute, when safe to retry'],
    ]),
  );
  out.push('');

  const width = Math.max(80, Math.min(process.stdout.columns || 100, 120));
  out.push(r.warnings.length ? `Warnings (${r.warnings.length})` : 'Warnings: none');
  for (const w of r.warnings) out.push(...wrap(`${w.message} [${w.code}]`, width, '  ! ', '    '));
  if (r.notes.length) {
    out.push('');
    out.push(`Notes (${r.notes.length})`);
    for (const n of r.notes) out.push(...wrap(`${n.message} [${n.code}]`, width, '  - ', '    '));
  }
  return out.join('\n') + '\n';
}
