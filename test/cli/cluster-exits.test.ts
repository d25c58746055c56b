import { describe, expect, it } from 'vitest';
import { judgeNodeExit, type NodeExit } from '../../src/cli/cluster-exits.js';

const killed = (id: number): NodeExit => ({ id, code: null, signal: 'SIGKILL', lastLine: 'some log line' });
const failed = (id: number, lastLine: string): NodeExit => ({ id, code: 1, signal: null, lastLine });
const stopped = (id: number): NodeExit => ({ id, code: 0, signal: null, lastLine: 'stopping (SIGTERM)' });

describe('judgeNodeExit: what cluster start does when a node exits', () => {
  it('carries on while a quorum still runs', () => {
    const exits = [killed(1), failed(2, 'chorus node 2: disk full')];
    expect(judgeNodeExit(5, 3, exits, exits[1]!)).toEqual({
      kind: 'carry-on',
      note: 'n2 exited with status 1: chorus node 2: disk full; 3 of 5 nodes still running, a quorum: the cluster still serves',
    });
  });

  it('stops with status 1 below a quorum, naming every failure', () => {
    const exits = [killed(1), killed(2), failed(3, 'chorus node 3: disk full')];
    expect(judgeNodeExit(5, 2, exits, exits[2]!)).toEqual({
      kind: 'stop',
      status: 1,
      note: 'cannot keep the cluster up: n1 was killed by SIGKILL; n2 was killed by SIGKILL; n3 exited with status 1: chorus node 3: disk full; 2 of 5 nodes left, fewer than the 3 a quorum needs; stopping the rest',
    });
  });

  it('stops with status 1 when the only node of a one-node cluster fails', () => {
    expect(judgeNodeExit(1, 0, [killed(1)], killed(1))).toMatchObject({ kind: 'stop', status: 1 });
  });

  it('does not count clean stops as failures, and ends with status 0 when every node stopped cleanly', () => {
    expect(judgeNodeExit(3, 1, [stopped(1), stopped(2)], stopped(2))).toEqual({ kind: 'carry-on', note: 'n2 stopped cleanly; 1 of 3 nodes still running' });
    expect(judgeNodeExit(3, 0, [stopped(1), stopped(2), stopped(3)], stopped(3))).toMatchObject({ kind: 'stop', status: 0 });
  });

  it('ends with status 1 when every node has exited and one of them failed', () => {
    const exits = [killed(1), stopped(2), stopped(3)];
    expect(judgeNodeExit(3, 0, exits, exits[2]!)).toEqual({ kind: 'stop', status: 1, note: 'cannot keep the cluster up: every node has exited; n1 was killed by SIGKILL' });
  });
});
