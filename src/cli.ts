#!/usr/bin/env node
/**
 * `npx resilient-mysql-pool doctor <mysql-url> [--json]`: see src/doctor.ts.
 * Exit status: 0 report printed (warnings included), 1 could not connect or read the server, 2 usage error (an
 * unknown flag, no URL, a string that is not a URL, an invalid pool option in the URL).
 */
import { DoctorError, DoctorUsageError, doctor, formatReport, maskUrl, type DoctorOptions } from './doctor.js';

const NAME = 'resilient-mysql-pool';

export const USAGE = `Usage: ${NAME} <command> [options]

Commands:
  doctor [mysql-url]   Connect once and show the server's timeouts and connection limits, the settings
                       the pool derives from them, and warnings. The URL defaults to $MYSQL_URL (which
                       keeps the password off the command line, where other users can see it).
  help                 Show this help.

doctor options:
  --json                            Print the report as JSON.
  --network-idle-timeout <duration> Idle timeout of a load balancer, NAT gateway or proxy between the
                                    application and the server (AWS NLB / NAT gateway 350s,
                                    Azure LB 240s, GCP 600s).
  --max-lifetime, --lifetime <duration>
                                    The maxLifetime the application will configure.
  --idle-timeout, --idle <duration> The idleTimeout the application will configure.

  Durations: 350000 or 350000ms (milliseconds, like the pool options), 350s, 6m, 1h.
  Pool options in the URL's query string count too (mysql://app@db:3306/shop?maxLifetime=600000).

Exit status: 0 report printed (even with warnings), 1 cannot connect or read the server, 2 usage error
(including a URL that does not parse or an invalid pool option in it).

Example:
  npx ${NAME} doctor mysql://app:secret@db.internal:3306/shop --network-idle-timeout 350s
`;

export class UsageError extends Error {}

/** The one-line hint after a bad URL. */
export const URL_HINT = `hint: ${NAME} doctor mysql://user:password@host:3306/database, or set MYSQL_URL (see ${NAME} help)`;

/** `350000`, `350000ms`, `350s`, `6m`, `1h` → ms. */
export function parseDuration(text: string, flag: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*(ms|s|m|min|h)?$/i.exec(text.trim());
  if (!m) throw new UsageError(`${flag}: expected a duration such as 350000, 350s, 6m or 1h, got ${JSON.stringify(text)}`);
  const factor = { ms: 1, s: 1_000, m: 60_000, min: 60_000, h: 3_600_000 }[(m[2] ?? 'ms').toLowerCase() as 'ms'];
  const ms = Math.round(Number(m[1]) * factor);
  if (!Number.isSafeInteger(ms)) throw new UsageError(`${flag}: ${JSON.stringify(text)} is out of range`);
  return ms;
}

export interface DoctorArgs {
  url: string | undefined;
  json: boolean;
  options: DoctorOptions;
}

const DURATION_FLAGS: Record<string, keyof DoctorOptions> = {
  '--network-idle-timeout': 'networkIdleTimeout',
  '--max-lifetime': 'maxLifetime',
  '--lifetime': 'maxLifetime',
  '--idle-timeout': 'idleTimeout',
  '--idle': 'idleTimeout',
};

/** Parses the arguments after `doctor`. */
export function parseDoctorArgs(args: readonly string[]): DoctorArgs | 'help' {
  const out: DoctorArgs = { url: undefined, json: false, options: {} };
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === '--help' || arg === '-h') return 'help';
    if (arg === '--json') {
      out.json = true;
      continue;
    }
    const eq = arg.indexOf('=');
    const flag = arg.startsWith('--') && eq > 0 ? arg.slice(0, eq) : arg;
    const option = DURATION_FLAGS[flag];
    if (option) {
      let value: string | undefined;
      if (flag !== arg) value = arg.slice(eq + 1);
      else value = args[++i];
      if (value === undefined || value === '') throw new UsageError(`${flag} needs a value`);
      out.options[option] = parseDuration(value, flag);
      continue;
    }
    if (arg.startsWith('-')) throw new UsageError(`unknown option ${arg}`);
    if (out.url !== undefined) throw new UsageError(`doctor takes one URL; unexpected ${JSON.stringify(maskUrl(arg))}`);
    out.url = arg;
  }
  return out;
}

interface Io {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  env: NodeJS.ProcessEnv;
}

/** Runs the CLI; resolves with the exit status. */
export async function main(argv: readonly string[], io: Io = defaultIo()): Promise<number> {
  const [command, ...rest] = argv;
  if (command === 'help' || command === '--help' || command === '-h') {
    io.stdout(USAGE);
    return 0;
  }
  if (command !== 'doctor') {
    io.stderr(`${command === undefined ? 'missing command' : `unknown command ${JSON.stringify(command)}`}\n\n${USAGE}`);
    return 2;
  }
  let args: DoctorArgs;
  try {
    const parsed = parseDoctorArgs(rest);
    if (parsed === 'help') {
      io.stdout(USAGE);
      return 0;
    }
    args = parsed;
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    io.stderr(`${NAME} doctor: ${err.message}\n\n${USAGE}`);
    return 2;
  }
  const url = args.url ?? io.env.MYSQL_URL;
  if (!url) {
    io.stderr(`${NAME} doctor: give a URL (mysql://user:password@host:3306/database) or set MYSQL_URL\n\n${USAGE}`);
    return 2;
  }
  try {
    const report = await doctor(url, args.options);
    io.stdout(args.json ? `${JSON.stringify(report, null, 2)}\n` : formatReport(report));
    return 0;
  } catch (err) {
    if (err instanceof DoctorUsageError) {
      // A usage error: the message and a one-line hint, not "cannot connect" and not the whole usage text.
      if (args.json) io.stdout(`${JSON.stringify({ error: { code: err.code, message: err.message } }, null, 2)}\n`);
      io.stderr(`${NAME} doctor: ${err.message}\n${URL_HINT}\n`);
      return 2;
    }
    const code = err instanceof DoctorError ? err.code : 'ERROR';
    // DoctorError messages are already masked; anything else is scrubbed of the URL as a precaution.
    const message = err instanceof DoctorError ? err.message : String((err as Error)?.message ?? err).split(url).join(maskUrl(url));
    if (args.json) io.stdout(`${JSON.stringify({ error: { code, message } }, null, 2)}\n`);
    io.stderr(`${NAME} doctor: ${message}\n`);
    return 1;
  }
}

function defaultIo(): Io {
  return {
    stdout: (text) => process.stdout.write(text),
    stderr: (text) => process.stderr.write(text),
    env: process.env,
  };
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (status) => {
      process.exitCode = status;
    },
    (err: unknown) => {
      process.stderr.write(`${NAME}: ${(err as Error)?.stack ?? String(err)}\n`);
      process.exitCode = 1;
    },
  );
}
