/**
 * A scripted MySQL-protocol server for unit tests of the query runner (no real server, loopback only), built on
 * mysql2's own server side like fake-mysql8.ts. Each text query is answered by a script the test sets: rows, OK,
 * an ERR packet, or a dropped connection right after the query arrived (the statement "may have run": the client
 * cannot know). It records every query each connection received, so a test counts how many times a statement
 * reached the server.
 *
 * Built in: the pool's first-connection probe (`@@SESSION.wait_timeout`), the read-only check
 * (`@@global.read_only`...: answered from `readOnly`), ping, COM_RESET_CONNECTION.
 */
import net from 'node:net';
import mysql from 'mysql2';
import { CAPABILITIES, OK, column, errPacket } from './fake-mysql8.js';
import type { ServerConnection } from './fake-mysql8.js';

const SERVER_STATUS_AUTOCOMMIT = 2;

/** What the server does with one query. */
export type Answer =
  | { rows: Array<Array<[string, number | string]>> }
  | { ok: true }
  | { err: number; message?: string; close?: boolean; sequenceId?: number }
  | { drop: true };

export const drop: Answer = { drop: true };
export const ok: Answer = { ok: true };
export function err(errno: number, message = `error ${errno}`, close = false): Answer {
  return { err: errno, message, close };
}

/** One client connection as the server sees it. */
export interface ServerSide {
  readonly id: number;
  /** Every text query it received, in order. */
  readonly queries: string[];
  closed: boolean;
}

export class ScriptedMysql {
  readonly host = '127.0.0.1';
  /** Every connection ever accepted, in order. */
  readonly connections: ServerSide[] = [];
  /** What `@@global.read_only` (and the MySQL read-only variables) report: one value for all, or one per variable. */
  readOnly: number | Array<number | string> = 0;
  /** When set, a new connection gets this ERR in place of a handshake, then is closed (e.g. 1040). */
  refuseWith: number | undefined;
  /** The status flags of the OK packets answering scripted queries (0: a server that never sets them, as mysql2's own
   * createServer() writeOk() does). Default: autocommit on. */
  okStatus = SERVER_STATUS_AUTOCOMMIT;
  /** The test's script for every other query; default: OK. */
  script: (sql: string, conn: ServerSide) => Answer = () => ok;

  private nextId = 1;
  private readonly sockets = new Set<net.Socket>();

  private constructor(
    private readonly netServer: net.Server,
    readonly port: number,
    private readonly version: string,
  ) {}

  /** Listens on 127.0.0.1 on a free port; `version` decides the flavour the client sees (MariaDB or MySQL). */
  static async start(version = '8.0.36'): Promise<ScriptedMysql> {
    const holder: { server?: ScriptedMysql } = {};
    const server = mysql.createServer((conn) => holder.server!.accept(conn as unknown as ServerConnection));
    const netServer = (server as unknown as { _server: net.Server })._server;
    await new Promise<void>((resolve, reject) => {
      netServer.once('error', reject);
      netServer.listen({ port: 0, host: '127.0.0.1' }, () => resolve());
    });
    const s = new ScriptedMysql(netServer, (netServer.address() as net.AddressInfo).port, version);
    holder.server = s;
    return s;
  }

  /** Forgets the connections and queries seen so far (each test counts its own). */
  reset(): void {
    this.connections.length = 0;
    this.readOnly = 0;
    this.refuseWith = undefined;
    this.okStatus = SERVER_STATUS_AUTOCOMMIT;
    this.script = () => ok;
  }

  /** Every query received on any connection, in order of connections. */
  get queries(): string[] {
    return this.connections.flatMap((c) => c.queries);
  }

  /** How many times exactly `sql` arrived. */
  count(sql: string): number {
    return this.queries.filter((q) => q === sql).length;
  }

  get open(): number {
    return this.connections.filter((c) => !c.closed).length;
  }

  close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    return new Promise((resolve) => this.netServer.close(() => resolve()));
  }

  private accept(conn: ServerConnection): void {
    const side: ServerSide = { id: this.nextId++, queries: [], closed: false };
    this.connections.push(side);
    this.sockets.add(conn.stream);
    // As mysql2's client does: a reply written in several packets (columns, rows, EOF) goes out at once, not after the
    // client's delayed ACK (~40 ms on Linux loopback per query, with Nagle's algorithm on).
    conn.stream.setNoDelay(true);
    conn.stream.on('close', () => {
      side.closed = true;
      this.sockets.delete(conn.stream);
    });
    conn.stream.on('error', () => undefined);
    conn.on('error', () => undefined);
    if (this.refuseWith !== undefined) {
      conn.stream.write(errPacket(0, this.refuseWith, 'Too many connections', '08004'));
      conn.stream.end();
      return;
    }
    conn.serverHandshake({
      protocolVersion: 10,
      serverVersion: this.version,
      connectionId: side.id,
      statusFlags: SERVER_STATUS_AUTOCOMMIT,
      characterSet: 255,
      capabilityFlags: CAPABILITIES,
      authCallback: (_params: unknown, done: (err: Error | null) => void) => {
        done(null);
        conn.sequenceId = 0;
      },
    });
    const reply = (write: () => void) => {
      if (side.closed) return;
      conn.sequenceId = 1;
      write();
      conn.sequenceId = 0;
    };
    const answer = (sql: string) => {
      side.queries.push(sql);
      const a = this.builtIn(sql) ?? this.script(sql, side);
      if ('drop' in a) {
        side.closed = true;
        conn.stream.destroy();
      } else if ('err' in a) {
        const seq = a.sequenceId ?? 1;
        conn.stream.write(errPacket(seq, a.err, a.message ?? `error ${a.err}`));
        conn.sequenceId = 0;
        if (a.close) {
          side.closed = true;
          conn.stream.end();
        }
      } else if ('rows' in a) {
        reply(() => {
          const first = a.rows[0] ?? [];
          conn.writeColumns(first.map(([name, value]) => column(name, value)));
          for (const row of a.rows) conn.writeTextRow(row.map(([, value]) => value));
          conn.writeEof(0, SERVER_STATUS_AUTOCOMMIT);
        });
      } else {
        reply(() => conn.writeOk({ ...OK, serverStatus: this.okStatus }));
      }
    };
    conn.on('query', answer);
    // mysql2's server side routes text queries starting with SET or PREPARE here.
    conn.on('stmt_prepare', (sql: string) => answer(sql));
    conn.on('ping', () => reply(() => conn.writeOk(OK)));
    conn.on('packet', (_packet: unknown, known: boolean, commandCode: number) => {
      if (!known && commandCode === 0x1f) reply(() => conn.writeOk(OK));
    });
  }

  private builtIn(sql: string): Answer | undefined {
    if (/^SELECT @@SESSION\.wait_timeout/i.test(sql)) return { rows: [[['wait_timeout', 28800]]] };
    if (/^SELECT @@global\.read_only/i.test(sql)) {
      const names = sql.slice('SELECT '.length).split(',').map((s) => s.trim());
      const values = this.readOnly;
      return { rows: [names.map((n, i) => [n, Array.isArray(values) ? values[i]! : values] as [string, number | string])] };
    }
    return undefined;
  }
}
