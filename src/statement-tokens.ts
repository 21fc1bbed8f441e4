/**
 * Tokens of the SQL classifier (statement.ts): token kinds, the keywords the statement rules look at, character codes
 * and the character classes of the MySQL and MariaDB lexers (sql/sql_lex.cc). Data and small pure functions only.
 */

// Token kinds.
export const END = 0;
export const WORD = 1; // unquoted identifier or keyword (including identifiers that start with a digit, like 1abc)
export const QUOTED = 2; // `identifier` or "string-or-identifier" (ANSI_QUOTES): treated as a possible name
export const STRING = 3; // 'string'
export const NUMBER = 4;
export const PUNCT = 5; // any other character; ':=' is one token (ASSIGN)

// Keyword ids (0 = not a keyword of interest).
export const K_SELECT = 1;
export const K_WITH = 2;
export const K_RECURSIVE = 3;
export const K_AS = 4;
export const K_VALUES = 5;
export const K_TABLE = 6;
export const K_SHOW = 7;
export const K_EXPLAIN = 8; // EXPLAIN, DESCRIBE, DESC
export const K_ANALYZE = 9;
export const K_FORMAT = 10;
export const K_EXPLAIN_OPTION = 11; // EXTENDED, PARTITIONS (MariaDB / old MySQL EXPLAIN modifiers)
export const K_INSERT = 12; // INSERT, REPLACE
export const K_DELETE = 13;
export const K_UPDATE = 14;
export const K_SHARE = 15;
export const K_FOR = 16;
export const K_INTO = 17;
export const K_LOCK = 18;
export const K_IN = 19;
export const K_NEXT = 20;
export const K_VALUE = 21;
export const K_CALL = 22; // CALL, EXECUTE: run statements the text does not show
export const K_ATOMIC_VERB = 23; // DO, LOAD and DDL verbs: one statement refused as a whole
export const K_SET = 24;
export const K_STATEMENT = 25;
export const K_INSERT_OPTION = 26; // LOW_PRIORITY, DELAYED, HIGH_PRIORITY, IGNORE
export const K_NAME_INTRO = 27; // KEY, INDEX, UNIQUE, FULLTEXT, SPATIAL, REFERENCES: a name and its column list follow

export const KEYWORDS = new Map<string, number>([
  ['SELECT', K_SELECT],
  ['WITH', K_WITH],
  ['RECURSIVE', K_RECURSIVE],
  ['AS', K_AS],
  ['VALUES', K_VALUES],
  ['TABLE', K_TABLE],
  ['SHOW', K_SHOW],
  ['EXPLAIN', K_EXPLAIN],
  ['DESCRIBE', K_EXPLAIN],
  ['DESC', K_EXPLAIN],
  ['ANALYZE', K_ANALYZE],
  ['FORMAT', K_FORMAT],
  ['EXTENDED', K_EXPLAIN_OPTION],
  ['PARTITIONS', K_EXPLAIN_OPTION],
  ['INSERT', K_INSERT],
  ['REPLACE', K_INSERT],
  ['DELETE', K_DELETE],
  ['UPDATE', K_UPDATE],
  ['SHARE', K_SHARE],
  ['FOR', K_FOR],
  ['INTO', K_INTO],
  ['LOCK', K_LOCK],
  ['IN', K_IN],
  ['NEXT', K_NEXT],
  ['VALUE', K_VALUE],
  ['CALL', K_CALL],
  ['EXECUTE', K_CALL],
  ['DO', K_ATOMIC_VERB],
  ['LOAD', K_ATOMIC_VERB],
  ['CREATE', K_ATOMIC_VERB],
  ['ALTER', K_ATOMIC_VERB],
  ['DROP', K_ATOMIC_VERB],
  ['RENAME', K_ATOMIC_VERB],
  ['TRUNCATE', K_ATOMIC_VERB],
  ['SET', K_SET],
  ['STATEMENT', K_STATEMENT],
  ['LOW_PRIORITY', K_INSERT_OPTION],
  ['DELAYED', K_INSERT_OPTION],
  ['HIGH_PRIORITY', K_INSERT_OPTION],
  ['IGNORE', K_INSERT_OPTION],
  ['KEY', K_NAME_INTRO],
  ['INDEX', K_NAME_INTRO],
  ['UNIQUE', K_NAME_INTRO],
  ['FULLTEXT', K_NAME_INTRO],
  ['SPATIAL', K_NAME_INTRO],
  ['REFERENCES', K_NAME_INTRO],
]);

export const BACKSLASH = 92;
export const SINGLE_QUOTE = 39;
export const DOUBLE_QUOTE = 34;
export const BACKTICK = 96;
export const LPAREN = 40;
export const RPAREN = 41;
export const COMMA = 44;
export const DOT = 46;
export const SEMICOLON = 59;
export const ASSIGN = 0x3a3d; // ':=' as one token

export function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

export function isHexDigit(c: number): boolean {
  return isDigit(c) || (c >= 97 && c <= 102) || (c >= 65 && c <= 70);
}

/** A character the server may read as part of an unquoted identifier (ident_map), in any charset. */
export function isIdentChar(c: number): boolean {
  return (
    (c >= 97 && c <= 122) || // a-z
    (c >= 65 && c <= 90) || // A-Z
    isDigit(c) ||
    c === 95 || // _
    c === 36 || // $
    c >= 128
  );
}

export function isDashDashTerminator(c: number): boolean {
  // MySQL and MariaDB: "--" starts a comment only before whitespace or a control character (my_isspace ||
  // my_iscntrl); "1--1" is arithmetic. The end of the text counts (the server sees its terminating NUL).
  return c <= 32 || c === 127;
}

/** The index just past the end of the line that contains `from` (a `#` or `-- ` comment). */
export function lineEnd(sql: string, from: number): number {
  const eol = sql.indexOf('\n', from);
  return eol === -1 ? sql.length : eol + 1;
}
