/**
 * A TCP proxy between the pool and the server that produces, on demand, the network failures no server produces by
 * itself: flows that go silent, flows that are reset, flows that close when the client next writes, refused or
 * never-answered connects, and added latency.
 *
 * Limitation: the proxy's own kernel still ACKs whatever the client sends, including TCP keepalive probes, so a
 * blackholed flow looks alive at the TCP level. It models a peer that stops answering, not a dead network path;
 * keepalive-based detection cannot be tested through it.
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

export class FaultProxy {
  readonly host = '127.0.0.1';
  /** ms added to each forwarded chunk, in both directions; 0 = none. Applies to chunks received after the change. */
  latency = 0;

  private listener: net.Server | undefined;
  private readonly flows = new Set<Flow>();
  private blackholingNew = false;
  private closing: Promise<void> | undefined;

  private listenPort = 0;

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
      if (!flow.client.destroyed) flow.client.resetAndDestroy();
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

  /** Destroys all flows and stops listening; idempotent. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      for (const flow of this.flows) flow.destroy();
      this.flows.clear();
      const listener = this.listener;
      this.listener = undefined;
      if (listener) await closeListener(listener);
    })();
    return this.closing;
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

  private accept(client: net.Socket): void {
    if (this.closing) {
      client.destroy();
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
      flow.toServer.push(chunk);
    });
    client.on('end', () => {
      if (flow.mode !== 'blackhole') flow.toServer.push(END);
    });
    client.on('error', () => {
      // An RST from the client is passed on as an RST, so the server sees what it would have seen directly.
      if (flow.mode !== 'blackhole' && flow.server && !flow.server.destroyed) flow.server.resetAndDestroy();
    });
    client.on('close', () => {
      // Once the client is gone a silenced server side has no purpose, and would hold a server connection slot.
      if (flow.mode === 'blackhole') flow.server?.destroy();
      if (!flow.server || flow.server.destroyed) this.flows.delete(flow);
    });

    if (flow.mode === 'blackhole') return; // never contact the server for a blackholed connect

    const server = net.connect({ host: this.target.host, port: this.target.port });
    flow.server = server;
    server.setNoDelay(true);
    server.on('data', (chunk: Buffer) => {
      if (flow.mode === 'blackhole') return;
      flow.toClient.push(chunk);
    });
    server.on('end', () => {
      if (flow.mode !== 'blackhole') flow.toClient.push(END);
    });
    server.on('error', () => {
      // Upstream refused or reset: the client sees a reset, the nearest thing to what it would have seen directly.
      if (flow.mode !== 'blackhole' && !client.destroyed) client.resetAndDestroy();
    });
    server.on('close', () => {
      if (client.destroyed) this.flows.delete(flow);
    });
  }
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
