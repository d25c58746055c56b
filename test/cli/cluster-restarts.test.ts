import { describe, expect, it } from 'vitest';
import type { NodeExit } from '../../src/cli/cluster-exits.js';
import { ClusterRestarts } from '../../src/cli/cluster-restarts.js';

const killed = (id: number): NodeExit => ({ id, code: null, signal: 'SIGKILL', lastLine: 'some log line' });
const failed = (id: number, lastLine: string): NodeExit => ({ id, code: 1, signal: null, lastLine });
const stopped = (id: number): NodeExit => ({ id, code: 0, signal: null, lastLine: 'stopping (SIGTERM)' });

function startedCluster(size: number): ClusterRestarts {
  const ids = Array.from({ length: size }, (_, i) => i + 1);
  const restarts = new ClusterRestarts(ids);
  for (const id of ids) restarts.started(id, 0);
  return restarts;
}

describe('ClusterRestarts: cluster start restarts failed nodes with backoff', () => {
  it('restarts a failed node after 0.5 s, doubling with each failure in a row up to 30 s', () => {
    const restarts = startedCluster(3);
    const delays: number[] = [];
    let now = 100;
    for (let i = 0; i < 9; i++) {
      const verdict = restarts.exited(failed(1, 'chorus node 1: disk write failed'), now);
      expect(verdict.kind).toBe('restart');
      if (verdict.kind === 'restart') delays.push(verdict.delayMs);
      now += 1000;
      restarts.started(1, now);
      now += 100;
    }
    expect(delays).toEqual([500, 1000, 2000, 4000, 8000, 16_000, 30_000, 30_000, 30_000]);
  });

  it('says why and when in its note', () => {
    const restarts = startedCluster(3);
    expect(restarts.exited(killed(2), 10)).toEqual({ kind: 'restart', delayMs: 500, note: 'n2 was killed by SIGKILL; restarting it in 0.5 s; 2 of 3 nodes running' });
    restarts.started(2, 600);
    expect(restarts.exited(failed(2, 'chorus node 2: EMFILE'), 700)).toMatchObject({ note: 'n2 exited with status 1: chorus node 2: EMFILE; restarting it in 1 s (failure 2 in a row); 2 of 3 nodes running' });
  });

  it('starts again from 0.5 s once a node stayed up a minute before failing', () => {
    const restarts = startedCluster(3);
    expect(restarts.exited(killed(1), 10)).toMatchObject({ delayMs: 500 });
    restarts.started(1, 600);
    expect(restarts.exited(killed(1), 700)).toMatchObject({ delayMs: 1000 });
    restarts.started(1, 2000);
    expect(restarts.exited(killed(1), 2000 + 60_000)).toMatchObject({ delayMs: 500 });
  });

  it('keeps restarting a node that fails every time while a quorum runs without it', () => {
    const restarts = startedCluster(3);
    for (let i = 0; i < 6; i++) {
      expect(restarts.exited(failed(1, 'chorus node 1: 127.0.0.1:4222 is already in use'), i * 100 + 50).kind).toBe('restart');
      restarts.started(1, (i + 1) * 100);
    }
  });

  it('waits for restarts when a quorum is down but its nodes have not failed repeatedly', () => {
    const restarts = startedCluster(3);
    expect(restarts.exited(killed(1), 10).kind).toBe('restart');
    expect(restarts.exited(killed(2), 10).kind).toBe('restart');
    expect(restarts.exited(killed(3), 10).kind).toBe('restart');
  });

  it('stops with status 1 when the nodes that fail each time they start leave fewer than a quorum', () => {
    const restarts = startedCluster(3);
    const inUse = (id: number): NodeExit => failed(id, `chorus node ${id}: 127.0.0.1:${4221 + id} is already in use`);
    let now = 0;
    for (let round = 0; round < 2; round++) {
      for (const id of [1, 2, 3]) expect(restarts.exited(inUse(id), now + 10).kind).toBe('restart');
      now += 1000;
      for (const id of [1, 2, 3]) restarts.started(id, now);
    }
    expect(restarts.exited(inUse(1), now + 10).kind).toBe('restart');
    expect(restarts.exited(inUse(2), now + 10)).toEqual({
      kind: 'stop',
      status: 1,
      note:
        'cannot keep the cluster up: n1 exited with status 1: chorus node 1: 127.0.0.1:4222 is already in use (3 times in a row); ' +
        'n2 exited with status 1: chorus node 2: 127.0.0.1:4223 is already in use (3 times in a row); 2 of 3 nodes fail again each time they start, and a quorum needs 2; stopping the rest',
    });
  });

  it('counts nodes stopped on purpose as lost for the quorum, and does not restart them', () => {
    const restarts = startedCluster(3);
    expect(restarts.exited(stopped(3), 10)).toEqual({ kind: 'carry-on', note: 'n3 stopped cleanly and is not restarted; 2 of 3 nodes still running' });
    let now = 20;
    for (let i = 0; i < 2; i++) {
      expect(restarts.exited(killed(1), now).kind).toBe('restart');
      now += 10;
      restarts.started(1, now);
    }
    expect(restarts.exited(killed(1), now + 10)).toMatchObject({ kind: 'stop', status: 1, note: expect.stringContaining('1 of 3 nodes fail again each time they start and 1 stopped on purpose') });
  });

  it('ends with status 0 when every node stopped cleanly, and 1 when one had failed and was not back', () => {
    const clean = startedCluster(3);
    expect(clean.exited(killed(1), 10).kind).toBe('restart');
    clean.started(1, 600);
    for (const id of [1, 2]) expect(clean.exited(stopped(id), 1000).kind).toBe('carry-on');
    expect(clean.exited(stopped(3), 1000)).toMatchObject({ kind: 'stop', status: 0 });

    const broken = startedCluster(3);
    expect(broken.exited(killed(1), 10).kind).toBe('restart');
    expect(broken.exited(stopped(2), 20).kind).toBe('carry-on');
    expect(broken.exited(stopped(3), 20)).toEqual({ kind: 'stop', status: 1, note: 'every node has exited; n1 was killed by SIGKILL' });
  });
});
