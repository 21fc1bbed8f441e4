/**
 * Prints the README's options tables and the list of option error codes, generated from src/option-spec.ts and
 * src/options.ts. `--write` replaces them in the file that holds the markers (README.md, or a page of docs/ if the
 * section moves there); test/unit/options.test.ts fails while the file differs from what this prints.
 *
 *   node --import tsx scripts/options-table.ts           # print
 *   node --import tsx scripts/options-table.ts --write   # update the docs in place
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { MYSQL2_OPTIONS, OWN_OPTIONS, type OptionSpec } from '../src/option-spec.js';
import { OPTION_ERROR_CODES } from '../src/options.js';

const root = join(__dirname, '..');

function defaultText(spec: OptionSpec): string {
  return spec.defaultText ?? String(spec.default);
}

function rows(table: Record<string, OptionSpec>): string[] {
  return Object.entries(table)
    .filter(([, spec]) => !spec.internal)
    .map(([name, spec]) => `| \`${name}\` | ${defaultText(spec)} | ${spec.unit ?? '—'} | ${spec.doc} |`);
}

/** Each generated section by marker name. */
export function generatedSections(): Record<string, string> {
  return {
    'own-options': ['| Option | Default | Unit | Meaning |', '|---|---|---|---|', ...rows(OWN_OPTIONS)].join('\n'),
    'mysql2-options': [
      '| mysql2 option | Default | Unit | Here |',
      '|---|---|---|---|',
      ...rows(MYSQL2_OPTIONS),
      "| `uri`, or a URI string | — | — | Same, query parameters included (`?connectionLimit=5&acquireTimeout=3000`). |",
      "| every connection option | mysql2's | — | Passed to mysql2 unchanged (`host`, `ssl`, `typeCast`, `namedPlaceholders`, ...). |",
    ].join('\n'),
    'option-error-codes': Object.entries(OPTION_ERROR_CODES)
      .map(([code, meaning]) => `- \`${code}\`: ${meaning}`)
      .join('\n'),
  };
}

const begin = (name: string) => `<!-- generated: ${name} (scripts/options-table.ts) -->`;
const end = (name: string) => `<!-- end: ${name} -->`;

/** The Markdown file holding the markers: README.md, else the page of docs/ that does. */
export function docWithMarkers(): string {
  const candidates = [join(root, 'README.md'), ...readdirSync(join(root, 'docs')).filter((f) => f.endsWith('.md')).map((f) => join(root, 'docs', f))];
  const found = candidates.find((file) => readFileSync(file, 'utf8').includes(begin('own-options')));
  if (!found) throw new Error(`no file has the marker ${begin('own-options')}`);
  return found;
}

/** What lies between a section's markers in `text`; undefined if the markers are missing. */
export function sectionIn(text: string, name: string): string | undefined {
  const from = text.indexOf(begin(name));
  const to = text.indexOf(end(name));
  if (from < 0 || to < from) return undefined;
  return text.slice(from + begin(name).length, to).trim();
}

function write(file: string): void {
  let text = readFileSync(file, 'utf8');
  for (const [name, body] of Object.entries(generatedSections())) {
    const from = text.indexOf(begin(name));
    const to = text.indexOf(end(name));
    if (from < 0 || to < from) throw new Error(`${file}: markers for ${name} missing`);
    text = `${text.slice(0, from)}${begin(name)}\n${body}\n${text.slice(to)}`;
  }
  writeFileSync(file, text);
}

if (require.main === module) {
  if (process.argv.includes('--write')) {
    const file = docWithMarkers();
    write(file);
    console.log(`updated ${file}`);
  } else {
    for (const [name, body] of Object.entries(generatedSections())) console.log(`${begin(name)}\n${body}\n${end(name)}\n`);
  }
}
