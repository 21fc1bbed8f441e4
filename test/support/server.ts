/**
 * Private MariaDB/MySQL servers for integration tests.
 *
 * Each `startServer()` runs its own mariadbd on a copy of a pre-initialised template datadir and a free loopback
 * port, so a test can SIGKILL, SIGSTOP or restart it without touching anything shared. When `MYSQL_URL` is set the
 * tests run against that external server instead; it cannot be killed or paused, so tests that need that call
 * `requireControl()` and skip.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { TestContext } from 'node:test';
import mysql from 'mysql2';
import mysqlPromise from 'mysql2/promise';
import { delay, settleWithin } from './wait.js';

// galera-testbed.test.ts imports it from here.
export { delay };

export interface TestServer {
  readonly host: string;
  readonly port: number;
  readonly user: string;
  readonly password: string;
  readonly database: string;
  /** mysql://root@127.0.0.1:PORT/test for a private server; MYSQL_URL as given for an external one. */
  readonly url: string;
  /** false when MYSQL_URL points at an external server: kill/pause/stop/start/restart then throw. */
  readonly controllable: boolean;
  readonly flavor: 'mariadb' | 'mysql';
  connectionOptions(): { host: string; port: number; user: string; password: string; database: string };
  /** Runs one statement on a fresh, non-pooled connection and closes it; resolves with the rows (or OK result). */
  admin<T = any>(sql: string, values?: unknown[]): Promise<T>;
  /** SIGKILL; resolves once the process has exited. No-op when not running. */
  kill(): Promise<void>;
  /** SIGSTOP: the server keeps its sockets open but answers nothing (a hung server). */
  pause(): void;
  /** SIGCONT after pause(). */
  resume(): void;
  /** Graceful SIGTERM shutdown, at most 15 s, then SIGKILL. No-op when not running. */
  stop(): Promise<void>;
  /** Starts on the same datadir and the same port; resolves once it accepts connections. No-op when running. */
  start(): Promise<void>;
  /** kill() then start(). */
  restart(): Promise<void>;
  /** Kills the server and deletes its datadir; idempotent. A no-op for an external server. */
  close(): Promise<void>;
}

const START_TIMEOUT_MS = 30_000;
const STOP_TIMEOUT_MS = 15_000;
const KILL_TIMEOUT_MS = 10_000;
const ADMIN_TIMEOUT_MS = 30_000;
/** Small InnoDB files keep the template (and every copy of it) around 35 MB instead of 115 MB. */
const SIZE_ARGS = ['--innodb-buffer-pool-size=32M', '--innodb-log-file-size=16M'];
/** Bumped whenever the template's contents or init arguments change, so stale templates are not reused. */
const TEMPLATE_LAYOUT = 'v1';

// ---------------------------------------------------------------------------------------------------------------
// Locating the server binary

export interface ServerBinary {
  path: string;
  flavor: 'mariadb' | 'mysql';
  version: string;
}

function isExecutable(file: string): boolean {
  try {
    fs.accessSync(file, fs.constants.X_OK);
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}

function searchDirs(): string[] {
  const fromPath = (process.env.PATH ?? '').split(path.delimiter).filter(Boolean);
  return [...new Set([...fromPath, '/usr/sbin', '/usr/local/sbin', '/usr/bin'])];
}

function which(names: string[], extraDirs: string[] = []): string | undefined {
  // Names in order of preference, so mariadbd anywhere beats a mysqld compatibility symlink.
  for (const name of names) {
    for (const dir of [...extraDirs, ...searchDirs()]) {
      const candidate = path.join(dir, name);
      if (isExecutable(candidate)) return candidate;
    }
  }
  return undefined;
}

let cachedBinary: ServerBinary | { error: string } | undefined;

/** The server binary (MYSQLD, else mariadbd/mysqld on PATH or in the sbin dirs), or why there is none; cached. */
export function locateBinary(): ServerBinary | { error: string } {
  if (cachedBinary) return cachedBinary;
  const explicit = process.env.MYSQLD;
  const found = explicit || which(['mariadbd', 'mysqld']);
  if (!found) {
    cachedBinary = {
      error:
        'no MariaDB/MySQL server binary found; install mariadb-server ' +
        '(or set MYSQLD=/path/to/mariadbd, or MYSQL_URL=mysql://user:pass@host:port/db for an external server)',
    };
  } else if (!isExecutable(found)) {
    cachedBinary = { error: `MYSQLD=${found} is not an executable file` };
  } else {
    const out = spawnSync(found, ['--no-defaults', '--version'], { encoding: 'utf8', timeout: 10_000 });
    const text = `${out.stdout ?? ''}${out.stderr ?? ''}`;
    const version = /Ver\s+(\S+)/.exec(text)?.[1];
    if (out.status !== 0 || !version) {
      cachedBinary = { error: `could not read the version of ${found}: ${out.error?.message ?? text.trim()}` };
    } else {
      cachedBinary = { path: found, flavor: /mariadb/i.test(text) ? 'mariadb' : 'mysql', version };
    }
  }
  return cachedBinary;
}

/** MariaDB initialises datadirs with a separate script that lives next to the client tools. */
function locateInstallDb(bin: ServerBinary): string | undefined {
  const root = path.dirname(path.dirname(bin.path));
  return which(['mariadb-install-db', 'mysql_install_db'], [path.join(root, 'bin'), path.join(root, 'scripts')]);
}

/** mariadbd refuses to run as root unless told to, and --user is only allowed when running as root. */
export function userArgs(): string[] {
  return process.getuid?.() === 0 ? ['--user=root'] : [];
}

/**
 * Whether startServer() can work here. Tests should not use this to skip silently: a missing server binary is a
 * broken test environment and must show up as a failure.
 */
export function serverAvailable(): { ok: true } | { ok: false; reason: string } {
  if (process.env.MYSQL_URL) return { ok: true };
  const bin = locateBinary();
  if ('error' in bin) return { ok: false, reason: bin.error };
  if (bin.flavor === 'mariadb' && !locateInstallDb(bin)) {
    return { ok: false, reason: `found ${bin.path} but not mariadb-install-db; install mariadb-server` };
  }
  return { ok: true };
}

// ---------------------------------------------------------------------------------------------------------------
// Template datadir: initialised once per machine, copied for each server

let templatePromise: Promise<string> | undefined;

function templateDir(bin: ServerBinary): string {
  const uid = process.getuid?.() ?? 0;
  const version = bin.version.replace(/[^A-Za-z0-9.+-]/g, '_');
  return path.join(os.tmpdir(), `rmp-${bin.flavor}-template-${version}-${TEMPLATE_LAYOUT}-u${uid}`);
}

/** The template datadir of `bin` (initialised on first use, then reused by every test process on the machine). */
export function ensureTemplate(bin: ServerBinary): Promise<string> {
  templatePromise ??= createTemplate(bin).catch((err: unknown) => {
    templatePromise = undefined; // let a later call retry rather than caching the failure
    throw err;
  });
  return templatePromise;
}

async function createTemplate(bin: ServerBinary): Promise<string> {
  const final = templateDir(bin);
  if (fs.existsSync(final)) return final;
  // Initialise beside the final name and rename: another test process may be doing the same right now, and a
  // rename is atomic, so nobody ever copies a half-written template.
  const staging = fs.mkdtempSync(`${final}.tmp-`);
  const datadir = path.join(staging, 'data');
  const logFile = path.join(staging, 'install.log');
  let cmd: string;
  let args: string[];
  if (bin.flavor === 'mariadb') {
    const installDb = locateInstallDb(bin);
    if (!installDb) throw new Error(`found ${bin.path} but not mariadb-install-db; install mariadb-server`);
    cmd = installDb;
    args = [
      '--no-defaults',
      `--datadir=${datadir}`,
      `--basedir=${path.dirname(path.dirname(bin.path))}`,
      '--auth-root-authentication-method=normal',
      '--skip-test-db',
      ...userArgs(),
      ...SIZE_ARGS,
    ];
  } else {
    // MySQL 5.7+/8: root@localhost with an empty password; root@127.0.0.1 is added at first start.
    cmd = bin.path;
    args = ['--no-defaults', '--initialize-insecure', `--datadir=${datadir}`, ...userArgs(), ...SIZE_ARGS];
  }
  const result = await runToCompletion(cmd, args, logFile, 120_000);
  if (result !== 0) {
    const tail = readTail(logFile);
    fs.rmSync(staging, { recursive: true, force: true });
    throw new Error(`initialising a ${bin.flavor} datadir with ${cmd} failed (${result}):\n${tail}`);
  }
  try {
    fs.renameSync(datadir, final);
  } catch (err) {
    // Lost the race to a concurrent process: its template is as good as ours.
    if (!fs.existsSync(final)) throw err;
  } finally {
    fs.rmSync(staging, { recursive: true, force: true });
  }
  return final;
}

/**
 * Runs `cmd` to its end (output appended to `logFile`, killed with its process group after `timeoutMs`); resolves
 * with the exit code, or a text saying why there is none.
 */
export function runToCompletion(
  cmd: string,
  args: string[],
  logFile: string,
  timeoutMs: number,
): Promise<number | string> {
  return new Promise((resolve) => {
    const child = spawnGuarded(cmd, args, logFile);
    const timer = setTimeout(() => killGroup(child.pid, 'SIGKILL'), timeoutMs);
    child.on('error', (err) => {
      clearTimeout(timer);
      resolve(err.message);
    });
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      resolve(code ?? `signal ${signal}`);
    });
  });
}

/** The last `bytes` of a log file, or '(no log)'. */
export function readTail(file: string, bytes = 4000): string {
  try {
    const text = fs.readFileSync(file, 'utf8');
    return text.slice(-bytes);
  } catch {
    return '(no log)';
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Spawning servers that die with the test process

let cachedSetpriv: string | null | undefined;

/**
 * util-linux's setpriv, when it has --pdeathsig: it sets the parent-death signal and then execs the server, so
 * the kernel SIGKILLs the server as soon as the test process dies, however it dies (even by SIGKILL, when no
 * 'exit' handler runs). null when there is none: servers then die only through the cleanup handlers below.
 */
function setprivPath(): string | null {
  if (cachedSetpriv !== undefined) return cachedSetpriv;
  const found = which(['setpriv']);
  const help = found ? spawnSync(found, ['--help'], { encoding: 'utf8', timeout: 10_000 }) : undefined;
  cachedSetpriv = found && /--pdeathsig/.test(`${help?.stdout ?? ''}`) ? found : null;
  if (cachedSetpriv === null) {
    process.stderr.write(
      '# test servers: no setpriv with --pdeathsig (util-linux); a test process killed by SIGKILL may leave its ' +
        'servers running\n',
    );
  }
  return cachedSetpriv;
}

/** How spawned servers are tied to the test process's life: 'pdeathsig' (setpriv) or 'cleanup-handlers' only. */
export function parentDeathGuard(): 'pdeathsig' | 'cleanup-handlers' {
  return setprivPath() ? 'pdeathsig' : 'cleanup-handlers';
}

/**
 * Spawns `cmd` with its output appended to `logFile` (a file, not a pipe, so a paused test process never blocks
 * it), in its own process group (its pid is the group id: one signal reaches the helpers it forks too, such as
 * Galera's SST scripts and their rsync daemon) and with the parent-death signal set. Unref'd: a test that forgets
 * to close a server still lets Node exit, and the 'exit' handler then kills it.
 */
export function spawnGuarded(cmd: string, args: string[], logFile: string): ChildProcess {
  const setpriv = setprivPath();
  const fd = fs.openSync(logFile, 'a');
  try {
    const child = setpriv
      ? spawn(setpriv, ['--pdeathsig', 'KILL', '--', cmd, ...args], { stdio: ['ignore', fd, fd], detached: true })
      : spawn(cmd, args, { stdio: ['ignore', fd, fd], detached: true });
    child.unref();
    child.on('error', () => undefined); // spawn failures surface as an exit
    return child;
  } finally {
    fs.closeSync(fd);
  }
}

/** Signals the process group led by `pid` (see spawnGuarded); false when it is gone. */
export function killGroup(pid: number | undefined, signal: NodeJS.Signals): boolean {
  if (pid === undefined) return false;
  try {
    process.kill(-pid, signal);
    return true;
  } catch {
    return false;
  }
}

/** Whether a process with this pid runs: it exists (signal 0 sends nothing) and is not a zombie nobody reaped yet. */
function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return true; // no /proc here: trust the signal
  }
}

/**
 * A fresh directory `<tmpdir>/rmp-<kind>-<pid>-XXXXXX` for one test process's servers. The 'exit' handler deletes it,
 * but a test process killed by SIGKILL cannot; so first delete the directories of `kind` whose owning process is
 * gone (their servers died with it through the parent-death signal).
 */
export function makeRunDir(kind: string): string {
  sweepRunDirs(kind);
  return fs.mkdtempSync(path.join(os.tmpdir(), `rmp-${kind}-${process.pid}-`));
}

/** Deletes the run directories of `kind` left by dead test processes (see makeRunDir); returns what it deleted. */
export function sweepRunDirs(kind: string): string[] {
  const pattern = new RegExp(`^rmp-${kind}-(\\d+)-`);
  const removed: string[] = [];
  for (const name of fs.readdirSync(os.tmpdir())) {
    const owner = pattern.exec(name)?.[1];
    if (owner === undefined || processAlive(Number(owner))) continue;
    const dir = path.join(os.tmpdir(), name);
    fs.rmSync(dir, { recursive: true, force: true });
    removed.push(dir);
  }
  return removed;
}

// ---------------------------------------------------------------------------------------------------------------
// Helpers

/** A loopback port where nothing listens now (bound, then closed): a server that is down, or one to start. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

export type Options = { host: string; port: number; user: string; password: string; database: string };

/**
 * Runs one statement on a fresh connection and closes it. Bounds: `connectTimeout` (default 10 s) and `timeout` for
 * the statement (default 30 s).
 */
export async function runAdmin<T>(
  opts: Partial<Options> & { socketPath?: string },
  sql: string,
  values?: unknown[],
  limits: { connectTimeout?: number; timeout?: number } = {},
): Promise<T> {
  const conn = await mysqlPromise.createConnection({ ...opts, connectTimeout: limits.connectTimeout ?? 10_000 });
  let ok = false;
  try {
    const [rows] = await conn.query({ sql, values, timeout: limits.timeout ?? ADMIN_TIMEOUT_MS });
    ok = true;
    return rows as T;
  } finally {
    // end() waits for the server; after a failure the server may be gone, so just drop the socket.
    if (!ok || !(await settleWithin(conn.end().then(() => true, () => false), 5_000, false))) conn.destroy();
  }
}

/**
 * One connection attempt; true once the server answers the handshake. Access denied also counts: a fresh MySQL
 * datadir has no root@127.0.0.1 until startServer() adds it over the socket.
 */
function canConnect(opts: Partial<Options>): Promise<boolean> {
  return new Promise((resolve) => {
    const conn = mysql.createConnection({ ...opts, connectTimeout: 1_000 });
    conn.on('error', () => undefined); // late errors after a failed handshake must not crash the test process
    conn.connect((err) => {
      conn.destroy();
      resolve(!err || err.errno === 1045 || err.errno === 1130);
    });
  });
}

// ---------------------------------------------------------------------------------------------------------------
// Process cleanup: a crashed or interrupted test must never leave servers behind

/** Anything that must not outlive the test process: killed and deleted synchronously on exit or signal. */
export interface SyncDestroyable {
  destroySync(): void;
}

const liveServers = new Set<SyncDestroyable>();
let cleanupInstalled = false;

/** Destroys `item` when the test process exits or is interrupted, unless untrackCleanup() was called first. */
export function trackCleanup(item: SyncDestroyable): void {
  installCleanup();
  liveServers.add(item);
}

export function untrackCleanup(item: SyncDestroyable): void {
  liveServers.delete(item);
}

function installCleanup(): void {
  if (cleanupInstalled) return;
  cleanupInstalled = true;
  // 'exit' handlers must be synchronous: signal every child and delete the datadirs right here.
  process.on('exit', () => {
    for (const server of liveServers) server.destroySync();
  });
  // A signal ends Node without running 'exit' handlers; clean up, then let the signal do what it would have done.
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    const handler = () => {
      for (const server of liveServers) server.destroySync();
      process.removeListener(signal, handler);
      if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
    };
    process.on(signal, handler);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Private server

/**
 * One mariadbd/mysqld on its own directory (`dir/data`, `dir/tmp`, socket, pid file, `dir/server.log`) and port.
 * Subclasses add command-line arguments per start through serverArgs() (Galera nodes: see galera.ts).
 */
export class PrivateServer implements TestServer {
  readonly host = '127.0.0.1';
  readonly user = 'root';
  readonly password = '';
  readonly database = 'test';
  readonly controllable = true;
  readonly flavor: 'mariadb' | 'mysql';
  readonly url: string;

  /** How long start() may take (spawn to accepting connections, bind retries included). */
  protected startTimeoutMs = START_TIMEOUT_MS;
  protected child: ChildProcess | undefined;
  protected exited: Promise<void> = Promise.resolve();
  private paused = false;
  /** Whether pause() stopped it (and resume() has not continued it yet). */
  get isPaused(): boolean {
    return this.paused;
  }
  private closing: Promise<void> | undefined;
  protected readonly datadir: string;
  protected readonly tmpdir: string;
  private readonly socket: string;
  readonly logFile: string;

  constructor(
    protected readonly bin: ServerBinary,
    protected readonly dir: string,
    readonly port: number,
    private readonly extraArgs: string[],
  ) {
    this.flavor = bin.flavor;
    this.url = `mysql://root@127.0.0.1:${port}/test`;
    this.datadir = path.join(dir, 'data');
    this.tmpdir = path.join(dir, 'tmp');
    fs.mkdirSync(this.tmpdir, { recursive: true });
    this.socket = path.join(dir, 'mysqld.sock');
    this.logFile = path.join(dir, 'server.log');
  }

  connectionOptions(): Options {
    return { host: this.host, port: this.port, user: this.user, password: this.password, database: this.database };
  }

  admin<T = any>(sql: string, values?: unknown[]): Promise<T> {
    return runAdmin<T>(this.connectionOptions(), sql, values);
  }

  /** The server process's pid while it runs. */
  get pid(): number | undefined {
    return this.running ? this.child!.pid : undefined;
  }

  get running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  /** The end of this server's log (every start of it appends there). */
  logTail(bytes = 4000): string {
    return readTail(this.logFile, bytes);
  }

  /** Arguments of the next start, after the common ones: the constructor's `extraArgs` here. */
  protected serverArgs(): string[] {
    return this.extraArgs;
  }

  /** Every argument of a start: the common ones, then serverArgs() (which so override them). */
  protected commandLine(): string[] {
    return [
      '--no-defaults',
      `--datadir=${this.datadir}`,
      `--port=${this.port}`,
      '--bind-address=127.0.0.1',
      `--socket=${this.socket}`,
      `--pid-file=${path.join(this.dir, 'mysqld.pid')}`,
      ...userArgs(),
      ...SIZE_ARGS,
      '--skip-log-bin',
      '--skip-name-resolve',
      // Durability is pointless for throw-away data and fsyncs slow every test.
      '--innodb-flush-log-at-trx-commit=2',
      '--loose-mysqlx=OFF', // MySQL 8 would otherwise also listen on 33060; MariaDB ignores loose-* it lacks
      // Its own tmpdir: information_schema queries spill to on-disk temp tables, and in the shared /tmp another
      // process's clean-up can delete one mid-query ("Error on delete of '/tmp/#sql-temptable-...'").
      `--tmpdir=${this.tmpdir}`,
      ...this.serverArgs(),
    ];
  }

  async start(): Promise<void> {
    if (this.closing) throw new Error('server is closed');
    if (this.running) return;
    const deadline = Date.now() + this.startTimeoutMs;
    // The port was free when chosen, but between a kill and a restart some other socket may grab it for a moment;
    // retry the bind until the deadline rather than failing the test on that race.
    for (;;) {
      const logStart = fs.existsSync(this.logFile) ? fs.statSync(this.logFile).size : 0;
      this.spawnServer();
      const outcome = await this.waitReady(deadline);
      if (outcome === 'ready') break;
      // Only this attempt's output: the same log file collects every start of this server.
      const fresh = fs.readFileSync(this.logFile).subarray(logStart).toString('utf8');
      await this.kill();
      if (/address already in use|bind on tcp\/ip port/i.test(fresh) && Date.now() + 200 < deadline) {
        await delay(100);
        continue;
      }
      throw new Error(
        `${this.flavor} server on port ${this.port} did not start (${outcome}); its log ends:\n${fresh.slice(-4000)}`,
      );
    }
  }

  private spawnServer(): void {
    const child = spawnGuarded(this.bin.path, this.commandLine(), this.logFile);
    this.child = child;
    this.paused = false;
    this.exited = new Promise((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) resolve();
      else child.once('exit', () => resolve());
      child.once('error', () => resolve());
    });
    trackCleanup(this);
  }

  /** Polls by connecting (50 ms apart) until the server answers, exits, or the deadline passes. */
  private async waitReady(deadline: number): Promise<'ready' | 'exited' | 'timeout'> {
    let exited = false;
    void this.exited.then(() => {
      exited = true;
    });
    const opts = { host: this.host, port: this.port, user: this.user, password: this.password };
    while (Date.now() < deadline) {
      if (exited) return 'exited';
      if (await canConnect(opts)) return 'ready';
      if (exited) return 'exited';
      await delay(50);
    }
    return 'timeout';
  }

  async kill(): Promise<void> {
    if (!this.running) return;
    // The whole group: helpers the server forked (SST scripts) go too. Delivered even to a SIGSTOPped process.
    killGroup(this.child!.pid, 'SIGKILL');
    if ((await settleWithin(this.exited.then(() => true), KILL_TIMEOUT_MS, false)) === false) {
      throw new Error(`server pid ${this.child!.pid} did not exit within ${KILL_TIMEOUT_MS} ms of SIGKILL`);
    }
    this.paused = false;
  }

  pause(): void {
    if (!this.running) throw new Error('pause(): server is not running');
    this.child!.kill('SIGSTOP');
    this.paused = true;
    // SIGSTOP is delivered asynchronously: until every thread has stopped, a query sent at once may still be
    // answered. Wait (bounded, synchronously, 1 ms between looks) until /proc shows them all stopped.
    const pid = this.child!.pid;
    if (pid === undefined) return;
    const states = (): string[] | undefined => {
      try {
        return fs
          .readdirSync(`/proc/${pid}/task`)
          .map((tid) => fs.readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8').split(') ').at(-1)![0]!);
      } catch {
        return undefined; // no /proc here: SIGSTOP alone
      }
    };
    const tick = new Int32Array(new SharedArrayBuffer(4));
    const deadline = Date.now() + 2_000;
    for (let now = states(); now && !now.every((st) => st === 'T' || st === 't'); now = states()) {
      if (Date.now() > deadline) throw new Error('pause(): server threads not all stopped 2 s after SIGSTOP');
      Atomics.wait(tick, 0, 0, 1);
    }
  }

  resume(): void {
    if (!this.running) throw new Error('resume(): server is not running');
    this.child!.kill('SIGCONT');
    this.paused = false;
  }

  async stop(): Promise<void> {
    if (!this.running) return;
    // A stopped process keeps SIGTERM pending until it is continued.
    if (this.paused) this.resume();
    this.child!.kill('SIGTERM');
    if (await settleWithin(this.exited.then(() => true), STOP_TIMEOUT_MS, false)) return;
    await this.kill();
  }

  async restart(): Promise<void> {
    await this.kill();
    await this.start();
  }

  close(): Promise<void> {
    // SIGKILL rather than a graceful stop: the datadir is deleted next, so a clean shutdown buys nothing.
    this.closing ??= this.kill().finally(() => {
      untrackCleanup(this);
      fs.rmSync(this.dir, { recursive: true, force: true });
    });
    return this.closing;
  }

  /** For the process 'exit' handler only: no awaiting possible there. */
  destroySync(): void {
    if (this.running) killGroup(this.child!.pid, 'SIGKILL');
    fs.rmSync(this.dir, { recursive: true, force: true });
    untrackCleanup(this);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// External server (MYSQL_URL)

class ExternalServer implements TestServer {
  readonly controllable = false;
  readonly host: string;
  readonly port: number;
  readonly user: string;
  readonly password: string;
  readonly database: string;

  constructor(
    readonly url: string,
    readonly flavor: 'mariadb' | 'mysql',
  ) {
    const parsed = parseMysqlUrl(url);
    this.host = parsed.host;
    this.port = parsed.port;
    this.user = parsed.user;
    this.password = parsed.password;
    this.database = parsed.database;
  }

  connectionOptions(): Options {
    return { host: this.host, port: this.port, user: this.user, password: this.password, database: this.database };
  }

  admin<T = any>(sql: string, values?: unknown[]): Promise<T> {
    return runAdmin<T>(this.connectionOptions(), sql, values);
  }

  kill(): Promise<void> {
    return Promise.reject(notControllable('kill'));
  }
  pause(): void {
    throw notControllable('pause');
  }
  resume(): void {
    throw notControllable('resume');
  }
  stop(): Promise<void> {
    return Promise.reject(notControllable('stop'));
  }
  start(): Promise<void> {
    return Promise.reject(notControllable('start'));
  }
  restart(): Promise<void> {
    return Promise.reject(notControllable('restart'));
  }
  async close(): Promise<void> {
    // Not ours to stop.
  }
}

function notControllable(what: string): Error {
  return new Error(`${what}() needs a private server it can control; MYSQL_URL points at an external one`);
}

function parseMysqlUrl(url: string): Options {
  const u = new URL(url);
  if (!/^(mysql|mariadb):$/.test(u.protocol)) throw new Error(`MYSQL_URL must start with mysql://, got ${u.protocol}`);
  return {
    host: u.hostname.replace(/^\[|\]$/g, '') || '127.0.0.1',
    port: u.port ? Number(u.port) : 3306,
    user: decodeURIComponent(u.username) || 'root',
    password: decodeURIComponent(u.password),
    database: decodeURIComponent(u.pathname.replace(/^\//, '')) || 'test',
  };
}

async function connectExternal(url: string): Promise<ExternalServer> {
  const opts = parseMysqlUrl(url);
  const { database, ...withoutDb } = opts;
  try {
    // Harmless if it exists, and saves a confusing ER_BAD_DB_ERROR in every test when it does not.
    await runAdmin(withoutDb, `CREATE DATABASE IF NOT EXISTS \`${database.replace(/`/g, '``')}\``);
  } catch {
    // The account may lack the privilege; the version query below reports real connection problems.
  }
  let version: string;
  try {
    const rows = await runAdmin<Array<{ v: string }>>(opts, 'SELECT VERSION() AS v');
    version = rows[0]!.v;
  } catch (err) {
    throw new Error(`cannot use MYSQL_URL (${opts.host}:${opts.port}): ${(err as Error).message}`, { cause: err });
  }
  return new ExternalServer(url, /mariadb/i.test(version) ? 'mariadb' : 'mysql');
}

// ---------------------------------------------------------------------------------------------------------------
// Entry points

/**
 * Starts a private server (or wraps MYSQL_URL). `args` are appended to the server's command line and so override
 * the defaults, e.g. `['--max-connections=5', '--wait-timeout=2']`. They are ignored for an external server.
 */
export async function startServer(opts: { args?: string[] } = {}): Promise<TestServer> {
  const external = process.env.MYSQL_URL;
  if (external) return connectExternal(external);

  const bin = locateBinary();
  if ('error' in bin) {
    throw new Error(process.env.CI === 'true' ? `${bin.error} (CI must provide a server)` : bin.error);
  }
  const template = await ensureTemplate(bin);
  installCleanup();
  const dir = makeRunDir('server');
  fs.cpSync(template, path.join(dir, 'data'), { recursive: true });
  const server = new PrivateServer(bin, dir, await freePort(), opts.args ?? []);
  try {
    await server.start();
    if (bin.flavor === 'mysql') {
      // --initialize-insecure only creates root@localhost, which TCP logins with --skip-name-resolve do not match.
      const viaSocket = { socketPath: path.join(dir, 'mysqld.sock'), user: 'root' };
      await runAdmin(viaSocket, "CREATE USER IF NOT EXISTS 'root'@'127.0.0.1' IDENTIFIED BY ''");
      await runAdmin(viaSocket, "GRANT ALL ON *.* TO 'root'@'127.0.0.1' WITH GRANT OPTION");
    }
    const { database: _db, ...withoutDb } = server.connectionOptions();
    await runAdmin(withoutDb, 'CREATE DATABASE IF NOT EXISTS test');
  } catch (err) {
    await server.close();
    throw err;
  }
  return server;
}

/**
 * For tests that kill, pause or restart the server: skips the test (and returns false) when the server is an
 * external MYSQL_URL one that must not be touched.
 */
export function requireControl(t: TestContext, server: TestServer): boolean {
  if (server.controllable) return true;
  t.skip('needs a private server it can kill/pause; MYSQL_URL points at an external one');
  return false;
}
