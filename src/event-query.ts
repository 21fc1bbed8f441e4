/**
 * A pool-level query with no callback (events, `.stream()`): mysql2 hands it rows as they come, so once it has run
 * on a connection it is never retried; only a failed checkout is. See query-runner.ts for calls with a callback.
 */
import type { PoolConnection } from 'mysql2';
import { classifyWith } from './error-table.js';
import { annotate, transactionLeftOpenError } from './errors.js';
import { log } from './log.js';
import { connectionQuery, isOnTheWire, onLastResult } from './mysql2-internals.js';
import type { QueryCommand } from './mysql2-internals.js';
import type { PoolCore } from './pool-core.js';
import { decideRetry, didNotRun } from './retry.js';
import { leftOpen, mayHaveLeftOpen } from './transactions.js';
import { waiterFor } from './waiters.js';

/**
 * A query with no callback (events, `.stream()`): rows may already have been
 * emitted when it fails, so only a failed checkout is retried. mysql2 never
 * tells such a command that its connection died; here it gets 'error' then 'end'.
 */
export function runEventQuery(pool: PoolCore, cmd: QueryCommand): void {
  let attempt = 0;
  const deadline = pool.deadlineFrom(pool.clock.now());
  const start = () => {
    attempt++;
    pool.checkout(pool.clock.now(), waiterFor(deadline, (err, entry) => {
      if (err) {
        const action = classifyWith(err, 'mysql', pool.opts.classifyError);
        const now = pool.clock.now();
        const wait = pool.connectBackoff(now);
        // The same rule as pool-level calls with a callback; a failed checkout was never sent.
        const decision = decideRetry({
          action,
          sent: false,
          attempt,
          maxAttempts: pool.opts.maxAttempts,
          timeLeft: deadline - now - wait,
          backoff: wait,
          idempotent: undefined,
          sql: cmd.sql ?? '',
        });
        if (decision.retry && action) {
          pool.stats_.retried('not-sent');
          log.retry('query (events) checkout %d failed (%s: %s), retrying', attempt, (err as { code?: unknown }).code, err.message);
          pool.emit('retry', { attempt, error: err, reason: action.reason, kind: 'not-sent', sql: cmd.sql ?? '' });
          pool.clock.setTimeout(start, Math.ceil(wait) + 1);
          return;
        }
        pool.stats_.surfaced();
        cmd.emit('error', annotate(err, { attempts: attempt, retryable: !!action?.retryable, outcomeUnknown: false }));
        return;
      }
      const e = entry!;
      const conn: PoolConnection = e.conn;
      let released = false;
      const finalSql = (): string | undefined => (typeof cmd.sql === 'string' ? cmd.sql : undefined);
      const onDeath = (deathErr: Error) => {
        if (released) return;
        // Our own 'error' listener below is always there, so this never throws; it annotates the error.
        cmd.emit('error', deathErr);
        cmd.emit('end');
      };
      conn.once('error', onDeath);
      // Prepended: the fields must be on the error before the caller's own listener sees it.
      cmd.prependListener('error', (queryErr: Error) => {
        const action = classifyWith(queryErr, e.flavor, pool.opts.classifyError);
        // On the wire when it failed: sent (its outcome unknown unless the error proves otherwise).
        const sent = isOnTheWire(conn, cmd);
        const unknown = !didNotRun(action, sent, finalSql, pool.opts.retryReadsAfterSend);
        annotate(queryErr, { attempts: attempt, retryable: action?.retryable ?? false, outcomeUnknown: unknown });
        pool.stats_.surfaced();
        pool.failures.note(action);
        if (action?.destroy && !released) {
          released = true;
          conn.removeListener('error', onDeath);
          pool.loans.close(e, 'error');
        } else if (mayHaveLeftOpen(queryErr)) {
          // No flags in an ERR packet: closed on release rather than reused (transactions.ts).
          e.inTransaction = true;
        }
      });
      // A pool-level call must not leave a transaction behind (transactions.ts): it fails before its 'end', and
      // the release closes the connection.
      onLastResult(cmd, (rows, fields) => {
        if (!leftOpen(e, rows, fields, cmd.sql)) return;
        e.inTransaction = true;
        cmd.emit('error', transactionLeftOpenError());
      });
      cmd.once('end', () => {
        if (released) return;
        released = true;
        conn.removeListener('error', onDeath);
        pool.releaseConnection(conn);
      });
      connectionQuery.call(conn, cmd);
    }));
  };
  start();
}
