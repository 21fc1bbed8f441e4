/**
 * The lexer of the SQL classifier (statement.ts): walks whitespace, comments of every kind, quoted strings and
 * identifiers (under one reading of backslashes), numbers and names the way the MySQL 8.4 and MariaDB 10.11 lexers do
 * (sql/sql_lex.cc), and marks the text unsure (`unsafe`) wherever the server could read it differently. It knows
 * nothing of statements: the statement-wide rules are in statement-rules.ts, the statement shapes in
 * statement-shape.ts.
 */

import {
  BACKSLASH,
  BACKTICK,
  DOT,
  DOUBLE_QUOTE,
  END,
  NUMBER,
  PUNCT,
  QUOTED,
  SINGLE_QUOTE,
  STRING,
  ASSIGN,
  WORD,
  isDashDashTerminator,
  isDigit,
  isHexDigit,
  isIdentChar,
  keywordId,
  lineEnd,
} from './statement-tokens.js';

/**
 * One tokenising pass over `sql` under one assumption about how the server lexes backslashes in quoted text
 * (escapes unless sql_mode has NO_BACKSLASH_ESCAPES; "…" is an identifier, without escapes, under ANSI_QUOTES).
 * `lex()` reads the next token; the subclass in statement-rules.ts checks each one against the statement-wide rules.
 */
export class Tokenizer {
  /** Kind of the current token (END once the text is exhausted or the pass gave up). */
  kind = END;
  /** Keyword id of the current WORD token. */
  kw = 0;
  /** Character code of the current PUNCT token. */
  ch = 0;
  /** Text span of the current token (for QUOTED: without the quotes). */
  protected start = 0;
  protected end = 0;
  /** The current token starts right where the previous one ended (no whitespace or comment in between). */
  protected glued!: boolean;

  /** Something makes the text neither a plain read nor singleAtomic (unsure lexing, a call, a second statement). */
  unsafe = false;
  /**
   * A lenient pass hit an unterminated string, identifier or comment before any ';': under this pass's sql_mode the
   * server rejects the whole text with a syntax error, so nothing would run.
   */
  rejected = false;

  private pos = 0;
  /** A ';' was seen: anything after it is a second statement. */
  protected afterSemicolon = false;

  constructor(
    protected readonly sql: string,
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

  protected fail(): void {
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
  protected lex(): void {
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
      if (c === BACKSLASH && backslashEscapes) {
        // The server skips one byte after the backslash: if that is the first byte of a multi-byte character, the
        // rest of it is read on its own, so the same delimiter check applies.
        if (sql.charCodeAt(i + 1) >= 128) this.checkAfterNonAscii(i + 2);
        i += 2;
        continue;
      }
      if (c >= 128) this.checkAfterNonAscii(i + 1);
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
    return keywordId(this.sql.slice(start, end).toUpperCase());
  }
}
