/**
 * A TCP proxy between the pool and the server that produces, on demand, the network failures no server produces by
 * itself: flows that go silent, flows that are reset, flows that close when the client next writes, refused or
 * never-answered connects, and added latency.
 *
 * Limitation: the proxy's own kernel still ACKs whatever the client sends, including TCP keepalive probes, so a
 * blackholed flow looks alive at the TCP level. It models a peer that stops answering, not a dead network path;
 * keepalive-based detection cannot be tested through it.
 *
 * It also reads the MySQL protocol in both directions (packet framing only, plus the few fields it needs), so that
 * `dropReplyWhen()` can let a chosen command run to completion on the server, then throw its reply away and cut the
 * client: the one failure where the client cannot know whether its statement ran, because it did.
 */
import net from 'node:net';

type FlowMode = 'normal' | 'blackhole' | 'close-on-next-write';

const END = Symbol('end');

/** One direction of a flow; chunks wait in order until their due time so latency never reorders bytes. */
class Pipe {
  private readonly queue: Array<{ due: number; chunk: Buffer | typeof END }> = [];
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly proxy: FaultProxy,
    private readonly target: () => net.Socket | undefined,
  ) {}

  push(chunk: Buffer | typeof END): void {
    const last = this.queue.at(-1)?.due ?? 0;
    // max() keeps order when latency is lowered while chunks are still waiting.
    this.queue.push({ due: Math.max(Date.now() + this.proxy.latency, last), chunk });
    this.drain();
  }

  clear(): void {
    this.queue.length = 0;
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private drain(): void {
    if (this.timer) return;
    const now = Date.now();
    while (this.queue.length > 0 && this.queue[0]!.due <= now) {
      const { chunk } = this.queue.shift()!;
      const socket = this.target();
      if (!socket || socket.destroyed) continue;
      if (chunk === END) socket.end();
      else socket.write(chunk);
    }
    if (this.queue.length > 0) {
      this.timer = setTimeout(() => {
        this.timer = undefined;
        this.drain();
      }, this.queue[0]!.due - now);
    }
  }
}

class Flow {
  mode: FlowMode;
  server: net.Socket | undefined;
  readonly toServer: Pipe;
  readonly toClient: Pipe;
  readonly fromClient = new Framer();
  readonly fromServer = new Framer();
  /** Client capability flags from its handshake response (0 until then). */
  clientFlags = 0;
  serverFlags = 0;
  /** Prepared statement id -> its text, learnt from COM_STMT_PREPARE and its reply. */
  readonly statements = new Map<number, Buffer>();
  /** The command whose reply the server is sending now. */
  current: { command: ProxyCommand; drop: ReplyDrop | undefined; reply: ReplyReader } | undefined;

  constructor(
    proxy: FaultProxy,
    readonly client: net.Socket,
    mode: FlowMode,
  ) {
    this.mode = mode;
    this.toServer = new Pipe(proxy, () => this.server);
    this.toClient = new Pipe(proxy, () => this.client);
  }

  silence(): void {
    this.mode = 'blackhole';
    this.toServer.clear();
    this.toClient.clear();
  }

  destroy(): void {
    this.toServer.clear();
    this.toClient.clear();
    this.client.destroy();
    this.server?.destroy();
  }
}


/** Splits a byte stream into MySQL packets (3-byte length, 1-byte sequence id, payload). */
class Framer {
  private buf: Buffer = Buffer.alloc(0);

  /** Appends a chunk; returns the packets it completed, in order. */
  push(chunk: Buffer): Array<{ seq: number; payload: Buffer }> {
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    const out: Array<{ seq: number; payload: Buffer }> = [];
    // Bounded: each turn consumes at least the 4-byte header.
    while (this.buf.length >= 4) {
      const len = this.buf.readUIntLE(0, 3);
      if (this.buf.length < 4 + len) break;
      out.push({ seq: this.buf[3]!, payload: this.buf.subarray(4, 4 + len) });
      this.buf = this.buf.subarray(4 + len);
    }
    return out;
  }
}

const COM_QUERY = 0x03;
const COM_STMT_PREPARE = 0x16;
const COM_STMT_EXECUTE = 0x17;
const CLIENT_DEPRECATE_EOF = 0x01000000;
const SERVER_MORE_RESULTS_EXISTS = 0x0008;

/** A client command as the proxy read it off the wire. */
export interface ProxyCommand {
  kind: 'query' | 'prepare' | 'execute' | 'other';
  /** The command byte (COM_QUERY = 3, ...). */
  command: number;
  /**
   * query/prepare: the SQL bytes as sent (in the connection's charset, after mysql2 interpolated the values);
   * execute: the text of the prepared statement it runs (undefined if its PREPARE was not seen).
   */
  sql: Buffer | undefined;
  /** `sql` decoded as latin1, byte for byte (ASCII text reads as itself; no byte is lost). */
  text: string;
  /** 1-based count of commands the proxy has seen, over all flows. */
  index: number;
}

/** Reads a length-encoded integer at `at`; returns [value, next offset]. */
function lenenc(p: Buffer, at: number): [number, number] {
  const b = p[at] ?? 0;
  if (b < 0xfb) return [b, at + 1];
  if (b === 0xfc) return [p.readUInt16LE(at + 1), at + 3];
  if (b === 0xfd) return [p.readUIntLE(at + 1, 3), at + 4];
  return [Number(p.readBigUInt64LE(at + 1)), at + 9];
}

/** Status flags of an OK packet (header byte 0x00, or 0xfe with CLIENT_DEPRECATE_EOF). */
function okStatus(p: Buffer): number {
  const [, afterRows] = lenenc(p, 1);
  const [, afterId] = lenenc(p, afterRows);
  return p.length >= afterId + 2 ? p.readUInt16LE(afterId) : 0;
}

/**
 * Follows the server's reply to COM_QUERY / COM_STMT_EXECUTE packet by packet and says when it is complete: an ERR,
 * or an OK / final EOF without SERVER_MORE_RESULTS_EXISTS (multi-statement strings and CALL send several results).
 * In autocommit mode the server commits before it sends that last packet, so "complete" means "committed".
 */
class ReplyReader {
  private state: 'first' | 'columns' | 'column-eof' | 'rows' = 'first';
  private columns = 0;

  constructor(private readonly deprecateEof: boolean) {}

  /** Feeds one packet; true once the reply is complete. */
  feed(p: Buffer): boolean {
    const head = p[0];
    switch (this.state) {
      case 'first':
        if (head === 0xff || head === 0xfb) return true; // ERR; LOCAL INFILE request (not used by these tests)
        if (head === 0x00) return (okStatus(p) & SERVER_MORE_RESULTS_EXISTS) === 0;
        this.columns = lenenc(p, 0)[0];
        this.state = 'columns';
        return false;
      case 'columns':
        if (--this.columns === 0) this.state = this.deprecateEof ? 'rows' : 'column-eof';
        return false;
      case 'column-eof':
        this.state = 'rows';
        return false;
      case 'rows': {
        if (head === 0xff) return true;
        const terminal = head === 0xfe && (this.deprecateEof ? p.length < 0xffffff : p.length < 9);
        if (!terminal) return false;
        const status = this.deprecateEof ? okStatus(p) : p.length >= 5 ? p.readUInt16LE(3) : 0;
        if ((status & SERVER_MORE_RESULTS_EXISTS) === 0) return true;
        this.state = 'first';
        return false;
      }
    }
  }
}

/** An armed `dropReplyWhen()`: how often it fired, and a promise for the first time. */
export class ReplyDrop {
  /** Commands whose reply was dropped (client cut) so far. */
  fired = 0;
  /** Commands matched so far (a matched command is cut once its reply is complete). */
  private caught = 0;
  /** Resolves with the first command whose reply was dropped (after its client was cut). */
  readonly first: Promise<ProxyCommand>;
  private resolveFirst!: (cmd: ProxyCommand) => void;
  private cancelled = false;

  constructor(
    readonly match: (cmd: ProxyCommand) => boolean,
    readonly cut: 'reset' | 'close',
    readonly times: number,
  ) {
    this.first = new Promise((resolve) => (this.resolveFirst = resolve));
  }

  /** Still armed: not cancelled and fewer than `times` caught. */
  get armed(): boolean {
    return !this.cancelled && this.caught < this.times;
  }

  /** Disarms it; commands already caught are still cut. */
  cancel(): void {
    this.cancelled = true;
  }

  /** @internal Offers a command; true when this drop takes it. */
  take(cmd: ProxyCommand): boolean {
    if (!this.armed || !this.match(cmd)) return false;
    this.caught++;
    return true;
  }

  /** @internal */
  done(cmd: ProxyCommand): void {
    this.fired++;
    if (this.fired === 1) this.resolveFirst(cmd);
  }
}

export class FaultProxy {
  readonly host = '127.0.0.1';
  /** ms added to each forwarded chunk, in both directions; 0 = none. Applies to chunks received after the change. */
  latency = 0;

  private listener: net.Server | undefined;
  private readonly flows = new Set<Flow>();
  /** Every socket of every flow until it has emitted 'close' (a flow can be forgotten before its sockets close). */
  private readonly sockets = new Set<net.Socket>();
  private blackholingNew = false;
  private failingNew = false;
  private closing: Promise<void> | undefined;

  private listenPort = 0;
  private commands = 0;
  private readonly byCommand = new Map<number, number>();
  private readonly drops: ReplyDrop[] = [];

  private constructor(private readonly target: { host: string; port: number }) {}

  /** Listens on 127.0.0.1 on a free port and forwards every connection to `target`. */
  static async start(target: { host: string; port: number }): Promise<FaultProxy> {
    const proxy = new FaultProxy(target);
    await proxy.listen();
    proxy.listenPort = (proxy.listener!.address() as net.AddressInfo).port;
    return proxy;
  }

  /** Fixed for the proxy's life, including across refuseNew(true)/refuseNew(false). */
  get port(): number {
    return this.listenPort;
  }

  /** Commands the proxy has seen with this command byte, over all flows (COM_PING = 0x0e, COM_QUERY = 0x03, ...). */
  commandsSeen(command: number): number {
    return this.byCommand.get(command) ?? 0;
  }

  /** Flows whose client side is still open. */
  get activeFlows(): number {
    let n = 0;
    for (const flow of this.flows) if (!flow.client.destroyed) n++;
    return n;
  }

  /**
   * Existing flows go silent both ways: nothing is forwarded, no FIN, no RST, sockets stay open (until the client
   * gives up on its own, or close()). New flows pass normally.
   */
  blackholeExisting(): void {
    for (const flow of this.flows) flow.silence();
  }

  /** Existing flows: the client gets an RST; the server side is destroyed (it sees a close). */
  resetExisting(): void {
    for (const flow of this.flows) {
      flow.silence();
      resetSocket(flow.client);
      flow.server?.destroy();
    }
  }

  /**
   * Existing flows: the next time the client writes, that write is not forwarded; the client gets a graceful
   * close (FIN) and the server side is closed too. Models a peer that hung up just as the client wrote.
   */
  closeExistingOnNextWrite(): void {
    for (const flow of this.flows) if (flow.mode === 'normal') flow.mode = 'close-on-next-write';
  }

  /**
   * The next command (up to `times`, default 1) for which `match` returns true is forwarded and runs to completion on
   * the server; its whole reply is then thrown away and the client is cut (`reset`: an RST, the default; `close`: a
   * FIN), the server side closed. The statement ran (and, in autocommit mode, committed), the client saw a dead
   * connection. `match` is offered COM_QUERY and COM_STMT_EXECUTE commands.
   */
  dropReplyWhen(
    match: (cmd: ProxyCommand) => boolean,
    opts: { cut?: 'reset' | 'close'; times?: number } = {},
  ): ReplyDrop {
    const drop = new ReplyDrop(match, opts.cut ?? 'reset', opts.times ?? 1);
    this.drops.push(drop);
    return drop;
  }

  /** on: stop listening so connects get ECONNREFUSED (existing flows unaffected); off: listen again on the same port. */
  async refuseNew(on: boolean): Promise<void> {
    if (this.closing) throw new Error('proxy is closed');
    if (on) {
      if (!this.listener) return;
      const listener = this.listener;
      this.listener = undefined;
      // close() shuts the listening socket at once; its callback would wait for every accepted flow to end.
      listener.close();
      await new Promise((resolve) => setImmediate(resolve));
    } else if (!this.listener) {
      await this.listen();
    }
  }

  /** New flows are accepted but nothing is forwarded, and the server is never contacted (for connect timeouts). */
  blackholeNew(on: boolean): void {
    this.blackholingNew = on;
  }

  /**
   * New flows are accepted, then reset at once without contacting the server: a load balancer whose backend is down
   * (the client's connect succeeds, its handshake fails). Existing flows are unaffected.
   */
  failNew(on: boolean): void {
    this.failingNew = on;
  }

  /**
   * Destroys all flows and stops listening; resolves once every socket the proxy ever opened is closed, and rejects
   * if one is not within 2 s. Idempotent.
   */
  close(): Promise<void> {
    this.closing ??= (async () => {
      for (const flow of this.flows) flow.destroy();
      this.flows.clear();
      for (const socket of this.sockets) socket.destroy();
      const listener = this.listener;
      this.listener = undefined;
      if (listener) await closeListener(listener);
      await allClosed([...this.sockets], 2_000);
    })();
    return this.closing;
  }

  private onClientPacket(flow: Flow, seq: number, payload: Buffer): void {
    if (flow.clientFlags === 0 && seq === 1 && payload.length >= 4) {
      flow.clientFlags = payload.readUInt32LE(0); // the handshake response
      return;
    }
    if (seq !== 0 || payload.length === 0) return; // only a new command starts at sequence id 0
    const command = payload[0]!;
    this.byCommand.set(command, (this.byCommand.get(command) ?? 0) + 1);
    let kind: ProxyCommand['kind'] = 'other';
    let sql: Buffer | undefined;
    if (command === COM_QUERY || command === COM_STMT_PREPARE) {
      kind = command === COM_QUERY ? 'query' : 'prepare';
      sql = Buffer.from(payload.subarray(1));
    } else if (command === COM_STMT_EXECUTE && payload.length >= 5) {
      kind = 'execute';
      sql = flow.statements.get(payload.readUInt32LE(1));
    }
    const cmd: ProxyCommand = { kind, command, sql, text: sql?.toString('latin1') ?? '', index: ++this.commands };
    // Only commands whose reply ReplyReader can follow; prepare and others always pass.
    const drop = kind === 'query' || kind === 'execute' ? this.drops.find((d) => d.take(cmd)) : undefined;
    const deprecateEof = (flow.clientFlags & flow.serverFlags & CLIENT_DEPRECATE_EOF) !== 0;
    flow.current = { command: cmd, drop, reply: new ReplyReader(deprecateEof) };
  }

  /** Returns false when the packet must not reach the client. */
  private onServerPacket(flow: Flow, seq: number, payload: Buffer): boolean {
    if (flow.serverFlags === 0 && seq === 0 && payload[0] === 10) {
      flow.serverFlags = readGreetingFlags(payload);
      return true;
    }
    const current = flow.current;
    if (!current) return true;
    if (current.command.kind === 'prepare') {
      if (seq === 1 && payload[0] === 0x00 && payload.length >= 5) {
        flow.statements.set(payload.readUInt32LE(1), current.command.sql!);
      }
      flow.current = undefined;
      return true;
    }
    if (!current.drop) return true;
    if (current.reply.feed(payload)) {
      flow.current = undefined;
      const drop = current.drop;
      flow.silence();
      if (drop.cut === 'reset') {
        resetSocket(flow.client);
      } else {
        flow.client.end();
      }
      flow.server?.destroy();
      drop.done(current.command);
    }
    return false;
  }

  private async listen(): Promise<void> {
    // The port may be briefly unavailable after refuseNew(true); retry for up to 2 s.
    const deadline = Date.now() + 2_000;
    for (;;) {
      try {
        this.listener = await listen(this.listenPort, (socket) => this.accept(socket));
        return;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE' || Date.now() > deadline) throw err;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    }
  }

  private track(socket: net.Socket): void {
    this.sockets.add(socket);
    socket.once('close', () => this.sockets.delete(socket));
  }

  private accept(client: net.Socket): void {
    this.track(client);
    if (this.closing) {
      client.destroy();
      return;
    }
    if (this.failingNew) {
      client.on('error', () => undefined);
      resetSocket(client);
      return;
    }
    const flow = new Flow(this, client, this.blackholingNew ? 'blackhole' : 'normal');
    this.flows.add(flow);
    client.setNoDelay(true);

    client.on('data', (chunk: Buffer) => {
      if (flow.mode === 'blackhole') return;
      if (flow.mode === 'close-on-next-write') {
        flow.silence();
        client.end();
        flow.server?.end();
        return;
      }
      for (const packet of flow.fromClient.push(chunk)) this.onClientPacket(flow, packet.seq, packet.payload);
      flow.toServer.push(chunk);
    });
    client.on('end', () => {
      if (flow.mode !== 'blackhole') flow.toServer.push(END);
    });
    client.on('error', () => {
      // An RST from the client is passed on as an RST, so the server sees what it would have seen directly.
      if (flow.mode !== 'blackhole' && flow.server) resetSocket(flow.server);
    });
    client.on('close', () => {
      // Once the client is gone a silenced server side has no purpose, and would hold a server connection slot.
      if (flow.mode === 'blackhole') flow.server?.destroy();
      if (!flow.server || flow.server.destroyed) this.flows.delete(flow);
    });

    if (flow.mode === 'blackhole') return; // never contact the server for a blackholed connect

    const server = net.connect({ host: this.target.host, port: this.target.port });
    flow.server = server;
    this.track(server);
    server.setNoDelay(true);
    server.on('data', (chunk: Buffer) => {
      if (flow.mode === 'blackhole') return;
      let forward = true;
      for (const packet of flow.fromServer.push(chunk)) {
        if (!this.onServerPacket(flow, packet.seq, packet.payload)) forward = false;
      }
      // A reply being dropped is the only thing the server sends until the client's next command: mysql2 never
      // pipelines, so a chunk holding part of it holds nothing else the client is owed.
      if (forward) flow.toClient.push(chunk);
    });
    server.on('end', () => {
      if (flow.mode !== 'blackhole') flow.toClient.push(END);
    });
    server.on('error', () => {
      // Upstream refused or reset: the client sees a reset, the nearest thing to what it would have seen directly.
      if (flow.mode !== 'blackhole') resetSocket(client);
    });
    server.on('close', () => {
      if (client.destroyed) this.flows.delete(flow);
    });
  }
}

/** Capability flags from the server's greeting (protocol 10): lower 16 bits, then the upper 16. */
function readGreetingFlags(p: Buffer): number {
  const versionEnd = p.indexOf(0, 1);
  if (versionEnd < 0) return 0;
  const at = versionEnd + 1 + 4 + 8 + 1; // connection id, auth data part 1, filler
  if (p.length < at + 2) return 0;
  const lower = p.readUInt16LE(at);
  const upper = p.length >= at + 7 ? p.readUInt16LE(at + 5) : 0; // after charset (1) and status (2)
  return ((upper << 16) | lower) >>> 0;
}

/**
 * Sends an RST and destroys the socket, or only destroys it once end() has been called on it (the peer has had, or
 * will have, the FIN). Node 20's resetAndDestroy() after end() fails with EINVAL (libuv refuses SO_LINGER 0 on a
 * socket that is shutting down) but marks the handle as closing anyway: it is never closed, and at exit the process
 * spins at 100% CPU in Node's handle cleanup, waiting for that close.
 */
export function resetSocket(socket: net.Socket): void {
  if (socket.destroyed) return;
  if (socket.writableEnded) socket.destroy();
  else socket.resetAndDestroy();
}

/** Resolves when every socket has emitted 'close'; rejects naming how many did not within `ms`. */
function allClosed(sockets: net.Socket[], ms: number): Promise<void> {
  const open = sockets.filter((s) => !s.closed);
  if (open.length === 0) return Promise.resolve();
  return new Promise((resolve, reject) => {
    let left = open.length;
    const timer = setTimeout(() => {
      reject(new Error(`FaultProxy.close(): ${left} socket(s) not closed after ${ms} ms (a handle whose close never completes)`));
    }, ms);
    for (const socket of open) {
      socket.once('close', () => {
        if (--left > 0) return;
        clearTimeout(timer);
        resolve();
      });
    }
  });
}

function listen(port: number, onConnection: (socket: net.Socket) => void): Promise<net.Server> {
  return new Promise((resolve, reject) => {
    const server = net.createServer(onConnection);
    server.once('error', reject);
    server.listen({ port, host: '127.0.0.1' }, () => {
      server.removeListener('error', reject);
      server.on('error', () => undefined);
      resolve(server);
    });
  });
}

function closeListener(server: net.Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}
