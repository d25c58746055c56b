// `chorus sim fuzz`: swarm testing, with failing schedules shrunk and written
// as scenario files that replay like any other.

import chalk from 'chalk';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { drawSwarm, fuzzSeed, scenarioYaml } from '../../sim/fuzz.js';
import type { CliIo } from './io.js';
import { parseSeedRange } from './seed-range.js';

export const FUZZ_HELP = `Usage: chorus sim fuzz [--seeds A..B] [--out DIR]

Swarm testing: each seed draws its own mix of fault kinds, fault rate, cluster
size and network, and a random schedule from that mix, and runs the broker
workload through it with every check on. A failing schedule is shrunk to a
small one that still fails and written as a scenario file in DIR (default
scenarios/found), with the command that replays it. Seeds default to 1..20.`;

export function simFuzz(argv: readonly string[], io: CliIo): number {
  const { values } = parseArgs({
    args: [...argv],
    options: { seeds: { type: 'string' }, out: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
    allowPositionals: false,
  });
  if (values.help === true) {
    io.out(FUZZ_HELP);
    return 0;
  }
  const { from, to } = parseSeedRange(values.seeds ?? '1..20');
  const outDir = values.out ?? join('scenarios', 'found');
  const started = io.wallMs();
  let found = 0;
  for (let seed = from; seed <= to; seed++) {
    const draw = drawSwarm(seed);
    io.progress(`  seed ${seed} (${seed - from + 1}/${to - from + 1}): ${draw.nodes} nodes, ${draw.faults.length} faults of ${draw.kinds.join(', ') || 'no kind'}`);
    const finding = fuzzSeed(seed);
    if (finding === undefined) continue;
    found++;
    io.progress('');
    const name = `fuzz-${seed}`;
    mkdirSync(outDir, { recursive: true });
    const file = join(outDir, `${name}.yaml`);
    const description = `Found by chorus sim fuzz, seed ${seed}: ${finding.shrunk.problem}`.slice(0, 400);
    writeFileSync(file, scenarioYaml(name, description, finding.draw, finding.shrunk.faults));
    io.out(chalk.red(`seed ${seed}: ${finding.problem}`));
    io.out(`  shrunk from ${draw.faults.length} faults to ${finding.shrunk.faults.length} in ${finding.shrunk.runs} runs; written to ${file}`);
    io.out(`  replay: npx chorus sim run ${file} --seed ${seed}`);
  }
  io.progress('');
  const seconds = (io.wallMs() - started) / 1000;
  io.out(`${to - from + 1} seeds fuzzed in ${seconds.toFixed(1)}s: ${found === 0 ? chalk.green('no failures') : chalk.red(`${found} failing`)}`);
  return found === 0 ? 0 : 1;
}
