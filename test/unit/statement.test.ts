import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { isReadOnlyStatement, statementFacts } from '../../src/statement.js';
import { NON_CALL_KEYWORDS, SIDE_EFFECT_FREE_FUNCTIONS, SIDE_EFFECTING_CALLS } from '../../src/statement-functions.js';

// The adversarial corpus: text → expected facts. R: a plain read (and singleAtomic). A: singleAtomic, not a read.
// N: neither. `why` only where the SQL does not say it.
type Expect = 'R' | 'A' | 'N';
const corpus: ReadonlyArray<readonly [Expect, string, string?]> = [
  // ---- Plain reads.
  ['R', 'SELECT 1'],
  ['R', 'select * from users where id = ?', 'placeholder of a prepared statement'],
  ['R', 'SeLeCt\tCOUNT(*)\nFROM\tt'],
  ['R', '  \n\t SELECT 1', 'leading whitespace'],
  ['R', '\r\nSELECT\r1\r', '\\r is whitespace'],
  ['R', '\vSELECT\f1', 'vertical tab and form feed are whitespace'],
  ['R', 'SELECT 1;', 'one trailing semicolon'],
  ['R', 'SELECT 1 ; -- done\n /* really */  ', 'trailing semicolon, then only comments'],
  ['R', 'SHOW TABLES'],
  ["R", "show variables like 'wait_timeout'"],
  ['R', 'SHOW CREATE TABLE t'],
  ['R', 'DESCRIBE users'],
  ['R', 'DESC users'],
  ['R', "desc `db`.`users` 'na%'"],
  ['R', 'EXPLAIN users id', 'EXPLAIN tbl col is DESCRIBE'],
  ['R', 'EXPLAIN SELECT * FROM t'],
  ['R', 'EXPLAIN FORMAT=JSON SELECT 1'],
  ['R', 'EXPLAIN FORMAT JSON (SELECT 1)'],
  ['R', 'EXPLAIN EXTENDED SELECT 1'],
  ['R', 'EXPLAIN ANALYZE SELECT * FROM t', 'executes the query, which is a read'],
  ['R', 'ANALYZE FORMAT=JSON SELECT * FROM t', 'MariaDB ANALYZE of a SELECT'],
  ['R', 'ANALYZE SELECT 1'],
  ['R', 'WITH cte AS (SELECT 1 AS a) SELECT * FROM cte'],
  ['R', 'with recursive r (n) as (select 1 union all select n + 1 from r where n < 5) select * from r'],
  ['R', 'WITH a AS (SELECT 1), `b` (x) AS (SELECT (2)) SELECT * FROM a, b', 'two CTEs, a column list on the second'],
  ['R', 'WITH a (x, y) AS (SELECT 1, 2), b (z) AS (SELECT 3) SELECT * FROM a, b'],
  ['R', 'WITH a AS (SELECT 1) (SELECT * FROM a)'],
  ['R', 'SELECT * FROM (WITH c (x) AS (SELECT 1) SELECT x FROM c) d', 'nested WITH with a column list'],
  ['R', '(SELECT 1) UNION (SELECT 2)'],
  ['R', '((SELECT 1))'],
  ['R', '(WITH a AS (SELECT 1) SELECT * FROM a)'],
  ['R', 'VALUES ROW(1, 2), ROW(3, 4)'],
  ['R', 'VALUES (1, 2), (3, 4)', 'MariaDB table value constructor'],
  ['R', 'TABLE users'],
  ['R', 'SELECT * FROM t WHERE x IN (1, 2) AND y IN (SELECT y FROM u)'],
  ['R', 'SELECT * FROM t WHERE EXISTS (SELECT 1 FROM u WHERE u.id = t.id)'],
  ['R', 'SELECT * FROM t WHERE a = ANY (SELECT b FROM u) OR a = SOME (SELECT c FROM v)'],
  ['R', 'SELECT * FROM t, LATERAL (SELECT t.a) AS l'],
  ['R', 'SELECT COUNT(*) FROM (SELECT a FROM t) x'],
  ['R', 'SELECT * FROM (SELECT 1, 2) AS d (a, b)', 'derived table column list after AS'],
  ['R', 'SELECT * FROM (SELECT 1, 2) d (a, b)', 'derived table column list after ")"'],
  ['R', 'SELECT a, ROW_NUMBER() OVER (PARTITION BY b ORDER BY c) AS rn FROM t'],
  ['R', 'SELECT SUM(x) OVER w FROM t WINDOW w AS (ORDER BY y ROWS BETWEEN 1 PRECEDING AND CURRENT ROW)'],
  ['R', "SELECT CASE WHEN a > 1 THEN 'x' ELSE (SELECT 'y') END FROM t"],
  ['R', 'SELECT CAST(a AS CHAR(10)), CAST(b AS DECIMAL(10, 2)), CONVERT(c, CHAR(3)), CONVERT(d USING utf8mb4)'],
  ['R', 'SELECT CAST(a AS DATETIME(6)), CAST(b AS TIME(3)) FROM t', 'type after AS'],
  ['R', "SELECT JSON_EXTRACT(doc, '$.a'), doc->'$.b', doc->>'$.c', JSON_OBJECT('k', 1) FROM t"],
  ["R", "SELECT * FROM JSON_TABLE('[1]', '$[*]' COLUMNS (id FOR ORDINALITY, a INT PATH '$', NESTED PATH '$' COLUMNS (b VARCHAR(10) PATH '$'))) AS jt"],
  ['R', "SELECT DATE_ADD(NOW(), INTERVAL 1 DAY), DATE_FORMAT(d, '%Y'), EXTRACT(YEAR FROM d), TIMESTAMPDIFF(SECOND, a, b)"],
  ['R', "SELECT TRIM(LEADING 'x' FROM s), POSITION('a' IN s), SUBSTRING(s, 1, 2), GROUP_CONCAT(a ORDER BY b SEPARATOR ',')"],
  ['R', "SELECT * FROM t WHERE MATCH (a, b) AGAINST ('x' IN BOOLEAN MODE)"],
  ['R', "SELECT IF (a, 1, 2), LEFT (s, 2), REPLACE (s, 'a', 'b'), INSERT (s, 1, 1, 'x'), MOD (a, 2)", 'reserved keyword-named built-ins with a space'],
  ['R', 'SELECT * FROM t USE INDEX (i) FORCE INDEX FOR ORDER BY (j) IGNORE KEY (k)'],
  ['R', 'SELECT * FROM t PARTITION (p0, p1)'],
  ['R', 'SELECT * FROM t1 JOIN (t2, t3) ON (t1.a = t2.a) LEFT JOIN t4 USING (a)'],
  ['R', 'SELECT a FROM t GROUP BY a WITH ROLLUP HAVING COUNT(*) > 1'],
  ['R', 'SELECT (a, b) IN ((1, 2)), ROW(1, 2) = ROW(a, b) FROM t'],
  ['R', 'SELECT SLEEP(1), BENCHMARK(10, MD5(1)), RAND(), UUID(), CONNECTION_ID(), DATABASE(), VERSION()'],
  ['R', 'SELECT LAST_INSERT_ID()', 'LAST_INSERT_ID without an argument only reads'],
  ["R", "SELECT IS_FREE_LOCK('x'), IS_USED_LOCK('x')"],
  ['R', 'SELECT PREVIOUS VALUE FOR seq, LASTVAL(seq)', 'MariaDB: reads the last sequence value'],
  ['R', 'SELECT s.CURRVAL FROM DUAL', 'Oracle mode: reads the last sequence value'],
  ['R', 'SELECT * FROM get_lock_log WHERE nextval = 1', 'function names that are not called'],
  ["R", "SELECT * FROM t FOR SYSTEM_TIME AS OF TIMESTAMP '2026-01-01'", 'MariaDB temporal FOR'],
  ['R', 'SELECT /*+ MAX_EXECUTION_TIME(1000) SET_VAR(sort_buffer_size = 1M) */ * FROM t', 'optimiser hints'],
  ['R', '/*+ not a hint here */ SELECT 1'],
  ['R', 'SELECT /*+ BKA(`*/ 1 -- `) */ 1', 'a hint ends at its first */, even inside a quoted name'],
  ['N', 'SELECT /*+ QB_NAME(`*/ SELECT 1`) */ 1', 'so the rest is an unterminated identifier'],
  ['R', 'SELECT 1 -- FOR UPDATE', 'locking clause inside a comment'],
  ['R', 'SELECT 1 # INTO @x'],
  ['R', 'SELECT 1 /* ; DELETE FROM t */'],
  ['R', '-- comment\nSELECT 1'],
  ['R', '--\tcomment\nSELECT 1', '-- followed by a control character is a comment'],
  ['R', '--\rcomment FOR UPDATE\nSELECT 1', '-- then \\r: a comment that runs to \\n'],
  ['R', '--\x01x\nSELECT 1', '-- then another control character'],
  ['R', '--\x7fx\nSELECT 1', '-- then DEL'],
  ['R', 'SELECT 1 --', '-- at the very end'],
  ['R', '# comment\nSELECT 1'],
  ['R', '#\n#\nSELECT 1', 'a comment right after a newline'],
  ['R', '-- a\n-- b\nSELECT 1', 'two -- comments in a row'],
  ['R', '/* multi\nline */ -- x\n  # y\n/**/SELECT 1', 'several comments in a row'],
  ['R', 'SELECT 1 # comment with \r only, FOR UPDATE', 'a # comment ends at \\n, not \\r'],
  ['R', 'SELECT `for update`, `into`, `lock` FROM t', 'keywords as quoted identifiers'],
  ['R', "SELECT 'INTO' AS x, 'FOR UPDATE' AS y", 'keywords inside strings'],
  ['R', 'SELECT "FOR UPDATE; DELETE FROM t"', 'double-quoted string'],
  ['R', "SELECT * FROM t WHERE s = 'it''s FOR UPDATE'", "doubled '' inside a string"],
  ['R', 'SELECT * FROM t WHERE s = "say ""INTO"""', 'doubled "" inside a string'],
  ['R', 'SELECT `a``into` FROM t', 'doubled `` inside an identifier'],
  ['R', "SELECT * FROM t WHERE name = 'O\\'Brien'", "\\' (mysql2's escaping): other sql_modes reject the text unparsed"],
  ['R', 'SELECT * FROM t WHERE name = "O\\"Brien"', '\\" likewise: ANSI_QUOTES and NO_BACKSLASH_ESCAPES reject it'],
  ["R", "SELECT 'C:\\\\' AS dir", 'escaped backslash lexes the same in every sql_mode'],
  ["R", "SELECT 'a\\nb', 'tab\\t', 'nul\\0'", 'escapes that do not touch a quote'],
  ['R', "SELECT _utf8mb4'x' COLLATE utf8mb4_bin, X'41', x'41', N'y', n'y', B'01', b'01', 0x41, 0b01"],
  ['R', 'SELECT 1e5, 1E-5, 1e+5, 1.5, 1., .5, .5e1, 1.e5, 1.5e3, 1..2', 'numbers'],
  ['R', 'SELECT 1abc, 2024_sales.a FROM 2024_sales', 'identifiers that start with digits'],
  ['R', 'SELECT 0x, 0xg1, 0b2, 0X1F, 1e, 1ex FROM t', 'not numbers: identifiers'],
  ['R', "SELECT 'héllo', `naïve`, \"日本語 ok\" FROM t", 'non-ASCII inside literals and quoted identifiers'],
  ['R', '/* ünïcödé comment */ SELECT 1 -- ç\n', 'non-ASCII inside comments'],
  ['R', "SELECT 'é ' AS x", 'non-ASCII not right before a delimiter'],
  ['R', 'SELECT @a, @@session.sql_mode, @`b`, @\'c\'', 'reading variables'],
  ['R', 'SELECT 1-1, 1--1, a|b, ~a, !a, a<<2, a->\'$.x\' FROM t', 'operators'],
  ['R', 'SELECT 1 FROM DUAL WHERE 1 = 1 LIMIT 1 OFFSET 0'],
  ['R', "SELECT COUNT(DISTINCT a), MAX(b), JSON_ARRAYAGG(c) FROM t"],
  ['R', 'SELECT ST_AsText(POINT(1, 2)), ST_Distance(g, POINT(0, 0)) FROM t'],

  ['R', 'SELECT 1;--', '-- at the very end, after the ;'],
  ['R', '/*M not executable */ SELECT 1 /*x! nor this */', 'only /*! and /*M! are executable'],
  ['R', 'SELECT 0x09afAF(1), 0b01(2), 1e1(3), .5(4), 12(5), 0x1(6), 0b1(7)', 'a number before "(" is no call (a syntax error, no side effect)'],
  ['R', 'SELECT * FROM t WHERE a >= 1 AND b <= 2 AND c != 3 AND d <=> 4 AND e : = 5', 'comparisons; ": =" is no assignment'],
  ['N', 'SELECT 1x1(1)', 'an identifier (only 0x starts a hex literal), called'],
  ['N', 'SELECT 1b01(1)', 'an identifier (only 0b starts a binary literal), called'],
  ['R', 'SELECT LAST_INSERT_ID() + 1 AS next_id'],
  ['R', 'SELECT share, t.lock FROM t', 'SHARE not after FOR'],
  ['R', 'SELECT t.abcdefg, `t`.`1234567` FROM t', 'seven-letter qualified names that are not NEXTVAL'],
  ["R", "SELECT 'a\u007f'", 'DEL is ASCII'],
  ['R', String.raw`SELECT 'a\' FOR UPDATE 'b`, 'the NO_BACKSLASH_ESCAPES reading is rejected unparsed (unterminated literal)'],

  // ---- Reads that are not plain reads: locking, INTO, variable assignment.
  ['A', 'SELECT * FROM t FOR UPDATE'],
  ['A', 'select * from t for share'],
  ['A', 'SELECT * FROM t LOCK IN SHARE MODE'],
  ['A', 'SELECT * FROM t FOR UPDATE SKIP LOCKED'],
  ['A', 'SELECT * FROM t /* x */ FOR -- y\n UPDATE', 'comments between FOR and UPDATE'],
  ['A', 'SELECT * FROM t\rFOR\rUPDATE', '\\r between the words'],
  ['A', 'SELECT * FROM t\vFOR\fSHARE', '\\v and \\f between the words'],
  ['A', 'SELECT * FROM t LOCK\nIN\tSHARE MODE'],
  ['A', 'SELECT * FROM (SELECT * FROM t FOR UPDATE) x', 'locking subquery'],
  ['A', 'SELECT 1--1 FOR UPDATE', '"--" without a following space is arithmetic, not a comment'],
  ['A', 'SELECT 1 #\rx\nFOR UPDATE', 'the # comment ended at \\n'],
  ['A', 'SELECT a INTO @a FROM t'],
  ['A', 'SELECT a FROM t INTO @a'],
  ["A", "SELECT * FROM t INTO OUTFILE '/tmp/x'"],
  ["A", "SELECT * INTO DUMPFILE '/tmp/x' FROM t"],
  ['A', 'EXPLAIN FORMAT=JSON INTO @plan SELECT 1'],
  ['A', 'WITH cte AS (SELECT 1 FOR UPDATE) SELECT * FROM cte'],
  ['A', 'SELECT @n := @n + 1 AS rank FROM t', 'assigns a user variable'],
  ['A', 'SELECT @a:=1', ':= glued'],
  ['A', 'SELECT 1e0 INTO @x'],

  // ---- Writes: singleAtomic, not reads.
  ['A', 'INSERT INTO t VALUES (1)'],
  ['A', 'INSERT INTO t (a, b) VALUES (1, 2)', 'column list after the table name is not a call'],
  ['A', 'INSERT INTO db.t (a) VALUES (NOW())', 'qualified table name, then a column list'],
  ['A', 'INSERT INTO `db`.`t`(a) VALUES (1)'],
  ['A', 'INSERT IGNORE t(a) VALUES (1)'],
  ['A', 'INSERT LOW_PRIORITY IGNORE INTO `t` (`a`) SELECT a FROM u'],
  ['A', 'INSERT DELAYED INTO t (a) VALUES (1)'],
  ['A', 'INSERT HIGH_PRIORITY t (a) VALUES (1)'],
  ['A', 'INSERT INTO t (a) VALUES (1) ON DUPLICATE KEY UPDATE a = VALUES(a) + 1'],
  ['A', 'INSERT INTO t SET a = 1'],
  ['A', 'REPLACE INTO t (a) VALUES (1)'],
  ['A', 'INSERT INTO t PARTITION (p0) (a) VALUES (1)'],
  ['A', 'UPDATE t SET a = 1'],
  ['A', 'UPDATE t SET a = a + 1 WHERE id IN (1, 2)'],
  ['A', 'DELETE FROM t'],
  ['A', 'DELETE FROM t WHERE id = 1'],
  ['A', "LOAD DATA INFILE 'x' INTO TABLE t (a, b)"],
  ['A', 'CREATE TABLE t (id INT PRIMARY KEY, name VARCHAR(20), KEY k (name), UNIQUE KEY u (id, name))'],
  ['A', 'CREATE TABLE c (id INT, p INT, CONSTRAINT fk FOREIGN KEY (p) REFERENCES parent (id), CHECK (id > 0))'],
  ['A', 'ALTER TABLE t ADD c INT'],
  ['A', 'ALTER TABLE t ADD INDEX i (c), ADD FULLTEXT f (d), ADD SPATIAL s (g)'],
  ['A', 'DROP TABLE t'],
  ['A', 'RENAME TABLE a TO b'],
  ['A', 'TRUNCATE t'],
  ['A', 'DO SLEEP(1)'],
  ['A', 'DO 1'],
  ['A', 'SET @a = 1'],
  ['A', 'SET NAMES utf8mb4'],
  ['A', 'ANALYZE TABLE t', 'writes index statistics'],
  ['A', 'ANALYZE UPDATE t SET a = 1', 'MariaDB ANALYZE executes the UPDATE'],
  ['A', 'ANALYZE FORMAT=JSON DELETE FROM t'],
  ['A', 'EXPLAIN ANALYZE UPDATE t SET a = 1', 'EXPLAIN ANALYZE executes the UPDATE'],
  ['A', 'EXPLAIN ANALYZE DELETE FROM t'],
  ['A', 'EXPLAIN DELETE FROM t', 'not executed, but only queries are read'],
  ['A', 'EXPLAIN INSERT INTO t VALUES (1)'],
  ['A', 'EXPLAIN FOR CONNECTION 12'],
  ['A', 'EXPLAIN FORMAT=JSON t', 'modifiers then a table: not a form we read'],
  ['A', 'DESCRIBE 1', 'not a table name'],
  ['A', 'DESCRIBE t.', 'qualified name cut short'],
  ['A', 'DESCRIBE t c x', 'too many words'],
  ['A', 'DESCRIBE t 1', 'a number is no column name'],
  ['R', 'DESC `my table`'],
  ['R', 'DESC db.`my table` `a column`'],
  ['R', "DESC db.t 'a%'"],
  ['R', 'EXPLAIN FORMAT JSON SELECT * FROM t', 'FORMAT name without "="'],
  ['A', 'EXPLAIN ANALYZE WITH c AS (SELECT 1) DELETE FROM t WHERE a IN (SELECT * FROM c)', 'executes the DELETE'],
  ['A', 'ANALYZE FORMAT=SELECT', 'FORMAT takes the next word, even a keyword; no statement follows'],
  ['A', 'DO statement', 'a column named statement, not SET STATEMENT'],
  ['A', 'WITH cte AS (SELECT id FROM t) UPDATE t JOIN cte USING (id) SET a = 1'],
  ['A', 'WITH cte AS (SELECT 1) DELETE FROM t WHERE id IN (SELECT * FROM cte)'],
  ['A', 'WITH cte AS (SELECT 1) INSERT INTO t (a) SELECT * FROM cte'],
  ['A', 'CREATE TABLE t AS SELECT 1 AS a'],

  // ---- Neither: other statements, several statements, procedures.
  ['N', 'CALL proc()'],
  ['N', 'call proc'],
  ['N', 'EXECUTE stmt USING @a'],
  ["N", "EXECUTE IMMEDIATE 'INSERT INTO t VALUES (1)'"],
  ['N', 'BEGIN NOT ATOMIC INSERT INTO t VALUES (1); END'],
  ['N', 'BEGIN NOT ATOMIC END'],
  ['N', "IF 1 THEN SELECT 1; END IF"],
  ['N', 'lbl: BEGIN END'],
  ['N', 'SET STATEMENT max_statement_time = 1 FOR CALL p()'],
  ['N', 'SET STATEMENT max_statement_time = 1 FOR SELECT 1', 'SET STATEMENT wraps any statement: not judged'],
  ['N', "CREATE EVENT e ON SCHEDULE EVERY 1 DAY DO CALL p()"],
  ['N', 'BEGIN'],
  ['N', 'START TRANSACTION READ ONLY'],
  ['N', 'COMMIT'],
  ['N', 'ROLLBACK'],
  ["N", "XA START 'x'"],
  ["N", "PREPARE s FROM 'SELECT 1'"],
  ['N', 'KILL 5'],
  ['N', 'LOCK TABLES t READ'],
  ['N', 'UNLOCK TABLES'],
  ['N', 'HANDLER t READ FIRST'],
  ['N', 'FLUSH TABLES'],
  ['N', 'USE db'],
  ['N', 'GRANT SELECT ON *.* TO u'],
  ['N', 'SELECT 1; SELECT 2', 'multiple statements'],
  ['N', 'SELECT 1; DELETE FROM t'],
  ['N', 'SELECT 1;;'],
  ['N', 'SELECT 1; -- x\nSELECT 2'],
  ['N', '(SELECT 1); UPDATE t SET a = 1'],
  ['N', 'INSERT INTO t VALUES (1); INSERT INTO t VALUES (2)'],
  ['N', 'SELECT 1;INSERT INTO t VALUES (1)'],
  ['N', 'WITH cte AS (SELECT 1 SELECT 1', 'unbalanced parenthesis'],
  ['N', 'WITH cte SELECT 1', 'not a WITH list'],
  ['N', 'WITH cte AS SELECT 1'],
  ['N', 'WITH cte (a AS (SELECT 1) SELECT 1'],
  ['N', 'WITH 1 AS (SELECT 1) SELECT 1'],
  ['N', 'WITH (SELECT 1) SELECT 1', 'no CTE name'],
  ['N', 'WITH a b (SELECT 1) SELECT 1', 'no AS'],
  ['N', 'WITHOUT a AS (SELECT 1) SELECT 1', 'only WITH starts a list of CTEs'],
  ['N', 'WITH c AS (SELECT 1) HANDLER t READ FIRST'],
  ['N', '', 'empty'],
  ['N', '   ', 'blank'],
  ['N', '-- only a comment'],
  ['N', '( ( 1 ) )', 'parentheses around no query'],
  ['N', 'f(1)', 'not a statement'],
  ['N', '"SELECT 1"'],

  // ---- Lexer rules where the classifier and the server could disagree: "not sure" is "no".
  ['N', '/*!40101 SET NAMES utf8 */', 'executable comment'],
  ['N', '/*!50001 SELECT 1 */', 'executable comment, even of a SELECT'],
  ['N', '/*! SELECT 1 */', 'executable comment without a version'],
  ['N', '/*M!100100 SELECT 1 */', 'MariaDB executable comment'],
  ['N', '/*M! SELECT 1 */'],
  ['N', 'SELECT /*!40001 SQL_NO_CACHE */ * FROM t', 'executable comments are opaque anywhere'],
  ['N', 'SELECT 1 /*M!100500 , NEXTVAL(s) */', 'MariaDB executable comment in mid-statement'],
  ['N', 'SELECT 1 FROM t WHERE a = 1 /*M!100500 FOR UPDATE */'],
  ['N', 'INSERT INTO t VALUES (1) /*!50700 , (2) */'],
  ["N", "SELECT 'unterminated"],
  ['N', 'SELECT 1 /* unterminated'],
  ['N', 'SELECT 1 /*/ still a comment'],
  ['N', 'SELECT `unterminated'],
  ['N', 'SELECT "unterminated'],
  ["N", "SELECT 'ends with backslash\\'", 'the closing quote is escaped'],
  ['N', 'SELECT 1e0INTO OUTFILE \'/tmp/x\'', 'the server reads 1e0 INTO'],
  ['N', 'SELECT 1e0FROM t', 'number glued to a keyword'],
  ['N', 'SELECT 1.5INTO @a'],
  ['N', 'SELECT .5FROM t'],
  ['N', 'SELECT 1.e5abc'],
  ['N', 'SELECT 1.5e'],
  ['N', 'SELECT 1.5e+'],
  ['R', 'SELECT 0x1FINTO FROM t', 'hex digits then a letter: one identifier, 0x1FINTO, for the server too'],
  ['N', 'SELECT 0x1F$'],
  ['R', 'SELECT 0b01x FROM t', 'one identifier'],
  ['N', 'SELECT .5INTO @a', 'the server reads .5 INTO'],
  ['N', 'SELECT 1 FROM t WHERE a = .5e1FOR UPDATE'],
  ['N', 'SELECT 1e+5abc'],
  ['N', 'SELECT 1\u00a0FROM t', 'U+00A0 outside literals: whitespace in latin1'],
  ["N", "SELECT\u00a0NEXTVAL(s)"],
  ["N", "SELECT 1,\u00a0GET_LOCK('x', 1)"],
  ['N', 'SELECT 1 --\u00a0comment?\nFROM t', '-- then a character only the charset can classify'],
  ['N', 'SELECT ünïcode FROM t', 'non-ASCII unquoted identifier'],
  ['N', '\u017Felect 1', 'U+017F upper-cases to S in JavaScript but is not a keyword'],
  ['N', 'SELECT \ud83d\ude00', 'astral character outside literals'],
  ['N', 'SELECT $a FROM t', '$ in a name'],
  ['N', 'SELECT a$b FROM t'],
  ['N', 'SELECT $$ x $$', 'MySQL 9 dollar quoting'],
  ['N', 'SELECT 1\u0000', 'NUL'],
  ['N', 'SELECT 1 # \u0000\nFOR UPDATE', 'NUL ends a # comment on the server'],
  ["N", "SELECT 'a\u0000b'", 'NUL anywhere'],
  ["N", "SELECT '張三'", 'non-ASCII right before the closing quote'],
  ['N', 'SELECT `名前` FROM t', 'non-ASCII right before the closing backtick'],
  ['N', 'SELECT "é"'],
  ["N", "SELECT 'ソ\\\\' FROM t", 'non-ASCII right before a backslash'],
  ["N", "SELECT '\\é'"],
  ["N", "SELECT 'a\\ソ' FROM t", 'escaped non-ASCII character before the closing quote'],
  ["N", "SELECT * FROM t WHERE name = 'O\\' ; DELETE FROM t; -- '", 'under NO_BACKSLASH_ESCAPES this is two statements'],
  ["A", "SELECT 'a\\' FOR UPDATE -- '", 'under NO_BACKSLASH_ESCAPES this locks'],
  ["N", "SELECT 'a\\', GET_LOCK('x', 1) -- '", 'under NO_BACKSLASH_ESCAPES this calls GET_LOCK'],
  ["N", "INSERT INTO t VALUES ('a\\'); CALL p(); -- ')", 'under NO_BACKSLASH_ESCAPES a CALL follows'],
  ['N', 'SELECT "a\\" ; DELETE FROM t; -- "', 'under ANSI_QUOTES this is two statements'],
  ['N', 'SELECT "a\\" FROM t UNION SELECT GET_LOCK(\'x\', 1) -- "', 'under ANSI_QUOTES this calls GET_LOCK'],
  // Only one reading reveals the side effect, and in that reading the text is complete (no literal left open).
  ['N', String.raw`SELECT "\" , 'a\' , ' , GET_LOCK(1) , ' -- ' \"" AS c`, 'only the ANSI_QUOTES reading shows the call'],
  ['N', String.raw`SELECT "\" , 'a\' , ' , NEXTVAL(s) , ' -- ' \"" AS c`, 'only the ANSI_QUOTES reading shows NEXTVAL'],
  ['N', String.raw`SELECT "\" , 'a\' , ' ; DELETE FROM t ; ' -- ' \"" AS c`, 'only the ANSI_QUOTES reading has a second statement'],
  ['A', String.raw`SELECT "\" , 'a\' , ' FOR UPDATE ' -- ' \"" AS c`, 'only the ANSI_QUOTES reading locks'],
  ['R', String.raw`SELECT "\" , 'a\' , ' , CONCAT(1) , ' -- ' \"" AS c`, 'the same shape with nothing to reveal'],
  ['N', String.raw`SELECT 'a\' , GET_LOCK(1) , ' -- '`, 'only the NO_BACKSLASH_ESCAPES reading shows the call'],
  ['A', String.raw`SELECT 'a\' FOR UPDATE ' -- '`, 'only the NO_BACKSLASH_ESCAPES reading locks'],
  ['R', String.raw`SELECT 'a\' , CONCAT(1) , ' -- '`, 'the same shape with nothing to reveal'],
  ['R', String.raw`SELECT "a\" , 'b" AS c`, 'ANSI_QUOTES and NO_BACKSLASH_ESCAPES reject it unparsed (unterminated literal)'],
  ['N', String.raw`SELECT "a\" ; 'b" AS c`, 'under ANSI_QUOTES a ";" comes before the unterminated literal'],
  [
    'A',
    String.raw`SELECT '\' "\" INTO @v -- " '`,
    'only NO_BACKSLASH_ESCAPES (both quotes without escapes) shows INTO; escapes in "…" alone would hide it',
  ],

  ['N', String.raw`SELECT 'a\' , GET_LOCK(1) , 'x`, 'a call before the point where another reading is rejected still counts'],
  ['N', 'SELECT 9e9INTO @a'],
  ['N', 'SELECT 1e0a'],
  ['N', 'SELECT 1e0z'],
  ['N', 'SELECT 1e0A'],
  ['N', 'SELECT 1e0Z'],
  ['N', 'SELECT 1e0_'],
  ['N', 'SELECT 1\u0080', 'U+0080, the first non-ASCII character'],
  ["N", "SELECT '\u0080'"],
  ["N", "SELECT 'x\\\u0080'"],

  // ---- Function calls: only allow-listed built-ins, glued to "(".
  ["N", "SELECT GET_LOCK('x', 10)"],
  ["N", "SELECT release_lock('x')"],
  ['N', 'SELECT RELEASE_ALL_LOCKS()'],
  ["N", "SELECT get_lock /* c */ ('x', 1)", 'comment between name and parenthesis'],
  ["N", "SELECT `GET_LOCK`('x', 1)", 'quoted function name'],
  ["N", 'SELECT "GET_LOCK"(\'x\', 1)', 'ANSI_QUOTES function name'],
  ["N", "SELECT 1|GET_LOCK('x', 1)", 'operator glued to the name'],
  ["N", "SELECT ~GET_LOCK('x', 1)"],
  ["N", "SELECT -GET_LOCK('x', 1)"],
  ["N", "SELECT 1,GET_LOCK('x', 1)"],
  ["N", "SELECT(GET_LOCK('x', 1))"],
  ['N', 'SELECT NEXTVAL(seq)'],
  ['N', 'SELECT nextval (seq)'],
  ['N', 'SELECT SETVAL(seq, 10)'],
  ['N', 'SELECT NEXT VALUE FOR seq'],
  ['N', 'SELECT next /* x */ value for seq'],
  ['N', 'SELECT seq.NEXTVAL', 'sql_mode=ORACLE sequence step'],
  ['N', 'SELECT seq.nextval FROM DUAL'],
  ['N', 'SELECT db.seq . nextval'],
  ['N', 'SELECT `seq`.`NextVal`', 'quoted, still a sequence step in Oracle mode'],
  ['N', 'SELECT "seq"."NEXTVAL"'],
  ['N', 'SELECT LAST_INSERT_ID(42)', 'sets the session value'],
  ['N', 'SELECT LAST_INSERT_ID (42)'],
  ['N', 'SELECT 1 FROM t WHERE id = LAST_INSERT_ID(id + 1)'],
  ['N', 'UPDATE seq SET id = LAST_INSERT_ID(id + 1)'],
  ["N", "SELECT log_hit('x')", 'a stored function may write'],
  ["N", "SELECT db.log_hit('x')", 'qualified: never a built-in'],
  ["N", "SELECT db.CONCAT('x')", 'qualified built-in name is a stored function'],
  ["N", "SELECT CONCAT ('a', 'b')", 'a space before "(": may resolve to a stored function'],
  ["N", "SELECT COUNT (*) FROM t"],
  ["N", "SELECT SUM/**/(a) FROM t"],
  ['N', 'SELECT COALESCE (a, b) FROM t', 'non-reserved keyword with a space'],
  ['N', 'SELECT UUID_SHORT()'],
  ["N", "SELECT SERVICE_GET_WRITE_LOCKS('ns', 'l', 10)"],
  ["N", "SELECT service_get_read_locks('ns', 'l', 10)"],
  ["N", "SELECT SERVICE_RELEASE_LOCKS('ns')"],
  ["N", "SELECT version_tokens_lock_shared('t', 1)"],
  ["N", "SELECT MASTER_POS_WAIT('f', 4)"],
  ["N", "SELECT LOAD_FILE('/etc/passwd')"],
  ['N', 'SELECT * FROM t PROCEDURE ANALYSE()'],
  ['N', 'SELECT my_agg(a) FROM t', 'stored aggregate function'],
  ['N', 'SELECT 1abc(1)', 'identifier starting with a digit, called'],
  ['N', 'SELECT a FROM t WHERE b = f((SELECT 1))', 'a call whose argument is a subquery'],
  ['N', 'INSERT INTO t (a) VALUES (1) ON DUPLICATE KEY UPDATE a = f(VALUES(a))'],
  ['N', 'INSERT INTO t (a) VALUES (log_hit(1))', 'singleAtomic too: the function may have written'],
  ['N', "DO GET_LOCK('x', 1)"],
  ['N', 'SELECT x MEMBER OF (j) FROM t', 'not recognised: safe'],
  ['N', 'SELECT CONVERT(a, DATETIME(6))', 'a non-reserved type name glued to "(" outside AS'],
  ['N', 'CREATE FUNCTION f() RETURNS INT RETURN 1'],
  ['N', 'CREATE INDEX i ON t (a)', 'not recognised as a column list: safe'],
  ['N', 'CREATE EVENT e ON SCHEDULE EVERY 1 DAY DO CALL p', 'CALL anywhere'],
  ['N', 'SELECT 1 FROM t WHERE execute = 1', 'EXECUTE anywhere, even as a column name: conservative'],
  ['N', 'SELECT @x(1)'],
  ['R', 'SELECT * FROM t, LATERAL (WITH c AS (SELECT 1) SELECT * FROM c) d', 'a WITH query in parentheses is no argument list'],
  ['R', 'SELECT t.a nextval FROM t', 'an alias named nextval after a qualified name is no s.NEXTVAL'],
  ['N', 'SELECT (a) AND NOT log_hit(1) FROM t', 'a call after words that follow ")"'],
  ['A', 'EXPLAIN INSERT INTO t (a) VALUES (1)', '"INTO t (" opens a column list, also outside INSERT\'s own parse'],
  ['N', "SELECT * FROM (WITH 'a' (x) AS (SELECT 1), b (y) AS (SELECT 2) SELECT 1) d", 'a WITH list without a name: b (y) is a call'],
  ['R', 'WITH a AS (SELECT (1)), b (x) AS (SELECT 2) SELECT * FROM a, b', 'a ")" inside a CTE body does not end it'],
];

const EXPECTED: Record<Expect, { plainRead: boolean; singleAtomic: boolean }> = {
  R: { plainRead: true, singleAtomic: true },
  A: { plainRead: false, singleAtomic: true },
  N: { plainRead: false, singleAtomic: false },
};

describe('statementFacts: corpus', () => {
  for (const [expect, sql, why] of corpus) {
    test(`${expect}: ${JSON.stringify(sql)}${why ? ` (${why})` : ''}`, () => {
      assert.deepEqual({ ...statementFacts(sql) }, EXPECTED[expect]);
      assert.equal(isReadOnlyStatement(sql), EXPECTED[expect].plainRead);
    });
  }
});

describe('statementFacts: every side-effecting built-in', () => {
  for (const call of SIDE_EFFECTING_CALLS) {
    test(call, () => {
      for (const sql of [`SELECT ${call}`, `SELECT a FROM t WHERE b = ${call}`, `UPDATE t SET a = ${call}`]) {
        assert.deepEqual({ ...statementFacts(sql) }, EXPECTED.N, sql);
      }
    });
  }
});

describe('statementFacts: allow-lists', () => {
  test('every allow-listed function is a read when called glued, and a stored function when qualified', () => {
    for (const name of SIDE_EFFECT_FREE_FUNCTIONS) {
      const args = name === 'LAST_INSERT_ID' ? '' : '1';
      assert.equal(isReadOnlyStatement(`SELECT ${name}(${args})`), true, name);
      assert.equal(isReadOnlyStatement(`SELECT ${name.toLowerCase()}(${args}) FROM t`), true, name);
      assert.equal(isReadOnlyStatement(`SELECT db.${name}(${args})`), false, name);
      assert.equal(isReadOnlyStatement(`SELECT \`${name}\`(${args})`), false, name);
    }
  });

  test('every reserved non-call keyword may stand before "(" with a space', () => {
    for (const name of NON_CALL_KEYWORDS) {
      assert.equal(isReadOnlyStatement(`SELECT * FROM t WHERE a ${name} (1)`), name !== 'INTO', name);
    }
  });

  test('the lists hold upper-case names only', () => {
    for (const name of [...SIDE_EFFECT_FREE_FUNCTIONS, ...NON_CALL_KEYWORDS]) assert.match(name, /^[A-Z][A-Z0-9_]*$/);
  });
});

describe('statementFacts: input', () => {
  test('non-string input is neither', () => {
    assert.deepEqual({ ...statementFacts(undefined as unknown as string) }, EXPECTED.N);
    assert.equal(isReadOnlyStatement({ sql: 'SELECT 1' } as unknown as string), false);
  });

  test('results cannot be mutated by a caller', () => {
    const facts = statementFacts('SELECT 1') as { plainRead: boolean };
    assert.throws(() => {
      facts.plainRead = false;
    });
    assert.equal(statementFacts('SELECT 1').plainRead, true);
  });

  test('runs in linear time on large and hostile input', () => {
    const big = `SELECT * FROM t WHERE id IN (${Array.from({ length: 30_000 }, (_, i) => i).join(', ')})`;
    const nested = `${'('.repeat(20_000)}SELECT 1${')'.repeat(20_000)}`;
    // Neither of these is valid SQL: they only must not overflow the stack or go quadratic.
    const ctes = `${'WITH a AS (SELECT 1) '.repeat(5_000)}SELECT 1`;
    const unbalanced = `SELECT ${"'x\\'".repeat(10_000)}`;
    const quotes = `SELECT ${"'a\\'b', ".repeat(5_000)}1`;
    assert.equal(isReadOnlyStatement(big), true);
    assert.equal(isReadOnlyStatement(`${big} FOR UPDATE`), false);
    assert.equal(isReadOnlyStatement(nested), true);
    assert.equal(typeof isReadOnlyStatement(ctes), 'boolean');
    assert.equal(typeof isReadOnlyStatement(unbalanced), 'boolean');
    assert.equal(isReadOnlyStatement(quotes), true);
  });
});
