/**
 * mysql2's diagnostics channels, published by this pool as mysql2's pool
 * publishes them, so APM tools that subscribe to mysql2 (OpenTelemetry,
 * Datadog, Sentry) keep their checkout spans. mysql2 3.24's pool publishes one
 * `TracingChannel`, `mysql2:pool:connect`, around `getConnection` (pool-level
 * `query`/`execute` go through it too); the connection-level channels
 * (`mysql2:connect`, `mysql2:query`, `mysql2:execute`) are published by
 * mysql2's own connection code, which this pool's connections run.
 *
 * Zero cost when nobody subscribes: one property read, no context object.
 */
import * as dc from 'node:diagnostics_channel';
import type { ConnectionConfig, PoolConnection } from 'mysql2';

type Callback = (err: Error | null, conn?: PoolConnection) => void;

/** Node 18.19+ and 19.9+; undefined on older Node, where nothing is published (as in mysql2). */
const poolConnect = typeof dc.tracingChannel === 'function' ? dc.tracingChannel('mysql2:pool:connect') : undefined;

/**
 * Whether anyone subscribes to `mysql2:pool:connect` (mysql2's shouldTrace:
 * the aggregated getter on Node 20+, the start channel's on Node 18).
 */
export function poolConnectTraced(): boolean {
  if (!poolConnect) return false;
  return (poolConnect as { hasSubscribers?: boolean }).hasSubscribers ?? poolConnect.start.hasSubscribers;
}

/** The payload mysql2's getConnection publishes (its getServerContext). */
function poolConnectContext(config: ConnectionConfig): { database: string; serverAddress: string; serverPort: number | undefined } {
  const c = config as ConnectionConfig & { socketPath?: string };
  const server = c.socketPath
    ? { serverAddress: c.socketPath, serverPort: undefined }
    : { serverAddress: c.host || 'localhost', serverPort: c.port || 3306 };
  return { database: c.database || '', ...server };
}

/**
 * Runs `checkout(cb)` as a traced `mysql2:pool:connect` operation:
 * `start`/`end` around the call, then `error` (with `context.error`) or
 * `context.result` (the connection), and `asyncStart`/`asyncEnd` around `cb`.
 * Callers check poolConnectTraced() first, so untraced checkouts build nothing.
 */
export function tracePoolConnect(config: ConnectionConfig, checkout: (cb: Callback) => void, cb: Callback): void {
  if (!poolConnect) return checkout(cb);
  poolConnect.traceCallback(checkout, 0, poolConnectContext(config), null, cb);
}
