import { describe, expect, it } from 'vitest';
import { checkHistory } from '../../sim/history-checker.js';
import { historyFromJSON } from '../../sim/history.js';
import { runSimulation, type SimRunOptions } from '../../sim/run.js';
import { plantedBrokerFactory } from '../support/planted-broker-bugs.js';

// The broker core in the simulator, with simulated clients over the wire
// protocol, through random faults: the history checker passes the correct
// core and catches a planted broker bug.

const RUN: Partial<SimRunOptions> = { workload: 'broker', durationMs: 15_000 };

describe('broker runs in the simulator', () => {
  it('pass every client-history check on fixed seeds, with real work done', () => {
    for (const seed of [1, 2, 3]) {
      const result = runSimulation({ ...RUN, seed });
      expect(result.violations, `seed ${seed}`).toEqual([]);
      expect(result.liveness.problems, `seed ${seed}`).toEqual([]);
      expect(result.broker!.violations, `seed ${seed}`).toEqual([]);
      expect(result.broker!.stats.published, `seed ${seed}`).toBeGreaterThan(200);
      expect(result.broker!.stats.delivered, `seed ${seed}`).toBeGreaterThan(200);
      expect(result.broker!.history.events.some((event) => event.kind === 'ack-ok'), `seed ${seed}`).toBe(true);
      expect(result.broker!.history.events.some((event) => event.kind === 'history-read-ok'), `seed ${seed}`).toBe(true);
    }
  });

  it('replay bit for bit: the same seed gives the same trace and the same history', () => {
    const first = runSimulation({ ...RUN, seed: 7, durationMs: 8000 });
    const second = runSimulation({ ...RUN, seed: 7, durationMs: 8000 });
    expect(second.traceHash).toBe(first.traceHash);
    expect(JSON.stringify(second.broker!.history)).toBe(JSON.stringify(first.broker!.history));
    expect(runSimulation({ ...RUN, seed: 8, durationMs: 8000 }).traceHash).not.toBe(first.traceHash);
  });

  it('write a history that reads back and checks the same', () => {
    const result = runSimulation({ ...RUN, seed: 4, durationMs: 8000 });
    const history = result.broker!.history;
    const text = JSON.stringify(history);
    expect(checkHistory(historyFromJSON(text))).toEqual([]);
  });

  it('catch a broker that acknowledges before commit within 5 seeds, while the correct core passes those seeds', () => {
    let caught: number | undefined;
    for (let seed = 1; seed <= 5 && caught === undefined; seed++) {
      const result = runSimulation({ ...RUN, seed, cluster: { broker: { createBroker: plantedBrokerFactory('ack-before-commit') } } });
      if (result.broker!.violations.some((violation) => violation.property === 'Acknowledged Publish Lost')) caught = seed;
    }
    expect(caught).toBeDefined();
    for (let seed = 1; seed <= caught!; seed++) expect(runSimulation({ ...RUN, seed }).broker!.violations).toEqual([]);
  });

  it('catch a node whose hybrid clock runs ahead of every physical clock (Timestamp Bound), while the correct core passes', () => {
    const calm: Partial<SimRunOptions> = { ...RUN, seed: 1, durationMs: 3000, faultKinds: [] };
    const planted = runSimulation({ ...calm, cluster: { broker: { createBroker: plantedBrokerFactory('clock-ahead') } } });
    expect(planted.violations.map((violation) => violation.property)).toContain('Timestamp Bound');
    expect(planted.violations.find((violation) => violation.property === 'Timestamp Bound')?.detail).toMatch(/hybrid logical clock reads \d+ ms ahead of true time/);
    expect(runSimulation(calm).violations).toEqual([]);
  });
});
