import type { PoolEntry } from './entry.js';

/**
 * Tracks whether a held connection is inside a transaction, from the
 * statements sent on it, so release() can destroy it rather than hand the
 * next caller an open transaction (mysql2 returns it to the pool as it is).
 * Closing the connection makes the server roll the transaction back.
 *
 * Only the first keyword is looked at, so this is cheap: one character test
 * for most statements. Not seen: a transaction opened by a later statement of
 * a multi-statement string (`SELECT 1; BEGIN`), or inside a stored procedure.
 */
const BEGIN = /^(?:BEGIN|START\s+TRANSACTION|XA\s+(?:START|BEGIN))\b/i;
const END = /^(?:(?:COMMIT|ROLLBACK)\b(?!\s+(?:WORK\s+)?TO\b)(?!.*\bAND\s+CHAIN\b)|XA\s+(?:COMMIT|ROLLBACK)\b)/is;
/** `autocommit` anywhere in a SET list: `SET sql_mode='', autocommit=0`. */
const AUTOCOMMIT = /^SET\b.*?(?:@@(?:SESSION\.|LOCAL\.)?|\b)autocommit\s*:?=\s*(0|OFF|FALSE|1|ON|TRUE)\b/is;
/** Leading blanks and comments (`-- …`, `# …`, `/* … *\/`, not executable `/*! … *\/`). */
const LEADING = /^(?:\s+|--[^\n]*(?:\n|$)|#[^\n]*(?:\n|$)|\/\*(?![!+])[\s\S]*?\*\/)+/;

export function noteStatement(entry: PoolEntry, sqlOrOptions: unknown): void {
  const sql =
    typeof sqlOrOptions === 'string'
      ? sqlOrOptions
      : sqlOrOptions && typeof (sqlOrOptions as { sql?: unknown }).sql === 'string'
        ? (sqlOrOptions as { sql: string }).sql
        : undefined;
  if (!sql) return;
  // Fast exit: only statements starting with B, S, C, R or X (after blanks or a comment) matter.
  let text = sql.trimStart();
  let first = text.charCodeAt(0) | 0x20;
  if (first === 0x2f || first === 0x2d || first === 0x23) {
    text = text.replace(LEADING, '');
    first = text.charCodeAt(0) | 0x20;
  }
  if (first !== 0x62 && first !== 0x73 && first !== 0x63 && first !== 0x72 && first !== 0x78) return;
  if (BEGIN.test(text)) entry.inTransaction = true;
  else if (END.test(text)) entry.inTransaction = false;
  else {
    // autocommit=0 makes every statement part of a transaction until it is turned back on.
    const m = AUTOCOMMIT.exec(text);
    if (m) entry.autocommitOff = /^(?:0|OFF|FALSE)$/i.test(m[1]!);
  }
}
