import { parseArgs } from 'node:util';
import { NODES_MAX } from '../../sim/cluster.js';
import { DEFAULT_SIM_RUN_OPTIONS, runPassed, runSimulation } from '../../sim/run.js';
import { formatSummary } from '../../sim/summary.js';
import { UsageError, parseDuration, parseInteger } from './args.js';

export const SIM_RUN_HELP = `Usage: chorus sim run [options]

Runs a whole simulated cluster from one seed through a random mix of faults
(crashes, restarts, partitions including one-way, loss, duplication, delays,
slow disks, clock drift), heals everything, and checks that a leader is
elected and every live node applies the committed log. Every Raft safety
property is checked after every event. The same seed gives the same trace hash.

Options:
  --seed N          the run's seed (default 1)
  --nodes K         cluster size, 1 to ${NODES_MAX} (default 5)
  --duration D      simulated time, e.g. 30s, 2m, 500ms (default 60s)
  --rate R          proposals per simulated second (default 100)
  --quiet           print only the summary, no progress
  -h, --help        this help

Exit status: 0 when the run passes, 1 on a safety violation or failed
liveness check, 2 on a usage error.`;

export function simRun(argv: readonly string[]): number {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      seed: { type: 'string' },
      nodes: { type: 'string' },
      duration: { type: 'string' },
      rate: { type: 'string' },
      quiet: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
    allowPositionals: false,
    strict: true,
  });
  if (values.help === true) {
    console.log(SIM_RUN_HELP);
    return 0;
  }
  const seed = values.seed === undefined ? DEFAULT_SIM_RUN_OPTIONS.seed : parseInteger(values.seed, '--seed', 0, 2 ** 32 - 1);
  const nodes = values.nodes === undefined ? DEFAULT_SIM_RUN_OPTIONS.nodes : parseInteger(values.nodes, '--nodes', 1, NODES_MAX);
  const durationMs = values.duration === undefined ? DEFAULT_SIM_RUN_OPTIONS.durationMs : parseDuration(values.duration, '--duration');
  const rate = values.rate === undefined ? DEFAULT_SIM_RUN_OPTIONS.proposalsPerSecond : parseInteger(values.rate, '--rate', 1, 100_000);
  const progress = values.quiet !== true && process.stderr.isTTY === true;
  const result = runSimulation(
    {
      seed,
      nodes,
      durationMs,
      proposalsPerSecond: rate,
      onProgress: progress ? (ms) => process.stderr.write(`\r  simulated ${(ms / 1000).toFixed(0)}s of ${(durationMs / 1000).toFixed(0)}s`) : undefined,
    },
    () => performance.now(),
  );
  if (progress) process.stderr.write('\r\x1b[K');
  const replay = `npx chorus sim run --seed ${seed} --nodes ${nodes} --duration ${formatDurationFlag(durationMs)}${rate === DEFAULT_SIM_RUN_OPTIONS.proposalsPerSecond ? '' : ` --rate ${rate}`}`;
  console.log(formatSummary(result, replay));
  return runPassed(result) ? 0 : 1;
}

function formatDurationFlag(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`;
}

export { UsageError };
