// A StrykerJS test runner for node:test files that runs the tests in the runner's own process ("node-test-in-process",
// used by stryker.config.mjs). The tap runner starts a Node process (with tsx) per test file per mutant: on a loaded
// two-core machine that is 5-10 s a file before any test runs, hours for the classifier's thousand mutants. Here the
// instrumented modules and the test files are imported once per process and every mutant runs the tests that cover
// it as plain function calls; Stryker restarts the process for static mutants (tables built at load) and after a
// timeout, as it does for any runner that cannot reload its environment.
//
// The test files import `describe` and `test` from 'node:test'; before they load, those exports of the built-in
// module are replaced (syncBuiltinESMExports) by scripts/mutation-node-test-shim.mjs, which only records the tests
// (name and function). Supported: describe(name, fn) and
// test(name, [options,] fn) at any nesting of describe, a test context with `name` and `mock` (node:test's mock,
// restored after every test). Anything else the shim does not know throws at load, so the dry run fails loudly
// rather than a test being left out. Tests whose name matches `nodeTestInProcess.skipPattern` (the time-bound tests)
// are not run. A test is one Stryker test (id: file > describe > name), so coverage is per test and a mutant runs
// only the tests that reached it, stopping at the first failure.
import { createRequire, syncBuiltinESMExports } from 'node:module';
import { register as registerTsxCjs } from 'tsx/cjs/api';
import { register as registerTsx } from 'tsx/esm/api';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { glob } from 'node:fs/promises';
import { commonTokens, declareClassPlugin, PluginKind, tokens } from '@stryker-mutator/api/plugin';
import { DryRunStatus, TestStatus, determineHitLimitReached, toMutantRunResult } from '@stryker-mutator/api/test-runner';

const NAMESPACE = '__stryker__';

class NodeTestInProcessRunner {
  static inject = tokens(commonTokens.options, commonTokens.logger);
  /** @type {{ id: string, name: string, fn: Function }[] | undefined} */
  tests;

  constructor(options, log) {
    this.options = options.nodeTestInProcess ?? {};
    this.log = log;
    this.skip = this.options.skipPattern ? new RegExp(this.options.skipPattern, 'i') : undefined;
  }

  capabilities() {
    // Module-level code runs once per process: a static mutant needs a fresh process (Stryker starts one).
    return { reloadEnvironment: false };
  }

  async init() {
    globalThis[NAMESPACE] ??= {};
  }

  /** Imports the test files (and through them the instrumented modules), once per process. */
  async load() {
    if (this.tests) return;
    registerTsx();
    registerTsxCjs();
    const shim = await import('./mutation-node-test-shim.mjs');
    const nodeTest = createRequire(import.meta.url)('node:test');
    for (const name of ['describe', 'suite', 'test', 'it', 'before', 'after', 'beforeEach', 'afterEach']) nodeTest[name] = shim[name];
    syncBuiltinESMExports();
    const registry = (globalThis.__mutationNodeTest__ = { tests: [], stack: [], file: '' });
    const files = [];
    for (const pattern of this.options.testFiles ?? []) for await (const f of glob(pattern)) files.push(f);
    files.sort();
    for (const file of files) {
      registry.file = file;
      await import(pathToFileURL(path.resolve(file)).href);
    }
    const seen = new Map();
    this.tests = registry.tests.map((t) => {
      const base = `${t.file} > ${t.name}`;
      const n = (seen.get(base) ?? 0) + 1;
      seen.set(base, n);
      return { id: n === 1 ? base : `${base} #${n}`, name: t.name, fn: t.fn };
    });
    if (!this.tests.length) throw new Error(`node-test-in-process: no tests in ${JSON.stringify(this.options.testFiles)}`);
  }

  async dryRun(options) {
    const ns = globalThis[NAMESPACE];
    ns.activeMutant = undefined;
    await this.load();
    const result = await this.run({ bail: false });
    if (result.status === DryRunStatus.Complete) result.mutantCoverage = ns.mutantCoverage ?? { static: {}, perTest: {} };
    void options;
    return result;
  }

  async mutantRun(options) {
    const ns = globalThis[NAMESPACE];
    // Set before the first import, so that a static mutant is in the tables built at load.
    ns.activeMutant = options.activeMutant.id;
    await this.load();
    return toMutantRunResult(
      await this.run({ bail: !options.disableBail, filter: options.testFilter && new Set(options.testFilter), hitLimit: options.hitLimit }),
    );
  }

  async run({ bail, filter, hitLimit }) {
    const ns = globalThis[NAMESPACE];
    const { mock } = await import('node:test');
    ns.hitLimit = hitLimit;
    ns.hitCount = hitLimit === undefined ? undefined : 0;
    const results = [];
    try {
      for (const t of this.tests) {
        if (filter && !filter.has(t.id)) continue;
        if (this.skip?.test(t.name)) continue;
        const started = performance.now();
        ns.currentTestId = t.id;
        let failure;
        try {
          await t.fn({ name: t.name, mock });
        } catch (err) {
          failure = err instanceof Error ? err.message : String(err);
        } finally {
          ns.currentTestId = undefined;
          mock.restoreAll();
        }
        const limit = determineHitLimitReached(ns.hitCount, ns.hitLimit);
        if (limit) return limit;
        const timeSpentMs = Math.round(performance.now() - started);
        results.push(
          failure === undefined
            ? { id: t.id, name: t.id, status: TestStatus.Success, timeSpentMs }
            : { id: t.id, name: t.id, status: TestStatus.Failed, failureMessage: failure.slice(0, 500), timeSpentMs },
        );
        if (failure !== undefined && bail) break;
      }
    } finally {
      ns.hitLimit = undefined;
      ns.hitCount = undefined;
    }
    return { status: DryRunStatus.Complete, tests: results };
  }
}

export const strykerPlugins = [declareClassPlugin(PluginKind.TestRunner, 'node-test-in-process', NodeTestInProcessRunner)];
