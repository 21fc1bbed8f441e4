/**
 * "Never twice" when the side effect is in a value, not the SQL template: mysql2 sends `format(sql, values)`, and a
 * `mysql.raw()` value goes in as SQL. The retry decision must read what was sent. As in never-twice.test.ts, the
 * statement runs and commits, its reply is dropped, and the side effect is counted on the server: exactly once, and
 * the caller told the outcome is unknown after one attempt.
 */
import { after, describe, test } from 'node:test';
import { assertNoHandlesLeft } from '../support/handles.js';
import mysql from 'mysql2';
import { IMPLS } from '../support/chaos-server.js';
import { assertRanOnceAndSaid, queryOn, useDropBed } from '../support/side-effects.js';
import { endPools } from '../support/pools.js';

const bed = useDropBed();

describe('a raw() value with a side effect, reply dropped after it committed', { timeout: 60_000 }, () => {
  test("pool.query('SELECT ?', [mysql.raw('NEXTVAL(s)')]) runs once", async () => {
    const pool = IMPLS[1]!.create(bed.drops.poolOptions());
    try {
      const before = await bed.drops.bed.sequence();
      const drop = bed.drops.dropWhenSent('NEXTVAL(s)');
      const { err } = await queryOn(pool, 'SELECT ? AS v', [mysql.raw('NEXTVAL(s)')]);
      assertRanOnceAndSaid('raw NEXTVAL', drop, (await bed.drops.bed.sequence()) - before, err);
    } finally {
      await endPools([pool]);
    }
  });

  test("a raw('1; INSERT ...') value with multipleStatements runs once", async () => {
    const tag = 'raw-multi';
    const pool = IMPLS[1]!.create(bed.drops.poolOptions({ multipleStatements: true }));
    try {
      const drop = bed.drops.dropWhenSent(tag);
      const { err } = await queryOn(pool, 'SELECT ?', [mysql.raw(`1; INSERT INTO hits (tag) VALUES ('${tag}')`)]);
      assertRanOnceAndSaid('raw multi-statement', drop, await bed.drops.bed.hits(tag), err);
    } finally {
      await endPools([pool]);
    }
  });
});

// Last, with everything closed: no socket or timer is left (test/support/handles.ts).
after(async () => {
  await assertNoHandlesLeft();
});
