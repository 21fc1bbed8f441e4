/**
 * The bench's contestants: each in its own child process (contestant.mjs), driven over IPC. Shared by
 * bench.ts (the comparison) and profile.ts (where the CPU goes).
 */
import { fork, type ChildProcess } from 'node:child_process';
import path from 'node:path';

export type Api = 'callback' | 'promise';
export type Command = 'query' | 'execute' | 'held';
export type Name = 'mysql2' | 'mysql2-b' | 'resilient' | 'bare' | 'resilient-ping' | 'resilient-burst';

export interface Sample {
  queries: number;
  qps: number;
  /** Client CPU per query, user + system, µs. */
  cpuUs: number;
  /** User CPU per query, µs: the JavaScript of pool and driver (and GC), without the kernel's share. */
  userUs: number;
}

export interface BurstSample {
  ms: number;
  heapPerCall: number;
  cpuUs: number;
}

/** A contestant's child process and its request/reply channel. */
export class Contestant {
  private nextId = 1;
  private readonly pending = new Map<number, (reply: unknown) => void>();

  private constructor(
    readonly name: Name,
    private readonly child: ChildProcess,
  ) {
    child.on('message', (msg: { id?: number }) => {
      const resolve = msg.id === undefined ? undefined : this.pending.get(msg.id);
      if (!resolve) return;
      this.pending.delete(msg.id!);
      resolve(msg);
    });
  }

  static start(name: Name, kind: 'mysql2' | 'resilient' | 'bare', options: object): Promise<Contestant> {
    const child = fork(path.join(__dirname, 'contestant.mjs'), [], {
      // Plain node: no TypeScript loader in the contestant.
      execArgv: ['--expose-gc'],
      env: { ...process.env, BENCH_CONTESTANT: kind, BENCH_OPTIONS: JSON.stringify(options) },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    return new Promise((resolve, reject) => {
      child.once('error', reject);
      child.once('exit', (code) => reject(new Error(`contestant ${name} exited (${code}) before it was ready`)));
      child.once('message', () => {
        child.removeAllListeners('exit');
        child.on('exit', (code, signal) => {
          if (code !== 0) console.error(`contestant ${name} exited: ${code ?? signal}`);
        });
        resolve(new Contestant(name, child));
      });
    });
  }

  private request<T>(msg: object): Promise<T> {
    const id = this.nextId++;
    return new Promise<T>((resolve) => {
      this.pending.set(id, resolve as (reply: unknown) => void);
      this.child.send({ id, ...msg });
    });
  }

  /** `concurrency` loops of `api` `command` for `ms`; with `profile`, the window is CPU-profiled into that file. */
  async measure(api: Api, command: Command, concurrency: number, ms: number, profile?: string): Promise<Sample> {
    const r = await this.request<{ queries: number; elapsed: number; user: number; system: number; error?: string }>({
      op: 'measure',
      api,
      command,
      concurrency,
      ms,
      profile,
    });
    if (r.error) throw new Error(`${this.name} ${api} ${command} c=${concurrency}: ${r.error}`);
    return {
      queries: r.queries,
      qps: (r.queries / r.elapsed) * 1000,
      cpuUs: (r.user + r.system) / r.queries,
      userUs: r.user / r.queries,
    };
  }

  async burst(api: Api, n: number): Promise<BurstSample> {
    const r = await this.request<{ elapsed: number; heapPerCall: number; user: number; system: number; errors: number; error?: string }>({
      op: 'burst',
      api,
      n,
    });
    if (r.errors) throw new Error(`${this.name} burst ${api}: ${r.errors} calls failed, first: ${r.error}`);
    return { ms: r.elapsed, heapPerCall: r.heapPerCall, cpuUs: (r.user + r.system) / n };
  }

  async end(): Promise<void> {
    const exited = new Promise((resolve) => this.child.once('exit', resolve));
    await this.request({ op: 'end' });
    await exited;
  }
}

export const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
export const fmt = (n: number, d = 0): string => n.toFixed(d);
export const rotate = <T>(xs: T[], k: number): T[] => xs.map((_, i) => xs[(i + k) % xs.length]!);

