// One node's broker core: the Raft core and the broker's state machine, joined
// by the rule that a publish is acknowledged only AFTER its entry is committed
// and applied. Pure and sans-IO like both of its parts: the driver feeds it
// ticks, peer messages and client publishes with the leader's wall time as an
// explicit timestamp, performs each Ready, and hands the outcomes to clients.
//
// This first slice covers publishes made on the leader. Forwarding from
// followers, client sessions and subscriptions come next (issue 3).

import type { RaftConfig } from '../raft/config.js';
import { RaftNode } from '../raft/node.js';
import type { DurableState, NodeId, RaftMessage, Ready } from '../raft/types.js';
import { encodeBrokerCommand, type MessageHeaders, type PublishCommand } from '../broker/commands.js';
import { DEFAULT_BROKER_OPTIONS, type BrokerOptions } from '../broker/options.js';
import { BrokerStateMachine, type ApplyResult } from '../broker/state-machine.js';
import { publishProblem } from '../broker/validation.js';

export interface PublishRequest {
  readonly topic: string;
  readonly headers: MessageHeaders;
  readonly payload: Uint8Array;
  readonly msgId?: string;
}

export type PublishFailure = 'not-leader' | 'too-large' | 'overloaded' | 'rejected' | 'superseded';

export type PublishOutcome =
  | {
      readonly kind: 'acked';
      readonly requestId: number;
      readonly topic: string;
      readonly offset: number;
      readonly duplicate: boolean;
    }
  | {
      readonly kind: 'failed';
      readonly requestId: number;
      readonly reason: PublishFailure;
      readonly message: string;
      /** Whether the same publish (same message id) may be sent again, here or to leaderHint. */
      readonly retryable: boolean;
      readonly leaderHint: NodeId;
    };

/** A publish waiting for its entry to be applied. */
interface PendingPublish {
  readonly requestId: number;
  /** The term the entry was proposed in; an entry of another term at its index means it was lost. */
  readonly term: number;
}

export class BrokerNode {
  readonly raft: RaftNode;
  readonly state: BrokerStateMachine;
  /** Keyed by log index. Invariant: every key is above the last applied index. */
  private readonly pending = new Map<number, PendingPublish>();

  constructor(
    config: RaftConfig,
    restored: DurableState,
    private readonly brokerOptions: BrokerOptions = DEFAULT_BROKER_OPTIONS,
  ) {
    this.raft = new RaftNode(config, restored);
    this.state = new BrokerStateMachine(brokerOptions);
  }

  tick(): void {
    this.raft.tick();
  }

  step(message: RaftMessage): void {
    this.raft.step(message);
  }

  /**
   * Proposes a publish with the leader's wall time as its timestamp. Returns a
   * failure at once when it cannot be proposed; otherwise the outcome comes
   * from advance() once the entry is applied.
   */
  publish(requestId: number, request: PublishRequest, nowMs: number): PublishOutcome | undefined {
    const command: PublishCommand = { type: 'Publish', ...request, timestampMs: nowMs };
    const problem = publishProblem(command, this.brokerOptions);
    if (problem !== undefined) return this.failure(requestId, 'rejected', problem.reason, false);
    const result = this.raft.propose(encodeBrokerCommand(command));
    if (!result.ok) return this.failure(requestId, result.reason, result.message, result.reason !== 'too-large');
    this.pending.set(result.index, { requestId, term: result.term });
    return undefined;
  }

  takeImmediateMessages(): readonly RaftMessage[] {
    return this.raft.takeImmediateMessages();
  }

  hasReady(): boolean {
    return this.raft.hasReady();
  }

  ready(): Ready {
    return this.raft.ready();
  }

  /**
   * Called AFTER the Ready's writes are durable and its messages sent: applies
   * its committed entries to the state machine, in order, and returns the
   * outcomes of the publishes they settle.
   */
  advance(ready: Ready): PublishOutcome[] {
    const outcomes: PublishOutcome[] = [];
    for (const entry of ready.committedEntries) {
      const result = this.state.applyEntry(entry);
      const waiting = this.pending.get(entry.index);
      if (waiting === undefined) continue;
      this.pending.delete(entry.index);
      outcomes.push(this.settle(waiting, entry.term, result));
    }
    this.raft.advance();
    return outcomes;
  }

  private settle(waiting: PendingPublish, appliedTerm: number, result: ApplyResult): PublishOutcome {
    if (appliedTerm !== waiting.term) {
      // Another leader's entry took the index: this publish was never committed.
      const message = 'leadership changed before the publish was committed; retry with the same message id';
      return this.failure(waiting.requestId, 'superseded', message, true);
    }
    if (result.kind === 'published') {
      return { kind: 'acked', requestId: waiting.requestId, topic: result.topic, offset: result.offset, duplicate: result.duplicate };
    }
    const reason = result.kind === 'rejected' ? result.reason : `unexpected apply result ${result.kind}`;
    return this.failure(waiting.requestId, 'rejected', reason, false);
  }

  private failure(requestId: number, reason: PublishFailure, message: string, retryable: boolean): PublishOutcome {
    return { kind: 'failed', requestId, reason, message, retryable, leaderHint: this.raft.leader() };
  }
}
