/**
 * A short scenario whose unavailability bound some seeds' elections miss
 * (seeds 3 and 11 of 1..12), so that a campaign of it has failures to report,
 * merge and interrupt.
 */
export const FLAKY_SCENARIO = `name: flaky
description: A leader crash with an unavailability bound that some seeds' elections miss.
cluster: { nodes: 3 }
duration: 2s
healAt: 1500ms
workload: { publishers: 2, rate: 40 }
timeline:
  - { at: 500ms, do: crash, node: leader }
expect: { leaderWithin: 2s, progress: true, maxUnavailable: 350ms }
`;
