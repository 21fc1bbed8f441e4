import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { statementFacts } from '../../src/statement.js';

// [sql, plainRead, singleAtomic, why]
const cases: ReadonlyArray<readonly [string, boolean, boolean, string?]> = [
  ['SELECT 1', true, true],
  ['SELECT * FROM t FOR UPDATE', false, true, 'a locking read is one statement refused as a whole'],
  ["SELECT * FROM t INTO OUTFILE '/tmp/x'", false, true],
  ['INSERT INTO t (a, b) VALUES (1, 2)', false, true, 'column list after the table name is not a call'],
  ['INSERT INTO db.t (a) VALUES (NOW())', false, true, 'qualified table name, then a column list'],
  ['INSERT IGNORE t(a) VALUES (1)', false, true],
  ['INSERT LOW_PRIORITY IGNORE INTO `t` (`a`) SELECT a FROM u', false, true],
  ['REPLACE INTO t (a) VALUES (1)', false, true],
  ['INSERT INTO t PARTITION (p0) (a) VALUES (1)', false, true],
  ['UPDATE t SET a = a + 1 WHERE id IN (1, 2)', false, true],
  ['DELETE FROM t WHERE id = 1', false, true],
  ['INSERT INTO t (a) VALUES (log_hit(1))', false, false, 'a stored function may have written before the refusal'],
  ['UPDATE seq SET id = LAST_INSERT_ID(id + 1)', false, false],
  ['CALL p()', false, false],
  ['EXECUTE stmt', false, false],
  ["EXECUTE IMMEDIATE 'INSERT INTO t VALUES (1)'", false, false],
  ['BEGIN NOT ATOMIC INSERT INTO t VALUES (1); END', false, false],
  ['INSERT INTO t VALUES (1); INSERT INTO t VALUES (2)', false, false],
  ['SET STATEMENT max_statement_time = 1 FOR CALL p()', false, false],
  ['SET STATEMENT max_statement_time = 1 FOR INSERT INTO t VALUES (1)', false, false],
  ['SET @a = 1', false, true],
  ['CREATE TABLE t (id INT PRIMARY KEY, name VARCHAR(20), KEY k (name))', false, true],
  ['ALTER TABLE t ADD COLUMN c INT', false, true],
  ['DROP TABLE t', false, true],
  ['START TRANSACTION', false, false],
  ['COMMIT', false, false],
  ['DO 1', false, true],
  ["DO GET_LOCK('x', 1)", false, false],
  ["/*!50000 INSERT INTO t VALUES (1) */", false, false],
  ['WITH c AS (SELECT 1) UPDATE t JOIN c SET t.a = 1', false, true],
  ['WITH c (x) AS (SELECT 1) SELECT x FROM c', true, true, 'CTE column list'],
  ['SELECT @a := 1', false, true],
];

describe('statementFacts', () => {
  for (const [sql, plainRead, singleAtomic, why] of cases) {
    test(`${JSON.stringify(sql)} → plainRead ${plainRead}, singleAtomic ${singleAtomic}${why ? ` (${why})` : ''}`, () => {
      assert.deepEqual({ ...statementFacts(sql) }, { plainRead, singleAtomic });
    });
  }
});
