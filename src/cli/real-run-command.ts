import chalk from 'chalk';
import { parseArgs } from 'node:util';
import { formatHistoryViolation } from '../../sim/history-checker.js';
import { runScenarioOnRealCluster } from '../../sim/real-scenario.js';
import { loadScenario, resolveScenarioFile, ScenarioError } from '../../sim/scenario.js';
import { UsageError, parseInteger } from './args.js';
import type { CliIo } from './io.js';

export const REAL_RUN_HELP = `Usage: chorus real run <scenario> [--seed N] [--scale S] [--tick-ms T]

Runs a scenario against a real local cluster: node processes on free loopback
ports, real TCP and fsync. The scenario's clients run over real sockets, its
faults go through kill -9, restarts and the nodes' admin ports, and the same
history checker judges the run. Times in the timeline are multiplied by S
(default 1); nodes tick every T ms of wall time (default 20). Faults real mode
cannot make (message loss and duplication, slow disks, clock drift) are
skipped, and torn writes become plain kill -9s; the run lists them.`;

export async function realCommand(argv: readonly string[], io: CliIo): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === undefined || sub === '--help' || sub === '-h') {
    io.out(REAL_RUN_HELP);
    return sub === undefined ? 2 : 0;
  }
  if (sub !== 'run') throw new UsageError(`unknown real command '${sub}'`);
  const { values, positionals } = parseArgs({
    args: rest,
    options: { seed: { type: 'string' }, scale: { type: 'string' }, 'tick-ms': { type: 'string' }, help: { type: 'boolean', short: 'h' } },
    allowPositionals: true,
  });
  if (values.help === true) {
    io.out(REAL_RUN_HELP);
    return 0;
  }
  if (positionals.length !== 1) throw new UsageError('real run takes one scenario');
  const scale = values.scale === undefined ? 1 : Number(values.scale);
  if (!(scale > 0 && scale <= 100)) throw new UsageError(`--scale must be a number above 0 and at most 100, got '${values.scale ?? ''}'`);
  let scenario;
  try {
    scenario = loadScenario(resolveScenarioFile(positionals[0]!));
  } catch (error) {
    if (error instanceof ScenarioError) throw new UsageError(error.message);
    throw error;
  }
  const seed = values.seed === undefined ? 1 : parseInteger(values.seed, '--seed', 0, 2 ** 32 - 1);
  const tickMs = values['tick-ms'] === undefined ? 20 : parseInteger(values['tick-ms'], '--tick-ms', 1, 10_000);
  io.out(chalk.bold(`real run ${scenario.name}: ${scenario.nodes} node processes, ${((scenario.durationMs * scale) / 1000).toFixed(1)} s, ${tickMs} ms ticks`));
  const result = await runScenarioOnRealCluster(scenario, { seed, scale, tickMs, log: (line) => io.out(`  ${line}`) });
  const { stats } = result;
  io.out(`clients    ${stats.published} publishes acknowledged (${stats.duplicates} as duplicates), ${stats.gaveUp} given up; ${stats.delivered} deliveries; ${stats.reads} history reads`);
  for (const note of result.skipped) io.out(chalk.yellow(`approximated ${note}`));
  io.out(result.violations.length === 0 ? chalk.green(`history    no violations; ${result.history.events.length} client events checked`) : chalk.red(`history    ${result.violations.length} violation(s)`));
  for (const violation of result.violations.slice(0, 10)) io.out(chalk.red(`  ${formatHistoryViolation(violation)}`));
  for (const problem of result.problems) io.out(chalk.red(`expect     ${problem}`));
  io.out(`result     ${result.passed ? chalk.green('PASS') : chalk.red('FAIL')}`);
  return result.passed ? 0 : 1;
}
