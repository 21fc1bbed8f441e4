import type { PoolEntry } from './pooled-connection.js';
import { classifyWith } from './error-table.js';
import type { ErrorAction } from './error-table.js';
import { annotate, transactionLeftOpenError } from './errors.js';
import type { TimerHandle } from './clock.js';
import { log } from './log.js';
import { connectionExecute, connectionQuery, createQuery, isOnTheWire } from './mysql2-internals.js';
import type { QueryCommand } from './mysql2-internals.js';
import type { PoolCore } from './pool-core.js';
import { runEventQuery } from './event-query.js';
import { decideRetry } from './retry.js';
import { leftOpen, mayHaveLeftOpen, replyStatus, statusOpen } from './transactions.js';

type Callback = (err: Error | null, rows?: unknown, fields?: unknown) => void;

type Command = QueryCommand;

/** What an attempt that ran on a connection tells the retry decision. */
interface FailureFacts {
  action: ErrorAction | null;
  /** The final text sent (undefined: unknown, so no retry after send rests on it). */
  finalSql: () => string | undefined;
  /** The server's answer to "are you read-only?" (undefined: not asked, or no answer in time). */
  serverReadOnly?: boolean;
  /** The pool already asked (or is asking) the server about this failure: noteFailure must not ask again. */
  checked?: boolean;
}

const unknownText = (): undefined => undefined;

/**
 * One pool-level `query`/`execute` call: its attempts, and the rules that
 * decide whether a failed attempt is tried again (see retry.ts).
 */
class PoolCall {
  attempt = 0;
  /** Some attempt's outcome was unknown (it may have run): the final error says so. */
  outcomeUnknown = false;
  readonly deadline: number;

  constructor(
    readonly pool: PoolCore,
    readonly kind: 'query' | 'execute',
    readonly sql: unknown,
    readonly values: unknown,
    readonly callback: Callback,
    readonly idempotent: boolean | undefined,
  ) {
    this.deadline = pool.deadlineFrom(pool.clock.now());
  }

  get text(): string {
    return typeof this.sql === 'string' ? this.sql : String((this.sql as { sql?: unknown })?.sql ?? '');
  }

  /** A query command for one attempt: a failed command is never re-run, a fresh one is made. */
  makeQuery(first: Command | undefined): Command {
    const cfg = this.pool.config.connectionConfig;
    const cmd = first ?? createQuery(this.sql, this.values, undefined, cfg);
    if (cmd.namedPlaceholders === undefined) {
      cmd.namedPlaceholders = (cfg as { namedPlaceholders?: boolean }).namedPlaceholders;
    }
    if (cmd.timeout === undefined && this.pool.opts.queryTimeout > 0) cmd.timeout = this.pool.opts.queryTimeout;
    return cmd;
  }

  start(first?: Command): void {
    this.attempt++;
    this.pool.checkout(this.deadline, (err, entry) => {
      if (err) return this.failed(err, undefined, false);
      if (this.kind === 'query') this.runQuery(entry!, this.makeQuery(this.attempt === 1 ? first : undefined));
      else this.runExecute(entry!);
    });
  }

  private runQuery(entry: PoolEntry, cmd: Command): void {
    const attempt = new Attempt(this, entry);
    attempt.cmd = cmd;
    cmd.onResult = (err, rows, fields) => {
      const sent = isOnTheWire(entry.conn, cmd);
      // mysql2 may call back again after a timeout, when the socket dies.
      if (attempt.settle()) attempt.settled(err, sent, rows, fields);
    };
    cmd.once('end', attempt.release);
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
    const timeout = (this.sql as { timeout?: number })?.timeout ?? this.pool.opts.queryTimeout;
    if (timeout > 0) attempt.enforceTimeout(timeout);
    try {
      cmd = connectionExecute.call(entry.conn, this.sql, this.values ?? [], onResult) as Command;
      attempt.cmd = cmd;
      cmd.once('end', attempt.release);
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
      timeLeft: this.deadline - now - wait,
      backoff: wait,
      idempotent: this.idempotent ?? (pool.opts.assumeIdempotent ? true : undefined),
      sql: seen?.finalSql ?? unknownText,
      retryReadsAfterSend: pool.opts.retryReadsAfterSend,
      serverReadOnly: seen?.serverReadOnly,
    });
    // An earlier attempt that may have run is not forgotten by a later one that certainly did not.
    if (decision.outcomeUnknown) this.outcomeUnknown = true;
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

/** One attempt's bookkeeping: its result is handled once, its connection given back once. */
class Attempt {
  private settledOnce = false;
  private releasedOnce = false;
  private timer: TimerHandle | undefined;
  /** The mysql2 command of this attempt, once made. */
  cmd: Command | undefined;
  /** Kept out of the pool while the server is asked whether it is read-only (its 'end' must not release it). */
  private held = false;

  constructor(
    private readonly call: PoolCall,
    private readonly entry: PoolEntry,
  ) {}

  settle(): boolean {
    if (this.settledOnce) return false;
    this.settledOnce = true;
    return true;
  }

  /** A listener ('end'), so bound once per attempt. */
  readonly release = (): void => {
    if (this.releasedOnce || this.held) return;
    this.releasedOnce = true;
    this.stopTimer();
    this.call.pool.releaseConnection(this.entry.conn);
  };

  private destroy(reason: 'error' | 'in-transaction' = 'error'): void {
    if (this.releasedOnce) return;
    this.releasedOnce = true;
    this.stopTimer();
    this.call.pool.loans.close(this.entry, reason);
  }

  /**
   * After an error: releases the connection. An ERR packet carries no status,
   * so when the failed statement may have left a transaction open (a `CALL`
   * that began one, `BEGIN; INSERT <failing>`: transactions.ts), the server is
   * asked first with `DO 0`, whose OK packet has the flags: the connection is
   * kept when clean (a procedure that SIGNALs a validation error costs one
   * round trip, not a reconnect), closed when open, when the probe fails, or
   * when it takes longer than `pingTimeout`. The caller does not wait for it.
   */
  private releaseAfterError(err: Error): void {
    if (!mayHaveLeftOpen(err)) return this.release();
    this.held = true;
    const pool = this.call.pool;
    let decided = false;
    const decide = (open: boolean): void => {
      if (decided) return;
      decided = true;
      pool.clock.clearTimeout(timer);
      this.held = false;
      if (!open) return this.release();
      this.entry.inTransaction = true;
      this.destroy('in-transaction');
    };
    const timer = pool.clock.setBackgroundTimeout(() => decide(true), pool.opts.pingTimeout);
    try {
      connectionQuery.call(this.entry.conn, 'DO 0', (probeErr: unknown, rows: unknown) => {
        const status = replyStatus(rows, undefined);
        decide(probeErr != null || status === undefined || statusOpen(status));
      });
    } catch {
      decide(true);
    }
  }

  settled(err: Error | null, sent: boolean, rows?: unknown, fields?: unknown): void {
    if (!err) {
      if (leftOpen(this.entry, rows, fields, this.cmd?.sql)) return this.leftTransactionOpen();
      this.release();
      this.call.callback(null, rows, fields);
      return;
    }
    const action = classifyWith(err, this.entry.flavor, this.call.pool.opts.classifyError);
    const facts: FailureFacts = { action, finalSql: () => this.finalSql() };
    if (sent && action?.others === 'retire-if-read-only') {
      // A read-only refusal is a failover only if the server says it is read-only. Until it answers, this
      // connection is kept out of the pool; it is the pool's own (no caller holds it), so when it is still usable
      // the question is put to it: it is the server that refused.
      facts.checked = true;
      const ask = action.destroy ? undefined : this.entry;
      if (ask) this.held = true;
      else this.destroy();
      void this.call.pool.verifyReadOnly(ask).then((readOnly) => {
        facts.serverReadOnly = readOnly;
        this.held = false;
        if (readOnly === true) this.destroy();
        else this.releaseAfterError(err);
        this.call.failed(err, this.entry, sent, facts);
      });
      return;
    }
    if (action?.destroy) this.destroy();
    else this.releaseAfterError(err);
    this.call.failed(err, this.entry, sent, facts);
  }

  /**
   * The call left a transaction (or autocommit off) behind: a deliberate
   * difference from mysql2 (transactions.ts). Its connection is closed, so
   * the server rolls back, and the call fails: nothing it did is acknowledged.
   */
  private leftTransactionOpen(): void {
    // mysql2 emits 'end' (our release) before it calls back with rows, so the
    // connection is usually already releasing: marking it makes the release
    // check close it instead of reusing it.
    this.entry.inTransaction = true;
    this.destroy('in-transaction');
    const pool = this.call.pool;
    pool.stats_.surfaced();
    log.retry('%s attempt %d left a transaction open on %s: connection closed, call failed', this.call.kind, this.call.attempt, this.entry);
    this.call.callback(annotate(transactionLeftOpenError(), { attempts: this.call.attempt, retryable: false }));
  }

  /**
   * The text the server received: mysql2's query() formats values, `raw()`, named placeholders and a user
   * `queryFormat` into the command's `sql` before sending it; execute's command holds the template (named
   * placeholders converted), its values travel bound. Read only when a retry decision depends on it.
   */
  finalSql(): string | undefined {
    const sql = this.cmd?.sql;
    return typeof sql === 'string' ? sql : undefined;
  }

  /** For execute, whose `timeout` mysql2 does not enforce: fail like mysql2's query timeout. */
  enforceTimeout(ms: number): void {
    this.timer = this.call.pool.clock.setTimeout(() => {
      this.timer = undefined;
      if (!this.settle()) return;
      const err = Object.assign(new Error('Query inactivity timeout'), {
        code: 'PROTOCOL_SEQUENCE_TIMEOUT',
        errorno: 'PROTOCOL_SEQUENCE_TIMEOUT',
        syscall: 'execute',
      });
      this.settled(err, true);
    }, ms);
  }

  private stopTimer(): void {
    if (this.timer === undefined) return;
    this.call.pool.clock.clearTimeout(this.timer);
    this.timer = undefined;
  }
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
    new PoolCall(pool, kind, sql, values, cb, idempotentOf(sql)).start();
    return undefined;
  }
  const cfg = pool.config.connectionConfig;
  const first = createQuery(sql, values, cb, cfg);
  if (typeof first.onResult !== 'function') {
    runEventQuery(pool, new PoolCall(pool, kind, sql, values, () => {}, false).makeQuery(first));
    return first;
  }
  const call = new PoolCall(pool, kind, sql, values, first.onResult, idempotentOf(sql));
  call.start(first);
  return first;
}
