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
  K_FOR,
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
  PUNCT,
  QUOTED,
  RPAREN,
  SEMICOLON,
  STRING,
  WORD,
} from './statement-tokens.js';

/** Consumes a balanced (…) group; the current token is its '('. Leaves the current token on the matching ')'. */
function skipParenthesised(lx: Lexer): boolean {
  let depth = 1;
  for (;;) {
    const kind = lx.next();
    if (kind === END) return false;
    if (kind === PUNCT) {
      if (lx.ch === LPAREN) depth++;
      else if (lx.ch === RPAREN && --depth === 0) return true;
    }
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
      if (!skipParenthesised(lx)) return false;
      lx.next();
    }
    if (!lx.isWord(K_AS)) return false;
    lx.next();
    if (!lx.isPunct(LPAREN) || !skipParenthesised(lx)) return false;
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

/** Skips "FORMAT [=] name" when the current token is FORMAT. */
function skipFormat(lx: Lexer): boolean {
  if (!lx.isWord(K_FORMAT)) return true;
  lx.next();
  if (lx.isPunct(61 /* = */)) lx.next();
  if (lx.kind === END) return false;
  lx.next();
  return true;
}

const QUERY_STARTS: readonly number[] = [K_SELECT, K_WITH, K_VALUES, K_TABLE];

/** {EXPLAIN | DESCRIBE | DESC} …; the current token is the keyword. READ, or ATOMIC for any other EXPLAIN. */
function explainKind(lx: Lexer): number {
  lx.next();
  let modifiers = false;
  for (;;) {
    if (lx.isWord(K_FORMAT)) {
      if (!skipFormat(lx)) return ATOMIC;
    } else if (lx.isWord(K_ANALYZE) || lx.isWord(K_EXPLAIN_OPTION)) {
      lx.next(); // EXPLAIN ANALYZE executes the statement: fine, as long as it is a query
    } else {
      break;
    }
    modifiers = true;
  }
  if (lx.isPunct(LPAREN) || (lx.kind === WORD && QUERY_STARTS.includes(lx.kw))) {
    return queryKind(lx) === READ ? READ : ATOMIC;
  }
  // Otherwise only the DESCRIBE form: tbl_name [col_name | 'wild'].
  if (modifiers) return ATOMIC;
  if (lx.kind === WORD) {
    const kw = lx.kw;
    if (kw === K_INSERT || kw === K_DELETE || kw === K_UPDATE || kw === K_FOR) return ATOMIC; // EXPLAIN UPDATE, FOR CONNECTION
  } else if (lx.kind !== QUOTED) {
    return ATOMIC;
  }
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
  if (lx.kind !== WORD) return queryKind(lx);
  switch (lx.kw) {
    case K_SHOW:
      return READ;
    case K_EXPLAIN:
      return explainKind(lx);
    case K_ANALYZE: {
      // MariaDB ANALYZE [FORMAT=JSON] SELECT … runs the query; ANALYZE TABLE writes statistics.
      lx.next();
      if (!skipFormat(lx)) return ATOMIC;
      if (lx.isWord(K_TABLE)) return ATOMIC;
      return queryKind(lx) === READ ? READ : ATOMIC;
    }
    case K_ATOMIC_VERB:
      return ATOMIC;
    case K_SET:
      lx.next();
      return lx.isWord(K_STATEMENT) ? OTHER : ATOMIC; // SET STATEMENT … FOR <any statement>
    default:
      return queryKind(lx);
  }
}
