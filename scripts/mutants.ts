// `npm run mutants`: runs every planted bug of test/support through the
// simulator, seed 1, 2, ... up to a limit per bug, stops at the first seed
// that fails, and prints a table: the bug, whether it was caught, by which
// property (the first the failing run reports), what else that run reported,
// and how many seeds it took. Raft bugs run their hunt's fault mix
// (test/support/planted-hunts.ts); broker bugs run the swarm draws of
// `chorus sim fuzz`. A bug not caught within its limit prints "no".
//
// Usage: node dist-mutants/scripts/mutants.js [--seeds N]   (default 30)

import { table } from '../src/cli/table.js';
import type { SimRunResult } from '../sim/run.js';
import { BROKER_HUNTS, catchersOf, RAFT_HUNTS, runBrokerHunt, runRaftHunt, type Catcher } from '../test/support/planted-hunts.js';

interface Mutant {
  readonly bug: string;
  readonly kind: 'raft' | 'broker';
  readonly expected: readonly Catcher[];
  readonly run: (seed: number) => SimRunResult;
}

interface Outcome {
  readonly mutant: Mutant;
  readonly seed: number | undefined;
  readonly catchers: readonly Catcher[];
}

function seedsLimit(argv: readonly string[]): number {
  const at = argv.indexOf('--seeds');
  if (at === -1) return 30;
  const value = argv[at + 1];
  const limit = Number(value);
  if (value === undefined || !Number.isSafeInteger(limit) || limit < 1) {
    console.error(`mutants: --seeds must be a positive whole number of seeds per bug, got ${value === undefined ? 'nothing' : JSON.stringify(value)}`);
    process.exit(2);
  }
  return limit;
}

function hunt(mutant: Mutant, limit: number, progress: (seed: number) => void): Outcome {
  for (let seed = 1; seed <= limit; seed++) {
    progress(seed);
    const catchers = catchersOf(mutant.run(seed));
    if (catchers.length > 0) return { mutant, seed, catchers };
  }
  return { mutant, seed: undefined, catchers: [] };
}

function main(): void {
  const limit = seedsLimit(process.argv.slice(2));
  const mutants: Mutant[] = [
    ...RAFT_HUNTS.map((h): Mutant => ({ bug: h.bug, kind: 'raft', expected: h.expected, run: (seed) => runRaftHunt(h, seed) })),
    ...BROKER_HUNTS.map((h): Mutant => ({ bug: h.bug, kind: 'broker', expected: h.expected, run: (seed) => runBrokerHunt(h.bug, seed) })),
  ];
  const started = performance.now();
  const outcomes = mutants.map((mutant, i) => {
    const outcome = hunt(mutant, limit, (seed) => {
      const elapsed = ((performance.now() - started) / 1000).toFixed(0);
      process.stderr.write(`mutants: ${i + 1}/${mutants.length} ${mutant.bug}, seed ${seed}/${limit} (${elapsed}s elapsed)\n`);
    });
    process.stderr.write(`mutants: ${mutant.bug}: ${outcome.seed === undefined ? `not caught in ${limit} seeds` : `caught at seed ${outcome.seed} by ${outcome.catchers[0]}`}\n`);
    return outcome;
  });
  const rows = [
    ['bug', 'kind', 'caught', 'by', 'also reported', 'seeds to detection', 'planted for'],
    ...outcomes.map(({ mutant, seed, catchers }) => [
      mutant.bug,
      mutant.kind,
      seed === undefined ? 'no' : 'yes',
      catchers[0] ?? '-',
      catchers.slice(1).join(', ') || '-',
      seed === undefined ? `none in ${limit}` : String(seed),
      mutant.expected[0] ?? '-',
    ]),
  ];
  console.log(table(rows));
  const missed = outcomes.filter((outcome) => outcome.seed === undefined).length;
  const elsewhere = outcomes.filter((outcome) => outcome.seed !== undefined && !outcome.catchers.some((c) => outcome.mutant.expected.includes(c))).length;
  console.log(`${outcomes.length - missed} of ${outcomes.length} planted bugs caught within ${limit} seeds each; ${elsewhere} caught only by properties other than those they were planted for; ${((performance.now() - started) / 1000).toFixed(0)}s`);
  if (missed > 0) process.exitCode = 1;
}

main();
