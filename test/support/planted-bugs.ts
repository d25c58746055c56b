// Deliberately broken Raft cores. Each overrides exactly one rule of RaftNode the
// way a classic implementation bug gets it wrong. They live under test/ so that
// nothing in production can construct them; tests hand them to the simulator
// through SimClusterOptions.createNode to show the checkers catch each one.
import type { RaftConfig } from '../../src/raft/config.js';
import { appendRequest } from '../../src/raft/messages.js';
import { RaftNode } from '../../src/raft/node.js';
import type { Progress } from '../../src/raft/progress.js';
import type { AppendResponse, DurableState, Entry, HardState, NodeId, RaftMessage } from '../../src/raft/types.js';
import { NO_NODE } from '../../src/raft/types.js';

/** Figure 8: commits an entry of an earlier term by counting its replicas. */
class CommitsEarlierTermByCounting extends RaftNode {
  protected override mayCommitByCounting(_index: number): boolean {
    return true;
  }
}

/** Forgets votedFor across a restart, so it can vote twice in one term. */
class ForgetsVoteOnRestart extends RaftNode {
  protected override restoredVote(_hardState: HardState): NodeId {
    return NO_NODE;
  }
}

/**
 * Treats every AppendRequest as the whole truth after prevLogIndex: drops the
 * entries after the request's last one even when nothing conflicts, so a delayed
 * request erases entries the follower already acknowledged.
 */
class TruncatesOnStaleAppend extends RaftNode {
  protected override appendFromLeader(prevLogIndex: number, entries: readonly Entry[]): void {
    super.appendFromLeader(prevLogIndex, entries);
    const lastNew = prevLogIndex + entries.length;
    if (this.log.lastIndex() > lastNew && lastNew >= this.commitIndex()) this.log.truncateFrom(lastNew + 1);
  }
}

/**
 * A correct core whose leader heartbeats the way the Raft paper does: an empty
 * AppendRequest at the follower's next index, carrying the leader's whole commit
 * index. Our own heartbeats carry only min(match, commit), and with them a
 * follower never holds an entry past a verified prefix that the commit index
 * covers, so the next bug cannot surface. The paper's heartbeats are why its
 * "index of last new entry" rule exists, and they make that bug reachable.
 */
export class PaperHeartbeats extends RaftNode {
  protected override heartbeatTo(peer: NodeId, progress: Readonly<Progress>, _seq: number): RaftMessage {
    const prevLogIndex = progress.next - 1;
    // A follower being sent a snapshot, or needing one, gets an ordinary heartbeat.
    if (progress.state === 'snapshot' || prevLogIndex < this.log.firstIndex() - 1) return super.heartbeatTo(peer, progress, _seq);
    const prevLogTerm = this.log.term(prevLogIndex);
    if (prevLogTerm === undefined) throw new Error(`progress.next ${progress.next} is beyond the leader's log`);
    return appendRequest(this.group, this.id, peer, this.term(), prevLogIndex, prevLogTerm, [], this.commitIndex());
  }
}

/**
 * Sets its commit index to leaderCommit even past the entries the request
 * verified. It heartbeats as the paper does, without which it is unreachable.
 */
class CommitsBeyondLastNewEntry extends PaperHeartbeats {
  protected override followerCommitBound(_lastNewIndex: number, leaderCommit: number): number {
    return Math.min(leaderCommit, this.log.lastIndex());
  }
}

/**
 * Counts a vote granted in an earlier term as if it were granted now: a
 * candidate that matches answers to its requests by sender alone, forgetting
 * that it campaigned again since, can win with a quorum it never had.
 */
class CountsStaleVote extends RaftNode {
  protected override answerLowerTerm(message: RaftMessage): void {
    if (message.type === 'VoteResponse' && !message.preVote && message.granted && this.role() === 'candidate') {
      this.step({ ...message, term: this.term() });
      return;
    }
    super.answerLowerTerm(message);
  }
}

/**
 * Takes a successful answer as acknowledging everything sent to the follower
 * so far, not just the index it names: with appends pipelined, the leader
 * then counts entries still on the wire (or lost) as held.
 */
class CountsSentAsMatched extends RaftNode {
  protected override acknowledgedIndex(message: AppendResponse, progress: Readonly<Progress>): number {
    return Math.max(message.matchIndex, Math.min(progress.next - 1, this.log.lastIndex()));
  }
}

/**
 * CheckQuorum that never finds its quorum missing: it still starts a new
 * window at each check, but always reports the quorum heard from. A leader cut
 * off from the majority then leads on, answering reads and taking proposals it
 * can never commit, while the majority elects another.
 */
class IgnoresCheckQuorum extends RaftNode {
  protected override quorumRecentlyActive(): boolean {
    super.quorumRecentlyActive();
    return true;
  }
}

/** Never commits anything: safe, but no progress; the liveness phase must catch it. */
class NeverCommits extends RaftNode {
  protected override mayCommitByCounting(_index: number): boolean {
    return false;
  }
}

export const PLANTED_BUGS = {
  'figure-8-commit': CommitsEarlierTermByCounting,
  'forget-vote-on-restart': ForgetsVoteOnRestart,
  'truncate-on-stale-append': TruncatesOnStaleAppend,
  'commit-beyond-last-new-entry': CommitsBeyondLastNewEntry,
  'never-commit': NeverCommits,
  'count-stale-vote': CountsStaleVote,
  'count-sent-as-matched': CountsSentAsMatched,
  'ignore-check-quorum': IgnoresCheckQuorum,
} as const;

export type PlantedBugName = keyof typeof PLANTED_BUGS;

/** Builds the correct core with the paper's heartbeats, the baseline for commit-beyond-last-new-entry. */
export function paperHeartbeatsFactory(): (config: RaftConfig, restored: DurableState) => RaftNode {
  return (config, restored) => new PaperHeartbeats(config, restored);
}

export function plantedNodeFactory(bug: PlantedBugName): (config: RaftConfig, restored: DurableState) => RaftNode {
  const Variant = PLANTED_BUGS[bug];
  return (config, restored) => new Variant(config, restored);
}
