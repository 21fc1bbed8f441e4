/**
 * `resilient-mysql-pool doctor`: doctor() against a private server whose wait_timeout is lowered to 30 s (and other
 * settings changed and restored), checked against what a real pool derives; the CLI as a child process, from src/
 * (tsx) and from the build (dist/cli.js: `npm test` builds it as pretest); its failures and exit statuses; and one
 * read-only run against the machine's shared MariaDB on 127.0.0.1:3306.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { assertNoHandlesLeft } from '../support/handles.js';
import mysql from 'mysql2';
import { DoctorError, DoctorUsageError, doctor, formatReport, type DoctorReport } from '../../src/doctor.js';
import { createResilientPool } from '../../src/index.js';
import { limitWithMargin } from '../../src/limits.js';
import { endPool, run } from '../support/chaos.js';
import { requireControl, startServer, type TestServer } from '../support/server.js';

const root = join(__dirname, '..', '..');
const T = { timeout: 30_000 };
const WAIT = 30;
const SECRET = 'doctor-S3cret-pw';
const USER = 'rmp_doctor';

let server: TestServer;
let previousWait: number | undefined;

before(
  async () => {
    server = await startServer();
    const [row] = await server.admin<Array<{ v: number }>>('SELECT @@GLOBAL.wait_timeout AS v');
    previousWait = Number(row!.v);
    await server.admin(`SET GLOBAL wait_timeout = ${WAIT}`);
    await server.admin(`CREATE USER IF NOT EXISTS '${USER}'@'127.0.0.1' IDENTIFIED BY '${SECRET}'`);
    await server.admin(`GRANT SELECT ON test.* TO '${USER}'@'127.0.0.1'`);
  },
  { timeout: 90_000 }, // a first run on a machine initialises the template datadir
);

after(async () => {
  try {
    if (server && previousWait !== undefined) await server.admin(`SET GLOBAL wait_timeout = ${previousWait}`);
  } finally {
    await server?.close();
  }
  // Last, with everything closed: no socket or timer is left (test/support/handles.ts).
  await assertNoHandlesLeft();
});

/** The server's URL with query parameters set (and, optionally, another user and password). */
function urlWith(params: Record<string, string> = {}, auth?: { user: string; password: string }): string {
  const u = new URL(server.url);
  for (const [k, v] of Object.entries(params)) u.searchParams.set(k, v);
  if (auth) {
    u.username = encodeURIComponent(auth.user);
    u.password = encodeURIComponent(auth.password);
  }
  return u.toString();
}

function codes(list: DoctorReport['warnings']): string[] {
  return list.map((f) => f.code);
}

async function doctorError(url: string): Promise<DoctorError> {
  try {
    await doctor(url);
  } catch (err) {
    assert.ok(err instanceof DoctorError, `expected a DoctorError, got ${String(err)}`);
    return err;
  }
  assert.fail('doctor() succeeded, expected a failure');
}

/** A loopback port nothing listens on. */
function refusedPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** A plain Node environment for the child: no loader hooks or test-runner context inherited. */
function childEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env = { ...process.env, ...extra };
  for (const key of ['NODE_OPTIONS', 'NODE_DEBUG', 'DEBUG', 'NODE_TEST_CONTEXT', 'NODE_CHANNEL_FD', 'MYSQL_URL']) {
    if (!(key in extra)) delete env[key];
  }
  return env;
}

/** Runs `node <args>` in the repository, bounded (killed after `ms`). */
function runNode(args: string[], opts: { env?: NodeJS.ProcessEnv; ms?: number } = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { cwd: root, env: childEnv(opts.env), stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.ms ?? 30_000);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('close', (status, signal) => {
      clearTimeout(timer);
      resolve({ status: status ?? (signal ? -1 : null), stdout, stderr });
    });
  });
}

const srcCli = (...args: string[]) => runNode(['--import', 'tsx', 'src/cli.ts', ...args]);
const distCli = (...args: string[]) => runNode([join('dist', 'cli.js'), ...args]);

function show(r: Run): string {
  return `exit ${r.status}\nstdout:\n${r.stdout}\nstderr:\n${r.stderr}`;
}

describe('doctor() (wait_timeout = 30 s)', () => {
  test('reads the server and derives exactly the limits a real pool derives', T, async () => {
    const report = await doctor(server.url);
    const s = report.server;
    assert.equal(s.flavor, server.flavor);
    assert.match(s.version, /^\d+\.\d+\.\d+/);
    assert.ok(s.versionString.startsWith(s.version), s.versionString);
    assert.deepEqual(s.waitTimeout, { session: WAIT, global: WAIT });
    assert.ok(s.interactiveTimeout.global > 0 && s.interactiveTimeout.session > 0);
    assert.ok(s.maxConnections > 0);
    assert.ok(s.threadsConnected !== null && s.threadsConnected >= 1, 'Threads_connected counts the doctor itself');
    assert.ok(s.maxUsedConnections !== null && s.maxUsedConnections >= 1);
    assert.equal(s.readOnly, false);
    if (s.flavor === 'mariadb') assert.equal(s.superReadOnly, null);
    else assert.equal(s.superReadOnly, false);
    assert.ok(s.netReadTimeout > 0 && s.netWriteTimeout > 0);
    assert.ok(s.innodbLockWaitTimeout !== null && s.innodbLockWaitTimeout > 0);
    assert.equal(report.url, server.url);
    assert.equal(report.target.port, server.port);

    const limit = limitWithMargin(WAIT * 1000);
    assert.equal(limit, 27_000);
    const p = report.pool;
    assert.equal(p.idleLimit, limit);
    assert.equal(p.idleTimeout, limit, 'the default 60 s idleTimeout is clamped below wait_timeout');
    assert.equal(p.maxLifetime, limit, 'the default 30 min maxLifetime is clamped below wait_timeout');
    assert.match(p.idleLimitBecause ?? '', /wait_timeout \(30 s\)/);
    assert.deepEqual(p.clamps.map((c) => c.option).sort(), ['idleTimeout', 'maxLifetime']);
    assert.deepEqual(p.keepAlive, { enabled: true, initialDelay: 30_000 });
    assert.equal(p.pingSkipWindow, 500);
    assert.equal(p.pingTimeout, 500);
    assert.equal(p.acquireTimeout, 10_000);
    assert.equal(p.connectionLimit, 10);
    assert.equal(p.requested.idleTimeout.source, 'default');

    assert.ok(codes(report.warnings).includes('WAIT_TIMEOUT_SHORT'), JSON.stringify(report.warnings));
    assert.ok(!codes(report.warnings).includes('OPTION_CLAMPED'), 'clamping the defaults is expected, not a warning');
    assert.ok(!codes(report.warnings).includes('WAIT_TIMEOUT_SESSION_DIFFERS'));
    assert.ok(!codes(report.warnings).includes('READ_ONLY'));
    assert.equal(codes(report.notes).filter((c) => c === 'OPTION_CLAMPED').length, 2);
    assert.ok(codes(report.notes).includes('NETWORK_IDLE_TIMEOUT_UNKNOWN'));
    assert.ok(report.elapsedMs >= 0 && report.elapsedMs < 15_000);

    // The same URL in a real pool: its limits after its first connection are the doctor's.
    const pool = createResilientPool(server.url);
    try {
      const o = await run(pool, 'SELECT 1 AS v');
      assert.ok(o.ok, String(o.err));
      const real = pool.effectiveLimits();
      assert.equal(real.server?.waitTimeout, WAIT * 1000);
      assert.equal(real.idleLimit, p.idleLimit);
      assert.equal(real.idleTimeout, p.idleTimeout);
      assert.equal(real.maxLifetime, p.maxLifetime);
    } finally {
      await endPool(pool, 15_000);
    }

    const text = formatReport(report);
    for (const needle of ['wait_timeout', '30 s', 'idleTimeout', '27 s', 'TCP keepalive', 'after 30 s', 'acquireTimeout', '10 s', 'WAIT_TIMEOUT_SHORT']) {
      assert.ok(text.includes(needle), `report text lacks ${JSON.stringify(needle)}:\n${text}`);
    }
  });

  test('options above the limit are clamped and warned about; networkIdleTimeout tightens the limit', T, async () => {
    const clamped = await doctor(server.url, { maxLifetime: 600_000, idleTimeout: 120_000 });
    const warned = clamped.warnings.filter((w) => w.code === 'OPTION_CLAMPED');
    assert.equal(warned.length, 2, JSON.stringify(clamped.warnings));
    // One unit system per message (the report's: fmtMs), the server's limit included.
    assert.ok(
      warned.some((w) => /^maxLifetime 10 min is above the server's wait_timeout \(30 s\); the pool uses 27 s,/.test(w.message)),
      JSON.stringify(warned),
    );
    assert.ok(warned.some((w) => /idleTimeout 2 min/.test(w.message)), JSON.stringify(warned));
    assert.equal(clamped.pool.requested.maxLifetime.source, 'option');
    assert.equal(clamped.pool.maxLifetime, 27_000);

    const behindLb = await doctor(server.url, { networkIdleTimeout: 10_000 });
    assert.equal(behindLb.pool.idleLimit, limitWithMargin(10_000));
    assert.equal(behindLb.pool.idleTimeout, 9_000);
    assert.match(behindLb.pool.idleLimitBecause ?? '', /networkIdleTimeout/);
    assert.ok(!codes(behindLb.notes).includes('NETWORK_IDLE_TIMEOUT_UNKNOWN'));

    const tiny = await doctor(server.url, { networkIdleTimeout: 350 });
    assert.ok(codes(tiny.warnings).includes('NETWORK_IDLE_TIMEOUT_TINY'), JSON.stringify(tiny.warnings));

    await assert.rejects(doctor(server.url, { maxLifetime: -1 }), RangeError);
  });

  test("pool options in the URL's query string count, as for createResilientPool(url)", T, async () => {
    const report = await doctor(urlWith({ maxLifetime: '20000', connectionLimit: '4' }));
    assert.equal(report.pool.requested.maxLifetime.source, 'url');
    assert.equal(report.pool.maxLifetime, 20_000);
    assert.equal(report.pool.connectionLimit, 4);
    assert.ok(!report.pool.clamps.some((c) => c.option === 'maxLifetime'));
  });

  test('an interactive session gets interactive_timeout: session and global wait_timeout differ', T, async () => {
    const report = await doctor(urlWith({ flags: 'INTERACTIVE' }));
    const s = report.server;
    assert.equal(s.waitTimeout.global, WAIT);
    assert.equal(s.waitTimeout.session, s.interactiveTimeout.global);
    assert.notEqual(s.waitTimeout.session, WAIT);
    const w = report.warnings.find((f) => f.code === 'WAIT_TIMEOUT_SESSION_DIFFERS');
    assert.ok(w, JSON.stringify(report.warnings));
    assert.match(w.message, /interactive/);
    assert.ok(codes(report.notes).includes('INTERACTIVE_TIMEOUT_DIFFERS'));
    // The pool would read the session value, and so the doctor derives its limits from it.
    assert.equal(report.pool.idleLimit, limitWithMargin(s.waitTimeout.session * 1000));
  });

  test('read_only ON is a warning', T, async (t) => {
    if (!requireControl(t, server)) return;
    await server.admin('SET GLOBAL read_only = 1');
    try {
      const report = await doctor(server.url);
      assert.equal(report.server.readOnly, true);
      assert.ok(codes(report.warnings).includes('READ_ONLY'), JSON.stringify(report.warnings));
    } finally {
      await server.admin('SET GLOBAL read_only = 0');
    }
  });

  test('max_connections nearly used is a warning', T, async (t) => {
    if (!requireControl(t, server)) return;
    const [row] = await server.admin<Array<{ v: number }>>('SELECT @@GLOBAL.max_connections AS v');
    const previous = Number(row!.v);
    const conns: mysql.Connection[] = [];
    await server.admin('SET GLOBAL max_connections = 10');
    try {
      for (let i = 0; i < 8; i++) {
        const conn = mysql.createConnection({ ...server.connectionOptions(), connectTimeout: 5_000 });
        conn.on('error', () => undefined);
        conns.push(conn);
        await new Promise<void>((resolve, reject) => conn.connect((err) => (err ? reject(err) : resolve())));
      }
      const report = await doctor(server.url);
      assert.equal(report.server.maxConnections, 10);
      assert.ok((report.server.threadsConnected ?? 0) >= 9);
      assert.ok(codes(report.warnings).includes('MAX_CONNECTIONS_NEARLY_USED'), JSON.stringify(report.warnings));
      assert.ok(codes(report.warnings).includes('POOL_EXCEEDS_FREE_CONNECTIONS'), JSON.stringify(report.warnings));
    } finally {
      for (const c of conns) c.destroy();
      await server.admin(`SET GLOBAL max_connections = ${previous}`);
    }
  });

  test('the password is masked in the report, its text and its errors', T, async () => {
    const url = urlWith({}, { user: USER, password: SECRET });
    const report = await doctor(url);
    assert.equal(report.target.user, USER);
    assert.ok(report.url.includes(':***@'), report.url);
    assert.ok(!JSON.stringify(report).includes(SECRET));
    assert.ok(!formatReport(report).includes(SECRET));

    const denied = await doctorError(urlWith({}, { user: USER, password: `${SECRET}-wrong` }));
    assert.equal(denied.code, 'ER_ACCESS_DENIED_ERROR');
    assert.equal(denied.errno, 1045);
    assert.ok(!denied.message.includes(SECRET), denied.message);
    assert.match(denied.message, /cannot connect to mysql:\/\/rmp_doctor:\*\*\*@/);
  });

  test('failures keep mysql2 codes: refused port, bad database, invalid URL', T, async () => {
    const port = await refusedPort();
    const refused = await doctorError(`mysql://root:${SECRET}@127.0.0.1:${port}/test`);
    assert.equal(refused.code, 'ECONNREFUSED');
    assert.ok(refused.message.includes('ECONNREFUSED') && !refused.message.includes(SECRET), refused.message);

    const u = new URL(server.url);
    u.pathname = '/no_such_database_here';
    const badDb = await doctorError(u.toString());
    assert.equal(badDb.code, 'ER_BAD_DB_ERROR');

    assert.ok(!(refused instanceof DoctorUsageError));
    const invalid = await doctorError('not a url');
    assert.equal(invalid.code, 'ERR_INVALID_URL');
    assert.ok(invalid instanceof DoctorUsageError);
    const typo = await doctorError(urlWith({ pingTimout: '100' }));
    assert.equal(typo.code, 'OPTION_UNKNOWN');
    assert.ok(typo instanceof DoctorUsageError);
    assert.match(typo.message, /pingTimeout/);
  });
});

describe('the CLI (wait_timeout = 30 s)', () => {
  test('from src/ (tsx): doctor prints the tables and warnings, exit 0', T, async () => {
    const r = await srcCli('doctor', server.url);
    assert.equal(r.status, 0, show(r));
    for (const needle of ['resilient-mysql-pool doctor: ', 'wait_timeout', '30 s', 'max_connections', 'idle limit', '27 s', 'Warnings (', 'WAIT_TIMEOUT_SHORT', 'Notes (']) {
      assert.ok(r.stdout.includes(needle), `stdout lacks ${JSON.stringify(needle)}\n${show(r)}`);
    }
    assert.equal(r.stderr, '');
  });

  test('from src/: options with units', T, async () => {
    const r = await srcCli('doctor', server.url, '--network-idle-timeout', '10s', '--lifetime=2m', '--json');
    assert.equal(r.status, 0, show(r));
    const report = JSON.parse(r.stdout) as DoctorReport;
    assert.equal(report.pool.requested.networkIdleTimeout.value, 10_000);
    assert.equal(report.pool.requested.maxLifetime.value, 120_000);
    assert.equal(report.pool.idleLimit, 9_000);
    assert.ok(codes(report.warnings).includes('OPTION_CLAMPED'));
  });

  test('from dist/ (the built bin): doctor --json prints the report object, exit 0', T, async () => {
    const bin = join(root, 'dist', 'cli.js');
    assert.ok(existsSync(bin), 'dist/cli.js is not built: run `npm run build` first (`npm test` does it as pretest)');
    assert.ok(readFileSync(bin, 'utf8').startsWith('#!/usr/bin/env node\n'), 'dist/cli.js must start with a shebang');
    const r = await distCli('doctor', server.url, '--json');
    assert.equal(r.status, 0, show(r));
    const report = JSON.parse(r.stdout) as DoctorReport;
    assert.deepEqual(report.server.waitTimeout, { session: WAIT, global: WAIT });
    assert.equal(report.server.flavor, server.flavor);
    assert.equal(report.pool.idleLimit, 27_000);
    assert.equal(report.pool.maxLifetime, 27_000);
    assert.equal(report.pool.keepAlive.initialDelay, 30_000);
    assert.ok(codes(report.warnings).includes('WAIT_TIMEOUT_SHORT'));
    assert.equal(r.stderr, '');
  });

  test('the URL may come from MYSQL_URL, and the password is never printed', T, async () => {
    const url = urlWith({}, { user: USER, password: SECRET });
    const r = await runNode(['--import', 'tsx', 'src/cli.ts', 'doctor'], { env: { MYSQL_URL: url } });
    assert.equal(r.status, 0, show(r));
    assert.ok(r.stdout.includes(`${USER}:***@`), r.stdout);
    assert.ok(!r.stdout.includes(SECRET) && !r.stderr.includes(SECRET));
  });

  test('cannot connect: exit 1, mysql2 code in the message, password masked', T, async () => {
    const port = await refusedPort();
    const refused = await distCli('doctor', `mysql://root:${SECRET}@127.0.0.1:${port}/test`);
    assert.equal(refused.status, 1, show(refused));
    assert.match(refused.stderr, /ECONNREFUSED/);
    assert.ok(!refused.stderr.includes(SECRET) && !refused.stdout.includes(SECRET), show(refused));

    const denied = await srcCli('doctor', urlWith({}, { user: USER, password: 'wrong-password' }));
    assert.equal(denied.status, 1, show(denied));
    assert.match(denied.stderr, /ER_ACCESS_DENIED_ERROR/);
    assert.ok(!denied.stderr.includes('wrong-password'), show(denied));

    const asJson = await srcCli('doctor', `mysql://root@127.0.0.1:${port}/test`, '--json');
    assert.equal(asJson.status, 1, show(asJson));
    assert.equal((JSON.parse(asJson.stdout) as { error: { code: string } }).error.code, 'ECONNREFUSED');

  });

  test('not a URL, or an invalid pool option in it: a usage error (exit 2) with a one-line hint, not "cannot connect"', T, async () => {
    const badUrl = await srcCli('doctor', 'not-a-url');
    assert.equal(badUrl.status, 2, show(badUrl));
    const lines = badUrl.stderr.trimEnd().split('\n');
    assert.equal(lines.length, 2, show(badUrl));
    assert.match(lines[0]!, /^resilient-mysql-pool doctor: invalid URL not-a-url \(ERR_INVALID_URL\)/);
    assert.match(lines[1]!, /^hint: resilient-mysql-pool doctor mysql:\/\/user:password@host:3306\/database/);
    assert.doesNotMatch(badUrl.stderr, /cannot connect|Usage:/);
    assert.equal(badUrl.stdout, '');

    const typo = await distCli('doctor', urlWith({ pingTimout: '100' }, { user: USER, password: SECRET }), '--json');
    assert.equal(typo.status, 2, show(typo));
    assert.equal((JSON.parse(typo.stdout) as { error: { code: string } }).error.code, 'OPTION_UNKNOWN');
    assert.match(typo.stderr, /did you mean 'pingTimeout'/);
    assert.match(typo.stderr, /^hint: /m);
    assert.ok(!typo.stderr.includes(SECRET) && !typo.stdout.includes(SECRET), show(typo));
  });

  test('usage: unknown subcommand or option exits 2 with usage on stderr; help exits 0', T, async () => {
    const unknown = await srcCli('frobnicate');
    assert.equal(unknown.status, 2, show(unknown));
    assert.match(unknown.stderr, /unknown command "frobnicate"/);
    assert.match(unknown.stderr, /Usage: resilient-mysql-pool/);
    assert.equal(unknown.stdout, '');

    const none = await distCli();
    assert.equal(none.status, 2, show(none));
    assert.match(none.stderr, /Usage:/);

    const badOption = await srcCli('doctor', server.url, '--bogus');
    assert.equal(badOption.status, 2, show(badOption));
    assert.match(badOption.stderr, /unknown option --bogus/);

    const badDuration = await srcCli('doctor', server.url, '--idle', 'soon');
    assert.equal(badDuration.status, 2, show(badDuration));

    const noUrl = await srcCli('doctor');
    assert.equal(noUrl.status, 2, show(noUrl));
    assert.match(noUrl.stderr, /MYSQL_URL/);

    const help = await distCli('help');
    assert.equal(help.status, 0, show(help));
    assert.match(help.stdout, /doctor \[mysql-url\]/);
  });
});

describe('the shared server on 127.0.0.1:3306', () => {
  function listening(port: number): Promise<boolean> {
    return new Promise((resolve) => {
      const socket = net.connect({ host: '127.0.0.1', port });
      const done = (ok: boolean) => {
        socket.destroy();
        resolve(ok);
      };
      socket.setTimeout(1_000, () => done(false));
      socket.once('connect', () => done(true));
      socket.once('error', () => done(false));
    });
  }

  // Read-only: the doctor only runs SELECT and SHOW.
  test('doctor reads it (read-only)', T, async (t) => {
    if (!(await listening(3306))) {
      if (process.env.CI === 'true') assert.fail('nothing listens on 127.0.0.1:3306; under CI that server is part of the machine');
      t.skip('no server on 127.0.0.1:3306');
      return;
    }
    const report = await doctor('mysql://root@127.0.0.1:3306/');
    const s = report.server;
    assert.ok(['mariadb', 'mysql'].includes(s.flavor));
    assert.match(s.version, /^\d+\.\d+/);
    assert.ok(s.waitTimeout.session > 0 && s.waitTimeout.global > 0);
    assert.ok(s.maxConnections > 0);
    assert.equal(report.pool.idleLimit, limitWithMargin(s.waitTimeout.session * 1000));
    assert.equal(report.target.port, 3306);
    for (const line of formatReport(report).trimEnd().split('\n')) t.diagnostic(line);
  });
});
