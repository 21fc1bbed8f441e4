/**
 * One attempt of a pool-level `query`/`execute` (query-runner.ts) on one connection: its reply handled once, its
 * connection given back once (released, kept out of the pool while the server is asked a question, or closed), its
 * failure passed to the call with what the retry decision needs to know.
 */
import { classifyWith } from './error-table.js';
import type { ErrorAction } from './error-table.js';
import { annotate, transactionLeftOpenError } from './errors.js';
import type { TimerHandle } from './clock.js';
import { log } from './log.js';
import { connectionQuery } from './mysql2-internals.js';
import type { QueryCommand } from './mysql2-internals.js';
import type { PoolCore } from './pool-core.js';
import type { PoolEntry } from './pooled-connection.js';
import { leftOpen, mayHaveLeftOpen, replyStatus, statusOpen } from './transactions.js';

type Command = QueryCommand;

/** What an attempt that ran on a connection tells the retry decision. */
export interface FailureFacts {
  action: ErrorAction | null;
  /** The final text sent (undefined: unknown, so no retry after send rests on it). */
  finalSql: () => string | undefined;
  /** The server's answer to "are you read-only?" (undefined: not asked, or no answer in time). */
  serverReadOnly?: boolean;
  /** The pool already asked (or is asking) the server about this failure: noteFailure must not ask again. */
  checked?: boolean;
}

/** What an attempt needs of its call (query-runner.ts's PoolCall). */
export interface AttemptCall {
  readonly pool: PoolCore;
  readonly kind: 'query' | 'execute';
  readonly attempt: number;
  readonly callback: (err: Error | null, rows?: unknown, fields?: unknown) => void;
  failed(err: Error, entry: PoolEntry | undefined, sent: boolean, seen?: FailureFacts): void;
}

/** One attempt's bookkeeping: its result is handled once, its connection given back once. */
export class Attempt {
  private settledOnce = false;
  private releasedOnce = false;
  private timer: TimerHandle | undefined;
  /** The mysql2 command of this attempt, once made. */
  cmd: Command | undefined;
  /** Kept out of the pool while the server is asked whether it is read-only (its 'end' must not release it). */
  private held = false;

  constructor(
    private readonly call: AttemptCall,
    private readonly entry: PoolEntry,
  ) {}

  settle(): boolean {
    if (this.settledOnce) return false;
    this.settledOnce = true;
    return true;
  }

  /**
   * Gives the connection back once its reply has been read (settled() calls it: mysql2 calls every command back,
   * once, with its result or its error). As pool.releaseConnection(conn) would, without looking the entry up again.
   * Its own command, finishing when this runs from its callback, does not keep it from being reused at once.
   */
  release(): void {
    if (this.releasedOnce || this.held) return;
    this.releasedOnce = true;
    this.stopTimer();
    if (this.entry.state === 'busy') this.call.pool.loans.release(this.entry, this.cmd);
  }

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
