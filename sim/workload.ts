import { NO_NODE, type NodeId } from '../src/raft/types.js';
import type { SimCluster } from './cluster.js';
import type { SimRandom } from './random.js';

export interface SteadyProposerOptions {
  readonly proposalsPerSecond: number;
  readonly startMs: number;
  readonly stopMs: number;
}

/**
 * A client that proposes commands at a steady rate. It remembers which node it
 * last found to be leader, follows the leader hint a refusal carries, and
 * otherwise tries a random node: the way a real client finds the leader.
 */
export class SteadyProposer {
  /** How many proposals a leader accepted. */
  acceptedCount = 0;
  attempts = 0;
  refusals = 0;
  private target: NodeId;
  private sequence = 0;
  /** One closure for every step, rather than a fresh one per proposal. */
  private readonly step = (): void => this.proposeNext();

  constructor(
    private readonly cluster: SimCluster,
    private readonly random: SimRandom,
    private readonly options: SteadyProposerOptions,
  ) {
    if (!(options.proposalsPerSecond > 0)) throw new Error(`proposalsPerSecond must be positive, got ${options.proposalsPerSecond}`);
    this.target = random.pick(cluster.nodeIds);
  }

  start(): void {
    this.cluster.at(this.options.startMs, 'propose', this.step);
  }

  private proposeNext(): void {
    const nowMs = this.cluster.nowMs();
    if (nowMs >= this.options.stopMs) return;
    const data = encodeCommand(this.sequence++);
    this.attempts++;
    let outcome = this.cluster.propose(this.target, data);
    if (!outcome.accepted) {
      this.refusals++;
      // Follow the hint once, as a client would, before trying again next time.
      const hint = outcome.leaderHint;
      this.target = hint !== NO_NODE && hint !== this.target ? hint : this.random.pick(this.cluster.nodeIds);
      outcome = this.cluster.propose(this.target, data);
    }
    if (outcome.accepted) this.acceptedCount++;
    this.cluster.after(1000 / this.options.proposalsPerSecond, 'propose', this.step);
  }
}

/**
 * The command numbered `sequence` is the ASCII text "c" and its decimal digits.
 * The bytes are written directly rather than through a string and TextEncoder,
 * since this runs for every proposal.
 */
function encodeCommand(sequence: number): Uint8Array {
  let digits = 1;
  for (let rest = sequence; rest >= 10; rest = Math.floor(rest / 10)) digits++;
  const bytes = new Uint8Array(1 + digits);
  bytes[0] = 0x63; // 'c'
  let rest = sequence;
  for (let i = digits; i >= 1; i--) {
    bytes[i] = 0x30 + (rest % 10);
    rest = Math.floor(rest / 10);
  }
  return bytes;
}

