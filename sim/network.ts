import type { NodeId } from '../src/raft/types.js';
import type { PeerMessage } from '../src/node/peer-messages.js';
import type { SimRandom } from './random.js';

export interface NetworkOptions {
  /** Every message takes at least this long. */
  delayMinMs: number;
  /** The mean delay; the part above the minimum is exponential, so messages reorder. */
  delayMeanMs: number;
  /** No message takes longer than this, so "long delays" stay bounded. */
  delayMaxMs: number;
  /** The chance that a message is lost. */
  loss: number;
  /** The chance that a delivered message is delivered a second time. */
  duplicate: number;
}

export const DEFAULT_NETWORK_OPTIONS: NetworkOptions = {
  delayMinMs: 1,
  delayMeanMs: 3,
  delayMaxMs: 100,
  loss: 0,
  duplicate: 0,
};

export function validateNetworkOptions(options: NetworkOptions): string[] {
  const problems: string[] = [];
  if (!(options.delayMinMs >= 0)) problems.push(`delayMinMs must be >= 0, got ${options.delayMinMs}`);
  if (!(options.delayMeanMs >= options.delayMinMs)) {
    problems.push(`delayMeanMs (${options.delayMeanMs}) must be >= delayMinMs (${options.delayMinMs})`);
  }
  if (!(options.delayMaxMs >= options.delayMeanMs)) {
    problems.push(`delayMaxMs (${options.delayMaxMs}) must be >= delayMeanMs (${options.delayMeanMs})`);
  }
  for (const key of ['loss', 'duplicate'] as const) {
    if (!(options[key] >= 0 && options[key] <= 1)) problems.push(`${key} must be within [0, 1], got ${options[key]}`);
  }
  return problems;
}

// ---- Network models: what happens to a message on a link that is not cut.

/**
 * What a network model may use to decide a message's fate. `random` is the
 * run's `network` stream: a model that draws only from it (and decides only
 * from the message, the options and the time) keeps the run a pure function
 * of its seed.
 */
export interface NetworkContext {
  readonly random: SimRandom;
  /** The cluster's network options as they are now (`setNetwork` changes them). */
  readonly options: Readonly<NetworkOptions>;
  /** Simulated time, in ms. */
  nowMs(): number;
}

/**
 * Decides, for each message on a link that is not cut, whether it is lost,
 * how long it takes and whether it arrives twice. The cluster asks
 * `transitMs` once for a message, then `duplicates` once if it was not lost,
 * then `transitMs` again for the copy. Cuts are not the model's business: a
 * message on a cut link is dropped before the model is asked.
 */
export interface NetworkModel {
  /** The message's delay in ms (a number >= 0), or undefined when it is lost. */
  transitMs(message: PeerMessage, context: NetworkContext): number | undefined;
  /** Whether a message that was not lost is delivered a second time. */
  duplicates(message: PeerMessage, context: NetworkContext): boolean;
  /**
   * Problems with these options under this model, checked when the cluster is
   * created and on every `setNetwork`; a non-empty list throws there.
   */
  check?(options: Readonly<NetworkOptions>): string[];
  /**
   * The mean one-way delay this model gives a message, in ms, for the
   * simulator's timing check (`timingWarning`). A model without it is not checked.
   */
  delayMeanMs?(options: Readonly<NetworkOptions>): number;
}

/**
 * The standard model, which every run uses unless told otherwise: each
 * message is lost with probability `loss`; one that is not takes `delayMinMs`
 * plus an exponential extra that brings the mean to `delayMeanMs`, capped at
 * `delayMaxMs`, and is delivered a second time with probability `duplicate`.
 */
export const STANDARD_NETWORK_MODEL: NetworkModel = {
  transitMs(_message, { random, options }) {
    if (random.chance(options.loss)) return undefined;
    const extra = random.exponential(options.delayMeanMs - options.delayMinMs);
    return Math.min(options.delayMinMs + extra, options.delayMaxMs);
  },
  duplicates(_message, { random, options }) {
    return random.chance(options.duplicate);
  },
  // The cap only shortens the exponential's rare tail, so the mean is near delayMeanMs.
  delayMeanMs: (options) => options.delayMeanMs,
};

/** Overrides of the network options for messages of one type (a Raft or a broker message type). */
export type NetworkOptionsByType = Readonly<Partial<Record<string, Partial<NetworkOptions>>>>;

/**
 * The standard model with options of its own for some message types: a
 * message whose type `byType` names draws from the cluster's options with
 * that type's overrides laid over them; any other message draws from the
 * cluster's options. For example `{ VoteRequest: { delayMinMs: 50,
 * delayMeanMs: 60 } }` slows vote requests alone.
 */
export function networkModelByType(byType: NetworkOptionsByType): NetworkModel {
  const types = Object.keys(byType).sort();
  const overridden = (type: string, options: Readonly<NetworkOptions>): Readonly<NetworkOptions> => {
    const override = byType[type];
    return override === undefined ? options : { ...options, ...override };
  };
  return {
    transitMs: (message, context) =>
      STANDARD_NETWORK_MODEL.transitMs(message, { random: context.random, options: overridden(message.type, context.options), nowMs: context.nowMs }),
    duplicates: (message, context) =>
      STANDARD_NETWORK_MODEL.duplicates(message, { random: context.random, options: overridden(message.type, context.options), nowMs: context.nowMs }),
    check: (options) => types.flatMap((type) => validateNetworkOptions(overridden(type, options)).map((problem) => `${type}: ${problem}`)),
    // The slowest type decides whether an election's round trip fits.
    delayMeanMs: (options) => Math.max(options.delayMeanMs, ...types.map((type) => overridden(type, options).delayMeanMs)),
  };
}

export interface LongDelaysOptions {
  /** The share of messages held back, within [0, 1]. */
  readonly fraction: number;
  /** A held-back message takes a delay drawn uniformly from [minMs, maxMs]. */
  readonly minMs: number;
  readonly maxMs: number;
}

/**
 * Long reordering: a `fraction` of the messages is held back for a delay
 * drawn uniformly from [minMs, maxMs]; the others, and the loss and
 * duplication of all, follow the standard model. With `{ fraction: 2 / 3,
 * minMs: 200, maxMs: 2200 }` most messages overtake or are overtaken by
 * others sent seconds apart.
 */
export function longDelaysNetworkModel(longDelays: LongDelaysOptions): NetworkModel {
  const { fraction, minMs, maxMs } = longDelays;
  if (!(fraction >= 0 && fraction <= 1)) throw new Error(`long delays: fraction must be within [0, 1], got ${fraction}`);
  if (!(minMs >= 0 && maxMs >= minMs)) throw new Error(`long delays: need 0 <= minMs <= maxMs, got ${minMs} and ${maxMs}`);
  return {
    transitMs(message, context) {
      const standard = STANDARD_NETWORK_MODEL.transitMs(message, context);
      if (standard === undefined || !context.random.chance(fraction)) return standard;
      return context.random.between(minMs, maxMs);
    },
    duplicates: (message, context) => STANDARD_NETWORK_MODEL.duplicates(message, context),
    delayMeanMs: (options) => (1 - fraction) * options.delayMeanMs + (fraction * (minMs + maxMs)) / 2,
  };
}

// ---- Cuts.

/**
 * Why a directed link is cut. Each fault that cuts links keeps its own
 * reason, and undoing one fault removes only its reason: a link carries
 * messages again only once no reason is left.
 *
 * - `partition`: the current `partition(groups)` separates the two ends;
 * - `one-way`: a `partitionOneWay` cut this direction;
 * - `sender-disconnected` / `receiver-disconnected`: `disconnect(id)` holds
 *   the node at that end.
 */
export type CutReason = 'partition' | 'one-way' | 'sender-disconnected' | 'receiver-disconnected';

/** Bits of a link's cut mask. */
const PARTITION_CUT = 1;
const ONE_WAY_CUT = 2;

/**
 * The simulated network's rules: which directed links are cut and why, and
 * how long a message takes (through its model). Delivery itself is the
 * cluster's job, through the scheduler.
 */
export class SimNetwork {
  private optionsValue: NetworkOptions;
  /** cuts[from * size + to] holds the PARTITION_CUT and ONE_WAY_CUT bits of that link. */
  private readonly cuts: Uint8Array;
  /** disconnected[id] is 1 while the node is disconnected as a whole. */
  private readonly disconnected: Uint8Array;
  private readonly size: number;
  /** Handed to the model with every message; its options are replaced on configure, a plain field read on the hot path. */
  private readonly context: { random: SimRandom; options: Readonly<NetworkOptions>; nowMs: () => number };

  constructor(
    nodeCount: number,
    options: NetworkOptions,
    random: SimRandom,
    readonly model: NetworkModel = STANDARD_NETWORK_MODEL,
    nowMs: () => number = () => 0,
  ) {
    this.size = nodeCount + 1;
    this.cuts = new Uint8Array(this.size * this.size);
    this.disconnected = new Uint8Array(this.size);
    this.optionsValue = this.checked({ ...options });
    this.context = { random, options: this.optionsValue, nowMs };
  }

  options(): Readonly<NetworkOptions> {
    return this.optionsValue;
  }

  configure(changes: Partial<NetworkOptions>): void {
    this.optionsValue = this.checked({ ...this.optionsValue, ...changes });
    this.context.options = this.optionsValue;
  }

  private checked(options: NetworkOptions): NetworkOptions {
    const problems = [...validateNetworkOptions(options), ...(this.model.check?.(options) ?? [])];
    if (problems.length > 0) throw new Error(`bad network options: ${problems.join('; ')}`);
    return options;
  }

  /** Whether messages from `from` to `to` are dropped now, for any reason. */
  isBlocked(from: NodeId, to: NodeId): boolean {
    return this.cuts[from * this.size + to] !== 0 || this.disconnected[from] === 1 || this.disconnected[to] === 1;
  }

  /** Every reason the link from -> to is cut for; empty when it carries messages. */
  cutReasons(from: NodeId, to: NodeId): CutReason[] {
    const reasons: CutReason[] = [];
    const mask = this.cuts[from * this.size + to]!;
    if ((mask & PARTITION_CUT) !== 0) reasons.push('partition');
    if ((mask & ONE_WAY_CUT) !== 0) reasons.push('one-way');
    if (this.disconnected[from] === 1) reasons.push('sender-disconnected');
    if (this.disconnected[to] === 1) reasons.push('receiver-disconnected');
    return reasons;
  }

  /** Sets (or clears) the partition reason of the link from -> to. */
  setPartitionCut(from: NodeId, to: NodeId, cut: boolean): void {
    this.setBit(from, to, PARTITION_CUT, cut);
  }

  /** Sets (or clears) the one-way reason of the link from -> to. */
  setOneWayCut(from: NodeId, to: NodeId, cut: boolean): void {
    this.setBit(from, to, ONE_WAY_CUT, cut);
  }

  private setBit(from: NodeId, to: NodeId, bit: number, on: boolean): void {
    const at = from * this.size + to;
    this.cuts[at] = on ? this.cuts[at]! | bit : this.cuts[at]! & ~bit;
  }

  /** Disconnects a node as a whole (or ends that), apart from any cut of its links. */
  setDisconnected(id: NodeId, disconnected: boolean): void {
    this.disconnected[id] = disconnected ? 1 : 0;
  }

  isDisconnected(id: NodeId): boolean {
    return this.disconnected[id] === 1;
  }

  /** Removes every cut, for every reason. */
  healAll(): void {
    this.cuts.fill(0);
    this.disconnected.fill(0);
  }

  /** Decides a message's fate through the model: undefined when it is lost, else its delay in microseconds. */
  drawDelayUs(message: PeerMessage): number | undefined {
    const delayMs = this.model.transitMs(message, this.context);
    if (delayMs === undefined) return undefined;
    if (!(delayMs >= 0 && delayMs < Number.POSITIVE_INFINITY)) {
      throw new Error(`the network model gave a ${message.type} n${message.from}->n${message.to} a delay of ${delayMs} ms; a delay must be a finite number >= 0`);
    }
    return delayMs * 1000;
  }

  drawDuplicate(message: PeerMessage): boolean {
    return this.model.duplicates(message, this.context);
  }

  /** The model's mean one-way delay under the current options, or undefined when it does not say. */
  delayMeanMs(): number | undefined {
    return this.model.delayMeanMs?.(this.optionsValue);
  }
}
