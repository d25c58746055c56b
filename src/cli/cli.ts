import { UsageError } from './args.js';
import { historyCommand, pubCommand, statusCommand, subCommand } from './client-commands.js';
import { clusterCommand } from './cluster-command.js';
import type { CliIo } from './io.js';
import { nodeCommand } from './node-command.js';
import { realCommand } from './real-run-command.js';
import { streamCommand } from './stream-command.js';
import { SIM_RUN_HELP, simRun } from './sim-run.js';
import { FUZZ_HELP, simFuzz } from './sim-fuzz.js';
import { REPLAY_HELP, SCENARIO_RUN_HELP, simReplay, simRunScenario } from './sim-scenarios.js';
import { MERGE_HELP, simMerge } from './sim-merge.js';
import { SWEEP_HELP, simSweep } from './sim-sweep.js';
import { VERSION } from './version.js';

export const HELP = `Usage: chorus <command> [options]

Commands:
  sim run          run a seeded simulation through random faults, or a scripted scenario
  sim replay       replay a scenario run from its report and check the trace is identical
  sim sweep        run scenarios over a range of seeds in worker threads
  sim fuzz         swarm testing: random fault mixes, failing schedules shrunk to scenarios
  sim merge        join the JSON parts of a sweep or fuzz campaign split with --shard K/N
  cluster start    start a real cluster of local processes (the built-in one, or -c cluster.yaml)
  node             run one node of a real cluster
  pub              publish a message and print its PubAck
  sub              subscribe and print messages (live, --from N, --first, --durable NAME)
  history          print the stored messages of a topic
  status           print a table of the cluster's nodes
  stream           add, list, inspect, edit, remove and purge streams (what is stored)
  real run         run a scenario against a real local cluster with the same checker

Run 'chorus <command> --help' for a command's options.`;

type AsyncCommand = (argv: readonly string[], io: CliIo) => Promise<number>;

const REAL_COMMANDS: Readonly<Record<string, AsyncCommand>> = {
  cluster: clusterCommand,
  node: nodeCommand,
  pub: pubCommand,
  sub: subCommand,
  history: historyCommand,
  status: statusCommand,
  stream: streamCommand,
  real: realCommand,
};

/** The simulator's commands that run many seeds, in worker threads, and so asynchronously. */
const CAMPAIGN_COMMANDS: Readonly<Record<string, AsyncCommand>> = {
  sweep: simSweep,
  fuzz: simFuzz,
};

/** The entry point of the `chorus` binary: real-mode commands run asynchronously, the rest as runCli. */
export async function runCommand(argv: readonly string[], io: CliIo): Promise<number> {
  const [command, ...rest] = argv;
  const campaign = command === 'sim' && Object.hasOwn(CAMPAIGN_COMMANDS, rest[0] ?? '') ? CAMPAIGN_COMMANDS[rest[0]!] : undefined;
  if (campaign !== undefined) {
    try {
      return await campaign(rest.slice(1), io);
    } catch (error) {
      if (!isUsageError(error)) throw error;
      io.err(`chorus: ${error.message}`);
      io.err(`Run 'chorus sim ${rest[0]!} --help' for usage.`);
      return 2;
    }
  }
  if (command === '--version') {
    io.out(VERSION);
    return 0;
  }
  const real = command === undefined ? undefined : REAL_COMMANDS[command];
  if (real === undefined) return runCli(argv, io);
  try {
    return await real(rest, io);
  } catch (error) {
    if (!isUsageError(error)) throw error;
    io.err(`chorus: ${error.message}`);
    io.err(`Run 'chorus ${command!} --help' for usage.`);
    return 2;
  }
}

const SIM_HELP = `Usage: chorus sim <command> [options]

Commands:
  run          run a seeded simulation through random faults, or a scripted scenario
  replay       replay a scenario run and check the trace is identical
  sweep        run scenarios over a range of seeds
  fuzz         swarm testing with shrinking
  merge        join the parts of a campaign split across machines with --shard

${SIM_RUN_HELP}

${SCENARIO_RUN_HELP}

${REPLAY_HELP}

${SWEEP_HELP}

${FUZZ_HELP}

${MERGE_HELP}`;

/** Runs one command line and returns its exit status: 0 ok, 1 failed check, 2 usage error. */
export function runCli(argv: readonly string[], io: CliIo): number {
  try {
    return dispatch(argv, io);
  } catch (error) {
    if (!isUsageError(error)) throw error;
    io.err(`chorus: ${error.message}`);
    io.err(`Run 'chorus ${helpTopic(argv)}--help' for usage.`);
    return 2;
  }
}

function dispatch(argv: readonly string[], io: CliIo): number {
  const [command, ...rest] = argv;
  if (command === undefined) {
    io.err(HELP);
    return 2;
  }
  if (command === '--help' || command === '-h' || command === 'help') {
    io.out(HELP);
    return 0;
  }
  if (command !== 'sim') throw new UsageError(`unknown command '${command}'; try 'chorus --help'`);
  const [sub, ...simArgs] = rest;
  if (sub === undefined) {
    io.err(SIM_HELP);
    return 2;
  }
  if (sub === '--help' || sub === '-h') {
    io.out(SIM_HELP);
    return 0;
  }
  if (sub === 'run') {
    const target = simArgs[0];
    if (target !== undefined && !target.startsWith('-')) return simRunScenario(target, simArgs.slice(1), io);
    return simRun(simArgs, io);
  }
  if (sub === 'replay') return simReplay(simArgs, io);
  if (sub === 'merge') return simMerge(simArgs, io);
  throw new UsageError(`unknown sim command '${sub}'; try 'chorus sim --help'`);
}

/** The command whose help fits a mistake: `sim run ` for `chorus sim run --bad`. */
function helpTopic(argv: readonly string[]): string {
  if (argv[0] !== 'sim') return '';
  return ['run', 'replay', 'sweep', 'fuzz', 'merge'].includes(argv[1] ?? '') ? `sim ${argv[1]} ` : 'sim ';
}

function isUsageError(error: unknown): error is Error {
  // parseArgs reports unknown or malformed options with ERR_PARSE_ARGS_* codes.
  const code = (error as { code?: unknown } | null)?.code;
  return error instanceof UsageError || (typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS'));
}
