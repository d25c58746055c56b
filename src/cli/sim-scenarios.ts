// The scenario commands: `chorus sim run <scenario|all>` and `chorus sim
// replay`. A scenario run writes reports/<name>-<seed>.json and .html and ends
// with the command that replays it.

import chalk from 'chalk';
import { parseArgs } from 'node:util';
import { runCoverage, type RunCoverage } from '../../sim/coverage.js';
import { hashString, RunningHash } from '../../sim/hash.js';
import type { SimCluster } from '../../sim/cluster.js';
import { buildReport, readReport, writeReport, type Report, type ReportOrigin } from '../../sim/report.js';
import { writeIndex } from '../../sim/report-index.js';
import { runSimulation } from '../../sim/run.js';
import { listScenarioFiles, loadScenario, resolveScenarioFile, scenarioRunOptions, unmetExpectations, ScenarioError, type Scenario } from '../../sim/scenario.js';
import { formatSummary } from '../../sim/summary.js';
import { describeEvent, type SimEvent } from '../../sim/events.js';
import { historyToJSON, type History } from '../../sim/history.js';
import { UsageError, parseInteger } from './args.js';
import type { CliIo } from './io.js';
import { table } from './table.js';
import { parseScenarioRunOptions, refuseOptionsFixedBy } from './scenario-run-options.js';
import { openTrace, writeHistory } from './sim-run.js';

export const SCENARIO_RUN_HELP = `Usage: chorus sim run <scenario | all> [--seed N] [--reports DIR] [--history FILE] [--trace FILE] [--quiet]

Runs a scripted scenario (a file, or a name from scenarios/) in the simulator:
its cluster, its client workload, its timeline of faults, then its
expectations. Prints a summary ending with the command that replays the run,
and writes DIR/<scenario>-<seed>.json and .html (default DIR: reports). With
'all', runs every scenario in scenarios/ once and prints a table. Either way
DIR/index.html is rewritten to list every report in DIR, newest first. Exit
status 1 when a safety property, a client-history check or an expectation
fails.

Options:
  --seed N          the run's seed, 0 to 4294967295 (default 1)
  --reports DIR     where the reports go (default reports)
  --history FILE    write the clients' history as JSON (docs/history-format.md)
  --trace FILE      write every event of the run to FILE, one line each
  --quiet           no progress line on the terminal

--history and --trace need one scenario, not 'all'. A scenario fixes its
cluster size, length, clients and faults, so --nodes, --duration,
--workload, --rate and --faults are refused, with the field that sets each.`;

export const REPLAY_HELP = `Usage: chorus sim replay <report.json | scenario --seed N> [--until EVENT]

Runs a scenario again from a report (or a scenario and seed) and checks that
the trace is identical: the same trace hash. With --until EVENT, stops before
event number EVENT (counting from 1) and prints every node's state there.`;


interface ScenarioOutcome {
  readonly scenario: string;
  readonly file: string;
  readonly seed: number;
  readonly passed: boolean;
  readonly traceHash: string;
  readonly problems: readonly string[];
  readonly report: Report;
}

/**
 * Runs one scenario with one seed; pure apart from the wall clock it is
 * handed. `onEvent` sees every event of the run (for a trace file); the
 * clients' history comes back beside the outcome.
 */
export function runScenario(
  scenario: Scenario,
  seed: number,
  wallMs: () => number = () => 0,
  onProgress?: (ms: number) => void,
  onEvent?: (event: SimEvent) => void,
): { outcome: ScenarioOutcome; summary: string; history: History | undefined; coverage: RunCoverage } {
  const options = scenarioRunOptions(scenario, seed);
  const cluster = onEvent === undefined ? options.cluster : { ...options.cluster, onEvent };
  const result = runSimulation({ ...options, cluster, sampleEveryMs: 100, onProgress }, wallMs);
  const unmet = unmetExpectations(scenario, result);
  const report = buildReport(scenario, seed, result, unmet);
  // Liveness before the history checks: a run that did not converge leaves nodes
  // behind, and what they lack then shows up in the history checks too.
  const problems = [...report.violations.map((v) => v.text), ...report.liveness, ...report.historyViolations.map((v) => v.text), ...unmet.map((u) => u.text)];
  let summary = formatSummary(result, `${report.replay}   (or: npx chorus sim run ${scenario.file} --seed ${seed})`);
  const lines = summary.split('\n');
  const expectLine = `${chalk.bold('expect'.padEnd(11))}${unmet.length === 0 ? chalk.green('every expectation met') : chalk.red(unmet.map((u) => u.text).join('; '))}`;
  // The expectations go just before the result line, which must reflect them.
  const resultAt = lines.findIndex((line) => line.includes('result'));
  lines.splice(resultAt, 1, expectLine, `${chalk.bold('result'.padEnd(11))}${report.passed ? chalk.green('PASS') : chalk.red('FAIL')}`);
  lines[0] = `${chalk.bold(`scenario ${scenario.name}`)}: ${scenario.description}\n${lines[0]}`;
  summary = lines.join('\n');
  return { outcome: { scenario: scenario.name, file: scenario.file, seed, passed: report.passed, traceHash: report.traceHash, problems, report }, summary, history: result.broker?.history, coverage: runCoverage(result) };
}

export function loadOrUsage(nameOrFile: string): Scenario {
  try {
    return loadScenario(resolveScenarioFile(nameOrFile));
  } catch (error) {
    if (error instanceof ScenarioError) throw new UsageError(error.message);
    throw error;
  }
}

export function simRunScenario(target: string, argv: readonly string[], io: CliIo): number {
  const options = parseScenarioRunOptions(target, argv);
  if (options === 'help') {
    io.out(SCENARIO_RUN_HELP);
    return 0;
  }
  const scenario = target === 'all' ? undefined : loadOrUsage(target);
  if (scenario !== undefined) refuseOptionsFixedBy(scenario, options);
  if (scenario === undefined && options.fixedByScenario.length > 0) {
    throw new UsageError(`${options.fixedByScenario[0]!} cannot apply to 'all': each scenario fixes its cluster size, length, clients and faults`);
  }
  if (scenario === undefined) return runAll(options.seed, options.reportsDir, io);
  const trace = options.tracePath === undefined ? undefined : openTrace(options.tracePath);
  let run: ReturnType<typeof runScenario>;
  try {
    const onProgress = options.quiet ? undefined : (ms: number): void => io.progress(`  ${scenario.name}: simulated ${(ms / 1000).toFixed(0)}s`);
    run = runScenario(scenario, options.seed, () => io.wallMs(), onProgress, trace?.write);
  } finally {
    trace?.close();
  }
  io.progress('');
  if (options.historyPath !== undefined && run.history !== undefined) writeHistory(options.historyPath, historyToJSON(run.history));
  const written = writeAndTell(options.reportsDir, run.outcome.report, 'sim run', io);
  const index = writeIndex(options.reportsDir);
  // The replay line names the report where it was written (--reports may move it).
  const summary = run.summary.replace(run.outcome.report.replay, `npx chorus sim replay ${written.json}`);
  io.out(summary.replace(/\ntrace hash: /, `\nreports    ${written.html} (index: ${index}), ${written.json}\ntrace hash: `));
  return run.outcome.passed ? 0 : 1;
}

function runAll(seed: number, reportsDir: string, io: CliIo): number {
  const files = listScenarioFiles();
  const reports: Report[] = [];
  const rows: string[][] = [['scenario', 'result', 'acknowledged', 'deliveries', 'elections', 'events', 'wall', 'trace hash']];
  const combined = new RunningHash();
  for (const file of files) {
    const scenario = loadOrUsage(file);
    io.progress(`  running ${scenario.name} (seed ${seed})`);
    const started = io.wallMs();
    const { outcome } = runScenario(scenario, seed, () => io.wallMs());
    const wall = io.wallMs() - started;
    writeAndTell(reportsDir, outcome.report, 'sim run all', io);
    reports.push(outcome.report);
    combined.mix(hashString(outcome.traceHash));
    const r = outcome.report;
    rows.push([
      scenario.name,
      outcome.passed ? chalk.green('PASS') : chalk.red('FAIL'),
      String(r.clients.published ?? 0),
      String(r.clients.delivered ?? 0),
      String(r.elections.length),
      String(r.events),
      `${(wall / 1000).toFixed(2)}s`,
      outcome.traceHash,
    ]);
  }
  io.progress('');
  const index = writeIndex(reportsDir);
  io.out(chalk.bold(`chorus: every scenario in scenarios/ once, seed ${seed}, in the simulator`));
  io.out(table(rows));
  const failed = reports.filter((report) => !report.passed);
  for (const report of failed) io.out(chalk.red(`FAIL ${report.scenario}: replay with ${report.replay}`));
  io.out(`${reports.length - failed.length} of ${reports.length} scenarios passed; reports in ${index}`);
  io.out(`trace hash: ${combined.hex()}`);
  return failed.length === 0 ? 0 : 1;
}

/** Writes a report; says so when an earlier report of the same scenario and seed with another trace was kept aside. */
export function writeAndTell(dir: string, report: Report, origin: ReportOrigin, io: CliIo): { json: string; html: string } {
  const written = writeReport(dir, report, { origin });
  if (written.keptAside !== undefined) io.err(`an earlier report of ${report.scenario} seed ${report.seed} had another trace; kept as ${written.keptAside}`);
  return written;
}

export function simReplay(argv: readonly string[], io: CliIo): number {
  const { values, positionals } = parseArgs({
    args: [...argv],
    options: { seed: { type: 'string' }, until: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
    allowPositionals: true,
  });
  if (values.help === true) {
    io.out(REPLAY_HELP);
    return 0;
  }
  if (positionals.length !== 1) throw new UsageError('replay takes one report file or scenario');
  const target = positionals[0]!;
  let scenario: Scenario;
  let seed: number;
  let expected: string | undefined;
  if (target.endsWith('.json')) {
    let report: Report;
    try {
      report = readReport(target);
    } catch (error) {
      throw new UsageError((error as Error).message);
    }
    scenario = loadOrUsage(report.file);
    seed = values.seed === undefined ? report.seed : parseInteger(values.seed, '--seed', 0, 2 ** 32 - 1);
    expected = values.seed === undefined ? report.traceHash : undefined;
  } else {
    if (values.seed === undefined) throw new UsageError('replaying a scenario needs --seed N (or give a report.json)');
    scenario = loadOrUsage(target);
    seed = parseInteger(values.seed, '--seed', 0, 2 ** 32 - 1);
  }
  if (values.until !== undefined) return replayUntil(scenario, seed, parseInteger(values.until, '--until', 1, Number.MAX_SAFE_INTEGER), io);
  const { outcome } = runScenario(scenario, seed);
  io.out(`replayed ${scenario.name} with seed ${seed}: ${outcome.passed ? 'PASS' : 'FAIL'}, trace hash ${outcome.traceHash}`);
  if (expected === undefined) return outcome.passed ? 0 : 1;
  if (expected !== outcome.traceHash) {
    io.err(chalk.red(`the trace differs from the report's: ${outcome.traceHash}, the report says ${expected} (a different build of chorus, or a changed scenario file?)`));
    return 1;
  }
  io.out(chalk.green(`identical trace: the hash matches the report (${expected})`));
  return 0;
}

class StopReplay extends Error {}

function replayUntil(scenario: Scenario, seed: number, until: number, io: CliIo): number {
  let seen = 0;
  let stoppedAt = '';
  let cluster: SimCluster | undefined;
  const options = scenarioRunOptions(scenario, seed);
  try {
    runSimulation({
      ...options,
      sampleEveryMs: 100,
      onCluster: (c) => (cluster = c),
      cluster: {
        ...options.cluster,
        onEvent: (event) => {
          seen++;
          if (seen >= until) {
            stoppedAt = describeEvent(event);
            throw new StopReplay();
          }
        },
      },
    });
  } catch (error) {
    if (!(error instanceof StopReplay)) throw error;
  }
  if (cluster === undefined || stoppedAt === '') {
    io.err(`the run of ${scenario.name} with seed ${seed} has fewer than ${until} events`);
    return 1;
  }
  io.out(`${scenario.name}, seed ${seed}: stopped before event ${until}: ${stoppedAt}`);
  const rows = [['node', 'role', 'term', 'leader', 'commit', 'last index', 'applied']];
  for (const status of cluster.statuses()) {
    rows.push([`n${status.id}`, status.role, String(status.term), status.leader === 0 ? '-' : `n${status.leader}`, String(status.commitIndex), String(status.lastIndex), String(status.appliedIndex)]);
  }
  io.out(table(rows));
  for (const violation of cluster.violations()) io.out(chalk.red(`violation so far: ${violation.property} ${violation.detail}`));
  return 0;
}
