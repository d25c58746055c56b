// Swarm fuzzing: each seed draws its own mix of fault kinds, how often faults
// come, the cluster size and the network, then a random schedule from that mix
// (swarm testing: a run that never draws some kinds explores the others more
// deeply). A failing run's schedule is shrunk to a small one that still fails
// and written as a scenario file, which then replays like any other.

import { DEFAULT_BROKER_WORKLOAD, NO_LIMITS, type BrokerWorkloadOptions, type PlannedPurge, type WorkloadLimits } from './broker-workload.js';
import type { SimClusterOptions } from './cluster.js';
import { EVERY_FAULT_KIND, randomFaultSchedule, type FaultAction, type FaultKind, type ScheduledFault } from './faults.js';
import { runCoverage, type RunCoverage } from './coverage.js';
import { formatHistoryViolation } from './history-checker.js';
import { SimRandom } from './random.js';
import { runPassed, runSimulation, type SimRunOptions, type SimRunResult } from './run.js';

export interface SwarmDraw {
  readonly seed: number;
  /** Whether the seed drew the leader-churn mix (LEADER_CHURN), which sets the nodes, faults, network and Raft pipeline below. */
  readonly leaderChurn: boolean;
  readonly nodes: number;
  readonly durationMs: number;
  readonly healAtMs: number;
  readonly kinds: readonly FaultKind[];
  readonly meanFaultIntervalMs: number;
  readonly faults: readonly ScheduledFault[];
  readonly network: { readonly delayMinMs: number; readonly delayMeanMs: number };
  readonly publishers: SwarmPublishers;
  readonly raft: SwarmRaft;
  readonly budgets: SwarmBudgets;
  /** The chance that a read from a node's disk returns one bit flipped (SimFileSystem's readFlipChance). */
  readonly readFlipChance: number;
  readonly retention: SwarmRetention;
}

/** What removes a seed's messages: its streams' limits and a client's purges (none, for half the seeds). */
export interface SwarmRetention {
  readonly limits: WorkloadLimits;
  readonly purges: readonly PlannedPurge[];
}

/** How the seed's clients publish: how many publishers, each one's window, open or closed loop, and the rate. */
export interface SwarmPublishers {
  readonly count: number;
  /** Each publisher's window, in order. */
  readonly windows: readonly number[];
  readonly openLoop: boolean;
  /** Publishes per second over all publishers (BrokerWorkloadOptions.publishesPerSecond). */
  readonly rate: number;
}

/** The Raft settings a seed draws; the rest keep the simulator's defaults. */
export interface SwarmRaft {
  readonly entriesPerMessageMax: number;
  readonly inflightAppendsMax: number;
  readonly electionTicksMin: number;
  readonly heartbeatTicks: number;
}

/** Each client connection's output budgets on the nodes (BrokerNodeOptions). */
export interface SwarmBudgets {
  /** Output pending before stored deliveries pause and HISTORY reads wait. */
  readonly sessionOutputBytesMax: number;
  /** Output pending beyond which an unstored message cuts the client as a slow consumer. */
  readonly sessionPendingBytesMax: number;
}

/**
 * Election and heartbeat timing pairs, in ticks of 10 ms (the simulator's
 * default, 15 and 5, among them): a heartbeat at most a third of the
 * election timeout, so that a healthy leader is not deposed by the delays
 * the fuzzer's network draws allow.
 */
const RAFT_TIMINGS: readonly { readonly electionTicksMin: number; readonly heartbeatTicks: number }[] = [
  { electionTicksMin: 10, heartbeatTicks: 2 },
  { electionTicksMin: 15, heartbeatTicks: 5 },
  { electionTicksMin: 15, heartbeatTicks: 1 },
  { electionTicksMin: 30, heartbeatTicks: 5 },
];

/** The broker's defaults (4 MiB and 64 MiB), and budgets small enough that the workload fills them. */
const OUTPUT_BUDGETS: readonly SwarmBudgets[] = [
  { sessionOutputBytesMax: 4 * 1024 * 1024, sessionPendingBytesMax: 64 * 1024 * 1024 },
  { sessionOutputBytesMax: 4 * 1024 * 1024, sessionPendingBytesMax: 64 * 1024 * 1024 },
  { sessionOutputBytesMax: 4096, sessionPendingBytesMax: 16_384 },
  { sessionOutputBytesMax: 1024, sessionPendingBytesMax: 2048 },
  { sessionOutputBytesMax: 2048, sessionPendingBytesMax: 1024 },
];

/**
 * The leader-churn mix, which a quarter of the seeds draw instead of their
 * own nodes, fault kinds, fault rate, network and Raft pipeline (publishers,
 * Raft timing, budgets and disks they still draw). It is what the Raft bug of
 * Figure 8 needs, and a drawn mix almost never assembles: one leader's
 * uncommitted tail, a second leader of a later term that writes over the same
 * indexes but is cut off before it replicates, the first leader elected again
 * and re-replicating its old tail one entry a round trip, and that leader lost
 * before its own term's entry reaches a majority, so that the second can win
 * again. Only the four kinds that move leaders, often, on three nodes (with
 * more, or with other kinds among them, hardly any seed gets there), and one
 * entry per append with one append in flight, so that re-replicating a tail
 * takes many round trips for a fault to land in. The network is fast, so that
 * one entry a round trip still carries the workload's rates and followers catch
 * up within the liveness bound; the slow network of the Raft-only hunt would not.
 */
const LEADER_CHURN = {
  chance: 0.25,
  nodes: 3,
  kinds: ['isolate-leader', 'heal', 'crash-leader', 'restart'] as readonly FaultKind[],
  meanFaultIntervalMs: 100,
  network: { delayMinMs: 1, delayMeanMs: 5 },
  raft: { entriesPerMessageMax: 1, inflightAppendsMax: 1 },
  // One entry a round trip drains a follower's backlog slowly: after an open
  // loop at 250 or 500 publishes a second, a follower cut off for seconds
  // takes longer than the usual 10 s to catch up (seed 758 needed 10.5 s).
  // Convergence is still required, within a bound that allows for the pipeline.
  convergeBoundMs: 30_000,
} as const;

/**
 * Draws one seed's swarm configuration and fault schedule. Each part comes
 * from its own stream, so that adding a draw to one leaves the others as
 * they were.
 */
export function drawSwarm(seed: number): SwarmDraw {
  const random = SimRandom.stream(seed, 'swarm');
  // A seed of the leader-churn mix still makes every draw of the 'swarm'
  // stream, in the same order, so that the streams of other seeds, and this
  // seed's other streams, are the same whether or not it churns.
  const leaderChurn = SimRandom.stream(seed, 'swarm-churn').chance(LEADER_CHURN.chance);
  const drawnKinds = EVERY_FAULT_KIND.filter(() => random.chance(0.5));
  const drawnNodes = random.pick([3, 5, 5, 7]);
  const durationMs = 12_000;
  const healAtMs = 8000;
  const drawnIntervalMs = random.pick([100, 300, 1000]);
  const delayMinMs = random.pick([1, 2, 5]);
  const drawnNetwork = { delayMinMs, delayMeanMs: delayMinMs * random.pick([2, 5]) };
  const { nodes, kinds, meanFaultIntervalMs, network } = leaderChurn
    ? LEADER_CHURN
    : { nodes: drawnNodes, kinds: drawnKinds, meanFaultIntervalMs: drawnIntervalMs, network: drawnNetwork };
  const faults = randomFaultSchedule(SimRandom.stream(seed, 'swarm-faults'), { nodes, durationMs: healAtMs, meanIntervalMs: meanFaultIntervalMs, kinds });
  const raft = drawRaft(SimRandom.stream(seed, 'swarm-raft'));
  return {
    seed,
    leaderChurn,
    nodes,
    durationMs,
    healAtMs,
    kinds,
    meanFaultIntervalMs,
    faults,
    network,
    publishers: drawPublishers(SimRandom.stream(seed, 'swarm-publishers')),
    raft: leaderChurn ? { ...raft, ...LEADER_CHURN.raft } : raft,
    budgets: SimRandom.stream(seed, 'swarm-budgets').pick(OUTPUT_BUDGETS),
    // Half the seeds read through a disk path that flips a bit now and then, so that reading back what was written (recovery, catch-up from the blocks) meets it.
    readFlipChance: SimRandom.stream(seed, 'swarm-disk').pick([0, 0, 0.001, 0.01]),
    retention: drawRetention(SimRandom.stream(seed, 'swarm-retention'), healAtMs),
  };
}

/**
 * Half the seeds keep every message. The other half give each topic's stream
 * limits (each of max_msgs, max_bytes and max_age bites in some draws: the
 * workload publishes about 60 messages a second of about 30 bytes over three
 * topics) and have a client purge now and then, some purges keeping the
 * newest few, so that removal meets the faults and the checker's Retention
 * rules (and every other check's handling of removed offsets) have work.
 */
function drawRetention(random: SimRandom, healAtMs: number): SwarmRetention {
  if (random.chance(0.5)) return { limits: NO_LIMITS, purges: [] };
  const limits: WorkloadLimits = {
    maxMsgs: random.pick([-1, 32, 200]),
    maxBytes: random.pick([-1, 2100, 12_000]),
    maxAgeMs: random.pick([0, 1500, 4000]),
    discard: 'old',
  };
  const topics = DEFAULT_BROKER_WORKLOAD.topics;
  const purges = Array.from({ length: random.int(0, 3) }, (): PlannedPurge => {
    const atMs = random.int(500, healAtMs);
    const topic = random.pick(topics);
    return random.chance(0.5) ? { atMs, topic } : { atMs, topic, keep: random.int(1, 20) };
  }).sort((a, b) => a.atMs - b.atMs);
  return { limits, purges };
}

/**
 * Closed loop at the rates of the default workload, or open loop at up to
 * 500 publishes per second, so that a leader cut off from its quorum
 * gathers a long uncommitted tail for the next leader to deal with.
 */
function drawPublishers(random: SimRandom): SwarmPublishers {
  const count = random.int(1, 8);
  const windows = Array.from({ length: count }, () => random.pick([1, 1, 2, 4, 8, 16, 32, 64]));
  const openLoop = random.chance(0.5);
  const rate = openLoop ? random.pick([100, 250, 500]) : random.pick([30, 60, 120]);
  return { count, windows, openLoop, rate };
}

/**
 * Entries in flight to one follower (entries per append times appends in
 * flight) at least this many: a leader replicates at most that many entries
 * a round trip, and with fewer, at the workload's rates and the network's
 * delays, followers fall further behind all run and cannot catch up within
 * the liveness bound. One entry per append is still drawn, with a deep pipeline.
 * Only the leader-churn mix, on its fast network, sends one entry at a time.
 */
const ENTRIES_IN_FLIGHT_MIN = 16;

function drawRaft(random: SimRandom): SwarmRaft {
  const timing = random.pick(RAFT_TIMINGS);
  const entriesPerMessageMax = random.pick([1, 2, 8, 64]);
  const inflightAppendsMax = random.pick([1, 2, 4, 8, 16, 64].filter((appends) => appends * entriesPerMessageMax >= ENTRIES_IN_FLIGHT_MIN));
  return { entriesPerMessageMax, inflightAppendsMax, ...timing };
}

/** The broker workload of a draw. */
export function swarmWorkload(draw: SwarmDraw): BrokerWorkloadOptions {
  const { count, windows, openLoop, rate } = draw.publishers;
  const { limits, purges } = draw.retention;
  return { ...DEFAULT_BROKER_WORKLOAD, publishers: count, windows, openLoop, publishesPerSecond: rate, limits, purges };
}

/** One line naming everything a seed drew but its schedule: what a report shows so a reader knows the run. */
export function describeDraw(draw: SwarmDraw): string {
  const { publishers, raft, budgets } = draw;
  return (
    `${draw.leaderChurn ? 'leader churn: ' : ''}${draw.nodes} nodes, faults [${draw.kinds.join(', ')}] every ${draw.meanFaultIntervalMs} ms (${draw.faults.length} drawn); ` +
    `network delay min ${draw.network.delayMinMs} ms mean ${draw.network.delayMeanMs} ms; ` +
    `${publishers.count} publisher(s), windows [${publishers.windows.join(', ')}], ${publishers.openLoop ? 'open' : 'closed'} loop at ${publishers.rate}/s; ` +
    `raft entries/append ${raft.entriesPerMessageMax}, appends in flight ${raft.inflightAppendsMax}, election ${raft.electionTicksMin} ticks, heartbeat ${raft.heartbeatTicks} ticks; ` +
    `output budgets ${budgets.sessionOutputBytesMax} B (pause) and ${budgets.sessionPendingBytesMax} B (cut); ` +
    `disk read bit flips ${draw.readFlipChance}; ${describeRetention(draw.retention)}`
  );
}

function describeRetention({ limits, purges }: SwarmRetention): string {
  const { maxMsgs, maxBytes, maxAgeMs } = limits;
  const set = [maxMsgs === -1 ? undefined : `max_msgs ${maxMsgs}`, maxBytes === -1 ? undefined : `max_bytes ${maxBytes}`, maxAgeMs === 0 ? undefined : `max_age ${maxAgeMs} ms`];
  const named = set.filter((part) => part !== undefined);
  return `stream limits ${named.length === 0 ? 'none' : named.join(', ')}, ${purges.length} purge(s)`;
}

/** The scenario file's `streams:` line for the drawn limits, or nothing when there are none. */
function streamsLine({ maxMsgs, maxBytes, maxAgeMs }: WorkloadLimits): string[] {
  const fields = [maxMsgs === -1 ? undefined : `max_msgs: ${maxMsgs}`, maxBytes === -1 ? undefined : `max_bytes: ${maxBytes}`, maxAgeMs === 0 ? undefined : `max_age: ${maxAgeMs}ms`];
  const set = fields.filter((field) => field !== undefined);
  return set.length === 0 ? [] : [`streams: { ${set.join(', ')} }`];
}

/** Options that make a run fail on purpose: tests pass planted bugs here. */
export interface FuzzPlants {
  readonly createNode?: SimClusterOptions['createNode'];
  readonly broker?: SimClusterOptions['broker'];
}

export function swarmRunOptions(draw: SwarmDraw, faults: readonly ScheduledFault[], plants: FuzzPlants = {}): Partial<SimRunOptions> {
  return {
    seed: draw.seed,
    nodes: draw.nodes,
    durationMs: draw.durationMs,
    faultFraction: draw.healAtMs / draw.durationMs,
    faults,
    workload: 'broker',
    broker: swarmWorkload(draw),
    ...(draw.leaderChurn ? { convergeBoundMs: LEADER_CHURN.convergeBoundMs } : {}),
    cluster: {
      clocks: { offsetMsMax: 100, driftPpmMax: 200 },
      network: draw.network,
      raft: draw.raft,
      disk: { readFlipChance: draw.readFlipChance },
      ...(plants.createNode === undefined ? {} : { createNode: plants.createNode }),
      broker: { ...plants.broker, node: { ...plants.broker?.node, ...draw.budgets } },
    },
  };
}

/** The first problem of a run, or undefined when it passed. */
export function firstProblem(result: SimRunResult): string | undefined {
  if (runPassed(result)) return undefined;
  if (result.exception !== undefined) return `exception: ${result.exception}`;
  const safety = result.violations[0];
  if (safety !== undefined) return `${safety.property}: ${safety.detail}`;
  // A run that did not converge leaves some nodes behind, and the history
  // checks of the final logs then report what those nodes lack: the liveness
  // failure is the cause, so it comes first.
  const liveness = result.liveness.problems[0];
  if (liveness !== undefined) return liveness;
  const history = result.broker?.violations[0];
  if (history !== undefined) return formatHistoryViolation(history);
  return 'failed';
}

export interface ShrinkResult {
  readonly faults: readonly ScheduledFault[];
  readonly runs: number;
  readonly problem: string;
}

/**
 * Shrinks a failing schedule (delta debugging): drops ever smaller chunks of
 * faults while the run still fails, then single faults, until no one fault can
 * go. `fails` reruns with a candidate schedule and returns its problem. Bounded
 * by runsMax reruns.
 */
export function shrinkSchedule(
  faults: readonly ScheduledFault[],
  fails: (candidate: readonly ScheduledFault[]) => string | undefined,
  problem: string,
  runsMax = 200,
): ShrinkResult {
  let current = [...faults];
  let lastProblem = problem;
  let runs = 0;
  let chunk = Math.max(1, Math.floor(current.length / 2));
  while (chunk >= 1 && runs < runsMax) {
    let removedAny = false;
    for (let start = 0; start < current.length && runs < runsMax; ) {
      const candidate = [...current.slice(0, start), ...current.slice(start + chunk)];
      runs++;
      const candidateProblem = fails(candidate);
      if (candidateProblem !== undefined) {
        current = candidate;
        lastProblem = candidateProblem;
        removedAny = true;
      } else {
        start += chunk;
      }
    }
    if (!removedAny) chunk = Math.floor(chunk / 2);
  }
  return { faults: current, runs, problem: lastProblem };
}

/** A scenario file (YAML) that replays a schedule: what fuzzing writes for a failure it found. */
export function scenarioYaml(name: string, description: string, draw: SwarmDraw, faults: readonly ScheduledFault[]): string {
  const lines = [
    `# seed ${draw.seed} drew: ${describeDraw(draw)}`,
    `name: ${name}`,
    `description: ${JSON.stringify(description)}`,
    'cluster:',
    `  nodes: ${draw.nodes}`,
    `  network: { delayMinMs: ${draw.network.delayMinMs}, delayMeanMs: ${draw.network.delayMeanMs} }`,
    `  raft: { ${Object.entries(draw.raft).map(([key, value]) => `${key}: ${value}`).join(', ')} }`,
    `  broker: { ${Object.entries(draw.budgets).map(([key, value]) => `${key}: ${value}`).join(', ')} }`,
    `  disk: { readFlipChance: ${draw.readFlipChance} }`,
    `duration: ${draw.durationMs}ms`,
    `healAt: ${draw.healAtMs}ms`,
    `workload: { publishers: ${draw.publishers.count}, windows: [${draw.publishers.windows.join(', ')}], openLoop: ${draw.publishers.openLoop}, rate: ${draw.publishers.rate} }`,
    ...streamsLine(draw.retention.limits),
    // Purges are a client's steps, not faults: shrinking keeps them all.
    ...(faults.length === 0 && draw.retention.purges.length === 0 ? ['timeline: []'] : ['timeline:']),
    ...draw.retention.purges.map((purge) => `  - { at: ${purge.atMs}ms, do: purge, topic: ${purge.topic}${purge.keep === undefined ? '' : `, keep: ${purge.keep}`} }`),
    ...faults.map((fault) => `  - ${timelineStep(fault)}`),
    `expect: { leaderWithin: 10s, progress: true${draw.leaderChurn ? `, convergeWithin: ${LEADER_CHURN.convergeBoundMs}ms` : ''} }`,
    '',
  ];
  return lines.join('\n');
}

function timelineStep(fault: ScheduledFault): string {
  const at = `at: ${fault.atMs}ms`;
  const action: FaultAction = fault.action;
  const list = (ids: readonly number[]): string => `[${ids.join(', ')}]`;
  switch (action.kind) {
    case 'crash':
    case 'restart':
    case 'isolate':
    case 'reconnect':
      return `{ ${at}, do: ${action.kind}, node: ${action.node} }`;
    case 'torn-crash':
      return `{ ${at}, do: crash, node: ${action.node}, torn: true }`;
    case 'wipe':
    case 'disk-full':
      return `{ ${at}, do: ${action.kind}, node: ${action.node} }`;
    case 'bounce':
      return `{ ${at}, do: bounce, node: ${action.node}, down: ${action.downMs}ms }`;
    case 'crash-leader':
      return `{ ${at}, do: crash, node: leader }`;
    case 'crash-follower':
      return `{ ${at}, do: crash, node: follower }`;
    case 'wipe-follower':
      return `{ ${at}, do: wipe, node: follower }`;
    case 'isolate-leader':
      return `{ ${at}, do: isolate, node: leader }`;
    case 'partition':
      return `{ ${at}, do: partition, groups: [${action.groups.map(list).join(', ')}] }`;
    case 'one-way':
      return `{ ${at}, do: one-way, from: ${list(action.from)}, to: ${list(action.to)} }`;
    case 'heal':
      return `{ ${at}, do: heal }`;
    case 'loss':
    case 'duplicate':
      return `{ ${at}, do: ${action.kind}, rate: ${action.rate} }`;
    case 'delay':
      return `{ ${at}, do: delay, min: ${action.minMs}ms, mean: ${action.meanMs}ms }`;
    case 'slow-disk':
      return `{ ${at}, do: slow-disk, node: ${action.node}, sync: ${action.syncMs}ms }`;
    case 'clock-offset':
      return `{ ${at}, do: clock-offset, node: ${action.node}, ms: ${action.offsetMs} }`;
    case 'clock-jump':
      return `{ ${at}, do: clock-jump, node: ${action.node}, ms: ${action.jumpMs} }`;
    case 'clock-drift':
      return `{ ${at}, do: clock-drift, node: ${action.node}, ppm: ${action.driftPpm} }`;
    case 'slow-client':
      return `{ ${at}, do: slow-client, client: ${action.client}, for: ${action.forMs}ms }`;
  }
}

export interface FuzzFinding {
  readonly draw: SwarmDraw;
  readonly problem: string;
  readonly shrunk: ShrinkResult;
}

/** Runs one seed; on failure, shrinks its schedule. */
export function fuzzSeed(seed: number, plants: FuzzPlants = {}, shrinkRunsMax = 200): FuzzFinding | undefined {
  return fuzzSeedWithCoverage(seed, plants, shrinkRunsMax).finding;
}

/** fuzzSeed, with what the seed's run exercised (before any shrinking). */
export function fuzzSeedWithCoverage(seed: number, plants: FuzzPlants = {}, shrinkRunsMax = 200): { finding: FuzzFinding | undefined; coverage: RunCoverage } {
  const draw = drawSwarm(seed);
  const result = runSimulation(swarmRunOptions(draw, draw.faults, plants));
  const coverage = runCoverage(result);
  const problem = firstProblem(result);
  if (problem === undefined) return { finding: undefined, coverage };
  const shrunk = shrinkSchedule(draw.faults, (candidate) => firstProblem(runSimulation(swarmRunOptions(draw, candidate, plants))), problem, shrinkRunsMax);
  return { finding: { draw, problem, shrunk }, coverage };
}
