import { describe, expect, it } from 'vitest';
import { drawSwarm, fuzzSeed, scenarioYaml, swarmRunOptions, firstProblem } from '../../sim/fuzz.js';
import { runSimulation } from '../../sim/run.js';
import { parseScenario, scenarioRunOptions } from '../../sim/scenario.js';
import { EVERY_FAULT_KIND } from '../../sim/faults.js';
import { plantedBrokerFactory } from '../support/planted-broker-bugs.js';

// Swarm fuzzing draws a different mix per seed; on a planted bug it finds a
// failing schedule, shrinks it, and writes a scenario that still fails.

const plants = { broker: { createBroker: plantedBrokerFactory('ack-before-commit') } };

describe('swarm fuzzing', () => {
  it('draws its own mix of fault kinds per seed, reproducibly', () => {
    const draws = [1, 2, 3, 4, 5].map(drawSwarm);
    expect(new Set(draws.map((draw) => draw.kinds.join(','))).size).toBeGreaterThan(1);
    for (const draw of draws) for (const kind of draw.kinds) expect(EVERY_FAULT_KIND).toContain(kind);
    expect(drawSwarm(3)).toEqual(drawSwarm(3));
  });

  it('passes the correct broker on a range of seeds', () => {
    for (let seed = 1; seed <= 10; seed++) expect(fuzzSeed(seed), `seed ${seed}`).toBeUndefined();
  });

  it('catches a node whose hybrid clock does not take in the stamps it applies (Clock Covers Applied) within 10 seeds, which the correct broker passes', () => {
    const forgetful = { broker: { createBroker: plantedBrokerFactory('forget-applied-stamps') } };
    let caught: { seed: number; problem: string } | undefined;
    for (let seed = 1; seed <= 10 && caught === undefined; seed++) {
      const finding = fuzzSeed(seed, forgetful, 0);
      if (finding !== undefined) caught = { seed, problem: finding.problem };
    }
    expect(caught, 'not caught in seeds 1..10').toBeDefined();
    expect(caught!.problem).toMatch(/^Clock Covers Applied: n\d+ applied a message stamped \d+\.\d+ at index \d+, and its hybrid clock reads/);
    for (let seed = 1; seed <= caught!.seed; seed++) expect(fuzzSeed(seed, {}, 0), `seed ${seed}`).toBeUndefined();
  });

  it('shrinks a failing schedule to a smaller one that still fails, and writes it as a scenario that fails the same way', () => {
    let finding;
    for (let seed = 1; seed <= 20 && finding === undefined; seed++) {
      const candidate = fuzzSeed(seed, plants, 60);
      if (candidate !== undefined && candidate.draw.faults.length >= 4) finding = candidate;
    }
    expect(finding, 'no seed with a few faults failed on the planted bug').toBeDefined();
    const { draw, shrunk } = finding!;
    expect(shrunk.faults.length).toBeLessThan(draw.faults.length);
    expect(firstProblem(runSimulation(swarmRunOptions(draw, shrunk.faults, plants)))).toBeDefined();
    const scenario = parseScenario(scenarioYaml(`fuzz-${draw.seed}`, 'found by the test', draw, shrunk.faults), 'found.yaml');
    expect(scenario.timeline).toEqual(shrunk.faults);
    const options = scenarioRunOptions(scenario, draw.seed);
    const replayed = runSimulation({ ...options, cluster: { ...options.cluster, broker: plants.broker } });
    expect(firstProblem(replayed)).toBeDefined();
  });
});
