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
import { CLI, eventually, RealCluster } from '../../src/runtime/local-cluster.js';

const { clusters } = trackedResources();

interface Started {
  readonly child: ChildProcess;
  readonly exited: Promise<number | null>;
  stdout: string;
  stderr: string;
}

/** Runs `chorus cluster start -c` on a fresh cluster's file, and waits for it to say the nodes are up. */
async function clusterStart(cluster: RealCluster): Promise<Started> {
  const child = spawn(process.execPath, [CLI, 'cluster', 'start', '-c', cluster.configFile], { stdio: ['ignore', 'pipe', 'pipe'] });
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
  it('carries on without one node of three, and exits 1 saying why when it is left without a quorum', async () => {
    const cluster = await RealCluster.create(3);
    clusters.push(cluster);
    const started = await clusterStart(cluster);
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
      const last = started.stderr.trim().split('\n').at(-1)!;
      expect(last).toMatch(/^chorus: cannot keep the cluster up: n\d exited with status 1: chorus node \d: 127\.0\.0\.1:\d+ is already in use/);
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
