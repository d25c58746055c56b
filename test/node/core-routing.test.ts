import { describe, expect, it } from 'vitest';
import { MiniCluster, type TestClient } from './mini-cluster.js';

// NATS core across the cluster: subjects no stream captures reach each
// subscription once, each queue group once in the whole cluster, and a request
// nobody subscribes to is answered with NATS's 503 no-responders status.

function pub(subject: string, payload: string, replyTo?: string): string {
  return `PUB ${subject}${replyTo === undefined ? '' : ` ${replyTo}`} ${Buffer.byteLength(payload)}\r\n${payload}\r\n`;
}

function coreCluster(): MiniCluster {
  // No streams: every subject is NATS core.
  const cluster = new MiniCluster({ streams: [] });
  cluster.electLeader(1);
  // The followers learn the commit index, so the read barriers of their live SUBs pass at once (see BrokerNode.subscribe).
  cluster.heartbeat();
  return cluster;
}

describe('NATS core across nodes', () => {
  it('gives each message to one member of a queue group in the whole cluster, the members taken in turn', () => {
    const cluster = coreCluster();
    const members: TestClient[] = [1, 2, 3].map((node) => cluster.connect(node));
    for (const member of members) member.send('SUB work.* workers 1\r\n');
    const watcher = cluster.connect(2);
    watcher.send('SUB work.> 7\r\n');
    cluster.settle();
    const publisher = cluster.connect(3);
    for (let i = 0; i < 12; i++) publisher.send(pub('work.item', `job ${i}`));
    cluster.settle();
    const received = members.map((member) => member.messages());
    expect(received.flat().sort()).toEqual(Array.from({ length: 12 }, (_, i) => `job ${i}`).sort());
    expect(received.map((jobs) => jobs.length)).toEqual([4, 4, 4]);
    expect(watcher.messages()).toHaveLength(12);
    // With no member left on the publishing node, the peers' members share them.
    const elsewhere = cluster.connect(3);
    members[2]!.send('UNSUB 1\r\n');
    cluster.settle();
    for (let i = 0; i < 6; i++) elsewhere.send(pub('work.item', `later ${i}`));
    cluster.settle();
    expect(members.map((member) => member.messages().length)).toEqual([3, 3, 0]);
  });

  it('answers a request nobody subscribes to with a 503 status, when the client asked for no_responders', () => {
    const cluster = coreCluster();
    const client = cluster.connect(2, '{"verbose":false,"headers":true,"no_responders":true}');
    client.send('SUB _INBOX.me.* 1\r\n');
    client.send(pub('svc.nobody', 'hi', '_INBOX.me.1'));
    const [status] = client.take('Msg');
    expect(status).toMatchObject({ subject: '_INBOX.me.1', sid: '1', headers: { statusCode: 503, fields: new Map([['Nats-Subject', ['svc.nobody']]]) } });
    expect(status!.payload).toHaveLength(0);
    // A client that did not ask hears nothing, as from nats-server.
    const plain = cluster.connect(2);
    plain.send('SUB _INBOX.you.* 1\r\n');
    plain.send(pub('svc.nobody', 'hi', '_INBOX.you.1'));
    expect(plain.take('Msg')).toEqual([]);
  });

  it('sends nothing to a node without a matching subscription, and honours echo: false', () => {
    const cluster = coreCluster();
    const self = cluster.connect(1, '{"verbose":false,"headers":true,"echo":false}');
    self.send('SUB chat.* 1\r\n');
    cluster.settle();
    cluster.network = [];
    self.send(pub('chat.room', 'mine'));
    expect(self.messages()).toEqual([]);
    expect(cluster.network.filter((message) => message.type === 'Relay')).toEqual([]);
  });
});
