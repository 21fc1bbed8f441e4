/**
 * `resilient-mysql-pool doctor <mysql-url>`: connects once (a plain mysql2 connection, bounded), reads the server
 * settings that decide how long pooled connections survive, and shows the limits the pool will derive from them with
 * the given options, plus warnings about what will bite in production.
 *
 * The derived limits come from the pool's own code (`resolveOptions`, `computeLimits`), fed with the session
 * `wait_timeout` read over a connection opened with the same options, so they match what `createResilientPool(url)`
 * uses exactly. The password never appears in the report, its text or its errors.
 */
import { computeLimits, type ServerInfo } from './limits.js';
import { DEFAULTS, OPTION_ERROR_CODES, resolveOptions } from './options.js';
import type { DoctorOptions, DoctorReport, Source } from './doctor-report.js';
import { DoctorError, errorCode, errorText, readServer, serverSection } from './doctor-server.js';
import { addFindings } from './doctor-findings.js';
import { fmtMs } from './doctor-format.js';

export type { DoctorOptions, DoctorReport, Finding, Severity, Source } from './doctor-report.js';
export { DoctorError } from './doctor-server.js';
export { KNOWN_NETWORK_IDLE_TIMEOUTS } from './doctor-findings.js';
export { fmtMs, formatReport } from './doctor-format.js';

/**
 * The URL, or a pool option in its query string, is wrong: the caller's mistake, not the server's (the CLI exits 2,
 * as for any usage error). `code`: ERR_INVALID_URL, or the option error's (OPTION_UNKNOWN, OPTION_OUT_OF_RANGE, ...).
 */
export class DoctorUsageError extends DoctorError {
  constructor(message: string, code: string, cause?: unknown) {
    super(message, code, cause);
    this.name = 'DoctorUsageError';
  }
}

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

/**
 * Connects to `url` once and reports the server's settings, the limits the pool will use with these options (the
 * URL's query string counts, as for `createResilientPool(url)`), and warnings. Rejects with a DoctorUsageError when
 * the URL or an option in it is invalid, and with a DoctorError carrying mysql2's code when it cannot connect or read; always closes its connection; bounded (about 15 s at most).
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
    // Option errors carry their code (OPTION_ERROR_CODES); anything else here is the URL's fault.
    const code = errorCode(err, 'ERR_INVALID_URL');
    const own = Object.hasOwn(OPTION_ERROR_CODES, code);
    const what = own ? `invalid option in URL ${masked}` : `invalid URL ${masked}`;
    throw new DoctorUsageError(`${what} (${code}): ${scrubUrlError(errorText(err), url)}`, code, err);
  }
  const password = typeof mysql.password === 'string' ? mysql.password : undefined;
  const source = (key: keyof DoctorOptions): Source =>
    given[key] !== undefined ? 'option' : fromUrl.has(key) ? 'url' : 'default';

  const raw = await readServer(mysql, masked, password);

  const server = serverSection(raw);
  const info: ServerInfo = {
    flavor: server.flavor,
    version: raw.versionString,
    waitTimeout: Number.isFinite(raw.sessionWait) && raw.sessionWait > 0 ? raw.sessionWait * 1000 : undefined,
  };
  const { limits, clamps } = computeLimits(resolved, info);
  const finite = (n: number): number | null => (Number.isFinite(n) ? n : null);

  const report: DoctorReport = {
    url: masked,
    target: {
      host: mysql.socketPath ? 'localhost' : String(mysql.host || 'localhost'),
      port: Number(mysql.port) || 3306,
      ...(mysql.socketPath ? { socketPath: String(mysql.socketPath) } : {}),
      user: String(mysql.user ?? ''),
      ...(mysql.database ? { database: String(mysql.database) } : {}),
    },
    server,
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
  if (networkIdleTimeout > 0 && networkIdleTimeout < wait) return `networkIdleTimeout (${fmtMs(networkIdleTimeout)})`;
  return `the server's wait_timeout (${fmtMs(wait)})`;
}
