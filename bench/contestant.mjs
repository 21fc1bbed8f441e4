/**
 * One contestant of `npm run bench`, in its own process, so that process.cpuUsage() counts this pool's
 * client CPU and nothing else (no other pool's JavaScript, GC or sockets share the process). Plain
 * JavaScript, loaded by plain node: no TypeScript loader wraps the harness's closures.
 *
 * BENCH_CONTESTANT: `mysql2` (mysql2.createPool), `resilient` (the built package's createResilientPool)
 * or `bare` (one mysql2.createConnection, no pool). BENCH_OPTIONS: JSON connection and pool options.
 * The parent sends { id, op: 'measure', api, command, concurrency, ms, profile? } (command: query, execute, held) or { id, op: 'burst', api, n }
 * or { id, op: 'end' } over IPC and gets { id, ... } back. With `profile` (a file name), the measured window, and
 * only it, is recorded by V8's sampling profiler (as node --cpu-prof does) and written there.
 */
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const mysql2 = require('mysql2');

const kind = process.env.BENCH_CONTESTANT;
const options = JSON.parse(process.env.BENCH_OPTIONS ?? '{}');
const SQL = 'SELECT 1';

/** The callback-style handle: a pool, or the bare connection. */
let handle;
if (kind === 'mysql2') handle = mysql2.createPool(options);
else if (kind === 'resilient') handle = require('../dist/index.js').createResilientPool(options);
else if (kind === 'bare') handle = mysql2.createConnection(options);
else throw new Error(`BENCH_CONTESTANT must be mysql2, resilient or bare, got ${kind}`);
const promiseHandle = handle.promise();
// A bare connection has nobody else to report to; a lost one shows as failed calls.
if (kind === 'bare') handle.on('error', () => {});
// The parent is gone (finished or failed): so is this contestant.
process.on('disconnect', () => process.exit(0));

/**
 * One call of `api` × `command`; `done(err)` when it completes. `held`: getConnection, one query on the held
 * connection, release (what ORMs and transactions do).
 */
function operation(api, command) {
  if (api === 'callback') {
    if (command === 'query') return (done) => handle.query(SQL, (err) => done(err));
    if (command === 'held') {
      return (done) =>
        handle.getConnection((err, conn) => {
          if (err) return done(err);
          conn.query(SQL, (queryErr) => {
            conn.release();
            done(queryErr);
          });
        });
    }
    return (done) => handle.execute(SQL, (err) => done(err));
  }
  if (command === 'held') {
    return (done) =>
      promiseHandle.getConnection().then(
        (conn) =>
          conn.query(SQL).then(
            () => {
              conn.release();
              done();
            },
            (err) => {
              conn.release();
              done(err);
            },
          ),
        done,
      );
  }
  if (command === 'query') return (done) => promiseHandle.query(SQL).then(() => done(), done);
  return (done) => promiseHandle.execute(SQL).then(() => done(), done);
}

/** `concurrency` loops of one call after another for `ms`; client CPU of this process over the window. */
function measure({ api, command, concurrency, ms }) {
  const op = operation(api, command);
  let queries = 0;
  let failure;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const end = t0 + ms;
  return new Promise((resolve) => {
    let running = concurrency;
    const finish = () => {
      if (--running > 0) return;
      const elapsed = performance.now() - t0;
      const cpu = process.cpuUsage(cpu0);
      resolve({ queries, elapsed, user: cpu.user, system: cpu.system, error: failure });
    };
    for (let i = 0; i < concurrency; i++) {
      const next = (err) => {
        if (err) failure ??= `${err.code ?? ''} ${err.message}`;
        else queries++;
        if (err || performance.now() >= end) return finish();
        op(next);
      };
      op(next);
    }
  });
}

/**
 * `n` calls issued in one synchronous loop (all but connectionLimit of them queue), then waited for. Heap per
 * queued call is measured after a full GC with every call still pending (garbage of the loop is gone, what the
 * queue holds is not); time runs from the first call to the last answer.
 */
function burst({ api, n }) {
  const op = operation(api, 'query');
  global.gc();
  const heap0 = process.memoryUsage().heapUsed;
  let errors = 0;
  let firstError;
  return new Promise((resolve) => {
    let left = n;
    let heap1 = 0;
    const t0 = performance.now();
    const cpu0 = process.cpuUsage();
    const done = (err) => {
      if (err) {
        errors++;
        firstError ??= `${err.code ?? ''} ${err.message}`;
      }
      if (--left > 0) return;
      const elapsed = performance.now() - t0;
      const cpu = process.cpuUsage(cpu0);
      resolve({ elapsed, heapPerCall: (heap1 - heap0) / n, user: cpu.user, system: cpu.system, errors, error: firstError });
    };
    for (let i = 0; i < n; i++) op(done);
    global.gc();
    heap1 = process.memoryUsage().heapUsed;
  });
}

/** Runs `fn` under V8's CPU profiler (sampling every `intervalUs`) and writes the profile to `file`. */
async function profiled(file, fn, intervalUs = 200) {
  const session = new Session();
  session.connect();
  const post = (method, params) =>
    new Promise((resolve, reject) => session.post(method, params, (err, res) => (err ? reject(err) : resolve(res))));
  await post('Profiler.enable');
  await post('Profiler.setSamplingInterval', { interval: intervalUs });
  await post('Profiler.start');
  const result = await fn();
  const { profile } = await post('Profiler.stop');
  session.disconnect();
  writeFileSync(file, JSON.stringify(profile));
  return result;
}

process.on('message', (msg) => {
  const reply = (result) => process.send({ id: msg.id, ...result });
  if (msg.op === 'measure' && msg.profile) profiled(msg.profile, () => measure(msg)).then(reply);
  else if (msg.op === 'measure') measure(msg).then(reply);
  else if (msg.op === 'burst') burst(msg).then(reply);
  else if (msg.op === 'end') {
    handle.end(() => {
      reply({});
      process.disconnect();
    });
  }
});
process.send({ ready: true });
