/**
 * Knex on the resilient pool. Knex 3.3 takes a ready-made driver pool in its `connectionPool` option (mutually
 * exclusive with `connection`): for `client: 'mysql2'` it unwraps a promise pool (`pool.pool || pool`), then uses
 * `getConnection(cb)` for every checkout and `release()` to give the connection back. Knex never ends a pool it was
 * given: `knex.destroy()` only drops its reference, and the application ends the pool.
 *
 * Checked here: select, insert, update, delete, transactions, streaming, both pool APIs, and a pool connection killed
 * on the server between two queries costing the application nothing.
 *
 * Every pool connects as its own server user, so the processlist shows exactly this file's connections.
 */
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { assertNoHandlesLeft } from '../support/handles.js';
import { usePrivateServer } from '../support/private-server.js';
import { knex, type Knex } from 'knex';
import { createResilientPool, ResilientPool, type ResilientPoolOptions } from '../../src/index.js';
import { createResilientPool as createPromisePool, ResilientPromisePool } from '../../src/promise.js';
import { killer, type TrackedConnection } from '../support/orm.js';
import { bounded, until } from '../support/wait.js';

const USER = 'rmp_knex';
const T = { timeout: 30_000 };
const TABLE = 'knex_people';

interface Person {
  id: number;
  name: string;
  age: number;
}

const server = usePrivateServer({
  users: [USER],
  setup: async () => {
    await server.admin(
      `CREATE TABLE test.${TABLE} (id INT AUTO_INCREMENT PRIMARY KEY, name VARCHAR(64) NOT NULL, age INT NOT NULL)`,
    );
  },
});

after(async () => {
  // Last, with everything closed: no socket or timer is left (test/support/handles.ts).
  await assertNoHandlesLeft();
});

// ---------------------------------------------------------------------------------------------------------------
// Helpers

const { serverThreads, killIdleConnections, killHeldConnection } = killer(() => server, USER);

interface Harness {
  db: Knex;
  /** The callback pool underneath (the promise pool's `.pool`). */
  pool: ResilientPool;
  conns: TrackedConnection[];
  evicted: string[];
}

/** The two pool APIs Knex accepts in `connectionPool`. */
const flavours = [
  {
    name: 'callback pool (createResilientPool from the main entry)',
    make(options: ResilientPoolOptions) {
      const client = createResilientPool(options);
      assert.ok(client instanceof ResilientPool);
      return {
        // Knex 3.3.0 types its mysql pool shape with `end(cb?: (err?: Error) => void)`, which mysql2's own Pool does not
        // satisfy either (mysql2 passes `null`), hence the cast; at run time Knex only calls getConnection().
        db: knex({ client: 'mysql2', connectionPool: client as Knex.ConnectionPool }),
        pool: client,
        end: () => new Promise<void>((resolve, reject) => client.end((err) => (err ? reject(err) : resolve()))),
      };
    },
  },
  {
    name: 'promise pool (resilient-mysql-pool/promise)',
    make(options: ResilientPoolOptions) {
      const client = createPromisePool(options);
      assert.ok(client instanceof ResilientPromisePool);
      return { // Knex 3.3.0 types its mysql pool shape with `end(cb?: (err?: Error) => void)`, which mysql2's own Pool does not
        // satisfy either (mysql2 passes `null`), hence the cast; at run time Knex only calls getConnection().
        db: knex({ client: 'mysql2', connectionPool: client as Knex.ConnectionPool }), pool: client.pool, end: () => client.end() };
    },
  },
];

async function connectionId(db: Knex | Knex.Transaction): Promise<number> {
  const [rows] = (await db.raw('SELECT CONNECTION_ID() AS id')) as [Array<{ id: number }>];
  return Number(rows[0]!.id);
}

for (const flavour of flavours) {
  /** Knex on a fresh pool of this flavour; Knex is destroyed and the pool ended whatever happens. */
  const withKnex = async (fn: (h: Harness) => Promise<void>): Promise<void> => {
    const { db, pool, end } = flavour.make({ ...server.connectionOptions(), user: USER, password: '' });
    const conns: TrackedConnection[] = [];
    const evicted: string[] = [];
    pool.on('connection', (c) => {
      const conn = c as unknown as TrackedConnection;
      conn.on('error', () => undefined);
      conns.push(conn);
    });
    pool.on('evict', (_conn: unknown, reason: string) => evicted.push(reason));
    try {
      await fn({ db, pool, conns, evicted });
    } finally {
      try {
        await bounded(db.destroy(), 15_000, 'knex.destroy()');
        // Knex does not own a pool passed in connectionPool: destroy() leaves it open and usable.
        await bounded(
          new Promise<void>((resolve, reject) => pool.query('SELECT 1', (err) => (err ? reject(err) : resolve()))),
          10_000,
          'a query on the pool after knex.destroy()',
        );
      } finally {
        await bounded(end(), 15_000, 'pool.end()');
      }
    }
    assert.equal(pool.stats().total, 0, 'the pool ended');
    await until(async () => (await serverThreads()).length === 0, 5_000, `no connection of ${USER} left on the server`);
  };

  describe(`Knex with connectionPool: the ${flavour.name}`, () => {
    test('select, insert, update, delete', T, async () => {
      await withKnex(async ({ db, pool, evicted }) => {
        await db(TABLE).del();

        const [id] = await db(TABLE).insert({ name: 'Ada', age: 36 });
        assert.ok(typeof id === 'number' && id > 0);
        await db(TABLE).insert([
          { name: 'Grace', age: 85 },
          { name: 'Edsger', age: 72 },
        ]);

        const adults = await db<Person>(TABLE).select('name').where('age', '>', 40).orderBy('name');
        assert.deepEqual(
          adults.map((p) => p.name),
          ['Edsger', 'Grace'],
        );
        const ada = await db<Person>(TABLE).where({ id }).first();
        assert.deepEqual({ ...ada }, { id, name: 'Ada', age: 36 });

        assert.equal(await db(TABLE).where({ name: 'Ada' }).update({ age: 37 }), 1);
        assert.equal(await db(TABLE).where({ name: 'Edsger' }).del(), 1);
        const [{ n }] = (await db(TABLE).count({ n: '*' })) as [{ n: number }];
        assert.equal(Number(n), 2);

        assert.equal(pool.stats().created, 1, 'sequential queries share one connection');
        assert.deepEqual(evicted, []);
      });
    });

    test('transactions: callback style commits and rolls back on a throw; explicit trx commit/rollback', T, async () => {
      await withKnex(async ({ db, pool, evicted }) => {
        await db(TABLE).del();

        const insideId = await db.transaction(async (trx) => {
          await trx(TABLE).insert({ name: 'committed', age: 1 });
          await trx(TABLE).where({ name: 'committed' }).update({ age: 2 });
          // A nested transaction is a savepoint; its failure keeps the outer work.
          await assert.rejects(
            trx.transaction(async (inner) => {
              await inner(TABLE).insert({ name: 'inner, rolled back', age: 3 });
              throw new Error('abort the savepoint');
            }),
            /abort the savepoint/,
          );
          return connectionId(trx);
        });
        assert.deepEqual(
          (await db<Person>(TABLE).select('name', 'age')).map((p) => [p.name, p.age]),
          [['committed', 2]],
        );

        await assert.rejects(
          db.transaction(async (trx) => {
            await trx(TABLE).insert({ name: 'thrown', age: 4 });
            throw new Error('abort the transaction');
          }),
          /abort the transaction/,
        );

        const trx = await db.transaction();
        await trx(TABLE).insert({ name: 'explicitly rolled back', age: 5 });
        await trx.rollback();
        const trx2 = await db.transaction({ isolationLevel: 'serializable' });
        await trx2(TABLE).insert({ name: 'explicitly committed', age: 6 });
        await trx2.commit();

        assert.deepEqual(
          (await db<Person>(TABLE).select('name').orderBy('id')).map((p) => p.name),
          ['committed', 'explicitly committed'],
        );
        // Knex ended every transaction before releasing, so the pool kept the connection.
        assert.equal(await connectionId(db), insideId);
        assert.equal(pool.stats().created, 1);
        assert.deepEqual(evicted, []);
      });
    });

    test('stream(): every row, in order', T, async () => {
      await withKnex(async ({ db, pool, evicted }) => {
        await db(TABLE).del();
        const N = 1_000;
        await db.batchInsert(
          TABLE,
          Array.from({ length: N }, (_, i) => ({ name: `row-${i}`, age: i })),
          250,
        );
        const ages: number[] = [];
        for await (const row of db<Person>(TABLE).select('age').orderBy('age').stream()) ages.push((row as Person).age);
        assert.deepEqual(
          ages,
          Array.from({ length: N }, (_, i) => i),
        );
        await until(() => pool.stats().inUse === 0, 5_000, 'the streaming connection to be given back');
        assert.deepEqual(evicted, [], 'a fully read stream leaves its connection reusable');
        assert.equal(await db(TABLE).where('age', '<', 10).del(), 10);
      });
    });

    test('survives a killed connection between two queries (select, insert, transaction)', T, async () => {
      await withKnex(async ({ db, pool, conns }) => {
        await db(TABLE).del();
        const rounds: Array<[string, () => Promise<unknown>]> = [
          ['select', () => db(TABLE).select()],
          ['insert', () => db(TABLE).insert({ name: 'after kill', age: 1 })],
          [
            'transaction',
            () =>
              db.transaction(async (trx) => {
                await trx(TABLE).insert({ name: 'after kill (trx)', age: 2 });
                return trx(TABLE).select();
              }),
          ],
          ['raw', () => db.raw(`SELECT COUNT(*) AS n FROM ${TABLE}`)],
        ];
        for (const [what, next] of rounds) {
          const killed = await killIdleConnections(conns);
          await bounded(next(), 10_000, `${what} after a kill`);
          const now = await connectionId(db);
          assert.ok(!killed.includes(now), `${what}: ran on a new connection, not on killed thread ${now}`);
        }
        assert.deepEqual(
          (await db<Person>(TABLE).select('name').orderBy('id')).map((p) => p.name),
          ['after kill', 'after kill (trx)'],
          'every write ran exactly once',
        );
        assert.equal(pool.stats().destroyed.broken, rounds.length, 'each killed connection was closed as broken');
      });
    });

    test('a connection killed inside a transaction: the transaction fails, nothing is half-written, the next query works', T, async () => {
      await withKnex(async ({ db, pool, conns }) => {
        await db(TABLE).del();
        let killedId = 0;
        await assert.rejects(
          db.transaction(async (trx) => {
            await trx(TABLE).insert({ name: 'before the kill', age: 1 });
            killedId = await connectionId(trx);
            await killHeldConnection(conns, killedId);
            await trx(TABLE).insert({ name: 'after the kill', age: 2 });
          }),
        (err: Error & { code?: string; cause?: Error & { code?: string } }) => {
            // A held connection is never retried behind the application's back: it gets mysql2's error.
            const text = [err.code, err.message, err.cause?.code, err.cause?.message].join(' ');
            assert.match(text, /PROTOCOL_CONNECTION_LOST|closed state|ECONNRESET|EPIPE/);
            return true;
          },
        );
        await until(() => pool.stats().inUse === 0, 5_000, 'the dead connection to be given back');
        assert.notEqual(await connectionId(db), killedId);
        assert.deepEqual(await db(TABLE).select(), [], 'the server rolled the transaction back');
      });
    });

    test('survives every connection of a busier pool being killed at once', T, async () => {
      await withKnex(async ({ db, pool, conns }) => {
        await Promise.all(Array.from({ length: 4 }, () => db.raw('SELECT SLEEP(0.05)')));
        assert.equal(pool.stats().total, 4);
        const killed = await killIdleConnections(conns);
        assert.equal(killed.length, 4);
        const ids = await bounded(
          Promise.all(Array.from({ length: 4 }, () => db.raw('SELECT CONNECTION_ID() AS id, SLEEP(0.05)'))),
          10_000,
          'queries after killing every connection',
        );
        for (const [rows] of ids as Array<[Array<{ id: number }>]>) assert.ok(!killed.includes(Number(rows[0]!.id)));
      });
    });
  });
}
