// The storage benchmark, on a real 3-node cluster on loopback with fsync:
//   1. publishes `messages` (2,000,000 by default) messages of 128 bytes, with
//      `inFlight` publishes awaiting their PubAcks at once, into a stream that
//      keeps at most `limit` (100,000) of them, sampling every node's resident
//      memory (RSS) and data directory size every second;
//   2. restarts one follower and times it from start to serving the stream's
//      last message;
//   3. wipes another follower's data directory, restarts it, times its catch-up
//      by snapshot plus the log's tail, and compares its stream with the leader's.
// Usage: npm run bench:storage -- [--messages 2000000] [--limit 100000] [--in-flight 256]

import * as fs from 'node:fs';
import * as path from 'node:path';
import { connect } from 'nats';
import { streamConfigWithDefaults } from '../src/broker/stream-config.js';
import { ChorusClient } from '../src/runtime/client.js';
import { eventually, RealCluster, sleep } from '../src/runtime/local-cluster.js';
import { median, readOptions } from './stats.js';

const { messages, limit, 'in-flight': inFlight } = readOptions({ messages: 2_000_000, limit: 100_000, 'in-flight': 256 });
const payload = new Uint8Array(128).fill(0x61);
const SUBJECT = 'bench.orders';

interface Sample {
  readonly atS: number;
  readonly published: number;
  readonly rssMb: number[];
  readonly diskMb: number[];
}

function rssMb(pid: number | undefined): number {
  if (pid === undefined) return Number.NaN;
  try {
    const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1]);
    return kb / 1024;
  } catch {
    return Number.NaN;
  }
}

function directoryMb(dir: string): number {
  let bytes = 0;
  const walk = (at: string): void => {
    for (const entry of fs.readdirSync(at, { withFileTypes: true })) {
      const full = path.join(at, entry.name);
      if (entry.isDirectory()) walk(full);
      else bytes += fs.statSync(full).size;
    }
  };
  try {
    walk(dir);
  } catch {
    return Number.NaN;
  }
  return bytes / (1024 * 1024);
}

/** The stream's last sequence as a node serves it, or undefined while it does not answer. */
async function lastSeq(cluster: RealCluster, id: number): Promise<number | undefined> {
  try {
    const client = await ChorusClient.connect('127.0.0.1', cluster.node(id).clientPort, 1000);
    try {
      const { lastOffset } = await client.history(SUBJECT, 1, 0, 2000);
      return lastOffset;
    } finally {
      client.close();
    }
  } catch {
    return undefined;
  }
}

async function streamDigest(cluster: RealCluster, id: number, from: number): Promise<string> {
  const client = await ChorusClient.connect('127.0.0.1', cluster.node(id).clientPort, 2000);
  try {
    let hash = 0;
    let count = 0;
    for (let offset = from; ; ) {
      const { entries } = await client.history(SUBJECT, offset, 10_000, 10_000);
      if (entries.length === 0) break;
      for (const entry of entries) {
        hash = (Math.imul(hash ^ entry.offset, 0x01000193) + entry.payload.length) >>> 0;
        count++;
      }
      offset = entries[entries.length - 1]!.offset + 1;
    }
    return `${count} messages, hash ${hash.toString(16)}`;
  } finally {
    client.close();
  }
}

/** Each node's JavaScript heap in use, from its admin STATUS: what RSS holds that is live. */
async function heapReport(cluster: RealCluster): Promise<string> {
  const heaps = await Promise.all(
    [1, 2, 3].map(async (id) => {
      try {
        const [answer] = await cluster.admin(id, 'STATUS');
        const status = JSON.parse((answer ?? '').replace(/^OK /, '')) as { memory?: { heapUsed: number; arrayBuffers: number } };
        return status.memory === undefined ? '?' : `${(status.memory.heapUsed + status.memory.arrayBuffers).toFixed(0)}`;
      } catch {
        return '?';
      }
    }),
  );
  return heaps.join(' / ');
}

/**
 * Where a restart's time went, from the node's own log lines (each starts
 * with its ISO time): process start and storage recovery up to the line
 * that reports what was recovered, then up to listening.
 */
function restartPhases(lines: readonly string[], id: number, startedAtMs: number): string {
  const at = (pattern: RegExp): number | undefined => {
    const line = lines.find((text) => text.startsWith(`[n${id}]`) && pattern.test(text));
    const time = line === undefined ? undefined : /(\d{4}-\d\d-\d\dT[\d:.]+Z)/.exec(line)?.[1];
    return time === undefined ? undefined : Date.parse(time) - startedAtMs;
  };
  const recovered = at(/of this data directory: recovered/);
  const restored = at(/restored the state machine/);
  const listening = at(/listening: clients on/);
  const seconds = (ms: number | undefined): string => (ms === undefined ? '?' : `${(ms / 1000).toFixed(2)} s`);
  const restoredLine = lines.find((text) => text.startsWith(`[n${id}]`) && /restored the state machine/.test(text));
  const restoredWhat = restoredLine === undefined ? '' : ` (${/restored the state machine (.*)$/.exec(restoredLine)?.[1] ?? ''})`;
  return `process start and storage recovered at ${seconds(recovered)}, state machine restored at ${seconds(restored)}${restoredWhat}, listening at ${seconds(listening)}`;
}

function describeSamples(samples: readonly Sample[]): void {
  const nodes = samples[0]?.rssMb.length ?? 0;
  const afterLimit = samples.filter((sample) => sample.published >= limit);
  const lastHalf = afterLimit.slice(Math.floor(afterLimit.length / 2));
  for (let node = 0; node < nodes; node++) {
    const all = afterLimit.map((sample) => sample.rssMb[node]!).filter(Number.isFinite);
    const half = lastHalf.map((sample) => sample.rssMb[node]!).filter(Number.isFinite);
    if (all.length === 0) continue;
    const firstQuarter = median(half.slice(0, Math.max(1, Math.floor(half.length / 4))));
    const lastQuarter = median(half.slice(-Math.max(1, Math.floor(half.length / 4))));
    console.log(
      `  n${node + 1}: RSS after the first ${limit} messages: max ${Math.max(...all).toFixed(0)} MB, median ${median(all).toFixed(0)} MB; ` +
        `last half: first quarter ${firstQuarter.toFixed(0)} MB, last quarter ${lastQuarter.toFixed(0)} MB; disk at the end ${samples.at(-1)!.diskMb[node]!.toFixed(0)} MB`,
    );
  }
}

async function main(): Promise<void> {
  const stream = streamConfigWithDefaults({ name: 'BENCH', subjects: ['bench.>'], maxMsgs: limit }, 3);
  const cluster = await RealCluster.create(3, 100, 10, 1, [stream]);
  cluster.start();
  const samples: Sample[] = [];
  try {
    const leader = await cluster.waitForLeader();
    const followers = [1, 2, 3].filter((id) => id !== leader);
    console.log(`chorus storage benchmark: ${messages} messages of ${payload.length} bytes, ${inFlight} in flight, into a stream of at most ${limit}`);
    const nc = await connect({ servers: `127.0.0.1:${cluster.node(leader).clientPort}`, timeout: 10_000 });
    const js = nc.jetstream({ timeout: 30_000 });
    let next = 0;
    let acked = 0;
    const started = performance.now();
    const sampler = setInterval(() => {
      const atS = (performance.now() - started) / 1000;
      const rss = [1, 2, 3].map((id) => rssMb(cluster.supervisor.pid(id)));
      const disk = [1, 2, 3].map((id) => directoryMb(cluster.node(id).dataDir));
      samples.push({ atS, published: acked, rssMb: rss, diskMb: disk });
      if (samples.length % 30 === 0) {
        void heapReport(cluster).then((heaps) => {
          console.log(`  ${atS.toFixed(0)} s: ${acked} acknowledged (${(acked / atS).toFixed(0)}/s); RSS ${rss.map((mb) => mb.toFixed(0)).join(' / ')} MB; heap used ${heaps} MB; disk ${disk.map((mb) => mb.toFixed(0)).join(' / ')} MB`);
        });
      }
    }, 1000);
    await Promise.all(
      Array.from({ length: inFlight }, async () => {
        while (next < messages) {
          next++;
          await js.publish(SUBJECT, payload);
          acked++;
        }
      }),
    );
    clearInterval(sampler);
    const seconds = (performance.now() - started) / 1000;
    await nc.close();
    console.log(`published ${acked} in ${seconds.toFixed(0)} s (${(acked / seconds).toFixed(0)} messages/s)`);
    describeSamples(samples);

    const finalSeq = (await lastSeq(cluster, leader))!;
    const restarted = followers[0]!;
    await cluster.supervisor.kill(restarted);
    cluster.lines.length = 0;
    const restartStartedAt = Date.now();
    const restartStarted = performance.now();
    cluster.supervisor.start(restarted);
    await eventually(async () => ((await lastSeq(cluster, restarted)) === finalSeq ? true : undefined), 60_000, 'the restarted follower');
    const restartSeconds = (performance.now() - restartStarted) / 1000;
    console.log(`restart of n${restarted} to serving the stream's last message: ${restartSeconds.toFixed(2)} s (RSS ${rssMb(cluster.supervisor.pid(restarted)).toFixed(0)} MB)`);
    console.log(`  ${restartPhases(cluster.lines, restarted, restartStartedAt)}`);

    const wiped = followers[1]!;
    await cluster.supervisor.kill(wiped);
    fs.rmSync(cluster.node(wiped).dataDir, { recursive: true, force: true });
    const catchUpStarted = performance.now();
    cluster.supervisor.start(wiped);
    await eventually(async () => ((await lastSeq(cluster, wiped)) === finalSeq ? true : undefined), 120_000, 'the wiped follower');
    const catchUpSeconds = (performance.now() - catchUpStarted) / 1000;
    await sleep(500);
    const first = Math.max(1, finalSeq - limit + 1);
    const [leaderDigest, wipedDigest] = [await streamDigest(cluster, leader, first), await streamDigest(cluster, wiped, first)];
    const installed = cluster.lines.some((line) => line.startsWith(`[n${wiped}]`) && line.includes("installed the leader's snapshot"));
    console.log(`wiped n${wiped}: caught up ${installed ? 'by snapshot plus tail' : 'entry by entry'} in ${catchUpSeconds.toFixed(2)} s; its stream ${wipedDigest}, the leader's ${leaderDigest}: ${wipedDigest === leaderDigest ? 'equal' : 'DIFFERENT'}`);
  } finally {
    await cluster.stop();
    cluster.remove();
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : String(error));
  process.exitCode = 1;
});
