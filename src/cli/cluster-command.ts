import { parseArgs } from 'node:util';
import type { ClusterConfig, NodeAddress } from '../runtime/config.js';
import { removeProcessRecord, writeProcessRecord } from '../runtime/cluster-processes.js';
import { Supervisor } from '../runtime/supervisor.js';
import { UsageError } from './args.js';
import { judgeNodeExit, stoppedCleanly, type ExitVerdict, type NodeExit } from './cluster-exits.js';
import { clusterStatus, clusterStop } from './cluster-control.js';
import { ClusterRestarts, type RestartVerdict } from './cluster-restarts.js';
import type { CliIo } from './io.js';
import { clusterConfigFrom } from './real-config.js';

export const CLUSTER_HELP = `Usage: chorus cluster start [--no-restart] | stop | status [-c cluster.yaml]

  start    starts every node of the cluster as its own process on this
           machine, prints where each listens, passes on their log lines, and
           stops them all on Ctrl-C. It records each node's pid in the node's
           data directory (cluster-start.json). A node that fails (exits with
           a status other than 0, or is killed) is restarted after 0.5 s,
           doubling with each failure in a row up to 30 s. When the nodes that
           fail again each time they start (3 times in a row) leave fewer than
           a quorum, it stops the rest and exits with status 1, saying why.
           --no-restart: a node that exits is not restarted, and cluster start
           exits with status 1 as soon as fewer than a quorum still run.
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
  const { values } = parseArgs({
    args: rest,
    options: { config: { type: 'string', short: 'c' }, help: { type: 'boolean', short: 'h' }, 'no-restart': { type: 'boolean' } },
  });
  if (values.help === true) {
    io.out(CLUSTER_HELP);
    return 0;
  }
  // A bad configuration throws ConfigError, which runCommand prints one problem to a line.
  const config = clusterConfigFrom(values.config);
  if (sub !== 'start' && values['no-restart'] !== undefined) throw new UsageError(`--no-restart applies to cluster start only`);
  if (sub === 'stop') return clusterStop(config, io);
  if (sub === 'status') return clusterStatus(config, io);
  return clusterStart(config, values.config, values['no-restart'] !== true, io);
}

async function clusterStart(config: ClusterConfig, configFile: string | undefined, restart: boolean, io: CliIo): Promise<number> {
  io.out(`starting ${config.nodes.length} nodes (${config.source}):`);
  for (const node of config.nodes) {
    const monitor = node.monitorPort === 0 ? '' : `  monitor http://${node.host}:${node.monitorPort}/`;
    io.out(`  n${node.id}  clients ${node.host}:${node.clientPort}  peers ${node.host}:${node.peerPort}  admin ${node.host}:${node.adminPort}${monitor}  data ${node.dataDir}`);
  }
  const exits: NodeExit[] = [];
  /** Each node's last line on standard error since it last started, or else its last line. */
  const lastLines = new Map<number, string>();
  const whyLines = new Set<number>();
  const restarts = new ClusterRestarts(config.nodes.map((node) => node.id));
  const restartTimers = new Map<number, NodeJS.Timeout>();
  const pids = new Map<string, number>();
  let lost: (verdict: StopVerdict) => void = () => undefined;
  const cannotCarryOn = new Promise<StopVerdict>((resolve) => (lost = resolve));
  const supervisor: Supervisor = new Supervisor({
    configFile,
    ids: config.nodes.map((node) => node.id),
    onLine: (id, line, stderr) => {
      // A node says why it stops on its standard error; log lines may follow as it closes.
      if (stderr || !whyLines.has(id)) lastLines.set(id, line);
      if (stderr) whyLines.add(id);
      io.out(line);
    },
    onExit: (id, code, signal) => {
      const exit: NodeExit = { id, code, signal, lastLine: lastLines.get(id) };
      exits.push(exit);
      const verdict = restart ? restarts.exited(exit, Date.now()) : judgeNodeExit(config.nodes.length, supervisor.running().length, exits, exit);
      if (verdict.kind === 'stop') return lost(verdict);
      if (stoppedCleanly(exit)) io.out(verdict.note);
      else io.err(`chorus: ${verdict.note}`);
      if (verdict.kind !== 'restart') return;
      restartTimers.set(
        id,
        setTimeout(() => {
          restartTimers.delete(id);
          startNode(id);
          io.out(`restarted n${id} (pid ${supervisor.pid(id) ?? '?'})`);
        }, verdict.delayMs),
      );
    },
  });
  const startNode = (id: number): void => {
    lastLines.delete(id);
    whyLines.delete(id);
    supervisor.start(id);
    restarts.started(id, Date.now());
    recordPid(config.nodes.find((node) => node.id === id)!, supervisor, pids);
  };
  try {
    for (const node of config.nodes) startNode(node.id);
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
    // Whatever ended the run (a signal, a lost quorum, a pid that could not be recorded), no node outlives it, nor starts after it.
    for (const timer of restartTimers.values()) clearTimeout(timer);
    await supervisor.stopAll();
    for (const [dataDir, pid] of pids) removeProcessRecord(dataDir, pid);
  }
}

type StopVerdict = Extract<ExitVerdict | RestartVerdict, { kind: 'stop' }>;

/** Writes a node's pid into its data directory, for `cluster stop` and `cluster status`; a restart replaces it. */
function recordPid(node: NodeAddress, supervisor: Supervisor, pids: Map<string, number>): void {
  const pid = supervisor.pid(node.id);
  if (pid === undefined) return;
  writeProcessRecord(node.dataDir, { pid, supervisorPid: process.pid, startedAt: new Date().toISOString() });
  pids.set(node.dataDir, pid);
}

function stopSignal(): Promise<'signal'> {
  return new Promise((resolve) => {
    process.once('SIGINT', () => resolve('signal'));
    process.once('SIGTERM', () => resolve('signal'));
  });
}
