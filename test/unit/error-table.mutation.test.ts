/**
 * Cases that kill mutants of src/error-table.ts which error-table.test.ts let live (npm run test:mutation,
 * docs/testing.md; the equivalent ones are in test/mutation-equivalent.json).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { classify } from '../../src/error-table.js';

test('only objects are errors: a function carrying an error code is not read as one', () => {
  for (const fields of [{ code: 'ECONNRESET' }, { errno: 2013 }, { code: 4031 }, { fatal: true }]) {
    const notAnError = Object.assign(() => undefined, fields);
    assert.equal(classify(notAnError, 'mysql'), null);
    assert.equal(classify(notAnError, 'mariadb'), null);
  }
});
