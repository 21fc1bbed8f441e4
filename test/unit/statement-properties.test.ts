import { describe, test } from 'node:test';
import fc from 'fast-check';
import { statementFacts } from '../../src/statement.js';

// Property tests: statements generated from a small grammar, with side-effecting parts either visible to the server
// (between tokens, separated by any whitespace or comment the server skips) or hidden (inside comments, strings and
// quoted identifiers, escaped so that no sql_mode can let them out). Seeds are fixed so a failure reproduces.

const RUNS = { numRuns: 150, seed: 20261130 };

/** What the server skips between two tokens. */
const separator = fc.constantFrom(' ', '\t', '\n', '\r', '\v', '\f', '  ', '/* c */', '/**/', '-- c\n', '--\tc\n', '#c\n', ' #\n#\n ');

/** Joins tokens with random separators (at least one where two words would otherwise merge). */
function joined(tokens: readonly string[]): fc.Arbitrary<string> {
  return fc.array(separator, { minLength: tokens.length, maxLength: tokens.length }).map((seps) =>
    tokens.map((token, i) => (i === 0 ? token : seps[i] + token)).join(''),
  );
}

const safeItems: readonly (readonly string[])[] = [
  ['1'],
  ['a'],
  ['t', '.', 'b'],
  ['COUNT(', '*', ')'],
  ['CONCAT(', "'x'", ',', 'a', ')'],
  ['NOW()'],
  ["'FOR UPDATE'"],
  ['`into`'],
  ['a', 'IN', '(', '1', ',', '2', ')'],
  ['EXISTS', '(', 'SELECT', '1', ')'],
  ['IF(', 'a', ',', '1', ',', '2', ')'],
  ['get_lock'],
  ['nextval'],
];

// A side effect the server sees. `call`: neither a read nor singleAtomic; `clause`: not a read, still singleAtomic.
const callItems: readonly (readonly string[])[] = [
  ['GET_LOCK(', "'a'", ',', '1', ')'],
  ['get_lock', '(', "'a'", ',', '1', ')'],
  ['RELEASE_LOCK(', "'a'", ')'],
  ['RELEASE_ALL_LOCKS(', ')'],
  ['SERVICE_GET_WRITE_LOCKS(', "'n'", ',', "'l'", ',', '1', ')'],
  ['NEXTVAL(', 's', ')'],
  ['SETVAL(', 's', ',', '1', ')'],
  ['NEXT', 'VALUE', 'FOR', 's'],
  ['s', '.', 'NEXTVAL'],
  ['`s`', '.', '`nextval`'],
  ['LAST_INSERT_ID(', '1', ')'],
  ['log_hit(', '1', ')'],
  ['db', '.', 'f(', '1', ')'],
  ['`f`(', '1', ')'],
  ['CONCAT', ' (', "'a'", ')'],
  ['UUID_SHORT(', ')'],
  ['(', 'SELECT', 'GET_LOCK(', "'a'", ',', '1', ')', ')'],
  ['1|GET_LOCK(', "'a'", ',', '1', ')'],
  ['~GET_LOCK(', "'a'", ',', '1', ')'],
];
const clauses: readonly (readonly string[])[] = [
  ['FOR', 'UPDATE'],
  ['FOR', 'SHARE'],
  ['LOCK', 'IN', 'SHARE', 'MODE'],
  ['INTO', '@x'],
  ['FOR', 'UPDATE', 'SKIP', 'LOCKED'],
];
const secondStatements: readonly string[] = ['; DELETE FROM t', ';SELECT 1', '; CALL p()', ';;'];
const executableComments: readonly string[] = ['/*!50000 , GET_LOCK(1) */', '/*M!100500 FOR UPDATE */', '/*!*/'];

const item = (pool: readonly (readonly string[])[]) => fc.constantFrom(...pool).chain(joined);

/** SELECT i1, …, in FROM t WHERE a = 1, with `extra` as one of the items at a random position. */
function select(extra: fc.Arbitrary<string>): fc.Arbitrary<string> {
  return fc
    .tuple(fc.array(item(safeItems), { maxLength: 3 }), extra, fc.nat(), fc.array(separator, { minLength: 8, maxLength: 8 }))
    .map(([items, x, at, s]) => {
      const all = [...items];
      all.splice(at % (items.length + 1), 0, x);
      return `SELECT${s[0]}${all.join(`${s[1]},${s[2]}`)}${s[3]}FROM${s[4]}t${s[5]}WHERE${s[6]}a${s[7]}= 1`;
    });
}

describe('statementFacts: properties', () => {
  test('a visible side-effecting call makes a statement neither a read nor singleAtomic', () => {
    fc.assert(
      fc.property(select(item(callItems)), (sql) => {
        const facts = statementFacts(sql);
        return !facts.plainRead && !facts.singleAtomic;
      }),
      RUNS,
    );
  });

  test('a visible locking or INTO clause makes a read not a plain read, still singleAtomic', () => {
    fc.assert(
      fc.property(select(item(safeItems)), item(clauses), separator, (sql, clause, sep) => {
        const facts = statementFacts(`${sql}${sep}${clause}`);
        return !facts.plainRead && facts.singleAtomic;
      }),
      RUNS,
    );
  });

  test('a visible second statement or executable comment makes any text neither', () => {
    fc.assert(
      fc.property(
        select(item(safeItems)),
        fc.constantFrom(...secondStatements, ...executableComments),
        separator,
        fc.boolean(),
        (sql, tail, sep, atStart) => {
          const text = atStart && tail.startsWith('/*') ? `${tail}${sep}${sql}` : `${sql}${sep}${tail}`;
          const facts = statementFacts(text);
          return !facts.plainRead && !facts.singleAtomic;
        },
      ),
      RUNS,
    );
  });

  test('a non-ASCII character between tokens (whitespace in some charsets) makes any text neither', () => {
    const exotic = fc.constantFrom('\u00a0', '\u0085', '\u2000', '\u3000', '\ufeff', '\u00e9');
    fc.assert(
      fc.property(select(item(safeItems)), exotic, fc.constantFrom('FROM', 'WHERE', '= 1'), (sql, ch, before) => {
        // Outside any literal or comment: right before a keyword of the skeleton (no safe item contains these).
        const facts = statementFacts(sql.replace(before, `${ch}${before}`));
        return !facts.plainRead && !facts.singleAtomic;
      }),
      RUNS,
    );
  });

  // Payloads: the dangerous texts themselves, plus noise, plus characters that matter to lexers.
  const payload = fc
    .array(
      fc.oneof(
        fc.constantFrom(
          "GET_LOCK('a', 1)",
          'NEXTVAL(s)',
          '; DELETE FROM t',
          'FOR UPDATE',
          'INTO @x',
          '/*!50000 CALL p() */',
          '*/ , GET_LOCK(1) /*',
          "' , GET_LOCK(1) , '",
          '" ; DROP TABLE t ; "',
          '` , NEXTVAL(s) , `',
          '\\',
          '\\\'',
          '-- ',
          '#',
          '\n',
          '\r',
          'é x',
          '日本 x',
        ),
        fc.string({ maxLength: 8 }).map((s) => s.replace(/[^\x20-\x7e]/g, ' ')),
      ),
      { maxLength: 5 },
    )
    .map((parts) => parts.join(''));

  // Escapings that hide the payload from every sql_mode: doubled quotes and doubled backslashes read the same with
  // and without NO_BACKSLASH_ESCAPES and ANSI_QUOTES.
  const hidden = fc.tuple(
    fc.constantFrom('block', 'dash', 'hash', 'single', 'double', 'backtick'),
    payload,
  ).map(([how, p]) => {
    switch (how) {
      case 'block':
        return `/* ${p.replace(/\*\//g, '* /')} */`;
      case 'dash':
        return `-- ${p.replace(/\n/g, ' ')}\n`;
      case 'hash':
        return `# ${p.replace(/\n/g, ' ')}\n`;
      case 'single':
        return `'${p.replace(/\\/g, '\\\\').replace(/'/g, "''")}'`;
      case 'double':
        return `"${p.replace(/\\/g, '\\\\').replace(/"/g, '""')}"`;
      default:
        return `\`${p.replace(/`/g, '``')}x\``;
    }
  });

  test('reads stay plain reads when the side effects are truly hidden', () => {
    fc.assert(
      fc.property(select(item(safeItems)), fc.array(hidden, { minLength: 1, maxLength: 3 }), (sql, parts) => {
        // Each hidden part goes right after SELECT, where a literal (with a comma) or a comment may stand; later parts
        // go in front of earlier ones, never inside them.
        let text = sql;
        for (const part of parts) {
          const comment = part.startsWith('/*') || part.startsWith('--') || part.startsWith('#');
          text = `SELECT ${part}${comment ? ' ' : ', '}${text.slice('SELECT'.length)}`;
        }
        return statementFacts(text).plainRead;
      }),
      RUNS,
    );
  });

  test('any text: plainRead implies singleAtomic, and the classifier never throws', () => {
    const sqlish = fc
      .array(
        fc.constantFrom(
          'SELECT', 'INSERT', 'INTO', 't', '(', ')', ',', ';', "'", '"', '`', '\\', '/*', '*/', '/*!', '--', '-- ', '#',
          '\n', ' ', '1e0', '.5', '0x1F', 'GET_LOCK', 'FOR', 'UPDATE', 'WITH', 'AS', 'é', '\u00a0', ':=', '@a', '.',
          'nextval', 'CALL', 'x',
        ),
        { maxLength: 24 },
      )
      .map((parts) => parts.join(''));
    fc.assert(
      fc.property(fc.oneof(sqlish, fc.string({ maxLength: 40 })), (sql) => {
        const facts = statementFacts(sql);
        return !facts.plainRead || facts.singleAtomic;
      }),
      { numRuns: 1000, seed: 20261130 },
    );
  });
});
