// Real-mode benchmarks, on loopback with real processes and fsync:
//   - the publish path beside nats-server JetStream (bench/publish.ts): the
//     official `nats` client, 128-byte messages with PubAcks, 3 replicas, at
//     1, 64 and 512 in flight, chorus with both sync policies and through a
//     follower, in interleaved rounds, with rates, latencies, per-round
//     ratios, elections, entries per fsync and delivery latency at a follower;
//   - failover time: kill -9 of the leader to the first acknowledged publish
//     through the new leader.
// Usage: npm run bench:real -- [--rounds 3] [--messages 3000] [--failovers 10] [--cpu-prof DIR]
// --cpu-prof writes a CPU profile of every chorus node into DIR as it stops.
// Both clusters run with production timing: chorus ticks every 100 ms and
// elects after 10 to 20 ticks of silence (1 to 2 s), as etcd does by default.

import { ChorusClient } from '../src/runtime/client.js';
import { RealCluster, sleep } from '../src/runtime/local-cluster.js';
import { comparePublishPath } from './publish.js';
import { BENCH_PAYLOAD } from './publishing.js';
import { median, readOptions } from './stats.js';

const { rounds, messages, failovers, 'cpu-prof': cpuProfileDir } = readOptions({ rounds: 3, messages: 3000, failovers: 10 }, ['cpu-prof']);
const payload = BENCH_PAYLOAD;

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
  if (cpuProfileDir !== undefined) process.env['CHORUS_NODE_ARGS'] = `--cpu-prof --cpu-prof-dir=${cpuProfileDir}`;
  await comparePublishPath(rounds, messages);
  console.log('');
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
