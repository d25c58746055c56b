import { describe, expect, it } from 'vitest';
import type { PeerMessage } from '../../src/node/peer-messages.js';
import { MiniCluster, type TestClient } from './mini-cluster.js';

const decoder = new TextDecoder();

function pub(subject: string, payload: string, replyTo?: string): string {
  return `PUB ${subject}${replyTo === undefined ? '' : ` ${replyTo}`} ${Buffer.byteLength(payload)}\r\n${payload}\r\n`;
}

function hpubWithId(subject: string, payload: string, msgId: string, replyTo: string): string {
  const headers = `NATS/1.0\r\nNats-Msg-Id: ${msgId}\r\n\r\n`;
  const total = Buffer.byteLength(headers) + Buffer.byteLength(payload);
  return `HPUB ${subject} ${replyTo} ${Buffer.byteLength(headers)} ${total}\r\n${headers}${payload}\r\n`;
}

/** The PubAcks a client's inbox subscription received, parsed. */
function acks(client: TestClient): Record<string, unknown>[] {
  return client.take('Msg').map((frame) => JSON.parse(decoder.decode(frame.payload)) as Record<string, unknown>);
}

function clusterWithLeader(): MiniCluster {
  const cluster = new MiniCluster();
  cluster.electLeader(1);
  return cluster;
}

describe('BrokerNode: publishing', () => {
  it('greets a client with INFO naming the protocol, headers and max_payload', () => {
    const cluster = clusterWithLeader();
    const client = cluster.connect(2);
    const [info] = client.take('Info');
    expect(info?.info).toMatchObject({ proto: 1, headers: true, max_payload: cluster.node(2).options.broker.payloadBytesMax });
    expect(typeof info?.info.version).toBe('string');
  });

  it('acknowledges a publish with a PubAck only after its entry is committed and applied', () => {
    const cluster = clusterWithLeader();
    const client = cluster.connect(1);
    client.send('SUB _INBOX.me.* 1\r\n');
    client.send(pub('orders', 'first', '_INBOX.me.1'));
    // The followers have not answered yet: nothing is acknowledged.
    expect(acks(client)).toEqual([]);
    cluster.settle();
    // The counter under the millisecond counts the hybrid clock's events in it: messages sent and received.
    expect(acks(client)).toEqual([{ stream: 'ALL', seq: 1, ts: cluster.nowMs, hlc: expect.stringMatching(new RegExp(`^${cluster.nowMs}\\.\\d+$`)) }]);
  });

  it('stores a repeated message id once and acknowledges it with the original offset and duplicate: true', () => {
    const cluster = clusterWithLeader();
    const client = cluster.connect(1);
    client.send('SUB _INBOX.me.* 1\r\n');
    client.send(hpubWithId('orders', 'a', 'id-a', '_INBOX.me.1'));
    client.send(hpubWithId('orders', 'b', 'id-b', '_INBOX.me.2'));
    client.send(hpubWithId('orders', 'a again', 'id-a', '_INBOX.me.3'));
    cluster.settle();
    expect(acks(client).map((ack) => [ack.seq, ack.duplicate])).toEqual([
      [1, undefined],
      [2, undefined],
      [1, true],
    ]);
    expect(cluster.node(1).state.lastOffset('orders')).toBe(2);
  });

  it('forwards a publish made on a follower to the leader and acknowledges it through the follower', () => {
    const cluster = clusterWithLeader();
    const client = cluster.connect(3);
    client.send('SUB _INBOX.me.* 1\r\n');
    client.send(pub('orders', 'via follower', '_INBOX.me.1'));
    expect(cluster.network.some((message) => message.type === 'Forward' && message.command.kind === 'publish' && message.to === 1)).toBe(true);
    cluster.settle();
    expect(acks(client)).toEqual([expect.objectContaining({ stream: 'ALL', seq: 1 })]);
    expect(cluster.node(1).state.lastOffset('orders')).toBe(1);
  });

  it('takes a forward answer only from the node the forward went to, with a token no earlier incarnation used', () => {
    const cluster = clusterWithLeader();
    const client = cluster.connect(3);
    client.send('SUB _INBOX.me.* 1\r\n');
    client.send(pub('orders', 'via follower', '_INBOX.me.1'));
    const forward = cluster.network.find((message) => message.type === 'Forward' && message.from === 3);
    if (forward?.type !== 'Forward') throw new Error('no forward from node 3');
    // Tokens start above every token of incarnation 1 (the default) at 2^32.
    expect(forward.token).toBe(2 ** 32);
    const forged: PeerMessage = {
      type: 'ForwardResult',
      group: forward.group,
      from: 2,
      to: 3,
      token: forward.token,
      outcome: { kind: 'acked', stream: 'ALL', topic: 'orders', offset: 99, timestampMs: 1, logical: 0, duplicate: false },
    };
    cluster.node(3).step(forged, cluster.clockOf(3));
    cluster.flush(3);
    expect(acks(client)).toEqual([]);
    cluster.settle();
    expect(acks(client)).toEqual([expect.objectContaining({ stream: 'ALL', seq: 1 })]);
  });

  it('gives a clear, retryable error at once when no leader is known', () => {
    const cluster = new MiniCluster();
    const client = cluster.connect(2);
    client.send('SUB _INBOX.me.* 1\r\n');
    client.send(pub('orders', 'x', '_INBOX.me.1'));
    const [ack] = acks(client);
    expect(ack).toEqual({ error: expect.objectContaining({ code: 503, reason: 'no-leader', retryable: true }) });
  });

  it('fails a forwarded publish as retryable when the leader does not answer in time', () => {
    const cluster = new MiniCluster({ forwardTimeoutTicks: 5 });
    cluster.electLeader(1);
    const client = cluster.connect(2);
    client.send('SUB _INBOX.me.* 1\r\n');
    client.send(pub('orders', 'lost', '_INBOX.me.1'));
    cluster.network = cluster.network.filter((message) => message.type !== 'Forward');
    cluster.tick(2, 5);
    expect(acks(client)).toEqual([{ error: expect.objectContaining({ reason: 'timeout', retryable: true }) }]);
  });

  it('fails a forwarded publish at once when the node stops believing in that leader', () => {
    const cluster = clusterWithLeader();
    const client = cluster.connect(3);
    client.send('SUB _INBOX.me.* 1\r\n');
    client.send(pub('orders', 'in limbo', '_INBOX.me.1'));
    // The leader goes silent; node 3 ticks until it campaigns and forgets it.
    const isolated = (m: PeerMessage): boolean => m.from === 1 || m.to === 1;
    cluster.network = [];
    for (let round = 0; round < 100 && cluster.node(3).raft.leader() === 1; round++) {
      cluster.tick(3);
      cluster.settle(isolated);
    }
    expect(acks(client)).toEqual([{ error: expect.objectContaining({ code: 503, reason: 'leader-changed', retryable: true }) }]);
  });

  it('stamps publishes in whole milliseconds, never below 0, whatever the clock reads', () => {
    // The whole cluster's clocks start before the epoch, so no stamp from a later reading was ever merged.
    const cluster = new MiniCluster();
    cluster.nowMs = -100_000.75;
    cluster.electLeader(1);
    const client = cluster.connect(1);
    client.send('SUB _INBOX.me.* 1\r\n');
    cluster.nowMs = -5000.75;
    client.send(pub('orders', 'before the epoch', '_INBOX.me.1'));
    cluster.settle();
    cluster.nowMs = 1234.56;
    client.send(pub('orders', 'a fraction', '_INBOX.me.2'));
    cluster.settle();
    expect(acks(client).map((ack) => ack.ts)).toEqual([0, 1234]);
  });

  it('refuses an invalid publish with an error object, and stores nothing', () => {
    const cluster = clusterWithLeader();
    const client = cluster.connect(1);
    client.send('SUB _INBOX.me.* 1\r\n');
    client.send(pub('x'.repeat(300), 'long topic', '_INBOX.me.1'));
    expect(acks(client)).toEqual([{ error: expect.objectContaining({ code: 400, reason: 'rejected', retryable: false }) }]);
    expect(cluster.node(1).state.topics()).toEqual([]);
  });

  it('refuses publishes to reserved subjects without closing', () => {
    const cluster = clusterWithLeader();
    const client = cluster.connect(1);
    client.send(pub('$CHORUS.ADMIN', 'x'));
    expect(client.take('Err')).toEqual([{ type: 'Err', message: 'Permissions Violation for Publish to "$CHORUS.ADMIN"' }]);
    expect(client.closed).toBe(false);
  });

  it('fails a publish as superseded when a new leader overwrites its entry', () => {
    const cluster = clusterWithLeader();
    const client = cluster.connect(1);
    client.send('SUB _INBOX.me.* 1\r\n');
    // Node 1 proposes, but its appends never leave; then nodes 2 and 3 elect node 2.
    client.send(pub('orders', 'lost', '_INBOX.me.1'));
    cluster.network = [];
    const isolated = (m: PeerMessage): boolean => m.from === 1 || m.to === 1;
    // Node 3 must tick too: until its leader lease runs out it ignores candidates.
    for (let round = 0; round < 200 && cluster.node(2).raft.role() !== 'leader'; round++) {
      cluster.tick(3);
      cluster.tick(2);
      cluster.settle(isolated);
    }
    expect(cluster.node(2).raft.role()).toBe('leader');
    const other = cluster.connect(2);
    other.send(pub('orders', 'kept'));
    cluster.settle(isolated);
    // Node 1 rejoins, learns the new leader's log, and applies node 2's entry at its index.
    for (let i = 0; i < 3; i++) {
      cluster.tick(2);
      cluster.settle();
    }
    expect(acks(client)).toEqual([{ error: expect.objectContaining({ reason: 'superseded', retryable: true }) }]);
    expect(cluster.node(1).state.digest()).toBe(cluster.node(2).state.digest());
  });

  it('sends +OK after each command to a verbose client', () => {
    const cluster = clusterWithLeader();
    const client = cluster.connect(1, '{"verbose":true}');
    client.send('SUB orders 1\r\n');
    client.send(pub('orders', 'x'));
    client.send('UNSUB 1\r\n');
    expect(client.take('Ok')).toHaveLength(4);
  });
});

describe('BrokerNode: subscriptions', () => {
  it('delivers only committed messages, in offset order, on every node', () => {
    const cluster = clusterWithLeader();
    const subscribers = cluster.ids.map((id) => cluster.connect(id));
    // A live SUB to a stored subject starts once its read barrier is applied; the PONG says so.
    for (const subscriber of subscribers) subscriber.send('SUB orders 1\r\nPING\r\n');
    cluster.settle();
    cluster.heartbeat();
    for (const subscriber of subscribers) expect(subscriber.take('Pong')).toHaveLength(1);
    const publisher = cluster.connect(1);
    for (let i = 1; i <= 5; i++) publisher.send(pub('orders', `m${i}`));
    // Nothing is committed yet, so nothing is delivered anywhere.
    for (const subscriber of subscribers) expect(subscriber.messages()).toEqual([]);
    cluster.settle();
    cluster.heartbeat();
    for (const subscriber of subscribers) expect(subscriber.messages()).toEqual(['m1', 'm2', 'm3', 'm4', 'm5']);
  });

  it('a live SUB starts after the messages stored before it', () => {
    const cluster = clusterWithLeader();
    const publisher = cluster.connect(1);
    publisher.send(pub('orders', 'before'));
    cluster.settle();
    const subscriber = cluster.connect(1);
    subscriber.send('SUB orders 1\r\n');
    publisher.send(pub('orders', 'after'));
    cluster.settle();
    expect(subscriber.messages()).toEqual(['after']);
  });

  it('XSUB FIRST and FROM replay the log, then continue live, with no gap and nothing twice', () => {
    const cluster = clusterWithLeader();
    const publisher = cluster.connect(1);
    for (let i = 1; i <= 4; i++) publisher.send(pub('orders', `m${i}`));
    cluster.settle();
    cluster.heartbeat();
    const fromFirst = cluster.connect(2);
    const fromThird = cluster.connect(3);
    fromFirst.send('XSUB orders 1 FIRST\r\n');
    fromThird.send('XSUB orders 7 FROM 3\r\n');
    publisher.send(pub('orders', 'm5'));
    cluster.settle();
    cluster.heartbeat();
    expect(fromFirst.messages()).toEqual(['m1', 'm2', 'm3', 'm4', 'm5']);
    expect(fromThird.messages()).toEqual(['m3', 'm4', 'm5']);
  });

  it('every delivery of a stored message names its offset and time in the reply subject', () => {
    const cluster = clusterWithLeader();
    const publisher = cluster.connect(1);
    publisher.send(pub('orders.eu', 'x'));
    cluster.settle();
    const replaying = cluster.connect(1);
    const live = cluster.connect(1);
    replaying.send('XSUB orders.* 1 FIRST\r\n');
    live.send('SUB orders.* 1\r\n');
    publisher.send(pub('orders.eu', 'y'));
    cluster.settle();
    const [first, second] = replaying.take('Msg');
    expect(first).toMatchObject({ subject: 'orders.eu', sid: '1' });
    expect(first?.replyTo).toMatch(/^\$CHORUS\.MSG\.1\.[0-9]+\.orders\.eu$/);
    expect(second?.replyTo).toMatch(/^\$CHORUS\.MSG\.2\.[0-9]+\.orders\.eu$/);
    expect(live.take('Msg').map((frame) => frame.replyTo)).toEqual([second?.replyTo]);
  });

  it('matches wildcards with NATS semantics: * one token, > one or more', () => {
    const cluster = clusterWithLeader();
    const star = cluster.connect(1);
    const tail = cluster.connect(1);
    star.send('SUB orders.* 1\r\n');
    tail.send('SUB orders.> 1\r\n');
    const publisher = cluster.connect(1);
    for (const subject of ['orders', 'orders.eu', 'orders.eu.paris', 'other.eu']) publisher.send(pub(subject, subject));
    cluster.settle();
    expect(star.messages()).toEqual(['orders.eu']);
    expect(tail.messages()).toEqual(['orders.eu', 'orders.eu.paris']);
  });

  it('a durable consumer resumes after its last acknowledged offset, on any node', () => {
    const cluster = clusterWithLeader();
    const publisher = cluster.connect(1);
    for (let i = 1; i <= 5; i++) publisher.send(pub('orders', `m${i}`));
    cluster.settle();
    cluster.heartbeat();
    const first = cluster.connect(2);
    first.send('SUB _INBOX.acks 9\r\n');
    first.send('XSUB orders 1 DURABLE billing\r\n');
    cluster.settle();
    cluster.heartbeat();
    const frames = first.take('Msg');
    expect(frames.map((frame) => decoder.decode(frame.payload))).toEqual(['m1', 'm2', 'm3', 'm4', 'm5']);
    // Acknowledge the third by a request to its reply subject, as a nats client's msg.respond() would;
    // the answer comes once the acknowledgement is applied.
    expect(frames[2]?.replyTo).toMatch(/^\$CHORUS\.ACK\.billing\.3\./);
    first.send(pub(frames[2]!.replyTo!, '', '_INBOX.acks'));
    // Node 3 does not hear that the acknowledgement committed (the leader's news of its commit index to node 3 is lost) ...
    cluster.settle((message) => message.to === 3 && message.type === 'AppendRequest' && message.entries.length === 0);
    expect(acks(first)).toEqual([{ consumer: 'billing', stream: 'orders', ack: 3 }]);
    // ... yet a durable subscription there starts after it: it waits for its read barrier.
    expect(cluster.node(3).state.consumerOffset('billing', 'orders')).toBe(0);
    const again = cluster.connect(3);
    again.send('XSUB orders 1 DURABLE billing\r\n');
    expect(again.messages()).toEqual([]);
    cluster.settle();
    cluster.heartbeat();
    expect(again.messages()).toEqual(['m4', 'm5']);
    // The ACK verb does the same by hand.
    again.send('ACK billing orders 5\r\n');
    cluster.settle();
    cluster.heartbeat();
    expect(cluster.node(1).state.consumerOffset('billing', 'orders')).toBe(5);
  });

  it('a durable subscription cannot start without a leader, and says so', () => {
    const cluster = new MiniCluster();
    const client = cluster.connect(2);
    client.send('XSUB orders 1 DURABLE billing\r\n');
    expect(client.take('Err')).toEqual([{ type: 'Err', message: expect.stringMatching(/^durable subscription 1 not started: no leader/) }]);
  });

  it('a queue group gives each message to one member', () => {
    const cluster = clusterWithLeader();
    const a = cluster.connect(1);
    const b = cluster.connect(1);
    a.send('SUB work workers 1\r\n');
    b.send('SUB work workers 1\r\n');
    const publisher = cluster.connect(1);
    for (let i = 1; i <= 6; i++) publisher.send(pub('work', `job${i}`));
    cluster.settle();
    const got = [...a.messages(), ...b.messages()].sort();
    expect(got).toEqual(['job1', 'job2', 'job3', 'job4', 'job5', 'job6']);
  });

  it('UNSUB with a max stops after that many messages', () => {
    const cluster = clusterWithLeader();
    const subscriber = cluster.connect(1);
    subscriber.send('SUB orders 1\r\nUNSUB 1 2\r\n');
    const publisher = cluster.connect(1);
    for (let i = 1; i <= 4; i++) publisher.send(pub('orders', `m${i}`));
    cluster.settle();
    expect(subscriber.messages()).toEqual(['m1', 'm2']);
  });

  it('a client too slow to take its output falls behind and catches up, losing nothing', () => {
    const cluster = new MiniCluster({ sessionOutputBytesMax: 100, catchUpMessagesPerRound: 3 });
    cluster.electLeader(1);
    const subscriber = cluster.connect(2);
    subscriber.send('SUB orders 1\r\n');
    cluster.settle();
    cluster.heartbeat();
    const publisher = cluster.connect(1);
    for (let i = 1; i <= 30; i++) publisher.send(pub('orders', `message-${i}`));
    cluster.settle();
    cluster.heartbeat();
    for (let round = 0; round < 30; round++) cluster.tick(2);
    expect(subscriber.messages()).toEqual(Array.from({ length: 30 }, (_, i) => `message-${i + 1}`));
  });

  it('request/reply on _INBOX subjects crosses nodes and is never stored', () => {
    const cluster = clusterWithLeader();
    const responder = cluster.connect(3);
    responder.send('SUB _INBOX.service.> 1\r\n');
    // The subscription's interest reaches the other nodes first, as between nats-servers.
    cluster.settle();
    const requester = cluster.connect(2);
    requester.send(pub('_INBOX.service.ping', 'hello'));
    cluster.settle();
    expect(responder.messages()).toEqual(['hello']);
    expect(cluster.node(1).state.topics()).toEqual([]);
  });
});

describe('BrokerNode: clocks', () => {
  it('estimates every peer clock offset, and a node far off the majority refuses to lead and says why', () => {
    const cluster = new MiniCluster();
    cluster.electLeader(3);
    cluster.skewMs.set(3, 2000);
    for (let round = 0; round < 60; round++) cluster.heartbeat();
    const status = (id: number): Record<string, unknown> => {
      const client = cluster.connect(id);
      client.send('STATUS\r\n');
      return client.take('Status')[0]!.status;
    };
    type Clock = { offsetFromMajorityMs: number; refusesToLead: string | null; peers: { node: number; offsetMs: number; roundTripMs: number }[] };
    // Each estimate is within half its round trip of the true offset (the in-memory network's
    // delays are uneven: the clock advances as other nodes tick).
    const clock3 = status(3).clock as Clock;
    expect(clock3.peers.map((peer) => peer.node)).toEqual([1, 2]);
    for (const peer of clock3.peers) expect(Math.abs(peer.offsetMs - -2000)).toBeLessThanOrEqual(peer.roundTripMs / 2);
    expect(Math.abs(clock3.offsetFromMajorityMs - 2000)).toBeLessThanOrEqual(20);
    expect(clock3.refusesToLead).toMatch(/^its clock is \d+ ms off from the majority's, beyond maxClockOffsetMs 500$/);
    const clock1 = status(1).clock as Clock;
    const peer3 = clock1.peers.find((peer) => peer.node === 3)!;
    expect(Math.abs(peer3.offsetMs - 2000)).toBeLessThanOrEqual(peer3.roundTripMs / 2);
    expect(Math.abs(clock1.offsetFromMajorityMs)).toBeLessThanOrEqual(20);
    expect(clock1.refusesToLead).toBeNull();
    // Node 3 stepped down and another node leads.
    expect(cluster.node(3).raft.role()).not.toBe('leader');
    expect([1, 2].some((id) => cluster.node(id).raft.role() === 'leader')).toBe(true);
  });
});

describe('BrokerNode: hybrid clocks on peer messages', () => {
  type Clock = { hlc: string; stampsRefused: number };
  const clockOf = (cluster: MiniCluster, id: number): Clock => {
    const client = cluster.connect(id);
    client.send('STATUS\r\n');
    return client.take('Status')[0]!.status.clock as Clock;
  };
  const hlcMs = (clock: Clock): number => Number(clock.hlc.split('.')[0]);

  it('merges the hybrid clock every peer message carries, so a node behind reads at least what it heard', () => {
    const cluster = clusterWithLeader();
    cluster.skewMs.set(1, 300); // within maxClockOffsetMs
    for (let round = 0; round < 5; round++) cluster.heartbeat();
    // Node 2's own clock reads nowMs, yet its hybrid clock has heard node 1's, 300 ms ahead
    // (less the 20 ms the other two nodes' ticks moved time on since node 1 last sent).
    expect(hlcMs(clockOf(cluster, 2))).toBeGreaterThanOrEqual(cluster.nowMs + 300 - 20);
    expect(clockOf(cluster, 2).stampsRefused).toBe(0);
    // A publish through node 2, led by node 1, is stamped after everything node 2 had heard.
    const client = cluster.connect(2);
    client.send('SUB _INBOX.me.* 1\r\n');
    client.send(pub('orders', 'one', '_INBOX.me.1'));
    cluster.settle();
    expect(acks(client)[0]!.ts).toBeGreaterThanOrEqual(cluster.nowMs + 300);
  });

  it('does not merge a peer clock reading beyond maxClockOffsetMs ahead, and counts it', () => {
    const cluster = clusterWithLeader();
    cluster.skewMs.set(3, 5000);
    for (let round = 0; round < 5; round++) cluster.heartbeat();
    const clock1 = clockOf(cluster, 1);
    expect(clock1.stampsRefused).toBeGreaterThan(0);
    expect(hlcMs(clock1)).toBeLessThan(cluster.nowMs + 500);
  });
});

describe('BrokerNode: time', () => {
  function hpubWithTime(subject: string, payload: string, time: string, replyTo: string): string {
    const headers = `NATS/1.0\r\nChorus-Time: ${time}\r\n\r\n`;
    return `HPUB ${subject} ${replyTo} ${Buffer.byteLength(headers)} ${Buffer.byteLength(headers) + Buffer.byteLength(payload)}\r\n${headers}${payload}\r\n`;
  }

  it('stamps a publish later than the Chorus-Time its publisher has seen, and refuses one too far ahead', () => {
    const cluster = clusterWithLeader();
    const client = cluster.connect(1);
    client.send('SUB _INBOX.me.* 1\r\n');
    const seen = cluster.nowMs + 300;
    client.send(hpubWithTime('orders', 'after', String(seen), '_INBOX.me.1'));
    client.send(hpubWithTime('orders', 'too far', String(cluster.nowMs + 10_000), '_INBOX.me.2'));
    client.send(hpubWithTime('orders', 'garbled', 'soon', '_INBOX.me.3'));
    cluster.settle();
    // Refusals are answered at once, the stored one after its commit: match answers by inbox.
    const bySubject = new Map(client.take('Msg').map((frame) => [frame.subject, JSON.parse(decoder.decode(frame.payload)) as Record<string, unknown>]));
    const [after, far, garbled] = ['_INBOX.me.1', '_INBOX.me.2', '_INBOX.me.3'].map((subject) => bySubject.get(subject));
    expect(after).toMatchObject({ seq: 1, ts: seen + 1 });
    expect(far).toEqual({ error: expect.objectContaining({ code: 400, description: expect.stringMatching(/^Chorus-Time \d+ is 10000 ms ahead of the leader's clock/) }) });
    expect(garbled).toEqual({ error: expect.objectContaining({ code: 400, description: expect.stringMatching(/^Chorus-Time must be a time in whole milliseconds/) }) });
  });

  it('takes a whole stamp <ms>.<counter> as Chorus-Time, and stamps the publish just after it', () => {
    const cluster = clusterWithLeader();
    const client = cluster.connect(1);
    client.send('SUB _INBOX.me.* 1\r\n');
    const seenMs = cluster.nowMs + 300;
    client.send(hpubWithTime('orders', 'after a stamp', `${seenMs}.7`, '_INBOX.me.1'));
    client.send(hpubWithTime('orders', 'counter too big', `${seenMs}.4294967295`, '_INBOX.me.2'));
    cluster.settle();
    const bySubject = new Map(client.take('Msg').map((frame) => [frame.subject, JSON.parse(decoder.decode(frame.payload)) as Record<string, unknown>]));
    // Within the same millisecond: the counter moves on past the one seen.
    expect(bySubject.get('_INBOX.me.1')).toMatchObject({ seq: 1, ts: seenMs, hlc: `${seenMs}.8` });
    expect(bySubject.get('_INBOX.me.2')).toEqual({ error: expect.objectContaining({ code: 400, description: expect.stringMatching(/or <ms>\.<counter> as a PubAck's hlc/) }) });
  });

  it('XSUB ... ORDERED replays the matching topics merged in timestamp order; without it, topic by topic', () => {
    const cluster = clusterWithLeader();
    const publisher = cluster.connect(1);
    for (const [i, topic] of ['orders.eu', 'orders.us', 'orders.eu', 'orders.us', 'orders.us', 'orders.eu'].entries()) {
      cluster.nowMs += 100;
      publisher.send(pub(topic, `${topic}#${i + 1}`));
      cluster.settle();
    }
    const ordered = cluster.connect(1);
    const plain = cluster.connect(1);
    ordered.send('XSUB orders.* 1 FIRST ORDERED\r\n');
    plain.send('XSUB orders.* 1 FIRST\r\n');
    expect(ordered.messages()).toEqual(['orders.eu#1', 'orders.us#2', 'orders.eu#3', 'orders.us#4', 'orders.us#5', 'orders.eu#6']);
    expect(plain.messages()).toEqual(['orders.eu#1', 'orders.eu#3', 'orders.eu#6', 'orders.us#2', 'orders.us#4', 'orders.us#5']);
    // Live, through the reorder buffer: one group's log is already in stamp order, so
    // each message goes out as it is applied, none held and none marked late.
    for (const [i, topic] of ['orders.us', 'orders.eu', 'orders.us'].entries()) {
      publisher.send(pub(topic, `${topic}#${i + 7}`));
      cluster.settle();
      const [frame] = ordered.take('Msg');
      expect(frame && new TextDecoder().decode(frame.payload)).toBe(`${topic}#${i + 7}`);
      expect(frame?.headers?.fields.has('Chorus-Late') ?? false).toBe(false);
    }
  });

  it('HISTORY @time starts at the first message stamped at or after that time', () => {
    const cluster = clusterWithLeader();
    const client = cluster.connect(1);
    const times: number[] = [];
    for (let i = 1; i <= 5; i++) {
      cluster.nowMs += 100;
      times.push(cluster.nowMs);
      client.send(pub('orders', `m${i}`));
      cluster.settle();
    }
    client.send(`HISTORY orders @${times[2]! - 50} 10\r\nHISTORY orders @${times[4]! + 1} 10\r\n`);
    expect(client.take('HistoryHead').map((head) => head.count)).toEqual([3, 0]);
    expect(client.take('Entry').map((entry) => new TextDecoder().decode(entry.payload))).toEqual(['m3', 'm4', 'm5']);
  });
});

describe('BrokerNode: extensions and bad input', () => {
  it('STATUS reports role, term, leader, commit index and topics', () => {
    const cluster = clusterWithLeader();
    const publisher = cluster.connect(1);
    publisher.send(pub('orders', 'x'));
    cluster.settle();
    publisher.send('STATUS\r\n');
    const [status] = publisher.take('Status');
    expect(status?.status).toMatchObject({ node: 1, role: 'leader', leader: 1, streams: { streams: 1, messages: 1, declaredDiffer: [] } });
    expect(status?.status.commitIndex).toBe(cluster.node(1).raft.commitIndex());
  });

  it('HISTORY returns the committed messages from an offset, up to a limit', () => {
    const cluster = clusterWithLeader();
    const client = cluster.connect(1);
    for (let i = 1; i <= 5; i++) client.send(pub('orders', `m${i}`));
    cluster.settle();
    client.send('HISTORY orders 2 2\r\nHISTORY nothing 1 10\r\n');
    expect(client.take('HistoryHead')).toEqual([
      { type: 'HistoryHead', topic: 'orders', count: 2, lastOffset: 5 },
      { type: 'HistoryHead', topic: 'nothing', count: 0, lastOffset: 0 },
    ]);
    expect(client.take('Entry').map((entry) => [entry.offset, decoder.decode(entry.payload)])).toEqual([
      [2, 'm2'],
      [3, 'm3'],
    ]);
  });

  it('closes a client that sends garbage, with -ERR, and the others carry on', () => {
    const cluster = clusterWithLeader();
    const bad = cluster.connect(1);
    const good = cluster.connect(1);
    good.send('SUB orders 1\r\n');
    bad.send('GET / HTTP/1.1\r\n');
    expect(bad.take('Err')).toEqual([{ type: 'Err', message: 'Unknown Protocol Operation' }]);
    expect(bad.closed).toBe(true);
    const publisher = cluster.connect(1);
    publisher.send(pub('orders', 'still here'));
    cluster.settle();
    expect(good.messages()).toEqual(['still here']);
    expect(cluster.node(1).sessionCount()).toBe(2);
  });

  it('refuses a second SUB with a sid already in use', () => {
    const cluster = clusterWithLeader();
    const client = cluster.connect(1);
    client.send('SUB a 1\r\nSUB b 1\r\n');
    expect(client.take('Err')).toHaveLength(1);
    expect(client.closed).toBe(false);
  });
});

describe('BrokerNode: a live SUB to stored subjects starts from now', () => {
  it('answers PING only once the SUB has started, and delivers nothing committed before it', () => {
    const cluster = clusterWithLeader();
    const publisher = cluster.connect(1);
    publisher.send(pub('orders', 'before'));
    const subscriber = cluster.connect(2);
    subscriber.send('SUB orders 1\r\nPING\r\n');
    // The barrier has not come back yet: no PONG.
    expect(subscriber.take('Pong')).toHaveLength(0);
    cluster.settle();
    cluster.heartbeat();
    expect(subscriber.take('Pong')).toHaveLength(1);
    publisher.send(pub('orders', 'after'));
    cluster.settle();
    cluster.heartbeat();
    expect(subscriber.messages()).toEqual(['after']);
  });

  it('keeps an UNSUB max given before it started, and an UNSUB before then cancels it', () => {
    const cluster = clusterWithLeader();
    const capped = cluster.connect(2);
    capped.send('SUB orders 1\r\nUNSUB 1 2\r\n');
    const cancelled = cluster.connect(3);
    cancelled.send('SUB orders 1\r\nUNSUB 1\r\nPING\r\n');
    expect(cancelled.take('Pong')).toHaveLength(1);
    cluster.settle();
    cluster.heartbeat();
    const publisher = cluster.connect(1);
    for (let i = 1; i <= 4; i++) publisher.send(pub('orders', `m${i}`));
    cluster.settle();
    cluster.heartbeat();
    expect(capped.messages()).toEqual(['m1', 'm2']);
    expect(cancelled.messages()).toEqual([]);
  });
});
