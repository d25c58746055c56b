import { describe, expect, it } from 'vitest';
import { SAFETY_PROPERTIES } from '../../sim/checker.js';
import { runSimulation } from '../../sim/run.js';
import { formatSummary } from '../../sim/summary.js';

// A clean run proves nothing about a property it never gave the checker
// anything to judge: each run counts, per property, how often it judged
// something, and its summary names the ones it never did.

describe('checker coverage', () => {
  it('counts what each property judged, and names the broker-only ones a Raft run never judges', () => {
    const result = runSimulation({ seed: 5, nodes: 3, durationMs: 4000, workload: 'raft' });
    expect(Object.keys(result.judged).sort()).toEqual([...SAFETY_PROPERTIES].sort());
    for (const property of ['Election Safety', 'Log Matching', 'Commit Monotonic', 'Apply Order', 'Single Vote Per Term', 'Durable Before Send', 'Storage Recovery', 'Election Quorum', 'Match Within Shared Log', 'Leadership'] as const) {
      expect(result.judged[property], property).toBeGreaterThan(0);
    }
    expect([result.judged['Timestamp Bound'], result.judged['Clock Covers Applied']]).toEqual([0, 0]);
    expect(formatSummary(result, 'replay')).toMatch(/coverage +14 of 16 safety properties had something to judge; never: Timestamp Bound, Clock Covers Applied/);
  });

  it('judges every property in a broker run', () => {
    const result = runSimulation({ seed: 5, nodes: 3, durationMs: 6000, workload: 'broker' });
    expect(SAFETY_PROPERTIES.filter((property) => result.judged[property] === 0)).toEqual([]);
    expect(formatSummary(result, 'replay')).toMatch(/coverage +16 of 16 safety properties had something to judge\n/);
  });
});
