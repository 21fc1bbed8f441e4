// Stands in for 'node:test' (describe, test and their aliases) when scripts/mutation-runner.mjs imports the unit test files: records each test (its
// describe path, name and function) instead of running it. Only what the mutation-tested files use is here; anything
// else throws at load, so a test file that needs more fails the dry run instead of losing tests.
import { mock } from 'node:test';

const registry = () => {
  const r = globalThis.__mutationNodeTest__;
  if (!r) throw new Error('mutation-node-test-shim: loaded outside scripts/mutation-runner.mjs');
  return r;
};

function args(name, a, b) {
  const fn = typeof a === 'function' ? a : b;
  const options = typeof a === 'function' ? undefined : a;
  if (typeof name !== 'string' || typeof fn !== 'function') throw new Error('mutation-node-test-shim: expected (name, [options,] fn)');
  if (options && (options.skip || options.todo || options.only)) throw new Error(`mutation-node-test-shim: option not supported in ${name}`);
  return fn;
}

export function describe(name, a, b) {
  const fn = args(name, a, b);
  const r = registry();
  r.stack.push(name);
  try {
    const value = fn();
    if (value && typeof value.then === 'function') throw new Error(`mutation-node-test-shim: async describe not supported (${name})`);
  } finally {
    r.stack.pop();
  }
}

export function test(name, a, b) {
  const fn = args(name, a, b);
  const r = registry();
  r.tests.push({ file: r.file, name: [...r.stack, name].join(' > '), fn });
}

export const it = test;
export const suite = describe;

function unsupported(name) {
  return () => {
    throw new Error(`mutation-node-test-shim: ${name}() is not supported`);
  };
}
export const before = unsupported('before');
export const after = unsupported('after');
export const beforeEach = unsupported('beforeEach');
export const afterEach = unsupported('afterEach');
export { mock };
