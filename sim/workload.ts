import { NO_NODE, type NodeId } from '../src/raft/types.js';
import type { SimCluster } from './cluster.js';
import type { SimRandom } from './random.js';

export interface ProposalRecord {
  readonly command: string;
  readonly node: NodeId;
  readonly atMs: number;
  readonly index: number;
  readonly term: number;
}

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
  readonly accepted: ProposalRecord[] = [];
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
    const command = `c${this.sequence++}`;
    const data = encodeAscii(command);
    this.attempts++;
    let outcome = this.cluster.propose(this.target, data);
    if (!outcome.accepted) {
      this.refusals++;
      // Follow the hint once, as a client would, before trying again next time.
      const hint = outcome.leaderHint;
      this.target = hint !== NO_NODE && hint !== this.target ? hint : this.random.pick(this.cluster.nodeIds);
      outcome = this.cluster.propose(this.target, data);
    }
    if (outcome.accepted) {
      this.accepted.push({ command, node: this.target, atMs: nowMs, index: outcome.index, term: outcome.term });
    }
    this.cluster.after(1000 / this.options.proposalsPerSecond, 'propose', this.step);
  }
}

/** Commands are short ASCII strings; encoding them by hand avoids TextEncoder's overhead on the hot path. */
function encodeAscii(text: string): Uint8Array {
  const bytes = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i) & 0x7f;
  return bytes;
}
