/** The doctor's findings: warnings and notes about what will bite in production, from the report's data. */
import type { DoctorReport } from './doctor-report.js';
import { fmtMs, pct } from './doctor-format.js';

/** Below this a session wait_timeout makes the pool recycle idle connections very often. */
const SHORT_WAIT_TIMEOUT_S = 60;
/** Share of max_connections in use that deserves a warning. */
const NEARLY_FULL = 0.8;

/** Idle limits of common load balancers / NAT gateways (ms), for the hint. */
export const KNOWN_NETWORK_IDLE_TIMEOUTS: readonly { what: string; ms: number }[] = [
  { what: 'AWS NLB / NAT gateway', ms: 350_000 },
  { what: 'Azure Load Balancer', ms: 240_000 },
  { what: 'GCP (Cloud NAT / VPC firewall)', ms: 600_000 },
];

export function addFindings(r: DoctorReport): void {
  const warn = (code: string, message: string) => r.warnings.push({ severity: 'warning', code, message });
  const note = (code: string, message: string) => r.notes.push({ severity: 'note', code, message });
  const s = r.server;
  const p = r.pool;

  if (s.waitTimeout.session < SHORT_WAIT_TIMEOUT_S) {
    warn(
      'WAIT_TIMEOUT_SHORT',
      `wait_timeout is ${s.waitTimeout.session} s: the server closes connections idle that long, so the pool recycles ` +
        `idle connections after ${fmtMs(p.idleLimit)} and reconnects often; raise it (e.g. SET GLOBAL wait_timeout = 600) ` +
        'unless that churn is intended',
    );
  }
  if (s.waitTimeout.session !== s.waitTimeout.global) {
    const interactive = s.waitTimeout.session === s.interactiveTimeout.global && s.interactiveTimeout.global !== s.waitTimeout.global;
    warn(
      'WAIT_TIMEOUT_SESSION_DIFFERS',
      `session wait_timeout (${s.waitTimeout.session} s) differs from the global one (${s.waitTimeout.global} s): ` +
        (interactive
          ? 'it equals interactive_timeout, so this connection was opened as interactive (CLIENT_INTERACTIVE in flags); '
          : 'something sets it per session (init_connect, a proxy, or the CLIENT_INTERACTIVE flag); ') +
        'the pool uses the session value, read on its first connection; check the application user gets the same',
    );
  }
  if (s.interactiveTimeout.global !== s.waitTimeout.global) {
    note(
      'INTERACTIVE_TIMEOUT_DIFFERS',
      `interactive_timeout (${s.interactiveTimeout.global} s) differs from wait_timeout (${s.waitTimeout.global} s): ` +
        'interactive_timeout applies only to clients that connect with CLIENT_INTERACTIVE (the mysql command-line client); ' +
        `mysql2 does not set it unless your flags do, so the pool gets wait_timeout (here ${s.waitTimeout.session} s)`,
    );
  }
  if (s.initConnect && /wait_timeout/i.test(s.initConnect)) {
    note(
      'INIT_CONNECT_SETS_WAIT_TIMEOUT',
      `init_connect changes wait_timeout (${JSON.stringify(s.initConnect)}); it does not run for users with SUPER or ` +
        'CONNECTION ADMIN, so run doctor with the application user to see what its sessions get',
    );
  }
  if (s.maxConnections > 0 && s.threadsConnected !== null && s.threadsConnected > NEARLY_FULL * s.maxConnections) {
    warn(
      'MAX_CONNECTIONS_NEARLY_USED',
      `${s.threadsConnected} of max_connections ${s.maxConnections} are in use (${pct(s.threadsConnected, s.maxConnections)}): ` +
        'new connections will soon fail with ER_CON_COUNT_ERROR (Too many connections)',
    );
  } else if (s.maxConnections > 0 && s.maxUsedConnections !== null && s.maxUsedConnections > NEARLY_FULL * s.maxConnections) {
    warn(
      'MAX_CONNECTIONS_PEAK_HIGH',
      `the peak since the server started was ${s.maxUsedConnections} of max_connections ${s.maxConnections} ` +
        `(${pct(s.maxUsedConnections, s.maxConnections)}): under a similar peak, new connections may fail with ER_CON_COUNT_ERROR`,
    );
  }
  if (s.maxConnections > 0 && s.threadsConnected !== null && p.connectionLimit > 0) {
    const free = s.maxConnections - s.threadsConnected;
    if (free < p.connectionLimit) {
      warn(
        'POOL_EXCEEDS_FREE_CONNECTIONS',
        `only ${Math.max(0, free)} connection slot(s) are free, fewer than one pool's connectionLimit (${p.connectionLimit}); ` +
          'each application instance opens up to connectionLimit connections',
      );
    }
  }
  if (s.readOnly || s.superReadOnly) {
    const which = s.superReadOnly ? 'super_read_only' : 'read_only';
    warn(
      'READ_ONLY',
      `${which} is ON: writes will fail (ER_OPTION_PREVENTS_STATEMENT, 1290). Is this a replica, or a failover target ` +
        'that has not been promoted? The pool retires its connections on read-only errors, so after a failover it ' +
        'reconnects, but only DNS or your proxy can point it at the new primary',
    );
  }
  for (const c of p.clamps) {
    const requested = p.requested[c.option];
    // In the report's units (fmtMs) throughout; the pool's own message (and `because`) is in ms.
    const text = `${c.option} ${fmtMs(c.requested)} is above ${p.idleLimitBecause ?? c.because}; the pool uses ${fmtMs(c.applied)}`;
    if (requested.source === 'default') {
      note('OPTION_CLAMPED', `${text} (the default: the pool clamps it without a 'warn' event, a debug line only)`);
    } else {
      warn('OPTION_CLAMPED', `${text}, not the ${fmtMs(c.requested)} you asked for: connections idle longer would be closed by the server or network`);
    }
  }
  const nit = p.requested.networkIdleTimeout;
  if (nit.value === 0) {
    note(
      'NETWORK_IDLE_TIMEOUT_UNKNOWN',
      'SQL cannot see a load balancer, NAT gateway or proxy that drops idle flows; if one sits between the application ' +
        'and this server, pass its idle timeout (option networkIdleTimeout; here --network-idle-timeout): ' +
        KNOWN_NETWORK_IDLE_TIMEOUTS.map((k) => `${k.what} ${k.ms / 1000}s`).join(', '),
    );
  } else if (nit.value < 1_000) {
    warn(
      'NETWORK_IDLE_TIMEOUT_TINY',
      `networkIdleTimeout is ${nit.value} ms; durations are in ms (did you mean ${nit.value} s? write ${nit.value}s)`,
    );
  }
}
