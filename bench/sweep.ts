// A seed sweep of the standard simulation, outside the test suite: runs seeds
// A..B one after another, shows progress, and lists every failing seed with the
// command that replays it. (Parallel sweeps with workers come with `chorus sim sweep`.)
import { formatViolation } from '../sim/checker.js';
import { runPassed, runSimulation } from '../sim/run.js';
import { exitWithUsageError, readOptions } from './stats.js';

const { from, to, nodes, seconds } = readOptions({ from: 1, to: 100, nodes: 5, seconds: 30 });
if (to < from) exitWithUsageError(`--to (${to}) must not be below --from (${from})`);

const failures: string[] = [];
const started = performance.now();
for (let seed = from; seed <= to; seed++) {
  const result = runSimulation({ seed, nodes, durationMs: seconds * 1000 });
  if (!runPassed(result)) {
    const why = result.violations[0] === undefined ? result.liveness.problems.join('; ') : formatViolation(result.violations[0]);
    failures.push(`seed ${seed}: ${why}\n  replay: npx chorus sim run --seed ${seed} --nodes ${nodes} --duration ${seconds}s`);
  }
  const done = seed - from + 1;
  const total = to - from + 1;
  if (process.stderr.isTTY) process.stderr.write(`\r  ${done}/${total} seeds, ${failures.length} failed`);
}
if (process.stderr.isTTY) process.stderr.write('\r\x1b[K');
const wallSeconds = (performance.now() - started) / 1000;
const count = to - from + 1;
console.log(`sweep: seeds ${from}..${to}, ${nodes} nodes, ${seconds}s simulated each`);
console.log(`  ${count - failures.length} passed, ${failures.length} failed in ${wallSeconds.toFixed(1)}s (${(count / wallSeconds).toFixed(1)} seeds/s)`);
for (const failure of failures) console.log(failure);
process.exitCode = failures.length === 0 ? 0 : 1;
