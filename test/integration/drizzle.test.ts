/**
 * Drizzle on the resilient pool: `drizzle({ client })` with the callback pool (`createResilientPool` from the main
 * entry, which Drizzle wraps with `.promise()` itself) and with the promise pool (`resilient-mysql-pool/promise`) works
 * unchanged (select, insert, update, delete, transactions with savepoints), and a pool connection killed on the server
 * between two queries costs the application nothing.
 *
 * Every pool connects as its own server user, so the processlist shows exactly this file's connections.
 */
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { assertNoHandlesLeft } from '../support/handles.js';
import { usePrivateServer } from '../support/private-server.js';
import { eq, gt, sql, TransactionRollbackError } from 'drizzle-orm';
import { int, mysqlTable, varchar } from 'drizzle-orm/mysql-core';
import { drizzle, type MySql2Database } from 'drizzle-orm/mysql2';
import { createResilientPool, ResilientPool, type ResilientPoolOptions } from '../../src/index.js';
import { createResilientPool as createPromisePool, ResilientPromisePool } from '../../src/promise.js';
import { killer, type TrackedConnection } from '../support/orm.js';
import { bounded, until } from '../support/wait.js';

const USER = 'rmp_drizzle';
const T = { timeout: 30_000 };

const people = mysqlTable('drizzle_people', {
  id: int('id').primaryKey().autoincrement(),
  name: varchar('name', { length: 64 }).notNull(),
  age: int('age').notNull(),
});

const server = usePrivateServer({
  users: [USER],
  setup: async () => {
    await server.admin(
      'CREATE TABLE test.drizzle_people (id INT AUTO_INCREMENT PRIMARY KEY, name VARCHAR(64) NOT NULL, age INT NOT NULL)',
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

type Db = MySql2Database<Record<string, never>>;

interface Harness {
  db: Db;
  /** The callback pool underneath (the promise pool's `.pool`). */
  pool: ResilientPool;
  conns: TrackedConnection[];
  evicted: string[];
}

/** The two ways to hand Drizzle the pool. */
const flavours = [
  {
    name: 'callback pool (createResilientPool from the main entry)',
    make(options: ResilientPoolOptions) {
      const client = createResilientPool(options);
      assert.ok(client instanceof ResilientPool);
      const db = drizzle({ client });
      // Drizzle keeps the client it was given.
      assert.equal(db.$client, client);
      return { db: db as Db, pool: client, end: () => new Promise<void>((resolve, reject) => client.end((err) => (err ? reject(err) : resolve()))) };
    },
  },
  {
    name: 'promise pool (resilient-mysql-pool/promise)',
    make(options: ResilientPoolOptions) {
      const client = createPromisePool(options);
      assert.ok(client instanceof ResilientPromisePool);
      const db = drizzle({ client });
      assert.equal(db.$client, client);
      return { db: db as Db, pool: client.pool, end: () => client.end() };
    },
  },
];

for (const flavour of flavours) {
  /** Drizzle on a fresh pool of this flavour; the pool is ended whatever happens. */
  const withDrizzle = async (fn: (h: Harness) => Promise<void>): Promise<void> => {
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
      await bounded(end(), 15_000, 'pool.end()');
    }
    assert.equal(pool.stats().total, 0, 'the pool ended');
    await until(async () => (await serverThreads()).length === 0, 5_000, `no connection of ${USER} left on the server`);
  };

  const connectionId = async (db: Db): Promise<number> => {
    const [rows] = (await db.execute(sql`SELECT CONNECTION_ID() AS id`)) as unknown as [Array<{ id: number }>];
    return Number(rows[0]!.id);
  };

  describe(`Drizzle with the ${flavour.name}`, () => {
    test('select, insert, update, delete', T, async () => {
      await withDrizzle(async ({ db, pool, evicted }) => {
        await db.delete(people);

        const [header] = await db.insert(people).values({ name: 'Ada', age: 36 });
        assert.equal(header.affectedRows, 1);
        assert.ok(header.insertId > 0);
        await db.insert(people).values([
          { name: 'Grace', age: 85 },
          { name: 'Edsger', age: 72 },
        ]);

        const adults = await db.select({ name: people.name }).from(people).where(gt(people.age, 40)).orderBy(people.name);
        assert.deepEqual(
          adults.map((p) => p.name),
          ['Edsger', 'Grace'],
        );
        const [ada] = await db.select().from(people).where(eq(people.id, header.insertId));
        assert.deepEqual(ada, { id: header.insertId, name: 'Ada', age: 36 });

        const [updated] = await db.update(people).set({ age: 37 }).where(eq(people.name, 'Ada'));
        assert.equal(updated.affectedRows, 1);
        const [deleted] = await db.delete(people).where(eq(people.name, 'Edsger'));
        assert.equal(deleted.affectedRows, 1);

        const [{ count }] = (await db.select({ count: sql<number>`count(*)` }).from(people)) as [{ count: number }];
        assert.equal(Number(count), 2);
        // A prepared statement (execute() on the pool).
        const byName = db
          .select()
          .from(people)
          .where(eq(people.name, sql.placeholder('name')))
          .prepare();
        assert.deepEqual(
          (await byName.execute({ name: 'Grace' })).map((p) => p.age),
          [85],
        );

        assert.equal(pool.stats().created, 1, 'sequential queries share one connection');
        assert.deepEqual(evicted, []);
      });
    });

    test('transactions commit, roll back (throw and tx.rollback()), nest with savepoints', T, async () => {
      await withDrizzle(async ({ db, pool, evicted }) => {
        await db.delete(people);

        const insideId = await db.transaction(async (tx) => {
          await tx.insert(people).values({ name: 'committed', age: 1 });
          await tx.update(people).set({ age: 2 }).where(eq(people.name, 'committed'));
          // A nested transaction is a savepoint; its rollback keeps the outer work.
          await assert.rejects(
            tx.transaction(async (inner) => {
              await inner.insert(people).values({ name: 'inner, rolled back', age: 3 });
              inner.rollback();
            }),
            TransactionRollbackError,
          );
          const [rows] = (await tx.execute(sql`SELECT CONNECTION_ID() AS id`)) as unknown as [Array<{ id: number }>];
          return Number(rows[0]!.id);
        });
        assert.deepEqual(
          (await db.select().from(people)).map((p) => [p.name, p.age]),
          [['committed', 2]],
        );

        await assert.rejects(
          db.transaction(async (tx) => {
            await tx.insert(people).values({ name: 'thrown', age: 4 });
            throw new Error('abort the transaction');
          }),
          /abort the transaction/,
        );
        await assert.rejects(
          db.transaction(async (tx) => {
            await tx.insert(people).values({ name: 'rolled back', age: 5 });
            tx.rollback();
          }),
          TransactionRollbackError,
        );
        assert.deepEqual(
          (await db.select({ name: people.name }).from(people)).map((p) => p.name),
          ['committed'],
        );

        // With an isolation level (Drizzle sends SET TRANSACTION first).
        const n = await db.transaction(async (tx) => (await tx.select().from(people)).length, { isolationLevel: 'serializable' });
        assert.equal(n, 1);

        // Drizzle ended every transaction before releasing, so the pool kept the connection.
        assert.equal(await connectionId(db), insideId);
        assert.equal(pool.stats().created, 1);
        assert.deepEqual(evicted, []);
      });
    });

    test('survives a killed connection between two queries (select, insert, transaction)', T, async () => {
      await withDrizzle(async ({ db, pool, conns }) => {
        await db.delete(people);
        const rounds: Array<[string, () => Promise<unknown>]> = [
          ['select', () => db.select().from(people)],
          ['insert', () => db.insert(people).values({ name: 'after kill', age: 1 })],
          [
            'transaction',
            () =>
              db.transaction(async (tx) => {
                await tx.insert(people).values({ name: 'after kill (trx)', age: 2 });
                return tx.select().from(people);
              }),
          ],
          ['raw execute', () => db.execute(sql`SELECT COUNT(*) AS n FROM ${people}`)],
        ];
        for (const [what, next] of rounds) {
          const killed = await killIdleConnections(conns);
          await bounded(next(), 10_000, `${what} after a kill`);
          const now = await connectionId(db);
          assert.ok(!killed.includes(now), `${what}: ran on a new connection, not on killed thread ${now}`);
        }
        assert.deepEqual(
          (await db.select({ name: people.name }).from(people).orderBy(people.id)).map((p) => p.name),
          ['after kill', 'after kill (trx)'],
          'every write ran exactly once',
        );
        assert.equal(pool.stats().errorsSurfaced, 0);
        assert.equal(pool.stats().destroyed.broken, rounds.length, 'each killed connection was closed as broken');
      });
    });

    test('a connection killed inside a transaction: the transaction fails, nothing is half-written, the next query works', T, async () => {
      await withDrizzle(async ({ db, pool, conns }) => {
        await db.delete(people);
        let killedId = 0;
        await assert.rejects(
          db.transaction(async (tx) => {
            await tx.insert(people).values({ name: 'before the kill', age: 1 });
            const [rows] = (await tx.execute(sql`SELECT CONNECTION_ID() AS id`)) as unknown as [Array<{ id: number }>];
            killedId = Number(rows[0]!.id);
            await killHeldConnection(conns, killedId);
            await tx.insert(people).values({ name: 'after the kill', age: 2 });
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
        assert.deepEqual(await db.select().from(people), [], 'the server rolled the transaction back');
      });
    });

    test('survives every connection of a busier pool being killed at once', T, async () => {
      await withDrizzle(async ({ db, pool, conns }) => {
        await Promise.all(Array.from({ length: 4 }, () => db.execute(sql`SELECT SLEEP(0.05)`)));
        assert.equal(pool.stats().total, 4);
        const killed = await killIdleConnections(conns);
        assert.equal(killed.length, 4);
        const ids = await bounded(
          Promise.all(Array.from({ length: 4 }, () => connectionId(db))),
          10_000,
          'queries after killing every connection',
        );
        for (const id of ids) assert.ok(!killed.includes(id));
      });
    });
  });
}
