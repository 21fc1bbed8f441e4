/**
 * How the pool reports that the server (or `networkIdleTimeout`) forced an idle or age limit lower: a value the user
 * set becomes a `warn` event (OPTION_CLAMPED), since they asked for something they will not get; a default is
 * clamped silently, with a `debug` line only (it is the pool doing its job, not a mistake to fix). Every duration in
 * the text is in ms, the unit of the options.
 */
import type { OptionClampedWarning } from './events.js';
import type { Clamp } from './limits.js';

export function clampMessage(c: Clamp): string {
  return (
    `${c.option} ${c.requested} ms is above ${c.because}; using ${c.applied} ms ` +
    '(connections idle longer would be closed by the server or network)'
  );
}

/** The `warn` payloads (values the user set) and the debug lines (defaults) for these clamps. */
export function clampReports(
  clamps: readonly Clamp[],
  userSet: ReadonlySet<string>,
): { warnings: OptionClampedWarning[]; quiet: string[] } {
  const warnings: OptionClampedWarning[] = [];
  const quiet: string[] = [];
  for (const c of clamps) {
    const message = clampMessage(c);
    if (userSet.has(c.option)) {
      warnings.push(Object.assign(new Error(message), { code: 'OPTION_CLAMPED' as const, ...c }));
    } else {
      quiet.push(`${message} [the default: no warning]`);
    }
  }
  return { warnings, quiet };
}
