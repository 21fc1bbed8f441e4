// Inputs for scripts/mutation-probe.mjs, built once per report by scripts/mutation-report.mjs: SQL texts (the string
// literals of the unit tests, hand-written seeds, and variants of each with other whitespace, comments and
// suffixes) and error objects (every number 1000-5000, every string of the error table and its tests).
import { readFileSync } from 'node:fs';
import path from 'node:path';
import ts from 'typescript';

/** Every string literal in the given files (the test corpus), parsed with TypeScript. */
function literalsOf(files) {
  const out = new Set();
  for (const file of files) {
    let text;
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    const sf = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, false, ts.ScriptKind.TS);
    const visit = (node) => {
      if (ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node)) out.add(node.text);
      ts.forEachChild(node, visit);
    };
    visit(sf);
  }
  return [...out];
}

function unitTests(root, prefix) {
  const dir = path.join(root, 'test', 'unit');
  return ts.sys
    .readDirectory(dir, ['.ts'])
    .filter((f) => path.basename(f).startsWith(prefix) && f.endsWith('.test.ts'));
}

/** Hand-written seeds: reads, writes and locking reads the variants below hide in. */
const SQL_SEEDS = [
  'SELECT 1',
  'SELECT * FROM t WHERE id = 1',
  'select a, b from t order by a limit 10',
  "SELECT 'x' AS s",
  'SELECT "x"',
  'SELECT `a` FROM `t`',
  'SHOW TABLES',
  'DESCRIBE t',
  'EXPLAIN SELECT 1',
  'WITH c AS (SELECT 1) SELECT * FROM c',
  'VALUES (1)',
  'TABLE t',
  '(SELECT 1)',
  'SELECT 1;',
  'SELECT * FROM t FOR UPDATE',
  'SELECT * FROM t FOR SHARE',
  'SELECT * FROM t LOCK IN SHARE MODE',
  'SELECT 1 INTO @x',
  'SELECT 1 INTO OUTFILE "/tmp/x"',
  "SELECT GET_LOCK('l', 1)",
  "SELECT RELEASE_LOCK('l')",
  'SELECT RELEASE_ALL_LOCKS()',
  "SELECT SERVICE_GET_READ_LOCKS('ns', 'l', 1)",
  "SELECT SERVICE_GET_WRITE_LOCKS('ns', 'l', 1)",
  "SELECT SERVICE_RELEASE_LOCKS('ns')",
  'SELECT NEXTVAL(s)',
  'SELECT SETVAL(s, 1)',
  'SELECT NEXT VALUE FOR s',
  'SELECT LAST_INSERT_ID(5)',
  'SELECT LAST_INSERT_ID()',
  'SELECT log_hit(1)',
  'SELECT 1; INSERT INTO t VALUES (1)',
  'INSERT INTO t VALUES (1)',
  'UPDATE t SET a = 1',
  'DELETE FROM t',
  'CALL p()',
  'DO GET_LOCK("l", 1)',
  'SET @a = 1',
  'BEGIN',
  'START TRANSACTION',
  'COMMIT',
  'ROLLBACK',
  'EXPLAIN UPDATE t SET a = 1',
  'ANALYZE TABLE t',
  'ANALYZE SELECT 1',
  "SELECT 'a\\'' FROM t",
  'SELECT "a\\"" , GET_LOCK(1,1)',
  "SELECT 'a\\' , GET_LOCK(1,1) -- '",
  'SELECT 1|GET_LOCK("l",1)',
  'SELECT ~GET_LOCK("l",1)',
  'SELECT 1e0INTO OUTFILE "/tmp/x"',
  'SELECT s.nextval',
  'SELECT /*M! GET_LOCK("l",1), */ 1',
  'SELECT /*! GET_LOCK("l",1), */ 1',
  'SELECT 1 /*M!100000 FOR UPDATE */',
  'SELECT\u00a0NEXTVAL(s)',
  'XA START "x"',
  'SET autocommit = 0',
  'SET autocommit = 1',
];

/** Where a space of a seed may become something else the server also skips (or reads differently). */
const SEPARATORS = [
  '\t', '\r', '\n', '\r\n', '\f', '\v', '  ', '/**/', '/* c */', '/*+ hint */', '-- c\n', '--\tc\n', '#c\n',
  '\n-- c\n', '\n# c\n', '\n/* c */', '\n#\n', '\r-- c\r\n', '\u00a0', '\u3000', '--\n',
];
const SUFFIXES = [
  '', ';', '; ', ' FOR UPDATE', ' INTO @x', '; INSERT INTO t VALUES (1)', ', GET_LOCK("l",1)', ' -- c', ' # c',
  ' /* c */', '\n', ' /*', " '", ' "', ' `', ' /*M! , GET_LOCK("l",1) */',
];

function sqlCorpus(root, prefixes, extraFiles = []) {
  const seeds = new Set([
    ...SQL_SEEDS,
    ...prefixes.flatMap((p) => literalsOf(unitTests(root, p))),
    ...literalsOf(extraFiles.map((f) => path.join(root, f))),
  ]);
  const out = new Set();
  for (const s of seeds) {
    if (s.length > 2000) continue;
    out.add(s);
    out.add(s.toLowerCase());
    for (const sep of SEPARATORS) {
      out.add(s.split(' ').join(sep));
      out.add(sep + s);
    }
    for (const suffix of SUFFIXES) out.add(s + suffix);
  }
  return [...out];
}

function errorCorpus(root, errorTableFile) {
  const source = readFileSync(errorTableFile, 'utf8');
  const strings = literalsOf([errorTableFile, ...unitTests(root, 'error-table'), ...unitTests(root, 'retry')]);
  const numbers = new Set();
  for (let n = 1000; n <= 5000; n++) numbers.add(n);
  for (const m of source.matchAll(/\b\d{3,5}\b/g)) numbers.add(Number(m[0]));
  const errors = [null, undefined, 0, 'x', {}, { fatal: true }, { fatal: false }];
  for (const n of numbers) {
    errors.push({ errno: n }, { code: n }, { errno: n, fatal: true }, { errno: n, code: 'ER_X' }, { errno: String(n) });
  }
  for (const s of strings) {
    errors.push({ code: s }, { message: s }, { message: `x ${s} y` }, { code: s, fatal: true }, { code: s, errno: 1 });
    errors.push({ message: s, errno: 1 }, { message: s, code: 'ECONNRESET' });
  }
  return errors;
}


/** Everything the probes feed both modules; `errorTableFile` is the error table the report was made from. */
export function buildCorpus(root, errorTableFile) {
  return {
    // The classifier's tables list side-effecting calls (SIDE_EFFECTING_CALLS) for the tests: seeds too.
    statement: sqlCorpus(root, ['statement'], ['src/statement-functions.ts']),
    transactions: sqlCorpus(root, ['transactions']),
    errors: errorCorpus(root, errorTableFile),
  };
}
