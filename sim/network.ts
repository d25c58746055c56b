import type { NodeId } from '../src/raft/types.js';
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

/**
 * The simulated network's rules: which directed links are cut, and how long a
 * message takes. Delivery itself is the cluster's job, through the scheduler.
 */
export class SimNetwork {
  private optionsValue: NetworkOptions;
  /** blocked[from * size + to] is 1 when messages from `from` to `to` are dropped. */
  private readonly blocked: Uint8Array;
  private readonly size: number;

  constructor(
    nodeCount: number,
    options: NetworkOptions,
    private readonly random: SimRandom,
  ) {
    this.size = nodeCount + 1;
    this.blocked = new Uint8Array(this.size * this.size);
    this.optionsValue = { ...options };
  }

  options(): Readonly<NetworkOptions> {
    return this.optionsValue;
  }

  configure(changes: Partial<NetworkOptions>): void {
    const next = { ...this.optionsValue, ...changes };
    const problems = validateNetworkOptions(next);
    if (problems.length > 0) throw new Error(`bad network options: ${problems.join('; ')}`);
    this.optionsValue = next;
  }

  isBlocked(from: NodeId, to: NodeId): boolean {
    return this.blocked[from * this.size + to] === 1;
  }

  /** Cuts (or restores) the one-way link from -> to. */
  setBlocked(from: NodeId, to: NodeId, blocked: boolean): void {
    this.blocked[from * this.size + to] = blocked ? 1 : 0;
  }

  healAll(): void {
    this.blocked.fill(0);
  }

  /** Decides a message's fate: undefined when it is lost, else its delay in microseconds. */
  drawDelayUs(): number | undefined {
    const options = this.optionsValue;
    if (this.random.chance(options.loss)) return undefined;
    const extra = this.random.exponential(options.delayMeanMs - options.delayMinMs);
    return Math.min(options.delayMinMs + extra, options.delayMaxMs) * 1000;
  }

  drawDuplicate(): boolean {
    return this.random.chance(this.optionsValue.duplicate);
  }
}
