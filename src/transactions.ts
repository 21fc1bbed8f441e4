import type { PoolEntry } from './entry.js';

/**
 * Tracks whether a held connection is inside a transaction, from the
 * statements sent on it, so release() can destroy it rather than hand the
 * next caller an open transaction (mysql2 returns it to the pool as it is).
 * Closing the connection makes the server roll the transaction back.
 *
 * Only the first keyword is looked at, so this is cheap: one character test
 * for most statements.
 */
const BEGIN = /^\s*(?:BEGIN|START\s+TRANSACTION|XA\s+(?:START|BEGIN))\b/i;
const END = /^\s*(?:COMMIT|ROLLBACK)\b(?!\s+(?:WORK\s+)?TO\b)(?!.*\bAND\s+CHAIN\b)/is;
const AUTOCOMMIT = /^\s*SET\s+(?:SESSION\s+|LOCAL\s+|@@(?:SESSION\.|LOCAL\.)?)?autocommit\s*(?:=|:=)\s*(0|OFF|FALSE|1|ON|TRUE)\b/i;

export function noteStatement(entry: PoolEntry, sqlOrOptions: unknown): void {
  const sql =
    typeof sqlOrOptions === 'string'
      ? sqlOrOptions
      : sqlOrOptions && typeof (sqlOrOptions as { sql?: unknown }).sql === 'string'
        ? (sqlOrOptions as { sql: string }).sql
        : undefined;
  if (!sql) return;
  // Fast exit: only statements starting with B, S, C, R or X (after blanks) matter.
  const first = sql.trimStart().charCodeAt(0) | 0x20;
  if (first !== 0x62 && first !== 0x73 && first !== 0x63 && first !== 0x72 && first !== 0x78) return;
  if (BEGIN.test(sql)) entry.inTransaction = true;
  else if (END.test(sql)) entry.inTransaction = false;
  else {
    // autocommit=0 makes every statement part of a transaction until it is turned back on.
    const m = AUTOCOMMIT.exec(sql);
    if (m) entry.autocommitOff = /^(?:0|OFF|FALSE)$/i.test(m[1]!);
  }
}
