/**
 * Conservative classification of SQL text as "a single plain read", used to decide whether a statement whose outcome
 * is unknown (the connection died after it was sent) may be sent again on another connection.
 *
 * The text is tokenised in one linear pass: whitespace and comments are skipped, and string literals, quoted
 * identifiers and words become opaque tokens, so nothing inside '…', "…" or `…` can change the answer. The token
 * stream is then checked with one token of look-back. Nothing is cached and no token array or normalised copy of the
 * text is built; the only allocations are one small lexer object per pass and short upper-cased words for keyword
 * lookup.
 */

// Token kinds.
const END = 0;
const WORD = 1; // unquoted identifier, keyword or number
const QUOTED = 2; // `identifier` or "string-or-identifier" (ANSI_QUOTES); only its name matters, for function calls
const STRING = 3; // 'string'
const PUNCT = 4; // any other single character

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
const K_DML = 12; // INSERT, UPDATE, DELETE, REPLACE: never read-only after EXPLAIN/DESCRIBE
const K_UPDATE = 13;
const K_SHARE = 14;
const K_FOR = 15;
const K_INTO = 16;
const K_LOCK = 17;
const K_IN = 18;
const K_NEXT = 19;
const K_VALUE = 20;
const K_LAST_INSERT_ID = 21;
const K_WRITING_FUNCTION = 22; // a function with side effects when called, e.g. GET_LOCK(

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
  ['INSERT', K_DML],
  ['DELETE', K_DML],
  ['REPLACE', K_DML],
  ['UPDATE', K_UPDATE],
  ['SHARE', K_SHARE],
  ['FOR', K_FOR],
  ['INTO', K_INTO],
  ['LOCK', K_LOCK],
  ['IN', K_IN],
  ['NEXT', K_NEXT],
  ['VALUE', K_VALUE],
  ['LAST_INSERT_ID', K_LAST_INSERT_ID],
  // User-level locks (session state that outlives a half-open connection on the server side).
  ['GET_LOCK', K_WRITING_FUNCTION],
  ['RELEASE_LOCK', K_WRITING_FUNCTION],
  ['RELEASE_ALL_LOCKS', K_WRITING_FUNCTION],
  // MySQL locking-service loadable functions.
  ['SERVICE_GET_READ_LOCKS', K_WRITING_FUNCTION],
  ['SERVICE_GET_WRITE_LOCKS', K_WRITING_FUNCTION],
  ['SERVICE_RELEASE_LOCKS', K_WRITING_FUNCTION],
  // MariaDB sequences (NEXT VALUE FOR is matched as a word pair).
  ['NEXTVAL', K_WRITING_FUNCTION],
  ['SETVAL', K_WRITING_FUNCTION],
]);

let maxKeywordLength = 0;
let keywordInitials = 0; // bit i set when some keyword starts with the letter 'A' + i
for (const word of KEYWORDS.keys()) {
  maxKeywordLength = Math.max(maxKeywordLength, word.length);
  keywordInitials |= 1 << (word.charCodeAt(0) - 65);
}

const BACKSLASH = 92;
const SINGLE_QUOTE = 39;
const DOUBLE_QUOTE = 34;
const BACKTICK = 96;
const LPAREN = 40;
const RPAREN = 41;
const SEMICOLON = 59;

function isWordChar(c: number): boolean {
  return (
    (c >= 97 && c <= 122) || // a-z
    (c >= 65 && c <= 90) || // A-Z
    (c >= 48 && c <= 57) || // 0-9
    c === 95 || // _
    c === 36 || // $
    c >= 128 // MySQL allows U+0080 and above in unquoted identifiers
  );
}

/**
 * One tokenising pass over `sql` under one assumption about how the server lexes backslashes in quoted text
 * (they are escapes unless sql_mode has NO_BACKSLASH_ESCAPES; "…" is an identifier, without escapes, under
 * ANSI_QUOTES). Every token returned by `next()` has already been checked against the statement-wide rules
 * (locking clauses, INTO, side-effecting functions, a second statement); a violation sets `bad` and ends the stream.
 */
class Lexer {
  /** Kind of the current token (END once the text is exhausted or a violation was found). */
  kind = END;
  /** Keyword id of the current WORD or QUOTED token. */
  kw = 0;
  /** Character code of the current PUNCT token. */
  ch = 0;
  /** A rule was violated, or the text cannot be lexed: not read-only. */
  bad = false;
  /**
   * A lenient pass hit an unterminated string, identifier or comment before any ';': under this pass's sql_mode the
   * server rejects the whole text with a syntax error, so nothing would run.
   */
  rejected = false;
  /** A backslash occurred inside a '…' or "…" token: other sql_modes might lex the rest of the text differently. */
  sawSingleQuoteBackslash = false;
  sawDoubleQuoteBackslash = false;

  private pos = 0;
  private prevKind = END;
  private prevKw = 0;
  private afterSemicolon = false;
  private awaitingLastInsertIdArgument = false;

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
    if (this.bad || this.rejected) return (this.kind = END);
    this.prevKind = this.kind;
    this.prevKw = this.kw;
    if (!this.lex()) {
      // Unterminated quote or comment, or an executable comment.
      this.kind = END;
      return END;
    }
    if (this.kind !== END) this.check();
    return this.kind;
  }

  /** Statement-wide rules, applied to every token in order. */
  private check(): void {
    if (this.afterSemicolon) return this.fail(); // a second statement
    if (this.awaitingLastInsertIdArgument) {
      this.awaitingLastInsertIdArgument = false;
      if (!this.isPunct(RPAREN)) return this.fail(); // LAST_INSERT_ID(expr) sets the session value
    }
    const prevIsWord = this.prevKind === WORD;
    if (this.kind === WORD) {
      switch (this.kw) {
        case K_INTO: // SELECT … INTO @var / OUTFILE / DUMPFILE, EXPLAIN … INTO @var
          return this.fail();
        case K_UPDATE:
        case K_SHARE: // FOR UPDATE, FOR SHARE
          if (prevIsWord && this.prevKw === K_FOR) this.fail();
          return;
        case K_IN: // LOCK IN SHARE MODE
          if (prevIsWord && this.prevKw === K_LOCK) this.fail();
          return;
        case K_VALUE: // NEXT VALUE FOR seq
          if (prevIsWord && this.prevKw === K_NEXT) this.fail();
          return;
      }
    } else if (this.kind === PUNCT) {
      if (this.ch === LPAREN && (prevIsWord || this.prevKind === QUOTED)) {
        if (this.prevKw === K_WRITING_FUNCTION) this.fail();
        else if (this.prevKw === K_LAST_INSERT_ID) this.awaitingLastInsertIdArgument = true;
      } else if (this.ch === SEMICOLON) {
        this.afterSemicolon = true;
      }
    }
  }

  private fail(): void {
    this.bad = true;
    this.kind = END;
  }

  /** An unterminated construct: always fatal in the strict pass; in a lenient pass the server would reject it all. */
  private unterminated(): false {
    if (this.lenient && !this.afterSemicolon) this.rejected = true;
    else this.bad = true;
    return false;
  }

  /** Reads the next token into kind/kw/ch. Returns false (with bad or rejected set) when the text cannot be lexed. */
  private lex(): boolean {
    const sql = this.sql;
    const n = sql.length;
    let i = this.pos;
    let c: number;
    // Whitespace and comments.
    for (;;) {
      if (i >= n) {
        this.pos = n;
        this.kind = END;
        return true;
      }
      c = sql.charCodeAt(i);
      if (c === 32 || (c >= 9 && c <= 13)) {
        i++;
      } else if (c === 35) {
        // # comment to end of line
        const eol = sql.indexOf('\n', i + 1);
        i = eol < 0 ? n : eol + 1;
      } else if (c === 45 && sql.charCodeAt(i + 1) === 45 && (i + 2 >= n || isDashDashTerminator(sql.charCodeAt(i + 2)))) {
        // "-- " comment: MySQL requires whitespace or a control character after the dashes; "1--1" is arithmetic.
        const eol = sql.indexOf('\n', i + 2);
        i = eol < 0 ? n : eol + 1;
      } else if (c === 47 && sql.charCodeAt(i + 1) === 42) {
        // /* comment */. MySQL /*! … */ and MariaDB /*M! … */ are executable: their contents run (version
        // permitting), so what the server sees is not knowable here. /*+ … */ optimiser hints are plain comments.
        const d = sql.charCodeAt(i + 2);
        if (d === 33 || (d === 77 && sql.charCodeAt(i + 3) === 33)) {
          this.bad = true;
          return false;
        }
        const close = sql.indexOf('*/', i + 2);
        if (close < 0) return this.unterminated();
        i = close + 2;
      } else {
        break;
      }
    }

    const start = i;
    if (c === SINGLE_QUOTE) {
      i = this.skipQuoted(i, SINGLE_QUOTE, this.singleQuoteEscapes);
      if (i < 0) return this.unterminated();
      this.kind = STRING;
      this.kw = 0;
    } else if (c === DOUBLE_QUOTE || c === BACKTICK) {
      i = this.skipQuoted(i, c, c === DOUBLE_QUOTE && this.doubleQuoteEscapes);
      if (i < 0) return this.unterminated();
      this.kind = QUOTED;
      this.kw = this.keyword(start + 1, i - 1);
    } else if (isWordChar(c)) {
      i++;
      while (i < n && isWordChar(sql.charCodeAt(i))) i++;
      this.kind = WORD;
      this.kw = this.keyword(start, i);
    } else {
      i++;
      this.kind = PUNCT;
      this.kw = 0;
      this.ch = c;
    }
    this.pos = i;
    return true;
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
      } else if (c === BACKSLASH && quote !== BACKTICK) {
        if (quote === SINGLE_QUOTE) this.sawSingleQuoteBackslash = true;
        else this.sawDoubleQuoteBackslash = true;
        i += backslashEscapes ? 2 : 1;
      } else {
        i++;
      }
    }
    return -1;
  }

  private keyword(start: number, end: number): number {
    const length = end - start;
    if (length < 2 || length > maxKeywordLength) return 0;
    const sql = this.sql;
    const initial = sql.charCodeAt(start) & ~32; // ASCII upper case
    if (initial < 65 || initial > 90 || (keywordInitials & (1 << (initial - 65))) === 0) return 0;
    // Keywords are ASCII; toUpperCase() would map e.g. U+017F (long s) to 'S', which the server never does.
    for (let i = start + 1; i < end; i++) if (sql.charCodeAt(i) >= 128) return 0;
    return KEYWORDS.get(sql.slice(start, end).toUpperCase()) ?? 0;
  }
}

function isDashDashTerminator(c: number): boolean {
  return c <= 32 || c === 127; // space or control character
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

/**
 * A query expression starting at the current token: any number of '(' then SELECT, VALUES, TABLE, or a WITH clause
 * followed by one of those. Iterative, so hostile nesting cannot exhaust the stack.
 */
function isQuery(lx: Lexer): boolean {
  for (;;) {
    while (lx.isPunct(LPAREN)) lx.next();
    if (lx.kind !== WORD) return false;
    if (lx.kw === K_SELECT || lx.kw === K_VALUES || lx.kw === K_TABLE) return true;
    if (lx.kw !== K_WITH || !skipWithList(lx)) return false;
    // The current token is now the statement the CTEs belong to: it must itself be a query.
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
    if (!lx.isPunct(44 /* , */)) return true;
    lx.next();
  }
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

/** {EXPLAIN | DESCRIBE | DESC} …; the current token is the keyword. */
function isReadOnlyExplain(lx: Lexer): boolean {
  lx.next();
  let modifiers = false;
  for (;;) {
    if (lx.isWord(K_FORMAT)) {
      if (!skipFormat(lx)) return false;
    } else if (lx.isWord(K_ANALYZE) || lx.isWord(K_EXPLAIN_OPTION)) {
      lx.next(); // EXPLAIN ANALYZE executes the statement: fine, as long as it is a query
    } else {
      break;
    }
    modifiers = true;
  }
  if (lx.isPunct(LPAREN) || (lx.kind === WORD && QUERY_STARTS.includes(lx.kw))) return isQuery(lx);
  // Otherwise only the DESCRIBE form: tbl_name [col_name | 'wild'].
  if (modifiers) return false;
  if (lx.kind === WORD) {
    if (lx.kw === K_DML || lx.kw === K_UPDATE || lx.kw === K_FOR) return false; // EXPLAIN UPDATE, FOR CONNECTION
  } else if (lx.kind !== QUOTED) {
    return false;
  }
  let kind = lx.next();
  if (lx.isPunct(46 /* . */)) {
    kind = lx.next();
    if (kind !== WORD && kind !== QUOTED) return false;
    kind = lx.next();
  }
  if (kind === WORD || kind === QUOTED || kind === STRING) kind = lx.next();
  return kind === END || lx.isPunct(SEMICOLON);
}

/** One pass: true when the whole text is a single read (or, in a lenient pass, would be rejected unparsed). */
function analyse(lx: Lexer): boolean {
  let ok: boolean;
  lx.next();
  if (lx.kind === WORD) {
    switch (lx.kw) {
      case K_SHOW:
        ok = true;
        break;
      case K_EXPLAIN:
        ok = isReadOnlyExplain(lx);
        break;
      case K_ANALYZE: // MariaDB ANALYZE [FORMAT=JSON] SELECT … runs the query; ANALYZE TABLE writes statistics
        lx.next();
        ok = skipFormat(lx) && !lx.isWord(K_TABLE) && isQuery(lx);
        break;
      default:
        ok = isQuery(lx);
    }
  } else {
    ok = isQuery(lx);
  }
  // The rest of the text still has to pass the statement-wide rules. A lenient pass also reads on after a failed
  // match, in case this reading of the text is one the server would reject unparsed.
  if (ok || lx.lenient) {
    while (lx.next() !== END) {
      // drain
    }
  }
  return lx.rejected || (ok && !lx.bad);
}

/**
 * Returns `true` only when `sql` is certainly a single plain read, so that re-sending it after the connection died
 * with the outcome unknown cannot change data or server state: `SELECT`, `SHOW`, `DESCRIBE`/`DESC`/`EXPLAIN` (of a
 * table or a query, including `EXPLAIN ANALYZE SELECT`), MariaDB `ANALYZE SELECT`, `WITH … SELECT`, `VALUES`,
 * `TABLE`, and parenthesised `(SELECT …)`, optionally preceded by whitespace and comments and followed by one `;`.
 *
 * Returns `false` for everything else, including: any other statement type; a second statement; `FOR UPDATE`,
 * `FOR SHARE` and `LOCK IN SHARE MODE`; `INTO` (`@var`, `OUTFILE`, `DUMPFILE`); calls to `GET_LOCK`,
 * `RELEASE_LOCK`, `RELEASE_ALL_LOCKS`, the locking-service functions, `NEXTVAL`, `SETVAL`, `NEXT VALUE FOR` and
 * `LAST_INSERT_ID(expr)`; executable comments (`/*! … *\/`, `/*M! … *\/`) anywhere; and text that cannot be lexed
 * (an unterminated quote or comment). Keywords are matched case-insensitively, and never inside string literals,
 * quoted identifiers or comments. When a backslash occurs inside a quoted literal the text is also checked as the
 * server would lex it under `NO_BACKSLASH_ESCAPES` and `ANSI_QUOTES`, and `true` requires every reading to agree
 * (or that reading to be rejected by the server as a syntax error, which runs nothing).
 *
 * Limit: a read that calls a stored function or loadable function which writes (`SELECT my_func()`) looks exactly
 * like a plain read and cannot be detected from the text; callers that issue such statements must opt out of retry
 * for that call. A `false` answer is always safe; it only means the statement is not retried.
 *
 * Runs in time linear in the length of `sql`, allocates little and caches nothing.
 */
export function isReadOnlyStatement(sql: string): boolean {
  if (typeof sql !== 'string') return false;
  const first = new Lexer(sql, true, true, false); // the server default: backslash escapes, "…" is a string
  if (!analyse(first)) return false;
  const singleQuote = first.sawSingleQuoteBackslash;
  const doubleQuote = first.sawDoubleQuoteBackslash;
  // Until the first backslash inside a literal every reading lexes the same tokens, so without one we are done.
  if (doubleQuote && !analyse(new Lexer(sql, true, false, true))) return false; // ANSI_QUOTES
  if ((singleQuote || doubleQuote) && !analyse(new Lexer(sql, false, false, true))) return false; // NO_BACKSLASH_ESCAPES
  return true;
}

/** What the retry contract needs to know about a statement's text (see {@link statementFacts}). */
export interface StatementFacts {
  /**
   * Certainly one plain read with no side effect: safe to send again when the connection died after it was sent.
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
 * The facts the retry rules read, from the final text sent to the server. Conservative: every "not sure" is `false`.
 * Called only when a retry is being decided, never on the hot path.
 */
export function statementFacts(sql: string): StatementFacts {
  // Placeholder until the classifier reports singleAtomic itself: false is always safe (it only stops a retry).
  return { plainRead: isReadOnlyStatement(sql), singleAtomic: false };
}
