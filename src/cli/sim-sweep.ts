// `chorus sim sweep`: runs scenarios over a range of seeds in worker threads
// and prints a table per scenario with every failing seed's replay command.
// With --shard K/N it runs only its share of the seeds, and with --json FILE it
// writes its results for `chorus sim merge` to join with the other shards'.

import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { parseArgs } from 'node:util';
import { writeReport } from '../../sim/report.js';
import { writeIndex } from '../../sim/report-index.js';
import { listScenarioFiles, loadScenario, resolveScenarioFile } from '../../sim/scenario.js';
import { UsageError, parseInteger } from './args.js';
import { buildId } from './build-id.js';
import { coverageLines, sweepFailureLines, sweepTable } from './campaign-output.js';
import { PART_FORMAT, PART_VERSION, sortSweepResults, writePart, type CampaignScenario, type SweepResult } from './campaign-part.js';
import { interruptedLine, interruptedStatus, runCampaign, unexpectedAnswer } from './campaign-runner.js';
import type { CliIo } from './io.js';
import { parseSeedRange } from './seed-range.js';
import { formatShard, parseShard, shardSeeds, WHOLE_CAMPAIGN } from './shard.js';
import { loadOrUsage, runScenario } from './sim-scenarios.js';

export const SWEEP_HELP = `Usage: chorus sim sweep <scenario | all> --seeds A..B [--workers N] [--shard K/N] [--json FILE] [--reports DIR]

Runs a scenario (or every scenario) over a range of seeds, in N worker
threads (default: the number of cores), then prints a table per scenario and
every failing seed with the command that replays it. Progress (runs done,
failures, elapsed time, ETA) is a line redrawn on a terminal, and a plain line
on standard error every 5 seconds otherwise. Ctrl-C stops the sweep and prints
the table and failures of the runs that finished, then exits with status 130
(with --workers 1, once the run under way ends).

  --shard K/N   run only shard K of N: seed i of A..B goes to shard
                ((i - A) mod N) + 1, so N machines given 1/N..N/N run every
                seed once between them
  --json FILE   write the results to FILE, for 'chorus sim merge'
  --reports DIR write each failing seed's report (JSON and HTML) to DIR and
                list it in DIR/index.html with the other reports there
                (default reports)`;

/**
 * One run of a sweep: a scenario with one seed. A worker thread runs it, or
 * the command itself with --workers 1. A failing run writes its report, each
 * under its own name, so workers never write the same file; the index is
 * written once, by the command, when the sweep ends.
 */
export function sweepJob(job: { readonly file: string; readonly seed: number; readonly reportsDir?: string }): SweepResult {
  const scenario = loadScenario(job.file);
  const { outcome, coverage } = runScenario(scenario, job.seed);
  if (!outcome.passed && job.reportsDir !== undefined) writeReport(job.reportsDir, outcome.report, { origin: 'sim sweep' });
  return { scenario: scenario.name, file: scenario.file, seed: job.seed, passed: outcome.passed, traceHash: outcome.traceHash, problem: outcome.problems[0] ?? '', coverage };
}

export async function simSweep(argv: readonly string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseArgs({
    args: [...argv],
    options: { seeds: { type: 'string' }, workers: { type: 'string' }, shard: { type: 'string' }, json: { type: 'string' }, reports: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
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
  const reportsDir = values.reports ?? 'reports';
  // Made here, before any worker starts, so a folder that cannot be made stops the sweep with one line.
  mkdirSync(reportsDir, { recursive: true });
  const jobs = scenarios.flatMap((scenario) => seeds.map((seed) => ({ kind: 'sweep' as const, file: scenario.file, seed, reportsDir })));
  if (values.shard !== undefined) io.out(`shard ${formatShard(shard)} of seeds ${from}..${to}: ${seeds.length} seed${seeds.length === 1 ? '' : 's'} of ${to - from + 1}, ${jobs.length} run${jobs.length === 1 ? '' : 's'}`);
  const run = await runCampaign(io, { what: 'chorus sim sweep', unit: 'runs' }, {
    jobs,
    workers,
    runHere: sweepJob,
    fromWorker: (answer) => (answer.kind === 'sweep' ? answer.result : unexpectedAnswer(answer)),
  });
  if (run.interrupted) io.out(interruptedLine(run.results.length, jobs.length, 'runs'));
  const ordered = sortSweepResults(run.results, scenarios);
  io.out(sweepTable(scenarios, ordered));
  for (const line of coverageLines(ordered)) io.out(line);
  const seconds = run.wallMs / 1000;
  io.out(`${ordered.length} runs in ${seconds.toFixed(1)}s with ${workers} worker${workers === 1 ? '' : 's'}: ${(ordered.length / Math.max(seconds, 1e-9)).toFixed(2)} seeds per second`);
  for (const line of sweepFailureLines(ordered)) io.out(line);
  const failures = ordered.filter((result) => !result.passed).length;
  if (failures > 0) io.out(`the ${failures} failing run${failures === 1 ? '' : 's'}' reports are in ${reportsDir}, listed in ${writeIndex(reportsDir)}`);
  if (values.json !== undefined && run.interrupted) {
    io.err(`no part written to ${values.json}: an interrupted shard would leave runs out of a merge; run it again`);
  } else if (values.json !== undefined) {
    writePart(values.json, { format: PART_FORMAT, version: PART_VERSION, kind: 'sweep', campaign: { seeds: { from, to }, scenarios, build: buildId() }, shard, wallMs: Math.round(run.wallMs), results: ordered });
    io.out(`results written to ${values.json}; join the shards' parts with 'chorus sim merge'`);
  }
  if (run.interrupted) return interruptedStatus;
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
