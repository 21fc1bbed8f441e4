// ESLint flat config: eslint:recommended everywhere, typescript-eslint `recommended` (syntax-only, no type
// information, so it stays fast) for TypeScript.
import { defineConfig, globalIgnores } from 'eslint/config';
import tseslint from 'typescript-eslint';

// eslint:recommended. It ships as @eslint/js, which is not a dependency of this package; without it, build the same
// set (every core rule whose docs mark it recommended, as "error") from ESLint's own rule table.
async function jsRecommended() {
  try {
    const { default: js } = await import('@eslint/js');
    return js.configs.recommended;
  } catch {
    const { builtinRules } = await import('eslint/use-at-your-own-risk');
    const rules = {};
    for (const [name, rule] of builtinRules) if (rule.meta?.docs?.recommended) rules[name] = 'error';
    return { name: 'eslint:recommended (from builtinRules)', rules };
  }
}

// Node.js globals for plain JavaScript files (TypeScript files get theirs from @types/node; `globals` is not installed).
const nodeGlobals = Object.fromEntries(
  [
    'AbortController',
    'AbortSignal',
    'Buffer',
    'URL',
    'URLSearchParams',
    'TextDecoder',
    'TextEncoder',
    'clearImmediate',
    'clearInterval',
    'clearTimeout',
    'console',
    'fetch',
    'global',
    'performance',
    'process',
    'queueMicrotask',
    'setImmediate',
    'setInterval',
    'setTimeout',
    'structuredClone',
  ].map((name) => [name, 'readonly']),
);
const commonJsGlobals = { __dirname: 'readonly', __filename: 'readonly', exports: 'writable', module: 'writable', require: 'readonly' };

const unusedVarsOptions = { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrorsIgnorePattern: '^_' };

export default defineConfig([
  globalIgnores(['dist/', 'node_modules/', '.tmp/', 'coverage/']),
  await jsRecommended(),
  {
    rules: {
      // Best-effort cleanup (`try { conn.destroy(); } catch {}`) is routine in a connection pool.
      'no-empty': ['error', { allowEmptyCatch: true }],
    },
  },
  {
    files: ['**/*.js', '**/*.mjs', '**/*.cjs'],
    languageOptions: { globals: nodeGlobals },
    rules: { 'no-unused-vars': ['error', unusedVarsOptions] },
  },
  {
    // package.json has no "type", so .js files are CommonJS.
    files: ['**/*.js', '**/*.cjs'],
    languageOptions: { sourceType: 'commonjs', globals: commonJsGlobals },
  },
  {
    files: ['**/*.ts', '**/*.mts', '**/*.cts'],
    extends: [tseslint.configs.recommended],
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', unusedVarsOptions],
      // The mysql2 surface is typed with `any`; flag new uses without failing the build.
      '@typescript-eslint/no-explicit-any': 'warn',
    },
  },
  {
    // One job per file, readable top to bottom in a few minutes (issue 10). Data tables are exempt: the
    // classifier's function allow-list. Import cycles are checked by scripts/check-cycles.mjs (npm run lint).
    files: ['src/**/*.ts'],
    ignores: ['src/statement-functions.ts'],
    rules: { 'max-lines': ['error', { max: 350 }] },
  },
]);
