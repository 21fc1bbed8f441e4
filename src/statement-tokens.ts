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

/**
 * Keyword id of an upper-cased word (0 = not a keyword of interest). A switch rather than a table built at load, so
 * that a mutation test can switch each entry on and off without reloading the module.
 */
export function keywordId(word: string): number {
  switch (word) {
    case 'SELECT':
      return K_SELECT;
    case 'WITH':
      return K_WITH;
    case 'RECURSIVE':
      return K_RECURSIVE;
    case 'AS':
      return K_AS;
    case 'VALUES':
      return K_VALUES;
    case 'TABLE':
      return K_TABLE;
    case 'SHOW':
      return K_SHOW;
    case 'EXPLAIN':
    case 'DESCRIBE':
    case 'DESC':
      return K_EXPLAIN;
    case 'ANALYZE':
      return K_ANALYZE;
    case 'FORMAT':
      return K_FORMAT;
    case 'EXTENDED':
    case 'PARTITIONS':
      return K_EXPLAIN_OPTION;
    case 'INSERT':
    case 'REPLACE':
      return K_INSERT;
    case 'DELETE':
      return K_DELETE;
    case 'UPDATE':
      return K_UPDATE;
    case 'SHARE':
      return K_SHARE;
    case 'FOR':
      return K_FOR;
    case 'INTO':
      return K_INTO;
    case 'LOCK':
      return K_LOCK;
    case 'IN':
      return K_IN;
    case 'NEXT':
      return K_NEXT;
    case 'VALUE':
      return K_VALUE;
    case 'CALL':
    case 'EXECUTE':
      return K_CALL;
    case 'DO':
    case 'LOAD':
    case 'CREATE':
    case 'ALTER':
    case 'DROP':
    case 'RENAME':
    case 'TRUNCATE':
      return K_ATOMIC_VERB;
    case 'SET':
      return K_SET;
    case 'STATEMENT':
      return K_STATEMENT;
    case 'LOW_PRIORITY':
    case 'DELAYED':
    case 'HIGH_PRIORITY':
    case 'IGNORE':
      return K_INSERT_OPTION;
    case 'KEY':
    case 'INDEX':
    case 'UNIQUE':
    case 'FULLTEXT':
    case 'SPATIAL':
    case 'REFERENCES':
      return K_NAME_INTRO;
    default:
      return 0;
  }
}

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
