import { describe, expect, it } from 'vitest';
import { SimCluster } from '../../sim/cluster.js';

// Offsets estimated from the clock stamps every peer message carries, in a
// simulated broker cluster whose clocks are set apart: every node measures
// every other (followers too, which Raft keeps silent to each other), each
// estimate within half its round trip of the true offset (plus a millisecond,
// as stamps carry whole milliseconds).

describe('clock offset estimates in the simulator', () => {
  it('every node measures every peer within half the round trip of the true offset', () => {
    const offsets = [0, 250, -120, 40, -300];
    const cluster = new SimCluster({ nodes: 5, seed: 11, broker: {}, network: { delayMinMs: 0.5, delayMeanMs: 3 } });
    offsets.forEach((offsetMs, i) => cluster.setClock(i + 1, { offsetMs }));
    cluster.runFor(5000);
    for (let id = 1; id <= 5; id++) {
      const estimates = cluster.broker(id)!.clockEstimates();
      expect(estimates.map((estimate) => estimate.node)).toEqual([1, 2, 3, 4, 5].filter((peer) => peer !== id));
      for (const estimate of estimates) {
        const trueOffset = offsets[estimate.node - 1]! - offsets[id - 1]!;
        expect(Math.abs(estimate.offsetMs - trueOffset), `n${id} about n${estimate.node}`).toBeLessThanOrEqual(estimate.roundTripMs / 2 + 1);
        expect(estimate.roundTripMs).toBeLessThan(100);
      }
    }
    expect(cluster.violations()).toEqual([]);
  });
});
