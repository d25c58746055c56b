// Real-mode benchmarks, on loopback with real processes and fsync:
//   - publish throughput with the official `nats` client, 128-byte messages, at
//     1 and at 64 publishes in flight, chorus beside nats-server JetStream with
//     3 replicas measured in the same run with the same client;
//   - failover time: kill -9 of the leader to the first acknowledged publish
//     through the new leader.
// Usage: npm run bench:real -- [--runs 3] [--messages 2000] [--failovers 10]
// Both clusters run with production timing: chorus ticks every 100 ms and
// elects after 10 to 20 ticks of silence (1 to 2 s), as etcd does by default.

import { connect, type NatsConnection } from 'nats';
import { ChorusClient } from '../src/runtime/client.js';
import { RealCluster, sleep } from '../src/runtime/local-cluster.js';
import { NatsServerCluster, natsServerBinary } from './nats-server-cluster.js';
import { BENCH_PAYLOAD, publishRound } from './publishing.js';
import { median, readOptions } from './stats.js';

const { runs, messages, failovers } = readOptions({ runs: 3, messages: 2000, failovers: 10 });
const payload = BENCH_PAYLOAD;

/** Publishes `count` messages with `inFlight` concurrent publishers awaiting their PubAcks; returns messages per second. */
async function publishRate(nc: NatsConnection, subject: string, count: number, inFlight: number, runTag: string): Promise<number> {
  return (await publishRound(nc, subject, count, inFlight, runTag)).rate;
}

async function chorusRates(inFlights: readonly number[]): Promise<Map<number, number[]>> {
  const cluster = await RealCluster.create(3, 100, 10, 1);
  cluster.start();
  const rates = new Map<number, number[]>(inFlights.map((n) => [n, []]));
  try {
    await cluster.waitForLeader();
    const nc = await connect({ servers: `127.0.0.1:${cluster.node(1).clientPort}` });
    await publishRate(nc, 'bench', 200, 8, 'warmup');
    for (let run = 0; run < runs; run++) {
      for (const inFlight of inFlights) rates.get(inFlight)!.push(await publishRate(nc, 'bench', messages, inFlight, `c${run}-${inFlight}`));
    }
    const [answer] = await cluster.admin(await cluster.waitForLeader(), 'STATUS');
    const status = JSON.parse(answer!.replace(/^OK /, '')) as { entries: number; fsyncs: number };
    console.log(`  chorus leader: ${status.entries} entries persisted in ${status.fsyncs} fsyncs (group commit: ${(status.entries / status.fsyncs).toFixed(1)} per fsync)`);
    await nc.close();
  } finally {
    await cluster.stop();
    cluster.remove();
  }
  return rates;
}

async function natsRates(binary: string, inFlights: readonly number[]): Promise<Map<number, number[]>> {
  const cluster = await NatsServerCluster.start(binary, 'BENCH', 'bench');
  const rates = new Map<number, number[]>(inFlights.map((n) => [n, []]));
  try {
    const nc = await connect({ servers: `127.0.0.1:${cluster.clientPorts[0]}` });
    await publishRate(nc, 'bench', 200, 8, 'warmup');
    for (let run = 0; run < runs; run++) {
      for (const inFlight of inFlights) rates.get(inFlight)!.push(await publishRate(nc, 'bench', messages, inFlight, `n${run}-${inFlight}`));
    }
    await nc.close();
  } finally {
    await cluster.stop();
  }
  return rates;
}

/** One failover: the time from kill -9 of the leader to the first PubAck through the new leader. */
async function failoverOnce(cluster: RealCluster, tag: string): Promise<number> {
  const leader = await cluster.waitForLeader([1, 2, 3]);
  const survivors = [1, 2, 3].filter((id) => id !== leader);
  const clients = await Promise.all(survivors.map((id) => ChorusClient.connect('127.0.0.1', cluster.node(id).clientPort)));
  await clients[0]!.publish('failover', payload, `${tag}-before`, 5000);
  const killedAt = performance.now();
  await cluster.supervisor.kill(leader);
  let attempt = 0;
  for (;;) {
    const client = clients[attempt++ % clients.length]!;
    const reply = await client.publish('failover', payload, `${tag}-after`, 3000).catch(() => undefined);
    if (reply !== undefined && typeof reply.seq === 'number') break;
    await sleep(10);
  }
  const elapsed = performance.now() - killedAt;
  for (const client of clients) client.close();
  cluster.supervisor.start(leader);
  return elapsed;
}

async function main(): Promise<void> {
  const inFlights = [1, 64];
  console.log(`publish throughput, nats client, 128-byte messages, ${messages} per run, ${runs} runs, medians:`);
  const chorus = await chorusRates(inFlights);
  const binary = natsServerBinary();
  const nats = binary === undefined ? undefined : await natsRates(binary, inFlights);
  if (nats === undefined) console.log('  nats-server is not installed (apt-get install nats-server): the side-by-side column is skipped');
  for (const inFlight of inFlights) {
    const ours = median(chorus.get(inFlight)!);
    const theirs = nats === undefined ? undefined : median(nats.get(inFlight)!);
    const beside = theirs === undefined ? '' : `   nats-server JetStream R3 ${theirs.toFixed(0)} msg/s   chorus/nats ${(ours / theirs).toFixed(2)}`;
    console.log(`  ${String(inFlight).padStart(2)} in flight: chorus ${ours.toFixed(0)} msg/s${beside}`);
  }

  console.log(`failover: kill -9 of the leader to the first acknowledged publish through the new leader, ${failovers} tries`);
  const cluster = await RealCluster.create(3, 100, 10, 1);
  cluster.start();
  const times: number[] = [];
  try {
    for (let i = 0; i < failovers; i++) {
      times.push(await failoverOnce(cluster, `f${i}`));
      console.log(`  try ${i + 1}: ${times[i]!.toFixed(0)} ms`);
    }
  } finally {
    await cluster.stop();
    cluster.remove();
  }
  console.log(`  median ${median(times).toFixed(0)} ms, worst ${Math.max(...times).toFixed(0)} ms (100 ms ticks, elections after 1 to 2 s of silence)`);
}

await main();
