/**
 * TypeORM on the resilient pool. TypeORM builds its own pool from a driver module, so it gets
 * `resilient-mysql-pool/mysql2` (mysql2's module with `createPool` replaced) in its `driver` option. TypeORM 1.x's
 * MysqlDriver supports only mysql2 and takes `options.driver` as is (`this.mysql = options.driver ?? load('mysql2')`),
 * then calls `createPool(...)`, `getConnection(cb)`, `release()` and `end(cb)` on what that returns.
 *
 * Checked here: the pool TypeORM creates is a ResilientPool (with this library's options passed through `extra`),
 * raw queries, repositories, the query builder, transactions, streaming, and a pool connection killed on the server
 * between two queries costing the application nothing.
 *
 * Entities are EntitySchemas (no decorators). Every DataSource connects as its own server user, so the processlist
 * shows exactly this file's connections.
 */
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { assertNoHandlesLeft } from '../support/handles.js';
import { usePrivateServer } from '../support/private-server.js';
import { DataSource, EntitySchema, MoreThan } from 'typeorm';
import { ResilientPool } from '../../src/index.js';
import * as resilientMysql2 from '../../src/mysql2.js';
import { killer, type TrackedConnection } from '../support/orm.js';
import { bounded, until } from '../support/wait.js';

const USER = 'rmp_typeorm';
const T = { timeout: 30_000 };

interface Person {
  id: number;
  name: string;
  age: number;
}

const PersonEntity = new EntitySchema<Person>({
  name: 'Person',
  tableName: 'typeorm_people',
  columns: {
    id: { type: Number, primary: true, generated: 'increment' },
    name: { type: String, length: 64 },
    age: { type: Number },
  },
});

const server = usePrivateServer({ users: [USER] });

after(async () => {
  // Last, with everything closed: no socket or timer is left (test/support/handles.ts).
  await assertNoHandlesLeft();
});

// ---------------------------------------------------------------------------------------------------------------
// Helpers

const { serverThreads, killIdleConnections, killHeldConnection } = killer(() => server, USER);

interface Harness {
  ds: DataSource;
  pool: ResilientPool;
  conns: TrackedConnection[];
  evicted: string[];
}

/** What the tests read of TypeORM's MysqlDriver. */
interface MysqlDriverView {
  mysql: unknown;
  pool: unknown;
}

function dataSource(extra: Record<string, unknown> = {}): DataSource {
  const { host, port, database } = server.connectionOptions();
  return new DataSource({
    type: 'mysql',
    driver: resilientMysql2,
    host,
    port,
    username: USER,
    password: '',
    database,
    entities: [PersonEntity],
    synchronize: true,
    extra,
  });
}

/** An initialised DataSource on the resilient pool; destroyed (which ends the pool) whatever happens. */
async function withDataSource(fn: (h: Harness) => Promise<void>, extra: Record<string, unknown> = {}): Promise<void> {
  const ds = dataSource(extra);
  let pool: ResilientPool | undefined;
  try {
    await bounded(ds.initialize(), 15_000, 'dataSource.initialize()');
    const driver = ds.driver as unknown as MysqlDriverView;
    assert.equal(driver.mysql, resilientMysql2, 'TypeORM uses the driver module it was given');
    assert.ok(driver.pool instanceof ResilientPool, 'the pool TypeORM created is a ResilientPool');
    pool = driver.pool;
    // Connections opened during initialize() (synchronize, version check) were announced before these listeners
    // existed; 'acquire' catches them at their next checkout (the clear() below), 'connection' every new one.
    const conns: TrackedConnection[] = [];
    const evicted: string[] = [];
    const track = (conn: TrackedConnection) => {
      if (conns.includes(conn)) return;
      conn.on('error', () => undefined);
      conns.push(conn);
    };
    pool.on('connection', (c) => track(c as unknown as TrackedConnection));
    pool.on('acquire', (c) => track(c as unknown as TrackedConnection));
    pool.on('evict', (_conn: unknown, reason: string) => evicted.push(reason));
    await ds.getRepository(PersonEntity).clear();
    assert.equal(conns.length, pool.stats().total, 'every open connection is tracked');
    await fn({ ds, pool, conns, evicted });
  } finally {
    // A failed initialize() has destroyed the DataSource (and ended the pool) itself.
    if (ds.isInitialized) await bounded(ds.destroy(), 15_000, 'dataSource.destroy()');
  }
  assert.equal(ds.isInitialized, false);
  assert.equal(pool.stats().total, 0, 'dataSource.destroy() ended the pool');
  await until(async () => (await serverThreads()).length === 0, 5_000, `no connection of ${USER} left on the server`);
}

async function connectionId(ds: DataSource | { query: DataSource['query'] }): Promise<number> {
  const rows = (await ds.query('SELECT CONNECTION_ID() AS id')) as Array<{ id: number | string }>;
  return Number(rows[0]!.id);
}

// ---------------------------------------------------------------------------------------------------------------

describe('TypeORM with driver: resilient-mysql-pool/mysql2', () => {
  test('the DataSource builds a ResilientPool, with resilience options passed through `extra`', T, async () => {
    await withDataSource(
      async ({ ds, pool }) => {
        assert.equal(pool.config.resilience.pingTimeout, 400);
        assert.equal(pool.config.resilience.maxLifetime, 120_000);
        assert.equal(pool.config.connectionLimit, 3);
        assert.match(ds.driver.version ?? '', /^\d+\.\d+/, 'TypeORM read the server version through the pool');
        const rows = (await ds.query('SELECT 1 + 1 AS two')) as Array<{ two: number | string }>;
        assert.equal(Number(rows[0]!.two), 2);
      },
      { pingTimeout: 400, maxLifetime: 120_000, connectionLimit: 3 },
    );
  });

  test('raw queries, repository save/find/update/delete, query builder', T, async () => {
    await withDataSource(async ({ ds, evicted }) => {
      const repo = ds.getRepository(PersonEntity);
      const ada = await repo.save({ name: 'Ada', age: 36 });
      assert.ok(ada.id > 0);
      await repo.save([
        { name: 'Grace', age: 85 },
        { name: 'Edsger', age: 72 },
      ]);

      assert.deepEqual(await repo.findOneBy({ id: ada.id }), { id: ada.id, name: 'Ada', age: 36 });
      const adults = await repo.find({ where: { age: MoreThan(40) }, order: { name: 'ASC' } });
      assert.deepEqual(
        adults.map((p) => p.name),
        ['Edsger', 'Grace'],
      );

      await repo.update({ name: 'Ada' }, { age: 37 });
      assert.equal((await repo.findOneByOrFail({ name: 'Ada' })).age, 37);
      const removed = await repo.delete({ name: 'Edsger' });
      assert.equal(removed.affected, 1);
      assert.equal(await repo.count(), 2);

      const viaBuilder = await ds
        .createQueryBuilder()
        .select('p.name', 'name')
        .from(PersonEntity, 'p')
        .where('p.age > :age', { age: 50 })
        .getRawMany<{ name: string }>();
      assert.deepEqual(viaBuilder, [{ name: 'Grace' }]);

      const raw = (await ds.query('SELECT name FROM typeorm_people WHERE age = ?', [37])) as Array<{ name: string }>;
      assert.deepEqual(raw.map((r) => r.name), ['Ada']);
      assert.deepEqual(evicted, []);
    });
  });

  test('transactions: manager callback commits and rolls back; query runner commit/rollback; nesting', T, async () => {
    await withDataSource(async ({ ds, evicted }) => {
      const repo = ds.getRepository(PersonEntity);

      const insideId = await ds.transaction(async (manager) => {
        await manager.save(PersonEntity, { name: 'committed', age: 1 });
        await manager.update(PersonEntity, { name: 'committed' }, { age: 2 });
        return connectionId(manager);
      });
      assert.deepEqual(
        (await repo.find()).map((p) => [p.name, p.age]),
        [['committed', 2]],
      );

      await assert.rejects(
        ds.transaction('SERIALIZABLE', async (manager) => {
          await manager.save(PersonEntity, { name: 'thrown', age: 3 });
          throw new Error('abort the transaction');
        }),
        /abort the transaction/,
      );

      const runner = ds.createQueryRunner();
      try {
        await runner.connect();
        await runner.startTransaction();
        await runner.manager.save(PersonEntity, { name: 'outer', age: 4 });
        // A nested transaction is a savepoint: rolling it back keeps the outer work.
        await runner.startTransaction();
        await runner.manager.save(PersonEntity, { name: 'inner, rolled back', age: 5 });
        await runner.rollbackTransaction();
        await runner.commitTransaction();

        await runner.startTransaction();
        await runner.manager.save(PersonEntity, { name: 'rolled back', age: 6 });
        await runner.rollbackTransaction();
      } finally {
        await runner.release();
      }

      assert.deepEqual(
        (await repo.find({ order: { id: 'ASC' } })).map((p) => p.name),
        ['committed', 'outer'],
      );
      // TypeORM ended every transaction before releasing: no connection was thrown away, and the one the first
      // transaction used is still in the pool.
      assert.deepEqual(evicted, []);
      assert.equal(await connectionId(ds), insideId);
    });
  });

  test('query builder stream(): every row, in order', T, async () => {
    await withDataSource(async ({ ds, pool, evicted }) => {
      const repo = ds.getRepository(PersonEntity);
      const N = 500;
      await repo.insert(Array.from({ length: N }, (_, i) => ({ name: `row-${i}`, age: i })));
      const stream = await ds.getRepository(PersonEntity).createQueryBuilder('p').select('p.age', 'age').orderBy('p.age').stream();
      const ages: number[] = [];
      for await (const row of stream) ages.push(Number((row as { age: number }).age));
      assert.deepEqual(
        ages,
        Array.from({ length: N }, (_, i) => i),
      );
      await until(() => pool.stats().inUse === 0, 5_000, 'the streaming connection to be given back');
      assert.deepEqual(evicted, [], 'a fully read stream leaves its connection reusable');
      assert.equal(await repo.count(), N);
    });
  });

  test('survives a killed connection between two queries (query, save, find, transaction)', T, async () => {
    await withDataSource(async ({ ds, pool, conns }) => {
      const repo = ds.getRepository(PersonEntity);
      await repo.find(); // the pool's connection from here on is one the test tracks
      const rounds: Array<[string, () => Promise<unknown>]> = [
        ['query', () => ds.query('SELECT COUNT(*) AS n FROM typeorm_people')],
        ['save', () => repo.save({ name: 'after kill', age: 1 })],
        ['find', () => repo.find()],
        [
          'transaction',
          () =>
            ds.transaction(async (manager) => {
              await manager.save(PersonEntity, { name: 'after kill (trx)', age: 2 });
              return manager.find(PersonEntity);
            }),
        ],
      ];
      const brokenBefore = pool.stats().destroyed.broken ?? 0;
      for (const [what, next] of rounds) {
        const killed = await killIdleConnections(conns);
        await bounded(next(), 10_000, `${what} after a kill`);
        const now = await connectionId(ds);
        assert.ok(!killed.includes(now), `${what}: ran on a new connection, not on killed thread ${now}`);
      }
      assert.deepEqual(
        (await repo.find({ order: { id: 'ASC' } })).map((p) => p.name),
        ['after kill', 'after kill (trx)'],
        'every write ran exactly once',
      );
      assert.equal((pool.stats().destroyed.broken ?? 0) - brokenBefore, rounds.length, 'each killed connection was closed as broken');
    });
  });

  test('a connection killed inside a transaction: the transaction fails, nothing is half-written, the next query works', T, async () => {
    await withDataSource(async ({ ds, pool, conns }) => {
      let killedId = 0;
      await assert.rejects(
        ds.transaction(async (manager) => {
          await manager.save(PersonEntity, { name: 'before the kill', age: 1 });
          killedId = await connectionId(manager);
          await killHeldConnection(conns, killedId);
          await manager.save(PersonEntity, { name: 'after the kill', age: 2 });
        }),
        (err: Error & { code?: string; cause?: Error & { code?: string } }) => {
          // A held connection is never retried behind the application's back: it gets mysql2's error.
          const text = [err.code, err.message, err.cause?.code, err.cause?.message].join(' ');
          assert.match(text, /PROTOCOL_CONNECTION_LOST|closed state|ECONNRESET|EPIPE/);
          return true;
        },
      );
      await until(() => pool.stats().inUse === 0, 5_000, 'the dead connection to be given back');
      assert.notEqual(await connectionId(ds), killedId);
      assert.deepEqual(await ds.getRepository(PersonEntity).find(), [], 'the server rolled the transaction back');
    });
  });

  test('survives every connection of a busier pool being killed at once', T, async () => {
    await withDataSource(async ({ ds, pool, conns }) => {
      await Promise.all(Array.from({ length: 4 }, () => ds.query('SELECT SLEEP(0.05)')));
      assert.ok(pool.stats().total >= 4);
      const killed = await killIdleConnections(conns);
      assert.ok(killed.length >= 4);
      const ids = await bounded(
        Promise.all(Array.from({ length: 4 }, () => connectionId(ds))),
        10_000,
        'queries after killing every connection',
      );
      for (const id of ids) assert.ok(!killed.includes(id));
    });
  });
});
