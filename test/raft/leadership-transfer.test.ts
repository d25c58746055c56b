import { describe, expect, it } from 'vitest';
import { Cluster, FixedRandom, only, voteRequest } from './harness.js';

// Thesis section 3.10: a leader hands leadership to a follower by bringing its
// log up to date and then telling it to campaign at once (TimeoutNow). The
// broker uses this when the leader's clock is refused: such a node may lead
// only as a last resort, to bring the others' logs up to its own, and then
// hands over. See refuseLeadership() and transferLeadership() in src/raft/node.ts.

const min = 10;
const REFUSED = 'its clock is far off';

describe('3.10 leadership transfer', () => {
  it('3.10 brings the target up to date first, then the target wins the next term at once, through the lease', () => {
    const cluster = new Cluster({ options: { electionTicksMin: min } });
    cluster.elect(1);
    cluster.stabilize();
    // Node 3 misses two commands; node 2 has them.
    for (const text of ['a', 'b']) expect(cluster.node(1).propose(new TextEncoder().encode(text)).ok).toBe(true);
    cluster.flush(1);
    cluster.deliver((m) => m.to === 2);
    cluster.flushAll();
    cluster.deliver((m) => m.to === 1);
    cluster.drop((m) => m.to === 3);
    cluster.node(1).transferLeadership(3);
    expect(cluster.node(1).leadershipTransferee()).toBe(3);
    // While it hands over, the leader accepts nothing more.
    const refused = cluster.node(1).propose(new TextEncoder().encode('c'));
    expect(refused).toMatchObject({ ok: false, reason: 'not-leader' });
    cluster.flush(1);
    // No TimeoutNow yet: node 3 lacks entries. Heartbeats' answers show the
    // leader that the appends to node 3 were lost, and it sends them again.
    expect(only(cluster.peek(), 'TimeoutNow')).toEqual([]);
    for (let beat = 0; beat < 3 && cluster.node(3).role() !== 'leader'; beat++) {
      cluster.tick(1);
      cluster.stabilize();
    }
    expect(cluster.node(3).lastIndex()).toBe(cluster.node(1).lastIndex());
    expect(cluster.node(3).role()).toBe('leader');
    expect(cluster.node(3).term()).toBe(2);
    expect(cluster.node(1).role()).toBe('follower');
    expect(cluster.node(1).leader()).toBe(3);
    const campaign = only(cluster.sent, 'VoteRequest').filter((m) => m.from === 3);
    expect(campaign.map((m) => ({ transfer: m.transfer, preVote: m.preVote, term: m.term }))).toEqual([
      { transfer: true, preVote: false, term: 2 },
      { transfer: true, preVote: false, term: 2 },
    ]);
  });

  it('3.10 a transfer is given up after an election timeout, and the leader accepts proposals again', () => {
    const cluster = new Cluster({ options: { electionTicksMin: min } });
    cluster.elect(1);
    cluster.stabilize();
    cluster.node(1).transferLeadership(2);
    cluster.drop();
    cluster.tick(1, min - 1);
    expect(cluster.node(1).leadershipTransferee()).toBe(2);
    // Node 2 keeps answering heartbeats, so the quorum check passes; the transfer alone lapses.
    cluster.stabilize((m) => m.type !== 'TimeoutNow');
    cluster.tick(1);
    expect(cluster.node(1).role()).toBe('leader');
    expect(cluster.node(1).leadershipTransferee()).toBe(0);
    expect(cluster.node(1).propose(new TextEncoder().encode('x')).ok).toBe(true);
  });

  it('3.10 a TimeoutNow from a node that is not our leader, or to a refused node, starts nothing', () => {
    const cluster = new Cluster({ options: { electionTicksMin: min } });
    cluster.elect(1);
    cluster.stabilize();
    cluster.node(2).step({ type: 'TimeoutNow', group: 1, from: 3, to: 2, term: 1 });
    cluster.flush(2);
    expect(cluster.node(2).role()).toBe('follower');
    cluster.node(2).refuseLeadership(REFUSED);
    cluster.node(2).step({ type: 'TimeoutNow', group: 1, from: 1, to: 2, term: 1 });
    cluster.flush(2);
    expect(cluster.node(2).role()).toBe('follower');
    expect(cluster.node(2).term()).toBe(1);
  });

  it('4.2.3 only a transfer VoteRequest passes the lease; an ordinary one of the same term does not', () => {
    const cluster = new Cluster({ options: { electionTicksMin: min } });
    cluster.elect(1);
    cluster.stabilize();
    const last = { lastLogIndex: cluster.node(3).lastIndex(), lastLogTerm: 1 };
    cluster.node(2).step(voteRequest({ from: 3, to: 2, term: 2, ...last }));
    cluster.flush(2);
    expect(cluster.node(2).term()).toBe(1);
    cluster.node(2).step(voteRequest({ from: 3, to: 2, term: 2, ...last, transfer: true }));
    cluster.flush(2);
    expect(cluster.node(2).term()).toBe(2);
    expect(cluster.node(2).vote()).toBe(3);
  });
});

describe('a node refused leadership', () => {
  it('waits several election timeouts before it campaigns, so a node allowed to lead goes first', () => {
    // Every draw is 0: both nodes' timeouts are exactly min ticks.
    const cluster = new Cluster({ options: { electionTicksMin: min }, random: () => new FixedRandom([0]) });
    cluster.node(1).refuseLeadership(REFUSED);
    const refusedTicks = cluster.tickUntilCampaign(1);
    const allowedTicks = cluster.tickUntilCampaign(2);
    expect(allowedTicks).toBe(min);
    expect(refusedTicks).toBe(3 * min);
  });

  it('wins when only it holds the newest log, accepts no proposals, and keeps replicating to bring the others up', () => {
    const cluster = new Cluster({ options: { electionTicksMin: min } });
    cluster.elect(1);
    cluster.stabilize();
    // Node 1 alone has the last entry, then the leader goes quiet.
    expect(cluster.node(1).propose(new TextEncoder().encode('only on 1')).ok).toBe(true);
    cluster.flush(1);
    cluster.drop();
    cluster.node(1).refuseLeadership(REFUSED);
    cluster.tick(1, 2 * min);
    cluster.drop();
    expect(cluster.node(1).role()).toBe('follower');
    // Nodes 2 and 3 cannot win: node 1 refuses them its vote, its log is newer.
    cluster.tickUntilCampaign(2);
    cluster.stabilize((m) => m.to !== 3 && m.from !== 3);
    expect(cluster.node(2).role()).not.toBe('leader');
    cluster.tickUntilCampaign(1);
    cluster.stabilize();
    expect(cluster.node(1).role()).toBe('leader');
    expect(cluster.node(1).propose(new TextEncoder().encode('no'))).toMatchObject({ ok: false, reason: 'not-leader' });
    expect(cluster.node(2).lastIndex()).toBe(cluster.node(1).lastIndex());
    // The next heartbeat tells node 2 that all of it is committed.
    cluster.tick(1);
    cluster.stabilize();
    expect(cluster.node(1).commitIndex()).toBe(cluster.node(1).lastIndex());
    expect(cluster.node(2).commitIndex()).toBe(cluster.node(1).lastIndex());
  });
});
