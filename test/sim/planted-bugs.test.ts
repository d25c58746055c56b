import { describe, expect, it } from 'vitest';
import type { SimRunOptions } from '../../sim/run.js';
import { RAFT_HUNTS, runRaftHunt, type Catcher, type RaftHunt } from '../support/planted-hunts.js';

type NodeFactory = NonNullable<NonNullable<SimRunOptions['cluster']>['createNode']>;

// Each planted bug breaks one Raft rule. The simulator's checkers must catch it
// within a bounded number of seeds of a fault mix that exercises that rule, and
// the correct core must pass exactly those seeds: the checkers catch the bug, not
// the fault mix.

const SEEDS_MAX = 30;

function firstCaughtSeed(hunt: RaftHunt): { seed: number; property: Catcher } | undefined {
  for (let seed = 1; seed <= SEEDS_MAX; seed++) {
    const caught = runRaftHunt(hunt, seed).violations[0]?.property;
    if (caught !== undefined) return { seed, property: caught };
  }
  return undefined;
}

describe('planted bugs are caught by the checkers (simulator)', () => {
  // never-commit is safe: the liveness test (liveness.test.ts) holds it to its own account.
  for (const hunt of RAFT_HUNTS.filter((candidate) => candidate.bug !== 'never-commit')) {
    it(`catches ${hunt.bug} within ${SEEDS_MAX} seeds, and the correct core passes those seeds`, () => {
      const caught = firstCaughtSeed(hunt);
      expect(caught, `${hunt.bug} was not caught in seeds 1..${SEEDS_MAX}`).toBeDefined();
      expect(hunt.expected).toContain(caught!.property);
      const correctCores: { name: string; createNode: NodeFactory | undefined }[] = [{ name: 'correct core', createNode: undefined }];
      if (hunt.baseline !== undefined) correctCores.push({ name: "correct core with the paper's heartbeats", createNode: hunt.baseline });
      for (const core of correctCores) {
        for (let seed = 1; seed <= caught!.seed; seed++) {
          const result = runRaftHunt(hunt, seed, core);
          expect(result.violations, `${core.name}, seed ${seed}`).toEqual([]);
          expect(result.liveness.problems, `${core.name}, seed ${seed}`).toEqual([]);
        }
      }
    });
  }
});
