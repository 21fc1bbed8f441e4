/** The errors option validation throws (options.ts, host-list.ts): codes, type and constructor. */
/**
 * The `code` of every error option validation throws (a TypeError or RangeError with `code`, `option` and `value`;
 * `OPTION_UNKNOWN` adds `suggestion`). Stable: match on these, not on messages.
 */
export const OPTION_ERROR_CODES = {
  OPTIONS_INVALID: 'TypeError: the options are neither an object nor a connection URI string.',
  OPTION_INVALID_TYPE: 'TypeError: a value of the wrong type (`pingTimeout: "500"`, `assumeIdempotent: 1`).',
  OPTION_OUT_OF_RANGE: 'RangeError: a number that is negative, not an integer, below the minimum or above the maximum (`pingTimeout: 0`, `maxAttempts: 5000`).',
  OPTION_UNKNOWN: "TypeError: an unknown key that looks like a typo of one of this library's (`pingTimout`); `suggestion` names it.",
  OPTION_CONFLICT: 'RangeError: two options that contradict each other (`minConnections` above `connectionLimit`).',
} as const;

export type OptionErrorCode = keyof typeof OPTION_ERROR_CODES;

/** A validation error: mysql2-style `code`, plus the option's name and the value given. */
export interface OptionError extends Error {
  code: OptionErrorCode;
  /** The option's name; undefined for OPTIONS_INVALID. */
  option: string | undefined;
  value: unknown;
  /** OPTION_UNKNOWN: the option probably meant. */
  suggestion?: string;
}

export function optionError(
  Type: typeof TypeError | typeof RangeError,
  code: OptionErrorCode,
  option: string | undefined,
  value: unknown,
  message: string,
): OptionError {
  return Object.assign(new Type(`resilient-mysql-pool: ${message}`), { code, option, value });
}
