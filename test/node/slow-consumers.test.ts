import { describe, expect, it } from 'vitest';
import { MiniCluster, type TestClient } from './mini-cluster.js';

// Clients that stop reading. What a node sends a client counts as pending
// until the client's socket takes it, so a client that does not read holds
// its budget full: stored deliveries pause and catch up later, HISTORY reads
// wait (and every command after them), and an unstored message, which cannot
// wait, cuts the client as a slow consumer, as nats-server does. Whatever
// the client does, the node holds at most about one budget for it.

function pub(subject: string, payload: string): string {
  return `PUB ${subject} ${Buffer.byteLength(payload)}\r\n${payload}\r\n`;
}

function connectedLeader(options: ConstructorParameters<typeof MiniCluster>[0]): { cluster: MiniCluster; publisher: TestClient } {
  const cluster = new MiniCluster(options);
  cluster.electLeader(1);
  return { cluster, publisher: cluster.connect(1) };
}

const PAYLOAD = 'x'.repeat(200);

describe('clients that do not read', () => {
  it('a subscriber to unstored subjects that stops reading is cut with Slow Consumer, counted in STATUS, and others go on', () => {
    const { cluster, publisher } = connectedLeader({ sessionPendingBytesMax: 4096 });
    const slow = cluster.connect(1);
    const healthy = cluster.connect(1);
    slow.send('SUB _INBOX.feed 1\r\n');
    healthy.send('SUB _INBOX.feed 1\r\n');
    cluster.settle();
    slow.reading = false;
    for (let i = 0; i < 40; i++) publisher.send(pub('_INBOX.feed', PAYLOAD));
    cluster.settle();
    // It was sent at most its budget and one message, then cut.
    expect(slow.unreadBytes).toBeLessThan(4096 + 2 * PAYLOAD.length);
    slow.resumeReading();
    expect(slow.take('Err').map((frame) => frame.message)).toEqual(['Slow Consumer']);
    expect(slow.closed).toBe(true);
    expect(healthy.messages()).toHaveLength(40);
    publisher.send('STATUS\r\n');
    expect(publisher.take('Status')[0]?.status).toMatchObject({ clients: { slowConsumers: 1 } });
  });

  it('a subscriber to stored subjects that stops reading is paused at its budget, and gets everything in order once it reads', () => {
    const { cluster, publisher } = connectedLeader({ sessionOutputBytesMax: 2048, catchUpMessagesPerRound: 8 });
    const subscriber = cluster.connect(1);
    subscriber.send('SUB orders 1\r\n');
    cluster.settle();
    subscriber.reading = false;
    for (let i = 1; i <= 50; i++) publisher.send(pub('orders', `${i}:${PAYLOAD}`));
    cluster.settle();
    for (let round = 0; round < 10; round++) cluster.tick(1);
    const budgetAndOneMessage = 2048 + 400;
    expect(subscriber.unreadBytes).toBeLessThan(budgetAndOneMessage);
    expect(subscriber.closed).toBe(false);
    // Each read frees room for more; the rest comes from the log.
    for (let round = 0; round < 40 && subscriber.frames.length + subscriber.unread.length < 50; round++) {
      subscriber.resumeReading();
      for (let tick = 0; tick < 3; tick++) cluster.tick(1);
    }
    subscriber.resumeReading();
    expect(subscriber.messages().map((payload) => Number(payload.split(':')[0]))).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
  });

  it('a HISTORY read holds what fits in the room left, and says where to page on from', () => {
    const { cluster, publisher } = connectedLeader({ sessionOutputBytesMax: 1500 });
    for (let i = 1; i <= 20; i++) publisher.send(pub('orders', `${i}:${PAYLOAD}`));
    cluster.settle();
    const reader = cluster.connect(1);
    reader.send('HISTORY orders 1 20\r\n');
    const [head] = reader.take('HistoryHead');
    const entries = reader.take('Entry');
    expect(head?.count).toBe(entries.length);
    expect(entries.length).toBeGreaterThan(0);
    expect(entries.length).toBeLessThan(20);
    expect(head?.lastOffset).toBe(20);
    const next = entries.at(-1)!.offset + 1;
    reader.send(`HISTORY orders ${next} 20\r\n`);
    expect(reader.take('Entry')[0]?.offset).toBe(next);
  });

  it('a HISTORY from a client with its budget full waits for it to read, and the commands after it wait too, in order', () => {
    const { cluster, publisher } = connectedLeader({ sessionOutputBytesMax: 1500 });
    for (let i = 1; i <= 20; i++) publisher.send(pub('orders', `${i}:${PAYLOAD}`));
    cluster.settle();
    const reader = cluster.connect(1);
    reader.reading = false;
    // The first read fills most of the budget, the second (at least one message) the rest.
    reader.send('HISTORY orders 1 20\r\nHISTORY orders 1 20\r\n');
    const firstReplies = reader.unreadBytes;
    expect(firstReplies).toBeGreaterThanOrEqual(1500);
    // The budget is full and unread: the next read and the PING after it wait.
    reader.send('HISTORY orders 5 20\r\nPING\r\n');
    expect(reader.unreadBytes).toBe(firstReplies);
    expect(cluster.node(1).acceptsInput(reader.session)).toBe(false);
    reader.resumeReading();
    expect(cluster.node(1).acceptsInput(reader.session)).toBe(true);
    const kinds = reader.frames.map((frame) => frame.type).filter((type) => type !== 'Entry' && type !== 'Info');
    expect(kinds).toEqual(['HistoryHead', 'HistoryHead', 'HistoryHead', 'Pong']);
  });

  it('a client that never reads its HISTORY replies holds the node to one budget, however many it asks for', () => {
    const { cluster, publisher } = connectedLeader({ sessionOutputBytesMax: 2000 });
    for (let i = 1; i <= 30; i++) publisher.send(pub('orders', `${i}:${PAYLOAD}`));
    cluster.settle();
    const reader = cluster.connect(1);
    reader.reading = false;
    for (let i = 0; i < 100; i++) reader.send('HISTORY orders 1 30\r\n');
    expect(reader.unreadBytes).toBeLessThan(2000 + 400);
  });
});
