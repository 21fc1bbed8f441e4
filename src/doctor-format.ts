/** The doctor's report as text: aligned tables, then warnings and notes. */
import type { DoctorReport } from './doctor-report.js';

export function pct(part: number, whole: number): string {
  return `${Math.round((100 * part) / whole)}%`;
}

/** 500 ms, 27 s, 1.5 s, 30 min, 8 h, 28795 s (~8 h); exact unless it says ~. null / Infinity: none. */
export function fmtMs(ms: number | null): string {
  if (ms === null || !Number.isFinite(ms)) return 'none';
  if (ms < 1_000) return `${ms} ms`;
  const s = ms / 1000;
  if (s < 120) return `${trim(s)} s`;
  if (s % 3600 === 0) return `${s / 3600} h`;
  if (s % 60 === 0) return `${s / 60} min`;
  const approx = s >= 7_200 ? `${trim(s / 3600)} h` : `${trim(s / 60)} min`;
  return `${trim(s)} s (~${approx})`;
}

function trim(n: number): string {
  return String(Math.round(n * 10) / 10);
}

/** Seconds as the server reports them, with a readable equivalent when long: `28800 s (8 h)`. */
function fmtS(s: number): string {
  if (!Number.isFinite(s)) return 'unknown';
  return s >= 120 && (s % 60 === 0) ? `${s} s (${fmtMs(s * 1000)})` : `${s} s`;
}

/** Aligned rows: label, value, detail. */
function table(rows: Array<[string, string, string?]>, indent = '  '): string[] {
  const w0 = Math.max(...rows.map((r) => r[0].length));
  const w1 = Math.max(...rows.map((r) => r[1].length));
  return rows.map(([a, b, c]) => `${indent}${a.padEnd(w0)}  ${c ? `${b.padEnd(w1)}  ${c}` : b}`.trimEnd());
}

/** Wraps `text` at `width` columns, continuation lines indented by `hang`. */
function wrap(text: string, width: number, first: string, hang: string): string[] {
  const words = text.split(/\s+/);
  const lines: string[] = [];
  let line = first;
  let empty = true;
  for (const word of words) {
    if (!empty && line.length + 1 + word.length > width) {
      lines.push(line);
      line = hang + word;
    } else {
      line += (empty ? '' : ' ') + word;
    }
    empty = false;
  }
  lines.push(line);
  return lines;
}

/** The human-readable report: aligned tables, then warnings and notes. */
export function formatReport(r: DoctorReport): string {
  const s = r.server;
  const p = r.pool;
  const out: string[] = [];
  const flavour = s.flavor === 'mariadb' ? 'MariaDB' : 'MySQL';
  const target = r.target.socketPath ? r.target.socketPath : `${r.target.host}:${r.target.port}`;
  out.push(`resilient-mysql-pool doctor: ${r.url}`);
  out.push('');
  out.push(`Server (${target}, user ${r.target.user || '(none)'}, read in ${r.elapsedMs} ms)`);
  const usage = (n: number | null) => (n === null ? 'unknown' : `${n} (${pct(n, s.maxConnections)})`);
  const serverRows: Array<[string, string, string?]> = [
    ['version', `${flavour} ${s.version}`, s.versionString !== s.version ? s.versionString : undefined],
    ['wait_timeout', `${fmtS(s.waitTimeout.session)}`, s.waitTimeout.global !== s.waitTimeout.session ? `session; global ${fmtS(s.waitTimeout.global)}` : 'session = global'],
    ['interactive_timeout', `${fmtS(s.interactiveTimeout.global)}`, 'global (interactive clients only)'],
    ['max_connections', String(s.maxConnections), `in use ${usage(s.threadsConnected)}, peak ${usage(s.maxUsedConnections)}`],
    ['read_only', s.readOnly ? 'ON' : 'OFF', s.superReadOnly === null ? undefined : `super_read_only ${s.superReadOnly ? 'ON' : 'OFF'}`],
    ['net_read/write_timeout', `${s.netReadTimeout} s / ${s.netWriteTimeout} s`],
  ];
  if (s.innodbLockWaitTimeout !== null) serverRows.push(['innodb_lock_wait_timeout', `${s.innodbLockWaitTimeout} s`]);
  if (s.initConnect !== null) serverRows.push(['init_connect', JSON.stringify(s.initConnect)]);
  out.push(...table(serverRows));
  out.push('');

  const custom = Object.values(p.requested).some((v) => v.source !== 'default');
  out.push(`Pool settings derived for this server (${custom ? 'with your options' : 'default options'})`);
  const req = (k: keyof DoctorReport['pool']['requested']) => {
    const v = p.requested[k];
    const what = v.source === 'default' ? 'default' : v.source === 'url' ? 'from the URL' : 'given';
    return `${what} ${k === 'networkIdleTimeout' && v.value === 0 ? 'none' : fmtMs(v.value === 0 && k !== 'idleTimeout' ? Infinity : v.value)}`;
  };
  const clampOf = (k: 'idleTimeout' | 'maxLifetime') => (p.clamps.some((c) => c.option === k) ? ', clamped' : '');
  out.push(
    ...table([
      ['idleTimeout', fmtMs(p.idleTimeout), `${req('idleTimeout')}${clampOf('idleTimeout')}`],
      ['maxLifetime', fmtMs(p.maxLifetime), `${req('maxLifetime')}${clampOf('maxLifetime')}, each connection up to ${p.maxLifetimeJitterPercent}% less`],
      ['idle limit', fmtMs(p.idleLimit), p.idleLimitBecause ? `below ${p.idleLimitBecause}: idle longer = presumed dead` : 'no server or network limit known'],
      ['networkIdleTimeout', p.requested.networkIdleTimeout.value ? fmtMs(p.requested.networkIdleTimeout.value) : 'none', req('networkIdleTimeout')],
      ['TCP keepalive', p.keepAlive.enabled ? `after ${fmtMs(p.keepAlive.initialDelay)}` : 'off', p.keepAlive.enabled ? "Linux's default would be 2 h" : undefined],
      ['ping on checkout', `if idle > ${fmtMs(p.pingSkipWindow)}`, `ping timeout ${fmtMs(p.pingTimeout)}`],
      ['acquireTimeout', p.acquireTimeout > 0 ? fmtMs(p.acquireTimeout) : 'none (waits forever)'],
      ['connectionLimit', p.connectionLimit > 0 ? String(p.connectionLimit) : 'unlimited'],
      ['maxAttempts', String(p.maxAttempts), 'for pool-level query/execute, when safe to retry'],
    ]),
  );
  out.push('');

  const width = Math.max(80, Math.min(process.stdout.columns || 100, 120));
  out.push(r.warnings.length ? `Warnings (${r.warnings.length})` : 'Warnings: none');
  for (const w of r.warnings) out.push(...wrap(`${w.message} [${w.code}]`, width, '  ! ', '    '));
  if (r.notes.length) {
    out.push('');
    out.push(`Notes (${r.notes.length})`);
    for (const n of r.notes) out.push(...wrap(`${n.message} [${n.code}]`, width, '  - ', '    '));
  }
  return out.join('\n') + '\n';
}
