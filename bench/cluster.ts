// A 5-node simulated cluster under steady proposals, with every safety check on:
// how much faster than real time the simulator runs it.
import { SimCluster } from '../sim/cluster.js';
import { SimRandom } from '../sim/random.js';
import { SteadyProposer } from '../sim/workload.js';
import { formatRate, median, readOptions } from './stats.js';

// --tick-ms 100 gives etcd's production timing (100 ms ticks, heartbeat every tick,
// elections after 10 to 20 ticks) instead of the simulator's faster default.
const options = readOptions({ runs: 3, seconds: 3600, 'tick-ms': 10 });
const tickMs = options['tick-ms'];
const timing = tickMs === 10 ? {} : { tickMs, raft: { electionTicksMin: 10, heartbeatTicks: 1 } };

function runOnce(seed: number, simulatedSeconds: number): { ratio: number; events: number; wallMs: number; committed: number } {
  const cluster = new SimCluster({ nodes: 5, seed, recentEventsMax: 0, ...timing });
  const proposer = new SteadyProposer(cluster, SimRandom.stream(seed, 'workload'), {
    proposalsPerSecond: 100,
    startMs: 0,
    stopMs: simulatedSeconds * 1000,
  });
  proposer.start();
  const started = performance.now();
  cluster.runFor(simulatedSeconds * 1000);
  const wallMs = performance.now() - started;
  if (cluster.violations().length > 0) throw new Error(`safety violation in the benchmark run of seed ${seed}`);
  return {
    ratio: (simulatedSeconds * 1000) / wallMs,
    events: cluster.eventsProcessed(),
    wallMs,
    committed: cluster.checker.committedIndex(),
  };
}

const runs = options.runs;
const simulatedSeconds = options.seconds;
runOnce(99, 60);
const results = Array.from({ length: runs }, (_, run) => runOnce(run + 1, simulatedSeconds));
console.log(
  `cluster: 5 nodes, ${tickMs} ms ticks, 100 proposals per simulated second, ${simulatedSeconds} simulated seconds, ${runs} runs`,
);
for (const result of results) {
  console.log(
    `  ${(result.wallMs / 1000).toFixed(2)}s wall, ${result.events} events (${formatRate(result.events / (result.wallMs / 1000))} events/s), ` +
      `commit index ${result.committed}, ${result.ratio.toFixed(0)}x real time`,
  );
}
console.log(`  median: ${median(results.map((result) => result.ratio)).toFixed(0)}x faster than real time (target >= 1000x)`);
