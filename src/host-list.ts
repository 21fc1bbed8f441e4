/**
 * One pool, several hosts: the list, as a multi-host URL (`mysql://u:p@h1:3306,h2:3306/db`, Connector/J and libpq
 * write it so), a comma-separated `host` (`'h1:3306,h2:3307'`, which passes unchanged through libraries that only
 * forward `host`) or the `hosts` option; validated with the OptionError codes. host-rotation.ts moves between them.
 */
import { optionError } from './option-errors.js';

export interface HostAddress {
  host: string;
  port: number;
}

/** The `hosts` option: `'h1:3306'`, `'[::1]:3307'`, `'h2'` (the default port), or `{ host, port }`. */
export type HostsOption = readonly (string | { host: string; port?: number })[];

const DEFAULT_PORT = 3306;

/** `h`, `h:p`, `[v6]`, `[v6]:p`; undefined when it is not one of those. */
function parseAddress(text: string, defaultPort: number): HostAddress | undefined {
  const m = /^\s*(?:\[([^\]]+)\]|([^:\s[\]]+))(?::(\d{1,5}))?\s*$/.exec(text);
  if (!m) return undefined;
  const port = m[3] === undefined ? defaultPort : Number(m[3]);
  if (port < 1 || port > 65535) return undefined;
  return { host: (m[1] ?? m[2])!, port };
}

function badHost(option: string, value: unknown, item: unknown): Error {
  return optionError(
    RangeError,
    'OPTION_OUT_OF_RANGE',
    option,
    value,
    `option '${option}': ${JSON.stringify(item)} is not a host, host:port or [ipv6]:port`,
  );
}

/**
 * A connection URI whose authority names several hosts (Connector/J, libpq): the URI with the first host only (what
 * mysql2 can parse), and the list. `hosts` is undefined for a single-host URI (returned unchanged).
 */
export function splitMultiHostUri(uri: string): { uri: string; hosts: HostAddress[] | undefined } {
  const m = /^([a-z][a-z0-9+.-]*:\/\/)([^@/?#]*@)?([^/?#]*)(.*)$/is.exec(uri);
  if (!m || !m[3]!.includes(',')) return { uri, hosts: undefined };
  const hosts = m[3]!.split(',').map((item) => {
    const address = parseAddress(item, DEFAULT_PORT);
    if (!address) throw badHost('uri', '(the URI)', item);
    return address;
  });
  const first = hosts[0]!;
  const authority = `${first.host.includes(':') ? `[${first.host}]` : first.host}:${first.port}`;
  return { uri: `${m[1]}${m[2] ?? ''}${authority}${m[4]}`, hosts };
}

/**
 * The host list from the `hosts` option or a comma-separated `host` (validated; OptionError codes), with mysql2's
 * `host`/`port` set to the first host. Undefined when there is one host or none: the pool then works as mysql2's.
 */
export function resolveHosts(hostsOpt: unknown, mysql: Record<string, unknown>): HostAddress[] | undefined {
  const defaultPort = typeof mysql.port === 'number' || typeof mysql.port === 'string' ? Number(mysql.port) || DEFAULT_PORT : DEFAULT_PORT;
  const commaHost = typeof mysql.host === 'string' && mysql.host.includes(',');
  let list: HostAddress[] | undefined;
  if (hostsOpt !== undefined && hostsOpt !== null) {
    if (!Array.isArray(hostsOpt)) {
      throw optionError(TypeError, 'OPTION_INVALID_TYPE', 'hosts', hostsOpt, "option 'hosts' must be an array of 'host:port' strings or { host, port } objects");
    }
    if (hostsOpt.length === 0) {
      throw optionError(RangeError, 'OPTION_OUT_OF_RANGE', 'hosts', hostsOpt, "option 'hosts' must name at least one host");
    }
    if (commaHost) {
      throw optionError(RangeError, 'OPTION_CONFLICT', 'hosts', hostsOpt, "options 'hosts' and a comma-separated 'host' both list hosts; give one");
    }
    list = (hostsOpt as unknown[]).map((item) => {
      if (typeof item === 'string') return parseAddress(item, defaultPort) ?? (() => { throw badHost('hosts', hostsOpt, item); })();
      if (item && typeof item === 'object' && typeof (item as { host?: unknown }).host === 'string') {
        const { host, port } = item as { host: string; port?: unknown };
        const p = port === undefined ? defaultPort : port;
        if (host === '' || typeof p !== 'number' || !Number.isInteger(p) || p < 1 || p > 65535) throw badHost('hosts', hostsOpt, item);
        return { host, port: p };
      }
      throw optionError(TypeError, 'OPTION_INVALID_TYPE', 'hosts', hostsOpt, "option 'hosts' must be an array of 'host:port' strings or { host, port } objects");
    });
  } else if (commaHost) {
    list = (mysql.host as string).split(',').map((item) => parseAddress(item, defaultPort) ?? (() => { throw badHost('host', mysql.host, item); })());
  }
  if (!list) return undefined;
  if (mysql.socketPath !== undefined && mysql.socketPath !== null) {
    throw optionError(RangeError, 'OPTION_CONFLICT', 'hosts', list, "a host list and 'socketPath' contradict each other; give one");
  }
  mysql.host = list[0]!.host;
  mysql.port = list[0]!.port;
  return list.length > 1 ? list : undefined;
}
