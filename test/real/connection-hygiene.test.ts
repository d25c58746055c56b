// Connection hygiene on a real cluster: silent connections on every port are
// refused at a limit or closed at a deadline while the node keeps serving, a
// client must send CONNECT in time, and a client that stops answering PINGs
// is closed as nats-server closes it.

import * as net from 'node:net';
import { connect, StringCodec } from 'nats';
import { describe, expect, it } from 'vitest';
import { eventually, RealCluster, sleep } from '../../src/runtime/local-cluster.js';
import { trackedResources } from './tracked.js';

const { clusters, connections } = trackedResources();
const codec = StringCodec();

interface Silent {
  readonly socket: net.Socket;
  received: string;
  closedAtMs: number | undefined;
}

/**
 * Opens `count` connections to a port that send nothing. They come from
 * 127.0.0.2, so that they take none of 127.0.0.1's ports, which other tests
 * choose for their nodes as they run.
 */
async function openSilent(port: number, count: number): Promise<Silent[]> {
  const opened: Silent[] = [];
  for (let i = 0; i < count; i++) {
    const socket = net.connect({ host: '127.0.0.1', port, localAddress: '127.0.0.2' });
    const silent: Silent = { socket, received: '', closedAtMs: undefined };
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => (silent.received += chunk));
    socket.on('error', () => undefined);
    socket.on('close', () => (silent.closedAtMs = Date.now()));
    opened.push(silent);
    // A hundred at a time, each batch connected before the next: more at once overflow the listener's
    // backlog, and the kernel then drops connections that the client retries seconds later.
    if (i % 100 === 99 || i === count - 1) {
      await Promise.all(opened.slice(-100).map((each) => (each.socket.connecting ? new Promise((resolve) => each.socket.once('connect', resolve).once('close', resolve)) : undefined)));
    }
  }
  return opened;
}

async function startCluster(connectionLimits: Record<string, number>, node: Record<string, number> = {}): Promise<RealCluster> {
  const cluster = await RealCluster.create(3, 20, 10, 2, undefined, { node, connections: connectionLimits });
  clusters.push(cluster);
  cluster.start();
  return cluster;
}

describe('connection hygiene', () => {
  it('refuses or times out 2,000 silent connections on each port, and the node keeps serving', async () => {
    // A deadline long enough that a loaded machine opens the first 1,000 client connections before the first of
    // them times out: then the rest meet the limit, and both ways of closing a silent connection are seen.
    const cluster = await startCluster({ authTimeoutMs: 4000, peerHandshakesMax: 64, adminConnectionsMax: 16 }, { sessionsMax: 1000 });
    const leader = await cluster.waitForLeader([1, 2, 3]);
    const target = cluster.node(leader === 1 ? 2 : 1);
    const before = await connect({ servers: `127.0.0.1:${target.clientPort}` });
    connections.push(before);
    const js = before.jetstream();
    expect((await js.publish('flood.before', codec.encode('a'))).seq).toBe(1);

    const floodStartedMs = Date.now();
    const silent = {
      client: await openSilent(target.clientPort, 2000),
      peer: await openSilent(target.peerPort, 2000),
      admin: await openSilent(target.adminPort, 2000),
    };
    const all = [...silent.client, ...silent.peer, ...silent.admin];
    try {
      // Meanwhile, a client connected before the flood is served.
      expect((await js.publish('flood.during', codec.encode('b'))).seq).toBe(2);
      await eventually(() => (all.every((each) => each.closedAtMs !== undefined) ? true : undefined), 30_000, 'every silent connection to be closed by the node');
      const lastClosedMs = Math.max(...all.map((each) => each.closedAtMs!));
      // Each was refused at once or closed at its 4 s deadline (plus the time to open them all and some slack on a busy machine).
      expect(lastClosedMs - floodStartedMs).toBeLessThan(25_000);

      const clientAnswers = silent.client.map((each) => each.received.split('\r\n').filter((line) => line.startsWith('-ERR'))[0]);
      expect(new Set(clientAnswers)).toEqual(new Set(["-ERR 'Authentication Timeout'", "-ERR 'maximum connections exceeded'"]));
      // Each admin connection is sent its challenge (unless refused at once), then closed with the reason.
      const adminAnswers = silent.admin.map((each) => each.received.split('\n').filter((line) => line.startsWith('ERR'))[0]);
      expect(silent.admin.every((each) => /^(CHALLENGE [0-9a-f]{32}\n)?ERR /.test(each.received))).toBe(true);
      expect(new Set(adminAnswers)).toEqual(new Set(['ERR no AUTH within 4000 ms', 'ERR too many admin connections']));
      // Peers are sent the handshake's challenge (16 bytes) or nothing, and closed.
      expect(silent.peer.every((each) => each.received.length <= 16)).toBe(true);

      // After the flood, a new client is served too, and the node never stopped.
      const after = await connect({ servers: `127.0.0.1:${target.clientPort}` });
      connections.push(after);
      expect((await after.jetstream().publish('flood.after', codec.encode('c'))).seq).toBe(3);
      expect(cluster.unexpectedExits).toEqual([]);
      expect(cluster.lines.some((line) => line.includes(`[n${target.id}]`) && /peer port: closed \d+ connections? at a limit/.test(line))).toBe(true);
      expect(cluster.lines.some((line) => line.includes(`[n${target.id}]`) && /admin port: closed \d+ connections? at a limit/.test(line))).toBe(true);
    } finally {
      for (const each of all) each.socket.destroy();
    }
  }, 90_000);

  it('closes a client that sends no CONNECT within the deadline with -ERR \'Authentication Timeout\', and keeps one that did', async () => {
    const cluster = await startCluster({ authTimeoutMs: 500 });
    await cluster.waitForLeader([1, 2, 3]);
    const port = cluster.node(1).clientPort;
    const [quiet, connected] = await openSilent(port, 2);
    connected!.socket.write('CONNECT {"verbose":false}\r\n');
    const openedMs = Date.now();
    try {
      await eventually(() => quiet!.closedAtMs, 5000, 'the client without CONNECT to be closed');
      expect(quiet!.closedAtMs! - openedMs).toBeGreaterThanOrEqual(450);
      expect(quiet!.received).toMatch(/^INFO \{.*\}\r\n-ERR 'Authentication Timeout'\r\n$/);
      await sleep(1000);
      expect(connected!.closedAtMs).toBeUndefined();
      connected!.socket.write('PING\r\n');
      await eventually(() => (connected!.received.endsWith('PONG\r\n') ? true : undefined), 5000, 'a PONG');
    } finally {
      quiet!.socket.destroy();
      connected!.socket.destroy();
    }
  }, 60_000);

  it('closes a client that stops answering PINGs after ping_max of them with -ERR \'Stale Connection\'; one that answers stays', async () => {
    const cluster = await startCluster({ pingIntervalMs: 300, pingMax: 2 });
    await cluster.waitForLeader([1, 2, 3]);
    const port = cluster.node(1).clientPort;
    const [deaf, answering] = await openSilent(port, 2);
    for (const each of [deaf!, answering!]) each.socket.write('CONNECT {"verbose":false}\r\n');
    answering!.socket.on('data', (chunk: string) => {
      for (const line of chunk.split('\r\n')) if (line === 'PING') answering!.socket.write('PONG\r\n');
    });
    const connectedMs = Date.now();
    // The official client answers the server's PINGs by itself.
    const nc = await connect({ servers: `127.0.0.1:${port}` });
    connections.push(nc);
    try {
      await eventually(() => deaf!.closedAtMs, 10_000, 'the client that does not answer PINGs to be closed');
      // Two PINGs went unanswered, and the third interval closed it.
      expect(deaf!.received).toMatch(/^INFO \{.*\}\r\nPING\r\nPING\r\n-ERR 'Stale Connection'\r\n$/);
      expect(deaf!.closedAtMs! - connectedMs).toBeGreaterThanOrEqual(800);
      await sleep(1500);
      expect(answering!.closedAtMs).toBeUndefined();
      expect(answering!.received.split('PING\r\n').length - 1).toBeGreaterThanOrEqual(5);
      expect(nc.isClosed()).toBe(false);
      expect((await nc.jetstream().publish('pinged', codec.encode('still here'))).seq).toBe(1);
    } finally {
      deaf!.socket.destroy();
      answering!.socket.destroy();
    }
  }, 60_000);
});
