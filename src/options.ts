import type { PoolOptions } from 'mysql2';
import type { Clock } from './clock.js';
import { systemClock } from './clock.js';
import { MYSQL2_OPTION_NAMES, parseUrl } from './mysql2-internals.js';
import type { ErrorAction } from './error-table.js';
import { MYSQL2_OPTIONS, OWN_OPTIONS, type OptionSpec } from './option-spec.js';
import { optionError } from './option-errors.js';
import { resolveHosts, splitMultiHostUri } from './host-list.js';
import type { HostAddress, HostsOption } from './host-list.js';

type Own = typeof OWN_OPTIONS;
type Mysql2 = typeof MYSQL2_OPTIONS;
/** The TypeScript type of a row of the table. */
type ValueOf<S> = S extends { type: 'integer' } ? number : S extends { type: 'boolean' } ? boolean : unknown;

/** `classifyError`: see its row in option-spec.ts. */
export type ClassifyError = (err: Error, action: ErrorAction | null) => ErrorAction | null | undefined;

/**
 * This library's own options (the rows of `OWN_OPTIONS` in option-spec.ts, where each is documented). Every duration
 * is in milliseconds. They are validated and removed before the rest is handed to mysql2, so mysql2 never warns
 * about them.
 */
export interface ResilienceOptions extends Omit<{ [K in keyof Own]?: ValueOf<Own[K]> }, 'classifyError' | 'clock' | 'hosts'> {
  /** An ordered list of hosts (see `hosts` in option-spec.ts): `['h1:3306', 'h2:3307']` or `[{ host, port }]`. */
  hosts?: HostsOption;
  /**
   * Override the error table: called with the table's action (null: a plain SQL error); return an action to use
   * instead, null for "leave the connection alone", or undefined to keep the table's answer. Called for every error
   * on a connection.
   */
  classifyError?: ClassifyError;
  /** @internal Time source; tests pass a fake clock. */
  clock?: Clock;
}

export type ResilientPoolOptions = PoolOptions & ResilienceOptions;

declare module 'mysql2' {
  interface QueryOptions {
    /**
     * resilient-mysql-pool: declare whether this statement may run twice.
     * `true`: retried even when the connection died after it was sent;
     * `false`: never retried after it was sent, even if it looks like a read
     * (e.g. a SELECT calling a function that writes). Unset: plain reads only.
     */
    idempotent?: boolean;
  }
}

/** mysql2's options the pool reads (not the pass-through ones). */
type ReadHere = { [K in keyof Mysql2]: Mysql2[K] extends { passThrough: true } ? never : K }[keyof Mysql2];

/** mysql2's pool options as resolved, plus this library's, as resolved: every row of the table but the pass-through ones. */
export type ResolvedOptions = { [K in ReadHere]: ValueOf<Mysql2[K]> } & {
  [K in Exclude<keyof Own, 'classifyError' | 'clock' | 'hosts'>]-?: ValueOf<Own[K]>;
} & { classifyError: ClassifyError | undefined; clock: Clock; hosts: readonly HostAddress[] | undefined };

type NumericDefaults<T> = { readonly [K in keyof T as T[K] extends { default: number } ? K : never]: number };

/** The numeric defaults of both tables (option-spec.ts, where each is explained). */
export const DEFAULTS: NumericDefaults<Own> & NumericDefaults<Mysql2> = Object.freeze(
  Object.fromEntries(
    [...Object.entries(MYSQL2_OPTIONS), ...Object.entries(OWN_OPTIONS)]
      .filter(([, spec]) => typeof spec.default === 'number')
      .map(([name, spec]) => [name, spec.default]),
  ),
) as NumericDefaults<Own> & NumericDefaults<Mysql2>;

export { OPTION_ERROR_CODES, optionError } from './option-errors.js';
export type { OptionError, OptionErrorCode } from './option-errors.js';

const OWN_KEYS = Object.keys(OWN_OPTIONS) as (keyof Own)[];

/** mysql2's own option names (pool and connection), so they are never mistaken for typos of ours. */
const MYSQL2_KEYS = new Set([...Object.keys(MYSQL2_OPTIONS), ...MYSQL2_OPTION_NAMES]);

function describe(value: unknown): string {
  return typeof value === 'string' ? JSON.stringify(value) : String(value);
}

/**
 * One value checked against its row; unset (undefined or null) gives the row's default. mysql2's own options
 * (`lenient`) are read as mysql2 reads them: numeric strings are numbers (it calls Number()), booleans are Boolean().
 */
function check(name: string, spec: OptionSpec, value: unknown, lenient: boolean): unknown {
  if (spec.type === 'boolean' && lenient) return value === undefined ? spec.default : Boolean(value);
  if (value === undefined || value === null) return spec.default;
  switch (spec.type) {
    case 'integer': {
      const n = lenient && typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
      if (typeof n !== 'number' || Number.isNaN(n)) {
        throw optionError(TypeError, 'OPTION_INVALID_TYPE', name, value, `option '${name}' must be a number, got ${describe(value)}`);
      }
      const min = spec.min ?? 0;
      if (!Number.isInteger(n) || n < min) {
        throw optionError(RangeError, 'OPTION_OUT_OF_RANGE', name, value, `option '${name}' must be an integer >= ${min}, got ${describe(value)}`);
      }
      if (spec.max !== undefined && n > spec.max) {
        throw optionError(RangeError, 'OPTION_OUT_OF_RANGE', name, value, `option '${name}' must be an integer <= ${spec.max}, got ${describe(value)}`);
      }
      return n;
    }
    case 'boolean':
      if (typeof value !== 'boolean') {
        throw optionError(TypeError, 'OPTION_INVALID_TYPE', name, value, `option '${name}' must be a boolean, got ${describe(value)}`);
      }
      return value;
    case 'function':
      if (typeof value !== 'function') {
        throw optionError(TypeError, 'OPTION_INVALID_TYPE', name, value, `option '${name}' must be a function`);
      }
      return value;
    case 'object':
      return value;
  }
}

/** Edit distance, to catch typos of our own option names (`pingTimout`). */
function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const cur = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = cur;
    }
  }
  return row[b.length]!;
}

/**
 * Splits user options into what mysql2 gets and this library's resolved config, and names the options the user set
 * (`userSet`; a URI's query parameters count), so that only those are warned about when clamped. Throws an
 * OptionError (codes: OPTION_ERROR_CODES) naming the option for bad values, and for unknown keys that look like a
 * typo of one of ours. Other unknown keys go to mysql2, which warns about them exactly as `mysql2.createPool` would.
 */
export function resolveOptions(input: string | ResilientPoolOptions | undefined): {
  mysql: PoolOptions;
  resolved: ResolvedOptions;
  userSet: ReadonlySet<string>;
} {
  if (input === undefined || input === null) input = {};
  if (typeof input !== 'string' && typeof input !== 'object') {
    throw optionError(TypeError, 'OPTIONS_INVALID', undefined, input, `options must be an object or a connection URI, got ${typeof input}`);
  }
  input = expandUri(input);
  const own: Record<string, unknown> = {};
  const mysql: Record<string, unknown> = {};
  for (const key of Object.keys(input)) {
    const value = (input as Record<string, unknown>)[key];
    if (Object.hasOwn(OWN_OPTIONS, key)) {
      own[key] = value;
      continue;
    }
    if (!MYSQL2_KEYS.has(key)) {
      const near = OWN_KEYS.find((k) => distance(k.toLowerCase(), key.toLowerCase()) <= 2);
      if (near) {
        throw Object.assign(
          optionError(TypeError, 'OPTION_UNKNOWN', key, value, `unknown option '${key}'; did you mean '${near}'?`),
          { suggestion: near },
        );
      }
    }
    mysql[key] = value;
  }

  const resolved: Record<string, unknown> = {};
  const userSet = new Set<string>();
  for (const [name, spec] of Object.entries(MYSQL2_OPTIONS) as [string, OptionSpec][]) {
    if (mysql[name] !== undefined && mysql[name] !== null) userSet.add(name);
    if (!spec.passThrough) resolved[name] = check(name, spec, mysql[name], true);
  }
  for (const [name, spec] of Object.entries(OWN_OPTIONS) as [string, OptionSpec][]) {
    if (own[name] !== undefined && own[name] !== null) userSet.add(name);
    resolved[name] = check(name, spec, own[name], false);
  }
  // Defaults that depend on another option.
  resolved.maxIdle ??= resolved.connectionLimit;
  resolved.clock ??= systemClock;
  resolved.hosts = resolveHosts(own.hosts, mysql);

  const { connectionLimit, minConnections } = resolved as { connectionLimit: number; minConnections: number };
  if (connectionLimit > 0 && minConnections > connectionLimit) {
    throw optionError(
      RangeError,
      'OPTION_CONFLICT',
      'minConnections',
      minConnections,
      `option 'minConnections' (${minConnections}) must not exceed 'connectionLimit' (${connectionLimit})`,
    );
  }
  if (mysql.enableKeepAlive !== false && mysql.keepAliveInitialDelay === undefined) {
    mysql.keepAliveInitialDelay = DEFAULTS.keepAliveInitialDelay;
  }
  return { mysql: mysql as PoolOptions, resolved: resolved as ResolvedOptions, userSet };
}

/**
 * A connectionLimit assigned after creation (`pool.config.connectionLimit = n`, read when used, as in mysql2): a
 * non-negative integer, not below minConnections (generic-pool keeps min open whatever max says). Unlike at creation,
 * a numeric string is refused: this is a property of a running pool, not configuration text.
 */
export function checkConnectionLimit(value: unknown, minConnections: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) {
    throw optionError(RangeError, 'OPTION_OUT_OF_RANGE', 'connectionLimit', value, `connectionLimit must be a non-negative integer, got ${String(value)}`);
  }
  if (value > 0 && value < minConnections) {
    throw optionError(
      RangeError,
      'OPTION_CONFLICT',
      'connectionLimit',
      value,
      `connectionLimit (${value}) must not be below minConnections (${minConnections})`,
    );
  }
  return value;
}

/**
 * Spreads a connection URI into options the way mysql2 does: a URI string
 * becomes the options (query parameters included, e.g. `?connectionLimit=5`);
 * a `uri` key fills in what the object does not set. Done first, so pool
 * options and this library's own options in the query string take effect.
 */
function expandUri(input: string | ResilientPoolOptions): ResilientPoolOptions {
  if (typeof input === 'string') {
    const { uri, hosts } = splitMultiHostUri(input);
    return (hosts ? { ...parseUrl(uri), hosts: hosts.map((h) => ({ ...h })) } : parseUrl(uri)) as ResilientPoolOptions;
  }
  if (typeof input.uri !== 'string') return input;
  const { uri, hosts } = splitMultiHostUri(input.uri);
  const merged: Record<string, unknown> = { ...input, uri };
  if (hosts && !merged.hosts && !merged.host) merged.hosts = hosts;
  for (const [key, value] of Object.entries(parseUrl(uri))) {
    if (!merged[key]) merged[key] = value;
  }
  return merged as ResilientPoolOptions;
}

/** A URI with its password replaced by ***; one that does not parse is hidden whole. */
function maskUri(uri: string): string {
  try {
    const url = new URL(uri);
    if (url.password) url.password = '***';
    return url.toString();
  } catch {
    return '(unparsable uri)';
  }
}

/** The resolved config for logs: functions named, never the password. */
export function describeConfig(resolved: ResolvedOptions, mysql: PoolOptions): Record<string, unknown> {
  const { clock: _clock, classifyError, ...rest } = resolved;
  return {
    ...rest,
    classifyError: classifyError ? 'custom' : 'default',
    host: mysql.host,
    port: mysql.port,
    socketPath: mysql.socketPath,
    user: mysql.user,
    database: mysql.database,
    uri: mysql.uri ? maskUri(mysql.uri) : undefined,
    password: mysql.password ? '***' : undefined,
    enableKeepAlive: mysql.enableKeepAlive !== false,
    keepAliveInitialDelay: mysql.keepAliveInitialDelay,
    connectTimeout: mysql.connectTimeout,
  };
}
