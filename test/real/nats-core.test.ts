// NATS core beside nats-server: the same script, with the official `nats`
// client, against a chorus cluster and a nats-server cluster, each of three
// nodes with the script's connections spread over them. What a user would
// notice must come out the same: request/reply across nodes, no-responders,
// queue groups shared over the whole cluster, and noEcho. Skipped, saying
// why, where Debian's nats-server is not installed.

import { connect, ErrorCode, StringCodec, type NatsConnection, type NatsError } from 'nats';
import { afterEach, describe, expect, it } from 'vitest';
import { NatsServerCluster, natsServerBinary } from '../../bench/nats-server-cluster.js';
import { eventually, RealCluster, sleep } from '../../src/runtime/local-cluster.js';

const codec = StringCodec();
const connections: NatsConnection[] = [];
const stops: (() => Promise<void>)[] = [];

afterEach(async () => {
  for (const connection of connections.splice(0)) await connection.close().catch(() => undefined);
  for (const stop of stops.splice(0)) await stop();
});

async function to(port: number, options: { noEcho?: boolean } = {}): Promise<NatsConnection> {
  const connection = await connect({ servers: `127.0.0.1:${port}`, ...options });
  connections.push(connection);
  return connection;
}

interface Observed {
  readonly reply: string;
  readonly noResponders: string;
  readonly queueDeliveries: number;
  readonly queueDistinct: number;
  readonly queueMembersUsed: number;
  readonly echoed: string[];
}

/** The script: everything a client sees, with no server-specific expectation in it. */
async function script(ports: readonly number[]): Promise<Observed> {
  const [a, b, c] = ports as [number, number, number];
  const service = await to(a);
  service.subscribe('svc.echo', { callback: (_error, message) => message.respond(codec.encode(`echo ${codec.decode(message.data)}`)) });
  await service.flush();
  const caller = await to(c);
  // Interest travels between servers in a moment, on both systems: retry until it has.
  const reply = await eventually(async () => {
    try {
      return codec.decode((await caller.request('svc.echo', codec.encode('hi'), { timeout: 500 })).data);
    } catch {
      return undefined;
    }
  }, 10_000, 'the responder on another node to answer');

  const started = Date.now();
  const noResponders = await caller.request('svc.nobody', codec.encode('hi'), { timeout: 5000 }).then(
    () => 'answered',
    (error: NatsError) => `${error.code === ErrorCode.NoResponders ? 'no responders' : error.code} after ${Date.now() - started < 1000 ? 'under 1 s' : 'a timeout'}`,
  );

  const received: string[][] = [[], [], []];
  for (const [i, port] of ports.entries()) {
    const member = await to(port);
    member.subscribe('work.*', { queue: 'workers', callback: (_error, message) => received[i]!.push(codec.decode(message.data)) });
    await member.flush();
  }
  await sleep(500);
  const producer = await to(b);
  for (let i = 0; i < 30; i++) producer.publish('work.item', codec.encode(`job ${i}`));
  await producer.flush();
  await eventually(() => (received.flat().length >= 30 ? true : undefined), 10_000, 'thirty queue deliveries');
  await sleep(300);

  const quiet = await to(a, { noEcho: true });
  const echoed: string[] = [];
  quiet.subscribe('chat.*', { callback: (_error, message) => echoed.push(codec.decode(message.data)) });
  await quiet.flush();
  await sleep(300);
  quiet.publish('chat.room', codec.encode('my own'));
  const other = await to(a);
  other.publish('chat.room', codec.encode('from another'));
  await other.flush();
  await eventually(() => (echoed.length >= 1 ? true : undefined), 5000, 'the other connection\'s message');
  await sleep(200);
  return {
    reply,
    noResponders,
    queueDeliveries: received.flat().length,
    queueDistinct: new Set(received.flat()).size,
    queueMembersUsed: received.filter((jobs) => jobs.length > 0).length,
    echoed,
  };
}

const binary = natsServerBinary();

describe('NATS core: chorus beside nats-server', () => {
  it.runIf(binary !== undefined)('the same client script sees the same request/reply, no-responders, queue groups and noEcho', async () => {
    const chorus = await RealCluster.create(3, 20, 10, 2, []);
    stops.push(async () => {
      await chorus.stop();
      chorus.remove();
    });
    chorus.start();
    await chorus.waitForLeader();
    const onChorus = await script(chorus.nodes.map((node) => node.clientPort));

    const nats = await NatsServerCluster.start(binary!, 'UNUSED', 'unused.subject');
    stops.push(() => nats.stop());
    const onNats = await script(nats.clientPorts);

    expect(onChorus).toEqual(onNats);
    expect(onChorus).toMatchObject({ reply: 'echo hi', noResponders: 'no responders after under 1 s', queueDeliveries: 30, queueDistinct: 30, echoed: ['from another'] });
  }, 120_000);

  it.runIf(binary === undefined)('is skipped: Debian\'s nats-server is not installed (apt-get install nats-server)', () => {
    expect(binary).toBeUndefined();
  });
});
