import { describe, expect, it } from 'vitest';
import { SAFETY_PROPERTIES } from '../../sim/checker.js';
import { neverExercised, runCoverage, sumCoverage } from '../../sim/coverage.js';
import { HISTORY_PROPERTIES } from '../../sim/history-checker.js';
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

  it('judges every property in a broker run, and every history property but Retention when nothing is ever removed', () => {
    const result = runSimulation({ seed: 5, nodes: 3, durationMs: 6000, workload: 'broker' });
    expect(SAFETY_PROPERTIES.filter((property) => result.judged[property] === 0)).toEqual([]);
    const judged = result.broker!.judged;
    expect(Object.keys(judged).sort()).toEqual([...HISTORY_PROPERTIES].sort());
    expect(HISTORY_PROPERTIES.filter((property) => judged[property] === 0)).toEqual(['Retention']);
    // Every delivery is judged for its content, its order and against repeats.
    expect(judged['Delivery Mismatch']).toBe(result.broker!.stats.delivered);
    const summary = formatSummary(result, 'replay');
    expect(summary).toMatch(/coverage +16 of 16 safety properties had something to judge\n/);
    expect(summary).toMatch(/18 of 19 history properties had something to judge; never: Retention\n/);
    // A campaign names the history properties none of its broker runs judged, and a Raft-only campaign names none.
    const raft = runSimulation({ seed: 5, nodes: 3, durationMs: 2000, workload: 'raft' });
    expect(neverExercised(sumCoverage([runCoverage(result)])).historyProperties).toEqual(['Retention']);
    expect(neverExercised(sumCoverage([runCoverage(raft)])).historyProperties).toEqual([]);
    expect(neverExercised(sumCoverage([runCoverage(raft), runCoverage(result)])).historyProperties).toEqual(['Retention']);
  });
});
