import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatViolation } from '../../sim/checker.js';
import { describeFault } from '../../sim/faults.js';
import { runSimulation, type SimRunResult } from '../../sim/run.js';
import type { SimClusterOptions } from '../../sim/cluster.js';
import { plantedNodeFactory } from '../support/planted-bugs.js';
import { scheduleArbitrary } from '../support/fault-arbitraries.js';

// Raft's safety properties (Figure 3) must hold under any schedule of crashes,
// restarts, partitions (one-way too), loss, duplication and long delays; and once
// everything heals, the cluster must elect a leader and apply every committed entry
// everywhere. fast-check draws the schedules and shrinks a failing one.
//
// A failure names the command that replays it, for example:
//   CHORUS_PROPERTY_NODES=5 CHORUS_PROPERTY_SEED=<seed> \
//     npx vitest run test/property/raft-safety.test.ts -t 'holds on 5 nodes'
// It reruns the same schedules up to the failing one, which the report prints
// in full. (CHORUS_PROPERTY_PATH=<path> jumps straight to a shrunk case.)

const FAULTS_UNTIL_MS = 8000;
const DURATION_MS = 12_000;

function describeFailure(result: SimRunResult): string {
  const lines = result.violations.slice(0, 5).map(formatViolation);
  lines.push(...result.liveness.problems);
  return lines.join('\n');
}

/**
 * The suite runs a fixed seed, so a run of `npm test` is reproducible like every
 * other run of chorus; CHORUS_PROPERTY_SEED=random explores new schedules, and a
 * replay applies only to the cluster size it was recorded on.
 */
const FIXED_SEED = 20261126;

function replayParameters(nodes: number): fc.Parameters<unknown> {
  const seed = process.env['CHORUS_PROPERTY_SEED'];
  if (seed === 'random') return {};
  if (seed === undefined || process.env['CHORUS_PROPERTY_NODES'] !== String(nodes)) return { seed: FIXED_SEED + nodes };
  const path = process.env['CHORUS_PROPERTY_PATH'];
  return path === undefined || path === '' ? { seed: Number(seed) } : { seed: Number(seed), path, endOnFailure: true };
}

/** Runs the property; returns the failure report with its replay command, or undefined when it holds. */
function checkCluster(nodes: number, numRuns: number, createNode?: SimClusterOptions['createNode']): string | undefined {
  const property = fc.property(fc.integer({ min: 0, max: 2 ** 31 - 1 }), scheduleArbitrary(nodes, FAULTS_UNTIL_MS), (seed, faults) => {
    const result = runSimulation({
      seed,
      nodes,
      durationMs: DURATION_MS,
      faultFraction: FAULTS_UNTIL_MS / DURATION_MS,
      faults,
      proposalsPerSecond: 100,
      cluster: createNode === undefined ? {} : { createNode },
    });
    if (result.violations.length > 0 || result.liveness.problems.length > 0) {
      // Exact JSON, not the rounded descriptions, so the schedule can be rerun as it was.
      const schedule = faults.map((fault) => `  ${fault.atMs}ms ${describeFault(fault.action)} ${JSON.stringify(fault.action)}`).join('\n');
      throw new Error(`seed ${seed}, ${faults.length} faults:\n${schedule}\n${describeFailure(result)}`);
    }
  });
  const details = fc.check(property, { numRuns, ...replayParameters(nodes) });
  if (!details.failed) return undefined;
  const replay =
    `CHORUS_PROPERTY_NODES=${nodes} CHORUS_PROPERTY_SEED=${details.seed} ` +
    `npx vitest run test/property/raft-safety.test.ts -t 'holds on ${nodes} nodes'`;
  const cause = details.errorInstance instanceof Error ? details.errorInstance.message : String(details.errorInstance);
  return `${nodes}-node cluster failed after ${details.numRuns} runs (shrunk ${details.numShrinks} times)\n${cause}\nreplay: ${replay}`;
}

describe('Raft safety and liveness under random fault schedules (property)', () => {
  it('holds on 3 nodes', () => expect(checkCluster(3, 100)).toBeUndefined());
  it('holds on 5 nodes', () => expect(checkCluster(5, 60)).toBeUndefined());
  it('holds on 7 nodes', () => expect(checkCluster(7, 30)).toBeUndefined());

  it('fails on a planted bug, shrinks the schedule and names the replay command', () => {
    // A core that never commits fails every schedule, so shrinking must reach the
    // empty one.
    const report = checkCluster(3, 20, plantedNodeFactory('never-commit'));
    expect(report).toBeDefined();
    expect(report).toContain(', 0 faults:');
    expect(report).toMatch(/replay: CHORUS_PROPERTY_NODES=3 CHORUS_PROPERTY_SEED=-?\d+ npx vitest run/);
  });
});
