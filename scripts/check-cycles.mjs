// Fails when the modules of src/ import each other in a cycle (run by `npm run lint`). Every relative import
// counts, `import type` and `export ... from` included: a cycle of types is still a cycle to read. Prints each cycle
// found as a path of files.
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const src = join(root, 'src');

function files(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((d) =>
    d.isDirectory() ? files(join(dir, d.name)) : d.name.endsWith('.ts') ? [join(dir, d.name)] : [],
  );
}

// `from './x.js'` in import/export statements, `import('./x.js')` and `require('./x.js')`.
const IMPORT = /(?:\bfrom\s*|\bimport\s*\(\s*|\brequire\s*\(\s*|^\s*import\s+)['"](\.{1,2}\/[^'"]+)['"]/gm;

const graph = new Map();
for (const file of files(src)) {
  const text = readFileSync(file, 'utf8').replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '');
  const deps = new Set();
  for (const m of text.matchAll(IMPORT)) deps.add(resolve(dirname(file), m[1].replace(/\.js$/, '.ts')));
  graph.set(file, [...deps].filter((d) => d.startsWith(src)));
}

const cycles = [];
const state = new Map(); // 1: on the stack, 2: done
const stack = [];
function visit(file) {
  state.set(file, 1);
  stack.push(file);
  for (const dep of graph.get(file) ?? []) {
    if (state.get(dep) === 1) cycles.push([...stack.slice(stack.indexOf(dep)), dep]);
    else if (!state.has(dep)) visit(dep);
  }
  stack.pop();
  state.set(file, 2);
}
for (const file of graph.keys()) if (!state.has(file)) visit(file);

// Cycles that landed before this check, each to be removed by the owner of its files; listed by their files, so
// any other cycle (or a new file joining one of these) fails. Do not add to this list.
const KNOWN = [].map((files) => files.join(' '));

let failed = false;
for (const c of cycles) {
  const path = c.map((f) => relative(root, f));
  const known = KNOWN.includes([...new Set(path)].sort().join(' '));
  console.error(`${known ? 'known import cycle (to remove)' : 'import cycle'}: ${path.join(' -> ')}`);
  if (!known) failed = true;
}
if (failed) process.exit(1);
console.log(`no import cycle among ${graph.size} modules of src/${cycles.length ? ` besides ${cycles.length} known` : ''}`);
