/**
 * Conservative classification of the final SQL text sent to the server, for the retry contract.
 *
 * What counts as a plain read (`statementFacts(sql).plainRead`, `isReadOnlyStatement(sql)`): exactly one statement of
 * the forms `SELECT …`, `WITH … SELECT …`, `VALUES …`, `TABLE …`, `(SELECT …)`, `SHOW …`, `DESCRIBE`/`DESC`/`EXPLAIN`
 * of a table or of such a query (including `EXPLAIN ANALYZE SELECT`), and MariaDB `ANALYZE SELECT`, optionally
 * surrounded by whitespace and ordinary comments and followed by one `;`, in which
 * - every function called is a built-in known to have no side effect (the allow-list in statement-functions.ts),
 *   called as `NAME(` with "(" glued to the unqualified, unquoted name. Any other call (a stored or loadable function,
 *   `db.f(`, `` `f`( ``, `f (` or `f/* c *\/(`, an unknown built-in) makes the text "not a read";
 * - there is no `INTO` (variables, OUTFILE, DUMPFILE), no locking clause (`FOR UPDATE`, `FOR SHARE`,
 *   `LOCK IN SHARE MODE`), no user-variable assignment `:=`, no sequence step (`NEXTVAL(s)`, `SETVAL(…)`,
 *   `NEXT VALUE FOR s`, Oracle-mode `s.NEXTVAL`), no `LAST_INSERT_ID(expr)`, no `CALL`/`EXECUTE`;
 * - and the text lexes the same way in every server reading the classifier cannot rule out.
 *
 * "Not sure" is always "no". The lexer follows the MySQL 8.4 and MariaDB 10.11 lexers (sql/sql_lex.cc) and refuses
 * everything they could read differently from it: executable comments `/*! … *\/`, `/*M! … *\/` anywhere; any
 * non-ASCII character outside string literals and quoted identifiers (the connection charset decides whether e.g.
 * U+00A0 is whitespace, and a pool-level `SET NAMES` can change it behind mysql2's back); inside a literal, a
 * non-ASCII character directly followed by a quote, backtick or backslash (under a mismatched multi-byte charset its
 * last byte can swallow that delimiter); a NUL anywhere; `$` in an unquoted name; a number glued to a word (the server
 * reads `1e0INTO` as `1e0` `INTO`); unterminated quotes and comments. Backslashes inside literals are read three
 * ways (default, ANSI_QUOTES, NO_BACKSLASH_ESCAPES) and every reading must agree, unless the server would reject that
 * reading's first statement unparsed (an unterminated literal before any `;`), which runs nothing.
 *
 * `singleAtomic`: exactly one statement, lexed with the same certainty and calling no function outside the
 * allow-list, of a kind that is refused as a whole before it changes anything: the read forms above (locking and INTO
 * allowed), `INSERT`, `REPLACE`, `UPDATE`, `DELETE`, `LOAD`, `DO`, `SET` (not `SET STATEMENT … FOR`), and DDL
 * (`CREATE`, `ALTER`, `DROP`, `RENAME`, `TRUNCATE`). Never a `CALL`, `EXECUTE` / `EXECUTE IMMEDIATE`, compound
 * statement (`BEGIN NOT ATOMIC … END`, `IF`, labels), transaction statement, or multi-statement text.
 *
 * Residual cases the text cannot show (documented in docs/retry-contract.md): a view whose definition calls a
 * side-effecting function, and a trigger. A SELECT from such a view reads as a plain read; an INSERT into a table
 * whose trigger writes elsewhere is still refused as a whole by read_only, but a trigger that writes to a
 * non-transactional table before a later engine-level refusal (innodb_read_only, 1836) could leave that write behind.
 * The pool option `retryReadsAfterSend: false` (no retry after send on the strength of the text) is the switch for
 * applications with such views or triggers.
 *
 * Runs in time linear in the length of the text (three passes, one per reading of backslashes), builds no token array and caches nothing.
 * Called only when a retry is being decided, never on the hot path.
 *
 * Files: statement-tokens.ts (token kinds, keywords, character classes), statement-lexer.ts (quotes, comments,
 * numbers, names), statement-rules.ts (the statement-wide rules on every token), statement-shape.ts (the statement
 * forms), statement-functions.ts (the function allow-list); this file combines the readings into the answer.
 */

import { Lexer } from './statement-rules.js';
import { OTHER, READ, statementKind } from './statement-shape.js';
import { END } from './statement-tokens.js';

/** The facts one reading of the text supports. */
interface PassResult {
  readonly plainRead: boolean;
  readonly singleAtomic: boolean;
}

// The only three answers there are; frozen, so no caller can change them for the next.
const NEITHER: PassResult = Object.freeze({ plainRead: false, singleAtomic: false });
const ATOMIC_ONLY: PassResult = Object.freeze({ plainRead: false, singleAtomic: true });
const BOTH: PassResult = Object.freeze({ plainRead: true, singleAtomic: true });

/** One pass over the text under one reading of backslashes. */
function analyse(lx: Lexer): PassResult {
  lx.next();
  const kind = statementKind(lx); // OTHER for an empty text
  // The rest of the text still has to pass the statement-wide rules. A lenient pass reads on even when this reading
  // is no statement we accept, in case the server would reject this reading unparsed.
  while (lx.next() !== END) {
    // drain
  }
  if (lx.rejected) return BOTH;
  if (kind === OTHER || lx.unsafe) return NEITHER;
  return kind === READ && !lx.notRead ? BOTH : ATOMIC_ONLY;
}

/** What the retry contract needs to know about a statement's text (see {@link statementFacts}). */
export interface StatementFacts {
  /**
   * Certainly one plain read with no side effect: safe to send again when the connection died after it was sent.
   * Implies `singleAtomic`.
   */
  readonly plainRead: boolean;
  /**
   * Certainly one statement that cannot have changed anything before the server refused it: not a `CALL`, not
   * `EXECUTE`, not a compound `BEGIN … END`, not several statements, no call of a function outside the allow-list of
   * side-effect-free built-ins, nothing the lexer is unsure of. Only for such a statement does an error like
   * read-only (1290/1792/1836) or Galera's 1047 prove that nothing ran.
   */
  readonly singleAtomic: boolean;
}

/**
 * The facts the retry rules read, from the final text sent to the server (after placeholders, `raw()` and any
 * `queryFormat`). Conservative: every "not sure" is `false`. See the top of this file for exactly what is accepted.
 * Called only when a retry is being decided, never on the hot path.
 */
export function statementFacts(sql: string): StatementFacts {
  if (typeof sql !== 'string' || sql.includes('\0')) return NEITHER; // NUL ends the server's # and -- comments
  // Every reading of backslashes the server may be using must agree. Until the first backslash inside a literal they
  // lex the same tokens; the two lenient readings answer "runs nothing" (BOTH) where the server would reject them.
  const server = analyse(new Lexer(sql, true, true, false)); // the server default: backslash escapes, "…" a string
  const ansi = analyse(new Lexer(sql, true, false, true)); // ANSI_QUOTES: "…" is an identifier, without escapes
  const nbe = analyse(new Lexer(sql, false, false, true)); // NO_BACKSLASH_ESCAPES (with or without ANSI_QUOTES)
  if (!server.singleAtomic || !ansi.singleAtomic || !nbe.singleAtomic) return NEITHER;
  return server.plainRead && ansi.plainRead && nbe.plainRead ? BOTH : ATOMIC_ONLY;
}

/**
 * Returns `true` only when `sql` is certainly a single plain read, so that re-sending it after the connection died
 * with the outcome unknown cannot change data or server state. Same as `statementFacts(sql).plainRead`; see the top
 * of this file for exactly what is accepted. A `false` answer is always safe: it only means the statement is not
 * retried after it was sent.
 */
export function isReadOnlyStatement(sql: string): boolean {
  return statementFacts(sql).plainRead;
}
