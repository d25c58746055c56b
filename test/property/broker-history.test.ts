import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatViolation } from '../../sim/checker.js';
import { describeFault } from '../../sim/faults.js';
import { formatHistoryViolation } from '../../sim/history-checker.js';
import { runSimulation } from '../../sim/run.js';
import { scheduleArbitrary } from '../support/fault-arbitraries.js';

// The broker through the same random fault schedules as the Raft core:
// publishers retry across leader changes with their message ids, subscribers
// of every kind reconnect, and the client history must pass every check of the
// history checker, besides Raft's safety and liveness.
//
// A failure names its replay: CHORUS_PROPERTY_SEED=<seed> npx vitest run test/property/broker-history.test.ts

const FAULTS_UNTIL_MS = 8000;
const DURATION_MS = 12_000;
const FIXED_SEED = 20261127;

function parameters(): fc.Parameters<unknown> {
  const seed = process.env['CHORUS_PROPERTY_SEED'];
  if (seed === 'random') return {};
  return { seed: seed === undefined ? FIXED_SEED : Number(seed) };
}

function checkBroker(nodes: number, numRuns: number): string | undefined {
  const property = fc.property(fc.integer({ min: 0, max: 2 ** 31 - 1 }), scheduleArbitrary(nodes, FAULTS_UNTIL_MS), (seed, faults) => {
    const result = runSimulation({ seed, nodes, durationMs: DURATION_MS, faultFraction: FAULTS_UNTIL_MS / DURATION_MS, faults, workload: 'broker' });
    const problems = [
      ...result.violations.slice(0, 3).map(formatViolation),
      ...result.liveness.problems,
      ...(result.broker?.violations ?? []).slice(0, 5).map(formatHistoryViolation),
    ];
    if (problems.length > 0) {
      const schedule = faults.map((fault) => `  ${fault.atMs}ms ${describeFault(fault.action)} ${JSON.stringify(fault.action)}`).join('\n');
      throw new Error(`seed ${seed}, ${faults.length} faults:\n${schedule}\n${problems.join('\n')}`);
    }
  });
  const details = fc.check(property, { numRuns, ...parameters() });
  if (!details.failed) return undefined;
  const cause = details.errorInstance instanceof Error ? details.errorInstance.message : String(details.errorInstance);
  return `${cause}\nreplay: CHORUS_PROPERTY_SEED=${details.seed} npx vitest run test/property/broker-history.test.ts`;
}

describe('the broker keeps its promises to clients under random fault schedules (property)', () => {
  it('holds on 3 nodes', () => expect(checkBroker(3, 30)).toBeUndefined(), 120_000);
  it('holds on 5 nodes', () => expect(checkBroker(5, 20)).toBeUndefined(), 120_000);
});
