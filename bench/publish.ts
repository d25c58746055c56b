// The publish path side by side with nats-server JetStream: the same official
// `nats` client publishes 128-byte messages with PubAcks to a 3-replica stream
// on a 3-node loopback cluster, at 1, 64 and 512 publishes in flight, in
// rounds that interleave the systems (so that a noisy moment of a shared
// machine falls on all of them alike):
//   - chorus with `storage.sync: always` (fdatasync before acknowledging),
//     published to through its leader, and through a follower,
//   - chorus with `storage.sync: interval` (acknowledge once a majority has
//     written it; fdatasync every second), which promises what nats-server's
//     default promises,
//   - nats-server JetStream, file storage, its defaults.
// It prints, per system and in-flight count, the median over rounds of the
// publish rate and of each round's p50 and p99 PubAck latency, and the
// ratios to nats-server; for chorus, whether any election happened during the
// rounds and how many entries each fsync carried. Then, for chorus, how long
// after a publish a core subscriber on the leader and one on a follower
// receive it. bench:real runs it (see there for the options).

import { connect, type NatsConnection, type Subscription } from 'nats';
import { RealCluster, sleep } from '../src/runtime/local-cluster.js';
import { NatsServerCluster, natsServerBinary } from './nats-server-cluster.js';
import { percentile, publishRound, type Round } from './publishing.js';
import { median } from './stats.js';

const IN_FLIGHTS = [1, 64, 512] as const;

interface System {
  readonly name: string;
  readonly nc: NatsConnection;
  readonly subject: string;
  readonly stop: () => Promise<void>;
  readonly rounds: Map<number, Round[]>;
}

/** The Raft term every node of a chorus cluster reports: a term that moved during the rounds means an election. */
async function terms(cluster: RealCluster): Promise<number[]> {
  const answers = await Promise.all([1, 2, 3].map((id) => cluster.admin(id, 'STATUS').catch(() => [])));
  return answers.map(([answer]) => (answer === undefined ? 0 : (JSON.parse(answer.replace(/^OK /, '')) as { term: number }).term));
}

/** A chorus cluster, published to through its leader and, as a second system, through a follower (which forwards to the leader). */
async function chorusSystems(name: string, sync: 'always' | 'interval', viaFollower: boolean): Promise<System[]> {
  const cluster = await RealCluster.create(3, 100, 10, 1, undefined, { storage: sync === 'interval' ? { sync: 'interval', syncIntervalMs: 1000 } : { sync: 'always' } });
  cluster.start();
  const leader = await cluster.waitForLeader();
  const follower = [1, 2, 3].find((id) => id !== leader)!;
  const nc = await connect({ servers: `127.0.0.1:${cluster.node(leader).clientPort}` });
  const followerNc = viaFollower ? await connect({ servers: `127.0.0.1:${cluster.node(follower).clientPort}` }) : undefined;
  await publishRound(nc, 'bench', 300, 8, `${name}-warmup`);
  if (followerNc !== undefined) await publishRound(followerNc, 'bench', 300, 8, `${name}-follower-warmup`);
  const termsBefore = await terms(cluster);
  const systems: System[] = [
    {
      name,
      nc,
      subject: 'bench',
      rounds: new Map(IN_FLIGHTS.map((n) => [n, []])),
      stop: async () => {
        const termsAfter = await terms(cluster);
        const [answer] = await cluster.admin(leader, 'STATUS').catch(() => [undefined]);
        const status = answer === undefined ? undefined : (JSON.parse(answer.replace(/^OK /, '')) as { entries: number; fsyncs: number });
        const perFsync = status === undefined ? '?' : (status.entries / Math.max(1, status.fsyncs)).toFixed(1);
        const elections = termsAfter.map((term, i) => term - termsBefore[i]!).reduce((a, b) => Math.max(a, b), 0);
        summaries.push(`  ${name}: terms ${termsBefore.join('/')} before the rounds, ${termsAfter.join('/')} after (${elections} elections); leader: ${perFsync} entries per fsync`);
        await nc.close();
        await followerNc?.close();
        await cluster.stop();
        cluster.remove();
      },
    },
  ];
  if (followerNc !== undefined) systems.push({ name: `${name} via follower`, nc: followerNc, subject: 'bench', rounds: new Map(IN_FLIGHTS.map((n) => [n, []])), stop: async () => undefined });
  return systems;
}

const summaries: string[] = [];

async function natsSystem(binary: string): Promise<System> {
  const cluster = await NatsServerCluster.start(binary, 'BENCH', 'bench');
  const nc = await connect({ servers: `127.0.0.1:${cluster.clientPorts[0]}` });
  await publishRound(nc, 'bench', 300, 8, 'nats-warmup');
  return {
    name: 'nats-server',
    nc,
    subject: 'bench',
    rounds: new Map(IN_FLIGHTS.map((n) => [n, []])),
    stop: async () => {
      await nc.close();
      await cluster.stop();
    },
  };
}

/**
 * How long after its publish a message reaches a core subscriber on the
 * leader and one on a follower, with one publish in flight: the publisher
 * stamps each payload with its send time.
 */
async function deliveryLatency(): Promise<{ leaderP50: number; followerP50: number; leaderP99: number; followerP99: number }> {
  const cluster = await RealCluster.create(3, 100, 10, 1);
  cluster.start();
  try {
    const leader = await cluster.waitForLeader();
    const follower = [1, 2, 3].find((id) => id !== leader)!;
    const publisher = await connect({ servers: `127.0.0.1:${cluster.node(leader).clientPort}` });
    const onLeader = await connect({ servers: `127.0.0.1:${cluster.node(leader).clientPort}` });
    const onFollower = await connect({ servers: `127.0.0.1:${cluster.node(follower).clientPort}` });
    const collect = (subscription: Subscription, into: number[]): Promise<void> =>
      (async () => {
        for await (const message of subscription) into.push(performance.now() - new DataView(message.data.buffer, message.data.byteOffset).getFloat64(0));
      })();
    const leaderTimes: number[] = [];
    const followerTimes: number[] = [];
    const subscriptions = [onLeader.subscribe('latency'), onFollower.subscribe('latency')];
    await Promise.all([onLeader.flush(), onFollower.flush()]);
    const done = [collect(subscriptions[0]!, leaderTimes), collect(subscriptions[1]!, followerTimes)];
    const js = publisher.jetstream();
    await js.publish('latency', new Uint8Array(16));
    for (let i = 0; i < 500; i++) {
      const data = new Uint8Array(128);
      new DataView(data.buffer).setFloat64(0, performance.now());
      await js.publish('latency', data);
    }
    await sleep(500);
    for (const subscription of subscriptions) subscription.unsubscribe();
    await Promise.all(done);
    await Promise.all([publisher.close(), onLeader.close(), onFollower.close()]);
    // The first message of each (the unstamped warm-up) is left out.
    const leaderSorted = leaderTimes.slice(1).sort((a, b) => a - b);
    const followerSorted = followerTimes.slice(1).sort((a, b) => a - b);
    return {
      leaderP50: percentile(leaderSorted, 0.5),
      leaderP99: percentile(leaderSorted, 0.99),
      followerP50: percentile(followerSorted, 0.5),
      followerP99: percentile(followerSorted, 0.99),
    };
  } finally {
    await cluster.stop();
    cluster.remove();
  }
}

/** Runs the comparison described at the top of this file and prints its table. */
export async function comparePublishPath(rounds: number, messages: number): Promise<void> {
  console.log(`publish path: nats client, 128-byte messages with PubAcks, 3 replicas, ${messages} messages a round, ${rounds} interleaved rounds, medians over rounds`);
  const binary = natsServerBinary();
  const systems: System[] = [];
  try {
    systems.push(...(await chorusSystems('chorus always', 'always', true)));
    systems.push(...(await chorusSystems('chorus interval', 'interval', false)));
    if (binary === undefined) console.log('  nats-server is not installed (apt-get install nats-server): the side-by-side columns are skipped');
    else systems.push(await natsSystem(binary));
    for (let round = 0; round < rounds; round++) {
      for (const inFlight of IN_FLIGHTS) {
        for (const system of systems) {
          system.rounds.get(inFlight)!.push(await publishRound(system.nc, system.subject, messages, inFlight, `${system.name}-${round}-${inFlight}`.replaceAll(' ', '-')));
        }
      }
      console.log(`  round ${round + 1} of ${rounds} done`);
    }
  } finally {
    // Followers' systems first: their stop does nothing, and the cluster's own stop reads its STATUS before it ends it.
    for (const system of [...systems].reverse()) await system.stop();
  }
  const nats = systems.find((system) => system.name === 'nats-server');
  console.log('');
  console.log('in flight  system                         msgs/s   p50 ms   p99 ms   rate / nats-server, median (per round)');
  for (const inFlight of IN_FLIGHTS) {
    const natsRounds = nats?.rounds.get(inFlight);
    for (const system of systems) {
      const list = system.rounds.get(inFlight)!;
      const rate = median(list.map((r) => r.rate));
      // The ratio of each round to nats-server's same round: a noisy moment falls on both sides of it.
      const ratios = natsRounds === undefined ? [] : list.map((round, i) => round.rate / natsRounds[i]!.rate);
      const ratio = ratios.length === 0 ? '' : `${median(ratios).toFixed(2)} (${ratios.map((value) => value.toFixed(2)).join(' ')})`;
      console.log(
        `${String(inFlight).padStart(9)}  ${system.name.padEnd(29)}  ${rate.toFixed(0).padStart(6)}  ${median(list.map((r) => r.p50Ms)).toFixed(1).padStart(7)}  ${median(list.map((r) => r.p99Ms)).toFixed(1).padStart(7)}   ${ratio}`,
      );
    }
  }
  console.log('');
  for (const line of summaries) console.log(line);
  const delivery = await deliveryLatency();
  console.log('');
  console.log(`chorus, publish to delivery at a core subscriber, one publish in flight: on the leader p50 ${delivery.leaderP50.toFixed(1)} ms (p99 ${delivery.leaderP99.toFixed(1)}), on a follower p50 ${delivery.followerP50.toFixed(1)} ms (p99 ${delivery.followerP99.toFixed(1)})`);
}

