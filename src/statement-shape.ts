/**
 * The statement shapes the SQL classifier (statement.ts) accepts, read from the first tokens: the read forms
 * (`SELECT`, `WITH … SELECT`, `VALUES`, `TABLE`, parenthesised queries, `SHOW`, `EXPLAIN`/`DESCRIBE`/`DESC`, MariaDB
 * `ANALYZE SELECT`), the statements refused as a whole (`INSERT`, `REPLACE`, `UPDATE`, `DELETE`, `SET`, `DO`, `LOAD`,
 * DDL) and everything else. Only the start of the statement is read here; the statement-wide rules
 * (statement-rules.ts) see every token.
 */

import type { Lexer } from './statement-rules.js';
import {
  COMMA,
  DOT,
  END,
  K_ANALYZE,
  K_AS,
  K_ATOMIC_VERB,
  K_DELETE,
  K_EXPLAIN,
  K_EXPLAIN_OPTION,
  K_FORMAT,
  K_INSERT,
  K_INSERT_OPTION,
  K_INTO,
  K_RECURSIVE,
  K_SELECT,
  K_SET,
  K_SHOW,
  K_STATEMENT,
  K_TABLE,
  K_UPDATE,
  K_VALUES,
  K_WITH,
  LPAREN,
  QUOTED,
  RPAREN,
  SEMICOLON,
  STRING,
  WORD,
} from './statement-tokens.js';

/**
 * Consumes a balanced (…) group; the current token is its '('. Leaves the current token on the matching ')', or at
 * END when there is none (every caller then finds no statement it accepts).
 */
function skipParenthesised(lx: Lexer): void {
  let depth = 1;
  while (depth > 0 && lx.next() !== END) {
    if (lx.isPunct(LPAREN)) depth++;
    else if (lx.isPunct(RPAREN)) depth--;
  }
}

/** Statement kinds. */
export const OTHER = 0;
export const ATOMIC = 1; // one statement refused as a whole, but not a read
export const READ = 2; // a read form (still subject to notRead)

/**
 * A query expression starting at the current token: any number of '(' then SELECT, VALUES, TABLE, or a WITH clause
 * followed by one of those (READ), or by UPDATE/DELETE/INSERT/REPLACE (ATOMIC). Iterative, so hostile nesting cannot
 * exhaust the stack.
 */
function queryKind(lx: Lexer): number {
  for (;;) {
    while (lx.isPunct(LPAREN)) lx.next();
    if (lx.kind !== WORD) return OTHER;
    if (lx.kw === K_SELECT || lx.kw === K_VALUES || lx.kw === K_TABLE) return READ;
    if (lx.kw === K_UPDATE || lx.kw === K_DELETE) return ATOMIC;
    if (lx.kw === K_INSERT) return insertKind(lx);
    if (lx.kw !== K_WITH || !skipWithList(lx)) return OTHER;
    // The current token is now the statement the CTEs belong to.
  }
}

/** WITH [RECURSIVE] name [(columns)] AS (…) [, …]; leaves the current token on whatever follows the list. */
function skipWithList(lx: Lexer): boolean {
  lx.next();
  if (lx.isWord(K_RECURSIVE)) lx.next();
  for (;;) {
    if (lx.kind !== WORD && lx.kind !== QUOTED) return false;
    lx.next();
    if (lx.isPunct(LPAREN)) {
      skipParenthesised(lx);
      lx.next();
    }
    if (!lx.isWord(K_AS)) return false;
    lx.next();
    if (!lx.isPunct(LPAREN)) return false;
    skipParenthesised(lx);
    lx.next();
    if (!lx.isPunct(COMMA)) return true;
    lx.next();
  }
}

/**
 * INSERT/REPLACE [LOW_PRIORITY | DELAYED | HIGH_PRIORITY] [IGNORE] [INTO] tbl_name: marks the "(" after the table
 * name as a column list. The current token is INSERT or REPLACE.
 */
function insertKind(lx: Lexer): number {
  lx.next();
  while (lx.isWord(K_INSERT_OPTION)) lx.next();
  if (lx.isWord(K_INTO)) lx.next();
  while (lx.kind === WORD || lx.kind === QUOTED) {
    lx.columnListNext = true;
    lx.next();
    if (!lx.isPunct(DOT)) break;
    lx.next();
  }
  return ATOMIC;
}

/** Skips "FORMAT [=] name" when the current token is FORMAT (at the end of the text, it stays there). */
function skipFormat(lx: Lexer): void {
  if (!lx.isWord(K_FORMAT)) return;
  lx.next();
  if (lx.isPunct(61 /* = */)) lx.next();
  lx.next();
}

const QUERY_STARTS: readonly number[] = [K_SELECT, K_WITH, K_VALUES, K_TABLE];

/** {EXPLAIN | DESCRIBE | DESC} …; the current token is the keyword. READ, or ATOMIC for any other EXPLAIN. */
function explainKind(lx: Lexer): number {
  lx.next();
  let modifiers = false;
  for (;;) {
    if (lx.isWord(K_FORMAT)) {
      skipFormat(lx);
    } else if (lx.isWord(K_ANALYZE) || lx.isWord(K_EXPLAIN_OPTION)) {
      lx.next(); // EXPLAIN ANALYZE executes the statement: fine, as long as it is a query
    } else {
      break;
    }
    modifiers = true;
  }
  // (kw is 0 for every token but a word, and for END a keyword there leads queryKind to OTHER all the same.)
  if (lx.isPunct(LPAREN) || QUERY_STARTS.includes(lx.kw)) {
    return queryKind(lx) === READ ? READ : ATOMIC;
  }
  // Otherwise only the DESCRIBE form: tbl_name [col_name | 'wild']. Every valid EXPLAIN of an INSERT, REPLACE, UPDATE
  // or DELETE, and EXPLAIN FOR CONNECTION n, has more tokens than that form allows.
  if (modifiers) return ATOMIC;
  if (lx.kind !== WORD && lx.kind !== QUOTED) return ATOMIC;
  let kind = lx.next();
  if (lx.isPunct(DOT)) {
    kind = lx.next();
    if (kind !== WORD && kind !== QUOTED) return ATOMIC;
    kind = lx.next();
  }
  if (kind === WORD || kind === QUOTED || kind === STRING) kind = lx.next();
  return kind === END || lx.isPunct(SEMICOLON) ? READ : ATOMIC;
}

/** The kind of statement that starts at the first token. */
export function statementKind(lx: Lexer): number {
  switch (lx.kw) {
    // (kw is 0 for a first token that is not a word: the default.)
    case K_SHOW:
      return READ;
    case K_EXPLAIN:
      return explainKind(lx);
    case K_ANALYZE: {
      // MariaDB ANALYZE [FORMAT=JSON] SELECT … runs the query; ANALYZE TABLE writes statistics.
      lx.next();
      skipFormat(lx);
      if (lx.isWord(K_TABLE)) return ATOMIC;
      return queryKind(lx) === READ ? READ : ATOMIC;
    }
    case K_SET:
      lx.next();
      return lx.isWord(K_STATEMENT) ? OTHER : ATOMIC; // SET STATEMENT … FOR <any statement>
    case K_ATOMIC_VERB:
      return ATOMIC;
    default:
      return queryKind(lx);
  }
}
