// What `chorus cluster start --no-restart` does when one of its nodes exits
// without being asked to by it (cluster-restarts.ts decides when it restarts
// them, the default). While a quorum of nodes still runs, the cluster still
// serves, so it carries on and says so; below a quorum it cannot keep the
// cluster up, and stops the rest with a reason and exit status 1. A node
// that exits with status 0 was stopped cleanly by a signal from outside
// (`chorus cluster stop` sends each node SIGTERM), which is no failure: when
// every node has stopped that way, cluster start ends with status 0.

export interface NodeExit {
  readonly id: number;
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  /** The last line the node printed, which usually says why it stopped. */
  readonly lastLine: string | undefined;
}

export type ExitVerdict =
  | { readonly kind: 'carry-on'; readonly note: string }
  | { readonly kind: 'stop'; readonly status: 0 | 1; readonly note: string };

/** A node exits with status 0 only after a clean stop on SIGTERM or SIGINT. */
export function stoppedCleanly(exit: NodeExit): boolean {
  return exit.code === 0;
}

/**
 * The verdict after `exit`, given every exit so far (`exit` among them) and
 * how many of the cluster's `size` nodes still run.
 */
export function judgeNodeExit(size: number, stillRunning: number, exits: readonly NodeExit[], exit: NodeExit): ExitVerdict {
  const quorum = Math.floor(size / 2) + 1;
  const failures = exits.filter((each) => !stoppedCleanly(each));
  const why = failures.map(describeFailure).join('; ');
  if (stillRunning === 0 && failures.length === 0) return { kind: 'stop', status: 0, note: 'every node stopped cleanly (chorus cluster stop, or a signal to each)' };
  if (stillRunning === 0) return { kind: 'stop', status: 1, note: `cannot keep the cluster up: every node has exited; ${why}` };
  if (failures.length > 0 && stillRunning < quorum) {
    return { kind: 'stop', status: 1, note: `cannot keep the cluster up: ${why}; ${stillRunning} of ${size} nodes left, fewer than the ${quorum} a quorum needs; stopping the rest` };
  }
  const running = `${stillRunning} of ${size} nodes still running`;
  if (stoppedCleanly(exit)) return { kind: 'carry-on', note: `n${exit.id} stopped cleanly; ${running}` };
  return { kind: 'carry-on', note: `${describeFailure(exit)}; ${running}, a quorum: the cluster still serves` };
}

export function describeFailure(exit: NodeExit): string {
  const how = exit.signal !== null ? `was killed by ${exit.signal}` : `exited with status ${exit.code ?? '?'}`;
  // A node that exits by itself says why in its last line; one killed by a signal had no say.
  if (exit.signal !== null || exit.lastLine === undefined || exit.lastLine.trim() === '') return `n${exit.id} ${how}`;
  return `n${exit.id} ${how}: ${exit.lastLine.trim()}`;
}
