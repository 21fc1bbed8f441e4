/**
 * The doctor's reading of the server: one plain mysql2 connection, bounded at every step (connect, each statement,
 * closing, the whole run), always closed; the password never appears in its errors. Turns what it read into the
 * report's `server` section.
 */
import { createConnection, type Connection, type ConnectionOptions } from 'mysql2';
import type { Flavor } from './error-table.js';
import { destroySocket, serverVersion } from './mysql2-internals.js';
import type { DoctorReport } from './doctor-report.js';

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

/** Text of an error without any trace of `password`. */
function scrub(text: string, password: string | undefined): string {
  if (!password) return text;
  let out = text;
  for (const form of new Set([password, encodeURIComponent(password)])) out = out.split(form).join('***');
  return out;
}

export function errorText(err: unknown): string {
  const e = err as { message?: unknown; errors?: unknown } | undefined;
  if (typeof e?.message === 'string' && e.message) return e.message;
  // Node's happy-eyeballs connect fails with an AggregateError whose own message is empty.
  if (Array.isArray(e?.errors)) return e.errors.map((x: { message?: string }) => x?.message ?? String(x)).join('; ');
  return String(err);
}

export function errorCode(err: unknown, fallback: string): string {
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
      destroySocket(conn);
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
    destroySocket(conn);
  } catch {}
}

export interface Raw {
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
export async function readServer(options: ConnectionOptions, masked: string, password: string | undefined): Promise<Raw> {
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
      const handshakeVersion = serverVersion(conn);
      await close(conn);
      return {
        versionString: String(main!.version ?? ''),
        handshakeMariaDB: /mariadb/i.test(handshakeVersion),
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

/** The report's `server` section from what was read. */
export function serverSection(raw: Raw): DoctorReport['server'] {
  const flavor: Flavor = /mariadb/i.test(raw.versionString) || raw.handshakeMariaDB ? 'mariadb' : 'mysql';
  const threads = raw.status.has('threads_connected') ? num(raw.status.get('threads_connected')) : null;
  const maxUsed = raw.status.has('max_used_connections') ? num(raw.status.get('max_used_connections')) : null;
  const lockWait = raw.extra.get('innodb_lock_wait_timeout');
  const initConnect = raw.extra.get('init_connect');
  return {
    flavor,
    version: /^\d+(\.\d+)*/.exec(raw.versionString)?.[0] ?? raw.versionString,
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
  };
}
