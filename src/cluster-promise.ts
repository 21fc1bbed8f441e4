/**
 * The promise API of the cluster, like mysql2/promise's PoolCluster: `getConnection()` resolves with mysql2's own
 * PromisePoolConnection, `of()` gives a namespace with promise `query`/`execute`/`getConnection`, events
 * `warn`/`remove`/`online`/`offline` are forwarded. Unlike mysql2's, `query`/`execute` on the cluster itself work
 * (mysql2's call a method its callback cluster does not have).
 */
import { EventEmitter } from 'node:events';
import * as mysqlPromise from 'mysql2/promise';
import type { FieldPacket, PoolConnection as PromisePoolConnection, PoolNamespace as MysqlPromisePoolNamespace, QueryOptions } from 'mysql2/promise';
import type { PoolConnection, PoolOptions } from 'mysql2';
import type { PoolNamespace } from './cluster-call.js';
import type { EventEmitter as Emitter } from 'node:events';
import type { NodeHealth, NodeState } from './node-health.js';
import type { NamespaceOptions, NodeRole } from './cluster-roles.js';
import type { ResilientPoolOptions } from './options.js';
import { forwardEvents } from './forward-events.js';

const PromisePoolConnectionClass = (
  mysqlPromise as unknown as { PoolConnection: new (conn: PoolConnection, P: PromiseConstructor) => PromisePoolConnection }
).PoolConnection;

const FORWARDED = ['warn', 'remove', 'online', 'offline', 'role'];

/** The callback cluster as its promise wrapper uses it (cluster.ts's ResilientPoolCluster; no import back, no cycle). */
export interface CorePoolCluster extends Emitter {
  readonly _closed: boolean;
  readonly config: Readonly<Record<string, unknown>>;
  add(...args: unknown[]): void;
  remove(pattern: string | RegExp): void;
  namespace(pattern?: string | RegExp, selector?: string, options?: NamespaceOptions): PoolNamespace;
  end(cb?: (err: NodeJS.ErrnoException | null) => void): void;
  nodeStates(): Array<{ id: string; health: NodeHealth; role: NodeRole | undefined; suspect: boolean; errorCount: number; state: NodeState | undefined }>;
}

type Sql = string | QueryOptions;
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Result = [any, FieldPacket[]];

function call(P: PromiseConstructor, target: PoolNamespace, kind: 'query' | 'execute', sql: Sql, values?: unknown): Promise<Result> {
  if (typeof values === 'function') throw new Error('Callback function is not available with promise clients.');
  return new P<Result>((resolve, reject) => {
    const done = (err: Error | null, rows?: unknown, fields?: unknown) => (err ? reject(err) : resolve([rows, fields as FieldPacket[]]));
    if (values === undefined) target[kind](sql, done);
    else target[kind](sql, values, done);
  });
}

export class ResilientPromisePoolNamespace {
  constructor(
    readonly poolNamespace: PoolNamespace,
    readonly Promise: PromiseConstructor,
  ) {}

  getConnection(): Promise<PromisePoolConnection> {
    return new this.Promise((resolve, reject) => {
      this.poolNamespace.getConnection((err, conn) => (err ? reject(err) : resolve(new PromisePoolConnectionClass(conn, this.Promise))));
    });
  }

  query(sql: Sql, values?: unknown): Promise<Result> {
    return call(this.Promise, this.poolNamespace, 'query', sql, values);
  }

  execute(sql: Sql, values?: unknown): Promise<Result> {
    return call(this.Promise, this.poolNamespace, 'execute', sql, values);
  }
}

export class ResilientPromisePoolCluster extends EventEmitter {
  readonly Promise: PromiseConstructor;

  constructor(
    readonly poolCluster: CorePoolCluster,
    promiseImpl?: PromiseConstructor,
  ) {
    super();
    this.Promise = promiseImpl ?? Promise;
    forwardEvents(poolCluster, this, FORWARDED);
  }

  get config(): CorePoolCluster['config'] {
    return this.poolCluster.config;
  }

  add(config: PoolOptions | ResilientPoolOptions): void;
  add(id: string, config: string | PoolOptions | ResilientPoolOptions): void;
  add(a: string | PoolOptions | ResilientPoolOptions, b?: string | PoolOptions | ResilientPoolOptions): void {
    this.poolCluster.add(...(b === undefined ? [a] : [a, b]));
  }

  remove(pattern: string | RegExp): void {
    this.poolCluster.remove(pattern);
  }

  /**
   * Typed as mysql2/promise's `PoolNamespace` (an EventEmitter in its typings; like mysql2's, not one at run time).
   * `options.role` (ours): see ResilientPoolCluster.of().
   */
  of(pattern?: string | RegExp, selector?: string, options?: NamespaceOptions): MysqlPromisePoolNamespace {
    return this.namespace(pattern, selector, options) as unknown as MysqlPromisePoolNamespace;
  }

  private namespace(pattern?: string | RegExp, selector?: string, options?: NamespaceOptions): ResilientPromisePoolNamespace {
    return new ResilientPromisePoolNamespace(this.poolCluster.namespace(pattern, selector, options), this.Promise);
  }

  getConnection(pattern?: string | RegExp, selector?: string, options?: NamespaceOptions): Promise<PromisePoolConnection> {
    return this.namespace(pattern, selector, options).getConnection();
  }

  query(sql: Sql, values?: unknown): Promise<Result> {
    return this.namespace().query(sql, values);
  }

  execute(sql: Sql, values?: unknown): Promise<Result> {
    return this.namespace().execute(sql, values);
  }

  end(): Promise<void> {
    return new this.Promise<void>((resolve) => this.poolCluster.end(() => resolve()));
  }

  async [Symbol.asyncDispose](): Promise<void> {
    if (!this.poolCluster._closed) await this.end();
  }

  /** See ResilientPoolCluster.nodeStates(). */
  nodeStates(): ReturnType<CorePoolCluster['nodeStates']> {
    return this.poolCluster.nodeStates();
  }
}
