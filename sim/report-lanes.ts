// What a report's timeline draws, worked out from the run as plain data: the
// stretch each fault lasted and the lane it belongs on, publish
// acknowledgements per time bucket, and the stretches when the cluster was
// unavailable. Pure functions, so the tests can check them without a page.

import type { NodeId } from '../src/raft/types.js';
import { describeFault, type FaultAction } from './faults.js';
import type { HistoryEvent } from './history.js';
import type { StateSample } from './run.js';

/** A fault as a report keeps it: when, what, and the node a fault aimed at a role struck. */
export interface ReportFault {
  readonly atMs: number;
  /** One line naming the fault and, for a fault aimed at a role, the node it struck. */
  readonly fault: string;
  readonly action: FaultAction;
  /** For crash-leader and its kin: the node struck, or null when none filled the role. */
  readonly struck?: NodeId | null;
}

/** Colour families of the bands, one per kind of harm. */
export type BandCategory = 'down' | 'links' | 'network' | 'disk' | 'clock' | 'mark';

/** One band (or, when fromMs equals toMs, one instant) on a lane of the timeline. */
export interface FaultBand {
  /** A node's lane, or the whole cluster's. */
  readonly lane: NodeId | 'cluster';
  readonly fromMs: number;
  readonly toMs: number;
  /** Short, written on the band: the kind and, on the cluster lane, the nodes. */
  readonly label: string;
  /** Long, shown on hover: when, what, and until when. */
  readonly title: string;
  readonly category: BandCategory;
}

const seconds = (ms: number): string => `${(ms / 1000).toFixed(2)} s`;
const nodeList = (ids: readonly NodeId[]): string => ids.map((id) => `n${id}`).join(',');

interface OpenBand {
  readonly lane: NodeId | 'cluster';
  readonly fromMs: number;
  readonly label: string;
  readonly what: string;
  readonly category: BandCategory;
}

/**
 * Turns the fault schedule into bands. A fault lasts until what undoes it
 * (a restart, a reconnect, a heal, a later setting of the same thing) or until
 * the cluster is healed at healAtMs, when every fault is undone at once
 * (one a script places after the heal lasts to endMs).
 * Faults on one node go on that node's lane; network-wide ones on the
 * cluster's lane, and a partition on both: the cluster's names the sides,
 * each node's names the side it was on.
 */
export function faultBands(faults: readonly ReportFault[], nodes: number, healAtMs: number, endMs: number): FaultBand[] {
  const bands: FaultBand[] = [];
  const open = new Map<string, OpenBand>();
  const close = (key: string, atMs: number): void => {
    const band = open.get(key);
    if (band === undefined) return;
    open.delete(key);
    bands.push({ lane: band.lane, fromMs: band.fromMs, toMs: atMs, label: band.label, category: band.category, title: `${seconds(band.fromMs)}–${seconds(atMs)}: ${band.what}` });
  };
  const closeWhere = (test: (key: string) => boolean, atMs: number): void => {
    for (const key of [...open.keys()]) if (test(key)) close(key, atMs);
  };
  const begin = (key: string, band: OpenBand): void => {
    close(key, band.fromMs);
    open.set(key, band);
  };
  const instant = (lane: NodeId | 'cluster', atMs: number, label: string, what: string, category: BandCategory): void => {
    bands.push({ lane, fromMs: atMs, toMs: atMs, label, category, title: `${seconds(atMs)}: ${what}` });
  };
  const book: BandBook = { begin, close, closeWhere, instant, bands, allNodes: Array.from({ length: nodes }, (_, i) => i + 1) };
  const ordered = [...faults].sort((a, b) => a.atMs - b.atMs);
  // Faults at healAtMs itself still fire before the heal; a script may place some after it.
  for (const fault of ordered.filter((f) => f.atMs <= healAtMs)) applyToBands(fault, book);
  closeWhere(() => true, healAtMs);
  instant('cluster', healAtMs, 'healed', 'healed: every fault undone, every crashed node restarted', 'mark');
  for (const fault of ordered.filter((f) => f.atMs > healAtMs)) applyToBands(fault, book);
  closeWhere(() => true, endMs);
  return bands.sort((a, b) => a.fromMs - b.fromMs || String(a.lane).localeCompare(String(b.lane)));
}

interface BandBook {
  begin(key: string, band: OpenBand): void;
  close(key: string, atMs: number): void;
  closeWhere(test: (key: string) => boolean, atMs: number): void;
  instant(lane: NodeId | 'cluster', atMs: number, label: string, what: string, category: BandCategory): void;
  readonly bands: FaultBand[];
  readonly allNodes: readonly NodeId[];
}

function applyToBands(fault: ReportFault, book: BandBook): void {
  const { atMs, action } = fault;
  const what = fault.fault;
  switch (action.kind) {
    case 'crash':
    case 'torn-crash':
    case 'wipe':
      book.begin(`down:${action.node}`, { lane: action.node, fromMs: atMs, label: action.kind === 'crash' ? 'crashed' : action.kind, what, category: 'down' });
      break;
    case 'crash-leader':
    case 'crash-follower':
    case 'wipe-follower':
    case 'isolate-leader': {
      if (fault.struck === undefined || fault.struck === null) {
        book.instant('cluster', atMs, `${action.kind}: none`, `${what}; nothing happened`, 'mark');
        break;
      }
      const node = fault.struck;
      if (action.kind === 'isolate-leader') book.begin(`isolate:${node}`, { lane: node, fromMs: atMs, label: 'isolate-leader', what, category: 'links' });
      else book.begin(`down:${node}`, { lane: node, fromMs: atMs, label: action.kind, what, category: 'down' });
      break;
    }
    case 'bounce':
      book.close(`down:${action.node}`, atMs);
      book.bands.push({ lane: action.node, fromMs: atMs, toMs: atMs + action.downMs, label: `bounce ${action.downMs}ms`, category: 'down', title: `${seconds(atMs)}: ${what}` });
      break;
    case 'restart':
      book.close(`down:${action.node}`, atMs);
      book.instant(action.node, atMs, 'restart', what, 'mark');
      break;
    case 'isolate':
      book.begin(`isolate:${action.node}`, { lane: action.node, fromMs: atMs, label: 'isolated', what, category: 'links' });
      break;
    case 'reconnect':
      book.close(`isolate:${action.node}`, atMs);
      book.instant(action.node, atMs, 'reconnect', what, 'mark');
      break;
    case 'partition':
      partitionBands(fault, action.groups, book);
      break;
    case 'one-way':
      oneWayBands(fault, action.from, action.to, book);
      break;
    case 'heal':
      book.closeWhere((key) => key.startsWith('isolate:') || key.startsWith('links:') || key.startsWith('one-way'), atMs);
      book.instant('cluster', atMs, 'heal', `${what}: every link restored`, 'mark');
      break;
    default:
      settingBands(fault, book);
  }
}

/** A partition replaces the partition before it; isolated nodes and one-way cuts stay cut (SimCluster keeps each cut's reason). */
function partitionBands(fault: ReportFault, groups: readonly (readonly NodeId[])[], book: BandBook): void {
  const { atMs } = fault;
  book.closeWhere((key) => key.startsWith('links:'), atMs);
  const sides = groups.map((group) => `{${nodeList(group)}}`).join(' | ');
  book.begin('links:cluster', { lane: 'cluster', fromMs: atMs, label: `partition ${sides}`, what: fault.fault, category: 'links' });
  for (const node of book.allNodes) {
    const group = groups.find((g) => g.includes(node));
    const label = group === undefined ? 'cut off by partition' : `partition: side {${nodeList(group)}}`;
    book.begin(`links:${node}`, { lane: node, fromMs: atMs, label, what: fault.fault, category: 'links' });
  }
}

/** A one-way cut adds to what is cut already; a heal or a partition ends it. */
function oneWayBands(fault: ReportFault, from: readonly NodeId[], to: readonly NodeId[], book: BandBook): void {
  const { atMs } = fault;
  const key = `one-way@${atMs}`;
  book.begin(`${key}:cluster`, { lane: 'cluster', fromMs: atMs, label: `one-way {${nodeList(from)}} -/-> {${nodeList(to)}}`, what: fault.fault, category: 'links' });
  for (const node of from) book.begin(`${key}:${node}`, { lane: node, fromMs: atMs, label: `cannot send to ${nodeList(to)}`, what: fault.fault, category: 'links' });
  for (const node of to) book.begin(`${key}:${node}`, { lane: node, fromMs: atMs, label: `cannot hear ${nodeList(from)}`, what: fault.fault, category: 'links' });
}

/** Faults that set something (a loss rate, a disk's speed, a clock) last until set again or healed. */
function settingBands(fault: ReportFault, book: BandBook): void {
  const { atMs, action } = fault;
  const what = fault.fault;
  switch (action.kind) {
    case 'loss':
    case 'duplicate':
      book.close(action.kind, atMs);
      if (action.rate > 0) book.begin(action.kind, { lane: 'cluster', fromMs: atMs, label: `${action.kind} ${(action.rate * 100).toFixed(0)}%`, what, category: 'network' });
      break;
    case 'delay':
      book.begin('delay', { lane: 'cluster', fromMs: atMs, label: `delay ~${action.meanMs}ms`, what, category: 'network' });
      break;
    case 'slow-disk':
      book.begin(`slow-disk:${action.node}`, { lane: action.node, fromMs: atMs, label: `slow disk ${action.syncMs}ms`, what, category: 'disk' });
      break;
    case 'disk-full':
      book.begin(`disk-full:${action.node}`, { lane: action.node, fromMs: atMs, label: 'disk full', what, category: 'disk' });
      break;
    case 'clock-offset':
      book.begin(`clock-offset:${action.node}`, { lane: action.node, fromMs: atMs, label: `clock ${signed(action.offsetMs)}ms`, what, category: 'clock' });
      break;
    case 'clock-drift':
      book.begin(`clock-drift:${action.node}`, { lane: action.node, fromMs: atMs, label: `drift ${signed(action.driftPpm)}ppm`, what, category: 'clock' });
      break;
    case 'clock-jump':
      book.instant(action.node, atMs, `clock jump ${signed(action.jumpMs)}ms`, what, 'clock');
      break;
    case 'slow-client':
      // A client is no node: its pause goes on the whole cluster's lane, for as long as it lasts.
      book.bands.push({ lane: 'cluster', fromMs: atMs, toMs: atMs + action.forMs, label: `slow client ${action.client}`, category: 'network', title: `${seconds(atMs)}: ${what}` });
      break;
    default:
      // Every other kind has its own branch in applyToBands; one arriving here is a new kind nobody drew.
      throw new Error(`no band for fault ${describeFault(action)}`);
  }
}

const signed = (value: number): string => (value > 0 ? `+${value}` : String(value));

/** Publish acknowledgements counted per bucket of simulated time. */
export interface AckSeries {
  readonly bucketMs: number;
  readonly counts: readonly number[];
}

/** Bucket sizes small enough to show a stall and large enough that the bars are not noise. */
const BUCKETS_MS = [100, 200, 250, 500, 1000, 2000, 5000, 10_000];
const BUCKETS_MAX = 200;

export function ackSeries(events: readonly HistoryEvent[], endMs: number): AckSeries {
  const bucketMs = BUCKETS_MS.find((size) => endMs / size <= BUCKETS_MAX) ?? BUCKETS_MS[BUCKETS_MS.length - 1]!;
  const counts = new Array<number>(Math.max(1, Math.ceil(endMs / bucketMs))).fill(0);
  for (const event of events) {
    if (event.kind !== 'publish-ok') continue;
    const bucket = Math.min(counts.length - 1, Math.floor(event.timeMs / bucketMs));
    counts[bucket]!++;
  }
  return { bucketMs, counts };
}

/** A stretch of simulated time the cluster served nobody, and why. */
export interface Unavailable {
  readonly fromMs: number;
  readonly toMs: number;
  readonly why: 'no-leader' | 'no-acks';
}

/** How long publishes must wait with none acknowledged before the stretch counts as unavailable. */
export const QUIET_MS = 500;

/**
 * The stretches of at least QUIET_MS during which publishes were waiting for
 * their acknowledgement and none came. A stretch starts when a publish starts
 * waiting with none acknowledged since (or at the last acknowledgement, if
 * others still wait) and ends at the next acknowledgement. A publisher that
 * times out and retries keeps the stretch going; one that stops waiting for
 * longer than QUIET_MS ends it where it stopped.
 */
export function ackStalls(events: readonly HistoryEvent[], endMs: number): Unavailable[] {
  const stalls: Unavailable[] = [];
  const waiting = new Set<string>();
  let quietFromMs: number | undefined;
  let idleFromMs = 0;
  const end = (atMs: number): void => {
    if (quietFromMs !== undefined && atMs - quietFromMs >= QUIET_MS) stalls.push({ fromMs: quietFromMs, toMs: atMs, why: 'no-acks' });
    quietFromMs = undefined;
  };
  for (const event of events) {
    const key = `${event.client}/${'op' in event ? event.op : ''}`;
    if (event.kind === 'publish-invoke') {
      if (waiting.size === 0 && quietFromMs !== undefined && event.timeMs - idleFromMs > QUIET_MS) end(idleFromMs);
      quietFromMs ??= event.timeMs;
      waiting.add(key);
    } else if (event.kind === 'publish-ok') {
      waiting.delete(key);
      end(event.timeMs);
      if (waiting.size > 0) quietFromMs = event.timeMs;
    } else if ((event.kind === 'publish-fail' || event.kind === 'publish-timeout') && waiting.delete(key) && waiting.size === 0) {
      idleFromMs = event.timeMs;
    }
  }
  end(waiting.size > 0 ? endMs : idleFromMs);
  return stalls;
}

/**
 * The stretches when no node was leader, from the sampled states: a stretch
 * runs from the first sample without a leader (from 0 for the first sample)
 * to the first sample with one again.
 */
export function leaderlessStretches(samples: readonly StateSample[]): Unavailable[] {
  const stretches: Unavailable[] = [];
  let fromMs: number | undefined;
  samples.forEach((sample, i) => {
    const led = sample.nodes.some((node) => node.role === 'leader');
    if (!led && fromMs === undefined) fromMs = i === 0 ? 0 : sample.timeMs;
    if (led && fromMs !== undefined) {
      stretches.push({ fromMs, toMs: sample.timeMs, why: 'no-leader' });
      fromMs = undefined;
    }
  });
  if (fromMs !== undefined) stretches.push({ fromMs, toMs: samples[samples.length - 1]!.timeMs, why: 'no-leader' });
  return stretches;
}
