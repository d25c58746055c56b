// What `chorus cluster start` does when one of its nodes exits, when it
// restarts failed nodes (the default; `--no-restart` keeps the older rule of
// cluster-exits.ts). Pure: the caller passes the time and carries out the
// verdict.
//
// A node that fails (any exit but status 0) is restarted after a delay that
// starts at delayMinMs and doubles with each failure in a row, up to
// delayMaxMs; a node that stayed up upStableMs before failing starts again
// from delayMinMs. A node that exits with status 0 was stopped on purpose
// (`chorus cluster stop` sends SIGTERM) and is not restarted.
//
// Restarts cannot help a node that fails again as soon as it starts (its
// port is taken, its disk is full, its data is damaged). Such a node is
// "failing": it failed crashLoopFailures times in a row. While the nodes that
// are neither failing nor stopped on purpose are still a quorum, the cluster
// can serve and cluster start keeps restarting the failing ones with the
// longest delay. Once they are not, it cannot keep the cluster up: it stops
// the rest and exits with status 1, naming each node and why it failed.

import { describeFailure, stoppedCleanly, type NodeExit } from './cluster-exits.js';

export interface RestartPolicy {
  readonly delayMinMs: number;
  readonly delayMaxMs: number;
  /** A node up this long before it fails starts its delays again from delayMinMs. */
  readonly upStableMs: number;
  /** Failures in a row after which a node counts as failing. */
  readonly crashLoopFailures: number;
}

export const DEFAULT_RESTART_POLICY: RestartPolicy = { delayMinMs: 500, delayMaxMs: 30_000, upStableMs: 60_000, crashLoopFailures: 3 };

export type RestartVerdict =
  | { readonly kind: 'restart'; readonly delayMs: number; readonly note: string }
  | { readonly kind: 'carry-on'; readonly note: string }
  | { readonly kind: 'stop'; readonly status: 0 | 1; readonly note: string };

interface NodeRecord {
  running: boolean;
  startedAtMs: number;
  failuresInARow: number;
  latest: NodeExit | undefined;
}

export class ClusterRestarts {
  private readonly nodes = new Map<number, NodeRecord>();

  constructor(
    ids: readonly number[],
    private readonly policy: RestartPolicy = DEFAULT_RESTART_POLICY,
  ) {
    for (const id of ids) this.nodes.set(id, { running: false, startedAtMs: 0, failuresInARow: 0, latest: undefined });
  }

  /** The node's process was started (first or again). */
  started(id: number, nowMs: number): void {
    const node = this.node(id);
    node.running = true;
    node.startedAtMs = nowMs;
  }

  /** The node's process exited by itself; what to do about it. */
  exited(exit: NodeExit, nowMs: number): RestartVerdict {
    const node = this.node(exit.id);
    node.running = false;
    node.latest = exit;
    const size = this.nodes.size;
    const running = [...this.nodes.values()].filter((each) => each.running).length;
    if (stoppedCleanly(exit)) {
      node.failuresInARow = 0;
      if (running > 0) return { kind: 'carry-on', note: `n${exit.id} stopped cleanly and is not restarted; ${running} of ${size} nodes still running` };
      // Every node is down and the last one was stopped on purpose: an operator is stopping the cluster.
      const failed = this.latestFailures();
      if (failed.length === 0) return { kind: 'stop', status: 0, note: 'every node stopped cleanly (chorus cluster stop, or a signal to each)' };
      return { kind: 'stop', status: 1, note: `every node has exited; ${failed.map(describeFailure).join('; ')}` };
    }
    node.failuresInARow = nowMs - node.startedAtMs >= this.policy.upStableMs ? 1 : node.failuresInARow + 1;
    const lost = this.lostCount();
    const quorum = Math.floor(size / 2) + 1;
    if (size - lost < quorum) {
      const failing = [...this.nodes.values()].filter((each) => this.isFailing(each)).map((each) => each.latest!);
      const stopped = [...this.nodes.values()].filter((each) => !each.running && each.latest !== undefined && stoppedCleanly(each.latest)).length;
      const why = failing.map((each) => `${describeFailure(each)} (${this.node(each.id).failuresInARow} times in a row)`).join('; ');
      const others = stopped > 0 ? ` and ${stopped} stopped on purpose` : '';
      return {
        kind: 'stop',
        status: 1,
        note: `cannot keep the cluster up: ${why}; ${failing.length} of ${size} nodes fail again each time they start${others}, and a quorum needs ${quorum}; stopping the rest`,
      };
    }
    const delayMs = Math.min(this.policy.delayMaxMs, this.policy.delayMinMs * 2 ** (node.failuresInARow - 1));
    const inARow = node.failuresInARow > 1 ? ` (failure ${node.failuresInARow} in a row)` : '';
    return { kind: 'restart', delayMs, note: `${describeFailure(exit)}; restarting it in ${formatSeconds(delayMs)}${inARow}; ${running} of ${size} nodes running` };
  }

  /** Nodes that cannot count toward a quorum: failing ones, and ones stopped on purpose. */
  private lostCount(): number {
    return [...this.nodes.values()].filter((node) => !node.running && (this.isFailing(node) || (node.latest !== undefined && stoppedCleanly(node.latest)))).length;
  }

  private isFailing(node: NodeRecord): boolean {
    return !node.running && node.latest !== undefined && !stoppedCleanly(node.latest) && node.failuresInARow >= this.policy.crashLoopFailures;
  }

  private latestFailures(): NodeExit[] {
    return [...this.nodes.values()].flatMap((node) => (node.latest !== undefined && !stoppedCleanly(node.latest) ? [node.latest] : []));
  }

  private node(id: number): NodeRecord {
    const node = this.nodes.get(id);
    if (node === undefined) throw new Error(`node ${id} is not one of this cluster's`);
    return node;
  }
}

function formatSeconds(ms: number): string {
  return `${Number((ms / 1000).toFixed(1))} s`;
}
