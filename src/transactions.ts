import type { PoolEntry } from './pooled-connection.js';

/**
 * Transaction state: what a connection's last reply or statement says about
 * an open transaction, so that neither a pool-level call nor a released
 * connection leaves one behind for the next caller.
 *
 * Two sources, the server first:
 * - The server's own status flags, in every OK packet (`serverStatus` of
 *   mysql2's ResultSetHeader). They see everything: a `CALL` whose procedure
 *   began a transaction, a multi-statement string, `completion_type`, a
 *   prepared `START TRANSACTION`. A reply made only of result sets carries no
 *   flags mysql2 keeps (it reads them from the final EOF packet and drops
 *   them), but no statement that only returns rows can begin a transaction or
 *   turn autocommit off: stored functions may do neither (errors 1422, 1445),
 *   and a `CALL` or a compound statement (`BEGIN NOT ATOMIC ... END`) always
 *   ends with an OK packet. So for a pool-level call the flags are enough.
 * - The statement text, for held connections (`getConnection()`), noted as it
 *   is sent. Only the first keyword is looked at (one character test for most
 *   statements). A statement that may begin a transaction counts as beginning
 *   one; one counts as ending it only when its whole text is a plain `COMMIT`
 *   or `ROLLBACK` (optional `WORK`, `AND NO CHAIN`, `[NO] RELEASE`): the safe
 *   side is a connection closed on release, never one handed out mid-transaction.
 */

/** OK-packet status bits (MySQL and MariaDB `SERVER_STATUS_*`). */
export const SERVER_STATUS_IN_TRANS = 0x1;
export const SERVER_STATUS_AUTOCOMMIT = 0x2;

/** The fields of a connection record this module reads and writes. */
export type TransactionState = Pick<PoolEntry, 'inTransaction' | 'autocommitOff'>;

/** What a statement's text does to the transaction state, when the text is sure of it. */
export type StatementEffect = 'begin' | 'end' | 'autocommit-off' | 'autocommit-on' | undefined;

/**
 * Blanks and plain comments: `-- ` (dashes then a blank or control character,
 * to the end of the line), `#`, `/* *\/` but not `/*!`, `/*M!`, `/*+`. A
 * comment's body cannot contain its own end, so a match never spans two
 * comments and the text between them.
 */
const GAP = String.raw`(?:\s|--(?:(?!\n)[\s\x00-\x1f][^\n]*)?(?:\n|$)|#[^\n]*(?:\n|$)|/\*(?![!+]|M!)(?:[^*]|\*(?!/))*\*/)`;
/**
 * What may come before the first keyword: a gap, or the opening of an
 * executable comment (`/*!50000 BEGIN *\/` runs BEGIN), whose content is
 * then read as statement text: for a beginning, counting it is the safe side.
 */
const LEADING = new RegExp(String.raw`^(?:${GAP}|/\*M?!\d*)+`);
const BEGIN = new RegExp(String.raw`^(?:BEGIN|START${GAP}+TRANSACTION|XA${GAP}+(?:START|BEGIN))\b`, 'i');
/** A whole plain COMMIT/ROLLBACK that ends the transaction; anything else after it (AND CHAIN, TO SAVEPOINT, a second statement) is not sure. */
const END = new RegExp(
  String.raw`^(?:COMMIT|ROLLBACK)(?:${GAP}+WORK)?(?:${GAP}+AND${GAP}+NO${GAP}+CHAIN)?(?:${GAP}+(?:NO${GAP}+)?RELEASE)?(?:${GAP}|;)*$`,
  'i',
);
const XA_END = new RegExp(String.raw`^XA${GAP}+(?:COMMIT|ROLLBACK)\b`, 'i');
/** After `SET` (its three letters checked by the caller): a whole word, then an assignment to `autocommit`. */
const SET_AUTOCOMMIT = /^.{3}\b.*?\bautocommit\s*:?=/is;
/** Every `autocommit = value` in it (`SET sql_mode='', @@session.autocommit = 0`), with the character after the value. */
const AUTOCOMMIT_VALUES = /\bautocommit\s*:?=\s*([^\s,;]*)\s*(.?)/gis;
const AUTOCOMMIT_ON = /^(?:1|ON|TRUE|'ON'|"ON")$/i;

/** The SQL text of a query argument (a string or mysql2's `{ sql }` options), else undefined. */
function sqlOf(sqlOrOptions: unknown): string | undefined {
  if (typeof sqlOrOptions === 'string') return sqlOrOptions;
  const sql = (sqlOrOptions as { sql?: unknown } | null | undefined)?.sql;
  return typeof sql === 'string' ? sql : undefined;
}

/**
 * What a statement's text says it does to the transaction state. Not sure
 * means: a possible beginning counts as `'begin'`, a possible end as nothing;
 * an `autocommit` value other than a plain 1/ON/TRUE counts as off.
 */
export function statementEffect(sqlOrOptions: unknown): StatementEffect {
  const sql = sqlOf(sqlOrOptions);
  if (!sql) return undefined;
  let text = sql.trimStart();
  let first = text.charCodeAt(0) | 0x20;
  // '/', '-', '#': a leading comment; skipped only then, so most statements cost one character test.
  if (first === 0x2f || first === 0x2d || first === 0x23) {
    text = text.replace(LEADING, '');
    first = text.charCodeAt(0) | 0x20;
  }
  switch (first) {
    case 0x62: // b
      return BEGIN.test(text) ? 'begin' : undefined;
    case 0x63: // c
    case 0x72: // r
      return END.test(text) ? 'end' : undefined;
    case 0x78: // x
      return BEGIN.test(text) ? 'begin' : XA_END.test(text) ? 'end' : undefined;
    case 0x73: {
      // s: START or SET matter; SELECT, SHOW, SAVEPOINT exit on the second or third character.
      const second = text.charCodeAt(1) | 0x20;
      if (second === 0x74) return BEGIN.test(text) ? 'begin' : undefined;
      if (second !== 0x65 || (text.charCodeAt(2) | 0x20) !== 0x74) return undefined;
      if (!SET_AUTOCOMMIT.test(text)) return undefined;
      return autocommitOn(text) ? 'autocommit-on' : 'autocommit-off';
    }
  }
  return undefined;
}

/**
 * On only when every assignment is a plain on value that ends the assignment
 * (`= 1`, `= ON,`): the server applies them in order, and `= 1 - 1`,
 * `= @saved`, `= DEFAULT` or a later `autocommit = 0` are not sure.
 */
function autocommitOn(text: string): boolean {
  // At least one match: SET_AUTOCOMMIT found one.
  for (const m of text.matchAll(AUTOCOMMIT_VALUES)) {
    const ends = m[2] === '' || m[2] === ',' || m[2] === ';';
    if (!ends || !AUTOCOMMIT_ON.test(m[1]!)) return false;
  }
  return true;
}

/**
 * Notes a statement sent on a held connection, so release() can close the
 * connection rather than hand the next caller an open transaction (mysql2
 * returns it to the pool as it is). Returns the effect it applied.
 */
export function noteStatement(entry: TransactionState, sqlOrOptions: unknown): StatementEffect {
  const effect = statementEffect(sqlOrOptions);
  if (effect === 'begin') entry.inTransaction = true;
  else if (effect === 'end') entry.inTransaction = false;
  else if (effect === 'autocommit-off') entry.autocommitOff = true;
  else if (effect === 'autocommit-on') entry.autocommitOff = false;
  return effect;
}

/**
 * The server status after a reply: the flags of its last OK packet, or
 * undefined when it has none (only result sets). mysql2 hands a single OK as
 * a ResultSetHeader object; a CALL or multi-statement string as an array with
 * one entry per result, its `fields` undefined for each OK packet and an array
 * for each result set. A single result set's `fields` are column definitions:
 * its rows are never read (a column may be called `serverStatus`).
 */
export function replyStatus(rows: unknown, fields: unknown): number | undefined {
  if (!Array.isArray(rows)) {
    const s = (rows as { serverStatus?: unknown } | null | undefined)?.serverStatus;
    return typeof s === 'number' ? s : undefined;
  }
  if (!Array.isArray(fields) || fields.length !== rows.length) return undefined;
  for (let i = fields.length - 1; i >= 0; i--) {
    const f: unknown = fields[i];
    if (f === undefined) {
      const s = (rows[i] as { serverStatus?: unknown } | null | undefined)?.serverStatus;
      return typeof s === 'number' ? s : undefined;
    }
    if (!Array.isArray(f)) return undefined;
  }
  return undefined;
}

/** The status flags say: inside a transaction, or autocommit off. */
export function statusOpen(status: number): boolean {
  return (status & SERVER_STATUS_IN_TRANS) !== 0 || (status & SERVER_STATUS_AUTOCOMMIT) === 0;
}

/**
 * After a successful pool-level `query`/`execute`: true when the call left its
 * connection inside a transaction or with autocommit off (the call must then
 * fail and the connection be closed, so nothing it did is acknowledged).
 * Statements after the last OK packet only returned rows, so they changed
 * nothing, except the few that commit implicitly (`ANALYZE TABLE` and its
 * kin): `BEGIN; INSERT ...; ANALYZE TABLE t` counts as open (the safe side).
 * Without flags, the connection's own record decides (false unless its state
 * was already known to be open). Flags that say "autocommit off" without an
 * open transaction fail only a call whose text turned autocommit off (`sql`,
 * the final text), and mark the connection so that release closes it.
 */
export function leftOpen(entry: TransactionState, rows: unknown, fields: unknown, sql?: unknown): boolean {
  const s = replyStatus(rows, fields);
  if (s === undefined) return entry.inTransaction || entry.autocommitOff;
  if ((s & SERVER_STATUS_IN_TRANS) !== 0) return true;
  if ((s & SERVER_STATUS_AUTOCOMMIT) !== 0) return false;
  // Autocommit off with no transaction open: nothing the call did is pending (a
  // write would have opened one), so only a call whose own text turned it off
  // fails. Either way the connection is never reused (release closes a
  // connection with autocommit off): its next statement would open a
  // transaction. This is also what a server that never sets the flags looks
  // like (mysql2's createServer() answers OK with status 0, as test doubles
  // do): there every call succeeds and its connection is closed after it.
  entry.autocommitOff = true;
  return statementEffect(sql) === 'autocommit-off';
}

/**
 * A failed statement's ERR packet carries no status. A real sign in its text
 * (`err.sql`, the final SQL mysql2 sent) that it may have opened a
 * transaction before failing: a `CALL` whose procedure began one, a
 * multi-statement `BEGIN; INSERT <failing>`, `SET autocommit=0; ...`.
 * Matches anywhere, strings included: a false sign only costs a reconnect
 * after an error.
 */
const MAY_OPEN = /\b(?:BEGIN|START|XA|AUTOCOMMIT|COMPLETION_TYPE|CALL|EXECUTE)\b/i;

/** The failed pool-level statement may have left a transaction open: its connection is closed rather than reused. */
export function mayHaveLeftOpen(err: unknown): boolean {
  const sql = (err as { sql?: unknown } | null | undefined)?.sql;
  return typeof sql === 'string' && MAY_OPEN.test(sql);
}

/**
 * A held connection's reply, with a callback (the promise API included):
 * corrects what the text said with what the server says.
 * - With status flags, the flags win: a `CALL` that began a transaction, a
 *   `SELECT 1; BEGIN`, a `COMMIT` under `completion_type=CHAIN` are all seen.
 *   While later commands are already queued (their text was noted when they
 *   were sent), the flags only ever raise the state, never clear it.
 * - An error undoes a text "end": a `COMMIT` or `SET autocommit=1` that failed
 *   ended nothing.
 * Replies made only of rows change nothing (see the module comment).
 */
export function noteReply(
  entry: TransactionState,
  effect: StatementEffect,
  err: unknown,
  rows: unknown,
  fields: unknown,
  laterCommandsQueued: boolean,
): void {
  if (err) {
    if (effect === 'end') entry.inTransaction = true;
    else if (effect === 'autocommit-on') entry.autocommitOff = true;
    return;
  }
  const s = replyStatus(rows, fields);
  if (s === undefined) return;
  const inTrans = (s & SERVER_STATUS_IN_TRANS) !== 0;
  const acOff = (s & SERVER_STATUS_AUTOCOMMIT) === 0;
  if (laterCommandsQueued) {
    entry.inTransaction ||= inTrans;
    entry.autocommitOff ||= acOff;
  } else {
    entry.inTransaction = inTrans;
    entry.autocommitOff = acOff;
  }
}
