// Deliberately broken broker cores, for tests only: the simulator runs them
// with its clients, and the history checker must catch each.

import type { MessageStores } from '../../src/broker/message-store.js';
import { BrokerNode, type BrokerNodeOptions } from '../../src/node/broker-node.js';
import type { ClockStamp, PublishAcked } from '../../src/node/peer-messages.js';
import type { RaftConfig } from '../../src/raft/config.js';
import type { DurableState, NodeId } from '../../src/raft/types.js';
import type { BrokerCommand, PublishCommand } from '../../src/broker/commands.js';
import type { ApplyResult } from '../../src/broker/state-machine.js';
import type { PendingEntry } from '../../src/node/broker-node.js';
import type { CommandOutcome, ForwardedCommand } from '../../src/node/peer-messages.js';
import type { Entry } from '../../src/raft/types.js';
import type { RaftNode } from '../../src/raft/node.js';

/**
 * Acknowledges a publish as soon as the leader appends it, before any quorum
 * has it: a leader that crashes or is deposed then loses acknowledged messages.
 * It guesses the offset the message will get, as such a broker would have to.
 */
class AcknowledgesBeforeCommit extends BrokerNode {
  private readonly promised = new Map<string, number>();

  protected override acknowledgeOnPropose(command: PublishCommand): PublishAcked {
    const topic = command.topic;
    const offset = Math.max(this.state.lastOffset(topic), this.promised.get(topic) ?? 0) + 1;
    this.promised.set(topic, offset);
    return { kind: 'acked', stream: this.state.streamFor(topic)?.name ?? topic, topic, offset, timestampMs: command.timestampMs, logical: command.logical ?? 0, duplicate: false };
  }
}

/**
 * Sends its hybrid clock as far ahead as its peers still merge (maxClockOffsetMs
 * past its wall clock), as a node that mixed up units or added its offset
 * twice might: every clock that hears it runs that far ahead of physical time.
 */
class SendsClockAhead extends BrokerNode {
  override clockStampFor(peer: NodeId, nowMs: number): ClockStamp {
    const stamp = super.clockStampFor(peer, nowMs);
    return { ...stamp, hlc: { l: Math.max(stamp.hlc.l, Math.floor(nowMs) + this.options.maxClockOffsetMs), c: 0 } };
  }
}

/**
 * Never takes the stamps of the messages it applies into its hybrid clock, as
 * a node that only merges the clocks its peers send might: a follower with a
 * slower clock then becomes a leader whose clock reads before messages it holds.
 */
class ForgetsAppliedStamps extends BrokerNode {
  protected override witnessApplied(): void {}
}

/**
 * Drops the last byte of every payload it proposes, as a leader with an
 * off-by-one in copying a message out of the client's frame would: what the
 * log holds is then a message no client sent.
 */
class TruncatesPayloads extends BrokerNode {
  protected override commandFor(request: ForwardedCommand, clockMs: number): BrokerCommand | string {
    const command = super.commandFor(request, clockMs);
    if (typeof command === 'string' || command.type !== 'Publish' || command.payload.length === 0) return command;
    return { ...command, payload: command.payload.subarray(0, command.payload.length - 1) };
  }
}

/**
 * Takes a consumer's acknowledgement of offset n as "deliver from n + 1 on"
 * and records n + 1, as a node that confuses the acknowledged offset with the
 * next one to deliver might: the consumer's next start skips a message, and
 * the answer names an offset the consumer never acknowledged.
 */
class AcknowledgesNextOffset extends BrokerNode {
  protected override commandFor(request: ForwardedCommand, clockMs: number): BrokerCommand | string {
    const command = super.commandFor(request, clockMs);
    if (typeof command === 'string' || command.type !== 'ConsumerAck') return command;
    return { ...command, offset: command.offset + 1 };
  }
}

/**
 * Reports a stored message's stamp in the PubAck without its counter, as a
 * reply that formats only the milliseconds might: two messages stamped in the
 * same millisecond (a leader whose clock a peer pushed ahead stamps many) are
 * then acknowledged with the same stamp.
 */
class AcknowledgesStampWithoutCounter extends BrokerNode {
  protected override outcome(waiting: PendingEntry, entry: Entry, result: ApplyResult): CommandOutcome {
    const outcome = super.outcome(waiting, entry, result);
    return outcome.kind === 'acked' ? { ...outcome, logical: 0 } : outcome;
  }
}

/**
 * Drops a stored message meant for a client whose output budget is full, and
 * goes on as if it had been delivered, instead of pausing the subscription
 * until the client reads: a slow subscriber silently misses messages.
 */
class DropsWhenClientFull extends BrokerNode {
  protected override dropsWhenFull(): boolean {
    return true;
  }
}

export const PLANTED_BROKER_BUGS = {
  'ack-before-commit': AcknowledgesBeforeCommit,
  'drop-when-full': DropsWhenClientFull,
  'clock-ahead': SendsClockAhead,
  'forget-applied-stamps': ForgetsAppliedStamps,
  'truncate-payload': TruncatesPayloads,
  'ack-next-offset': AcknowledgesNextOffset,
  'ack-stamp-without-counter': AcknowledgesStampWithoutCounter,
} as const;

export type PlantedBrokerBugName = keyof typeof PLANTED_BROKER_BUGS;

export function plantedBrokerFactory(
  bug: PlantedBrokerBugName,
): (config: RaftConfig, restored: DurableState, options: Partial<BrokerNodeOptions>, snapshotData?: Uint8Array, messageStores?: MessageStores) => BrokerNode {
  const Variant = PLANTED_BROKER_BUGS[bug];
  return (config, restored, options, snapshotData, messageStores) => new Variant(config, restored, options, snapshotData, messageStores);
}

/**
 * The correct broker over a planted-bug Raft core (planted-bugs.ts), so that
 * broker fuzzing can show it catches a consensus bug under the whole broker.
 */
export function brokerOverRaftFactory(
  createRaft: (config: RaftConfig, restored: DurableState) => RaftNode,
): (config: RaftConfig, restored: DurableState, options: Partial<BrokerNodeOptions>, snapshotData?: Uint8Array, messageStores?: MessageStores) => BrokerNode {
  class OverPlantedRaft extends BrokerNode {
    protected override newRaftNode(config: RaftConfig, restored: DurableState): RaftNode {
      return createRaft(config, restored);
    }
  }
  return (config, restored, options, snapshotData, messageStores) => new OverPlantedRaft(config, restored, options, snapshotData, messageStores);
}
