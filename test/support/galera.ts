/**
 * A private 3-node MariaDB Galera cluster on loopback for integration tests (issue 11, item 5).
 *
 * Each node is a PrivateServer (server.ts: own datadir and tmpdir, free ports, log capture, its own process group
 * and a parent-death signal) with the wsrep options added: its own client, group communication
 * (`gmcast.listen_addr`), IST (`ist.recv_addr`) and SST (`wsrep_sst_receive_address`) ports. Node 1 starts on a
 * copy of the template datadir and bootstraps (`--wsrep-new-cluster`); the others start on an empty datadir and
 * join by rsync SST. Every wait is bounded and fails with the node's log tail. Facts about Galera on this machine
 * that the helpers encode are in docs/testing.md ("Galera test bed").
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import {
  PrivateServer,
  delay,
  ensureTemplate,
  freePort,
  locateBinary,
  makeRunDir,
  runAdmin,
  runToCompletion,
  trackCleanup,
  untrackCleanup,
  type Options,
  type ServerBinary,
} from './server.js';

/**
 * Failure detection: a silent peer is suspected after 3 s and dropped after 6 s. Galera's defaults (5 s / 15 s)
 * make every kill cost 15 s; PT1S made the cluster go non-primary by itself on a loaded machine.
 */
const EVS_OPTIONS = 'evs.suspect_timeout=PT3S;evs.inactive_timeout=PT6S';
/** A node's SST on a loaded 2-core machine: InnoDB start, rsync of ~35 MB, InnoDB start again. */
const NODE_START_TIMEOUT_MS = 90_000;
/** Default bound of the waiting helpers. */
const WAIT_TIMEOUT_MS = 30_000;
/** Each status poll: a node that does not answer within this is polled again (within the wait's bound). */
const POLL_TIMEOUT_MS = 3_000;
const POLL_INTERVAL_MS = 100;

// ---------------------------------------------------------------------------------------------------------------
// What the test bed needs on the machine

let cachedProvider: string | { error: string } | undefined;

/**
 * The Galera provider library: WSREP_PROVIDER if set, else the file the installed galera-4 (or galera-3) package
 * lists (dpkg), else the usual install paths.
 */
export function locateProvider(): string | { error: string } {
  if (cachedProvider) return cachedProvider;
  const explicit = process.env.WSREP_PROVIDER;
  if (explicit) {
    cachedProvider = fs.existsSync(explicit) ? explicit : { error: `WSREP_PROVIDER=${explicit} does not exist` };
    return cachedProvider;
  }
  const candidates: string[] = [];
  for (const pkg of ['galera-4', 'galera-3']) {
    const listed = spawnSync('dpkg-query', ['-L', pkg], { encoding: 'utf8', timeout: 10_000 });
    if (listed.status === 0) candidates.push(...listed.stdout.split('\n').filter((f) => f.endsWith('/libgalera_smm.so')));
  }
  candidates.push(
    '/usr/lib/galera/libgalera_smm.so',
    '/usr/lib/galera-4/libgalera_smm.so',
    '/usr/lib64/galera-4/libgalera_smm.so',
    '/usr/lib64/galera/libgalera_smm.so',
    '/usr/lib/libgalera_smm.so',
  );
  const found = candidates.find((file) => fs.existsSync(file));
  cachedProvider = found ?? {
    error: 'no Galera provider (libgalera_smm.so) found; install galera-4 (or set WSREP_PROVIDER=/path/to/libgalera_smm.so)',
  };
  return cachedProvider;
}

function onPath(name: string): boolean {
  const dirs = [...(process.env.PATH ?? '').split(path.delimiter).filter(Boolean), '/usr/bin', '/usr/sbin'];
  return dirs.some((dir) => fs.existsSync(path.join(dir, name)));
}

/**
 * Whether startGaleraCluster() can run here: a MariaDB server, the Galera provider, rsync and MariaDB's rsync SST
 * script. Not for skipping: a missing piece fails the test (see startGaleraCluster).
 */
export function galeraAvailable(): { ok: true; provider: string; bin: ServerBinary } | { ok: false; reason: string } {
  const bin = locateBinary();
  if ('error' in bin) return { ok: false, reason: bin.error };
  if (bin.flavor !== 'mariadb') return { ok: false, reason: `${bin.path} is MySQL; the Galera test bed needs MariaDB` };
  const provider = locateProvider();
  if (typeof provider !== 'string') return { ok: false, reason: provider.error };
  if (!onPath('rsync')) return { ok: false, reason: 'no rsync on PATH; install rsync (the joiners use rsync SST)' };
  if (!onPath('wsrep_sst_rsync')) {
    return { ok: false, reason: 'no wsrep_sst_rsync on PATH; it comes with mariadb-server' };
  }
  return { ok: true, provider, bin };
}

// ---------------------------------------------------------------------------------------------------------------
// Nodes

/** The wsrep status variables the helpers read (values as the server prints them). */
export interface WsrepStatus {
  wsrep_cluster_size: number;
  /** 'Primary', 'non-Primary' or 'Disconnected'. */
  wsrep_cluster_status: string;
  /** 'Synced', 'Donor/Desynced', 'Joining', 'Joined', 'Initialized', ... */
  wsrep_local_state_comment: string;
  /** 'ON' once the node accepts statements that touch tables. */
  wsrep_ready: string;
  wsrep_connected: string;
  wsrep_last_committed: number;
  [name: string]: string | number;
}

/** What a restart measured. */
export interface RejoinTimings {
  /** From the call until the survivors had dropped the node (0 when they already had). */
  leftMs: number;
  /** `mariadbd --wsrep-recover`. */
  recoverMs: number;
  /** From spawning the server until it was Synced. */
  joinMs: number;
  /** The position --wsrep-recover found ('uuid:seqno'). */
  position: string;
  /** How the node caught up: by incremental state transfer, or by a full SST. */
  transfer: 'IST' | 'SST' | 'none';
}

interface NodePorts {
  client: number;
  gmcast: number;
  ist: number;
  sst: number;
}

/** One Galera node: a private MariaDB with the wsrep options of its cluster. Use it through GaleraCluster. */
export class GaleraNode extends PrivateServer {
  /** 'node1', 'node2', ... (also its wsrep_node_name). */
  readonly name: string;
  readonly ports: Readonly<NodePorts>;
  /** The next start bootstraps a new cluster (--wsrep-new-cluster); cleared once used. */
  bootstrapNext = false;
  /** The next start's --wsrep-start-position (from --wsrep-recover); cleared once used. */
  startPosition: string | undefined;

  constructor(
    bin: ServerBinary,
    dir: string,
    readonly index: number,
    ports: NodePorts,
    private readonly wsrepArgs: string[],
  ) {
    super(bin, dir, ports.client, []);
    this.name = `node${index}`;
    this.ports = Object.freeze({ ...ports });
    this.startTimeoutMs = NODE_START_TIMEOUT_MS;
  }

  protected override serverArgs(): string[] {
    const args = [
      ...this.wsrepArgs,
      `--wsrep-node-name=${this.name}`,
      `--wsrep-node-incoming-address=127.0.0.1:${this.ports.client}`,
      `--wsrep-sst-receive-address=127.0.0.1:${this.ports.sst}`,
      `--wsrep-provider-options=gmcast.listen_addr=tcp://127.0.0.1:${this.ports.gmcast};` +
        `ist.recv_addr=127.0.0.1:${this.ports.ist};${EVS_OPTIONS};gcache.size=32M`,
    ];
    if (this.bootstrapNext) args.push('--wsrep-new-cluster');
    if (this.startPosition) args.push(`--wsrep-start-position=${this.startPosition}`);
    return args;
  }

  override async start(): Promise<void> {
    try {
      await super.start();
    } finally {
      this.bootstrapNext = false;
      this.startPosition = undefined;
    }
  }

  /**
   * Runs `mariadbd --wsrep-recover` on the (stopped) node's datadir: InnoDB recovery, then the last committed
   * position is printed and the server exits. Resolves with 'uuid:seqno'; the next start() passes it on.
   */
  async recover(): Promise<string> {
    if (this.running) throw new Error(`${this.name}: recover() needs the node stopped`);
    const logStart = fs.existsSync(this.logFile) ? fs.statSync(this.logFile).size : 0;
    const result = await runToCompletion(this.bin.path, [...this.commandLine(), '--wsrep-recover'], this.logFile, 60_000);
    const fresh = fs.readFileSync(this.logFile).subarray(logStart).toString('utf8');
    const position = /Recovered position:\s*([0-9a-f-]{36}:-?\d+)/.exec(fresh)?.[1];
    if (result !== 0 || !position) {
      throw new Error(`${this.name}: --wsrep-recover found no position (exit ${result}); its log ends:\n${fresh.slice(-4000)}`);
    }
    this.startPosition = position;
    return position;
  }

  /**
   * Makes the datadir writable by rsync SST's receiver, which runs as nobody when the server runs as root (the
   * rsync daemon's default uid): it must create, overwrite and delete files there. A no-op when not root.
   */
  handDatadirToSst(): void {
    const ids = nobodyIds();
    if (!ids) return;
    const chown = (file: string): void => {
      fs.lchownSync(file, ids.uid, ids.gid);
      if (fs.lstatSync(file).isDirectory()) for (const name of fs.readdirSync(file)) chown(path.join(file, name));
    };
    chown(this.datadir);
  }

  /** The wsrep status variables, with a bound on connecting and on the query. */
  async status(timeoutMs = POLL_TIMEOUT_MS): Promise<WsrepStatus> {
    // No default database: it does not exist yet on a node that has just bootstrapped.
    const { database: _db, ...withoutDb } = this.connectionOptions();
    const rows = await runAdmin<Array<{ Variable_name: string; Value: string }>>(
      withoutDb,
      "SHOW GLOBAL STATUS LIKE 'wsrep\\_%'",
      undefined,
      { connectTimeout: timeoutMs, timeout: timeoutMs },
    );
    const status: Record<string, string | number> = {};
    for (const { Variable_name: name, Value: value } of rows) status[name.toLowerCase()] = value;
    status.wsrep_cluster_size = Number(status.wsrep_cluster_size ?? 0);
    status.wsrep_last_committed = Number(status.wsrep_last_committed ?? -1);
    return status as WsrepStatus;
  }
}

// ---------------------------------------------------------------------------------------------------------------
// The cluster

/** A node by object or by its 1-based number. */
export type NodeRef = GaleraNode | number;

/** What `wsrep_reject_queries` is set to. */
export type RejectMode = 'ALL' | 'NONE' | 'ALL_KILL';

export interface GaleraCluster {
  /** node1 (bootstrapped it), node2, node3. */
  readonly nodes: readonly GaleraNode[];
  /** The run directory (every node's datadir, tmpdir and log below it); deleted by close(). */
  readonly dir: string;
  /** How long startGaleraCluster() took, spawn of node 1 to every node Synced. */
  readonly startMs: number;
  node(ref: NodeRef): GaleraNode;
  /** host/port/user/password/database of a node, for building pools. */
  connectionOptions(ref: NodeRef): Options;
  /** One statement on a fresh connection to the node (closed after). */
  admin<T = any>(ref: NodeRef, sql: string, values?: unknown[]): Promise<T>;
  /** SIGKILL to the node's process group; resolves once it has exited. */
  kill(ref: NodeRef): Promise<void>;
  /** SIGSTOP; returns once /proc shows every server thread stopped. */
  pause(ref: NodeRef): void;
  resume(ref: NodeRef): void;
  /** Graceful shutdown (SIGTERM: the node leaves the cluster at once), SIGKILL after 15 s. */
  stop(ref: NodeRef): Promise<void>;
  /**
   * Brings a node back into the cluster: kills it if it runs, waits until a running survivor has dropped it from
   * `wsrep_cluster_size` (restarting earlier made the whole cluster non-primary for ~3 s), runs --wsrep-recover,
   * starts it with the recovered position and waits until it is Synced. Needs another running node.
   */
  restart(ref: NodeRef, timeoutMs?: number): Promise<RejoinTimings>;
  /**
   * `SET GLOBAL wsrep_reject_queries`. ALL: statements that touch tables fail with 1047 (`SELECT 1` still
   * answers); on MariaDB 10.11 new connections are still accepted. ALL_KILL: also kills every other client
   * connection. NONE: serves again.
   */
  rejectQueries(ref: NodeRef, mode: RejectMode): Promise<void>;
  /** `SET GLOBAL wsrep_desync` (on: the node stops taking part in flow control; 'Donor/Desynced'). */
  desync(ref: NodeRef, on?: boolean): Promise<void>;
  status(ref: NodeRef): Promise<WsrepStatus>;
  /** Polls the node until `check` holds; fails after `timeoutMs` with the last status and the node's log tail. */
  waitStatus(ref: NodeRef, what: string, check: (s: WsrepStatus) => boolean, timeoutMs?: number): Promise<number>;
  /** Until the node is Synced, ready and in the primary component; resolves with the ms waited. */
  waitSynced(ref: NodeRef, timeoutMs?: number): Promise<number>;
  /**
   * Until every running, unpaused node (or those of `opts.nodes`) reports `wsrep_cluster_size` = n; resolves with
   * the ms waited.
   */
  waitClusterSize(n: number, opts?: { nodes?: NodeRef[]; timeoutMs?: number }): Promise<number>;
  /** Kills every node and deletes the run directory; idempotent. */
  close(): Promise<void>;
}

/** Ports no other node of this cluster uses (freePort() may hand out a port it handed out before). */
async function distinctPorts(count: number): Promise<number[]> {
  const ports = new Set<number>();
  for (let tries = 0; ports.size < count; tries++) {
    if (tries > count * 20) throw new Error(`could not find ${count} distinct free ports`);
    ports.add(await freePort());
  }
  return [...ports];
}

class Cluster implements GaleraCluster {
  readonly nodes: GaleraNode[] = [];
  startMs = 0;
  private closing: Promise<void> | undefined;

  constructor(readonly dir: string) {}

  node(ref: NodeRef): GaleraNode {
    if (typeof ref !== 'number') return ref;
    const node = this.nodes[ref - 1];
    if (!node) throw new Error(`no node ${ref} (nodes are numbered 1..${this.nodes.length})`);
    return node;
  }

  connectionOptions(ref: NodeRef): Options {
    return this.node(ref).connectionOptions();
  }

  admin<T = any>(ref: NodeRef, sql: string, values?: unknown[]): Promise<T> {
    return this.node(ref).admin<T>(sql, values);
  }

  kill(ref: NodeRef): Promise<void> {
    return this.node(ref).kill();
  }

  pause(ref: NodeRef): void {
    this.node(ref).pause();
  }

  resume(ref: NodeRef): void {
    this.node(ref).resume();
  }

  stop(ref: NodeRef): Promise<void> {
    return this.node(ref).stop();
  }

  async restart(ref: NodeRef, timeoutMs = NODE_START_TIMEOUT_MS): Promise<RejoinTimings> {
    const node = this.node(ref);
    const begin = Date.now();
    await this.kill(node);
    const survivors = this.nodes.filter((n) => n !== node && n.running && !n.isPaused);
    if (survivors.length === 0) {
      throw new Error(`restart(${node.name}): no other node is running to rejoin (it would need a new bootstrap)`);
    }
    // The survivors still count the node until evs.inactive_timeout drops it; a node that comes back before that
    // was seen to take the whole cluster non-primary for ~3 s.
    const others = this.nodes.filter((n) => n !== node && n.running).length;
    await this.waitStatus(survivors[0]!, `wsrep_cluster_size <= ${others} (${node.name} dropped)`, (s) => s.wsrep_cluster_size <= others, timeoutMs);
    const leftMs = Date.now() - begin;
    const recoverBegin = Date.now();
    const position = await node.recover();
    const recoverMs = Date.now() - recoverBegin;
    // A position of 00000000-...:-1 (a node killed before InnoDB stored the position its SST gave it) means a full
    // SST into this used datadir: its receiver runs as nobody, so hand it the files.
    node.handDatadirToSst();
    const logStart = fs.statSync(node.logFile).size;
    const joinBegin = Date.now();
    await node.start();
    await this.waitSynced(node, Math.max(1_000, timeoutMs - (Date.now() - begin)));
    const joinMs = Date.now() - joinBegin;
    const fresh = fs.readFileSync(node.logFile).subarray(logStart).toString('utf8');
    // The SST script runs either way and says which it was ("rsync IST completed on joiner" when the donor only
    // sent the missing writesets). The server's own lines do not tell: it logs "SST succeeded" and "IST received"
    // after both.
    const said = /WSREP_SST: \[INFO\] \S+ (IST|SST) completed on joiner/.exec(fresh)?.[1];
    const transfer = said === 'IST' || said === 'SST' ? said : 'none';
    return { leftMs, recoverMs, joinMs, position, transfer };
  }

  async rejectQueries(ref: NodeRef, mode: RejectMode): Promise<void> {
    // MariaDB keeps the connection that sets ALL_KILL (since 10.1), so this statement gets its OK.
    await this.node(ref).admin(`SET GLOBAL wsrep_reject_queries = ${mode}`);
  }

  async desync(ref: NodeRef, on = true): Promise<void> {
    const node = this.node(ref);
    await node.admin(`SET GLOBAL wsrep_desync = ${on ? 'ON' : 'OFF'}`);
    const want = on ? 'Donor/Desynced' : 'Synced';
    await this.waitStatus(node, `wsrep_local_state_comment = ${want}`, (s) => s.wsrep_local_state_comment === want);
  }

  status(ref: NodeRef): Promise<WsrepStatus> {
    return this.node(ref).status();
  }

  async waitStatus(
    ref: NodeRef,
    what: string,
    check: (s: WsrepStatus) => boolean,
    timeoutMs = WAIT_TIMEOUT_MS,
  ): Promise<number> {
    const node = this.node(ref);
    const begin = Date.now();
    const deadline = begin + timeoutMs;
    let last = 'no answer yet';
    for (let polls = 0; ; polls++) {
      const left = deadline - Date.now();
      if (left <= 0 || polls > timeoutMs / POLL_INTERVAL_MS + 10) break;
      try {
        const s = await node.status(Math.min(POLL_TIMEOUT_MS, Math.max(200, left)));
        if (check(s)) return Date.now() - begin;
        last = `size ${s.wsrep_cluster_size}, ${s.wsrep_cluster_status}, ${s.wsrep_local_state_comment}, ready ${s.wsrep_ready}`;
      } catch (err) {
        last = `${(err as Error).message}`;
        if (!node.running) last += ' (the node is not running)';
      }
      await delay(POLL_INTERVAL_MS);
    }
    throw new Error(
      `${node.name} (port ${node.port}): no ${what} within ${timeoutMs} ms; last seen: ${last}; its log ends:\n` +
        node.logTail(3000),
    );
  }

  waitSynced(ref: NodeRef, timeoutMs = WAIT_TIMEOUT_MS): Promise<number> {
    return this.waitStatus(
      ref,
      'Synced primary state',
      (s) => s.wsrep_local_state_comment === 'Synced' && s.wsrep_ready === 'ON' && s.wsrep_cluster_status === 'Primary',
      timeoutMs,
    );
  }

  async waitClusterSize(n: number, opts: { nodes?: NodeRef[]; timeoutMs?: number } = {}): Promise<number> {
    const nodes = opts.nodes?.map((ref) => this.node(ref)) ?? this.nodes.filter((node) => node.running && !node.isPaused);
    const begin = Date.now();
    await Promise.all(
      nodes.map((node) =>
        this.waitStatus(node, `wsrep_cluster_size = ${n}`, (s) => s.wsrep_cluster_size === n, opts.timeoutMs),
      ),
    );
    return Date.now() - begin;
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      await Promise.allSettled(this.nodes.map((node) => node.close()));
      untrackCleanup(this);
      fs.rmSync(this.dir, { recursive: true, force: true });
    })();
    return this.closing;
  }

  destroySync(): void {
    for (const node of this.nodes) node.destroySync();
    fs.rmSync(this.dir, { recursive: true, force: true });
    untrackCleanup(this);
  }
}

/** The uid rsync's daemon runs as when started by root (rsync SST's receiver): it must write the joiner datadirs. */
function nobodyIds(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const line = fs
    .readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .find((l) => l.startsWith('nobody:'));
  const [, , uid, gid] = line?.split(':') ?? [];
  return uid && gid ? { uid: Number(uid), gid: Number(gid) } : undefined;
}

/**
 * Starts a Galera cluster of `nodes` (default 3) MariaDB servers on loopback and resolves once every node is Synced
 * in one primary component of that size. Fails (never skips) when the machine lacks what it needs; under CI=true
 * the message says CI must provide it. `args` are appended to every node's command line.
 */
export async function startGaleraCluster(opts: { nodes?: number; args?: string[] } = {}): Promise<GaleraCluster> {
  const size = opts.nodes ?? 3;
  const available = galeraAvailable();
  if (!available.ok) {
    throw new Error(
      process.env.CI === 'true'
        ? `${available.reason} (CI must provide Galera: .ci/run installs galera-4 and rsync)`
        : `the Galera test bed could not run: ${available.reason}`,
    );
  }
  const { bin, provider } = available;
  const template = await ensureTemplate(bin);
  const dir = makeRunDir('galera');
  const cluster = new Cluster(dir);
  trackCleanup(cluster);
  try {
    // rsync SST's receiver runs as nobody: it must reach (x) the joiners' datadirs below the run directory.
    fs.chmodSync(dir, 0o711);
    const ports = await distinctPorts(size * 4);
    const nodePorts = Array.from({ length: size }, (_, i) => ({
      client: ports[i * 4]!,
      gmcast: ports[i * 4 + 1]!,
      ist: ports[i * 4 + 2]!,
      sst: ports[i * 4 + 3]!,
    }));
    const wsrepArgs = [
      '--wsrep-on=ON',
      `--wsrep-provider=${provider}`,
      `--wsrep-cluster-name=rmp-${process.pid}-${path.basename(dir).slice(-6)}`,
      `--wsrep-cluster-address=gcomm://${nodePorts.map((p) => `127.0.0.1:${p.gmcast}`).join(',')}`,
      '--wsrep-node-address=127.0.0.1',
      '--wsrep-sst-method=rsync',
      '--binlog-format=ROW',
      '--innodb-autoinc-lock-mode=2',
      ...(opts.args ?? []),
    ];
    for (let i = 0; i < size; i++) {
      const nodeDir = path.join(dir, `node${i + 1}`);
      fs.mkdirSync(nodeDir, { mode: 0o711 });
      const data = path.join(nodeDir, 'data');
      if (i === 0) {
        fs.cpSync(template, data, { recursive: true });
      } else {
        fs.mkdirSync(data, { mode: 0o700 });
      }
      const node = new GaleraNode(bin, nodeDir, i + 1, nodePorts[i]!, wsrepArgs);
      // Empty and owned by nobody: rsync SST's receiver cannot write into a root-owned datadir.
      if (i > 0) node.handDatadirToSst();
      cluster.nodes.push(node);
    }
    const begin = Date.now();
    const first = cluster.nodes[0]!;
    first.bootstrapNext = true;
    await first.start();
    await cluster.waitSynced(first);
    const { database: _db, ...withoutDb } = first.connectionOptions();
    await runAdmin(withoutDb, 'CREATE DATABASE IF NOT EXISTS test');
    // One joiner at a time into the group, the next once node 1 counts the previous one: two joining at the same
    // moment made view installation time out ("install timer expired") and cost ~7 s under load. Their SSTs still
    // overlap with the next start: a joiner that finds the donor busy retries every second.
    const starts: Array<Promise<void>> = [];
    for (const [i, node] of cluster.nodes.slice(1).entries()) {
      const started = node.start();
      started.catch(() => undefined); // awaited below; this only keeps an early failure from going unhandled
      starts.push(started);
      await Promise.race([started, cluster.waitClusterSize(i + 2, { nodes: [first] })]);
    }
    await Promise.all(starts);
    await Promise.all(cluster.nodes.map((node) => cluster.waitSynced(node, NODE_START_TIMEOUT_MS)));
    await cluster.waitClusterSize(size);
    cluster.startMs = Date.now() - begin;
  } catch (err) {
    await cluster.close();
    throw err;
  }
  return cluster;
}
