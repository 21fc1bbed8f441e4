/**
 * Every unit test file (`test/unit/*.test.ts`) in one process: `npm run test:unit` and `npm test` run this file.
 *
 * Run one per file, as `node --test` does with a list of files, each file's process spent most of its time starting
 * Node and tsx (~0.5-0.8 s of CPU each, measured with `/usr/bin/time`), more than the tests themselves: 15 files cost
 * ~19 s of CPU where one process costs ~4.5 s. A single file still runs on its own:
 * `node --import tsx --test test/unit/x.test.ts`.
 *
 * Files are loaded in name order; node:test runs their top-level tests one after another, in that order. A file
 * that throws while loading becomes one failing test named after it, and the other files still run.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';

for (const file of readdirSync(__dirname)
  .filter((f) => f.endsWith('.test.ts'))
  .sort()) {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- load order is the run order; tsx compiles it
    require(join(__dirname, file));
  } catch (err) {
    test(`test/unit/${file} loads`, () => {
      throw err;
    });
  }
}
