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

/** How long a stopping node may take to close its listeners, sockets and files. */
const STOP_CAP_MS = 5000;
/** How long after that the process may take to end by itself before it is ended. */
const EXIT_GRACE_MS = 1000;

export const NODE_HELP = `Usage: chorus node --id N [-c cluster.yaml]

Runs one node of a cluster in this process, for a cluster spread over
machines (chorus cluster start runs them all on one). Without -c, the node is
one of the built-in 3-node loopback cluster. Stops cleanly on Ctrl-C or SIGTERM.

Options:
  --id N               the node's id in the configuration
  -c, --config FILE    the cluster configuration (YAML)
  -h, --help           this help

Exit status: 0 after a clean stop, 1 when the node cannot start or must stop
(a bad configuration, corrupted data, a port in use, a disk failure such as
EMFILE, too many open files), 2 on a usage error. A node that must stop says
why on standard error, closes its listeners and files (giving up after 5 s),
and exits.`;

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
  // An error nothing caught (a bug, or an operating error in a path that does not expect one) is fatal too: the stack for
  // whoever debugs it, then the reason as the last line, which a supervisor quotes, and the same closing as any failure.
  const onUncaught = (error: Error): void => {
    io.err(error.stack ?? String(error));
    fatal(new Error(`unexpected error, stopping: ${error.message}`));
  };
  process.on('uncaughtException', onUncaught);
  let onSignal: (signal: NodeJS.Signals) => void = () => undefined;
  const stopSignal = new Promise<NodeJS.Signals>((resolve) => (onSignal = resolve));
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const outcome = await Promise.race([stopSignal, failed]);
  // From here a second signal ends the process at once, as it would have without these handlers.
  process.off('SIGINT', onSignal);
  process.off('SIGTERM', onSignal);
  if (outcome instanceof Error) {
    io.err(`chorus node ${id}: ${outcome.message}`);
    await stopWithin(runner, STOP_CAP_MS, (why) => io.err(`chorus node ${id}: ${why}`));
    exitAfter(EXIT_GRACE_MS, 1);
    return 1;
  }
  log(`stopping (${outcome})`);
  await stopWithin(runner, STOP_CAP_MS, (why) => io.err(`chorus node ${id}: ${why}`));
  exitAfter(EXIT_GRACE_MS, 0);
  return 0;
}

/**
 * Closes the node's listeners, sockets and files, giving up after `capMs`:
 * after a disk failure an fsync may never return, and a node that cannot
 * close must still exit, so that its supervisor sees it go.
 */
async function stopWithin(runner: NodeRunner, capMs: number, note: (why: string) => void): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const cap = new Promise<'cap'>((resolve) => (timer = setTimeout(() => resolve('cap'), capMs)));
  try {
    const outcome = await Promise.race([runner.stop().then(() => 'stopped' as const), cap]);
    if (outcome === 'cap') note(`could not close everything within ${capMs} ms; exiting anyway`);
  } catch (error) {
    note(`closing failed: ${(error as Error).message}; exiting anyway`);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * The process ends by itself once nothing is left to do, with the status the
 * command returns; this unreferenced timer ends it anyway if something (a
 * file operation that never returns) would keep it alive.
 */
function exitAfter(graceMs: number, status: number): void {
  setTimeout(() => process.exit(status), graceMs).unref();
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
