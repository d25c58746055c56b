import { parseArgs } from 'node:util';
import { Supervisor } from '../runtime/supervisor.js';
import { UsageError } from './args.js';
import type { CliIo } from './io.js';
import { clusterConfigFrom } from './real-config.js';

export const CLUSTER_HELP = `Usage: chorus cluster start [-c cluster.yaml]

Starts every node of the cluster as its own process on this machine, prints
where each listens, passes on their log lines, and stops them all on Ctrl-C.
Without -c, runs the built-in 3-node loopback cluster: clients on
127.0.0.1:4222, 4223 and 4224, data under ./data.`;

export async function clusterCommand(argv: readonly string[], io: CliIo): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === undefined || sub === '--help' || sub === '-h') {
    io.out(CLUSTER_HELP);
    return sub === undefined ? 2 : 0;
  }
  if (sub !== 'start') throw new UsageError(`unknown cluster command '${sub}'`);
  const { values } = parseArgs({ args: rest, options: { config: { type: 'string', short: 'c' }, help: { type: 'boolean', short: 'h' } } });
  if (values.help === true) {
    io.out(CLUSTER_HELP);
    return 0;
  }
  // A bad configuration throws ConfigError, which runCommand prints one problem to a line.
  const config = clusterConfigFrom(values.config);
  io.out(`starting ${config.nodes.length} nodes (${config.source}):`);
  for (const node of config.nodes) {
    io.out(`  n${node.id}  clients ${node.host}:${node.clientPort}  peers ${node.host}:${node.peerPort}  admin ${node.host}:${node.adminPort}  data ${node.dataDir}`);
  }
  io.out('press Ctrl-C to stop them all');
  let failures = 0;
  const supervisor = new Supervisor({
    configFile: values.config,
    ids: config.nodes.map((node) => node.id),
    onLine: (_id, line) => io.out(line),
    onExit: (id, code, signal) => {
      failures++;
      io.err(`node ${id} exited on its own (${signal ?? `status ${code ?? '?'}`})`);
    },
  });
  supervisor.startAll();
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  io.out('stopping every node');
  await supervisor.stopAll();
  return failures > 0 ? 1 : 0;
}
