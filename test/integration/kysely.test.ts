/**
 * Kysely on the resilient pool: `new Kysely({ dialect: new MysqlDialect({ pool: createResilientPool(options) }) })`
 * works unchanged (queries, inserts, transactions, streaming), and a pool connection killed on the server between
 * two queries costs the application nothing: the next Kysely query succeeds on a new connection.
 *
 * Every pool connects as its own server user, so the processlist shows exactly this file's connections.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { assertNoHandlesLeft } from '../support/handles.js';
import { usePrivateServer } from '../support/private-server.js';
import type { Generated, Kysely as KyselyOf } from 'kysely';
import { createResilientPool, ResilientPool, type ResilientPoolOptions } from '../../src/index.js';
import { killer, type TrackedConnection } from '../support/orm.js';
import { bounded, until } from '../support/wait.js';

/**
 * The Kysely package under test: `kysely` (0.28, this repo's devDependency), or the one KYSELY_PACKAGE names, e.g.
 * `kysely-0.29` (npm alias of Kysely 0.29, which needs Node 22; scripts/matrix.mjs runs this file with it on Node 22).
 * Typed with 0.28's declarations either way.
 */
const KYSELY_PACKAGE = process.env.KYSELY_PACKAGE ?? 'kysely';
// eslint-disable-next-line @typescript-eslint/no-require-imports -- the package is chosen at run time
const { Kysely, MysqlDialect, sql } = require(KYSELY_PACKAGE) as typeof import('kysely');
type Kysely<DB> = KyselyOf<DB>;
const KYSELY_VERSION = (
  JSON.parse(readFileSync(join(__dirname, '..', '..', 'node_modules', KYSELY_PACKAGE, 'package.json'), 'utf8')) as { version: string }
).version;

const USER = 'rmp_kysely';
const T = { timeout: 30_000 };

interface PeopleTable {
  id: Generated<number>;
  name: string;
  age: number;
}
interface Database {
  kysely_people: PeopleTable;
}

const server = usePrivateServer({
  users: [USER],
  setup: async () => {
    await server.admin(
      'CREATE TABLE test.kysely_people (id INT AUTO_INCREMENT PRIMARY KEY, name VARCHAR(64) NOT NULL, age INT NOT NULL)',
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
  db: Kysely<Database>;
  pool: ResilientPool;
  conns: TrackedConnection[];
  evicted: string[];
}

/** A Kysely instance on a fresh resilient pool; destroys it (and so ends the pool) whatever happens. */
async function withKysely(fn: (h: Harness) => Promise<void>, options: Partial<ResilientPoolOptions> = {}): Promise<void> {
  const pool = createResilientPool({ ...server.connectionOptions(), user: USER, password: '', ...options });
  const conns: TrackedConnection[] = [];
  const evicted: string[] = [];
  pool.on('connection', (c) => {
    const conn = c as unknown as TrackedConnection;
    conn.on('error', () => undefined);
    conns.push(conn);
  });
  pool.on('evict', (_conn: unknown, reason: string) => evicted.push(reason));
  const db = new Kysely<Database>({ dialect: new MysqlDialect({ pool }) });
  try {
    await fn({ db, pool, conns, evicted });
  } finally {
    // Kysely's destroy() ends the pool it was given.
    await bounded(db.destroy(), 15_000, 'db.destroy()');
  }
  assert.equal(pool.stats().total, 0, 'db.destroy() ended the pool');
  await until(async () => (await serverThreads()).length === 0, 5_000, `no connection of ${USER} left on the server`);
}

async function connectionId(db: Kysely<Database>): Promise<number> {
  const { rows } = await sql<{ id: number }>`SELECT CONNECTION_ID() AS id`.execute(db);
  return Number(rows[0]!.id);
}

async function clearTable(db: Kysely<Database>): Promise<void> {
  await db.deleteFrom('kysely_people').execute();
}

// ---------------------------------------------------------------------------------------------------------------

test(`the Kysely under test is ${KYSELY_PACKAGE} ${KYSELY_VERSION}, loaded from its own directory`, () => {
  const resolved = require.resolve(KYSELY_PACKAGE);
  assert.ok(resolved.includes(`/node_modules/${KYSELY_PACKAGE}/`), resolved);
  if (KYSELY_PACKAGE === 'kysely-0.29') assert.match(KYSELY_VERSION, /^0\.29\./);
});

describe('Kysely with MysqlDialect({ pool: createResilientPool(...) })', () => {
  test('select, insert, update, delete', T, async () => {
    await withKysely(async ({ db, pool, evicted }) => {
      assert.ok(pool instanceof ResilientPool);
      await clearTable(db);

      const one = await db.selectNoFrom(sql<number>`1 + 1`.as('two')).executeTakeFirstOrThrow();
      assert.equal(Number(one.two), 2);

      const inserted = await db.insertInto('kysely_people').values({ name: 'Ada', age: 36 }).executeTakeFirstOrThrow();
      assert.equal(typeof inserted.insertId, 'bigint');
      assert.equal(inserted.numInsertedOrUpdatedRows, 1n);
      await db
        .insertInto('kysely_people')
        .values([
          { name: 'Grace', age: 85 },
          { name: 'Edsger', age: 72 },
        ])
        .execute();

      const adults = await db
        .selectFrom('kysely_people')
        .select(['id', 'name', 'age'])
        .where('age', '>', 40)
        .orderBy('name')
        .execute();
      assert.deepEqual(
        adults.map((p) => p.name),
        ['Edsger', 'Grace'],
      );

      const ada = await db.selectFrom('kysely_people').selectAll().where('id', '=', Number(inserted.insertId)).executeTakeFirstOrThrow();
      assert.deepEqual({ name: ada.name, age: ada.age }, { name: 'Ada', age: 36 });

      const updated = await db.updateTable('kysely_people').set({ age: 37 }).where('name', '=', 'Ada').executeTakeFirstOrThrow();
      assert.equal(updated.numUpdatedRows, 1n);
      const deleted = await db.deleteFrom('kysely_people').where('name', '=', 'Edsger').executeTakeFirstOrThrow();
      assert.equal(deleted.numDeletedRows, 1n);

      const { count } = await db
        .selectFrom('kysely_people')
        .select((eb) => eb.fn.countAll<number>().as('count'))
        .executeTakeFirstOrThrow();
      assert.equal(Number(count), 2);
      // Kysely runs its queries one at a time here: one connection, reused, never thrown away.
      assert.equal(pool.stats().created, 1);
      assert.deepEqual(evicted, []);
    });
  });

  test('transactions commit, roll back on a throw, and leave the connection reusable', T, async () => {
    await withKysely(async ({ db, pool, evicted }) => {
      await clearTable(db);

      const insideId = await db.transaction().execute(async (trx) => {
        await trx.insertInto('kysely_people').values({ name: 'committed', age: 1 }).execute();
        await trx.updateTable('kysely_people').set({ age: 2 }).where('name', '=', 'committed').execute();
        const { rows } = await sql<{ id: number }>`SELECT CONNECTION_ID() AS id`.execute(trx);
        return Number(rows[0]!.id);
      });
      const committed = await db.selectFrom('kysely_people').selectAll().where('name', '=', 'committed').execute();
      assert.deepEqual(
        committed.map((p) => p.age),
        [2],
      );

      await assert.rejects(
        db.transaction().execute(async (trx) => {
          await trx.insertInto('kysely_people').values({ name: 'rolled back', age: 3 }).execute();
          throw new Error('abort the transaction');
        }),
        /abort the transaction/,
      );
      const rolledBack = await db.selectFrom('kysely_people').selectAll().where('name', '=', 'rolled back').execute();
      assert.deepEqual(rolledBack, []);

      // A transaction with an isolation level (Kysely sends SET TRANSACTION first).
      const isolated = await db
        .transaction()
        .setIsolationLevel('serializable')
        .execute(async (trx) => trx.selectFrom('kysely_people').select('name').execute());
      assert.equal(isolated.length, 1);

      // Kysely ended each transaction before releasing the connection, so the pool kept it.
      assert.equal(await connectionId(db), insideId);
      assert.equal(pool.stats().created, 1);
      assert.deepEqual(evicted, []);
    });
  });

  test('a connection given back with a transaction still open (db.connection() + BEGIN) is closed, not reused', T, async () => {
    await withKysely(async ({ db, evicted }) => {
      await clearTable(db);
      // Kysely's connection().execute() hands out one connection; leaving BEGIN open on it and releasing it is the
      // application bug the pool guards against: the half-done transaction must not reach the next caller.
      const leakedId = await db.connection().execute(async (conn) => {
        await sql`BEGIN`.execute(conn);
        await conn.insertInto('kysely_people').values({ name: 'never committed', age: 9 }).execute();
        return Number((await sql<{ id: number }>`SELECT CONNECTION_ID() AS id`.execute(conn)).rows[0]!.id);
      });
      await until(() => evicted.includes('in-transaction'), 5_000, 'the connection to be closed on release');
      assert.notEqual(await connectionId(db), leakedId);
      const rows = await db.selectFrom('kysely_people').selectAll().where('name', '=', 'never committed').execute();
      assert.deepEqual(rows, [], 'closing the connection rolled the transaction back');
    });
  });

  test('stream(): every row, in order; the connection is reused after a complete stream', T, async () => {
    await withKysely(async ({ db, pool, evicted }) => {
      await clearTable(db);
      const N = 1_000;
      for (let start = 0; start < N; start += 250) {
        await db
          .insertInto('kysely_people')
          .values(Array.from({ length: 250 }, (_, i) => ({ name: `row-${start + i}`, age: start + i })))
          .execute();
      }

      const ages: number[] = [];
      for await (const row of db.selectFrom('kysely_people').select(['age']).orderBy('age').stream(50)) ages.push(row.age);
      assert.equal(ages.length, N);
      assert.deepEqual(
        ages,
        Array.from({ length: N }, (_, i) => i),
      );
      // The release settles on the next tick.
      await until(() => pool.stats().inUse === 0, 5_000, 'the streaming connection to be given back');
      assert.deepEqual(evicted, [], 'a fully read stream leaves its connection reusable');

      const { count } = await db
        .selectFrom('kysely_people')
        .select((eb) => eb.fn.countAll<number>().as('count'))
        .executeTakeFirstOrThrow();
      assert.equal(Number(count), N);
      assert.equal(pool.stats().created, 1);
    });
  });

  test('stream(): breaking out early releases the connection; the next query works', T, async () => {
    await withKysely(async ({ db, pool, evicted }) => {
      await clearTable(db);
      await db
        .insertInto('kysely_people')
        .values(Array.from({ length: 2_000 }, (_, i) => ({ name: `row-${i}`, age: i })))
        .execute();

      // A self-join of 2,000 rows: 4 million rows, far more than can be read before the loop breaks.
      const big = db
        .selectFrom('kysely_people as a')
        .innerJoin('kysely_people as b', (join) => join.onTrue())
        .select(['a.age as a', 'b.age as b']);
      let seen = 0;
      for await (const row of big.stream(10)) {
        assert.equal(typeof row.a, 'number');
        if (++seen === 5) break;
      }
      assert.equal(seen, 5);
      // The rest of the result may still be on the wire: the pool must not hand that connection to the next query
      // while it is busy (it closes it instead), and the next query must just work.
      await until(() => pool.stats().inUse === 0, 5_000, 'the streaming connection to be given back');
      const rows = await db.selectFrom('kysely_people').select(['age']).where('age', '<', 3).orderBy('age').execute();
      assert.deepEqual(
        rows.map((r) => r.age),
        [0, 1, 2],
      );
      assert.ok(
        evicted.every((r) => r === 'busy-on-release'),
        `only a connection still busy with the abandoned stream may be closed, got ${evicted.join(', ')}`,
      );
    });
  });

  test('survives a killed connection between two queries (select, insert, transaction, stream)', T, async () => {
    await withKysely(async ({ db, pool, conns }) => {
      await clearTable(db);
      // Each round: a query, KILL of the (idle) connection it used, then the next query must just work.
      const rounds: Array<[string, () => Promise<unknown>]> = [
        ['select', () => db.selectFrom('kysely_people').selectAll().execute()],
        ['insert', () => db.insertInto('kysely_people').values({ name: 'after kill', age: 1 }).execute()],
        [
          'transaction',
          () =>
            db.transaction().execute(async (trx) => {
              await trx.insertInto('kysely_people').values({ name: 'after kill (trx)', age: 2 }).execute();
              return trx.selectFrom('kysely_people').selectAll().execute();
            }),
        ],
        [
          'stream',
          async () => {
            const rows = [];
            for await (const row of db.selectFrom('kysely_people').selectAll().stream()) rows.push(row);
            return rows;
          },
        ],
      ];
      const before = await connectionId(db);
      for (const [what, next] of rounds) {
        const killed = await killIdleConnections(conns);
        await bounded(next(), 10_000, `${what} after a kill`);
        const now = await connectionId(db);
        assert.ok(!killed.includes(now), `${what}: ran on a new connection, not on killed thread ${now}`);
      }
      assert.ok(!(await serverThreads()).some((t) => t.id === before));
      const names = (await db.selectFrom('kysely_people').select('name').orderBy('id').execute()).map((r) => r.name);
      assert.deepEqual(names, ['after kill', 'after kill (trx)'], 'every write ran exactly once');
      assert.equal(pool.stats().errorsSurfaced, 0);
      // Each killed connection was noticed and closed as broken, never handed to a query.
      assert.equal(pool.stats().destroyed.broken, rounds.length);
    });
  });

  test('a connection killed inside a transaction: the transaction fails, nothing is half-written, the next query works', T, async () => {
    await withKysely(async ({ db, pool, conns }) => {
      await clearTable(db);
      let killedId = 0;
      await assert.rejects(
        db.transaction().execute(async (trx) => {
          await trx.insertInto('kysely_people').values({ name: 'before the kill', age: 1 }).execute();
          killedId = Number((await sql<{ id: number }>`SELECT CONNECTION_ID() AS id`.execute(trx)).rows[0]!.id);
          await killHeldConnection(conns, killedId);
          await trx.insertInto('kysely_people').values({ name: 'after the kill', age: 2 }).execute();
        }),
        (err: Error & { code?: string }) => {
          // A held connection is never retried behind the application's back: it gets mysql2's error.
          assert.match(String(err.code ?? err.message), /PROTOCOL_CONNECTION_LOST|closed state|ECONNRESET|EPIPE/);
          return true;
        },
      );
      await until(() => pool.stats().inUse === 0, 5_000, 'the dead connection to be given back');
      assert.notEqual(await connectionId(db), killedId);
      assert.deepEqual(await db.selectFrom('kysely_people').selectAll().execute(), [], 'the server rolled the transaction back');
    });
  });

  test('survives every connection of a busier pool being killed at once', T, async () => {
    await withKysely(async ({ db, pool, conns }) => {
      // Four concurrent queries open four connections.
      await Promise.all(Array.from({ length: 4 }, () => sql`SELECT SLEEP(0.05)`.execute(db)));
      assert.equal(pool.stats().total, 4);
      const killed = await killIdleConnections(conns);
      assert.equal(killed.length, 4);
      const ids = await bounded(
        Promise.all(Array.from({ length: 4 }, () => sql<{ id: number }>`SELECT CONNECTION_ID() AS id, SLEEP(0.05)`.execute(db))),
        10_000,
        'queries after killing every connection',
      );
      for (const r of ids) assert.ok(!killed.includes(Number(r.rows[0]!.id)));
    });
  });
});
