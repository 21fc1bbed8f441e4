// Differential probe for surviving mutants (run by scripts/mutation-report.mjs, under tsx):
//   node --import tsx scripts/mutation-probe.mjs <module> <original src dir> <mutated src dir>...
// Loads the original module once and each mutated copy in turn, feeds them the same inputs, and prints one JSON line
// per mutated copy, in order: { dir, probed, dangerous, differs, witness }.
// `dangerous`: on some input the mutant answers on the unsafe side where the original answered safe:
//   - statement.ts: a function of the text says true (a plain read, a single atomic statement) where the original
//     says false;
//   - error-table.ts: an action that claims "did not run" more strongly (false < 'if-single-atomic' < true), is
//     retryable where the original's is not, or drops 'retire-if-read-only' (retires and retries on the error alone);
//   - retry.ts: didNotRun true where the original says false; decideRetry retries where the original does not, or
//     drops outcomeUnknown;
//   - transactions.ts: after a statement the connection is no longer marked in a transaction (or autocommit off)
//     where the original marks it so: a transaction ended, or its start missed.
// `differs`: some answer differs at all (a mutant that differs only on the safe side is not dangerous). A mutant that
// hangs is killed by the parent's timeout and counted dangerous there.
// `probed: false`: none of the module's exports is one the probe knows how to call; the parent then counts the
// mutant as dangerous (unclassified), so an API change cannot silently turn the check off.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const [moduleName, originalDir, ...mutatedDirs] = process.argv.slice(2);
// Built once by scripts/mutation-report.mjs (scripts/mutation-corpus.mjs), next to the original sources.
const corpus = JSON.parse(readFileSync(path.join(originalDir, '..', 'corpus.json'), 'utf8'));
// Real Error objects, as mysql2 hands them over (a message is always there).
const errors = corpus.errors.map((e) => (e && typeof e === 'object' ? Object.assign(new Error('probe'), e) : e));
const load = (dir) => import(pathToFileURL(path.join(dir, `${moduleName}.ts`)).href);

/** Calls `fn`, turning a throw into a marker answer. */
function call(fn, ...args) {
  try {
    return fn(...args);
  } catch (err) {
    return { threw: String(err?.message ?? err) };
  }
}

/** Boolean answers where `true` is the permissive (retry-enabling) side, flattened from a value. */
function permissiveFlags(value) {
  if (typeof value === 'boolean') return { value };
  if (value && typeof value === 'object' && !('threw' in value)) {
    const out = {};
    for (const [k, v] of Object.entries(value)) if (typeof v === 'boolean') out[k] = v;
    return out;
  }
  return {};
}

/** How strongly an action claims "did not run": false < 'if-single-atomic' (the one rule decides) < true. */
const NOT_EXECUTED_RANK = (v) => (v === true ? 2 : v === 'if-single-atomic' ? 1 : 0);

/** An action is less safe than another: claims "did not run" more, retryable where it was not, or retires and
 * retries on the error alone where the original first asks the server ('retire-if-read-only'). */
function lessSafeAction(a, b) {
  const ok = (x) => x && typeof x === 'object' && !('threw' in x);
  if (!ok(b)) return false;
  const rank = (x) => (ok(x) ? NOT_EXECUTED_RANK(x.notExecuted) : 0);
  if (rank(b) > rank(a)) return true;
  if (b.retryable === true && !(ok(a) && a.retryable === true)) return true;
  return ok(a) && a.others === 'retire-if-read-only' && b.others !== 'retire-if-read-only';
}

/**
 * Each probe returns the cases it can run against the original module: { input, run(mod), unsafe(orig, mut) },
 * or none when the module exports nothing it knows.
 */
const PROBES = {
  statement(orig) {
    // Every exported function of the text; true is the permissive side for all of them today (isReadOnlyStatement,
    // statementFacts' plainRead and singleAtomic). A function whose true is the safe side would need its own rule.
    const fns = Object.keys(orig).filter((k) => typeof orig[k] === 'function' && orig[k].length <= 1);
    return corpus.statement.flatMap((sql) =>
      fns.map((fn) => ({
        input: { fn, sql },
        run: (mod) => call(mod[fn], sql),
        unsafe(a, b) {
          const fa = permissiveFlags(a);
          const fb = permissiveFlags(b);
          return Object.keys(fb).some((flag) => fb[flag] === true && fa[flag] !== true);
        },
      })),
    );
  },

  'error-table'(orig) {
    const cases = [];
    const unsafe = lessSafeAction;
    const overrides = { none: undefined, undef: () => undefined, same: (_e, a) => a };
    for (const err of errors) {
      for (const flavor of ['mysql', 'mariadb']) {
        const input = { err: err && typeof err === 'object' ? { ...err, message: err.message } : err, flavor };
        if (typeof orig.classify === 'function') {
          cases.push({ input: { fn: 'classify', ...input }, run: (mod) => call(mod.classify, err, flavor), unsafe });
        }
        if (typeof orig.classifyWith === 'function') {
          for (const [name, o] of Object.entries(overrides)) {
            cases.push({
              input: { fn: 'classifyWith', override: name, ...input },
              run: (mod) => call(mod.classifyWith, err, flavor, o),
              unsafe,
            });
          }
        }
      }
    }
    return cases;
  },

  async retry(orig) {
    if (typeof orig.decideRetry !== 'function' && typeof orig.didNotRun !== 'function') return [];
    const table = await import(pathToFileURL(path.join(originalDir, 'error-table.ts')).href);
    const actions = new Map([['null', null]]);
    for (const err of errors) {
      for (const flavor of ['mysql', 'mariadb']) {
        const act = call(table.classify, err, flavor);
        if (act && !('threw' in act)) actions.set(JSON.stringify(act), act);
      }
    }
    for (const notExecuted of [true, 'if-single-atomic', false]) {
      for (const retryable of [true, false]) {
        for (const others of ['suspect', 'retire-if-read-only']) {
          const act = { reason: 'connection-lost', destroy: true, others, retryable, notExecuted };
          actions.set(JSON.stringify(act), act);
        }
      }
    }
    // Texts: a plain read, a single write, a locking read, a CALL, several statements, empty, unknown (undefined),
    // and a read given as a function (the final text is read lazily).
    const read = () => 'SELECT 1';
    const sqls = ['SELECT 1', 'INSERT INTO t VALUES (1)', 'SELECT GET_LOCK("l",1)', 'CALL p()', 'SELECT 1; SELECT 2', '', undefined, read];
    const cases = [];
    if (typeof orig.didNotRun === 'function') {
      for (const action of actions.values()) {
        for (const sent of [false, true]) {
          for (const sql of sqls) {
            for (const trust of [undefined, true, false]) {
              const finalSql = typeof sql === 'function' ? sql : () => sql;
              cases.push({
                input: { fn: 'didNotRun', action, sent, sql: String(sql), trustText: trust },
                run: (mod) => call(mod.didNotRun, action, sent, finalSql, trust),
                unsafe: (a, b) => b === true && a !== true,
              });
            }
          }
        }
      }
    }
    if (typeof orig.decideRetry !== 'function') return cases;
    const unsafe = (a, b) => {
      const ra = a?.retry === true;
      const rb = b?.retry === true;
      return (rb && !ra) || (a?.outcomeUnknown === true && b?.outcomeUnknown !== true);
    };
    for (const action of actions.values()) {
      for (const sent of [false, true]) {
        for (const [attempt, maxAttempts] of [[1, 3], [3, 3], [4, 3]]) {
          for (const timeLeft of [1000, 0]) {
            for (const backoff of [undefined, 251]) {
              for (const idempotent of [undefined, true, false]) {
                for (const sql of sqls) {
                  for (const retryReadsAfterSend of [undefined, true, false]) {
                    for (const serverReadOnly of [undefined, true, false]) {
                      const input = { action, sent, attempt, maxAttempts, timeLeft, backoff, idempotent, sql, retryReadsAfterSend, serverReadOnly };
                      cases.push({
                        input: { fn: 'decideRetry', ...input, sql: String(sql) },
                        run: (mod) => call(mod.decideRetry, { ...input }),
                        unsafe,
                      });
                    }
                  }
                }
              }
            }
          }
        }
      }
    }
    return cases;
  },

  transactions(orig) {
    const states = [
      { inTransaction: false, autocommitOff: false },
      { inTransaction: true, autocommitOff: false },
      { inTransaction: false, autocommitOff: true },
      { inTransaction: true, autocommitOff: true },
    ];
    // Ending a transaction or autocommit-off state the original keeps (or never noting its start).
    const lostState = (a, b) => (a.inTransaction && !b.inTransaction) || (a.autocommitOff && !b.autocommitOff);
    const cases = [];
    if (typeof orig.noteStatement === 'function') {
      for (const sql of corpus.transactions) {
        for (const arg of [sql, { sql }]) {
          for (const before of states) {
            cases.push({
              input: { fn: 'noteStatement', sql: arg, before },
              run(mod) {
                const entry = { ...before };
                return [call(mod.noteStatement, entry, arg) ?? null, entry];
              },
              unsafe: (a, b) => lostState(a[1], b[1]),
            });
          }
        }
      }
    }
    if (typeof orig.statementEffect === 'function') {
      // Safe side: 'begin' and 'autocommit-off' kept, 'end' and 'autocommit-on' not added.
      const unsafe = (a, b) =>
        (a === 'begin' && b !== 'begin') ||
        (a === 'autocommit-off' && b !== 'autocommit-off') ||
        (b === 'end' && a !== 'end') ||
        (b === 'autocommit-on' && a !== 'autocommit-on');
      for (const sql of corpus.transactions) {
        cases.push({ input: { fn: 'statementEffect', sql }, run: (mod) => call(mod.statementEffect, sql) ?? null, unsafe });
      }
    }
    const statuses = [0, 1, 2, 3, 0x20, 0x21, 0x22, 0x23, 0x4000, 0x4001, 0x4002, 0x4003, 0xffff, 0xfffe, 0xfffd, 0xfffc];
    if (typeof orig.statusOpen === 'function') {
      for (const st of statuses) {
        cases.push({ input: { fn: 'statusOpen', st }, run: (mod) => call(mod.statusOpen, st), unsafe: (a, b) => a === true && b !== true });
      }
    }
    // Replies as mysql2 hands them over: one OK (ResultSetHeader), rows only, CALL / multi-statement arrays.
    const ok = (st) => ({ fieldCount: 0, affectedRows: 0, serverStatus: st });
    const col = { name: 'serverStatus' };
    const replies = [[undefined, undefined], [null, null], [{}, undefined], [[], []], [[{ serverStatus: 2 }], [col]]];
    for (const st of statuses) {
      replies.push(
        [ok(st), undefined],
        [{ serverStatus: String(st) }, undefined],
        [[ok(st)], [undefined]],
        [[[{ a: 1 }], ok(st)], [[col], undefined]],
        [[ok(st), [{ a: 1 }]], [undefined, [col]]],
        [[ok(st), ok(2)], [undefined, undefined]],
        [[ok(2), ok(st)], [undefined, undefined]],
        [[ok(st), ok(2)], [undefined]],
        [[ok(st)], [col]],
        [[{ serverStatus: st }], [[col]]],
        [[ok(st), { serverStatus: 'x' }], [undefined, undefined]],
        [[{ serverStatus: 'x' }, ok(st)], [undefined, undefined]],
      );
    }
    if (typeof orig.leftOpen === 'function') {
      for (const [rows, fields] of replies) {
        for (const before of states) {
          cases.push({
            input: { fn: 'leftOpen', rows, fields, before },
            run: (mod) => call(mod.leftOpen, { ...before }, rows, fields),
            unsafe: (a, b) => a === true && b !== true,
          });
        }
      }
    }
    if (typeof orig.noteReply === 'function') {
      const effects = [undefined, 'begin', 'end', 'autocommit-off', 'autocommit-on'];
      for (const [rows, fields] of replies) {
        for (const before of states) {
          for (const effect of effects) {
            for (const err of [null, new Error('x')]) {
              for (const queued of [false, true]) {
                cases.push({
                  input: { fn: 'noteReply', rows, fields, before, effect, err: Boolean(err), queued },
                  run(mod) {
                    const entry = { ...before };
                    call(mod.noteReply, entry, effect, err, rows, fields, queued);
                    return entry;
                  },
                  unsafe: lostState,
                });
              }
            }
          }
        }
      }
    }
    if (typeof orig.mayHaveLeftOpen === 'function') {
      for (const sql of corpus.transactions) {
        for (const err of [{ sql }, Object.assign(new Error('x'), { sql })]) {
          cases.push({
            input: { fn: 'mayHaveLeftOpen', sql },
            run: (mod) => call(mod.mayHaveLeftOpen, err),
            unsafe: (a, b) => a === true && b !== true,
          });
        }
      }
      for (const err of [null, undefined, {}, { sql: 1 }, new Error('BEGIN')]) {
        cases.push({ input: { fn: 'mayHaveLeftOpen', err: String(err) }, run: (mod) => call(mod.mayHaveLeftOpen, err), unsafe: (a, b) => a === true && b !== true });
      }
    }
    return cases;
  },
};

// Non-ASCII escaped, so a witness with U+00A0 reads as such.
const print = (obj) =>
  process.stdout.write(
    `${JSON.stringify(obj).replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)}\n`,
  );

const probe = PROBES[moduleName];
const orig = await load(originalDir);
const cases = probe ? await probe(orig) : [];
const expected = cases.map((c) => {
  const answer = c.run(orig);
  return { answer, json: JSON.stringify(answer) };
});
for (const dir of mutatedDirs) {
  if (!cases.length) {
    print({ dir, probed: false });
    continue;
  }
  let mut;
  try {
    mut = await load(dir);
  } catch (err) {
    // The mutated module does not load: every caller would fail; nothing is retried on its answer.
    print({ dir, probed: true, dangerous: false, differs: true, loadError: String(err?.message ?? err) });
    continue;
  }
  let result = { dir, probed: true, dangerous: false, differs: false };
  for (let i = 0; i < cases.length; i++) {
    const answer = cases[i].run(mut);
    if (JSON.stringify(answer) === expected[i].json) continue;
    result.differs = true;
    if (cases[i].unsafe(expected[i].answer, answer)) {
      result = { ...result, dangerous: true, witness: { ...cases[i].input, original: expected[i].answer, mutant: answer } };
      break;
    }
  }
  print(result);
}
