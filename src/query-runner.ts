/**
 * Pool-level `query`/`execute`: one PoolCall per call, one Attempt (attempt.ts) per connection it runs on, and the
 * retry rules (retry.ts) between attempts. Calls without a callback (events, streams) go to event-query.ts.
 */
import type { PoolEntry } from './pooled-connection.js';
import { Attempt } from './attempt.js';
import type { AttemptCall, FailureFacts } from './attempt.js';
import { classifyWith } from './error-table.js';
import { annotate } from './errors.js';
import { log } from './log.js';
import { connectionExecute, connectionQuery, createQuery, isOnTheWire, queryOptionsOf } from './mysql2-internals.js';
import type { QueryCommand } from './mysql2-internals.js';
import type { PoolCore } from './pool-core.js';
import type { Waiter } from './waiters.js';
import { runEventQuery } from './event-query.js';
import { decideRetry } from './retry.js';

type Callback = (err: Error | null, rows?: unknown, fields?: unknown) => void;

type Command = QueryCommand;

const unknownText = (): undefined => undefined;

// PoolCall's bits: the attempt count in the low 16 bits (maxAttempts is at most 1000), then one bit each. One small
// integer instead of six fields.
const ATTEMPT = 0xffff;
const EXECUTE = 1 << 16;
const IDEMPOTENT_SET = 1 << 17;
const IDEMPOTENT = 1 << 18;
const OUTCOME_UNKNOWN = 1 << 19;
const QUEUED = 1 << 20;
const DONE = 1 << 21;

/**
 * One pool-level `query`/`execute` call: its attempts, and the rules that
 * decide whether a failed attempt is tried again (see retry.ts). It is its own
 * checkout record (a Waiter): a call allocates no closure and no waiter object.
 *
 * A queued call holds this record until a connection comes (100 000 of them in
 * the bench's burst), so it is kept small: four fields while it waits (the
 * pool, the flags and the attempt count packed in one small integer, one time:
 * the call's start, the deadline derived from it, and its arguments), the rest
 * (`reply`, a retry's own start, a waiter's `cause`) added only when needed.
 * A query's arguments are the Query command mysql2's `pool.query()` returned:
 * its options hold the sql and values as given, its `onResult` the caller's
 * callback until the first attempt runs it.
 */
class PoolCall implements Waiter, AttemptCall {
  private bits: number;
  /** When the call was made: the first attempt's checkout starts then (one clock read per call). */
  private readonly calledAt: number;
  private readonly args: Command | ExecuteArgs;
  // `declare`: no class field is emitted for these (with ES2022 class fields, an optional field is still one per
  // object); each is added when first set.
  /** The caller's callback, once the first attempt has taken it from the command (query). */
  private declare reply?: Callback;
  /** A retry's own wait start (set only for attempts after the first). */
  private declare retryAt?: number;
  /** Waiter: why a connect made for it failed (set only then). */
  declare cause?: Error;

  constructor(
    readonly pool: PoolCore,
    kind: 'query' | 'execute',
    args: Command | ExecuteArgs,
    idempotent: boolean | undefined,
  ) {
    this.bits = (kind === 'execute' ? EXECUTE : 0) | (idempotent === undefined ? 0 : IDEMPOTENT_SET | (idempotent ? IDEMPOTENT : 0));
    this.calledAt = pool.clock.now();
    this.args = args;
  }

  /** The statement as the caller gave it (a query's: from its options, the text before mysql2 formats it). */
  get sql(): unknown {
    return this.bits & EXECUTE ? (this.args as ExecuteArgs).sql : queryOptionsOf(this.args as Command).sql;
  }
  get callback(): Callback {
    return this.reply ?? (this.bits & EXECUTE ? (this.args as ExecuteArgs).callback : (this.args as Command).onResult!);
  }

  get kind(): 'query' | 'execute' {
    return this.bits & EXECUTE ? 'execute' : 'query';
  }
  get attempt(): number {
    return this.bits & ATTEMPT;
  }
  /** undefined: not declared by the caller. */
  get idempotent(): boolean | undefined {
    return this.bits & IDEMPOTENT_SET ? (this.bits & IDEMPOTENT) !== 0 : undefined;
  }
  /** Some attempt's outcome was unknown (it may have run): the final error says so. */
  get outcomeUnknown(): boolean {
    return (this.bits & OUTCOME_UNKNOWN) !== 0;
  }
  // Waiter: the deadline is the call's (acquireTimeout from its start), whatever the attempt.
  get deadline(): number {
    return this.pool.deadlineFrom(this.calledAt);
  }
  get startedAt(): number {
    return this.retryAt ?? this.calledAt;
  }
  set startedAt(at: number) {
    if (at !== this.calledAt) this.retryAt = at;
  }
  get queued(): boolean {
    return (this.bits & QUEUED) !== 0;
  }
  set queued(on: boolean) {
    this.bits = on ? this.bits | QUEUED : this.bits & ~QUEUED;
  }
  get done(): boolean {
    return (this.bits & DONE) !== 0;
  }
  set done(on: boolean) {
    this.bits = on ? this.bits | DONE : this.bits & ~DONE;
  }

  get text(): string {
    const sql = this.sql;
    return typeof sql === 'string' ? sql : String((sql as { sql?: unknown })?.sql ?? '');
  }

  start(): void {
    // At most maxAttempts (at most 1000) attempts: the count stays in its 16 bits.
    const attempt = (this.bits & ATTEMPT) + 1;
    this.bits = (this.bits & ~ATTEMPT) | attempt;
    this.pool.checkout(attempt === 1 ? this.calledAt : this.pool.clock.now(), this);
  }

  /** Waiter: this attempt's connection, or why there is none. */
  cb(err: Error | null, entry?: PoolEntry): void {
    if (err) return this.failed(err, undefined, false);
    if (this.bits & EXECUTE) return this.runExecute(entry!);
    const first = this.args as Command;
    if (this.reply !== undefined) return this.runQuery(entry!, makeQuery(this.pool, undefined, first));
    // The command pool.query() returned runs first (once: a failed command is never re-run, a retry makes a fresh one).
    this.reply = first.onResult!;
    this.runQuery(entry!, makeQuery(this.pool, first, first));
  }

  private runQuery(entry: PoolEntry, cmd: Command): void {
    const attempt = new Attempt(this, entry);
    attempt.cmd = cmd;
    cmd.onResult = (err, rows, fields) => {
      const sent = isOnTheWire(entry.conn, cmd);
      // mysql2 may call back again after a timeout, when the socket dies.
      if (attempt.settle()) attempt.settled(err, sent, rows, fields);
    };
    // Released from settled(), once the reply is read (not on 'end': mysql2 emits it before the result callback,
    // which runs on the next tick, and the reply decides whether the connection may be reused).
    try {
      connectionQuery.call(entry.conn, cmd);
    } catch (e) {
      attempt.release();
      if (attempt.settle()) this.callback(e as Error);
    }
  }

  private runExecute(entry: PoolEntry): void {
    const attempt = new Attempt(this, entry);
    let cmd: Command | undefined;
    const onResult: Callback = (err, rows, fields) => {
      const sent = isOnTheWire(entry.conn, cmd);
      if (attempt.settle()) attempt.settled(err, sent, rows, fields);
    };
    // mysql2 stores an execute's `timeout` but never enforces it: enforce it here.
    const { sql, values } = this.args as ExecuteArgs;
    const timeout = (sql as { timeout?: number })?.timeout ?? this.pool.opts.queryTimeout;
    if (timeout > 0) attempt.enforceTimeout(timeout);
    try {
      cmd = connectionExecute.call(entry.conn, sql, values ?? [], onResult) as Command;
      attempt.cmd = cmd;
    } catch (e) {
      // mysql2 throws synchronously for bad bind parameters (undefined, functions).
      attempt.release();
      if (attempt.settle()) this.callback(e as Error);
    }
  }

  /**
   * An attempt failed: retry if the rules allow, else pass mysql2's error on, annotated.
   * `seen` comes from an attempt that ran on a connection: the table's action, the final text the command
   * holds (read only if the decision needs it), and the server's answer to "are you read-only?" when asked.
   */
  failed(err: Error, entry: PoolEntry | undefined, sent: boolean, seen?: FailureFacts): void {
    const pool = this.pool;
    const action = seen ? seen.action : classifyWith(err, entry?.flavor ?? 'mysql', pool.opts.classifyError);
    pool.failures.note(action, seen?.checked === true);
    const now = pool.clock.now();
    // A checkout that failed to connect waits out the pool's backoff first.
    const wait = entry ? 0 : pool.connectBackoff(now);
    const decision = decideRetry({
      action,
      sent,
      attempt: this.attempt,
      maxAttempts: pool.opts.maxAttempts,
      timeLeft: pool.deadlineFrom(this.calledAt) - now - wait,
      backoff: wait,
      idempotent: this.idempotent ?? (pool.opts.assumeIdempotent ? true : undefined),
      sql: seen?.finalSql ?? unknownText,
      retryReadsAfterSend: pool.opts.retryReadsAfterSend,
      serverReadOnly: seen?.serverReadOnly,
    });
    // An earlier attempt that may have run is not forgotten by a later one that certainly did not.
    if (decision.outcomeUnknown) this.bits |= OUTCOME_UNKNOWN;
    if (decision.retry) {
      pool.stats_.retried(decision.kind);
      log.retry('%s attempt %d failed (%s: %s), retrying (%s)', this.kind, this.attempt, (err as { code?: unknown }).code, err.message, decision.why);
      pool.emit('retry', { attempt: this.attempt, error: err, reason: action!.reason, kind: decision.kind, sql: this.text });
      // +1: a timer may fire a fraction of a millisecond early, and a retry that
      // still finds the backoff in force would fail at once without connecting.
      // A caller-facing timer: the caller waits on it, so it keeps the process alive.
      if (wait > 0) pool.clock.setTimeout(() => this.start(), Math.ceil(wait) + 1);
      else this.start();
      return;
    }
    if (action) {
      log.retry('%s attempt %d failed (%s: %s), not retried: %s', this.kind, this.attempt, (err as { code?: unknown }).code, err.message, decision.why);
    }
    pool.stats_.surfaced();
    annotate(err, {
      attempts: this.attempt,
      retryable: action?.retryable ?? false,
      outcomeUnknown: this.outcomeUnknown,
    });
    this.callback(err);
  }
}

/** An execute call's arguments. */
interface ExecuteArgs {
  sql: unknown;
  values: unknown;
  callback: Callback;
}

/**
 * The query command for one attempt: `run` (the one pool.query() returned) when given, else a fresh one from
 * `first`'s options (a failed command is never re-run), with the config's named placeholders and the pool's
 * queryTimeout filled in where the call set none.
 */
function makeQuery(pool: PoolCore, run: Command | undefined, first: Command): Command {
  const cfg = pool.config.connectionConfig;
  const cmd = run ?? createQuery(queryOptionsOf(first), undefined, undefined, cfg);
  if (cmd.namedPlaceholders === undefined) {
    cmd.namedPlaceholders = (cfg as { namedPlaceholders?: boolean }).namedPlaceholders;
  }
  if (cmd.timeout === undefined && pool.opts.queryTimeout > 0) cmd.timeout = pool.opts.queryTimeout;
  return cmd;
}

function idempotentOf(sql: unknown): boolean | undefined {
  const flag = sql && typeof sql === 'object' ? (sql as { idempotent?: unknown }).idempotent : undefined;
  return typeof flag === 'boolean' ? flag : undefined;
}

/**
 * `pool.query` / `pool.execute` with mysql2's call shapes: `(sql)`, `(sql, values)`,
 * `(options)`, with or without a callback. Returns the Query like mysql2's
 * `pool.query` (execute returns nothing, as in mysql2).
 */
export function runPoolCommand(pool: PoolCore, kind: 'query' | 'execute', sql: unknown, values: unknown, cb: Callback | undefined): unknown {
  if (typeof values === 'function') {
    cb = values as Callback;
    values = undefined;
  }
  if (kind === 'execute') {
    if (typeof cb !== 'function') throw new TypeError('pool.execute() needs a callback (or use the promise API)');
    new PoolCall(pool, kind, { sql, values, callback: cb }, idempotentOf(sql)).start();
    return undefined;
  }
  const first = createQuery(sql, values, cb, pool.config.connectionConfig);
  if (typeof first.onResult !== 'function') {
    runEventQuery(pool, makeQuery(pool, first, first));
    return first;
  }
  new PoolCall(pool, kind, first, idempotentOf(sql)).start();
  return first;
}
