// `chorus sim sweep`: runs scenarios over a range of seeds in worker threads
// and prints a table per scenario with every failing seed's replay command.

import chalk from 'chalk';
import { availableParallelism } from 'node:os';
import { parseArgs } from 'node:util';
import { Worker } from 'node:worker_threads';
import { listScenarioFiles, loadScenario, resolveScenarioFile } from '../../sim/scenario.js';
import { UsageError, parseInteger } from './args.js';
import type { CliIo } from './io.js';
import { parseSeedRange } from './seed-range.js';
import { loadOrUsage, runScenario } from './sim-scenarios.js';
import { table } from './table.js';

export const SWEEP_HELP = `Usage: chorus sim sweep <scenario | all> --seeds A..B [--workers N]

Runs a scenario (or every scenario) over a range of seeds, in N worker
threads (default: the number of cores), with a progress line, then prints a
table per scenario and every failing seed with the command that replays it.`;

export interface SweepJob {
  readonly file: string;
  readonly seeds: readonly number[];
}

export interface SweepResult {
  readonly scenario: string;
  readonly file: string;
  readonly seed: number;
  readonly passed: boolean;
  readonly traceHash: string;
  readonly problem: string;
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
    options: { seeds: { type: 'string' }, workers: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
    allowPositionals: true,
  });
  if (values.help === true) {
    io.out(SWEEP_HELP);
    return 0;
  }
  if (positionals.length !== 1) throw new UsageError('sweep takes one scenario, or all');
  const { from, to } = parseSeedRange(values.seeds ?? '');
  const workers = values.workers === undefined ? availableParallelism() : parseInteger(values.workers, '--workers', 1, 64);
  const files = positionals[0] === 'all' ? listScenarioFiles() : [resolveScenarioFile(positionals[0]!)];
  for (const file of files) loadOrUsage(file);
  const seeds = Array.from({ length: to - from + 1 }, (_, i) => from + i);
  const jobs = files.flatMap((file) => seeds.map((seed) => ({ file, seeds: [seed] })));
  const results: SweepResult[] = [];
  const started = io.wallMs();
  const progress = (): void => {
    const done = results.length;
    const width = 30;
    const filled = Math.round((width * done) / jobs.length);
    const failed = results.filter((r) => !r.passed).length;
    io.progress(`  [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${jobs.length} runs, ${failed} failed`);
  };
  if (workers === 1) {
    for (const job of jobs) sweepJob(job, (result) => {
      results.push(result);
      progress();
    });
  } else {
    await runInWorkers(jobs, workers, (result) => {
      results.push(result);
      progress();
    });
  }
  io.progress('');
  const seconds = (io.wallMs() - started) / 1000;
  const rows = [['scenario', 'runs', 'passed', 'failed']];
  for (const file of files) {
    const mine = results.filter((r) => r.file === file);
    const failed = mine.filter((r) => !r.passed).length;
    rows.push([mine[0]?.scenario ?? file, String(mine.length), String(mine.length - failed), failed === 0 ? '0' : chalk.red(String(failed))]);
  }
  io.out(table(rows));
  io.out(`${results.length} runs in ${seconds.toFixed(1)}s with ${workers} worker${workers === 1 ? '' : 's'}: ${(results.length / Math.max(seconds, 1e-9)).toFixed(2)} seeds per second`);
  const failures = results.filter((r) => !r.passed).sort((a, b) => a.scenario.localeCompare(b.scenario) || a.seed - b.seed);
  for (const failure of failures) io.out(chalk.red(`FAIL ${failure.scenario} seed ${failure.seed}: ${failure.problem}\n  replay: npx chorus sim run ${failure.file} --seed ${failure.seed}`));
  return failures.length === 0 ? 0 : 1;
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
