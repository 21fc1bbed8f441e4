/**
 * A cluster whose nodes are scripted MySQL-protocol servers (scripted-mysql.ts), for unit tests of cluster logic:
 * registers the suite's hooks (servers started once, a fresh cluster and fresh scripts before each test, all ended
 * after), nodes `N1`, `N2`... Call it inside a `describe` (at the top level its hooks would apply to every file of
 * the unit run).
 */
import { after, before, beforeEach } from 'node:test';
import { createResilientPoolCluster } from '../../src/index.js';
import type { ResilientPoolCluster, ResilientPoolClusterOptions, ResilientPoolOptions } from '../../src/index.js';
import { ScriptedMysql } from './scripted-mysql.js';

export interface ScriptedCluster {
  readonly servers: ScriptedMysql[];
  /** The current test's cluster. */
  readonly cluster: ResilientPoolCluster;
  /** Ends the current cluster and makes a new one over the same servers, with other cluster options. */
  rebuild(clusterOptions: ResilientPoolClusterOptions): Promise<void>;
}

export function useScriptedCluster(
  count: number,
  clusterOptions: ResilientPoolClusterOptions,
  nodeOptions: ResilientPoolOptions = {},
  onCreate: (cluster: ResilientPoolCluster) => void = () => undefined,
): ScriptedCluster {
  const servers: ScriptedMysql[] = [];
  let current: ResilientPoolCluster | undefined;
  const end = () => (current ? new Promise<void>((resolve) => current!.end(() => resolve())) : Promise.resolve());
  before(async () => {
    for (let i = 0; i < count; i++) servers.push(await ScriptedMysql.start());
  });
  after(async () => {
    await end();
    await Promise.all(servers.map((s) => s.close()));
  });
  const build = async (options: ResilientPoolClusterOptions) => {
    await end();
    current = createResilientPoolCluster(options);
    onCreate(current);
    servers.forEach((s, i) => current!.add(`N${i + 1}`, { host: s.host, port: s.port, user: 'u', ...nodeOptions }));
  };
  beforeEach(async () => {
    for (const s of servers) s.reset();
    await build(clusterOptions);
  });
  return {
    servers,
    rebuild: build,
    get cluster() {
      return current!;
    },
  };
}

/** The error a promise rejects with (throws when it resolves). */
export async function failure<E extends Error = Error & { errno?: number; code?: string; outcomeUnknown?: boolean; nodeId?: string }>(
  p: Promise<unknown>,
): Promise<E> {
  try {
    await p;
  } catch (e) {
    return e as E;
  }
  throw new Error('expected a failure');
}
