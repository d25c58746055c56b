import { describe, expect, it } from 'vitest';
import { neverExercised, runCoverage, sumCoverage, type RunCoverage } from '../../sim/coverage.js';
import { runSimulation } from '../../sim/run.js';

// What runs exercised, counted: each fault kind by how often it fired, and a
// campaign's runs summed, with what none of them reached named.

describe('coverage of faults and workload paths', () => {
  it('counts a fault only when it fires: crash-leader with no leader to crash does nothing', () => {
    const result = runSimulation({
      seed: 3,
      nodes: 3,
      durationMs: 3000,
      faults: [
        // At 1 ms no leader has been elected yet.
        { atMs: 1, action: { kind: 'crash-leader' } },
        { atMs: 1500, action: { kind: 'crash-leader' } },
        { atMs: 1600, action: { kind: 'slow-client', client: 'p1', forMs: 100 } },
        { atMs: 1700, action: { kind: 'restart', node: 1 } },
      ],
    });
    expect(result.faultsFired).toEqual({ 'crash-leader': 1, restart: 1 });
    // A Raft-only run has no clients for a slow-client fault, and no workload paths.
    expect(runCoverage(result).paths).toBeUndefined();
  });

  it('sums runs: in how many runs and how many times in all, and names what no run exercised', () => {
    const a: RunCoverage = { judged: { 'Election Safety': 2 }, faultsFired: { crash: 3 }, paths: { 'late deliveries': 1 } };
    const b: RunCoverage = { judged: { 'Election Safety': 5, 'Log Matching': 7 }, faultsFired: { crash: 1, 'slow-client': 2 }, paths: { 'late deliveries': 0 } };
    const sum = sumCoverage([a, b, undefined]);
    expect(sum.runs).toBe(3);
    expect(sum.judged.get('Election Safety')).toEqual({ runs: 2, total: 7 });
    expect(sum.judged.get('Log Matching')).toEqual({ runs: 1, total: 7 });
    expect(sum.faultsFired.get('crash')).toEqual({ runs: 2, total: 4 });
    expect(sum.faultsFired.get('slow-client')).toEqual({ runs: 1, total: 2 });
    expect(sum.paths.get('late deliveries')).toEqual({ runs: 1, total: 1 });
    const never = neverExercised(sum);
    expect(never.properties).toContain('Leader Completeness');
    expect(never.properties).not.toContain('Election Safety');
    expect(never.faultKinds).toContain('wipe');
    expect(never.faultKinds).not.toContain('crash');
    expect(never.paths).toEqual(['slow-consumer cuts', 'paced history reads']);
  });
});
