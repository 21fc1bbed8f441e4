import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { isReadOnlyStatement } from '../../src/statement.js';

// [sql, expected, why] — `why` only matters when it is not obvious from the SQL.
const cases: ReadonlyArray<readonly [string, boolean, string?]> = [
  // Plain reads.
  ['SELECT 1', true],
  ['select * from users where id = ?', true],
  ['SeLeCt\tCOUNT(*)\nFROM\tt', true],
  ['  \n\t SELECT 1', true, 'leading whitespace'],
  ['-- comment\nSELECT 1', true, '-- comment'],
  ['--\tcomment\nSELECT 1', true, '-- followed by a control character is a comment'],
  ['# comment\nSELECT 1', true, '# comment'],
  ['/* block */ SELECT 1', true],
  ['/* multi\nline */ -- x\n  # y\n/**/SELECT 1', true, 'several comments in a row'],
  ['SELECT /*+ MAX_EXECUTION_TIME(1000) */ * FROM t', true, 'optimiser hint after SELECT'],
  ['/*+ not a hint here */ SELECT 1', true],
  ['SELECT 1;', true, 'one trailing semicolon'],
  ['SELECT 1 ; -- done\n /* really */  ', true, 'trailing semicolon, then only comments'],
  ['SELECT SLEEP(1)', true],
  ['SELECT LAST_INSERT_ID()', true, 'LAST_INSERT_ID without an argument only reads'],
  ['SELECT IS_FREE_LOCK(\'x\'), IS_USED_LOCK(\'x\')', true],
  ['SELECT PREVIOUS VALUE FOR seq', true, 'MariaDB: reads the last sequence value'],
  ['SELECT * FROM get_lock_log WHERE nextval = 1', true, 'function names that are not called'],
  ['SELECT * FROM t FOR SYSTEM_TIME AS OF TIMESTAMP \'2026-01-01\'', true, 'MariaDB temporal FOR'],
  ['SELECT * FROM t WHERE x IN (1, 2) AND y IN (SELECT y FROM u)', true, 'IN is only bad after LOCK'],
  ['SELECT 1 -- FOR UPDATE', true, 'locking clause inside a comment'],
  ['SELECT 1 # INTO @x', true],
  ['SELECT 1 /* ; DELETE FROM t */', true],
  ['SELECT `for update`, `into`, `lock` FROM t', true, 'keywords as quoted identifiers'],
  ['SELECT \'INTO\' AS x, \'FOR UPDATE\' AS y', true, 'keywords inside strings'],
  ['SELECT "FOR UPDATE; DELETE FROM t"', true, 'double-quoted string'],
  ['SELECT * FROM t WHERE s = \'it\'\'s FOR UPDATE\'', true, "doubled '' inside a string"],
  ['SELECT * FROM t WHERE s = "say ""INTO"""', true, 'doubled "" inside a string'],
  ['SELECT `a``into` FROM t', true, 'doubled `` inside an identifier'],
  ["SELECT * FROM t WHERE name = 'O\\'Brien'", true, "\\' escape: other sql_modes reject the text unparsed"],
  ["SELECT 'C:\\\\' AS dir", true, 'escaped backslash lexes the same in every sql_mode'],
  ['SELECT _utf8mb4\'x\' COLLATE utf8mb4_bin, X\'41\', N\'y\'', true],
  ['SHOW TABLES', true],
  ["show variables like 'wait_timeout'", true],
  ['SHOW CREATE TABLE t', true],
  ['DESCRIBE users', true],
  ['DESC users', true],
  ["desc `db`.`users` 'na%'", true],
  ['EXPLAIN users id', true, 'EXPLAIN tbl col is DESCRIBE'],
  ['EXPLAIN SELECT * FROM t', true],
  ['EXPLAIN FORMAT=JSON SELECT 1', true],
  ['EXPLAIN EXTENDED SELECT 1', true],
  ['EXPLAIN ANALYZE SELECT * FROM t', true, 'executes the query, which is a read'],
  ['ANALYZE FORMAT=JSON SELECT * FROM t', true, 'MariaDB ANALYZE of a SELECT'],
  ['WITH cte AS (SELECT 1 AS a) SELECT * FROM cte', true],
  ['with recursive r (n) as (select 1 union all select n + 1 from r where n < 5) select * from r', true],
  ['WITH a AS (SELECT 1), `b` (x) AS (SELECT (2)) SELECT * FROM a, b', true, 'two CTEs, nested parentheses'],
  ['WITH a AS (SELECT 1) (SELECT * FROM a)', true],
  ['(SELECT 1) UNION (SELECT 2)', true],
  ['((SELECT 1))', true],
  ['(WITH a AS (SELECT 1) SELECT * FROM a)', true],
  ['VALUES ROW(1, 2), ROW(3, 4)', true],
  ['TABLE users', true],

  // Not reads.
  ['INSERT INTO t VALUES (1)', false],
  ['UPDATE t SET a = 1', false],
  ['DELETE FROM t', false],
  ['REPLACE INTO t VALUES (1)', false],
  ['CALL proc()', false],
  ['DO SLEEP(1)', false],
  ['SET @a = 1', false],
  ["LOAD DATA INFILE 'x' INTO TABLE t", false],
  ['CREATE TABLE t (id INT)', false],
  ['ALTER TABLE t ADD c INT', false],
  ['DROP TABLE t', false],
  ['TRUNCATE t', false],
  ['LOCK TABLES t READ', false],
  ['UNLOCK TABLES', false],
  ['HANDLER t READ FIRST', false],
  ['BEGIN', false],
  ['START TRANSACTION READ ONLY', false],
  ['COMMIT', false],
  ['ROLLBACK', false],
  ["XA START 'x'", false],
  ["PREPARE s FROM 'SELECT 1'", false],
  ['KILL 5', false],
  ['ANALYZE TABLE t', false, 'writes index statistics'],
  ['ANALYZE UPDATE t SET a = 1', false, 'MariaDB ANALYZE executes the UPDATE'],
  ['EXPLAIN ANALYZE UPDATE t SET a = 1', false, 'EXPLAIN ANALYZE executes the UPDATE'],
  ['EXPLAIN ANALYZE DELETE FROM t', false],
  ['EXPLAIN DELETE FROM t', false, 'not executed, but only queries are accepted'],
  ['EXPLAIN FOR CONNECTION 12', false],
  ['EXPLAIN FORMAT=JSON INTO @plan SELECT 1', false],
  ['SELECT * FROM t FOR UPDATE', false],
  ['select * from t for share', false],
  ['SELECT * FROM t LOCK IN SHARE MODE', false],
  ['SELECT * FROM t FOR UPDATE SKIP LOCKED', false],
  ['SELECT * FROM t /* x */ FOR -- y\n UPDATE', false, 'comments between FOR and UPDATE'],
  ['SELECT * FROM (SELECT * FROM t FOR UPDATE) x', false, 'locking subquery'],
  ['SELECT 1--1 FOR UPDATE', false, '"--" without a following space is arithmetic, not a comment'],
  ['SELECT a INTO @a FROM t', false],
  ['SELECT @n := @n + 1 AS rank FROM t', false, 'assigns a user variable: a side effect, even if only on the session'],
  ['SELECT a FROM t INTO @a', false],
  ["SELECT * FROM t INTO OUTFILE '/tmp/x'", false],
  ["SELECT * INTO DUMPFILE '/tmp/x' FROM t", false],
  ["SELECT GET_LOCK('x', 10)", false],
  ["SELECT release_lock('x')", false],
  ['SELECT RELEASE_ALL_LOCKS()', false],
  ["SELECT get_lock /* c */ ('x', 1)", false, 'comment between name and parenthesis'],
  ["SELECT `GET_LOCK`('x', 1)", false, 'quoted function name'],
  ['SELECT NEXTVAL(seq)', false],
  ['SELECT SETVAL(seq, 10)', false],
  ['SELECT NEXT VALUE FOR seq', false],
  ['SELECT LAST_INSERT_ID(42)', false, 'sets the session value'],
  ['SELECT 1 FROM t WHERE id = LAST_INSERT_ID(id + 1)', false],
  ['SELECT 1; SELECT 2', false, 'multiple statements'],
  ['SELECT 1; DELETE FROM t', false],
  ['SELECT 1;;', false],
  ['(SELECT 1); UPDATE t SET a = 1', false],
  ['WITH cte AS (SELECT id FROM t) UPDATE t JOIN cte USING (id) SET a = 1', false],
  ['WITH cte AS (SELECT 1) DELETE FROM t WHERE id IN (SELECT * FROM cte)', false],
  ['WITH cte AS (SELECT 1) INSERT INTO t SELECT * FROM cte', false],
  ['WITH cte AS (SELECT 1 FOR UPDATE) SELECT * FROM cte', false],
  ['WITH cte AS (SELECT 1 SELECT 1', false, 'unbalanced parenthesis'],
  ['/*!40101 SET NAMES utf8 */', false, 'executable comment'],
  ['/*!50001 SELECT 1 */', false, 'executable comment, even of a SELECT'],
  ['/*M!100100 SELECT 1 */', false, 'MariaDB executable comment'],
  ['SELECT /*!40001 SQL_NO_CACHE */ * FROM t', false, 'executable comments are opaque anywhere'],
  ['', false, 'empty'],
  ['   ', false, 'blank'],
  ['-- only a comment', false],
  ["SELECT 'unterminated", false],
  ['SELECT 1 /* unterminated', false],
  ['SELECT `unterminated', false],
  ["SELECT 'a\\' ; DELETE FROM t; -- '", false, 'under NO_BACKSLASH_ESCAPES this is two statements'],
  ["SELECT 'a\\' FOR UPDATE -- '", false, 'under NO_BACKSLASH_ESCAPES this locks'],
  ['SELECT "a\\" ; DELETE FROM t; -- "', false, 'under ANSI_QUOTES this is two statements'],
  ['SELECT "a\\" FROM t UNION SELECT GET_LOCK("x", 1) -- "', false, 'under ANSI_QUOTES this calls GET_LOCK'],
  ['\u017Felect 1', false, 'U+017F upper-cases to S in JavaScript but is not a keyword'],
];

describe('isReadOnlyStatement', () => {
  for (const [sql, expected, why] of cases) {
    test(`${expected ? 'read-only' : 'not read-only'}: ${JSON.stringify(sql)}${why ? ` (${why})` : ''}`, () => {
      assert.equal(isReadOnlyStatement(sql), expected);
    });
  }

  test('non-string input is not read-only', () => {
    assert.equal(isReadOnlyStatement(undefined as unknown as string), false);
    assert.equal(isReadOnlyStatement({ sql: 'SELECT 1' } as unknown as string), false);
  });

  test('runs in linear time on large and hostile input', () => {
    const big = `SELECT * FROM t WHERE id IN (${Array.from({ length: 200_000 }, (_, i) => i).join(', ')})`;
    const nested = `${'('.repeat(100_000)}SELECT 1${')'.repeat(100_000)}`;
    // Neither of these is valid SQL: they only must not overflow the stack or go quadratic.
    const ctes = `${'WITH a AS (SELECT 1) '.repeat(20_000)}SELECT 1`;
    const unbalanced = `SELECT ${"'x\\'".repeat(50_000)}`;
    const started = performance.now();
    assert.equal(isReadOnlyStatement(big), true);
    assert.equal(isReadOnlyStatement(`${big} FOR UPDATE`), false);
    assert.equal(isReadOnlyStatement(nested), true);
    assert.equal(typeof isReadOnlyStatement(ctes), 'boolean');
    assert.equal(typeof isReadOnlyStatement(unbalanced), 'boolean');
    assert.ok(performance.now() - started < 2000, 'took too long');
  });
});
