// chorus cluster stop and chorus cluster status: they find the node processes
// a `chorus cluster start` started through the pid records it left in each
// node's data directory (src/runtime/cluster-processes.ts), so they work from
// any shell, and even after the cluster start process itself was killed.

import { adminStatus } from '../runtime/admin-client.js';
import { PROCESS_RECORD_FILE, isNodeRunning, readProcessRecord, removeProcessRecord, type NodeProcessRecord } from '../runtime/cluster-processes.js';
import type { ClusterConfig, NodeAddress } from '../runtime/config.js';
import { isProcessAlive } from '../runtime/data-dir-lock.js';
import type { CliIo } from './io.js';

const STOP_GRACE_MS = 10_000;
const POLL_MS = 100;
const ADMIN_TIMEOUT_MS = 2000;

interface RecordedNode {
  readonly node: NodeAddress;
  readonly record: NodeProcessRecord;
}

/**
 * Sends SIGTERM to every recorded node that still runs, waits for them to
 * stop cleanly, and kills with SIGKILL any still running after the grace time.
 * Exit status 1 only when no node of the cluster was recorded at all.
 */
export async function clusterStop(config: ClusterConfig, io: CliIo): Promise<number> {
  const recorded = recordedNodes(config);
  if (recorded.length === 0) {
    io.err(`chorus: no node of this cluster (${config.source}) was started by chorus cluster start: no ${PROCESS_RECORD_FILE} in its data directories`);
    return 1;
  }
  const stopping: RecordedNode[] = [];
  for (const entry of recorded) {
    if (isNodeRunning(entry.node.dataDir, entry.record.pid)) {
      process.kill(entry.record.pid, 'SIGTERM');
      stopping.push(entry);
      io.out(`n${entry.node.id}  pid ${entry.record.pid}  stopping (SIGTERM)`);
    } else {
      io.out(`n${entry.node.id}  pid ${entry.record.pid}  was not running`);
      removeProcessRecord(entry.node.dataDir, entry.record.pid);
    }
  }
  // A stopping node gives its LOCK up just before it exits, so from here on its pid alone says whether it still runs.
  const deadline = Date.now() + STOP_GRACE_MS;
  while (stopping.some((entry) => isProcessAlive(entry.record.pid)) && Date.now() < deadline) await sleep(POLL_MS);
  for (const entry of stopping) {
    if (isProcessAlive(entry.record.pid)) {
      process.kill(entry.record.pid, 'SIGKILL');
      io.err(`chorus: n${entry.node.id} (pid ${entry.record.pid}) was still running ${STOP_GRACE_MS / 1000} s after SIGTERM: killed it with SIGKILL`);
    }
    removeProcessRecord(entry.node.dataDir, entry.record.pid);
  }
  io.out(`stopped ${stopping.length} of ${config.nodes.length} nodes`);
  return 0;
}

/** Prints a row per node: pid, whether it runs, and its role, term and leader from its admin STATUS. */
export async function clusterStatus(config: ClusterConfig, io: CliIo): Promise<number> {
  const rows = await Promise.all(config.nodes.map((node) => statusRow(node, config.secret)));
  const table = [['node', 'pid', 'process', 'role', 'term', 'leader', 'admin'], ...rows.map((row) => row.cells)];
  const widths = table[0]!.map((_, column) => Math.max(...table.map((row) => row[column]!.length)));
  for (const row of table) io.out(row.map((cell, column) => cell.padEnd(widths[column]!)).join('  ').trimEnd());
  for (const row of rows) if (row.problem !== undefined) io.err(`chorus: ${row.problem}`);
  return rows.every((row) => row.problem === undefined) ? 0 : 1;
}

async function statusRow(node: NodeAddress, secret: string): Promise<{ cells: string[]; problem: string | undefined }> {
  const record = readProcessRecord(node.dataDir);
  const running = record !== undefined && isNodeRunning(node.dataDir, record.pid);
  const process = record === undefined ? '-' : running ? 'running' : 'exited';
  const admin = `${node.adminHost}:${node.adminPort}`;
  const status = await adminStatus(node.adminHost, node.adminPort, secret, ADMIN_TIMEOUT_MS);
  const pid = record === undefined ? '-' : String(record.pid);
  if (status instanceof Error) {
    const why =
      record === undefined
        ? `n${node.id} was not started by chorus cluster start, and ${status.message}`
        : running
          ? `n${node.id} (pid ${record.pid}) runs, but ${status.message}`
          : `n${node.id} (pid ${record.pid}) is not running`;
    return { cells: [`n${node.id}`, pid, process, '-', '-', '-', admin], problem: why };
  }
  const leader = Number(status.leader);
  const cells = [`n${node.id}`, pid, process, String(status.role), String(status.term), leader > 0 ? `n${leader}` : '-', admin];
  // A node that answers but that no cluster start recorded runs by hand (chorus node): shown, and not a problem.
  return { cells, problem: undefined };
}

function recordedNodes(config: ClusterConfig): RecordedNode[] {
  return config.nodes.flatMap((node) => {
    const record = readProcessRecord(node.dataDir);
    return record === undefined ? [] : [{ node, record }];
  });
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
