/**
 * "Never twice", end to end: a statement with a side effect is never run again by the pool after its connection
 * died, whatever hides the side effect from the SQL text (a stored function, a number glued to a keyword, a
 * charset's whitespace, sql_mode=ORACLE; raw() values: never-twice-raw.test.ts). Each case lets the statement run and commit on a real server,
 * then drops its reply and cuts the connection (FaultProxy.dropReplyWhen), and counts on the server how often the
 * side effect happened. The only right answers: the side effect happened exactly once and the caller got an error
 * saying the outcome is unknown, after one attempt (it cannot be 0: the proxy let the statement run).
 *
 * Positive control: a plain read whose reply was dropped is still retried and succeeds.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { assertNoHandlesLeft } from '../support/handles.js';
import mysql from 'mysql2';
import { IMPLS } from '../support/chaos-server.js';
import type { ProxyCommand, ReplyDrop } from '../support/proxy.js';
import { assertRanOnceAndSaid, executeOn, queryOn, seen, useDropBed } from '../support/side-effects.js';
import { endPools } from '../support/pools.js';

const use = useDropBed();
const poolOptions = (extra?: mysql.PoolOptions): mysql.PoolOptions => use.drops.poolOptions(extra);
const dropWhenSent = (marker: string): ReplyDrop => use.drops.dropWhenSent(marker);

describe('a statement with a side effect, reply dropped after it committed', { timeout: 60_000 }, () => {
  for (const impl of IMPLS) {
    test(`${impl.name}: SELECT log_hit(...) through pool.query runs once`, async () => {
      const tag = `query-${impl.name}`;
      const pool = impl.create(poolOptions());
      try {
        const drop = dropWhenSent(tag);
        const { err } = await queryOn(pool, `SELECT log_hit('${tag}') AS h`);
        const effects = await use.drops.bed.hits(tag);
        if (impl.name === 'mysql2') {
          // mysql2 never retries: one side effect and the connection error (no resilience fields).
          assert.equal(drop.fired, 1);
          assert.equal(effects, 1, `mysql2: ${seen(err)}`);
          assert.ok(err);
        } else {
          assertRanOnceAndSaid('log_hit via query', drop, effects, err);
        }
      } finally {
        await endPools([pool]);
      }
    });
  }

  test('SELECT log_hit(...) runs once when the client is cut with a FIN instead of an RST', async () => {
    const tag = 'query-fin';
    const pool = IMPLS[1]!.create(poolOptions());
    try {
      const drop = use.drops.proxy.dropReplyWhen((cmd: ProxyCommand) => cmd.text.includes(tag), { cut: 'close' });
      const { err } = await queryOn(pool, `SELECT log_hit('${tag}') AS h`);
      assertRanOnceAndSaid('log_hit, FIN', drop, await use.drops.bed.hits(tag), err);
    } finally {
      await endPools([pool]);
    }
  });

  test('SELECT log_hit(?) through pool.execute runs once', async () => {
    const tag = 'execute';
    const pool = IMPLS[1]!.create(poolOptions());
    try {
      const drop = use.drops.proxy.dropReplyWhen((cmd: ProxyCommand) => cmd.kind === 'execute' && cmd.text.includes('log_hit'));
      const { err } = await executeOn(pool, 'SELECT log_hit(?) AS h', [tag]);
      assertRanOnceAndSaid('log_hit via execute', drop, await use.drops.bed.hits(tag), err);
    } finally {
      await endPools([pool]);
    }
  });

  test('a number glued to INTO (SELECT 1e0INTO OUTFILE) runs once', async () => {
    const file = path.join(use.drops.bed.outfileDir, 'glued.txt');
    const pool = IMPLS[1]!.create(poolOptions());
    try {
      const drop = dropWhenSent('glued.txt');
      // The server reads `1e0` `INTO`; a second run would fail with ER_FILE_EXISTS_ERROR after the first wrote it.
      const { err } = await queryOn(pool, `SELECT 1e0INTO OUTFILE ${mysql.escape(file)}`);
      assert.ok(fs.existsSync(file), 'the statement ran: the file was written');
      assertRanOnceAndSaid('glued INTO OUTFILE', drop, await use.drops.bed.received('glued.txt'), err);
    } finally {
      await endPools([pool]);
    }
  });

  test('U+00A0 in a latin1 connection (server whitespace) before NEXTVAL(s) runs once', async () => {
    const pool = IMPLS[1]!.create(poolOptions({ charset: 'latin1' }));
    try {
      const before = await use.drops.bed.sequence();
      const drop = dropWhenSent('NEXTVAL(s) AS nbsp');
      const { err } = await queryOn(pool, 'SELECT 1,\u00a0NEXTVAL(s) AS nbsp');
      assertRanOnceAndSaid('latin1 NBSP NEXTVAL', drop, (await use.drops.bed.sequence()) - before, err);
    } finally {
      await endPools([pool]);
    }
  });

  test('U+00A0 in a latin1 connection before GET_LOCK(...) runs once', async () => {
    const pool = IMPLS[1]!.create(poolOptions({ charset: 'latin1' }));
    try {
      const drop = dropWhenSent('nbsp-lock');
      const { err } = await queryOn(pool, "SELECT 1,\u00a0GET_LOCK('nbsp-lock', 0) AS l");
      // A lock leaves no row behind: the server's general log counts how often the statement reached it.
      assertRanOnceAndSaid('latin1 NBSP GET_LOCK', drop, await use.drops.bed.received('nbsp-lock'), err);
    } finally {
      await endPools([pool]);
    }
  });

  test('sql_mode=ORACLE sequence syntax (s.nextval), set by a session init, runs once', async () => {
    const pool = IMPLS[1]!.create(poolOptions());
    // mysql2's way to initialise every session: the first command on each new connection.
    pool.on('connection', (conn) => conn.query("SET SESSION sql_mode = 'ORACLE'"));
    try {
      const before = await use.drops.bed.sequence();
      const drop = dropWhenSent('s.nextval');
      const { err } = await queryOn(pool, 'SELECT s.nextval AS v FROM dual');
      assertRanOnceAndSaid('ORACLE s.nextval', drop, (await use.drops.bed.sequence()) - before, err);
    } finally {
      await endPools([pool]);
    }
  });
});

describe('what the caller is told after several attempts', { timeout: 60_000 }, () => {
  test('declared idempotent, reply dropped, then the retry cannot connect: the final error still says outcomeUnknown', async () => {
    const tag = 'unknown-then-refused';
    const proxy = use.drops.proxy;
    const pool = IMPLS[1]!.create(poolOptions());
    try {
      const drop = dropWhenSent(tag);
      // Runs in a microtask right after the cut, before the client can see it: every retry finds nothing listening.
      void drop.first.then(() => proxy.refuseNew(true));
      const { err } = await queryOn(pool, { sql: `SELECT log_hit('${tag}') AS h`, idempotent: true } as mysql.QueryOptions);
      assert.equal(drop.fired, 1, 'the proxy dropped the reply');
      assert.equal(await use.drops.bed.hits(tag), 1, `ran once (caller saw ${seen(err)})`);
      assert.ok(err, 'no retry could run');
      assert.ok((err.attempts ?? 0) >= 2, `it was retried (declared idempotent): ${seen(err)}`);
      assert.equal(err.outcomeUnknown, true, `the first attempt may have run, whatever the last one says: ${seen(err)}`);
    } finally {
      await proxy.refuseNew(false);
      await endPools([pool]);
    }
  });
});

describe('plain reads are still retried after a dropped reply (positive control)', { timeout: 60_000 }, () => {
  test('SELECT through pool.query: retried, succeeds', async () => {
    const pool = IMPLS[1]!.create(poolOptions());
    try {
      const drop = dropWhenSent('positive-query');
      const { err, rows } = await queryOn(pool, "SELECT COUNT(*) AS n, 'positive-query' AS m FROM hits");
      assert.equal(drop.fired, 1, 'the proxy dropped the first reply');
      assert.equal(err, null, `a plain read must be retried, not failed: ${seen(err)}`);
      assert.equal((rows as Array<{ m: string }>)[0]!.m, 'positive-query');
      assert.equal(await use.drops.bed.received('positive-query'), 2, 'sent twice: once dropped, once answered');
    } finally {
      await endPools([pool]);
    }
  });

  test('SELECT through pool.execute: retried, succeeds', async () => {
    const pool = IMPLS[1]!.create(poolOptions());
    try {
      const drop = use.drops.proxy.dropReplyWhen((cmd: ProxyCommand) => cmd.kind === 'execute' && cmd.text.includes('positive-execute'));
      const { err, rows } = await executeOn(pool, 'SELECT COUNT(*) AS n, ? AS m FROM hits /* positive-execute */', ['x']);
      assert.equal(drop.fired, 1, 'the proxy dropped the first reply');
      assert.equal(err, null, `a plain read must be retried, not failed: ${seen(err)}`);
      assert.equal((rows as Array<{ m: string }>)[0]!.m, 'x');
    } finally {
      await endPools([pool]);
    }
  });
});

// Last, with everything closed: no socket or timer is left (test/support/handles.ts).
after(async () => {
  await assertNoHandlesLeft();
});
