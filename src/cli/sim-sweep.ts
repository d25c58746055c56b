// `chorus sim sweep`: runs scenarios over a range of seeds in worker threads
// and prints a table per scenario with every failing seed's replay command.
// With --shard K/N it runs only its share of the seeds, and with --json FILE it
// writes its results for `chorus sim merge` to join with the other shards'.

import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { parseArgs } from 'node:util';
import { Worker } from 'node:worker_threads';
import { listScenarioFiles, loadScenario, resolveScenarioFile } from '../../sim/scenario.js';
import { UsageError, parseInteger } from './args.js';
import { buildId } from './build-id.js';
import { sweepFailureLines, sweepTable } from './campaign-output.js';
import { PART_FORMAT, PART_VERSION, sortSweepResults, writePart, type CampaignScenario, type SweepResult } from './campaign-part.js';
import type { CliIo } from './io.js';
import { parseSeedRange } from './seed-range.js';
import { formatShard, parseShard, shardSeeds, WHOLE_CAMPAIGN } from './shard.js';
import { loadOrUsage, runScenario } from './sim-scenarios.js';

export const SWEEP_HELP = `Usage: chorus sim sweep <scenario | all> --seeds A..B [--workers N] [--shard K/N] [--json FILE]

Runs a scenario (or every scenario) over a range of seeds, in N worker
threads (default: the number of cores), with a progress line, then prints a
table per scenario and every failing seed with the command that replays it.

  --shard K/N   run only shard K of N: seed i of A..B goes to shard
                ((i - A) mod N) + 1, so N machines given 1/N..N/N run every
                seed once between them
  --json FILE   write the results to FILE, for 'chorus sim merge'`;

export interface SweepJob {
  readonly file: string;
  readonly seeds: readonly number[];
}

/** The work of one sweep job; a worker thread runs it, or the command itself with --workers 1. */
export function sweepJob(job: SweepJob, onResult: (result: SweepResult) => void): void {
  const scenario = loadScenario(job.file);
  for (const seed of job.seeds) {
    const { outcome } = runScenario(scenario, seed);
    onResult({ scenario: scenario.name, file: scenario.file, seed, passed: outcome.passed, traceHash: outcome.traceHash, problem: outcome.problems[0] ?? '' });
  }
}

export async function simSweep(argv: readonly string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseArgs({
    args: [...argv],
    options: { seeds: { type: 'string' }, workers: { type: 'string' }, shard: { type: 'string' }, json: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
    allowPositionals: true,
  });
  if (values.help === true) {
    io.out(SWEEP_HELP);
    return 0;
  }
  if (positionals.length !== 1) throw new UsageError('sweep takes one scenario, or all');
  const { from, to } = parseSeedRange(values.seeds ?? '');
  const workers = values.workers === undefined ? availableParallelism() : parseInteger(values.workers, '--workers', 1, 64);
  const shard = values.shard === undefined ? WHOLE_CAMPAIGN : parseShard(values.shard);
  const scenarios = campaignScenarios(positionals[0]!);
  const seeds = shardSeeds(from, to, shard);
  const jobs = scenarios.flatMap((scenario) => seeds.map((seed) => ({ file: scenario.file, seeds: [seed] })));
  if (values.shard !== undefined) io.out(`shard ${formatShard(shard)} of seeds ${from}..${to}: ${seeds.length} seed${seeds.length === 1 ? '' : 's'} of ${to - from + 1}, ${jobs.length} run${jobs.length === 1 ? '' : 's'}`);
  const results: SweepResult[] = [];
  const started = io.wallMs();
  const progress = (): void => {
    const done = results.length;
    const width = 30;
    const filled = Math.round((width * done) / Math.max(jobs.length, 1));
    const failed = results.filter((r) => !r.passed).length;
    io.progress(`  [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${jobs.length} runs, ${failed} failed`);
  };
  if (workers === 1) {
    for (const job of jobs) sweepJob(job, (result) => {
      results.push(result);
      progress();
    });
  } else if (jobs.length > 0) {
    // A shard may have no seeds at all when there are more shards than seeds.
    await runInWorkers(jobs, workers, (result) => {
      results.push(result);
      progress();
    });
  }
  io.progress('');
  const wallMs = io.wallMs() - started;
  const ordered = sortSweepResults(results, scenarios);
  io.out(sweepTable(scenarios, ordered));
  const seconds = wallMs / 1000;
  io.out(`${results.length} runs in ${seconds.toFixed(1)}s with ${workers} worker${workers === 1 ? '' : 's'}: ${(results.length / Math.max(seconds, 1e-9)).toFixed(2)} seeds per second`);
  for (const line of sweepFailureLines(ordered)) io.out(line);
  if (values.json !== undefined) {
    writePart(values.json, { format: PART_FORMAT, version: PART_VERSION, kind: 'sweep', campaign: { seeds: { from, to }, scenarios, build: buildId() }, shard, wallMs: Math.round(wallMs), results: ordered });
    io.out(`results written to ${values.json}; join the shards' parts with 'chorus sim merge'`);
  }
  return ordered.some((r) => !r.passed) ? 1 : 0;
}

/** The scenarios a sweep of `target` (a scenario, or all) runs, each named with a hash of its text. */
function campaignScenarios(target: string): CampaignScenario[] {
  let files: string[];
  try {
    files = target === 'all' ? listScenarioFiles() : [resolveScenarioFile(target)];
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  return files.map((file) => ({ name: loadOrUsage(file).name, file, sha256: createHash('sha256').update(readFileSync(file)).digest('hex') }));
}

function runInWorkers(jobs: readonly SweepJob[], workers: number, onResult: (result: SweepResult) => void): Promise<void> {
  const queue = [...jobs];
  const entry = new URL('./sweep-worker.js', import.meta.url);
  return new Promise((resolve, reject) => {
    let busy = 0;
    const pool: Worker[] = [];
    const finish = (): void => {
      for (const worker of pool) void worker.terminate();
      resolve();
    };
    const feed = (worker: Worker): void => {
      const job = queue.shift();
      if (job === undefined) {
        if (busy === 0) finish();
        return;
      }
      busy++;
      worker.postMessage(job);
    };
    for (let i = 0; i < Math.min(workers, jobs.length); i++) {
      const worker = new Worker(entry);
      pool.push(worker);
      worker.on('message', (message: { result?: SweepResult; done?: boolean }) => {
        if (message.result !== undefined) onResult(message.result);
        if (message.done === true) {
          busy--;
          feed(worker);
        }
      });
      worker.on('error', reject);
      feed(worker);
    }
  });
}
