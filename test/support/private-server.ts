/**
 * The setup every integration file (or describe block) with a private server needs, written once:
 *
 *     const server = usePrivateServer({ users: ['orm_user'], setup: (s) => s.admin('CREATE TABLE ...') });
 *
 * registers a `before()` hook that starts the server (`startServer()`, 90 s: a first run on a machine initialises
 * the template datadir), creates the users and runs `setup`, and an `after()` hook that runs `cleanup` and closes
 * the server. It returns the server itself: every property and method forwards to the started one, and using it
 * before the hook ran (at module top level) throws.
 *
 * Called at a file's top level the hooks are the file's; called inside `describe()` they are that suite's. The file
 * still ends with its own `after(async () => { await assertNoHandlesLeft(); })`, registered last so it runs last.
 */
import { after, before } from 'node:test';
import { startServer, type TestServer } from './server.js';

export interface PrivateServerSetup {
  /** Appended to the server's command line, e.g. `['--max-connections=10']`; a function runs in the before() hook. */
  args?: string[] | (() => string[]);
  /** Users created `'name'@'127.0.0.1'` (no password) with every privilege on the `test` database, before `setup`. */
  users?: string[];
  /** Runs once the server is up (tables, procedures, an admin session). */
  setup?: (server: TestServer) => Promise<unknown>;
  /** Runs in the after() hook before the server is closed (an admin session, a temporary directory). */
  cleanup?: () => unknown;
}

export const START_TIMEOUT_MS = 90_000;

export function usePrivateServer(opts: PrivateServerSetup = {}): TestServer {
  let started: TestServer | undefined;
  before(
    async () => {
      started = await startServer({ args: typeof opts.args === 'function' ? opts.args() : (opts.args ?? []) });
      for (const user of opts.users ?? []) {
        await started.admin(`CREATE USER IF NOT EXISTS '${user}'@'127.0.0.1'`);
        await started.admin(`GRANT ALL ON test.* TO '${user}'@'127.0.0.1'`);
      }
      await opts.setup?.(started);
    },
    { timeout: START_TIMEOUT_MS },
  );
  after(async () => {
    try {
      await opts.cleanup?.();
    } finally {
      await started?.close();
    }
  });
  return new Proxy({} as TestServer, {
    get(_target, key) {
      if (!started) {
        // Looked up by `await`, util.inspect and the like: not a use of the server.
        if (key === 'then' || typeof key === 'symbol') return undefined;
        throw new Error(`server.${String(key)} used before usePrivateServer()'s before() hook started it`);
      }
      const value: unknown = Reflect.get(started, key, started);
      return typeof value === 'function' ? value.bind(started) : value;
    },
    // So that `{ ...server }` and Object.keys(server) see the started server's own fields.
    ownKeys: () => (started ? Reflect.ownKeys(started) : []),
    getOwnPropertyDescriptor(_target, key) {
      const d = started && Reflect.getOwnPropertyDescriptor(started, key);
      return d && { ...d, configurable: true };
    },
  });
}
