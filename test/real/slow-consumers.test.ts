// Clients that stop reading, against a real cluster over TCP: four
// subscribers of a stored subject, five replays from the start, twenty
// HISTORY reads of a big topic, none of them ever read, and a subscriber of
// unstored messages that stops reading. The node they are connected to must
// hold about one output budget per client, not everything sent to them: its
// resident memory stays within a bound of a peer's that serves no such
// client, the unstored subscriber is cut with -ERR 'Slow Consumer', and the
// node goes on serving.

import { execFile } from 'node:child_process';
import net from 'node:net';
import fs from 'node:fs';
import { connect } from 'nats';
import { describe, expect, it } from 'vitest';
import { CLI, eventually, RealCluster, sleep } from '../../src/runtime/local-cluster.js';
import { trackedResources } from './tracked.js';

const MIB = 1024 * 1024;
const { clusters, connections } = trackedResources();
const sockets: net.Socket[] = [];

/** A raw client that sends its commands and then reads nothing more. */
async function silentClient(port: number, commands: string): Promise<net.Socket> {
  const socket = net.connect(port, '127.0.0.1');
  sockets.push(socket);
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  socket.on('error', () => undefined);
  socket.write(`CONNECT {"verbose":false}\r\n${commands}`);
  socket.pause();
  return socket;
}

/** Everything a paused client's socket still delivers once it reads again, until the node closes it. */
async function drain(socket: net.Socket, timeoutMs: number): Promise<string> {
  const chunks: Buffer[] = [];
  socket.on('data', (chunk: Buffer) => chunks.push(chunk));
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  socket.resume();
  await Promise.race([closed, sleep(timeoutMs)]);
  return Buffer.concat(chunks).toString('latin1');
}

function residentBytes(pid: number): number {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = /VmRSS:\s+(\d+) kB/.exec(status);
  if (kib === null) throw new Error(`no VmRSS in /proc/${pid}/status`);
  return Number(kib[1]) * 1024;
}

describe('real mode: HISTORY paced by the output budget', () => {
  it('chorus history pages on until it has what it asked for, when each read holds only what fits', async () => {
    const cluster = await RealCluster.create(3, 20, 10, 2, undefined, { node: { sessionOutputBytesMax: 2048 } });
    clusters.push(cluster);
    cluster.start();
    const leader = await cluster.waitForLeader();
    const publisher = await connect({ servers: `127.0.0.1:${cluster.node(leader).clientPort}` });
    connections.push(publisher);
    const js = publisher.jetstream();
    for (let i = 1; i <= 60; i++) await js.publish('paged', new TextEncoder().encode(`message ${i} ${'x'.repeat(100)}`), { msgID: `paged-${i}` });
    const server = `127.0.0.1:${cluster.node(leader).clientPort}`;
    const output = await new Promise<string>((resolve, reject) =>
      execFile(process.execPath, [CLI, 'history', 'paged', '--from', '3', '--limit', '50', '--server', server], (error, stdout) => (error === null ? resolve(stdout) : reject(error))),
    );
    const lines = output.trim().split('\n');
    expect(lines.slice(0, -1).map((line) => Number(line.split('\t')[0]))).toEqual(Array.from({ length: 50 }, (_, i) => i + 3));
    expect(lines.at(-1)).toBe("(50 messages; the topic's last offset is 60)");
  }, 60_000);
});

describe('real mode: clients that do not read', () => {
  it.skipIf(process.platform !== 'linux')(
    'holds the node to a bounded memory, cuts the unstored subscriber as a slow consumer, and keeps serving',
    async () => {
      const cluster = await RealCluster.create(3, 20, 10, 2, undefined, { node: { sessionPendingBytesMax: 8 * MIB } });
      clusters.push(cluster);
      cluster.start();
      const leader = await cluster.waitForLeader();
      const [watched, other] = [1, 2, 3].filter((id) => id !== leader) as [number, number];
      const watchedPort = cluster.node(watched).clientPort;
      try {
        const subscribers = await Promise.all(Array.from({ length: 4 }, (_, i) => silentClient(watchedPort, `SUB big ${i + 1}\r\nPING\r\n`)));
        const unstored = await silentClient(watchedPort, 'SUB _INBOX.feed 1\r\nPING\r\n');
        const publisher = await connect({ servers: `127.0.0.1:${cluster.node(leader).clientPort}` });
        connections.push(publisher);
        const js = publisher.jetstream();
        const payload = new Uint8Array(128 * 1024).fill(65);
        const count = 400;
        let next = 0;
        await Promise.all(
          Array.from({ length: 16 }, async () => {
            while (next < count) {
              const i = next++;
              await js.publish('big', payload, { msgID: `big-${i}`, timeout: 30_000 });
            }
          }),
        );
        const readers = [
          ...(await Promise.all(Array.from({ length: 5 }, (_, i) => silentClient(watchedPort, `XSUB big ${100 + i} FIRST\r\n`)))),
          await silentClient(watchedPort, 'HISTORY big 1 10000\r\n'.repeat(20)),
        ];
        // Unstored messages to the subscriber that stopped reading, through the node it is on.
        const local = await connect({ servers: `127.0.0.1:${watchedPort}` });
        connections.push(local);
        for (let i = 0; i < 200; i++) local.publish('_INBOX.feed', payload);
        await local.flush();
        await sleep(1500);
        const watchedRss = residentBytes(cluster.supervisor.pid(watched)!);
        const otherRss = residentBytes(cluster.supervisor.pid(other)!);
        const published = (count * payload.length) / MIB;
        console.log(`published ${published} MiB stored and 25 MiB unstored; RSS: node with silent clients ${(watchedRss / MIB).toFixed(0)} MiB, peer ${(otherRss / MIB).toFixed(0)} MiB`);
        // Sent whole, the four subscribers, five replays and twenty reads would hold over 500 MiB more.
        expect(watchedRss - otherRss).toBeLessThan(128 * MIB);

        expect(await drain(unstored, 5000)).toContain("-ERR 'Slow Consumer'");
        const status = await eventually(async () => {
          const value = await cluster.status(watched);
          return value === undefined ? undefined : value;
        }, 5000, 'the node to answer STATUS');
        expect(status['clients']).toMatchObject({ slowConsumers: 1 });
        // The node's log says so, at warning level.
        await eventually(() => (cluster.lines.some((line) => line.includes(`[n${watched}]`) && / WARN n\d+ cut a client as a slow consumer/.test(line)) ? true : undefined), 5000, 'the slow-consumer log line');
        // The node still serves: a publish through it is acknowledged.
        const ack = await local.jetstream().publish('big', new Uint8Array(8), { msgID: 'after', timeout: 10_000 });
        expect(ack.seq).toBe(count + 1);
        for (const socket of [...subscribers, ...readers]) socket.destroy();
      } finally {
        for (const socket of sockets.splice(0)) socket.destroy();
      }
    },
    120_000,
  );
});
