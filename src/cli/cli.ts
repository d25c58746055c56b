import { UsageError } from './args.js';
import { historyCommand, pubCommand, statusCommand, subCommand } from './client-commands.js';
import { clusterCommand } from './cluster-command.js';
import type { CliIo } from './io.js';
import { nodeCommand } from './node-command.js';
import { passwdCommand } from './passwd-command.js';
import { realCommand } from './real-run-command.js';
import { streamCommand } from './stream-command.js';
import { SIM_RUN_HELP, simRun } from './sim-run.js';
import { FUZZ_HELP, simFuzz } from './sim-fuzz.js';
import { REPLAY_HELP, SCENARIO_RUN_HELP, simReplay, simRunScenario } from './sim-scenarios.js';
import { MERGE_HELP, simMerge } from './sim-merge.js';
import { SWEEP_HELP, simSweep } from './sim-sweep.js';
import { userErrorReport } from './user-errors.js';
import { VERSION } from './version.js';

export const HELP = `Usage: chorus <command> [options]

Commands:
  sim run          run a seeded simulation through random faults, or a scripted scenario
  sim replay       replay a scenario run from its report and check the trace is identical
  sim sweep        run scenarios over a range of seeds in worker threads
  sim fuzz         swarm testing: random fault mixes, failing schedules shrunk to scenarios
  sim merge        join the JSON parts of a sweep or fuzz campaign split with --shard K/N
  cluster start    start a real cluster of local processes (the built-in one, or -c cluster.yaml)
  cluster stop     stop the nodes a 'cluster start' started, by their recorded pids
  cluster status   each node's pid, whether it runs, and its role, term and leader
  node             run one node of a real cluster
  pub              publish a message and print its PubAck
  sub              subscribe and print messages (live, --from N, --first, --durable NAME)
  history          print the stored messages of a topic
  status           print a table of the cluster's nodes
  stream           add, list, inspect, edit, remove and purge streams (what is stored)
  real run         run a scenario against a real local cluster with the same checker
  passwd           print the bcrypt hash of a password, for cluster.yaml's authorization

Run 'chorus <command> --help' for a command's options.

Exit status: 0 on success; 1 when something fails (a failed check, a request
the server refused, a server out of reach, a missing or bad file); 2 for a
mistake in the command line. Each problem is one line on standard error.

Output is coloured only on a terminal, and never when NO_COLOR is set.`;

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
  passwd: passwdCommand,
};

/** The simulator's commands that run many seeds, in worker threads, and so asynchronously. */
const CAMPAIGN_COMMANDS: Readonly<Record<string, AsyncCommand>> = {
  sweep: simSweep,
  fuzz: simFuzz,
};

/**
 * The entry point of the `chorus` binary: real-mode commands run
 * asynchronously, the rest as runCli. A person's mistake comes back as an exit
 * status after one line per problem on standard error; a bug in chorus throws.
 */
export async function runCommand(argv: readonly string[], io: CliIo): Promise<number> {
  const [command, ...rest] = argv;
  const campaign = command === 'sim' && Object.hasOwn(CAMPAIGN_COMMANDS, rest[0] ?? '') ? CAMPAIGN_COMMANDS[rest[0]!] : undefined;
  if (campaign !== undefined) {
    try {
      return await campaign(rest.slice(1), io);
    } catch (error) {
      return reportUserError(error, io, `sim ${rest[0]!}`);
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
    return reportUserError(error, io, command!);
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

/** Runs one command line and returns its exit status: 0 ok, 1 failed check or failure, 2 usage error. */
export function runCli(argv: readonly string[], io: CliIo): number {
  try {
    return dispatch(argv, io);
  } catch (error) {
    return reportUserError(error, io, helpTopic(argv));
  }
}

/** Prints a person's mistake and returns its exit status; rethrows a bug, whose stack trace is wanted. */
function reportUserError(error: unknown, io: CliIo, helpCommand: string): number {
  const report = userErrorReport(error, helpCommand);
  if (report === undefined) throw error;
  for (const line of report.lines) io.err(line);
  return report.status;
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
  if (command !== 'sim') throw new UsageError(`unknown command '${command}'`);
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
  throw new UsageError(`unknown sim command '${sub}'`);
}

/** The command whose help fits a mistake: `sim run` for `chorus sim run --bad`. */
function helpTopic(argv: readonly string[]): string {
  if (argv[0] !== 'sim') return '';
  const sub = argv[1];
  // A scenario run has its own help: `chorus sim run leader-crash --help`.
  const scenario = sub === 'run' && argv[2] !== undefined && !argv[2].startsWith('-') ? ` ${argv[2]}` : '';
  return ['run', 'replay', 'sweep', 'fuzz', 'merge'].includes(sub ?? '') ? `sim ${sub!}${scenario}` : 'sim';
}
