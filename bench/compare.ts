// Side-by-side comparison of the cluster benchmark between this build and another
// checkout's build, for performance work on a noisy machine: the two run in turns,
// each run in a fresh process, and the figure is the median of the per-pair speed
// ratios, so that the machine speeding up or slowing down over the minutes of a
// comparison cancels out of each pair.
//
//   npm run build && node dist/bench/compare.js --base ../other-checkout [--pairs 8] [--seconds 600]
//
// The base checkout must be built (npm run build there) and have the same bench.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { exitWithUsageError, median, readOptions } from './stats.js';

const { pairs, seconds, base: baseDir } = readOptions({ pairs: 8, seconds: 600 }, ['base']);
if (baseDir === undefined) {
  exitWithUsageError('--base <checkout built with npm run build> is required; the other options are --pairs N and --seconds S');
}
const baseBench = path.resolve(baseDir, 'dist/bench/cluster.js');
if (!fs.existsSync(baseBench)) exitWithUsageError(`${baseBench} does not exist; run npm run build in ${baseDir} first`);
const ownBench = fileURLToPath(new URL('./cluster.js', import.meta.url));

/** One run of a cluster benchmark in its own process: its ratio to real time. */
function runOnce(bench: string): number {
  const result = spawnSync(process.execPath, [bench, '--runs', '1', '--seconds', String(seconds)], { encoding: 'utf8' });
  const match = /median: (\d+)x faster/.exec(result.stdout);
  if (result.status !== 0 || match === null) {
    throw new Error(`compare: ${bench} failed (exit ${result.status}): ${result.stderr || result.stdout}`);
  }
  return Number(match[1]);
}

const base: number[] = [];
const own: number[] = [];
const ratios: number[] = [];
for (let pair = 1; pair <= pairs; pair++) {
  // Alternate which goes first, so neither always runs on a machine just warmed by the other.
  const [first, second] = pair % 2 === 1 ? [baseBench, ownBench] : [ownBench, baseBench];
  const firstRatio = runOnce(first);
  const secondRatio = runOnce(second);
  const [baseRatio, ownRatio] = first === baseBench ? [firstRatio, secondRatio] : [secondRatio, firstRatio];
  base.push(baseRatio);
  own.push(ownRatio);
  ratios.push(ownRatio / baseRatio);
  process.stderr.write(`pair ${pair}/${pairs}: base ${baseRatio}x, this build ${ownRatio}x\n`);
}
const sorted = [...ratios].sort((a, b) => a - b);
const quartile = (q: number): number => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
console.log(`compare: ${pairs} pairs of ${seconds} simulated seconds, base ${path.resolve(baseDir)}`);
console.log(`  base:       median ${median(base).toFixed(0)}x real time`);
console.log(`  this build: median ${median(own).toFixed(0)}x real time`);
console.log(`  this build / base, per pair: median ${median(ratios).toFixed(3)} (quartiles ${quartile(0.25).toFixed(3)} to ${quartile(0.75).toFixed(3)})`);
