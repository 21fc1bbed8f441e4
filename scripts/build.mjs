// Builds the package: CommonJS + declarations with tsc, then thin ESM wrappers
// that re-export the CommonJS build. One implementation serves `require` and
// `import`, so an app that uses both never gets two copies of the pool classes
// (the dual-package hazard).
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const dist = join(root, 'dist');
rmSync(dist, { recursive: true, force: true });
execFileSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', join(root, 'tsconfig.build.json')], {
  stdio: 'inherit',
});

const require = createRequire(import.meta.url);
mkdirSync(join(dist, 'esm'), { recursive: true });
for (const entry of ['index', 'promise', 'mysql2']) {
  const names = Object.keys(require(join(dist, `${entry}.js`))).filter((n) => n !== 'default' && n !== '__esModule');
  writeFileSync(
    join(dist, 'esm', `${entry}.mjs`),
    `import cjs from '../${entry}.js';\nexport const { ${names.join(', ')} } = cjs;\nexport default cjs;\n`,
  );
  writeFileSync(
    join(dist, 'esm', `${entry}.d.mts`),
    `export * from '../${entry}.js';\nimport * as all from '../${entry}.js';\nexport default all;\n`,
  );
}
console.log('built dist/ (CommonJS + ESM wrappers)');
