// The options of `chorus sim run <scenario | all>`. A scenario takes the
// outputs of a random run (--history, --trace) but fixes what a random run
// draws or is told (its size, length, clients and faults): those options are
// refused with the reason and the field of the file that sets it, rather than
// as unknown options.

import { parseArgs } from 'node:util';
import type { Scenario } from '../../sim/scenario.js';
import { UsageError, parseInteger } from './args.js';

export interface ScenarioRunOptions {
  readonly seed: number;
  readonly reportsDir: string;
  readonly quiet: boolean;
  readonly historyPath: string | undefined;
  readonly tracePath: string | undefined;
  /** The random-run options given, each refused once the scenario is known. */
  readonly fixedByScenario: readonly FixedOption[];
}

type FixedOption = '--nodes' | '--duration' | '--workload' | '--rate' | '--faults';

const FIXED_OPTIONS: readonly FixedOption[] = ['--nodes', '--duration', '--workload', '--rate', '--faults'];

/** Parses the options; 'help' when --help was asked for. */
export function parseScenarioRunOptions(target: string, argv: readonly string[]): ScenarioRunOptions | 'help' {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      seed: { type: 'string' },
      reports: { type: 'string' },
      quiet: { type: 'boolean' },
      history: { type: 'string' },
      trace: { type: 'string' },
      nodes: { type: 'string' },
      duration: { type: 'string' },
      workload: { type: 'string' },
      rate: { type: 'string' },
      faults: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    allowPositionals: false,
  });
  if (values.help === true) return 'help';
  for (const [option, file] of [['--history', values.history], ['--trace', values.trace]] as const) {
    if (file === undefined) continue;
    if (file.trim() === '') throw new UsageError(`${option} needs a file name`);
    if (target === 'all') throw new UsageError(`${option} writes the file of one run; 'all' makes one run per scenario, so name one scenario`);
  }
  return {
    seed: values.seed === undefined ? 1 : parseInteger(values.seed, '--seed', 0, 2 ** 32 - 1),
    reportsDir: values.reports ?? 'reports',
    quiet: values.quiet === true,
    historyPath: values.history,
    tracePath: values.trace,
    fixedByScenario: FIXED_OPTIONS.filter((option) => values[option.slice(2) as 'nodes' | 'duration' | 'workload' | 'rate' | 'faults'] !== undefined),
  };
}

/** Refuses the first option the scenario fixes, saying what fixes it and how to change it. */
export function refuseOptionsFixedBy(scenario: Scenario, options: ScenarioRunOptions): void {
  const option = options.fixedByScenario[0];
  if (option === undefined) return;
  throw new UsageError(`${option} cannot apply to a scenario: ${whatFixes(option, scenario)}; to change it, copy ${scenario.file} and edit the copy`);
}

function whatFixes(option: FixedOption, scenario: Scenario): string {
  switch (option) {
    case '--nodes':
      return `${scenario.name} fixes its cluster at ${scenario.nodes} nodes (cluster.nodes), and its timeline names nodes of that cluster`;
    case '--duration':
      return `${scenario.name} fixes its length at ${scenario.durationMs / 1000}s (duration), and its faults and expectations are timed within it`;
    case '--workload':
      return 'a scenario always runs the broker workload, with the clients its workload field describes';
    case '--rate':
      return `${scenario.name} fixes its clients' publish rate (workload.rate)`;
    case '--faults':
      return `${scenario.name}'s faults are the ones its timeline schedules, not drawn at random`;
    default: {
      const unknown: never = option;
      throw new Error(`no reason for ${String(unknown)}`);
    }
  }
}
