// `chorus sim fuzz`: swarm testing, with failing schedules shrunk and written
// as scenario files that replay like any other. With --shard K/N it fuzzes
// only its share of the seeds, and with --json FILE it writes its results
// (each finding's scenario included) for `chorus sim merge`.

import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { drawSwarm, fuzzSeedWithCoverage, scenarioYaml } from '../../sim/fuzz.js';
import { parseInteger } from './args.js';
import { buildId } from './build-id.js';
import { coverageLines, failureCount, fuzzFailureLines, writeFoundScenarios } from './campaign-output.js';
import { PART_FORMAT, PART_VERSION, writePart, type FuzzResult } from './campaign-part.js';
import { interruptedLine, interruptedStatus, runCampaign, unexpectedAnswer } from './campaign-runner.js';
import type { CliIo } from './io.js';
import { parseSeedRange } from './seed-range.js';
import { formatShard, parseShard, shardSeeds, WHOLE_CAMPAIGN } from './shard.js';

export const FUZZ_HELP = `Usage: chorus sim fuzz [--seeds A..B] [--out DIR] [--workers N] [--shard K/N] [--json FILE] [--no-shrink] [--stop-at-first]

Swarm testing: each seed draws its own mix of fault kinds, fault rate, cluster
size and network, and a random schedule from that mix, and runs the broker
workload through it with every check on, in N worker threads (default: the
number of cores). A failing schedule is shrunk to a small one that still
fails and written as a scenario file in DIR (default scenarios/found); the
failures are listed at the end in seed order, with the commands that replay
them. Seeds default to 1..20. Progress and Ctrl-C work as in 'sim sweep'.

  --shard K/N   fuzz only shard K of N: seed i of A..B goes to shard
                ((i - A) mod N) + 1
  --json FILE   write the results, found scenarios included, to FILE for
                'chorus sim merge'
  --no-shrink   write a failing seed's whole schedule as its scenario, without
                shrinking it first (a quick detection pass)
  --stop-at-first
                stop at the first failing seed: no new seed starts, seeds under
                way are abandoned, and the report covers what finished`;

/** Fuzzes one seed: runs it, and shrinks its schedule when it fails (unless told not to). */
export function fuzzJob(seed: number, shrink = true): FuzzResult {
  const { finding, coverage } = fuzzSeedWithCoverage(seed, {}, shrink ? undefined : 0);
  if (finding === undefined) return { seed, passed: true, problem: '', faults: drawSwarm(seed).faults.length, coverage };
  const name = `fuzz-${seed}`;
  const description = `Found by chorus sim fuzz, seed ${seed}: ${finding.shrunk.problem}`.slice(0, 400);
  const yaml = scenarioYaml(name, description, finding.draw, finding.shrunk.faults);
  const shrunk = { faults: finding.shrunk.faults.length, runs: finding.shrunk.runs, problem: finding.shrunk.problem, scenarioYaml: yaml };
  return { seed, passed: false, problem: finding.problem, faults: finding.draw.faults.length, coverage, shrunk };
}

export async function simFuzz(argv: readonly string[], io: CliIo): Promise<number> {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      seeds: { type: 'string' },
      out: { type: 'string' },
      workers: { type: 'string' },
      shard: { type: 'string' },
      json: { type: 'string' },
      'no-shrink': { type: 'boolean' },
      'stop-at-first': { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
    allowPositionals: false,
  });
  if (values.help === true) {
    io.out(FUZZ_HELP);
    return 0;
  }
  const { from, to } = parseSeedRange(values.seeds ?? '1..20');
  const workers = values.workers === undefined ? availableParallelism() : parseInteger(values.workers, '--workers', 1, 64);
  const shard = values.shard === undefined ? WHOLE_CAMPAIGN : parseShard(values.shard);
  const outDir = values.out ?? join('scenarios', 'found');
  const seeds = shardSeeds(from, to, shard);
  if (values.shard !== undefined) io.out(`shard ${formatShard(shard)} of seeds ${from}..${to}: ${seeds.length} seed${seeds.length === 1 ? '' : 's'} of ${to - from + 1}`);
  const shrink = values['no-shrink'] !== true;
  const stopAtFirst = values['stop-at-first'] === true;
  const run = await runCampaign(io, { what: 'chorus sim fuzz', unit: 'seeds' }, {
    jobs: seeds.map((seed) => ({ kind: 'fuzz' as const, seed, shrink })),
    workers,
    stopAtFirst,
    runHere: (job) => fuzzJob(job.seed, job.shrink),
    fromWorker: (answer) => (answer.kind === 'fuzz' ? answer.result : unexpectedAnswer(answer)),
  });
  if (run.interrupted) io.out(interruptedLine(run.results.length, seeds.length, 'seeds'));
  if (run.stoppedAtFailure) io.out(`stopped at the first failure: ${run.results.length} of ${seeds.length} seeds finished; what follows covers only them`);
  const results = [...run.results].sort((a, b) => a.seed - b.seed);
  writeFoundScenarios(outDir, results);
  for (const line of coverageLines(results)) io.out(line);
  for (const line of fuzzFailureLines(results, outDir)) io.out(line);
  io.out(`${results.length} seeds fuzzed in ${(run.wallMs / 1000).toFixed(1)}s with ${workers} worker${workers === 1 ? '' : 's'}: ${failureCount(results)}`);
  if (values.json !== undefined && (run.interrupted || run.stoppedAtFailure)) {
    io.err(`no part written to ${values.json}: a shard cut short would leave seeds out of a merge; run it again without --stop-at-first`);
  } else if (values.json !== undefined) {
    writePart(values.json, { format: PART_FORMAT, version: PART_VERSION, kind: 'fuzz', campaign: { seeds: { from, to }, scenarios: [], build: buildId() }, shard, wallMs: Math.round(run.wallMs), results });
    io.out(`results written to ${values.json}; join the shards' parts with 'chorus sim merge'`);
  }
  if (run.interrupted) return interruptedStatus;
  return results.some((r) => !r.passed) ? 1 : 0;
}
