import { describe, expect, it } from 'vitest';
import { REAL_MODE_TIMING, SIM_DEFAULT_TIMING, type ClusterTiming } from '../../sim/cluster.js';
import { measureUnderLongReordering, type AvailabilityFigures } from '../support/long-delays.js';

// Long reordering, as an external Raft test suite runs it: two thirds of the
// messages held back 200 to 2,200 ms. With the simulator's default timing an
// election's round trip is far longer than the election timeout (150 to
// 300 ms). Without the core's election backoff, candidates give up just
// before their votes come back and the cluster keeps a leader a few percent
// of the time; with it, the timeout stretches until elections complete.
// Real mode's timing (elections after 1 to 2 s) copes either way.

const SEEDS = [1, 2, 3, 4, 5];
const DURATION_MS = 60_000;

function measure(timing: ClusterTiming): AvailabilityFigures[] {
  return SEEDS.map((seed) => measureUnderLongReordering(seed, timing, DURATION_MS));
}

function withBackoffMax(timing: ClusterTiming, electionBackoffMax: number): ClusterTiming & { raft: { electionBackoffMax: number } } {
  return { ...timing, raft: { ...timing.raft, electionBackoffMax } };
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

function describeFigures(name: string, figures: readonly AvailabilityFigures[]): string {
  const cells = figures.map((f, i) => `seed ${SEEDS[i]}: leader ${(f.leaderShare * 100).toFixed(0)}%, ${f.commandsCommitted}/${f.proposals} committed`);
  return `${name}: ${cells.join('; ')}`;
}

describe('long reordering (two thirds of messages held back 200-2,200 ms)', () => {
  it('default timing without election backoff: hardly ever a leader', () => {
    const figures = measure(withBackoffMax(SIM_DEFAULT_TIMING, 0));
    console.log(describeFigures('default timing, no backoff', figures));
    expect(median(figures.map((f) => f.leaderShare))).toBeLessThan(0.1);
    expect(figures.filter((f) => f.commandsCommitted === 0).length).toBeGreaterThanOrEqual(3);
    expect(figures.flatMap((f) => f.violations)).toEqual([0, 0, 0, 0, 0]);
  });

  it('default timing with the election backoff: a leader most of the time, and commits on every seed', () => {
    const figures = measure(SIM_DEFAULT_TIMING);
    console.log(describeFigures('default timing', figures));
    expect(median(figures.map((f) => f.leaderShare))).toBeGreaterThan(0.6);
    for (const f of figures) expect(f.commandsCommitted).toBeGreaterThan(f.proposals / 4);
    expect(figures.flatMap((f) => f.violations)).toEqual([0, 0, 0, 0, 0]);
  });

  it('real-mode timing: a leader most of the time', () => {
    const figures = measure(REAL_MODE_TIMING);
    console.log(describeFigures('real-mode timing', figures));
    for (const f of figures) expect(f.leaderShare).toBeGreaterThan(0.6);
    for (const f of figures) expect(f.commandsCommitted).toBeGreaterThan(f.proposals / 2);
    expect(figures.flatMap((f) => f.violations)).toEqual([0, 0, 0, 0, 0]);
  });
});
