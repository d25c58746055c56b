// `npm run mutants`: runs every planted bug of test/support through the
// simulator, seed 1, 2, ... up to a limit per bug, stops at the first seed
// that fails, and prints a table: the bug, whether it was caught, by which
// property (the first the failing run reports), what else that run reported,
// and how many seeds it took. Raft bugs run their hunt's fault mix
// (test/support/planted-hunts.ts); broker bugs, and Raft bugs under the
// correct broker (rows named BUG-under-broker), run the swarm draws of
// `chorus sim fuzz`. A bug not caught within its limit prints "no".
//
// Bugs no class can carry (test/support/compiled-mutants.ts) are edits of
// the compiled code in a copy of this build; that copy runs the swarm draws
// of `chorus sim fuzz`, whose disk faults (torn crashes, full disks, lost
// unsynced writes), slow clients and reconnecting subscribers are what such
// bugs meet.
//
// Usage: node dist-mutants/scripts/mutants.js [--seeds N] [--only BUG,BUG...] [--keep]
// (--seeds gives every bug N seeds; without it each gets 60, or the bound it states;
// --only runs the bugs named, for a quick look at one; --keep leaves the edited
// copies of the build in dist-mutants/planted/ and names them, to study a catch)

import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { table } from '../src/cli/table.js';
import type { SimRunResult } from '../sim/run.js';
import { COMPILED_MUTANTS, plantCompiledBug } from '../test/support/compiled-mutants.js';
import {
  BROKER_HUNTS,
  catchersOf,
  RAFT_HUNTS,
  RAFT_UNDER_BROKER_HUNTS,
  runBrokerHunt,
  runRaftHunt,
  runRaftUnderBrokerHunt,
  type Catcher,
} from '../test/support/planted-hunts.js';

/** This build's root (dist-mutants), which each compiled mutant copies. */
const BUILD_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

interface Mutant {
  readonly bug: string;
  readonly kind: 'raft' | 'broker' | 'client' | 'storage';
  readonly expected: readonly Catcher[];
  /** What the table says it was planted for: properties, or a disk fault. */
  readonly plantedFor: string;
  /**
   * Properties that must all be among those reporting the run that catches it;
   * when empty, any one of `expected` will do (and for a storage bug, anything).
   */
  readonly mustCatch: readonly Catcher[];
  readonly run: (seed: number) => SimRunResult;
  /** Seeds this bug is given when --seeds is not: most need few, a rare one states its own bound. */
  readonly seedsMax?: number;
}

interface Outcome {
  readonly mutant: Mutant;
  readonly seed: number | undefined;
  readonly catchers: readonly Catcher[];
}

/** Seeds a bug is given when neither --seeds nor the bug says otherwise. */
const DEFAULT_SEEDS = 60;

/** --seeds N for every bug, or undefined: each bug's own bound, else DEFAULT_SEEDS. */
function seedsLimit(argv: readonly string[]): number | undefined {
  const at = argv.indexOf('--seeds');
  if (at === -1) return undefined;
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

/** --only's list of bug names, or undefined for every bug. */
function onlyBugs(argv: readonly string[]): ReadonlySet<string> | undefined {
  const at = argv.indexOf('--only');
  if (at === -1) return undefined;
  const value = argv[at + 1];
  if (value === undefined || value === '') {
    console.error('mutants: --only takes a comma-separated list of bug names');
    process.exit(2);
  }
  return new Set(value.split(','));
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const limit = seedsLimit(argv);
  const only = onlyBugs(argv);
  const known = [...RAFT_HUNTS.map((h) => h.bug), ...RAFT_UNDER_BROKER_HUNTS.map((h) => h.name), ...BROKER_HUNTS.map((h) => h.bug), ...COMPILED_MUTANTS.map((m) => m.bug)];
  const unknown = [...(only ?? [])].filter((bug) => !known.includes(bug));
  if (unknown.length > 0) {
    console.error(`mutants: no planted bug named ${unknown.join(', ')} (known: ${known.join(', ')})`);
    process.exit(2);
  }
  const wanted = (bug: string): boolean => only === undefined || only.has(bug);
  const planted = await Promise.all(COMPILED_MUTANTS.filter((mutant) => wanted(mutant.bug)).map(async (mutant) => ({ mutant, ...(await plantCompiledBug(mutant, BUILD_ROOT)) })));
  const mutants: Mutant[] = [
    ...RAFT_HUNTS.map((h): Mutant => ({ bug: h.bug, kind: 'raft', expected: h.expected, plantedFor: h.expected[0]!, mustCatch: [], run: (seed) => runRaftHunt(h, seed) })),
    ...RAFT_UNDER_BROKER_HUNTS.map((h): Mutant => ({ bug: h.name, kind: 'raft', expected: h.expected, plantedFor: h.expected[0]!, mustCatch: [], run: (seed) => runRaftUnderBrokerHunt(h.bug, seed) })),
    ...BROKER_HUNTS.map((h): Mutant => ({ bug: h.bug, kind: 'broker', expected: h.expected, plantedFor: h.expected[0]!, mustCatch: [], run: (seed) => runBrokerHunt(h.bug, seed) })),
    ...planted.map(
      ({ mutant, run }): Mutant => ({
        bug: mutant.bug,
        kind: mutant.kind,
        expected: mutant.expected,
        plantedFor: mutant.plantedFor?.join(', ') ?? mutant.expected[0] ?? mutant.fault ?? '-',
        mustCatch: mutant.plantedFor ?? [],
        run,
        ...(mutant.seedsMax === undefined ? {} : { seedsMax: mutant.seedsMax }),
      }),
    ),
  ].filter((mutant) => wanted(mutant.bug));
  const started = performance.now();
  const limitOf = (mutant: Mutant): number => limit ?? mutant.seedsMax ?? DEFAULT_SEEDS;
  const outcomes = mutants.map((mutant, i) => {
    const limit = limitOf(mutant);
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
      seed === undefined ? `none in ${limitOf(mutant)}` : String(seed),
      mutant.plantedFor,
    ]),
  ];
  if (argv.includes('--keep')) for (const { mutant, copy } of planted) console.error(`mutants: ${mutant.bug} is planted in ${path.relative(process.cwd(), copy)}`);
  else for (const { cleanup } of planted) cleanup();
  console.log(table(rows));
  const missed = outcomes.filter((outcome) => outcome.seed === undefined).length;
  // Storage bugs are planted against a fault, not a property: any property that catches them counts.
  const elsewhere = outcomes.filter(({ mutant, seed, catchers }) => {
    if (seed === undefined) return false;
    if (mutant.mustCatch.length > 0) return !mutant.mustCatch.every((property) => catchers.includes(property));
    return mutant.expected.length > 0 && !catchers.some((property) => mutant.expected.includes(property));
  }).length;
  const limits = limit === undefined ? `their seed bounds (${DEFAULT_SEEDS}, or their own)` : `${limit} seeds each`;
  console.log(`${outcomes.length - missed} of ${outcomes.length} planted bugs caught within ${limits}; ${elsewhere} caught only by properties other than those they were planted for; ${((performance.now() - started) / 1000).toFixed(0)}s`);
  // A bug caught, but not by what it was planted for, leaves that property unproven.
  if (missed > 0 || elsewhere > 0) process.exitCode = 1;
}

await main();
