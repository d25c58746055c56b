import { describe, expect, it } from 'vitest';
import { streamsForTopics } from '../../sim/broker-workload.js';
import { SimCluster } from '../../sim/cluster.js';
import { ServerParser, type ServerFrame } from '../../src/protocol/server-parser.js';
import type { NodeId } from '../../src/raft/types.js';

// A follower forwards a publish to the leader and crashes before the answer
// comes back. The leader commits the publish once the restarted follower has
// acknowledged its entry, and answers the forward of the follower's previous
// incarnation. By then a new client of the restarted follower has published
// another message, forwarded under the restarted node's first token. The old
// answer must not settle the new publish: its PubAck would name the other
// message's sequence.

const encoder = new TextEncoder();
const decoder = new TextDecoder();

interface TestClient {
  readonly frames: ServerFrame[];
  publish(msgId: string, payload: string): void;
}

function connect(cluster: SimCluster, node: NodeId, inbox: string): TestClient {
  const parser = new ServerParser();
  const frames: ServerFrame[] = [];
  const session = cluster.clients.connect(node, {
    onBytes: (bytes) => frames.push(...parser.feed(bytes)),
    onClose: () => {},
  });
  if (session === undefined) throw new Error(`n${node} is down`);
  const send = (text: string): void => cluster.clients.send(session, encoder.encode(text));
  send(`CONNECT {"verbose":false,"headers":true}\r\nSUB ${inbox} 1\r\n`);
  return {
    frames,
    publish(msgId, payload) {
      const headers = `NATS/1.0\r\nNats-Msg-Id: ${msgId}\r\n\r\n`;
      send(`HPUB orders.eu ${inbox} ${headers.length} ${headers.length + payload.length}\r\n${headers}${payload}\r\n`);
    },
  };
}

/** The sequence numbers of the PubAcks a client received. */
function ackedSequences(client: TestClient): number[] {
  const sequences: number[] = [];
  for (const frame of client.frames) {
    if (frame.type !== 'Msg') continue;
    const answer = JSON.parse(decoder.decode(frame.payload)) as { seq?: number; error?: unknown };
    if (answer.seq !== undefined) sequences.push(answer.seq);
  }
  return sequences;
}

function staleAnswerRun(seed: number): { acked: number[]; storedAt: number | undefined } {
  const cluster = new SimCluster({ nodes: 3, seed, broker: { node: { streams: streamsForTopics(['orders.eu'], 3) } } });
  expect(cluster.runUntil((c) => c.leader() !== undefined, 5_000)).toBe(true);
  const leader = cluster.leader()!;
  const [follower, other] = cluster.nodeIds.filter((id) => id !== leader) as [NodeId, NodeId];
  // Without the third node, the leader commits only with the follower's acknowledgement.
  cluster.partition([[leader, follower], [other]]);
  const first = connect(cluster, follower, '_INBOX.first');
  cluster.runFor(5);
  const proposedBefore = cluster.status(leader).lastIndex;
  first.publish('m1', 'first');
  expect(cluster.runUntil((c) => c.status(leader).lastIndex > proposedBefore, 1_000), 'the leader never proposed m1').toBe(true);
  cluster.crash(follower);
  cluster.restart(follower);
  expect(cluster.runUntil((c) => c.broker(follower)?.raft.leader() === leader, 1_000)).toBe(true);
  const second = connect(cluster, follower, '_INBOX.second');
  second.publish('m2', 'second');
  cluster.runFor(2_000);
  const acked = ackedSequences(second);
  const stored = cluster.broker(leader)!.state.history('orders.eu', 1, 10);
  const storedAt = stored.ok ? stored.messages.find((message) => message.msgId === 'm2')?.offset : undefined;
  expect(cluster.violations()).toEqual([]);
  return { acked, storedAt };
}

describe('a forward answer from before a restart', () => {
  it.each([1, 2, 3, 4, 5])('does not settle a publish of the restarted node (seed %i)', (seed) => {
    const { acked, storedAt } = staleAnswerRun(seed);
    expect(storedAt).toBeDefined();
    expect(acked).toEqual([storedAt]);
  });
});
