// `chorus sim fuzz`: swarm testing, with failing schedules shrunk and written
// as scenario files that replay like any other. With --shard K/N it fuzzes
// only its share of the seeds, and with --json FILE it writes its results
// (each finding's scenario included) for `chorus sim merge`.

import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { drawSwarm, fuzzSeed, scenarioYaml } from '../../sim/fuzz.js';
import { buildId } from './build-id.js';
import { failureCount, fuzzFailureLines, writeFoundScenarios } from './campaign-output.js';
import { PART_FORMAT, PART_VERSION, writePart, type FuzzResult } from './campaign-part.js';
import type { CliIo } from './io.js';
import { parseSeedRange } from './seed-range.js';
import { formatShard, parseShard, shardSeeds, WHOLE_CAMPAIGN } from './shard.js';

export const FUZZ_HELP = `Usage: chorus sim fuzz [--seeds A..B] [--out DIR] [--shard K/N] [--json FILE]

Swarm testing: each seed draws its own mix of fault kinds, fault rate, cluster
size and network, and a random schedule from that mix, and runs the broker
workload through it with every check on. A failing schedule is shrunk to a
small one that still fails and written as a scenario file in DIR (default
scenarios/found), with the command that replays it. Seeds default to 1..20.

  --shard K/N   fuzz only shard K of N: seed i of A..B goes to shard
                ((i - A) mod N) + 1
  --json FILE   write the results, found scenarios included, to FILE for
                'chorus sim merge'`;

/** Fuzzes one seed: runs it, and shrinks its schedule when it fails. */
export function fuzzJob(seed: number): FuzzResult {
  const draw = drawSwarm(seed);
  const finding = fuzzSeed(seed);
  if (finding === undefined) return { seed, passed: true, problem: '', faults: draw.faults.length };
  const name = `fuzz-${seed}`;
  const description = `Found by chorus sim fuzz, seed ${seed}: ${finding.shrunk.problem}`.slice(0, 400);
  const yaml = scenarioYaml(name, description, finding.draw, finding.shrunk.faults);
  return { seed, passed: false, problem: finding.problem, faults: draw.faults.length, shrunk: { faults: finding.shrunk.faults.length, runs: finding.shrunk.runs, problem: finding.shrunk.problem, scenarioYaml: yaml } };
}

export function simFuzz(argv: readonly string[], io: CliIo): number {
  const { values } = parseArgs({
    args: [...argv],
    options: { seeds: { type: 'string' }, out: { type: 'string' }, shard: { type: 'string' }, json: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
    allowPositionals: false,
  });
  if (values.help === true) {
    io.out(FUZZ_HELP);
    return 0;
  }
  const { from, to } = parseSeedRange(values.seeds ?? '1..20');
  const shard = values.shard === undefined ? WHOLE_CAMPAIGN : parseShard(values.shard);
  const outDir = values.out ?? join('scenarios', 'found');
  const seeds = shardSeeds(from, to, shard);
  if (values.shard !== undefined) io.out(`shard ${formatShard(shard)} of seeds ${from}..${to}: ${seeds.length} seed${seeds.length === 1 ? '' : 's'} of ${to - from + 1}`);
  const started = io.wallMs();
  const results: FuzzResult[] = [];
  for (const [done, seed] of seeds.entries()) {
    const draw = drawSwarm(seed);
    io.progress(`  seed ${seed} (${done + 1}/${seeds.length}): ${draw.nodes} nodes, ${draw.faults.length} faults of ${draw.kinds.join(', ') || 'no kind'}`);
    results.push(fuzzJob(seed));
  }
  io.progress('');
  const wallMs = io.wallMs() - started;
  writeFoundScenarios(outDir, results);
  for (const line of fuzzFailureLines(results, outDir)) io.out(line);
  io.out(`${results.length} seeds fuzzed in ${(wallMs / 1000).toFixed(1)}s: ${failureCount(results)}`);
  if (values.json !== undefined) {
    writePart(values.json, { format: PART_FORMAT, version: PART_VERSION, kind: 'fuzz', campaign: { seeds: { from, to }, scenarios: [], build: buildId() }, shard, wallMs: Math.round(wallMs), results });
    io.out(`results written to ${values.json}; join the shards' parts with 'chorus sim merge'`);
  }
  return results.some((r) => !r.passed) ? 1 : 0;
}
