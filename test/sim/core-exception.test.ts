import { describe, expect, it } from 'vitest';
import { firstProblem } from '../../sim/fuzz.js';
import { runPassed, runSimulation } from '../../sim/run.js';
import { formatSummary } from '../../sim/summary.js';
import { InvariantError } from '../../src/raft/assert.js';
import type { RaftConfig } from '../../src/raft/config.js';
import { RaftNode } from '../../src/raft/node.js';
import type { DurableState } from '../../src/raft/types.js';

// A core that throws ends its run as a failure, with the exception, where
// the run was, the seed and the replay line: the simulator itself (and a
// sweep of many runs) goes on.

/** A correct core until its node 2 has ticked 300 times, then an invariant fails. */
class ThrowsAfterAWhile extends RaftNode {
  private ticks = 0;

  override tick(): void {
    if (this.id === 2 && ++this.ticks > 300) throw new InvariantError('planted: an invariant fails in the middle of a run');
    super.tick();
  }
}

describe('a core that throws', () => {
  it('fails its run with the exception, and the simulator returns a result', () => {
    const createNode = (config: RaftConfig, restored: DurableState): RaftNode => new ThrowsAfterAWhile(config, restored);
    const result = runSimulation({ seed: 3, nodes: 3, durationMs: 8000, workload: 'raft', cluster: { createNode } });
    expect(result.exception).toMatch(/^InvariantError: planted: an invariant fails in the middle of a run \(at \d+\.\d{3}s simulated; at /);
    expect(runPassed(result)).toBe(false);
    expect(firstProblem(result)).toMatch(/^exception: InvariantError: planted/);
    const summary = formatSummary(result, 'npx chorus sim run --seed 3 --nodes 3 --duration 8s --workload raft');
    expect(summary).toMatch(/exception +the run stopped: InvariantError: planted/);
    expect(summary).toMatch(/result +FAIL/);
    expect(summary).toContain('replay     npx chorus sim run --seed 3');
  });

  it('leaves a correct run without an exception', () => {
    const result = runSimulation({ seed: 3, nodes: 3, durationMs: 4000, workload: 'raft' });
    expect(result.exception).toBeUndefined();
    expect(runPassed(result)).toBe(true);
  });
});
