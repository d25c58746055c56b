// chorus cluster start, stop and status as a person uses them: separate
// commands on one cluster, finding its nodes through the pids cluster start
// records in each node's data directory.

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { trackedResources } from './tracked.js';
import { PROCESS_RECORD_FILE, readProcessRecord } from '../../src/runtime/cluster-processes.js';
import { isProcessAlive } from '../../src/runtime/data-dir-lock.js';
import { ChorusClient } from '../../src/runtime/client.js';
import { CLI, eventually, RealCluster } from '../../src/runtime/local-cluster.js';

const { clusters } = trackedResources();

interface Started {
  readonly child: ChildProcess;
  readonly exited: Promise<number | null>;
  stdout: string;
  stderr: string;
}

/** Runs `chorus cluster start -c` on a fresh cluster's file, and waits for it to say the nodes are up. */
async function clusterStart(cluster: RealCluster, ...options: string[]): Promise<Started> {
  const child = spawn(process.execPath, [CLI, 'cluster', 'start', '-c', cluster.configFile, ...options], { stdio: ['ignore', 'pipe', 'pipe'] });
  const started: Started = { child, exited: new Promise((resolve) => child.once('exit', (code) => resolve(code))), stdout: '', stderr: '' };
  child.stdout!.on('data', (chunk: Buffer) => (started.stdout += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (started.stderr += chunk.toString()));
  await eventually(() => (started.stdout.includes('press Ctrl-C') ? true : undefined), 10_000, 'cluster start to start its nodes');
  return started;
}

function chorus(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: 30_000 });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

function recordedPids(cluster: RealCluster): number[] {
  return cluster.nodes.map((node) => readProcessRecord(node.dataDir)?.pid ?? 0);
}

/** Stops what a test started: cluster start (which stops its nodes), then any node it left, by pid. */
async function stopEverything(started: Started, nodePids: readonly number[]): Promise<void> {
  if (started.child.exitCode === null && started.child.signalCode === null) {
    started.child.kill('SIGTERM');
    await started.exited;
  }
  for (const pid of nodePids) if (pid > 0 && isProcessAlive(pid)) process.kill(pid, 'SIGKILL');
}

describe('chorus cluster stop and status', () => {
  it('status shows the pids cluster start recorded, every node running, one leader; stop ends them and cluster start exits 0', async () => {
    const cluster = await RealCluster.create(3);
    clusters.push(cluster);
    const started = await clusterStart(cluster);
    const pids = recordedPids(cluster);
    try {
      expect(pids.every((pid) => pid > 0)).toBe(true);
      expect(new Set(pids).size).toBe(3);
      const leader = await cluster.waitForLeader([1, 2, 3]);
      const status = chorus('cluster', 'status', '-c', cluster.configFile);
      expect([status.status, status.stderr]).toEqual([0, '']);
      const rows = status.stdout.trim().split('\n').map((row) => row.split(/ +/));
      expect(rows[0]).toEqual(['node', 'pid', 'process', 'role', 'term', 'leader', 'admin']);
      expect(rows.slice(1).map((row) => [row[0], row[1], row[2], row[5]])).toEqual([1, 2, 3].map((id) => [`n${id}`, String(pids[id - 1]), 'running', `n${leader}`]));
      expect(rows.slice(1).filter((row) => row[3] === 'leader').map((row) => row[0])).toEqual([`n${leader}`]);

      const stop = chorus('cluster', 'stop', '-c', cluster.configFile);
      expect([stop.status, stop.stderr]).toEqual([0, '']);
      expect(stop.stdout).toContain(`n1  pid ${pids[0]}  stopping (SIGTERM)`);
      expect(stop.stdout).toContain('stopped 3 of 3 nodes');
      expect(pids.filter((pid) => isProcessAlive(pid))).toEqual([]);
      expect(await started.exited).toBe(0);
      expect(started.stdout).toContain('every node stopped cleanly');
      expect(cluster.nodes.filter((node) => fs.existsSync(path.join(node.dataDir, PROCESS_RECORD_FILE)))).toEqual([]);

      const after = chorus('cluster', 'status', '-c', cluster.configFile);
      expect(after.status).toBe(1);
      expect(after.stderr.trim().split('\n')).toHaveLength(3);
      expect(chorus('cluster', 'stop', '-c', cluster.configFile).status).toBe(1);
    } finally {
      await stopEverything(started, pids);
    }
  }, 60_000);
});

describe('chorus cluster start', () => {
  it('with --no-restart, carries on without one node of three, and exits 1 saying why when it is left without a quorum', async () => {
    const cluster = await RealCluster.create(3);
    clusters.push(cluster);
    const started = await clusterStart(cluster, '--no-restart');
    const pids = recordedPids(cluster);
    try {
      await cluster.waitForLeader([1, 2, 3]);
      process.kill(pids[0]!, 'SIGKILL');
      await eventually(() => (started.stderr.includes('n1 was killed by SIGKILL; 2 of 3 nodes still running') ? true : undefined), 10_000, 'the first death to be noticed');
      expect(started.child.exitCode).toBeNull();
      process.kill(pids[1]!, 'SIGKILL');
      expect(await started.exited).toBe(1);
      expect(started.stderr.trim().split('\n').at(-1)).toBe(
        'chorus: cannot keep the cluster up: n1 was killed by SIGKILL; n2 was killed by SIGKILL; 1 of 3 nodes left, fewer than the 2 a quorum needs; stopping the rest',
      );
      expect(isProcessAlive(pids[2]!)).toBe(false);
    } finally {
      await stopEverything(started, pids);
    }
  }, 60_000);

  it('restarts a node killed with SIGKILL after 0.5 s, records its new pid, and the node serves again', async () => {
    const cluster = await RealCluster.create(3);
    clusters.push(cluster);
    const started = await clusterStart(cluster);
    const pids = recordedPids(cluster);
    const seen = [...pids];
    try {
      await cluster.waitForLeader([1, 2, 3]);
      const killedAt = Date.now();
      process.kill(pids[0]!, 'SIGKILL');
      await eventually(() => (started.stderr.includes('chorus: n1 was killed by SIGKILL; restarting it in 0.5 s; 2 of 3 nodes running') ? true : undefined), 10_000, 'the death to be noticed');
      const newPid = await eventually(() => {
        const pid = readProcessRecord(cluster.node(1).dataDir)?.pid;
        return pid !== undefined && pid !== pids[0] ? pid : undefined;
      }, 10_000, 'n1 to be restarted');
      seen.push(newPid);
      expect(Date.now() - killedAt).toBeGreaterThanOrEqual(500);
      expect(isProcessAlive(newPid)).toBe(true);
      expect(started.stdout).toContain(`restarted n1 (pid ${newPid})`);
      await cluster.waitForLeader([1, 2, 3]);
      const status = chorus('cluster', 'status', '-c', cluster.configFile);
      expect([status.status, status.stderr]).toEqual([0, '']);
      expect(status.stdout).toMatch(new RegExp(`^n1 +${newPid} +running `, 'm'));
      expect(started.child.exitCode).toBeNull();
    } finally {
      await stopEverything(started, seen);
    }
  }, 60_000);

  it('restarts a node that ran out of file descriptors (EMFILE), which exits saying why with status 1', async () => {
    // Tiny log segments and blocks: the follower opens a new file every few publishes.
    const cluster = await RealCluster.create(3, 20, 10, 2, undefined, { storage: { segmentBytesMax: 4096, blockBytesMax: 4096 } });
    clusters.push(cluster);
    const started = await clusterStart(cluster);
    const pids = recordedPids(cluster);
    const seen = [...pids];
    const silent: net.Socket[] = [];
    let client: ChorusClient | undefined;
    try {
      const leader = await cluster.waitForLeader([1, 2, 3]);
      const follower = leader === 1 ? 2 : 1;
      // Read again: a node that could not start at first (a port taken meanwhile by another test) was restarted since.
      const pid = readProcessRecord(cluster.node(follower).dataDir)!.pid;
      seen.push(pid);
      // The follower may open only a few more descriptors than it has open now; silent connections to its peer port take them.
      const limit = fs.readdirSync(`/proc/${pid}/fd`).length + 8;
      const limited = spawnSync('prlimit', ['--pid', String(pid), `--nofile=${limit}:${limit}`], { encoding: 'utf8' });
      expect([limited.status, limited.stderr]).toEqual([0, '']);
      // From 127.0.0.2, so that they take none of 127.0.0.1's ports, which other tests choose for their nodes as they run.
      for (let i = 0; i < 40; i++) {
        silent.push(net.connect({ host: '127.0.0.1', port: cluster.node(follower).peerPort, localAddress: '127.0.0.2' }).on('error', () => undefined));
      }
      client = await ChorusClient.connect('127.0.0.1', cluster.node(leader).clientPort);
      const payload = new Uint8Array(2000).fill(120);
      for (let i = 0; i < 100 && isProcessAlive(pid); i++) await client.publish('t', payload, `m${i}`, 10_000);
      await eventually(() => (isProcessAlive(pid) ? undefined : true), 10_000, `n${follower} to exit`);
      const why = new RegExp(`^chorus: n${follower} exited with status 1: chorus node ${follower}: .*EMFILE.*; restarting it in 0\\.5 s`, 'm');
      await eventually(() => (why.test(started.stderr) ? true : undefined), 10_000, `cluster start to say why the node exited; its stderr:\n${started.stderr}`);
      const newPid = await eventually(() => {
        const recorded = readProcessRecord(cluster.node(follower).dataDir)?.pid;
        return recorded !== undefined && recorded !== pid && isProcessAlive(recorded) ? recorded : undefined;
      }, 10_000, `n${follower} to be restarted`);
      seen.push(newPid);
      await cluster.waitForLeader([1, 2, 3]);
      expect(started.child.exitCode).toBeNull();
    } finally {
      client?.close();
      for (const socket of silent) socket.destroy();
      await stopEverything(started, seen);
    }
  }, 60_000);

  it('exits 1, not 13, when its nodes cannot start, with each node\'s reason', async () => {
    const cluster = await RealCluster.create(3);
    clusters.push(cluster);
    // Every client port taken: each node refuses to start.
    const squatters = await Promise.all(cluster.nodes.map((node) => listen(node.clientPort)));
    let started: Started | undefined;
    try {
      const child = spawn(process.execPath, [CLI, 'cluster', 'start', '-c', cluster.configFile], { stdio: ['ignore', 'pipe', 'pipe'] });
      started = { child, exited: new Promise((resolve) => child.once('exit', (code) => resolve(code))), stdout: '', stderr: '' };
      const output = started;
      child.stderr.on('data', (chunk: Buffer) => (output.stderr += chunk.toString()));
      expect(await started.exited).toBe(1);
      // Restarted twice each (after 0.5 s, then 1 s), they fail a third time, and no quorum can be kept up.
      expect(started.stderr).toMatch(/^chorus: n\d exited with status 1: chorus node \d: 127\.0\.0\.1:\d+ is already in use[^;\n]*; restarting it in 1 s \(failure 2 in a row\)/m);
      const last = started.stderr.trim().split('\n').at(-1)!;
      expect(last).toMatch(/^chorus: cannot keep the cluster up: n\d exited with status 1: chorus node \d: 127\.0\.0\.1:\d+ is already in use[^;\n]* \(3 times in a row\); n\d exited/);
      expect(last).toMatch(/of 3 nodes fail again each time they start, and a quorum needs 2; stopping the rest$/);
      expect(started.stderr).not.toMatch(/^\s+at /m);
    } finally {
      if (started !== undefined) await stopEverything(started, recordedPids(cluster));
      await Promise.all(squatters.map((server) => new Promise((resolve) => server.close(resolve))));
    }
  }, 60_000);
});

function listen(port: number): Promise<net.Server> {
  const server = net.createServer();
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve(server));
  });
}
