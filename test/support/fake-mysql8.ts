/**
 * A fake MySQL 8.0.36 server built on mysql2's own server side (`mysql2.createServer()`), for the one behaviour the
 * MariaDB test server lacks: since 8.0.24 MySQL sends ERR 4031 (ER_CLIENT_INTERACTION_TIMEOUT) with sequence id 0
 * before it closes a connection that exceeded wait_timeout.
 *
 * It understands only what pool tests need: `SELECT <int>`, `SELECT @@SESSION.wait_timeout [AS x], VERSION() ...`,
 * `SHOW VARIABLES LIKE 'wait_timeout'`, ping, COM_INIT_DB and COM_RESET_CONNECTION. Any other text query gets an OK
 * packet. Prepared statements (COM_STMT_*) get an error.
 *
 * A 4031 sent in reply to a command keeps sequence id 0, as MySQL's does, so mysql2 prints
 * "Warning: got packets out of order. Expected 1 but received 0" to stderr; that is expected noise.
 */
import net from 'node:net';
import mysql from 'mysql2';

const SERVER_VERSION = '8.0.36';
const ER_CLIENT_INTERACTION_TIMEOUT = 4031;
const IDLE_MESSAGE =
  'The client was disconnected by the server because of inactivity. ' +
  'See wait_timeout and interactive_timeout for configuring this behavior.';

// Capability flags (mysql2/lib/constants/client.js). Deliberately absent: SSL, COMPRESS, SESSION_TRACK,
// DEPRECATE_EOF and QUERY_ATTRIBUTES, which would change packet layouts that mysql2's server side writes or reads.
export const CAPABILITIES =
  0x00000001 | // LONG_PASSWORD
  0x00000002 | // FOUND_ROWS
  0x00000004 | // LONG_FLAG
  0x00000008 | // CONNECT_WITH_DB
  0x00000200 | // PROTOCOL_41
  0x00002000 | // TRANSACTIONS
  0x00008000 | // SECURE_CONNECTION
  0x00010000 | // MULTI_STATEMENTS
  0x00020000 | // MULTI_RESULTS
  0x00040000 | // PS_MULTI_RESULTS
  0x00080000 | // PLUGIN_AUTH
  0x00100000 | // CONNECT_ATTRS
  0x00200000; // PLUGIN_AUTH_LENENC_CLIENT_DATA

const COM_RESET_CONNECTION = 0x1f;
const MYSQL_TYPE_LONGLONG = 8;
const MYSQL_TYPE_VAR_STRING = 253;
const CHARSET_BINARY = 63;
const CHARSET_UTF8MB4 = 255;
const SERVER_STATUS_AUTOCOMMIT = 2;
export const OK = { affectedRows: 0, serverStatus: SERVER_STATUS_AUTOCOMMIT };

/** The parts of mysql2's server-side Connection used here; its typings only describe the client side. */
export interface ServerConnection {
  stream: net.Socket;
  sequenceId: number;
  serverHandshake(args: Record<string, unknown>): void;
  writeColumns(columns: ColumnDefinition[]): void;
  writeTextRow(values: Array<string | number | null>): void;
  writeEof(warnings?: number, statusFlags?: number): void;
  writeOk(args?: { affectedRows?: number; insertId?: number; serverStatus?: number }): void;
  on(event: string, listener: (...args: any[]) => void): this;
}

interface ColumnDefinition {
  catalog: string;
  schema: string;
  table: string;
  orgTable: string;
  name: string;
  orgName: string;
  characterSet: number;
  columnLength: number;
  columnType: number;
  flags: number;
  decimals: number;
}

type Value = number | string;

export function column(name: string, value: Value): ColumnDefinition {
  const numeric = typeof value === 'number';
  return {
    catalog: 'def',
    schema: '',
    table: '',
    orgTable: '',
    name,
    orgName: '',
    characterSet: numeric ? CHARSET_BINARY : CHARSET_UTF8MB4,
    columnLength: numeric ? 21 : 4 * Math.max(String(value).length, 1),
    columnType: numeric ? MYSQL_TYPE_LONGLONG : MYSQL_TYPE_VAR_STRING,
    flags: numeric ? 0x0081 : 0x0001, // NOT_NULL (+ BINARY for numbers), as MySQL reports constants
    decimals: numeric ? 0 : 31,
  };
}

/** An ERR packet built by hand: mysql2's writeError() sends SQLSTATE '_____' where MySQL sends 'HY000'. */
export function errPacket(sequenceId: number, code: number, message: string, sqlState = 'HY000'): Buffer {
  const body = Buffer.concat([
    Buffer.from([0xff, code & 0xff, (code >> 8) & 0xff]),
    Buffer.from(`#${sqlState}`, 'ascii'),
    Buffer.from(message, 'utf8'),
  ]);
  const header = Buffer.from([body.length & 0xff, (body.length >> 8) & 0xff, (body.length >> 16) & 0xff, sequenceId]);
  return Buffer.concat([header, body]);
}

/** Splits a select list on top-level commas (enough for `VERSION(), 1 AS x`). */
function splitSelectList(list: string): string[] {
  const items: string[] = [];
  let depth = 0;
  let quote: string | undefined;
  let current = '';
  for (const ch of list) {
    if (quote) {
      if (ch === quote) quote = undefined;
    } else if (ch === "'" || ch === '"' || ch === '`') {
      quote = ch;
    } else if (ch === '(') {
      depth++;
    } else if (ch === ')') {
      depth--;
    } else if (ch === ',' && depth === 0) {
      items.push(current.trim());
      current = '';
      continue;
    }
    current += ch;
  }
  items.push(current.trim());
  return items;
}

class FakeConnection {
  timeoutOnNextCommand = false;
  closed = false;

  constructor(
    readonly conn: ServerConnection,
    readonly id: number,
  ) {}

  /** Replies to the command just received. Commands arrive with sequence id 0, so replies start at 1. */
  reply(write: () => void): void {
    if (this.closed) return;
    this.conn.sequenceId = 1;
    write();
    // Back to 0 so the next incoming command (sequence id 0) is in order and mysql2 does not log a warning.
    this.conn.sequenceId = 0;
  }

  /** ERR 4031 with sequence id 0, then FIN: exactly what MySQL >= 8.0.24 does when wait_timeout expires. */
  sendIdleTimeout(): void {
    if (this.closed) return;
    this.closed = true;
    this.conn.stream.write(errPacket(0, ER_CLIENT_INTERACTION_TIMEOUT, IDLE_MESSAGE));
    this.conn.stream.end();
  }
}

export class FakeMysql8 {
  readonly host = '127.0.0.1';
  /** Every text query received, in order (including those answered with ERR 4031). */
  readonly queries: string[] = [];

  private readonly open = new Set<FakeConnection>();
  private nextId = 1;
  private closing: Promise<void> | undefined;

  private constructor(
    private readonly netServer: net.Server,
    readonly port: number,
    private readonly waitTimeout: number,
  ) {}

  /** Listens on 127.0.0.1 on a free port. `waitTimeout` (seconds, default 28800) is what @@wait_timeout reports. */
  static async start(opts: { waitTimeout?: number } = {}): Promise<FakeMysql8> {
    // The connection handler needs the instance, which needs the listening server: close over a holder.
    const holder: { fake?: FakeMysql8 } = {};
    const server = mysql.createServer((conn) => holder.fake!.accept(conn as unknown as ServerConnection));
    // mysql2's Server wraps a net.Server it does not expose in its typings; listen() there to choose the address.
    const netServer = (server as unknown as { _server: net.Server })._server;
    await new Promise<void>((resolve, reject) => {
      netServer.once('error', reject);
      netServer.listen({ port: 0, host: '127.0.0.1' }, () => {
        netServer.removeListener('error', reject);
        resolve();
      });
    });
    const fake = new FakeMysql8(netServer, (netServer.address() as net.AddressInfo).port, opts.waitTimeout ?? 28800);
    holder.fake = fake;
    return fake;
  }

  /** Currently open client connections. */
  get connections(): number {
    return this.open.size;
  }

  /** Every open connection gets an unsolicited ERR 4031 (sequence id 0) and then a FIN, as on wait_timeout. */
  idleTimeoutAll(): void {
    for (const c of this.open) c.sendIdleTimeout();
  }

  /**
   * Every currently open connection answers its next command (query or ping) with ERR 4031 and then closes: the
   * race where the client writes just as MySQL's wait_timeout fires. The ERR keeps sequence id 0, as MySQL's does.
   */
  timeoutOnNextQuery(): void {
    for (const c of this.open) c.timeoutOnNextCommand = true;
  }

  /** Closes every connection and stops listening; idempotent. */
  close(): Promise<void> {
    this.closing ??= new Promise<void>((resolve) => {
      for (const c of this.open) c.conn.stream.destroy();
      this.netServer.close(() => resolve());
    });
    return this.closing;
  }

  private accept(conn: ServerConnection): void {
    if (this.closing) {
      conn.stream.destroy();
      return;
    }
    const c = new FakeConnection(conn, this.nextId++);
    this.open.add(c);
    // As mysql2's client does: a reply written in several packets goes out at once, not after the client's delayed ACK.
    conn.stream.setNoDelay(true);
    conn.stream.on('close', () => {
      c.closed = true;
      this.open.delete(c);
    });
    conn.stream.on('error', () => undefined); // client resets are normal in fault tests
    conn.on('error', () => undefined);

    conn.serverHandshake({
      protocolVersion: 10,
      serverVersion: SERVER_VERSION,
      connectionId: c.id,
      statusFlags: SERVER_STATUS_AUTOCOMMIT,
      characterSet: CHARSET_UTF8MB4,
      capabilityFlags: CAPABILITIES,
      // Accept any user and password. The handshake leaves the sequence id at 3; commands restart at 0.
      authCallback: (_params: unknown, done: (err: Error | null, mysqlError?: unknown) => void) => {
        done(null);
        conn.sequenceId = 0;
      },
    });

    // Every command funnels through here so timeoutOnNextQuery() catches queries and pings alike.
    const command = (answer: () => void) => {
      if (c.closed) return;
      if (c.timeoutOnNextCommand) {
        c.sendIdleTimeout();
        return;
      }
      answer();
    };

    conn.on('query', (sql: string) => {
      this.queries.push(sql);
      command(() => this.answerQuery(c, sql));
    });
    // mysql2's server side routes text queries starting with SET or PREPARE here, as well as real COM_STMT_PREPARE.
    conn.on('stmt_prepare', (sql: string) => {
      this.queries.push(sql);
      const firstWord = sql.split(' ')[0]!.toUpperCase();
      command(() =>
        firstWord === 'SET' || firstWord === 'PREPARE'
          ? c.reply(() => conn.writeOk(OK))
          : c.reply(() => conn.stream.write(errPacket(1, 1295, 'FakeMysql8 does not support prepared statements'))),
      );
    });
    // Text `EXECUTE ...` arrives with the query as 5th argument; binary COM_STMT_EXECUTE without it.
    conn.on('stmt_execute', (...args: unknown[]) => {
      const sql = args[4];
      if (typeof sql === 'string') this.queries.push(sql);
      command(() =>
        typeof sql === 'string'
          ? c.reply(() => conn.writeOk(OK))
          : c.reply(() => conn.stream.write(errPacket(1, 1295, 'FakeMysql8 does not support prepared statements'))),
      );
    });
    conn.on('ping', () => command(() => c.reply(() => conn.writeOk(OK))));
    conn.on('init_db', () => command(() => c.reply(() => conn.writeOk(OK))));
    // Commands mysql2's server side does not know (it would only log them), e.g. COM_RESET_CONNECTION.
    conn.on('packet', (_packet: unknown, known: boolean, commandCode: number) => {
      if (known) return;
      command(() =>
        commandCode === COM_RESET_CONNECTION
          ? c.reply(() => conn.writeOk(OK))
          : c.reply(() => conn.stream.write(errPacket(1, 1047, 'Unknown command', '08S01'))),
      );
    });
  }

  private answerQuery(c: FakeConnection, rawSql: string): void {
    const sql = rawSql.trim().replace(/;\s*$/, '');
    const row = this.evaluate(c, sql);
    if (!row) {
      c.reply(() => c.conn.writeOk(OK));
      return;
    }
    c.reply(() => {
      c.conn.writeColumns(row.map(([name, value]) => column(name, value)));
      c.conn.writeTextRow(row.map(([, value]) => value));
      c.conn.writeEof(0, SERVER_STATUS_AUTOCOMMIT);
    });
  }

  /** One result row as [column name, value] pairs, or undefined when the query is not one we can answer. */
  private evaluate(c: FakeConnection, sql: string): Array<[string, Value]> | undefined {
    const show = /^SHOW\s+(?:SESSION\s+|GLOBAL\s+)?VARIABLES\s+LIKE\s+'(wait_timeout|interactive_timeout)'$/i.exec(sql);
    if (show) return [['Variable_name', show[1]!.toLowerCase()], ['Value', String(this.waitTimeout)]];

    const select = /^SELECT\s+([\s\S]+)$/i.exec(sql);
    if (select) {
      const row: Array<[string, Value]> = [];
      for (const item of splitSelectList(select[1]!)) {
        const m = /^([\s\S]+?)(?:\s+AS\s+[`'"]?([\w$]+)[`'"]?)?$/i.exec(item)!;
        const expr = m[1]!.trim();
        const value = this.evaluateExpression(c, expr);
        if (value === undefined) return this.waitTimeoutFallback(sql);
        row.push([m[2] ?? expr, value]);
      }
      return row;
    }
    return this.waitTimeoutFallback(sql);
  }

  private waitTimeoutFallback(sql: string): Array<[string, Value]> | undefined {
    return /wait_timeout/i.test(sql) ? [['wait_timeout', this.waitTimeout]] : undefined;
  }

  private evaluateExpression(c: FakeConnection, expr: string): Value | undefined {
    if (/^-?\d+$/.test(expr)) return Number(expr);
    if (/^@@(?:SESSION\.|GLOBAL\.|LOCAL\.)?(?:wait_timeout|interactive_timeout)$/i.test(expr)) return this.waitTimeout;
    if (/^VERSION\(\s*\)$/i.test(expr)) return SERVER_VERSION;
    if (/^@@(?:GLOBAL\.)?version$/i.test(expr)) return SERVER_VERSION;
    if (/^CONNECTION_ID\(\s*\)$/i.test(expr)) return c.id;
    const str = /^'([^']*)'$/.exec(expr);
    if (str) return str[1]!;
    return undefined;
  }
}
