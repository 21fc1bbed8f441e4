/**
 * Fake connections for unit tests of the pool (Go's fakedb_test.go as the model): no socket, no server. Each is a
 * mysql2 PoolConnection by prototype (so the pool's `Connection.prototype.query` calls work) whose constructor never
 * ran: it has the private fields src/mysql2-internals.ts reads, and `addCommand` answers each command itself, on
 * the next tick. Fault switches on the factory apply to the connections it makes from then on or at once:
 * `refuse` (connect fails), `pingHangs` (no answer to COM_PING), `waitTimeout` (the server's, in seconds).
 */
import { EventEmitter } from 'node:events';
import type { ConnectionConfig, PoolConnection } from 'mysql2';
import { PoolConnection as PoolConnectionClass } from 'mysql2';
import type { ConnectionFactory } from '../../src/connection-factory.js';
import type { PoolConnectionHost } from '../../src/mysql2-internals.js';

interface Command {
  constructor: { name: string };
  sql?: string;
  onResult?: (err: Error | null, rows?: unknown, fields?: unknown) => void;
  emit(event: string, ...args: unknown[]): boolean;
}

export class FakeSocket extends EventEmitter {
  destroyed = false;
  writable = true;
  readableEnded = false;

  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    this.writable = false;
    process.nextTick(() => this.emit('close'));
  }
}

export type FakeConnection = PoolConnection & { stream: FakeSocket; queries: string[]; kill(): void };

export class FakeConnections implements ConnectionFactory {
  /** Every connection made, in order. */
  readonly made: FakeConnection[] = [];
  refuse: Error | undefined;
  pingHangs = false;
  waitTimeout = 28_800;
  /**
   * How the server answers a query (not the pool's own probes): 'drop' closes the connection once the statement has
   * arrived (mysql2 then reports PROTOCOL_CONNECTION_LOST with the command on the wire: it may have run), an Error
   * is an ERR reply (give it mysql2's fields: code, errno, sqlState, fatal), undefined answers OK / no rows.
   */
  answer: (sql: string) => 'drop' | Error | undefined = () => undefined;
  private nextThread = 1;

  readonly create = (host: PoolConnectionHost, config: ConnectionConfig): PoolConnection => {
    // eslint-disable-next-line @typescript-eslint/no-this-alias -- the fakes' methods read the switches as they are when called
    const factory = this;
    const conn = Object.create(PoolConnectionClass.prototype) as FakeConnection & Record<string, unknown>;
    EventEmitter.call(conn);
    Object.assign(conn, {
      config,
      _pool: host,
      _command: null,
      _commands: { length: 0 },
      _fatalError: null,
      _protocolError: null,
      _closing: false,
      _released: false,
      _isMariaDB: false,
      _handshakePacket: { serverVersion: '8.0.36-fake' },
      threadId: null,
      stream: new FakeSocket(),
      queries: [],
    });
    // As PoolConnection's constructor does: 'end' and 'error' take it out of its pool.
    conn.once('end', () => (conn as unknown as { _removeFromPool(): void })._removeFromPool());
    conn.once('error', () => (conn as unknown as { _removeFromPool(): void })._removeFromPool());
    conn.connect = ((cb: (err: Error | null) => void) => {
      process.nextTick(() => {
        if (factory.refuse) {
          conn._fatalError = factory.refuse;
          conn.stream.destroy();
          return cb(factory.refuse!);
        }
        conn.threadId = factory.nextThread++;
        cb(null);
      });
    }) as never;
    conn.addCommand = ((cmd: Command) => {
      const name = cmd.constructor.name;
      if (name === 'Query') conn.queries.push(cmd.sql ?? '');
      if (name === 'Ping' && factory.pingHangs) return cmd;
      conn._command = cmd;
      const answer = name === 'Query' && !/^SELECT @@/.test(cmd.sql ?? '') ? factory.answer(cmd.sql ?? '') : undefined;
      if (answer === 'drop') {
        process.nextTick(() => dropUnder(conn, cmd));
        return cmd;
      }
      if (answer) {
        process.nextTick(() => {
          conn._command = null;
          cmd.onResult?.(answer);
          cmd.emit('end');
        });
        return cmd;
      }
      process.nextTick(() => {
        conn._command = null;
        if (name === 'Quit') {
          cmd.onResult?.(null);
          conn.stream.destroy();
          return;
        }
        const rows = /wait_timeout/.test(cmd.sql ?? '') ? [[factory.waitTimeout]] : [];
        cmd.onResult?.(null, name === 'Query' ? rows : undefined, []);
        cmd.emit('end');
      });
      return cmd;
    }) as never;
    // The server closes the connection: mysql2 emits 'end' then 'error' (PROTOCOL_CONNECTION_LOST).
    conn.kill = () => {
      const err = Object.assign(new Error('Connection lost: The server closed the connection.'), {
        code: 'PROTOCOL_CONNECTION_LOST',
        fatal: true,
      });
      conn._fatalError = err;
      conn.stream.readableEnded = true;
      conn.stream.destroy();
      conn.emit('end');
      conn.emit('error', err);
    };
    this.made.push(conn);
    return conn;
  };
}

/**
 * The server closes the socket while `cmd` is on the wire, in mysql2's order: 'end', then the command's callback
 * with PROTOCOL_CONNECTION_LOST (the command still current, so the pool sees it was sent), then 'error'.
 */
function dropUnder(conn: FakeConnection & Record<string, unknown>, cmd: Command): void {
  const err = Object.assign(new Error('Connection lost: The server closed the connection.'), {
    code: 'PROTOCOL_CONNECTION_LOST',
    fatal: true,
  });
  conn.stream.readableEnded = true;
  conn.emit('end');
  conn._fatalError = err;
  cmd.onResult?.(err);
  conn._command = null;
  conn.emit('error', err);
  conn.stream.destroy();
}
