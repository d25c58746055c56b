// Campaigns split across machines: `sim sweep` and `sim fuzz` with --shard K/N
// and --json, joined by `sim merge`. The merged output must be exactly what
// one machine running the whole campaign prints, and merge must refuse parts
// that do not make up one campaign.

import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runCommand } from '../../src/cli/cli.js';
import type { CliIo } from '../../src/cli/io.js';
import type { CampaignPart } from '../../src/cli/campaign-part.js';
import { parseShard, shardOfSeed, shardSeeds } from '../../src/cli/shard.js';
import { FLAKY_SCENARIO } from '../support/flaky-scenario.js';

interface Ran {
  readonly status: number;
  readonly out: string[];
  readonly err: string[];
}

async function run(argv: string[]): Promise<Ran> {
  const out: string[] = [];
  const err: string[] = [];
  const io: CliIo = { out: (line) => out.push(line), err: (line) => err.push(line), progress: () => {}, wallMs: () => 0 };
  const status = await runCommand(argv, io);
  return { status, out: out.join('\n').split('\n'), err };
}

/** The lines of a sweep's or merge's output that describe the campaign's results: the table and the failures. */
function resultLines(out: readonly string[]): string[] {
  const start = out.findIndex((line) => line.startsWith('scenario '));
  const tableEnd = out.findIndex((line, index) => index > start && / runs (in|on) /.test(line));
  const failures = out.filter((line) => line.startsWith('FAIL ') || line.startsWith('  replay: '));
  return [...out.slice(start, tableEnd), ...failures];
}

/** The coverage table a campaign prints, from its heading to the line naming what was never exercised. */
function coverageLinesOf(out: readonly string[]): string[] {
  const start = out.findIndex((line) => line.startsWith('coverage over '));
  const end = out.findIndex((line, index) => index > start && (line.startsWith('never exercised: ') || line.startsWith('every property')));
  expect(start, 'no coverage table').toBeGreaterThanOrEqual(0);
  expect(end).toBeGreaterThan(start);
  return out.slice(start, end + 1);
}

describe('the shard rule', () => {
  it('gives seed i of A..B to shard ((i - A) mod N) + 1, every seed to exactly one shard', () => {
    expect(shardSeeds(10, 20, { index: 1, count: 4 })).toEqual([10, 14, 18]);
    expect(shardSeeds(10, 20, { index: 4, count: 4 })).toEqual([13, 17]);
    for (const count of [1, 2, 3, 7, 15]) {
      const all = Array.from({ length: count }, (_, i) => shardSeeds(10, 20, { index: i + 1, count })).flat();
      expect(all.sort((a, b) => a - b)).toEqual(Array.from({ length: 11 }, (_, i) => 10 + i));
      for (let index = 1; index <= count; index++) for (const seed of shardSeeds(10, 20, { index, count })) expect(shardOfSeed(seed, 10, count)).toBe(index);
    }
  });

  it('leaves a shard empty when there are more shards than seeds', () => {
    expect(shardSeeds(1, 3, { index: 5, count: 5 })).toEqual([]);
  });

  it('parses K/N', () => {
    expect(parseShard('2/4')).toEqual({ index: 2, count: 4 });
    expect(parseShard('1/1')).toEqual({ index: 1, count: 1 });
  });

  it.each([
    ['sweep', ['sim', 'sweep', 'leader-crash', '--seeds', '1..3', '--shard', '0/3'], '--shard 0/3: shards are counted from 1, so K must be at least 1'],
    ['sweep', ['sim', 'sweep', 'leader-crash', '--seeds', '1..3', '--shard', '4/3'], '--shard 4/3: K must be at most N; there is no shard 4 of 3'],
    ['sweep', ['sim', 'sweep', 'leader-crash', '--seeds', '1..3', '--shard', 'x'], "--shard must be K/N, shard K of N counting from 1 (e.g. 2/4); got 'x'"],
    ['sweep', ['sim', 'sweep', 'leader-crash', '--seeds', '1..3', '--shard', '1/0'], '--shard 1/0: the number of shards N must be at least 1'],
    ['fuzz', ['sim', 'fuzz', '--seeds', '1..3', '--shard', '4/3'], '--shard 4/3: K must be at most N; there is no shard 4 of 3'],
    ['fuzz', ['sim', 'fuzz', '--seeds', '1..3', '--shard', '2'], "--shard must be K/N, shard K of N counting from 1 (e.g. 2/4); got '2'"],
  ])('refuses a bad --shard for %s with a one-line reason and exit status 2: %j', async (command, argv, message) => {
    const result = await run(argv);
    expect(result.status).toBe(2);
    expect(result.err).toEqual([`chorus: ${message} (see 'chorus sim ${command} --help')`]);
  });
});

describe('sharded campaigns merged', () => {
  let folder: string;
  let scenario: string;
  beforeEach(() => {
    folder = mkdtempSync(join(tmpdir(), 'chorus-shard-'));
    scenario = join(folder, 'flaky.yaml');
    writeFileSync(scenario, FLAKY_SCENARIO);
  });
  afterEach(() => rmSync(folder, { recursive: true, force: true }));

  const sweepShard = (shard: string | undefined, json: string, seeds = '1..12'): Promise<Ran> =>
    run(['sim', 'sweep', scenario, '--seeds', seeds, '--workers', '1', '--json', join(folder, json), ...(shard === undefined ? [] : ['--shard', shard])]);
  const readPartFile = (name: string): CampaignPart => JSON.parse(readFileSync(join(folder, name), 'utf8')) as CampaignPart;
  const merge = (...names: string[]): Promise<Ran> =>
    run(['sim', 'merge', ...names.map((name) => join(folder, name)), '--html', join(folder, 'campaign.html'), '--found', join(folder, 'found')]);

  it('prints the same table and failures for 3 shards merged as for the whole sweep, from the same runs', async () => {
    const whole = await sweepShard(undefined, 'whole.json');
    expect(whole.status).toBe(1);
    expect(whole.out.filter((line) => line.startsWith('FAIL '))).toHaveLength(2);
    for (const shard of ['1/3', '2/3', '3/3']) await sweepShard(shard, `part-${shard[0]}.json`);
    const merged = await merge('part-3.json', 'part-1.json', 'part-2.json');
    expect(merged.status).toBe(1);
    expect(resultLines(merged.out)).toEqual(resultLines(whole.out));
    // The coverage summed over the shards' runs is the whole sweep's.
    expect(coverageLinesOf(whole.out)[0]).toBe('coverage over 12 runs:');
    expect(coverageLinesOf(merged.out)).toEqual(coverageLinesOf(whole.out));
    // Not only the summary: every run's result, trace hash included, is the one the unsharded sweep got.
    const parts = [1, 2, 3].map((k) => readPartFile(`part-${k}.json`));
    expect(parts.map((part) => part.results.map((r) => r.seed))).toEqual([[1, 4, 7, 10], [2, 5, 8, 11], [3, 6, 9, 12]]);
    const sharded = parts.flatMap((part) => [...part.results]).sort((a, b) => a.seed - b.seed);
    expect(sharded).toEqual(readPartFile('whole.json').results);
    const html = readFileSync(join(folder, 'campaign.html'), 'utf8');
    expect(html).toContain('seeds 1..12');
    for (const line of whole.out.filter((l) => l.startsWith('  replay: '))) expect(html).toContain(line.slice('  replay: '.length));
  });

  it('merges parts found in a folder, and an empty shard when there are more shards than seeds', async () => {
    // Seeds 4..6 all pass the flaky scenario.
    for (const shard of ['1/4', '2/4', '3/4', '4/4']) expect((await sweepShard(shard, `parts/${shard[0]}.json`, '4..6')).status).toBe(0);
    expect(readPartFile('parts/4.json').results).toEqual([]);
    const merged = await merge('parts');
    expect(merged.status).toBe(0);
    expect(merged.out).toContain('3 runs on 4 shards, 0.0s of wall time in all');
  });

  it('refuses a missing shard, a shard given twice, and parts of different seed ranges, scenarios, builds or commands', async () => {
    await sweepShard('1/2', 'a1.json', '1..4');
    await sweepShard('2/2', 'a2.json', '1..4');
    await sweepShard('1/2', 'b1.json', '1..6');
    const refusals: [string[], string][] = [
      [['a1.json'], 'the campaign has 2 shards, and shard 2/2 is missing'],
      [['a1.json', 'a1.json', 'a2.json'], `shard 1/2 is given twice: ${join(folder, 'a1.json')} and ${join(folder, 'a1.json')}`],
      [['a1.json', 'b1.json'], 'are parts of different campaigns: the seeds are 1..4 in the first, 1..6 in the second'],
    ];
    const edited = (name: string, change: (part: CampaignPart) => object): void => writeFileSync(join(folder, name), JSON.stringify(change(readPartFile('a2.json'))));
    edited('other-build.json', (part) => ({ ...part, campaign: { ...part.campaign, build: '0123456789abcdef' } }));
    refusals.push([['a1.json', 'other-build.json'], 'the build of chorus is']);
    edited('fuzz.json', (part) => ({ ...part, kind: 'fuzz' }));
    refusals.push([['a1.json', 'fuzz.json'], 'the command is sim sweep in the first, sim fuzz in the second']);
    edited('three.json', (part) => ({ ...part, shard: { index: 2, count: 3 } }));
    refusals.push([['a1.json', 'three.json'], 'the number of shards is 2 in the first, 3 in the second']);
    edited('short.json', (part) => ({ ...part, results: part.results.slice(1) }));
    refusals.push([['a1.json', 'short.json'], 'short.json: its 1 results are not the 2 runs of shard 2/2 of seeds 1..4; run that shard again']);
    for (const [names, message] of refusals) {
      const merged = await merge(...names);
      expect(merged.status, names.join(' ')).toBe(2);
      expect(merged.err).toHaveLength(1);
      expect(merged.err[0]).toContain(message);
    }
    // An edited scenario file is another campaign, even under the same name.
    writeFileSync(scenario, FLAKY_SCENARIO.replace('rate: 40', 'rate: 41'));
    await sweepShard('2/2', 'edited.json', '1..4');
    const merged = await merge('a1.json', 'edited.json');
    expect(merged.status).toBe(2);
    expect(merged.err[0]).toMatch(/different campaigns: .*flaky\.yaml has content [0-9a-f]{12} in the first, content [0-9a-f]{12} in the second/);
    expect((await merge('nothing-here.json')).err[0]).toContain('nothing-here.json: no such file or folder');
  });

  it('merges fuzz shards into the whole fuzz run, writing the scenarios that failing seeds shrank to', async () => {
    const fuzz = (shard: string | undefined, json: string): Promise<Ran> =>
      run(['sim', 'fuzz', '--seeds', '1..2', '--workers', '1', '--out', join(folder, 'found'), '--json', join(folder, json), ...(shard === undefined ? [] : ['--shard', shard])]);
    const whole = await fuzz(undefined, 'whole.json');
    expect(whole.status).toBe(0);
    await fuzz('1/2', 'f1.json');
    await fuzz('2/2', 'f2.json');
    const parts = [readPartFile('f1.json'), readPartFile('f2.json')];
    expect(parts.flatMap((part) => [...part.results]).sort((a, b) => a.seed - b.seed)).toEqual(readPartFile('whole.json').results);
    const clean = await merge('f1.json', 'f2.json');
    expect(clean.status).toBe(0);
    expect(coverageLinesOf(clean.out)).toEqual(coverageLinesOf(whole.out));
    // Each result carries its run's coverage into the part.
    expect(parts.every((part) => part.results.every((result) => result.coverage !== undefined))).toBe(true);
    expect(clean.out).toContain('2 seeds fuzzed on 2 shards, 0.0s of wall time in all: no failures');
    // The simulator passes these seeds, so a failing finding is written into a part by hand.
    const failing = readPartFile('f2.json');
    writeFileSync(
      join(folder, 'f2-failing.json'),
      JSON.stringify({ ...failing, results: [{ seed: 2, passed: false, problem: 'planted', faults: 9, shrunk: { faults: 1, runs: 4, problem: 'planted', scenarioYaml: 'name: fuzz-2\n' } }] }),
    );
    const found = await merge('f1.json', 'f2-failing.json');
    expect(found.status).toBe(1);
    const file = join(folder, 'found', 'fuzz-2.yaml');
    expect(found.out).toEqual(expect.arrayContaining(['seed 2: planted', `  shrunk from 9 faults to 1 in 4 runs; written to ${file}`, `  replay: npx chorus sim run ${file} --seed 2`]));
    expect(readFileSync(file, 'utf8')).toBe('name: fuzz-2\n');
    expect(existsSync(join(folder, 'campaign.html'))).toBe(true);
  });
});
