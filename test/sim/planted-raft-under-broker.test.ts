import { describe, expect, it } from 'vitest';
import { drawSwarm } from '../../sim/fuzz.js';
import { catchersOf, RAFT_UNDER_BROKER_HUNTS, runRaftUnderBrokerHunt } from '../support/planted-hunts.js';

// The Raft bug of Figure 8, under the correct broker, must be caught by the
// swarm draws of `chorus sim fuzz`: only the draws' leader-churn mix moves
// leaders the way it needs, so this test runs just the seeds of 1..SEEDS_MAX
// that draw it (every seed would take minutes), and the correct core must
// pass those same seeds up to the catch. `npm run mutants` runs every seed in
// order (figure-8-commit-under-broker), and first catches it at seed 39.

const SEEDS_MAX = 40;

describe('a planted Raft bug under the correct broker is caught by swarm fuzzing', () => {
  for (const hunt of RAFT_UNDER_BROKER_HUNTS) {
    it(`catches ${hunt.bug} under the broker within the leader-churn seeds of 1..${SEEDS_MAX}, and the correct core passes those seeds`, () => {
      const churnSeeds = Array.from({ length: SEEDS_MAX }, (_, i) => i + 1).filter((seed) => drawSwarm(seed).leaderChurn);
      expect(churnSeeds.length, 'seeds that draw leader churn').toBeGreaterThan(0);
      let caught: { seed: number; catchers: string[] } | undefined;
      for (const seed of churnSeeds) {
        const catchers = catchersOf(runRaftUnderBrokerHunt(hunt.bug, seed));
        if (catchers.length > 0) {
          caught = { seed, catchers };
          break;
        }
      }
      expect(caught, `${hunt.bug} was not caught in the leader-churn seeds ${churnSeeds.join(', ')}`).toBeDefined();
      expect(hunt.expected).toContain(caught!.catchers[0]);
      for (const seed of churnSeeds.filter((seed) => seed <= caught!.seed)) {
        expect(catchersOf(runRaftUnderBrokerHunt(undefined, seed)), `correct core, seed ${seed}`).toEqual([]);
      }
    });
  }
});
