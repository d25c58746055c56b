import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isoTime } from '../../src/node/stream-api.js';
import { streamConfigWithDefaults } from '../../src/broker/stream-config.js';
import { MiniCluster, type TestClient } from './mini-cluster.js';

// Stream management on JetStream's API subjects, through the wire protocol:
// writes go through the log from any node, reads see every write a node has
// acknowledged, and errors carry JetStream's codes.

const decoder = new TextDecoder();

function request(client: TestClient, subject: string, body: unknown, inbox: string): void {
  const payload = body === undefined ? '' : JSON.stringify(body);
  client.send(`PUB ${subject} ${inbox} ${Buffer.byteLength(payload)}\r\n${payload}\r\n`);
}

function answers(client: TestClient): Record<string, unknown>[] {
  return client.take('Msg').map((frame) => JSON.parse(decoder.decode(frame.payload)) as Record<string, unknown>);
}

/** Settles, then lets a heartbeat tell the followers the commit index, so every node has applied everything. */
function settleAll(cluster: MiniCluster): void {
  cluster.settle();
  cluster.heartbeat();
  cluster.settle();
}

/** A cluster with no declared streams, a leader, and a client on follower 3. */
function setUp(): { cluster: MiniCluster; client: TestClient } {
  const cluster = new MiniCluster({ streams: [] });
  cluster.electLeader(1);
  const client = cluster.connect(3);
  client.send('SUB _INBOX.api.* 1\r\n');
  return { cluster, client };
}

describe('the stream API ($JS.API.STREAM.*)', () => {
  it('creates a stream from a follower, stores only its subjects, and reports its state on every node', () => {
    const { cluster, client } = setUp();
    request(client, '$JS.API.STREAM.CREATE.ORDERS', { name: 'ORDERS', subjects: ['orders.*'], max_msgs: 2 }, '_INBOX.api.1');
    settleAll(cluster);
    const [created] = answers(client);
    expect(created).toMatchObject({
      type: 'io.nats.jetstream.api.v1.stream_create_response',
      config: { name: 'ORDERS', subjects: ['orders.*'], max_msgs: 2, discard: 'old', num_replicas: 3 },
      state: { messages: 0, first_seq: 1, last_seq: 0 },
    });
    for (let i = 1; i <= 3; i++) client.send(`PUB orders.eu _INBOX.api.p${i} 1\r\n${i}\r\n`);
    // A subject the stream does not capture is not stored and gets no PubAck.
    client.send('PUB audit.x _INBOX.api.q 1\r\nx\r\n');
    settleAll(cluster);
    expect(answers(client).map((ack) => [ack.stream, ack.seq])).toEqual([
      ['ORDERS', 1],
      ['ORDERS', 2],
      ['ORDERS', 3],
    ]);
    const other = cluster.connect(2);
    other.send('SUB _INBOX.api.* 1\r\n');
    request(other, '$JS.API.STREAM.INFO.ORDERS', { subjects_filter: '>' }, '_INBOX.api.2');
    settleAll(cluster);
    expect(answers(other)).toEqual([
      expect.objectContaining({ type: 'io.nats.jetstream.api.v1.stream_info_response', state: expect.objectContaining({ messages: 2, first_seq: 2, last_seq: 3, subjects: { 'orders.eu': 2 } }) }),
    ]);
    request(other, '$JS.API.STREAM.NAMES', undefined, '_INBOX.api.3');
    settleAll(cluster);
    expect(answers(other)).toEqual([expect.objectContaining({ total: 1, streams: ['ORDERS'] })]);
  });

  it('purges and deletes, and answers with JetStream errors: overlap, not found, bad config', () => {
    const { cluster, client } = setUp();
    request(client, '$JS.API.STREAM.CREATE.A', { name: 'A', subjects: ['a.>'] }, '_INBOX.api.1');
    settleAll(cluster);
    for (let i = 1; i <= 4; i++) client.send(`PUB a.${i % 2} _INBOX.api.p 1\r\n${i}\r\n`);
    settleAll(cluster);
    answers(client);
    request(client, '$JS.API.STREAM.PURGE.A', { filter: 'a.1' }, '_INBOX.api.2');
    request(client, '$JS.API.STREAM.CREATE.B', { name: 'B', subjects: ['a.1'] }, '_INBOX.api.3');
    request(client, '$JS.API.STREAM.INFO.NOPE', undefined, '_INBOX.api.4');
    request(client, '$JS.API.STREAM.CREATE.C', { name: 'C', subjects: ['c'], max_age: 'soon' }, '_INBOX.api.5');
    request(client, '$JS.API.STREAM.CREATE.D', { name: 'E', subjects: ['d'] }, '_INBOX.api.6');
    request(client, '$JS.API.STREAM.DELETE.A', undefined, '_INBOX.api.7');
    request(client, '$JS.API.STREAM.DELETE.A', undefined, '_INBOX.api.8');
    settleAll(cluster);
    const byInbox = new Map(client.take('Msg').map((frame) => [frame.subject, JSON.parse(decoder.decode(frame.payload)) as Record<string, unknown>]));
    expect(byInbox.get('_INBOX.api.2')).toEqual({ type: 'io.nats.jetstream.api.v1.stream_purge_response', success: true, purged: 2 });
    expect(byInbox.get('_INBOX.api.3')).toMatchObject({ error: { code: 400, err_code: 10065, description: "subjects overlap with an existing stream: B's a.1 and A's a.>" } });
    expect(byInbox.get('_INBOX.api.4')).toMatchObject({ error: { code: 404, err_code: 10059, description: 'stream not found' } });
    expect(byInbox.get('_INBOX.api.5')).toMatchObject({ error: { code: 400, err_code: 10052 } });
    expect(byInbox.get('_INBOX.api.6')).toMatchObject({ error: { code: 400, err_code: 10056, description: 'stream name in subject does not match request' } });
    expect(byInbox.get('_INBOX.api.7')).toEqual({ type: 'io.nats.jetstream.api.v1.stream_delete_response', success: true });
    expect(byInbox.get('_INBOX.api.8')).toMatchObject({ error: { code: 404, err_code: 10059, description: 'stream not found: A' } });
    for (const node of [1, 2, 3]) expect(cluster.node(node).state.streamList()).toEqual([]);
  });
});

describe('isoTime', () => {
  it('formats milliseconds as Date does, over centuries, leap days and the epoch', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 253_402_300_799_999 }), (ms) => {
        expect(isoTime(ms)).toBe(new Date(ms).toISOString());
      }),
    );
    for (const ms of [0, 951_782_400_000, 4_107_542_400_000, 1_764_158_400_123]) expect(isoTime(ms)).toBe(new Date(ms).toISOString());
  });
});

describe('max_age on an idle stream', () => {
  it('empties it on every node: the leader moves the replicated clock on by itself', () => {
    const cluster = new MiniCluster({ streams: [streamConfigWithDefaults({ name: 'TEMP', subjects: ['temp.>'], maxAgeMs: 1000 }, 3)] });
    cluster.electLeader(1);
    const client = cluster.connect(2);
    client.send('PUB temp.a 1\r\nx\r\n');
    settleAll(cluster);
    for (const node of [1, 2, 3]) expect(cluster.node(node).state.stream('TEMP')!.messageCount).toBe(1);
    // Two seconds pass with no publish at all.
    for (let step = 0; step < 20; step++) {
      cluster.nowMs += 100;
      cluster.heartbeat();
    }
    settleAll(cluster);
    for (const node of [1, 2, 3]) expect(cluster.node(node).state.stream('TEMP')!.messageCount).toBe(0);
  });
});

describe('stream lists', () => {
  it('page with offset, as JetStream does, and total counts every matching stream', () => {
    const { cluster, client } = setUp();
    for (const name of ['A', 'B', 'C']) request(client, `$JS.API.STREAM.CREATE.${name}`, { name, subjects: [`${name.toLowerCase()}.>`] }, `_INBOX.api.c${name}`);
    settleAll(cluster);
    answers(client);
    request(client, '$JS.API.STREAM.NAMES', { offset: 1 }, '_INBOX.api.n');
    request(client, '$JS.API.STREAM.NAMES', { subject: 'b.x' }, '_INBOX.api.s');
    request(client, '$JS.API.STREAM.NAMES', { offset: -1 }, '_INBOX.api.bad');
    settleAll(cluster);
    const byInbox = new Map(client.take('Msg').map((frame) => [frame.subject, JSON.parse(decoder.decode(frame.payload)) as Record<string, unknown>]));
    expect(byInbox.get('_INBOX.api.n')).toMatchObject({ total: 3, offset: 1, streams: ['B', 'C'] });
    expect(byInbox.get('_INBOX.api.s')).toMatchObject({ total: 1, streams: ['B'] });
    expect(byInbox.get('_INBOX.api.bad')).toMatchObject({ error: { code: 400, err_code: 10025 } });
  });
});
