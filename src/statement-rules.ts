/**
 * The statement-wide rules of the SQL classifier (statement.ts), applied to every token the lexer reads, in order:
 * a second statement, a call of a function outside the allow-list (statement-functions.ts), `LAST_INSERT_ID(expr)`,
 * sequence steps (`NEXT VALUE FOR s`, Oracle-mode `s.NEXTVAL`), `CALL`/`EXECUTE`, and what makes a text "not a read"
 * though it may still be one atomic statement (`INTO`, locking clauses, `:=`). Also follows WITH lists so that a
 * CTE's column list is not taken for a call.
 */

import { NON_CALL_KEYWORDS, SIDE_EFFECT_FREE_FUNCTIONS } from './statement-functions.js';
import { Tokenizer } from './statement-lexer.js';
import {
  ASSIGN,
  COMMA,
  DOT,
  END,
  K_AS,
  K_CALL,
  K_FOR,
  K_IN,
  K_INTO,
  K_LOCK,
  K_NAME_INTRO,
  K_NEXT,
  K_RECURSIVE,
  K_SELECT,
  K_SHARE,
  K_TABLE,
  K_UPDATE,
  K_VALUE,
  K_WITH,
  LPAREN,
  PUNCT,
  QUOTED,
  RPAREN,
  SEMICOLON,
  STRING,
  WORD,
} from './statement-tokens.js';

// States of the WITH-list tracker (a CTE's column list "name (a, b)" is not a function call).
const W_NONE = 0;
const W_NAME = 1; // after WITH or ",": a CTE name (or RECURSIVE) comes next
const W_AFTER_NAME = 2; // "(" opens a column list, AS the body
const W_COLUMNS = 3; // inside the column list
const W_AFTER_COLUMNS = 4; // AS comes next
const W_BODY = 5; // after AS: the body, up to its closing ")"
const W_AFTER_BODY = 6; // "," starts the next CTE

/** The lexer with the statement-wide rules: every token returned by `next()` has already been checked. */
export class Lexer extends Tokenizer {
  /** Something makes the text not a plain read, though it may still be singleAtomic (INTO, FOR UPDATE, :=). */
  notRead = false;
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

  /** The previous token is the keyword `kw` (only a word has a keyword id other than 0). */
  private prevIsWord(kw: number): boolean {
    return this.prevKw === kw;
  }

  /** Statement-wide rules, applied to every token in order. */
  private check(): void {
    if (this.afterSemicolon) return this.fail(); // a second statement
    const kind = this.kind;
    if (this.pendingCall) {
      this.pendingCall = false;
      // Only SELECT and WITH: f(VALUES(c)) in ON DUPLICATE KEY UPDATE is a call with the argument VALUES(c).
      const subquery = this.kw === K_SELECT || this.kw === K_WITH; // (kw is 0 for a token that is not a word)
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
        this.withState = this.isWord(K_AS) ? W_BODY : W_NONE;
        break;
      case W_COLUMNS: // a list of names: its first ")" closes it
        if (this.isPunct(RPAREN)) this.withState = W_AFTER_COLUMNS;
        break;
      case W_AFTER_COLUMNS:
        this.withState = this.isWord(K_AS) ? W_BODY : W_NONE;
        break;
      case W_BODY: // from AS to the ")" that closes the body (the shape check wants "(" right after AS)
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
}
