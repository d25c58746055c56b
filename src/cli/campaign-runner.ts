// Runs a campaign's jobs (one seed of one scenario, or one fuzzed seed) in
// worker threads, or on this thread with one worker, and stops early when
// asked to: no job starts after the stop, and jobs under way are abandoned,
// so what is reported is exactly the runs that finished.

import chalk from 'chalk';
import { Worker } from 'node:worker_threads';
import type { FuzzResult, SweepResult } from './campaign-part.js';
import { CampaignProgress } from './campaign-progress.js';
import type { CliIo } from './io.js';

export type CampaignJob =
  /** reportsDir: where the run writes its report if it fails; none when undefined. */
  | { readonly kind: 'sweep'; readonly file: string; readonly seed: number; readonly reportsDir?: string }
  | { readonly kind: 'fuzz'; readonly seed: number; readonly shrink: boolean };

export type CampaignJobResult = { readonly kind: 'sweep'; readonly result: SweepResult } | { readonly kind: 'fuzz'; readonly result: FuzzResult };

export interface RunJobsOptions<Job extends CampaignJob, Result> {
  readonly jobs: readonly Job[];
  readonly workers: number;
  /** Runs one job on this thread: with one worker, and in tests that run from the TypeScript sources. */
  readonly runHere: (job: Job) => Result;
  /** Takes a worker thread's answer apart. */
  readonly fromWorker: (answer: CampaignJobResult) => Result;
  readonly onResult: (result: Result) => void;
  /** Aborted when the user interrupts: the campaign ends with what finished. */
  readonly stop: AbortSignal;
}

export async function runJobs<Job extends CampaignJob, Result>(options: RunJobsOptions<Job, Result>): Promise<void> {
  if (options.workers === 1) return runHere(options);
  // A shard may have no jobs at all when there are more shards than seeds.
  if (options.jobs.length === 0) return;
  return runInWorkers(options);
}

async function runHere<Job extends CampaignJob, Result>(options: RunJobsOptions<Job, Result>): Promise<void> {
  for (const job of options.jobs) {
    if (options.stop.aborted) return;
    options.onResult(options.runHere(job));
    // A run holds this thread until it ends; yielding to the event loop between
    // runs lets a Ctrl-C handler run and the progress ticker fire.
    await new Promise((resolve) => setImmediate(resolve));
  }
}

function runInWorkers<Job extends CampaignJob, Result>(options: RunJobsOptions<Job, Result>): Promise<void> {
  const queue = [...options.jobs];
  const entry = new URL('./campaign-worker.js', import.meta.url);
  return new Promise((resolve, reject) => {
    let busy = 0;
    let finished = false;
    const pool: Worker[] = [];
    const finish = (error?: unknown): void => {
      if (finished) return;
      finished = true;
      options.stop.removeEventListener('abort', onStop);
      for (const worker of pool) void worker.terminate();
      if (error === undefined) resolve();
      else reject(error);
    };
    const onStop = (): void => finish();
    const feed = (worker: Worker): void => {
      const job = queue.shift();
      if (job === undefined) {
        if (busy === 0) finish();
        return;
      }
      busy++;
      worker.postMessage(job);
    };
    options.stop.addEventListener('abort', onStop);
    for (let i = 0; i < Math.min(options.workers, options.jobs.length); i++) {
      const worker = new Worker(entry);
      pool.push(worker);
      worker.on('message', (answer: CampaignJobResult) => {
        // Answers that arrive after a stop belong to runs the report no longer counts.
        if (finished) return;
        busy--;
        options.onResult(options.fromWorker(answer));
        feed(worker);
      });
      worker.on('error', (error) => finish(error));
      feed(worker);
    }
  });
}

export interface CampaignRun<Result> {
  /** The runs that finished, in the order they finished. */
  readonly results: Result[];
  /** True when the user pressed Ctrl-C before every run finished. */
  readonly interrupted: boolean;
  /** True when the campaign stopped at its first failure (stopAtFirst) before every run finished. */
  readonly stoppedAtFailure: boolean;
  readonly wallMs: number;
}

/** Runs jobs with a progress line, ending early with what finished when the user presses Ctrl-C. */
export async function runCampaign<Job extends CampaignJob, Result extends { readonly passed: boolean }>(
  io: CliIo,
  progressLabel: { readonly what: string; readonly unit: string },
  options: Omit<RunJobsOptions<Job, Result>, 'onResult' | 'stop'> & { readonly stopAtFirst?: boolean },
): Promise<CampaignRun<Result>> {
  const startedMs = io.wallMs();
  const progress = new CampaignProgress(io, progressLabel.what, options.jobs.length, progressLabel.unit);
  const results: Result[] = [];
  const stop = new AbortController();
  let stoppedAtFailure = false;
  const stopListening = io.onInterrupt?.(() => stop.abort()) ?? ((): void => {});
  const ticker = setInterval(() => progress.tick(), 1000);
  try {
    await runJobs({
      ...options,
      stop: stop.signal,
      onResult: (result) => {
        results.push(result);
        progress.add(result.passed);
        if (!result.passed && options.stopAtFirst === true && !stop.signal.aborted) {
          stoppedAtFailure = true;
          stop.abort();
        }
      },
    });
  } finally {
    clearInterval(ticker);
    stopListening();
    progress.finish();
  }
  const cutShort = stop.signal.aborted && results.length < options.jobs.length;
  return { results, interrupted: cutShort && !stoppedAtFailure, stoppedAtFailure: cutShort && stoppedAtFailure, wallMs: io.wallMs() - startedMs };
}

/** The line that heads an interrupted campaign's report. */
export function interruptedLine(done: number, total: number, unit: string): string {
  return chalk.yellow(`interrupted: ${done} of ${total} ${unit} finished; what follows covers only them`);
}

/** The exit status of a command the user interrupted with Ctrl-C, as shells report SIGINT. */
export const interruptedStatus = 130;

/** A worker answered a job of the other kind: a programmer error. */
export function unexpectedAnswer(answer: CampaignJobResult): never {
  throw new Error(`a worker answered a ${answer.kind} job it was not given`);
}
