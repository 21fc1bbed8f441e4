// StrykerJS config for `npm run test:mutation` (run it through scripts/mutation.mjs: Stryker 10 needs Node 22,
// which that script installs on demand). See docs/testing.md, "Mutation testing".
//
// Scope: the four modules that decide what the pool may run again (the retry contract), and only the unit test
// files that exercise them. Test files are picked by prefix so new files (e.g. statement.mutation.test.ts,
// corpus or property tests) join without editing this list.

/**
 * The retry-contract modules, each with the files it is made of (the SQL classifier is split into several files; its
 * entry point, the file named after the module, is the one the probe calls). scripts/mutation.mjs checks each
 * module's score separately, over all of its files. statement-functions.ts (the allow-list, data) is not mutated.
 */
export const MODULE_FILES = {
  statement: [
    'src/statement.ts',
    'src/statement-tokens.ts',
    'src/statement-lexer.ts',
    'src/statement-rules.ts',
    'src/statement-shape.ts',
  ],
  retry: ['src/retry.ts'],
  'error-table': ['src/error-table.ts'],
  transactions: ['src/transactions.ts'],
};

/** Every mutated file. */
export const MODULES = Object.values(MODULE_FILES).flat();

/** The unit tests that exercise each module: its own, and those of the modules that import it. */
export const MODULE_TESTS = {
  statement: ['statement', 'retry'],
  retry: ['retry'],
  'error-table': ['error-table', 'retry'],
  transactions: ['transactions'],
};

/** MUTATION_MODULES (set by scripts/mutation.mjs --only): the modules of this run; their tests only. */
const selected = process.env.MUTATION_MODULES?.split(',').filter((m) => MODULE_TESTS[m]) ?? [];
const testNames = selected.length ? [...new Set(selected.flatMap((m) => MODULE_TESTS[m]))] : Object.keys(MODULE_TESTS);

/** Names of tests with a time bound (case-insensitive). */
const PERFORMANCE_TESTS = 'linear time|linear-time|quadratic';

/** The unit test files of the modules of this run. */
const TEST_FILES = testNames.length > 1 ? `test/unit/{${testNames.join(',')}}*.test.ts` : `test/unit/${testNames[0]}*.test.ts`;

/**
 * MUTATION_RUNNER=tap: one Node process per test file per mutant (Stryker's tap runner). Otherwise the in-process
 * runner of scripts/mutation-runner.mjs: same test files and skip pattern, the tests run as function calls in a
 * long-lived process, one Stryker test per node:test test (about 100x faster here; see docs/testing.md).
 */
const TAP = process.env.MUTATION_RUNNER === 'tap';

/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  packageManager: 'npm',
  plugins: ['@stryker-mutator/tap-runner', './scripts/mutation-runner.mjs'],
  testRunner: TAP ? 'tap' : 'node-test-in-process',
  nodeTestInProcess: { testFiles: [TEST_FILES], skipPattern: PERFORMANCE_TESTS },
  tap: {
    testFiles: [TEST_FILES],
    // Run the file directly, not under `node --test`: `--test` would start the file in a child process, out of
    // reach of Stryker's hook (loaded here with -r), which records coverage and the active mutant per process.
    // Performance tests are left out (--test-skip-pattern, Node >= 22.1): instrumented code runs about 25x slower
    // (the statement.ts linear-time test takes 13 s instead of 0.5 s), so their time bounds cannot hold, and a
    // mutant that only makes the code slower is not what this run is about.
    nodeArgs: ['--import', 'tsx', '--test-reporter=tap', `--test-skip-pattern=/${PERFORMANCE_TESTS}/i`, '{{testFile}}'],
    forceBail: true,
  },
  // perTest coverage: for each mutant, run only the tests that reached it (the tap runner reports one "test" per
  // file, the in-process runner one per node:test test). Mutants in module-level code (tables built at load) run
  // every test, in a fresh process.
  coverageAnalysis: 'perTest',
  mutate: MODULES,
  // Other helpers share two cores.
  concurrency: 2,
  // A mutant that turns a lexer loop into an endless one is caught by the timeout and counts as killed. Each timeout
  // costs the worker process (Stryker restarts it); in-process, a test's own time is milliseconds, so 2.5 s beyond
  // twice the covering tests' measured time is margin enough.
  timeoutMS: TAP ? 10000 : 2500,
  timeoutFactor: 2,
  reporters: ['clear-text', 'progress-append-only', 'json', 'html'],
  clearTextReporter: { allowColor: false, logTests: false, maxTestsToLog: 0 },
  jsonReporter: { fileName: 'reports/mutation/mutation.json' },
  htmlReporter: { fileName: 'reports/mutation/mutation.html' },
  incrementalFile: 'reports/mutation/stryker-incremental.json',
  tempDirName: '.tmp/stryker',
  cleanTempDir: 'always',
  // Only src/ and test/unit/ are needed in the sandbox (plus package.json and tsconfig.json).
  ignorePatterns: ['/dist', '/.tmp', '/bench', '/demo', '/docs', '/examples', '/test/integration', '/.ci'],
  // Scores per module are checked by scripts/mutation.mjs; Stryker's own break is off.
  thresholds: { high: 95, low: 90, break: null },
};
