/**
 * Pool-level calls never leave a transaction behind (issue 8): a pool-level `query`/`execute` that leaves its
 * connection inside a transaction or with autocommit off fails with POOL_TRANSACTION_LEFT_OPEN and its connection
 * is closed, so the server rolls back and nothing the call did is acknowledged. Every test counts the rows the
 * server committed against the rows the pool acknowledged. Plain reads and autocommit writes are unaffected.
 * The last part uses the server as the judge of the text tracker of held connections (transactions.ts).
 */
import assert from 'node:assert/strict';
import { after, afterEach, beforeEach, describe, test } from 'node:test';
import { assertNoHandlesLeft } from '../support/handles.js';
import { usePrivateServer } from '../support/private-server.js';
import { bounded, until } from '../support/wait.js';
import mysql from 'mysql2';
import type { PoolConnection, ResultSetHeader } from 'mysql2';
import { createResilientPool } from '../../src/index.js';
import { createResilientPool as createPromisePool } from '../../src/promise.js';
import type { ResilientPool } from '../../src/pool.js';
import { noteStatement } from '../../src/transactions.js';

const T = { timeout: 20_000 };
const CODE = 'POOL_TRANSACTION_LEFT_OPEN';

const server = usePrivateServer({
  setup: async () => {
    await server.admin('CREATE TABLE tx_t (id INT PRIMARY KEY AUTO_INCREMENT, v INT) ENGINE=InnoDB');
    await server.admin('CREATE PROCEDURE begins() BEGIN START TRANSACTION; INSERT INTO tx_t (v) VALUES (1); END');
    await server.admin('CREATE PROCEDURE begins_rows() BEGIN START TRANSACTION; INSERT INTO tx_t (v) VALUES (1); SELECT 1 AS a; END');
    await server.admin('CREATE PROCEDURE begins_fails() BEGIN START TRANSACTION; INSERT INTO tx_t (v) VALUES (1); INSERT INTO no_such_table VALUES (1); END');
    await server.admin('CREATE PROCEDURE commits() BEGIN START TRANSACTION; INSERT INTO tx_t (v) VALUES (1); COMMIT; SELECT 1 AS a; END');
    await server.admin("CREATE PROCEDURE signals() BEGIN SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'invalid'; END");
    await server.admin(
      "CREATE PROCEDURE rolls_back() BEGIN DECLARE EXIT HANDLER FOR SQLEXCEPTION BEGIN ROLLBACK; RESIGNAL; END; START TRANSACTION; INSERT INTO tx_t (v) VALUES (1); SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'invalid'; END",
    );
  },
});
after(async () => {
  // Last, with everything closed: no socket or timer is left (test/support/handles.ts).
  await assertNoHandlesLeft();
});

async function committedRows(): Promise<number> {
  const rows = await server.admin<Array<{ n: number }>>('SELECT COUNT(*) AS n FROM tx_t');
  return Number(rows[0]!.n);
}

interface Evicted {
  threadId: number | null;
  reason: string;
}

/** A callback pool with its evictions recorded. */
function makePool(extra: Record<string, unknown> = {}): { pool: ResilientPool; evicted: Evicted[] } {
  const pool = createResilientPool({ ...server.connectionOptions(), connectionLimit: 2, ...extra });
  const evicted: Evicted[] = [];
  pool.on('evict', (conn: PoolConnection, reason: string) => evicted.push({ threadId: conn.threadId, reason }));
  return { pool, evicted };
}

/** What a pool-level call resolves with: rows, results, or an OK packet. */
type Reply = Array<Record<string, unknown>> & Partial<ResultSetHeader>;

function query(pool: ResilientPool, sql: string, values?: unknown[]): Promise<Reply> {
  return new Promise((resolve, reject) => pool.query(sql, values ?? [], (err, rows) => (err ? reject(err) : resolve(rows as Reply))));
}

function execute(pool: ResilientPool, sql: string, values?: Array<string | number>): Promise<Reply> {
  return new Promise((resolve, reject) => pool.execute(sql, values ?? [], (err, rows) => (err ? reject(err) : resolve(rows as Reply))));
}

function end(pool: { end(cb: (err?: unknown) => void): void }): Promise<unknown> {
  return bounded(new Promise((resolve) => pool.end(resolve)), 10_000, 'pool.end()');
}

/** Runs `call`; returns the error it failed with, or undefined when it succeeded. */
async function failure(call: () => Promise<unknown>): Promise<(Error & { code?: unknown; attempts?: number }) | undefined> {
  try {
    await call();
    return undefined;
  } catch (err) {
    return err as Error & { code?: unknown };
  }
}

/** No transaction is open on the server (XA included): every connection has rolled back. */
async function noOpenTransactions(): Promise<void> {
  await until(
    async () => {
      const trx = await server.admin<Array<{ n: number }>>('SELECT COUNT(*) AS n FROM information_schema.INNODB_TRX');
      return Number(trx[0]!.n) === 0;
    },
    10_000,
    'every transaction to be rolled back',
  );
  const xa = await server.admin<unknown[]>('XA RECOVER');
  assert.equal(xa.length, 0, 'no XA transaction left prepared');
}

beforeEach(async () => {
  await server.admin('TRUNCATE TABLE tx_t');
});
afterEach(async () => {
  await noOpenTransactions();
});

describe('the scenarios that lost acknowledged writes', T, () => {
  test('BEGIN, INSERT, a read whose connection is killed (retried elsewhere), COMMIT: committed = acknowledged', async () => {
    const { pool, evicted } = makePool();
    let acknowledged = 0;
    try {
      const begin = await failure(() => query(pool, 'BEGIN'));
      assert.equal(begin?.code, CODE, 'BEGIN through the pool fails');
      assert.deepEqual(
        evicted.map((e) => e.reason),
        ['in-transaction'],
      );
      if (!(await failure(() => query(pool, 'INSERT INTO tx_t (v) VALUES (1)')))) acknowledged++;
      // A read killed mid-flight is retried on another connection: fine, it is a read.
      const read = query(pool, 'SELECT SLEEP(2) AS s');
      let thread = 0;
      await until(
        async () => {
          const rows = await server.admin<Array<{ ID: number }>>(
            "SELECT ID FROM information_schema.PROCESSLIST WHERE INFO = 'SELECT SLEEP(2) AS s'",
          );
          thread = Number(rows[0]?.ID ?? 0);
          return thread > 0;
        },
        5_000,
        'the read to be running',
      );
      await server.admin(`KILL ${thread}`);
      assert.deepEqual(await bounded(read, 10_000, 'the retried read'), [{ s: 0 }]);
      if (!(await failure(() => query(pool, 'COMMIT')))) acknowledged++;
      assert.equal(acknowledged, 2, 'the INSERT and the (empty) COMMIT succeed');
      assert.equal(await committedRows(), 1, 'the acknowledged INSERT is committed');
    } finally {
      await end(pool);
    }
  });

  test('SET autocommit=0, then two INSERTs: the SET fails; the INSERTs are committed', async () => {
    const { pool, evicted } = makePool();
    try {
      const set = await failure(() => query(pool, 'SET autocommit=0'));
      assert.equal(set?.code, CODE);
      let acknowledged = 0;
      for (let i = 0; i < 2; i++) if (!(await failure(() => query(pool, 'INSERT INTO tx_t (v) VALUES (?)', [i])))) acknowledged++;
      assert.equal(acknowledged, 2);
      assert.equal(await committedRows(), acknowledged);
      assert.deepEqual(
        evicted.map((e) => e.reason),
        ['in-transaction'],
      );
    } finally {
      await end(pool);
    }
  });
});

describe('a pool-level call that leaves a transaction open fails, and nothing it did is committed', T, () => {
  const cases: Array<{ name: string; sql: string; multipleStatements?: boolean; kind?: 'query' | 'execute' }> = [
    { name: 'BEGIN; INSERT in one string', sql: 'BEGIN; INSERT INTO tx_t (v) VALUES (1)', multipleStatements: true },
    { name: 'BEGIN; INSERT; SELECT in one string (rows last)', sql: 'BEGIN; INSERT INTO tx_t (v) VALUES (1); SELECT 1 AS a', multipleStatements: true },
    { name: 'INSERT; SET autocommit=0; INSERT', sql: 'SET autocommit=0; INSERT INTO tx_t (v) VALUES (1)', multipleStatements: true },
    { name: 'START TRANSACTION READ ONLY', sql: 'START TRANSACTION READ ONLY' },
    { name: 'START TRANSACTION', sql: 'START TRANSACTION' },
    { name: 'XA START', sql: "XA START 'pool-xa'" },
    { name: 'SET autocommit=0', sql: 'SET autocommit=0' },
    { name: 'SET SESSION autocommit=OFF (a SET list)', sql: "SET sql_mode='', SESSION autocommit=OFF" },
    { name: 'CALL of a procedure that begins a transaction', sql: 'CALL begins()' },
    { name: 'CALL of a procedure that begins a transaction and returns rows', sql: 'CALL begins_rows()' },
    { name: 'a compound statement that begins a transaction', sql: 'BEGIN NOT ATOMIC START TRANSACTION; INSERT INTO tx_t (v) VALUES (1); END' },
    { name: 'execute(): CALL of a procedure that begins a transaction', sql: 'CALL begins()', kind: 'execute' },
    { name: 'execute(): a prepared START TRANSACTION', sql: 'START TRANSACTION', kind: 'execute' },
  ];
  for (const c of cases) {
    test(c.name, async () => {
      const { pool, evicted } = makePool({ multipleStatements: c.multipleStatements ?? false });
      try {
        const err = await failure(() => (c.kind === 'execute' ? execute(pool, c.sql) : query(pool, c.sql)));
        assert.equal(err?.code, CODE, `${c.sql}: ${err?.message ?? 'succeeded'}`);
        assert.equal(err.attempts, 1);
        assert.match(err.message, /getConnection\(\)/);
        assert.deepEqual(
          evicted.map((e) => e.reason),
          ['in-transaction'],
        );
        await noOpenTransactions();
        assert.equal(await committedRows(), 0, 'nothing the call did is committed');
        // The pool goes on: the next call gets a clean connection.
        const ok = await query(pool, 'INSERT INTO tx_t (v) VALUES (2)');
        assert.equal(ok.affectedRows, 1);
        assert.equal(await committedRows(), 1);
      } finally {
        await end(pool);
      }
    });
  }

  test('the promise API rejects the same way', async () => {
    const pool = createPromisePool({ ...server.connectionOptions(), multipleStatements: true });
    try {
      await assert.rejects(pool.query('BEGIN; INSERT INTO tx_t (v) VALUES (1)'), { code: CODE });
      await assert.rejects(pool.execute('CALL begins()'), { code: CODE });
      await assert.rejects(pool.query('XA START ?', ['p']), { code: CODE });
      await noOpenTransactions();
      assert.equal(await committedRows(), 0);
    } finally {
      await bounded(pool.end(), 10_000, 'pool.end()');
    }
  });

  // An ERR packet carries no status: after a failed statement with a sign of a transaction in its text, the server is
  // asked (DO 0) before the connection is reused; it is closed when a transaction is open.
  const failed = [
    { name: 'a failed CALL that had begun a transaction', sql: 'CALL begins_fails()', code: 'ER_NO_SUCH_TABLE' },
    {
      name: 'a failed BEGIN; INSERT; INSERT <bad> in one string',
      sql: 'BEGIN; INSERT INTO tx_t (v) VALUES (1); INSERT INTO tx_t (nope) VALUES (1)',
      code: 'ER_BAD_FIELD_ERROR',
    },
  ];
  for (const f of failed) {
    test(`${f.name}: mysql2's error kept, connection closed, nothing committed`, async () => {
      const { pool, evicted } = makePool({ multipleStatements: true });
      try {
        const err = await failure(() => query(pool, f.sql));
        assert.equal(err?.code, f.code, "mysql2's error passed on as it is");
        await until(() => evicted.length > 0, 5_000, 'the connection to be closed');
        assert.deepEqual(
          evicted.map((e) => e.reason),
          ['in-transaction'],
        );
        await noOpenTransactions();
        assert.equal(await committedRows(), 0);
      } finally {
        await end(pool);
      }
    });
  }
});

describe('queries without a callback (events, .stream())', T, () => {
  /** Runs an event-style pool query; resolves with what it emitted, in order. */
  function events(pool: ResilientPool, sql: string): Promise<string[]> {
    return bounded(
      new Promise((resolve) => {
        const seen: string[] = [];
        const q = pool.query(sql);
        q.on('result', () => seen.push('result'));
        q.on('error', (err: Error & { code?: unknown }) => seen.push(`error ${String(err.code)}`));
        q.on('end', () => resolve([...seen, 'end']));
      }),
      10_000,
      sql,
    );
  }

  test('plain queries give their connection back (one connection, three calls)', async () => {
    const { pool, evicted } = makePool({ connectionLimit: 1, acquireTimeout: 3_000 });
    try {
      for (let i = 0; i < 3; i++) assert.deepEqual(await events(pool, 'SELECT 1 AS a'), ['result', 'end']);
      assert.deepEqual(await events(pool, 'INSERT INTO tx_t (v) VALUES (1)'), ['result', 'end']);
      assert.deepEqual(evicted, []);
      assert.equal(await committedRows(), 1);
    } finally {
      await end(pool);
    }
  });

  test("BEGIN and a CALL that begins a transaction: 'error' before 'end', connection closed, nothing committed", async () => {
    const { pool, evicted } = makePool({ connectionLimit: 1, acquireTimeout: 3_000 });
    try {
      assert.deepEqual(await events(pool, 'BEGIN'), ['result', `error ${CODE}`, 'end']);
      assert.deepEqual(await events(pool, 'CALL begins()'), ['result', `error ${CODE}`, 'end']);
      await until(() => evicted.length === 2, 5_000, 'both connections to be closed');
      assert.deepEqual(
        evicted.map((e) => e.reason),
        ['in-transaction', 'in-transaction'],
      );
      await noOpenTransactions();
      assert.equal(await committedRows(), 0);
    } finally {
      await end(pool);
    }
  });

  test('a stream of a CALL that begins a transaction fails', async () => {
    const { pool } = makePool({ connectionLimit: 1, acquireTimeout: 3_000 });
    try {
      const rows: unknown[] = [];
      const err = await bounded(
        new Promise<Error & { code?: unknown }>((resolve, reject) => {
          const stream = pool.query('CALL begins_rows()').stream();
          stream.on('data', (r: unknown) => rows.push(r));
          stream.on('error', resolve);
          stream.on('end', () => reject(new Error('the stream ended without an error')));
        }),
        10_000,
        'the stream',
      );
      assert.equal(err.code, CODE);
      await noOpenTransactions();
      assert.equal(await committedRows(), 0);
    } finally {
      await end(pool);
    }
  });
});

describe('plain reads and autocommit writes are unaffected', T, () => {
  test('reads, writes, complete transactions in one string, CALLs that commit: all succeed, no connection closed', async () => {
    const { pool, evicted } = makePool({ multipleStatements: true });
    try {
      assert.deepEqual(await query(pool, 'SELECT 1 AS a'), [{ a: 1 }]);
      // A column named like the OK packet's field is a row, not a status.
      assert.deepEqual(await query(pool, 'SELECT 0 AS serverStatus'), [{ serverStatus: 0 }]);
      assert.deepEqual(await execute(pool, 'SELECT ? AS a', [2]), [{ a: 2 }]);
      assert.equal((await query(pool, 'INSERT INTO tx_t (v) VALUES (1)')).affectedRows, 1);
      assert.equal((await execute(pool, 'INSERT INTO tx_t (v) VALUES (?)', [1])).affectedRows, 1);
      assert.equal((await query(pool, 'INSERT INTO tx_t (v) VALUES (1); INSERT INTO tx_t (v) VALUES (1)')).length, 2);
      assert.equal((await query(pool, 'SELECT 1; SELECT 2')).length, 2);
      assert.equal((await query(pool, 'BEGIN; INSERT INTO tx_t (v) VALUES (1); COMMIT')).length, 3);
      assert.equal((await query(pool, 'START TRANSACTION; INSERT INTO tx_t (v) VALUES (1); COMMIT; SELECT 1')).length, 4);
      await query(pool, 'CALL commits()');
      await query(pool, 'SET autocommit=1');
      await query(pool, 'SELECT * FROM tx_t FOR UPDATE');
      await query(pool, "SET @x = 'BEGIN'");
      assert.equal(await committedRows(), 7);
      assert.deepEqual(evicted, [], 'no connection was closed');
      assert.equal(pool.stats().errorsSurfaced, 0);
    } finally {
      await end(pool);
    }
  });

  for (const sql of ['CALL signals()', 'CALL rolls_back()']) {
    test(`a failed ${sql} that left nothing open keeps its connection (asked, not closed)`, async () => {
      const { pool, evicted } = makePool({ connectionLimit: 1 });
      try {
        const [{ id }] = (await query(pool, 'SELECT CONNECTION_ID() AS id')) as Array<{ id: number }>;
        const err = await failure(() => query(pool, sql));
        assert.equal(err?.code, 'ER_SIGNAL_EXCEPTION');
        // One connection: the next call waits until the probe has given it back.
        assert.deepEqual(await query(pool, 'SELECT CONNECTION_ID() AS id'), [{ id }]);
        assert.deepEqual(evicted, []);
        assert.equal(await committedRows(), 0);
      } finally {
        await end(pool);
      }
    });
  }

  test('a failed plain statement keeps its connection', async () => {
    const { pool, evicted } = makePool();
    try {
      assert.equal((await failure(() => query(pool, 'INSERT INTO tx_t (nope) VALUES (1)')))?.code, 'ER_BAD_FIELD_ERROR');
      assert.deepEqual(evicted, []);
    } finally {
      await end(pool);
    }
  });

  // Held connections: what the text cannot see, the server's flags in each reply do.
  const held: Array<{ name: string; statements: string[] }> = [
    { name: 'a CALL that began a transaction', statements: ['CALL begins()'] },
    { name: 'SELECT 1; BEGIN in one string', statements: ['SELECT 1; BEGIN; INSERT INTO tx_t (v) VALUES (1)'] },
    { name: 'a COMMIT that failed (XA transaction active)', statements: ["XA START 'held'", 'INSERT INTO tx_t (v) VALUES (1)', 'COMMIT'] },
    { name: 'COMMIT under completion_type=CHAIN', statements: ['SET completion_type = CHAIN', 'BEGIN', 'INSERT INTO tx_t (v) VALUES (1)', 'COMMIT', 'INSERT INTO tx_t (v) VALUES (1)'] },
    { name: 'a prepared START TRANSACTION', statements: ["PREPARE s FROM 'START TRANSACTION'", 'EXECUTE s', 'INSERT INTO tx_t (v) VALUES (1)'] },
  ];
  for (const h of held) {
    test(`held connection, ${h.name}: released, closed; only what was committed stays`, async () => {
      const { pool, evicted } = makePool({ multipleStatements: true });
      try {
        const conn = await new Promise<PoolConnection>((resolve, reject) => pool.getConnection((e, c) => (e ? reject(e) : resolve(c))));
        let committedBefore = 0;
        for (const sql of h.statements) {
          await new Promise<void>((resolve) => conn.query(sql, () => resolve()));
          if (sql === 'COMMIT') committedBefore = await committedRows();
        }
        conn.release();
        await until(() => evicted.length === 1, 5_000, 'the released connection to be closed');
        assert.equal(evicted[0]!.reason, 'in-transaction');
        await noOpenTransactions();
        assert.equal(await committedRows(), committedBefore);
      } finally {
        await end(pool);
      }
    });
  }

  test('held connections keep their rule: released inside a transaction, closed', async () => {
    const { pool, evicted } = makePool();
    try {
      const conn = await new Promise<PoolConnection>((resolve, reject) => pool.getConnection((e, c) => (e ? reject(e) : resolve(c))));
      await new Promise<void>((resolve, reject) => conn.query('BEGIN', (e) => (e ? reject(e) : resolve())));
      await new Promise<void>((resolve, reject) => conn.query('INSERT INTO tx_t (v) VALUES (1)', (e) => (e ? reject(e) : resolve())));
      conn.release();
      await until(() => evicted.length === 1, 5_000, 'the released connection to be closed');
      assert.equal(evicted[0]!.reason, 'in-transaction');
      await noOpenTransactions();
      assert.equal(await committedRows(), 0);
    } finally {
      await end(pool);
    }
  });
});

describe('the server judges the text tracker of held connections', T, () => {
  // Each sequence runs on one plain connection; after every statement the tracker must say "open" whenever the
  // server does (the other way round only costs a reconnect), and "closed" after a statement it reads as an end.
  const sequences: string[][] = [
    ['BEGIN', 'INSERT INTO tx_t (v) VALUES (1)', 'COMMIT'],
    ['begin work', 'ROLLBACK WORK'],
    ['START TRANSACTION', 'SAVEPOINT s', 'ROLLBACK\n  TO SAVEPOINT s', 'ROLLBACK'],
    ['START TRANSACTION', 'SAVEPOINT s', 'ROLLBACK WORK TO s', 'COMMIT AND NO CHAIN'],
    ['START TRANSACTION', 'SAVEPOINT s', 'ROLLBACK /* c */ TO SAVEPOINT s', 'ROLLBACK'],
    ['BEGIN', 'COMMIT AND  CHAIN', 'COMMIT'],
    ['BEGIN', 'COMMIT -- note\n AND CHAIN', 'ROLLBACK'],
    ['BEGIN', 'COMMIT /* c */ AND CHAIN', 'ROLLBACK'],
    ['BEGIN', 'ROLLBACK AND CHAIN', 'ROLLBACK AND NO CHAIN'],
    ['/* app */ START TRANSACTION READ ONLY', '# x\nCOMMIT'],
    ['START\n TRANSACTION WITH CONSISTENT SNAPSHOT', 'COMMIT;'],
    ['/*!40101 BEGIN */', 'ROLLBACK'],
    ["XA START 'j1'", 'INSERT INTO tx_t (v) VALUES (1)', "XA END 'j1'", "XA ROLLBACK 'j1'"],
    ['SET autocommit=0', 'INSERT INTO tx_t (v) VALUES (1)', 'COMMIT', 'SET autocommit=1'],
    ["SET sql_mode='', @@session.autocommit = OFF", 'SELECT 1', "SET time_zone='+00:00', autocommit = ON"],
    ['SET autocommit = 0', 'SET autocommit = DEFAULT'],
    ['BEGIN', 'ROLLBACK TO nosuch', 'ROLLBACK'],
    ['BEGIN', 'COMMIT garbage', 'ROLLBACK'],
  ];
  for (const seq of sequences) {
    test(seq.join(' | '), async () => {
      const conn = mysql.createConnection({ ...server.connectionOptions() });
      const run = (sql: string) =>
        new Promise<{ err: unknown; rows: Array<Record<string, unknown>> }>((resolve) =>
          conn.query(sql, (err, rows) => resolve({ err, rows: rows as Array<Record<string, unknown>> })),
        );
      const state = { inTransaction: false, autocommitOff: false };
      try {
        for (const sql of seq) {
          const effect = noteStatement(state, sql);
          await run(sql);
          const { rows } = await run('SELECT @@in_transaction AS it, @@autocommit AS ac');
          const serverOpen = Number(rows[0]!.it) === 1 || Number(rows[0]!.ac) === 0;
          const trackerOpen = state.inTransaction || state.autocommitOff;
          if (serverOpen) assert.ok(trackerOpen, `after ${JSON.stringify(sql)} the server is in a transaction, the tracker says no`);
          if (effect === 'end' || effect === 'autocommit-on') {
            assert.equal(serverOpen && !state.autocommitOff, false, `${JSON.stringify(sql)} read as an end, the server disagrees`);
          }
        }
      } finally {
        await run('ROLLBACK');
        await new Promise((resolve) => conn.end(resolve));
      }
    });
  }
});
