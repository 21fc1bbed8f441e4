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
 * Runs in time linear in the length of the text (at most four passes), builds no token array and caches nothing.
 * Called only when a retry is being decided, never on the hot path.
 */

import { NON_CALL_KEYWORDS, SIDE_EFFECT_FREE_FUNCTIONS } from './statement-functions.js';

// Token kinds.
const END = 0;
const WORD = 1; // unquoted identifier or keyword (including identifiers that start with a digit, like 1abc)
const QUOTED = 2; // `identifier` or "string-or-identifier" (ANSI_QUOTES): treated as a possible name
const STRING = 3; // 'string'
const NUMBER = 4;
const PUNCT = 5; // any other character; ':=' is one token (ASSIGN)

// Keyword ids (0 = not a keyword of interest).
const K_SELECT = 1;
const K_WITH = 2;
const K_RECURSIVE = 3;
const K_AS = 4;
const K_VALUES = 5;
const K_TABLE = 6;
const K_SHOW = 7;
const K_EXPLAIN = 8; // EXPLAIN, DESCRIBE, DESC
const K_ANALYZE = 9;
const K_FORMAT = 10;
const K_EXPLAIN_OPTION = 11; // EXTENDED, PARTITIONS (MariaDB / old MySQL EXPLAIN modifiers)
const K_INSERT = 12; // INSERT, REPLACE
const K_DELETE = 13;
const K_UPDATE = 14;
const K_SHARE = 15;
const K_FOR = 16;
const K_INTO = 17;
const K_LOCK = 18;
const K_IN = 19;
const K_NEXT = 20;
const K_VALUE = 21;
const K_CALL = 22; // CALL, EXECUTE: run statements the text does not show
const K_ATOMIC_VERB = 23; // DO, LOAD and DDL verbs: one statement refused as a whole
const K_SET = 24;
const K_STATEMENT = 25;
const K_INSERT_OPTION = 26; // LOW_PRIORITY, DELAYED, HIGH_PRIORITY, IGNORE
const K_NAME_INTRO = 27; // KEY, INDEX, UNIQUE, FULLTEXT, SPATIAL, REFERENCES: a name and its column list follow

const KEYWORDS = new Map<string, number>([
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

const BACKSLASH = 92;
const SINGLE_QUOTE = 39;
const DOUBLE_QUOTE = 34;
const BACKTICK = 96;
const LPAREN = 40;
const RPAREN = 41;
const COMMA = 44;
const DOT = 46;
const SEMICOLON = 59;
const ASSIGN = 0x3a3d; // ':=' as one token

// States of the WITH-list tracker (a CTE's column list "name (a, b)" is not a function call).
const W_NONE = 0;
const W_NAME = 1; // after WITH or ",": a CTE name (or RECURSIVE) comes next
const W_AFTER_NAME = 2; // "(" opens a column list, AS the body
const W_COLUMNS = 3; // inside the column list
const W_AFTER_COLUMNS = 4; // AS comes next
const W_AS = 5; // "(" opens the body
const W_BODY = 6; // inside the body
const W_AFTER_BODY = 7; // "," starts the next CTE

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

function isHexDigit(c: number): boolean {
  return isDigit(c) || (c >= 97 && c <= 102) || (c >= 65 && c <= 70);
}

/** A character the server may read as part of an unquoted identifier (ident_map), in any charset. */
function isIdentChar(c: number): boolean {
  return (
    (c >= 97 && c <= 122) || // a-z
    (c >= 65 && c <= 90) || // A-Z
    isDigit(c) ||
    c === 95 || // _
    c === 36 || // $
    c >= 128
  );
}

function isDashDashTerminator(c: number): boolean {
  // MySQL and MariaDB: "--" starts a comment only before whitespace or a control character (my_isspace ||
  // my_iscntrl); "1--1" is arithmetic. The end of the text counts (the server sees its terminating NUL).
  return c <= 32 || c === 127;
}

/** The facts one reading of the text supports. */
interface PassResult {
  readonly plainRead: boolean;
  readonly singleAtomic: boolean;
}

// The only three answers there are; frozen, so no caller can change them for the next.
const NEITHER: PassResult = Object.freeze({ plainRead: false, singleAtomic: false });
const ATOMIC_ONLY: PassResult = Object.freeze({ plainRead: false, singleAtomic: true });
const BOTH: PassResult = Object.freeze({ plainRead: true, singleAtomic: true });

/**
 * One tokenising pass over `sql` under one assumption about how the server lexes backslashes in quoted text
 * (escapes unless sql_mode has NO_BACKSLASH_ESCAPES; "…" is an identifier, without escapes, under ANSI_QUOTES).
 * Every token returned by `next()` has already been checked against the statement-wide rules (`check()`).
 */
class Lexer {
  /** Kind of the current token (END once the text is exhausted or the pass gave up). */
  kind = END;
  /** Keyword id of the current WORD token. */
  kw = 0;
  /** Character code of the current PUNCT token. */
  ch = 0;
  /** Text span of the current token (for QUOTED: without the quotes). */
  private start = 0;
  private end = 0;
  /** The current token starts right where the previous one ended (no whitespace or comment in between). */
  private glued!: boolean;

  /** Something makes the text neither a plain read nor singleAtomic (unsure lexing, a call, a second statement). */
  unsafe = false;
  /** Something makes the text not a plain read, though it may still be singleAtomic (INTO, FOR UPDATE, :=). */
  notRead = false;
  /**
   * A lenient pass hit an unterminated string, identifier or comment before any ';': under this pass's sql_mode the
   * server rejects the whole text with a syntax error, so nothing would run.
   */
  rejected = false;
  /**
   * A backslash occurred inside a '…' or "…" token: other sql_modes might lex the rest of the text differently.
   * Left unset (falsy) until one is seen.
   */
  sawSingleQuoteBackslash!: boolean;
  sawDoubleQuoteBackslash!: boolean;

  private pos = 0;
  private prevKind = END;
  private prevKw = 0;
  private prevCh = 0;
  private prevStart = 0;
  private prevEnd = 0;
  /** The previous token was a name after a "." (db.f, s.nextval). */
  private prevQualified!: boolean;
  /** Kind and keyword of the token before the name chain the previous token ends (INTO db.t → INTO). */
  private prevIntroKind = END;
  private prevIntroKw = 0;
  private prevIntroCh = 0;
  /** Same, for the current token once it is a name. */
  private qualified!: boolean;
  private introKind = END;
  private introKw = 0;
  private introCh = 0;

  private depth = 0;
  private afterSemicolon = false;
  private awaitingLastInsertIdArgument = false;
  /**
   * "name (" was seen and is a call unless the next token starts a subquery: a function argument cannot be a bare
   * query (f(SELECT 1) is a syntax error; it takes f((SELECT 1))), so LATERAL (SELECT …) and ANY (SELECT …) are not
   * calls whatever the server thinks of those words.
   */
  private pendingCall = false;
  /** Set by the statement parser: the next "(" opens a column list, not an argument list (unset: no). */
  columnListNext!: boolean;
  private withState = W_NONE;
  private withDepth = 0;

  constructor(
    private readonly sql: string,
    private readonly singleQuoteEscapes: boolean,
    private readonly doubleQuoteEscapes: boolean,
    readonly lenient: boolean,
  ) {}

  isPunct(c: number): boolean {
    return this.kind === PUNCT && this.ch === c;
  }

  isWord(kw: number): boolean {
    return this.kind === WORD && this.kw === kw;
  }

  /** Advances to the next token, checks it, and returns its kind. */
  next(): number {
    this.prevKind = this.kind;
    this.prevKw = this.kw;
    this.prevCh = this.ch;
    this.prevStart = this.start;
    this.prevEnd = this.end;
    this.prevQualified = this.qualified;
    this.prevIntroKind = this.introKind;
    this.prevIntroKw = this.introKw;
    this.prevIntroCh = this.introCh;
    this.lex();
    // After a violation or an unterminated literal the stream stays at END (a caller may ask again).
    if (this.unsafe || this.rejected) return (this.kind = END);
    if (this.kind !== END) this.check();
    return this.kind;
  }

  private prevIsName(): boolean {
    return this.prevKind === WORD || this.prevKind === QUOTED;
  }

  private prevIsWord(kw: number): boolean {
    return this.prevKind === WORD && this.prevKw === kw;
  }

  /** Statement-wide rules, applied to every token in order. */
  private check(): void {
    if (this.afterSemicolon) return this.fail(); // a second statement
    const kind = this.kind;
    if (this.pendingCall) {
      this.pendingCall = false;
      // Only SELECT and WITH: f(VALUES(c)) in ON DUPLICATE KEY UPDATE is a call with the argument VALUES(c).
      const subquery = kind === WORD && (this.kw === K_SELECT || this.kw === K_WITH);
      if (!subquery) return this.fail(); // a call of a function outside the allow-list
    }
    if (this.awaitingLastInsertIdArgument) {
      this.awaitingLastInsertIdArgument = false;
      if (!this.isPunct(RPAREN)) return this.fail(); // LAST_INSERT_ID(expr) sets the session value
    }
    const columnList = this.trackWith() || this.columnListNext;
    this.columnListNext = false;

    // Name chains: "a . b . c". A token directly after "." is qualified and keeps the chain's introducer (only a
    // name's chain is ever looked at).
    if (this.prevKind === PUNCT && this.prevCh === DOT) {
      this.qualified = true;
      this.introKind = this.prevIntroKind;
      this.introKw = this.prevIntroKw;
      this.introCh = this.prevIntroCh;
      // sql_mode=ORACLE reads s.NEXTVAL (also `s`.`nextval`, "s"."NEXTVAL") as a sequence step.
      if (this.sql.slice(this.start, this.end).toUpperCase() === 'NEXTVAL') return this.fail();
    } else {
      this.qualified = false;
      this.introKind = this.prevKind;
      this.introKw = this.prevKw;
      this.introCh = this.prevCh;
    }

    if (kind === WORD) {
      switch (this.kw) {
        case K_INTO: // SELECT … INTO @var / OUTFILE / DUMPFILE
          this.notRead = true;
          return;
        case K_UPDATE:
        case K_SHARE: // FOR UPDATE, FOR SHARE
          if (this.prevIsWord(K_FOR)) this.notRead = true;
          return;
        case K_IN: // LOCK IN SHARE MODE
          if (this.prevIsWord(K_LOCK)) this.notRead = true;
          return;
        case K_VALUE: // NEXT VALUE FOR seq
          if (this.prevIsWord(K_NEXT)) this.fail();
          return;
        case K_CALL:
          return this.fail();
      }
      return;
    }
    if (kind !== PUNCT) return;
    switch (this.ch) {
      case LPAREN:
        this.depth++;
        if (this.prevIsName() && !columnList) this.checkCall();
        return;
      case RPAREN:
        this.depth--;
        return;
      case SEMICOLON:
        this.afterSemicolon = true;
        return;
      case ASSIGN: // @a := … assigns a user variable
        this.notRead = true;
        return;
    }
  }

  /** The current token is "(" after a name: decides whether that is a call, and whether it is allowed. */
  private checkCall(): void {
    // Positions where "name (" is a column list or a type, never a call: INSERT INTO t (…), CREATE TABLE t (…),
    // KEY idx (…), REFERENCES t (…), AS alias (…) (derived table columns, CAST … AS CHAR(3)), after ")" (MATCH (…)
    // AGAINST (…), COUNT(*) OVER (…), (subquery) alias (…)) and after a string (JSON_TABLE(…, '$' COLUMNS (…))).
    const ik = this.prevIntroKind;
    if (ik === STRING || (ik === PUNCT && this.prevIntroCh === RPAREN)) return;
    const kw = this.prevIntroKw; // 0 unless the introducer is a word
    if (kw === K_INTO || kw === K_TABLE || kw === K_AS || kw === K_NAME_INTRO) return;
    if (this.prevKind === WORD && !this.prevQualified) {
      const name = this.sql.slice(this.prevStart, this.prevEnd).toUpperCase();
      if (NON_CALL_KEYWORDS.has(name)) return;
      if (this.glued && SIDE_EFFECT_FREE_FUNCTIONS.has(name)) {
        if (name === 'LAST_INSERT_ID') this.awaitingLastInsertIdArgument = true;
        return;
      }
    }
    this.pendingCall = true;
  }

  /**
   * Follows "WITH [RECURSIVE] name [(columns)] AS (body) [, …]" at any depth, so that a CTE's column list is not
   * taken for a function call. Returns true when the current token is the "(" of such a column list. A nested WITH
   * replaces the state, after which the outer list's later column lists count as calls: safe, only less precise.
   */
  private trackWith(): boolean {
    const kind = this.kind;
    const lparen = this.isPunct(LPAREN);
    switch (this.withState) {
      case W_NAME:
        if (!this.isWord(K_RECURSIVE)) this.withState = kind === WORD || kind === QUOTED ? W_AFTER_NAME : W_NONE;
        break;
      case W_AFTER_NAME:
        if (lparen) {
          this.withState = W_COLUMNS;
          return true;
        }
        this.withState = this.isWord(K_AS) ? W_AS : W_NONE;
        break;
      case W_COLUMNS:
        if (this.isPunct(RPAREN) && this.depth === this.withDepth + 1) this.withState = W_AFTER_COLUMNS;
        break;
      case W_AFTER_COLUMNS:
        this.withState = this.isWord(K_AS) ? W_AS : W_NONE;
        break;
      case W_AS:
        this.withState = lparen ? W_BODY : W_NONE;
        break;
      case W_BODY:
        if (this.isPunct(RPAREN) && this.depth === this.withDepth + 1) this.withState = W_AFTER_BODY;
        break;
      case W_AFTER_BODY:
        this.withState = this.isPunct(COMMA) ? W_NAME : W_NONE;
        break;
    }
    if (this.isWord(K_WITH)) {
      this.withState = W_NAME;
      this.withDepth = this.depth;
    }
    return false;
  }

  private fail(): void {
    this.unsafe = true;
    this.kind = END;
  }

  /** An unterminated construct: always fatal in the strict pass; in a lenient pass the server would reject it all. */
  private unterminated(): void {
    if (this.lenient && !this.afterSemicolon) this.rejected = true;
    else this.unsafe = true;
  }

  /**
   * Reads the next token into kind/kw/ch/start/end. When the text cannot be read for sure (or not at all) it sets
   * `unsafe` (or `rejected`) instead; `next()` checks those.
   */
  private lex(): void {
    const sql = this.sql;
    const n = sql.length;
    let i = this.pos;
    const tokenEnd = i;
    let c: number;
    // Whitespace and comments. Every branch advances i, so the loop ends.
    for (;;) {
      if (i >= n) {
        this.pos = n;
        this.kind = END;
        return;
      }
      c = sql.charCodeAt(i);
      if (c === 32 || (c >= 9 && c <= 13)) {
        i++; // the server's whitespace in every ASCII-compatible charset: space, \t, \n, \v, \f, \r
      } else if (c === 35) {
        i = lineEnd(sql, i + 1); // # comment to end of line
      } else if (c === 45 && sql.charCodeAt(i + 1) === 45 && (i + 2 >= n || isDashDashTerminator(sql.charCodeAt(i + 2)))) {
        i = lineEnd(sql, i + 2); // -- comment to end of line
      } else if (c === 47 && sql.charCodeAt(i + 1) === 42) {
        // /* comment */, not nested. MySQL /*! … */ and MariaDB /*M! … */ are executable: their contents run (version
        // permitting), so what the server sees is not knowable here. /*+ … */ optimiser hints end at the first */
        // like a comment (the hint scanner refuses */ inside its quoted names) and have no lasting effect.
        const d = sql.charCodeAt(i + 2);
        if (d === 33 || (d === 77 && sql.charCodeAt(i + 3) === 33)) {
          this.unsafe = true;
          return;
        }
        const close = sql.indexOf('*/', i + 2);
        if (close === -1) return this.unterminated();
        i = close + 2;
      } else {
        break;
      }
    }

    const start = i;
    this.glued = start === tokenEnd;
    this.kw = 0;
    if (c === SINGLE_QUOTE) {
      i = this.skipQuoted(i, SINGLE_QUOTE, this.singleQuoteEscapes);
      if (i === -1) return this.unterminated();
      this.kind = STRING;
    } else if (c === DOUBLE_QUOTE || c === BACKTICK) {
      i = this.skipQuoted(i, c, c === DOUBLE_QUOTE && this.doubleQuoteEscapes);
      if (i === -1) return this.unterminated();
      this.kind = QUOTED;
      this.start = start + 1; // the name, without its quotes
      this.end = i - 1;
      this.pos = i;
      return;
    } else if (isDigit(c) || (c === DOT && isDigit(sql.charCodeAt(i + 1)))) {
      i = this.number(i); // .5 is a number too (MY_LEX_REAL_OR_POINT), so .5FROM is a number glued to a word
    } else if (isIdentChar(c)) {
      i = this.word(i);
    } else if (c === 58 && sql.charCodeAt(i + 1) === 61) {
      i += 2;
      this.kind = PUNCT;
      this.ch = ASSIGN;
    } else {
      i++;
      this.kind = PUNCT;
      this.ch = c;
    }
    this.start = start;
    this.end = i;
    this.pos = i;
  }

  /** An unquoted name from `i` (the whole run of identifier characters). Returns its end. */
  private word(i: number): number {
    const sql = this.sql;
    const start = i;
    for (; isIdentChar(sql.charCodeAt(i)); i++) {
      // Non-ASCII: the charset decides (whitespace in latin1?). $: MySQL 9 dollar-quoted strings, and identifiers
      // starting with $ are deprecated in 8.0; neither is worth a guess.
      const c = sql.charCodeAt(i);
      if (c >= 128 || c === 36) this.unsafe = true;
    }
    this.kind = WORD;
    this.kw = this.keyword(start, i);
    return i;
  }

  /**
   * A token starting with a digit, as the server's MY_LEX_NUMBER_IDENT reads it: 0x… / 0b… literals, integers,
   * decimals and floats, or an identifier such as 1abc or 2024_sales. A number glued to a following identifier
   * character (1e0INTO, 1.5abc) is split by the server into two tokens; rather than follow that, it is "not sure".
   */
  private number(i: number): number {
    const sql = this.sql;
    const start = i;
    let c = sql.charCodeAt(i + 1);
    if (sql.charCodeAt(i) === 48 && (c === 120 || c === 98)) {
      // 0x1F, 0b101 (lower-case x and b only); 0x, 0xg, 0b2 are identifiers.
      const hex = c === 120;
      let k = i + 2;
      while (hex ? isHexDigit(sql.charCodeAt(k)) : sql.charCodeAt(k) === 48 || sql.charCodeAt(k) === 49) k++; // NaN past the end
      if (k - i >= 3 && !isIdentChar(sql.charCodeAt(k))) return this.numberEnd(k);
      return this.word(start);
    }
    while (isDigit(sql.charCodeAt(i))) i++;
    c = sql.charCodeAt(i);
    if (c === 101 || c === 69) {
      // 1e5, 1e+5, 1E-5 are floats; 1e, 1ex, 1e+x are identifiers (1e+x: the identifier 1e, then +).
      let k = i + 1;
      const sign = sql.charCodeAt(k);
      if (sign === 43 || sign === 45) k++;
      if (!isDigit(sql.charCodeAt(k))) return this.word(start);
      while (isDigit(sql.charCodeAt(k))) k++;
      return this.numberEnd(k);
    }
    if (isIdentChar(c)) return this.word(start); // 1abc, 2024_sales (a leading '.' is no identifier character)
    if (c === DOT && sql.charCodeAt(i + 1) !== DOT) {
      // 1.5, 1., 1.5e3 (MariaDB reads 1..2 as 1 then "..": the number ends before the second dot in both servers).
      i++;
      while (isDigit(sql.charCodeAt(i))) i++;
      c = sql.charCodeAt(i);
      if (c === 101 || c === 69) {
        let k = i + 1;
        const sign = sql.charCodeAt(k);
        if (sign === 43 || sign === 45) k++;
        if (!isDigit(sql.charCodeAt(k))) this.unsafe = true; // 1.5e, 1.5ex: the server returns a stray character
        while (isDigit(sql.charCodeAt(k))) k++;
        i = k;
      }
    }
    return this.numberEnd(i);
  }

  private numberEnd(i: number): number {
    if (isIdentChar(this.sql.charCodeAt(i))) this.unsafe = true; // 1e0INTO, 0x1F$, 1.5abc
    this.kind = NUMBER;
    return i;
  }

  /** Returns the index just past the closing quote of the literal opening at `i`, or -1 if it is unterminated. */
  private skipQuoted(i: number, quote: number, backslashEscapes: boolean): number {
    const sql = this.sql;
    const n = sql.length;
    i++;
    while (i < n) {
      const c = sql.charCodeAt(i);
      if (c === quote) {
        if (sql.charCodeAt(i + 1) !== quote) return i + 1;
        i += 2; // doubled quote
        continue;
      }
      if (c === BACKSLASH && quote !== BACKTICK) {
        if (quote === SINGLE_QUOTE) this.sawSingleQuoteBackslash = true;
        else this.sawDoubleQuoteBackslash = true;
        if (backslashEscapes) {
          // The server skips one byte after the backslash: if that is the first byte of a multi-byte character,
          // the rest of it is read on its own, so the same delimiter check applies.
          if (sql.charCodeAt(i + 1) >= 128) this.checkAfterNonAscii(i + 2);
          i += 2;
          continue;
        }
      } else if (c >= 128) {
        this.checkAfterNonAscii(i + 1);
      }
      i++;
    }
    return -1;
  }

  /**
   * Under a multi-byte charset the server did not expect (mysql2 sends UTF-8, a `SET NAMES gbk` or `sjis` was issued
   * behind its back), the last byte of a non-ASCII character can start a two-byte character that swallows the next
   * byte; and mysql2 sending SJIS to a UTF-8 session produces a stray 0x5C, a backslash. Either way a quote, backtick
   * or backslash right after a non-ASCII character may not be what it seems: unsure.
   */
  private checkAfterNonAscii(i: number): void {
    const d = this.sql.charCodeAt(i);
    if (d === SINGLE_QUOTE || d === DOUBLE_QUOTE || d === BACKTICK || d === BACKSLASH) this.unsafe = true;
  }

  private keyword(start: number, end: number): number {
    return KEYWORDS.get(this.sql.slice(start, end).toUpperCase()) ?? 0;
  }
}

function lineEnd(sql: string, from: number): number {
  const eol = sql.indexOf('\n', from);
  return eol === -1 ? sql.length : eol + 1;
}

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
const OTHER = 0;
const ATOMIC = 1; // one statement refused as a whole, but not a read
const READ = 2; // a read form (still subject to notRead)

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
function statementKind(lx: Lexer): number {
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

/** One pass over the text under one reading of backslashes. */
function analyse(lx: Lexer): PassResult {
  lx.next();
  const kind = lx.kind === END ? OTHER : statementKind(lx);
  // The rest of the text still has to pass the statement-wide rules. A lenient pass reads on even when this reading
  // is no statement we accept, in case the server would reject this reading unparsed.
  if (kind !== OTHER || lx.lenient) {
    while (lx.next() !== END) {
      // drain
    }
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
  const lx = new Lexer(sql, true, true, false); // the server default: backslash escapes, "…" is a string
  const first = analyse(lx);
  if (!first.singleAtomic) return NEITHER;
  // Until the first backslash inside a literal every reading lexes the same tokens, so without one we are done.
  const doubleQuote = lx.sawDoubleQuoteBackslash;
  if (!doubleQuote && !lx.sawSingleQuoteBackslash) return first;
  let plainRead = first.plainRead;
  let singleAtomic = true;
  if (doubleQuote) {
    const ansi = analyse(new Lexer(sql, true, false, true)); // ANSI_QUOTES: "…" is an identifier, without escapes
    plainRead &&= ansi.plainRead;
    singleAtomic &&= ansi.singleAtomic;
  }
  const nbe = analyse(new Lexer(sql, false, false, true)); // NO_BACKSLASH_ESCAPES (with or without ANSI_QUOTES)
  plainRead &&= nbe.plainRead;
  singleAtomic &&= nbe.singleAtomic;
  return !singleAtomic ? NEITHER : plainRead ? BOTH : ATOMIC_ONLY;
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
