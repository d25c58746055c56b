import { parseArgs } from 'node:util';
import type { ClusterConfig } from '../runtime/config.js';
import { removeProcessRecord, writeProcessRecord } from '../runtime/cluster-processes.js';
import { Supervisor } from '../runtime/supervisor.js';
import { UsageError } from './args.js';
import { judgeNodeExit, stoppedCleanly, type ExitVerdict, type NodeExit } from './cluster-exits.js';
import { clusterStatus, clusterStop } from './cluster-control.js';
import type { CliIo } from './io.js';
import { clusterConfigFrom } from './real-config.js';

export const CLUSTER_HELP = `Usage: chorus cluster start|stop|status [-c cluster.yaml]

  start    starts every node of the cluster as its own process on this
           machine, prints where each listens, passes on their log lines, and
           stops them all on Ctrl-C. It records each node's pid in the node's
           data directory (cluster-start.json). A node that exits is not
           restarted; when fewer than a quorum of nodes still run, it stops the
           rest and exits with status 1, saying why.
  stop     stops the nodes a 'cluster start' started, by the pids it
           recorded: SIGTERM, then SIGKILL for any still running after 10 s.
  status   prints each node's pid, whether it is running, and its role, term
           and leader as its admin port reports them. Exit status 1 when a
           node is not running or does not answer.

Without -c, the built-in 3-node loopback cluster: clients on 127.0.0.1:4222,
4223 and 4224, data under ./data.`;

export async function clusterCommand(argv: readonly string[], io: CliIo): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === undefined) {
    io.err(CLUSTER_HELP);
    return 2;
  }
  if (sub === '--help' || sub === '-h') {
    io.out(CLUSTER_HELP);
    return 0;
  }
  if (sub !== 'start' && sub !== 'stop' && sub !== 'status') throw new UsageError(`unknown cluster command '${sub}'`);
  const { values } = parseArgs({ args: rest, options: { config: { type: 'string', short: 'c' }, help: { type: 'boolean', short: 'h' } } });
  if (values.help === true) {
    io.out(CLUSTER_HELP);
    return 0;
  }
  // A bad configuration throws ConfigError, which runCommand prints one problem to a line.
  const config = clusterConfigFrom(values.config);
  if (sub === 'stop') return clusterStop(config, io);
  if (sub === 'status') return clusterStatus(config, io);
  return clusterStart(config, values.config, io);
}

async function clusterStart(config: ClusterConfig, configFile: string | undefined, io: CliIo): Promise<number> {
  io.out(`starting ${config.nodes.length} nodes (${config.source}):`);
  for (const node of config.nodes) {
    const monitor = node.monitorPort === 0 ? '' : `  monitor http://${node.host}:${node.monitorPort}/`;
    io.out(`  n${node.id}  clients ${node.host}:${node.clientPort}  peers ${node.host}:${node.peerPort}  admin ${node.host}:${node.adminPort}${monitor}  data ${node.dataDir}`);
  }
  const exits: NodeExit[] = [];
  const lastLines = new Map<number, string>();
  let lost: (verdict: Extract<ExitVerdict, { kind: 'stop' }>) => void = () => undefined;
  const cannotCarryOn = new Promise<Extract<ExitVerdict, { kind: 'stop' }>>((resolve) => (lost = resolve));
  const supervisor: Supervisor = new Supervisor({
    configFile,
    ids: config.nodes.map((node) => node.id),
    onLine: (id, line) => {
      lastLines.set(id, line);
      io.out(line);
    },
    onExit: (id, code, signal) => {
      const exit: NodeExit = { id, code, signal, lastLine: lastLines.get(id) };
      exits.push(exit);
      const verdict = judgeNodeExit(config.nodes.length, supervisor.running().length, exits, exit);
      if (verdict.kind === 'stop') lost(verdict);
      else if (stoppedCleanly(exit)) io.out(verdict.note);
      else io.err(`chorus: ${verdict.note}`);
    },
  });
  const pids = new Map<string, number>();
  try {
    supervisor.startAll();
    recordPids(config, supervisor, pids);
    io.out(`press Ctrl-C to stop them all (or run chorus cluster stop${configFile === undefined ? '' : ` -c ${configFile}`})`);
    // Without a pending promise that settles, Node.js would end this process with status 13 when the last node exits.
    const outcome = await Promise.race([stopSignal(), cannotCarryOn]);
    if (outcome === 'signal') {
      io.out('stopping every node');
      return exits.some((exit) => !stoppedCleanly(exit)) ? 1 : 0;
    }
    if (outcome.status === 0) io.out(outcome.note);
    else io.err(`chorus: ${outcome.note}`);
    return outcome.status;
  } finally {
    // Whatever ended the run (a signal, a lost quorum, a pid that could not be recorded), no node outlives it.
    await supervisor.stopAll();
    for (const [dataDir, pid] of pids) removeProcessRecord(dataDir, pid);
  }
}

/** Writes each node's pid into its data directory, for `cluster stop` and `cluster status`. */
function recordPids(config: ClusterConfig, supervisor: Supervisor, pids: Map<string, number>): void {
  const startedAt = new Date().toISOString();
  for (const node of config.nodes) {
    const pid = supervisor.pid(node.id);
    if (pid === undefined) continue;
    writeProcessRecord(node.dataDir, { pid, supervisorPid: process.pid, startedAt });
    pids.set(node.dataDir, pid);
  }
}

function stopSignal(): Promise<'signal'> {
  return new Promise((resolve) => {
    process.once('SIGINT', () => resolve('signal'));
    process.once('SIGTERM', () => resolve('signal'));
  });
}
