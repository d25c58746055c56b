import { describe, expect, it } from 'vitest';
import { BROKER_HUNTS, catchersOf, runBrokerHunt } from '../support/planted-hunts.js';

// The broker bugs planted for the history properties Unpublished Message,
// Consumer Ack and Timestamp Order's whole stamps: swarm fuzzing (the very
// runs of `chorus sim fuzz`) must catch each within a few seeds, with the
// property it was planted for among what the failing run reports, and the
// correct broker must pass those seeds.

const SEEDS_MAX = 10;
const HUNTED = ['truncate-payload', 'ack-next-offset', 'ack-stamp-without-counter'];

describe('planted broker bugs are caught by swarm fuzzing', () => {
  for (const hunt of BROKER_HUNTS.filter((candidate) => HUNTED.includes(candidate.bug))) {
    it(`catches ${hunt.bug} (${hunt.expected[0]}) within ${SEEDS_MAX} seeds, and the correct broker passes those seeds`, () => {
      let caught: { seed: number; catchers: string[] } | undefined;
      for (let seed = 1; seed <= SEEDS_MAX && caught === undefined; seed++) {
        const catchers = catchersOf(runBrokerHunt(hunt.bug, seed));
        if (catchers.length > 0) caught = { seed, catchers };
      }
      expect(caught, `${hunt.bug} was not caught in seeds 1..${SEEDS_MAX}`).toBeDefined();
      expect(hunt.expected).toContain(caught!.catchers[0]);
      expect(caught!.catchers).toContain(hunt.expected[0]);
      for (let seed = 1; seed <= caught!.seed; seed++) expect(catchersOf(runBrokerHunt(undefined, seed)), `correct broker, seed ${seed}`).toEqual([]);
    });
  }
});
