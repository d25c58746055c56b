// Running a scenario against a real local cluster: node processes on loopback
// ports, real TCP and fsync. The same simulated clients (sim/clients.ts) run
// over real sockets, the timeline's faults go through the supervisor (kill -9,
// restart) and the nodes' admin ports (drops, delays, clock skew), and the
// same history checker judges the client history at the end.
//
// Time: the timeline and durations are multiplied by `scale` (1 by default)
// and nodes tick every `tickMs` of wall time (20 ms by default, with the
// scenario's Raft tick counts), so elections take a few hundred milliseconds.
// Faults real mode cannot make are skipped, and the run says which: message
// loss and duplication, slow disks and clock drift (the admin port has no
// such knobs), and torn writes, which become plain kill -9s.

import * as fs from 'node:fs';
import * as net from 'node:net';
import type { NodeId } from '../src/raft/types.js';
import { ChorusClient } from '../src/runtime/client.js';
import { RealCluster, sleep } from '../src/runtime/local-cluster.js';
import { DEFAULT_BROKER_OPTIONS } from '../src/broker/options.js';
import { BrokerWorkload, snapshotRef, type BrokerWorkloadStats } from './broker-workload.js';
import type { ClientLink, ConnectionHandlers } from './clients.js';
import { describeFault, type FaultAction } from './faults.js';
import { checkHistory, type HistoryViolation } from './history-checker.js';
import type { History, NodeSnapshot } from './history.js';
import type { Scenario } from './scenario.js';

export interface RealRunOptions {
  readonly seed: number;
  readonly scale: number;
  readonly tickMs: number;
  readonly log: (line: string) => void;
}

export interface RealRunResult {
  readonly scenario: string;
  readonly stats: BrokerWorkloadStats;
  readonly history: History;
  readonly violations: readonly HistoryViolation[];
  readonly problems: readonly string[];
  readonly skipped: readonly string[];
  readonly passed: boolean;
}

/** Simulated clients over real sockets: the ClientLink of a real cluster. */
class SocketClientLink implements ClientLink {
  private readonly sockets = new Map<number, net.Socket>();
  private nextSession = 1;
  private readonly startedAt = performance.now();
  private readonly timers = new Set<NodeJS.Timeout>();

  constructor(
    private readonly cluster: RealCluster,
    readonly nodeIds: readonly NodeId[],
  ) {}

  nowMs(): number {
    return performance.now() - this.startedAt;
  }

  after(delayMs: number, _label: string, action: () => void): void {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      action();
    }, Math.max(0, delayMs));
    this.timers.add(timer);
  }

  connect(node: NodeId, handlers: ConnectionHandlers): number | undefined {
    const session = this.nextSession++;
    const socket = net.connect({ host: '127.0.0.1', port: this.cluster.node(node).clientPort });
    socket.setNoDelay(true);
    this.sockets.set(session, socket);
    socket.on('data', (chunk: Buffer) => handlers.onBytes(chunk));
    socket.on('error', () => undefined);
    socket.on('close', () => {
      if (this.sockets.delete(session)) handlers.onClose();
    });
    return session;
  }

  send(session: number, bytes: Uint8Array): void {
    this.sockets.get(session)?.write(bytes);
  }

  close(session: number): void {
    const socket = this.sockets.get(session);
    this.sockets.delete(session);
    socket?.destroy();
  }

  stop(): void {
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    for (const socket of this.sockets.values()) socket.destroy();
    this.sockets.clear();
  }
}

export async function runScenarioOnRealCluster(scenario: Scenario, options: RealRunOptions): Promise<RealRunResult> {
  const raft = { electionTicksMin: 15, heartbeatTicks: 5, ...scenario.cluster.raft };
  // No declared streams: the workload creates its own through the protocol, as in the simulator.
  const cluster = await RealCluster.create(scenario.nodes, options.tickMs, raft.electionTicksMin, raft.heartbeatTicks, []);
  const skipped: string[] = [];
  const problems: string[] = [];
  const skews = new Map<NodeId, number>();
  const ms = (simulatedMs: number): number => simulatedMs * options.scale;
  cluster.start();
  let link: SocketClientLink | undefined;
  try {
    await cluster.waitForLeader(cluster.nodes.map((node) => node.id), 20_000);
    link = new SocketClientLink(cluster, cluster.nodes.map((node) => node.id));
    const window = { dedupWindowMs: DEFAULT_BROKER_OPTIONS.dedupWindowMs / 2, historyMessagesMax: DEFAULT_BROKER_OPTIONS.historyMessagesMax };
    const workload = new BrokerWorkload(link, options.seed, scenario.workload, window, ms(scenario.durationMs));
    workload.start();
    const clientLink = link;
    for (const fault of scenario.timeline) {
      clientLink.after(ms(fault.atMs), 'fault', () => {
        void applyRealFault(cluster, fault.action, skews).then((note) => {
          if (note !== undefined) skipped.push(`${(fault.atMs / 1000).toFixed(2)}s ${note}`);
          options.log(`${(clientLink.nowMs() / 1000).toFixed(2)}s ${describeFault(fault.action)}${note === undefined ? '' : ` (${note})`}`);
        });
      });
    }
    await sleep(ms(scenario.healAtMs));
    options.log(`${(link.nowMs() / 1000).toFixed(2)}s healing everything`);
    await healAll(cluster);
    const healedAt = performance.now();
    try {
      await cluster.waitForLeader(cluster.nodes.map((node) => node.id), Math.max(ms(scenario.expect.leaderWithinMs), 1000));
    } catch {
      problems.push(`no leader within ${ms(scenario.expect.leaderWithinMs)} ms of healing`);
    }
    const healDelay = performance.now() - healedAt;
    await sleep(Math.max(0, ms(scenario.durationMs - scenario.healAtMs) - healDelay));
    workload.stop();
    link.stop();
    await converge(cluster, problems);
    const logs = await finalLogs(cluster, scenario.workload.topics);
    const history = workload.finish(link.nowMs(), logs);
    const violations = checkHistory(history);
    const stats = workload.stats();
    if (scenario.expect.progress && !history.events.some((event) => event.kind === 'publish-ok' && event.timeMs >= ms(scenario.healAtMs))) {
      problems.push('progress: no publish was acknowledged after healing');
    }
    return { scenario: scenario.name, stats, history, violations, problems, skipped, passed: violations.length === 0 && problems.length === 0 };
  } finally {
    link?.stop();
    await cluster.stop();
    cluster.remove();
  }
}

async function leaderOf(cluster: RealCluster): Promise<NodeId | undefined> {
  for (const id of cluster.supervisor.running()) {
    const status = await cluster.status(id);
    if (status?.role === 'leader') return id;
  }
  return undefined;
}

/** Makes one fault happen; returns a note when real mode can only approximate it or not make it at all. */
async function applyRealFault(cluster: RealCluster, action: FaultAction, skews: Map<NodeId, number>): Promise<string | undefined> {
  const everyone = cluster.nodes.map((node) => node.id);
  const running = (): number[] => cluster.supervisor.running();
  switch (action.kind) {
    case 'crash':
      await cluster.supervisor.kill(action.node);
      return undefined;
    case 'torn-crash':
      await cluster.supervisor.kill(action.node);
      return 'a plain kill -9: a torn write cannot be forced on a real disk';
    case 'wipe':
    case 'wipe-follower': {
      const leader = action.kind === 'wipe' ? undefined : await leaderOf(cluster);
      const target = action.kind === 'wipe' ? action.node : running().find((id) => id !== leader);
      if (target === undefined) return undefined;
      await cluster.supervisor.kill(target);
      fs.rmSync(cluster.node(target).dataDir, { recursive: true, force: true });
      return undefined;
    }
    case 'disk-full':
      return 'skipped: a real disk cannot be filled safely for one node';
    case 'crash-leader':
    case 'crash-follower': {
      const leader = await leaderOf(cluster);
      const target = action.kind === 'crash-leader' ? leader : running().find((id) => id !== leader);
      if (target !== undefined) await cluster.supervisor.kill(target);
      return undefined;
    }
    case 'restart':
      if (!running().includes(action.node)) cluster.supervisor.start(action.node);
      return undefined;
    case 'bounce':
      await cluster.supervisor.kill(action.node);
      setTimeout(() => {
        if (!running().includes(action.node)) cluster.supervisor.start(action.node);
      }, action.downMs);
      return undefined;
    case 'isolate':
      await cluster.admin(action.node, 'ISOLATE').catch(() => undefined);
      return undefined;
    case 'isolate-leader': {
      const leader = await leaderOf(cluster);
      if (leader !== undefined) await cluster.admin(leader, 'ISOLATE').catch(() => undefined);
      return undefined;
    }
    case 'reconnect':
    case 'heal':
      await adminAll(cluster, running(), () => ['HEAL']);
      return action.kind === 'reconnect' ? 'heals every link, as the admin port cannot restore one node alone' : undefined;
    case 'partition': {
      const groupOf = new Map<NodeId, number>();
      action.groups.forEach((group, index) => group.forEach((id) => groupOf.set(id, index)));
      await adminAll(cluster, running(), (id) => {
        const others = everyone.filter((other) => other !== id && groupOf.get(other) !== groupOf.get(id));
        return others.length === 0 ? [] : [`DROP TO ${others.join(',')}`, `DROP FROM ${others.join(',')}`];
      });
      return undefined;
    }
    case 'one-way':
      await adminAll(cluster, running().filter((id) => action.from.includes(id)), () => [`DROP TO ${action.to.join(',')}`]);
      return undefined;
    case 'delay':
      await adminAll(cluster, running(), (id) => {
        const others = everyone.filter((other) => other !== id);
        return others.length === 0 ? [] : [`DELAY TO ${others.join(',')} ${Math.round(action.meanMs)}`];
      });
      return `a fixed delay of ${action.meanMs} ms`;
    case 'clock-offset':
    case 'clock-jump': {
      const skew = action.kind === 'clock-offset' ? action.offsetMs : (skews.get(action.node) ?? 0) + action.jumpMs;
      skews.set(action.node, skew);
      await cluster.admin(action.node, `SKEW ${Math.round(skew)}`).catch(() => undefined);
      return undefined;
    }
    case 'loss':
    case 'duplicate':
    case 'slow-disk':
    case 'clock-drift':
    case 'slow-client':
      return 'skipped: real mode cannot make this fault';
  }
}

async function adminAll(cluster: RealCluster, ids: readonly NodeId[], commands: (id: NodeId) => string[]): Promise<void> {
  await Promise.all(
    ids.map(async (id) => {
      const lines = commands(id);
      if (lines.length > 0) await cluster.admin(id, ...lines).catch(() => undefined);
    }),
  );
}

/** Restarts every killed node and heals every link. Clock skews stay: as in the simulator, they belong to the machines. */
async function healAll(cluster: RealCluster): Promise<void> {
  for (const node of cluster.nodes) if (!cluster.supervisor.running().includes(node.id)) cluster.supervisor.start(node.id);
  // A restarted node needs a moment to listen on its admin port.
  await sleep(300);
  await adminAll(cluster, cluster.supervisor.running(), () => ['HEAL']);
}

/** Waits until every node has applied everything the leader committed. */
async function converge(cluster: RealCluster, problems: string[]): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    const statuses = await Promise.all(cluster.nodes.map((node) => cluster.status(node.id)));
    const commits = statuses.map((status) => Number(status?.commitIndex ?? -1));
    const applied = statuses.map((status) => Number(status?.appliedIndex ?? -1));
    const top = Math.max(...commits);
    if (statuses.every((status) => status !== undefined) && applied.every((index) => index >= top)) return;
    await sleep(100);
  }
  problems.push('the nodes did not converge on one applied log within 20 s of the end');
}

/** Every node's log of each workload topic, read with HISTORY page by page. */
async function finalLogs(cluster: RealCluster, topics: readonly string[]): Promise<NodeSnapshot[]> {
  const logs: NodeSnapshot[] = [];
  for (const node of cluster.nodes) {
    const client = await ChorusClient.connect('127.0.0.1', node.clientPort);
    try {
      const snapshot = [];
      for (const topic of topics) {
        const messages = [];
        for (let from = 1; ; ) {
          const page = await client.history(topic, from, 10_000, 10_000);
          if (page.entries.length === 0) break;
          messages.push(...page.entries.map((entry) => snapshotRef(entry.offset, entry.payload, entry.headers.fields.get('Nats-Msg-Id')?.[0])));
          from = page.entries[page.entries.length - 1]!.offset + 1;
        }
        if (messages.length > 0) snapshot.push({ topic, messages });
      }
      logs.push({ node: node.id, topics: snapshot });
    } finally {
      client.close();
    }
  }
  return logs;
}
