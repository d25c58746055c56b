// Fuzzing as a quick detection pass: --stop-at-first ends a campaign at its
// first failing run, and --no-shrink keeps a failing seed's whole schedule.

import { describe, expect, it } from 'vitest';
import { runCampaign } from '../../src/cli/campaign-runner.js';
import { runCommand } from '../../src/cli/cli.js';
import type { CliIo } from '../../src/cli/io.js';
import { drawSwarm, fuzzSeed } from '../../sim/fuzz.js';
import { plantedBrokerFactory } from '../support/planted-broker-bugs.js';

function quietIo(): { io: CliIo; out: string[]; err: string[] } {
  const out: string[] = [];
  const err: string[] = [];
  let now = 0;
  return { io: { out: (line) => out.push(line), err: (line) => err.push(line), progress: () => undefined, wallMs: () => (now += 10) }, out, err };
}

describe('sim fuzz as a detection pass', () => {
  it('stops a campaign at the first failing run when asked, and runs every job when not', async () => {
    const jobs = [1, 2, 3, 4, 5, 6].map((seed) => ({ kind: 'fuzz' as const, seed, shrink: true }));
    const runHere = (job: { seed: number }): { seed: number; passed: boolean } => ({ seed: job.seed, passed: job.seed !== 3 });
    const fromWorker = (): never => {
      throw new Error('no worker threads with one worker');
    };
    const stopped = await runCampaign(quietIo().io, { what: 'test', unit: 'seeds' }, { jobs, workers: 1, runHere, fromWorker, stopAtFirst: true });
    expect(stopped.results.map((result) => result.seed)).toEqual([1, 2, 3]);
    expect([stopped.stoppedAtFailure, stopped.interrupted]).toEqual([true, false]);
    const whole = await runCampaign(quietIo().io, { what: 'test', unit: 'seeds' }, { jobs, workers: 1, runHere, fromWorker });
    expect(whole.results).toHaveLength(6);
    expect([whole.stoppedAtFailure, whole.interrupted]).toEqual([false, false]);
  });

  it('keeps the whole schedule of a failing seed without shrinking', () => {
    const plants = { broker: { createBroker: plantedBrokerFactory('ack-before-commit') } };
    let seed = 1;
    let finding = fuzzSeed(seed, plants, 0);
    while (finding === undefined && seed < 10) finding = fuzzSeed(++seed, plants, 0);
    expect(finding, 'the planted bug was not caught in seeds 1..10').toBeDefined();
    expect(finding!.shrunk.faults).toEqual(drawSwarm(seed).faults);
    expect(finding!.shrunk.runs).toBe(0);
  });

  it('takes --no-shrink and --stop-at-first on the command line, and lists them in its help', async () => {
    const { io, out } = quietIo();
    expect(await runCommand(['sim', 'fuzz', '--seeds', '1..2', '--workers', '1', '--no-shrink', '--stop-at-first'], io)).toBe(0);
    expect(out.at(-1)).toMatch(/^2 seeds fuzzed in .* no failures$/);
    const help = quietIo();
    expect(await runCommand(['sim', 'fuzz', '--help'], help.io)).toBe(0);
    expect(help.out.join('\n')).toMatch(/--no-shrink[\s\S]*--stop-at-first/);
  });
});
