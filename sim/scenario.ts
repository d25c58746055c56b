// Scripted fault scenarios: a YAML file names the cluster, the client
// workload, a timeline of faults and the expectations the run must meet.
// docs/scenarios.md describes the format; scenarios/ holds the library.
//
// A scenario becomes the options of one runSimulation (the timeline is a fixed
// fault schedule), so a scenario run is as deterministic as any other: the
// same scenario and seed give the same trace hash.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseYamlFields, YamlFieldError, type FieldPath, type FieldReader } from '../src/runtime/yaml-fields.js';
import type { NodeId } from '../src/raft/types.js';
import { DEFAULT_BROKER_WORKLOAD, NO_LIMITS, type BrokerWorkloadOptions, type PlannedPurge, type WorkloadLimits } from './broker-workload.js';
import { NODES_MAX, type SimClusterOptions } from './cluster.js';
import type { FaultAction, ScheduledFault } from './faults.js';
import { DEFAULT_SIM_RUN_OPTIONS, type SimRunOptions, type SimRunResult } from './run.js';

export { YamlFieldError as ScenarioError };

export interface ScenarioExpectations {
  /** After healAt, a leader must be elected within this many ms. */
  readonly leaderWithinMs: number;
  /** Publishes must be acknowledged after healing (the cluster makes progress again). */
  readonly progress: boolean;
  /** The longest stretch without any acknowledged publish, from the first one to the end, in ms; undefined: no bound. */
  readonly maxUnavailableMs: number | undefined;
  /** After the clients stop, a fresh command must be applied on every live node within this many ms. */
  readonly convergeWithinMs: number;
}

export interface Scenario {
  readonly name: string;
  readonly description: string;
  /** The file it came from. */
  readonly file: string;
  readonly nodes: number;
  readonly durationMs: number;
  /** When every fault is undone (and the liveness bound starts). */
  readonly healAtMs: number;
  readonly cluster: Partial<Omit<SimClusterOptions, 'nodes' | 'seed'>>;
  readonly workload: BrokerWorkloadOptions;
  readonly timeline: readonly ScheduledFault[];
  readonly expect: ScenarioExpectations;
}

const DURATION = /^(\d+(?:\.\d+)?)(ms|s|m)$/;
const UNIT_MS: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000 };

export function loadScenario(file: string): Scenario {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (error) {
    throw new YamlFieldError([`${file}: cannot read: ${(error as Error).message}`]);
  }
  return parseScenario(text, file);
}

/** Finds a scenario by file path, or by name in the scenarios folder. */
export function resolveScenarioFile(nameOrFile: string, folder = 'scenarios'): string {
  if (fs.existsSync(nameOrFile)) return nameOrFile;
  const named = path.join(folder, nameOrFile.endsWith('.yaml') ? nameOrFile : `${nameOrFile}.yaml`);
  if (fs.existsSync(named)) return named;
  throw new YamlFieldError([`${nameOrFile}: no such scenario file, and no ${named}`]);
}

export function listScenarioFiles(folder = 'scenarios'): string[] {
  return fs
    .readdirSync(folder)
    .filter((name) => name.endsWith('.yaml'))
    .sort()
    .map((name) => path.join(folder, name));
}

export function parseScenario(text: string, file: string): Scenario {
  const { reader, root } = parseYamlFields(text, file);
  if (typeof root !== 'object' || root === null || Array.isArray(root)) {
    throw new YamlFieldError([`${file}:1: a scenario is a mapping with name, cluster, workload, timeline and expect`]);
  }
  const top = root as Record<string, unknown>;
  reader.unknownKeys([], top, ['name', 'description', 'cluster', 'duration', 'healAt', 'workload', 'streams', 'timeline', 'expect']);
  const name = reader.string(['name'], top.name);
  if (name !== '' && !/^[a-z0-9][a-z0-9-]*$/.test(name)) reader.problem(['name'], `must be lower-case letters, digits and dashes, got ${JSON.stringify(name)}`);
  const description = top.description === undefined ? '' : reader.string(['description'], top.description);
  const durationMs = duration(reader, ['duration'], top.duration ?? '30s');
  const healAtMs = duration(reader, ['healAt'], top.healAt ?? `${Math.round(durationMs * 0.75)}ms`);
  if (healAtMs > durationMs) reader.problem(['healAt'], `must not be after the duration (${durationMs} ms)`);
  const { nodes, cluster } = readCluster(reader, top.cluster);
  const baseWorkload = readWorkload(reader, top.workload);
  const limits = readLimits(reader, top.streams);
  const purges = readPurges(reader, top.timeline, baseWorkload.topics, durationMs);
  const workload = { ...baseWorkload, limits, purges };
  const timeline = readTimeline(reader, withoutPurges(top.timeline), nodes, durationMs);
  const expect = readExpect(reader, top.expect);
  reader.throwIfProblems();
  return { name, description, file, nodes, durationMs, healAtMs, cluster, workload, timeline, expect };
}

/** The runSimulation options of a scenario run with one seed. */
export function scenarioRunOptions(scenario: Scenario, seed: number): Partial<SimRunOptions> {
  return {
    seed,
    nodes: scenario.nodes,
    durationMs: scenario.durationMs,
    faultFraction: scenario.healAtMs / scenario.durationMs,
    faults: scenario.timeline,
    workload: 'broker',
    broker: scenario.workload,
    leaderBoundMs: scenario.expect.leaderWithinMs,
    convergeBoundMs: scenario.expect.convergeWithinMs,
    cluster: { ...DEFAULT_SIM_RUN_OPTIONS.cluster, ...scenario.cluster },
  };
}

/** An expectation a run failed, with where on the run's timeline it failed. */
export interface UnmetExpectation {
  readonly text: string;
  /** The stretch of simulated time the expectation was about, in ms. */
  readonly fromMs: number;
  readonly toMs: number;
  /** When it became unmet: the end of the run for progress, the moment the bound ran out for unavailability. */
  readonly atMs: number;
}

/** The expectations a run failed, beyond safety and the history checks (which runPassed covers). */
export function unmetExpectations(scenario: Scenario, result: SimRunResult): UnmetExpectation[] {
  const problems: UnmetExpectation[] = [];
  const events = result.broker?.history.events ?? [];
  const acks = events.filter((event) => event.kind === 'publish-ok').map((event) => event.timeMs);
  const endMs = Math.min(scenario.durationMs, result.simulatedMs);
  if (scenario.expect.progress && !acks.some((timeMs) => timeMs >= scenario.healAtMs)) {
    const text = `progress: no publish was acknowledged after healing at ${scenario.healAtMs} ms`;
    problems.push({ text, fromMs: scenario.healAtMs, toMs: result.simulatedMs, atMs: result.simulatedMs });
  }
  const bound = scenario.expect.maxUnavailableMs;
  if (bound !== undefined && acks.length > 0) {
    const worst = longestGap(acks, endMs);
    if (worst.gapMs > bound) {
      const text = `unavailability: no publish was acknowledged for ${worst.gapMs.toFixed(0)} ms from ${worst.fromMs.toFixed(0)} ms (bound ${bound} ms)`;
      problems.push({ text, fromMs: worst.fromMs, toMs: worst.fromMs + worst.gapMs, atMs: worst.fromMs + bound });
    }
  }
  return problems;
}

function longestGap(times: readonly number[], endMs: number): { gapMs: number; fromMs: number } {
  let worst = { gapMs: 0, fromMs: 0 };
  const sorted = [...times].sort((a, b) => a - b);
  for (let i = 0; i < sorted.length; i++) {
    const next = i + 1 < sorted.length ? sorted[i + 1]! : endMs;
    if (next - sorted[i]! > worst.gapMs) worst = { gapMs: next - sorted[i]!, fromMs: sorted[i]! };
  }
  return worst;
}

function duration(reader: FieldReader, at: FieldPath, value: unknown): number {
  const match = typeof value === 'string' ? DURATION.exec(value.trim()) : null;
  if (match === null) {
    reader.problem(at, `must be a duration such as 500ms, 10s or 2m, got ${JSON.stringify(value)}`);
    return 0;
  }
  return Number(match[1]) * UNIT_MS[match[2]!]!;
}

function mapping(reader: FieldReader, at: FieldPath, value: unknown, known: readonly string[]): Record<string, unknown> {
  if (value === undefined || value === null) return {};
  if (typeof value !== 'object' || Array.isArray(value)) {
    reader.problem(at, `must be a mapping, got ${JSON.stringify(value)}`);
    return {};
  }
  const fields = value as Record<string, unknown>;
  reader.unknownKeys(at, fields, known);
  return fields;
}

function number(reader: FieldReader, at: FieldPath, value: unknown, min: number, max: number): number {
  if (typeof value === 'number' && Number.isFinite(value) && value >= min && value <= max) return value;
  reader.problem(at, `must be a number from ${min} to ${max}, got ${JSON.stringify(value)}`);
  return min;
}

function readCluster(reader: FieldReader, value: unknown): { nodes: number; cluster: Scenario['cluster'] } {
  const fields = mapping(reader, ['cluster'], value, ['nodes', 'tickMs', 'raft', 'network', 'disk', 'clocks', 'broker']);
  const nodes = reader.integer(['cluster', 'nodes'], fields.nodes ?? 5, 1, NODES_MAX);
  const cluster: Record<string, unknown> = {};
  if (fields.tickMs !== undefined) cluster.tickMs = number(reader, ['cluster', 'tickMs'], fields.tickMs, 1, 1000);
  for (const key of ['raft', 'network', 'disk', 'clocks'] as const) {
    if (fields[key] !== undefined) cluster[key] = mapping(reader, ['cluster', key], fields[key], Object.keys(SECTION_KEYS[key]));
    for (const [field, fieldValue] of Object.entries((cluster[key] as Record<string, unknown> | undefined) ?? {})) {
      const expected = SECTION_KEYS[key][field];
      if (expected !== undefined && typeof fieldValue !== expected) reader.problem(['cluster', key, field], `must be a ${expected}, got ${JSON.stringify(fieldValue)}`);
    }
  }
  if (fields.broker !== undefined) cluster.broker = { node: readBrokerNode(reader, fields.broker) };
  return { nodes, cluster: cluster as Scenario['cluster'] };
}

/** `cluster.broker`: each client connection's output budgets on the nodes, in bytes (BrokerNodeOptions). */
function readBrokerNode(reader: FieldReader, value: unknown): { sessionOutputBytesMax?: number; sessionPendingBytesMax?: number } {
  const fields = mapping(reader, ['cluster', 'broker'], value, ['sessionOutputBytesMax', 'sessionPendingBytesMax']);
  const budget = (key: 'sessionOutputBytesMax' | 'sessionPendingBytesMax'): { [key: string]: number } =>
    fields[key] === undefined ? {} : { [key]: reader.integer(['cluster', 'broker', key], fields[key], 1, Number.MAX_SAFE_INTEGER) };
  return { ...budget('sessionOutputBytesMax'), ...budget('sessionPendingBytesMax') };
}

const SECTION_KEYS: Readonly<Record<'raft' | 'network' | 'disk' | 'clocks', Readonly<Record<string, 'number' | 'boolean'>>>> = {
  raft: {
    electionTicksMin: 'number',
    heartbeatTicks: 'number',
    entriesPerMessageMax: 'number',
    bytesPerMessageMax: 'number',
    inflightAppendsMax: 'number',
    uncommittedBytesMax: 'number',
    commandBytesMax: 'number',
    committedEntriesPerReadyMax: 'number',
    readiesInFlightMax: 'number',
    preVote: 'boolean',
    checkQuorum: 'boolean',
    electionBackoffMax: 'number',
  },
  network: { loss: 'number', duplicate: 'number', delayMinMs: 'number', delayMeanMs: 'number', delayMaxMs: 'number' },
  disk: { writeLatencyMinMs: 'number', writeLatencyMaxMs: 'number', syncLatencyMinMs: 'number', syncLatencyMaxMs: 'number', readFlipChance: 'number', spaceBytes: 'number' },
  clocks: { offsetMsMax: 'number', driftPpmMax: 'number' },
};

function readWorkload(reader: FieldReader, value: unknown): BrokerWorkloadOptions {
  const fields = mapping(reader, ['workload'], value, ['publishers', 'rate', 'topics', 'timeout', 'attempts', 'windows', 'openLoop']);
  const topics = fields.topics ?? DEFAULT_BROKER_WORKLOAD.topics;
  if (!Array.isArray(topics) || topics.length === 0 || !topics.every((topic) => typeof topic === 'string' && /^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/.test(topic))) {
    reader.problem(['workload', 'topics'], `must be a list of topic names like orders.eu, got ${JSON.stringify(topics)}`);
  }
  return {
    publishers: reader.integer(['workload', 'publishers'], fields.publishers ?? DEFAULT_BROKER_WORKLOAD.publishers, 1, 100),
    publishesPerSecond: number(reader, ['workload', 'rate'], fields.rate ?? DEFAULT_BROKER_WORKLOAD.publishesPerSecond, 0.1, 100_000),
    topics: Array.isArray(topics) ? (topics as string[]) : DEFAULT_BROKER_WORKLOAD.topics,
    publishTimeoutMs: fields.timeout === undefined ? DEFAULT_BROKER_WORKLOAD.publishTimeoutMs : duration(reader, ['workload', 'timeout'], fields.timeout),
    attemptsMax: reader.integer(['workload', 'attempts'], fields.attempts ?? DEFAULT_BROKER_WORKLOAD.attemptsMax, 1, 1000),
    limits: NO_LIMITS,
    purges: [],
    ...readPublisherFlow(reader, fields),
  };
}

/** `windows` (each publisher's in-flight window, the last standing for the rest) and `openLoop`. */
function readPublisherFlow(reader: FieldReader, fields: Record<string, unknown>): { windows?: number[]; openLoop?: boolean } {
  const flow: { windows?: number[]; openLoop?: boolean } = {};
  if (fields.windows !== undefined) {
    if (!Array.isArray(fields.windows) || fields.windows.length === 0) {
      reader.problem(['workload', 'windows'], `must be a list of window sizes, one per publisher, like [1, 16], got ${JSON.stringify(fields.windows)}`);
    } else {
      flow.windows = fields.windows.map((size: unknown, index) => reader.integer(['workload', 'windows', index], size, 1, 10_000));
    }
  }
  if (fields.openLoop !== undefined) {
    if (typeof fields.openLoop !== 'boolean') reader.problem(['workload', 'openLoop'], `must be true or false, got ${JSON.stringify(fields.openLoop)}`);
    else flow.openLoop = fields.openLoop;
  }
  return flow;
}

/**
 * `streams:` sets the limits of every workload topic's stream, in JetStream's
 * spelling: max_msgs, max_bytes, max_age, discard.
 */
function readLimits(reader: FieldReader, value: unknown): WorkloadLimits {
  const fields = mapping(reader, ['streams'], value, ['max_msgs', 'max_bytes', 'max_age', 'discard']);
  const count = (key: 'max_msgs' | 'max_bytes'): number => (fields[key] === undefined ? -1 : reader.integer(['streams', key], fields[key], -1, Number.MAX_SAFE_INTEGER));
  const discard = fields.discard ?? 'old';
  if (discard !== 'old' && discard !== 'new') reader.problem(['streams', 'discard'], `must be old or new, got ${JSON.stringify(discard)}`);
  return {
    maxMsgs: count('max_msgs'),
    maxBytes: count('max_bytes'),
    maxAgeMs: fields.max_age === undefined ? 0 : duration(reader, ['streams', 'max_age'], fields.max_age),
    discard: discard === 'new' ? 'new' : 'old',
  };
}

/** Timeline steps `{ at, do: purge, topic, keep? }`: a client's purges, not faults. */
function readPurges(reader: FieldReader, value: unknown, topics: readonly string[], durationMs: number): PlannedPurge[] {
  if (!Array.isArray(value)) return [];
  const purges: PlannedPurge[] = [];
  value.forEach((item: unknown, index) => {
    if (typeof item !== 'object' || item === null || (item as Record<string, unknown>).do !== 'purge') return;
    const step = item as Record<string, unknown>;
    const at: FieldPath = ['timeline', index];
    reader.unknownKeys(at, step, ['at', 'do', 'topic', 'keep']);
    const atMs = duration(reader, [...at, 'at'], step.at);
    if (atMs >= durationMs) reader.problem([...at, 'at'], `must be before the end of the run (${durationMs} ms)`);
    const topic = step.topic;
    if (typeof topic !== 'string' || !topics.includes(topic)) {
      reader.problem([...at, 'topic'], `must be one of the workload's topics (${topics.join(', ')}), got ${JSON.stringify(topic)}`);
      return;
    }
    const keep = step.keep === undefined ? undefined : reader.integer([...at, 'keep'], step.keep, 0, Number.MAX_SAFE_INTEGER);
    purges.push({ atMs, topic, ...(keep === undefined ? {} : { keep }) });
  });
  return purges.sort((a, b) => a.atMs - b.atMs);
}

/** The timeline without its purge steps, which readPurges takes; kept positions so problems name the right step. */
function withoutPurges(value: unknown): unknown {
  if (!Array.isArray(value)) return value;
  return value.map((item: unknown) => (typeof item === 'object' && item !== null && (item as Record<string, unknown>).do === 'purge' ? SKIPPED_STEP : item));
}

const SKIPPED_STEP = Symbol('purge step');

function readExpect(reader: FieldReader, value: unknown): ScenarioExpectations {
  const fields = mapping(reader, ['expect'], value, ['safety', 'leaderWithin', 'progress', 'maxUnavailable', 'convergeWithin']);
  if (fields.safety !== undefined && fields.safety !== true) reader.problem(['expect', 'safety'], 'safety is always checked and cannot be turned off; write true or leave it out');
  if (fields.progress !== undefined && typeof fields.progress !== 'boolean') reader.problem(['expect', 'progress'], `must be true or false, got ${JSON.stringify(fields.progress)}`);
  return {
    leaderWithinMs: duration(reader, ['expect', 'leaderWithin'], fields.leaderWithin ?? '10s'),
    progress: fields.progress !== false,
    maxUnavailableMs: fields.maxUnavailable === undefined ? undefined : duration(reader, ['expect', 'maxUnavailable'], fields.maxUnavailable),
    convergeWithinMs: duration(reader, ['expect', 'convergeWithin'], fields.convergeWithin ?? '10s'),
  };
}

/** Fault kinds a timeline may name, with the fields each takes. */
const ACTION_FIELDS: Readonly<Record<string, readonly string[]>> = {
  crash: ['node', 'torn'],
  restart: ['node'],
  bounce: ['node', 'down'],
  isolate: ['node'],
  reconnect: ['node'],
  partition: ['groups'],
  'one-way': ['from', 'to'],
  heal: [],
  loss: ['rate'],
  duplicate: ['rate'],
  delay: ['min', 'mean'],
  'slow-disk': ['node', 'sync'],
  'clock-offset': ['node', 'ms'],
  'clock-drift': ['node', 'ppm'],
  'clock-jump': ['node', 'ms'],
  wipe: ['node'],
  'disk-full': ['node'],
  'slow-client': ['client', 'for'],
};

function readTimeline(reader: FieldReader, value: unknown, nodes: number, durationMs: number): ScheduledFault[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) {
    reader.problem(['timeline'], `must be a list of steps like { at: 5s, do: crash, node: leader }, got ${JSON.stringify(value)}`);
    return [];
  }
  const faults: ScheduledFault[] = [];
  value.forEach((item: unknown, index) => {
    if (item === SKIPPED_STEP) return;
    const at: FieldPath = ['timeline', index];
    if (typeof item !== 'object' || item === null || Array.isArray(item)) {
      reader.problem(at, `must be a mapping like { at: 5s, do: crash, node: leader }, got ${JSON.stringify(item)}`);
      return;
    }
    const step = item as Record<string, unknown>;
    const kind = step.do;
    if (typeof kind !== 'string' || ACTION_FIELDS[kind] === undefined) {
      reader.problem([...at, 'do'], `must be one of ${[...Object.keys(ACTION_FIELDS), 'purge'].join(', ')}, got ${JSON.stringify(kind)}`);
      return;
    }
    reader.unknownKeys(at, step, ['at', 'do', ...ACTION_FIELDS[kind]!]);
    const atMs = duration(reader, [...at, 'at'], step.at);
    if (atMs >= durationMs) reader.problem([...at, 'at'], `must be before the end of the run (${durationMs} ms)`);
    for (const action of readAction(reader, at, kind, step, nodes)) faults.push({ atMs, action });
  });
  return faults.sort((a, b) => a.atMs - b.atMs);
}

function readAction(reader: FieldReader, at: FieldPath, kind: string, step: Record<string, unknown>, nodes: number): FaultAction[] {
  const node = (): NodeId | 'leader' | 'all' | 'follower' => {
    const value = step.node;
    if (value === 'leader' || value === 'all' || value === 'follower') return value;
    return reader.integer([...at, 'node'], value, 1, nodes);
  };
  const ids = (field: string): NodeId[] => {
    const value = step[field];
    if (!Array.isArray(value) || value.length === 0) {
      reader.problem([...at, field], `must be a list of node ids, got ${JSON.stringify(value)}`);
      return [];
    }
    return value.map((id, position) => reader.integer([...at, field, position], id, 1, nodes));
  };
  const every = (target: NodeId | 'leader' | 'all' | 'follower', make: (id: NodeId) => FaultAction): FaultAction[] => {
    if (target === 'follower' || target === 'leader') {
      reader.problem([...at, 'node'], `${kind} needs a node id or all`);
      return [];
    }
    return target === 'all' ? Array.from({ length: nodes }, (_, i) => make(i + 1)) : [make(target)];
  };
  switch (kind) {
    case 'crash': {
      const target = node();
      if (step.torn !== undefined && typeof step.torn !== 'boolean') reader.problem([...at, 'torn'], 'must be true or false');
      if (target === 'leader' || target === 'follower') {
        if (step.torn === true) reader.problem([...at, 'torn'], 'a torn crash needs a node id');
        return [{ kind: target === 'leader' ? 'crash-leader' : 'crash-follower' }];
      }
      return every(target, (id) => (step.torn === true ? { kind: 'torn-crash', node: id } : { kind: 'crash', node: id }));
    }
    case 'wipe': {
      const target = node();
      if (target === 'follower') return [{ kind: 'wipe-follower' }];
      return every(target, (id) => ({ kind: 'wipe', node: id }));
    }
    case 'restart':
    case 'reconnect':
    case 'disk-full': {
      return every(node(), (id) => ({ kind, node: id }));
    }
    case 'isolate': {
      const target = node();
      if (target === 'leader') return [{ kind: 'isolate-leader' }];
      return every(target, (id) => ({ kind: 'isolate', node: id }));
    }
    case 'bounce': {
      const target = node();
      const downMs = duration(reader, [...at, 'down'], step.down ?? '0ms');
      return every(target, (id) => ({ kind: 'bounce', node: id, downMs }));
    }
    case 'partition': {
      const groups = step.groups;
      if (!Array.isArray(groups) || groups.length < 2 || !groups.every(Array.isArray)) {
        reader.problem([...at, 'groups'], `must be a list of at least two lists of node ids, got ${JSON.stringify(groups)}`);
        return [];
      }
      return [{ kind: 'partition', groups: (groups as unknown[][]).map((group, g) => group.map((id, i) => reader.integer([...at, 'groups', g, i], id, 1, nodes))) }];
    }
    case 'one-way':
      return [{ kind: 'one-way', from: ids('from'), to: ids('to') }];
    case 'heal':
      return [{ kind: 'heal' }];
    case 'loss':
    case 'duplicate':
      return [{ kind, rate: number(reader, [...at, 'rate'], step.rate, 0, 1) }];
    case 'delay': {
      const minMs = duration(reader, [...at, 'min'], step.min);
      const meanMs = duration(reader, [...at, 'mean'], step.mean);
      if (meanMs < minMs) reader.problem([...at, 'mean'], 'must not be below min');
      return [{ kind: 'delay', minMs, meanMs }];
    }
    case 'slow-disk': {
      const target = node();
      const syncMs = duration(reader, [...at, 'sync'], step.sync);
      return every(target, (id) => ({ kind: 'slow-disk', node: id, syncMs }));
    }
    case 'clock-offset':
    case 'clock-jump': {
      const target = node();
      const ms = number(reader, [...at, 'ms'], step.ms, -3_600_000, 3_600_000);
      return every(target, (id) => (kind === 'clock-offset' ? { kind, node: id, offsetMs: ms } : { kind: 'clock-jump', node: id, jumpMs: ms }));
    }
    case 'clock-drift': {
      const target = node();
      const driftPpm = number(reader, [...at, 'ppm'], step.ppm, -500_000, 500_000);
      return every(target, (id) => ({ kind: 'clock-drift', node: id, driftPpm }));
    }
    case 'slow-client': {
      const client = step.client;
      if (typeof client !== 'string' || !/^[A-Za-z0-9_-]+$/.test(client)) {
        reader.problem([...at, 'client'], `must name a workload client such as p1, live1 or reader1, got ${JSON.stringify(client)}`);
        return [];
      }
      return [{ kind: 'slow-client', client, forMs: duration(reader, [...at, 'for'], step.for) }];
    }
    default:
      return [];
  }
}
