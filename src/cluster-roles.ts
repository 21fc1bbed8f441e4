/**
 * Primary/replica roles in a cluster (issue 11): a node's role is what its last probe said (node-health.ts reads
 * `read_only`/`super_read_only`/`innodb_read_only`): not read-only is a `writer`, read-only a `reader`. A namespace
 * may ask for a role (`cluster.of(pattern, selector, { role })`):
 * - `writer`: only nodes whose last probe said writable; when none is, the pattern's nodes are probed at once
 *   (bounded by `healthCheckTimeout`) before the call fails with `POOL_NOWRITER`;
 * - `reader`: read-only nodes first; when none serves, any serving node (the writer too): reads keep working.
 * A write refused as read-only on a writer makes the pattern's roles stale: they are probed at once, and the write
 * (it certainly did not run) moves to the node now writable. No state here: the helpers the namespace uses.
 */
import type { ClusterNode, NodeRole } from './cluster-node.js';

export type { NodeRole };
export const ROLES: readonly NodeRole[] = ['writer', 'reader'];

/** The third argument of `of()` / `getConnection()`. */
export interface NamespaceOptions {
  /** Only nodes of this role (`writer`), or those first (`reader`); default: any node, as mysql2. */
  role?: NodeRole;
}

/** The `role` option, validated (a typo must not silently mean "any node"). */
export function roleOption(options: unknown): NodeRole | undefined {
  if (options === undefined || options === null) return undefined;
  const role = (options as NamespaceOptions).role;
  if (role === undefined) return undefined;
  if (typeof options !== 'object' || !(ROLES as readonly unknown[]).includes(role)) {
    throw new TypeError(`resilient-mysql-pool: role must be 'writer' or 'reader', got ${JSON.stringify(role)}`);
  }
  return role;
}

/** Errors that refuse a statement because the server is read-only (error-table.ts: "did not run" if single atomic). */
const READ_ONLY_ERRNOS: ReadonlySet<number> = new Set([1290, 1792, 1836]);

export function isReadOnlyRefusal(err: { errno?: unknown }): boolean {
  return typeof err.errno === 'number' && READ_ONLY_ERRNOS.has(err.errno);
}

/** Among serving candidates, those a role may use: writers only; readers first, else any. */
export function byRole(nodes: ClusterNode[], role: NodeRole | undefined): ClusterNode[] {
  if (role === 'writer') return nodes.filter((n) => n.role === 'writer');
  if (role === 'reader') {
    const readers = nodes.filter((n) => n.role === 'reader');
    return readers.length > 0 ? readers : nodes;
  }
  return nodes;
}

/** Serving nodes whose role no probe has told yet (just added): worth one probe before choosing by role. */
export function unknownRoles(nodes: ClusterNode[]): ClusterNode[] {
  return nodes.filter((n) => n.serving && n.role === undefined);
}

/** The nodes to probe before giving up: for a writer, every node not known to be a serving writer. */
export function toProbe(nodes: ClusterNode[], role: NodeRole | undefined): ClusterNode[] {
  return nodes.filter((n) => !n.serving || (role === 'writer' && n.role !== 'writer'));
}

/** Probes every node given at once (each bounded by the probe timeout; joins probes under way). */
export function probeAll(nodes: ClusterNode[]): Promise<void> {
  return Promise.all(nodes.map((n) => n.probe())).then(() => undefined);
}

/** Why a node cannot serve as the writer, in a few words. */
function notWriter(n: ClusterNode): string {
  if (!n.serving) return n.downReason || 'down';
  return n.role === 'reader' ? 'read-only' : 'role not known';
}

/** `POOL_NOWRITER`: nodes of the pattern serve, none is writable; the message names each node's reason. */
export function noWriterError(nodes: ClusterNode[]): Error {
  const why = nodes.map((n) => `${n.id}: ${notWriter(n)}`).join('; ');
  return Object.assign(new Error(`Pool does Not have a writable node. (${why})`), { code: 'POOL_NOWRITER' });
}
