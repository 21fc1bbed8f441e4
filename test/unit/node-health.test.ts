import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { judge } from '../../src/node-health.js';

/** A Galera node's variables and status as SHOW GLOBAL VARIABLES/STATUS give them (names lower-cased). */
function galera(overrides: Record<string, string> = {}): Record<string, string> {
  return {
    wsrep_on: 'ON',
    wsrep_provider: '/usr/lib/galera/libgalera_smm.so',
    wsrep_reject_queries: 'NONE',
    read_only: 'OFF',
    wsrep_ready: 'ON',
    wsrep_cluster_status: 'Primary',
    wsrep_local_state: '4',
    wsrep_local_state_comment: 'Synced',
    ...overrides,
  };
}

describe('judge: a node\'s health from its variables and status', () => {
  test('a synced node in the primary component serves', () => {
    const state = judge(galera());
    assert.equal(state.health, 'up');
    assert.equal(state.readOnly, false);
    assert.deepEqual(state.galera, {
      ready: true,
      clusterStatus: 'Primary',
      localState: 4,
      localStateComment: 'Synced',
      rejectQueries: 'NONE',
    });
  });

  test('non-primary, not ready, or rejecting queries: down, with the reason', () => {
    assert.deepEqual(
      [
        judge(galera({ wsrep_cluster_status: 'non-Primary', wsrep_ready: 'OFF' })),
        judge(galera({ wsrep_cluster_status: 'Disconnected' })),
        judge(galera({ wsrep_ready: 'OFF' })),
        judge(galera({ wsrep_reject_queries: 'ALL' })),
        judge(galera({ wsrep_reject_queries: 'ALL_KILL' })),
      ].map((s) => [s.health, s.why]),
      [
        ['down', 'Galera non-Primary'],
        ['down', 'Galera Disconnected'],
        ['down', 'Galera wsrep_ready OFF'],
        ['down', 'Galera wsrep_reject_queries ALL'],
        ['down', 'Galera wsrep_reject_queries ALL_KILL'],
      ],
    );
  });

  test('a donor or a node that has not caught up serves, but only when no synced node does (degraded)', () => {
    assert.equal(judge(galera({ wsrep_local_state: '2', wsrep_local_state_comment: 'Donor/Desynced' })).health, 'degraded');
    assert.equal(judge(galera({ wsrep_local_state: '3', wsrep_local_state_comment: 'Joined' })).health, 'degraded');
    assert.equal(judge(galera({ wsrep_local_state: '2', wsrep_local_state_comment: 'Donor/Desynced' })).why, 'Galera Donor/Desynced');
  });

  test('not a Galera node: wsrep off, no provider, or no wsrep variables at all (MySQL): judged reachable', () => {
    for (const vars of [galera({ wsrep_on: 'OFF', wsrep_ready: 'OFF' }), galera({ wsrep_provider: 'none' }), { read_only: 'OFF' }, {}]) {
      const state = judge(vars);
      assert.equal(state.health, 'up');
      assert.equal(state.galera, undefined);
    }
  });

  test('read-only from read_only, super_read_only or innodb_read_only (any value but OFF/0)', () => {
    assert.equal(judge({ read_only: 'ON' }).readOnly, true);
    assert.equal(judge({ read_only: 'NO_LOCK' }).readOnly, true);
    assert.equal(judge({ read_only: 'OFF', super_read_only: 'ON' }).readOnly, true);
    assert.equal(judge({ innodb_read_only: '1' }).readOnly, true);
    assert.equal(judge({ read_only: '0', super_read_only: 'OFF', innodb_read_only: 'OFF' }).readOnly, false);
  });
});
