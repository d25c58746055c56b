import { parseArgs } from 'node:util';
import { ConfigError } from '../runtime/config.js';
import { NodeRunner } from '../runtime/node-runner.js';
import { DEFAULT_LOG_OPTIONS, Logger } from '../runtime/logger.js';
import { StorageCorruptionError } from '../storage/corruption.js';
import { DataDirectoryLockedError } from '../runtime/data-dir-lock.js';
import { UsageError, parseInteger } from './args.js';
import type { CliIo } from './io.js';
import { clusterConfigFrom } from './real-config.js';
import { VERSION } from './version.js';

export const NODE_HELP = `Usage: chorus node --id N [-c cluster.yaml]

Runs one node of a cluster in this process, for a cluster spread over
machines (chorus cluster start runs them all on one). Without -c, the node is
one of the built-in 3-node loopback cluster. Stops cleanly on Ctrl-C or SIGTERM.

Options:
  --id N               the node's id in the configuration
  -c, --config FILE    the cluster configuration (YAML)
  -h, --help           this help

Exit status: 0 after a clean stop, 1 when the node cannot start or must stop
(a bad configuration, corrupted data, a port in use, a disk failure), 2 on a
usage error.`;

export async function nodeCommand(argv: readonly string[], io: CliIo): Promise<number> {
  const { values } = parseArgs({
    args: [...argv],
    options: { id: { type: 'string' }, config: { type: 'string', short: 'c' }, help: { type: 'boolean', short: 'h' } },
    strict: true,
    allowPositionals: false,
  });
  if (values.help === true) {
    io.out(NODE_HELP);
    return 0;
  }
  if (values.id === undefined) throw new UsageError('--id is required');
  const id = parseInteger(values.id, '--id', 1, 0xffff_fffe);
  let runner: NodeRunner;
  let fatal: (error: Error) => void = () => undefined;
  const failed = new Promise<Error>((resolve) => (fatal = resolve));
  // Until the configuration is read, lines go out at the default level and format.
  let logger = new Logger(id, DEFAULT_LOG_OPTIONS, (line) => io.out(line));
  const log = (line: string): void => logger.info('note', line);
  try {
    const config = clusterConfigFrom(values.config);
    logger = new Logger(id, config.log, (line) => io.out(line));
    runner = await NodeRunner.start({ config, id, log, logger, onFatal: (error) => fatal(error), version: VERSION });
  } catch (error) {
    for (const problem of startProblems(error)) io.err(`chorus node ${id}: ${problem}`);
    return 1;
  }
  const stopSignal = new Promise<NodeJS.Signals>((resolve) => {
    process.once('SIGINT', () => resolve('SIGINT'));
    process.once('SIGTERM', () => resolve('SIGTERM'));
  });
  const outcome = await Promise.race([stopSignal, failed]);
  if (outcome instanceof Error) {
    io.err(`chorus node ${id}: ${outcome.message}`);
    await runner.stop();
    return 1;
  }
  log(`stopping (${outcome})`);
  await runner.stop();
  return 0;
}

/** Why the node could not start, one line per problem. */
function startProblems(error: unknown): readonly string[] {
  if (error instanceof ConfigError) return error.problems;
  return [startProblem(error)];
}

function startProblem(error: unknown): string {
  if (error instanceof StorageCorruptionError || error instanceof DataDirectoryLockedError) return error.message;
  const code = (error as { code?: unknown }).code;
  if (code === 'EADDRINUSE') {
    const address = (error as { address?: string; port?: number });
    return `${address.address ?? ''}:${address.port ?? ''} is already in use (another node, or a NATS server?)`;
  }
  return (error as Error).message;
}
