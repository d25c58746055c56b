// `npm run mutants`: runs every planted bug of test/support through the
// simulator, seed 1, 2, ... up to a limit per bug, stops at the first seed
// that fails, and prints a table: the bug, whether it was caught, by which
// property (the first the failing run reports), what else that run reported,
// and how many seeds it took. Raft bugs run their hunt's fault mix
// (test/support/planted-hunts.ts); broker bugs run the swarm draws of
// `chorus sim fuzz`. A bug not caught within its limit prints "no".
//
// Storage bugs are planted differently. The storage engine has no class a
// test could override, and production code gets no hooks for tests, so each
// storage bug is one edit of the compiled storage code in a copy of this
// build (STORAGE_MUTANTS), loaded as modules of their own beside the
// untouched ones; that copy runs the swarm draws of `chorus sim fuzz`, whose
// disk faults (torn crashes, full disks, lost unsynced writes) are what such
// bugs meet.
//
// Usage: node dist-mutants/scripts/mutants.js [--seeds N] [--only BUG,BUG...]
// (--seeds gives every bug N seeds; without it each gets 60, or the bound it states;
// --only runs the bugs named, for a quick look at one)

import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { table } from '../src/cli/table.js';
import type { SimRunResult } from '../sim/run.js';
import { BROKER_HUNTS, catchersOf, RAFT_HUNTS, runBrokerHunt, runRaftHunt, type Catcher } from '../test/support/planted-hunts.js';

interface Mutant {
  readonly bug: string;
  readonly kind: 'raft' | 'broker' | 'storage';
  readonly expected: readonly Catcher[];
  readonly run: (seed: number) => SimRunResult;
  /** Seeds this bug is given when --seeds is not: most need few, a rare one states its own bound. */
  readonly seedsMax?: number;
}

/** A storage bug: `find` (which must occur exactly once) replaced by `replace` in one compiled file. */
interface StorageMutant {
  readonly bug: string;
  readonly file: string;
  readonly find: string | RegExp;
  readonly replace: string;
  /** The disk fault it is planted against, for the table. */
  readonly fault: string;
  /** Its seed bound, when the default is too few for the fault it needs. */
  readonly seedsMax?: number;
}

const STORAGE_MUTANTS: readonly StorageMutant[] = [
  {
    // The classic write-ahead-log bug: a final record whose CRC fails is taken as written, not as a torn write.
    bug: 'accept-torn-tail',
    file: 'src/storage/segmented-log.js',
    find: 'if (stored !== actual)',
    replace: 'if (stored !== actual && recordEnd < bytes.length)',
    fault: 'torn-crash',
    // It takes a torn crash whose tear leaves a whole-length record at the log's tail, on a node that then rejoins: about one seed in a hundred.
    seedsMax: 150,
  },
  {
    // Acknowledges a Ready's log appends as soon as they are written, before the fdatasync that makes them durable.
    bug: 'ack-before-fsync',
    file: 'src/storage/node-storage.js',
    find: /else\s+this\.log\.sync\(done\);/,
    replace: 'else { done(undefined); this.log.sync(() => undefined); }',
    fault: 'crash (lost unsynced writes)',
  },
  {
    // A failed append (ENOSPC on a full disk) is swallowed, and the Ready acknowledged as if written.
    bug: 'ignore-append-error',
    file: 'src/storage/node-storage.js',
    find: /this\.log\.append\(entries\);\s*\}\s*catch \(error\) \{\s*done\(error\);/,
    replace: 'this.log.append(entries); } catch (error) { done(undefined);',
    fault: 'disk-full',
  },
  {
    // Trusts the first read of a file: a bit flipped on the way from the disk is taken for damage of what is stored.
    bug: 'trust-first-read',
    file: 'src/storage/file-system.js',
    find: 'const CONFIRMING_READS_MAX = 4;',
    replace: 'const CONFIRMING_READS_MAX = 1;',
    fault: 'bit flips on read',
  },
];

/** This build's root (dist-mutants), which each storage mutant copies. */
const BUILD_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

interface SwarmModules {
  readonly drawSwarm: (seed: number) => { readonly faults: readonly unknown[] };
  readonly swarmRunOptions: (draw: never, faults: never) => unknown;
  readonly runSimulation: (options: never) => SimRunResult;
}

/** A copy of the build with one storage bug in it, and its swarm runner; `cleanup` removes the copy. */
async function plantStorageBug(mutant: StorageMutant): Promise<{ run: (seed: number) => SimRunResult; cleanup: () => void }> {
  // Inside the build, not in the system's temporary folder: the copy's imports find the project's node_modules by walking up.
  fs.mkdirSync(path.join(BUILD_ROOT, 'planted'), { recursive: true });
  const copy = fs.mkdtempSync(path.join(BUILD_ROOT, 'planted', `${mutant.bug}-`));
  for (const part of ['src', 'sim']) fs.cpSync(path.join(BUILD_ROOT, part), path.join(copy, part), { recursive: true });
  const file = path.join(copy, mutant.file);
  const text = fs.readFileSync(file, 'utf8');
  const matches = typeof mutant.find === 'string' ? text.split(mutant.find).length - 1 : (text.match(new RegExp(mutant.find.source, 'g')) ?? []).length;
  if (matches !== 1) throw new Error(`mutant ${mutant.bug}: expected one match of ${String(mutant.find)} in ${mutant.file}, found ${matches}; the storage code changed, so update the mutant`);
  fs.writeFileSync(file, text.replace(mutant.find, mutant.replace));
  const fuzz = (await import(pathToFileURL(path.join(copy, 'sim', 'fuzz.js')).href)) as SwarmModules;
  const run = (await import(pathToFileURL(path.join(copy, 'sim', 'run.js')).href)) as SwarmModules;
  return {
    run: (seed) => {
      const draw = fuzz.drawSwarm(seed);
      return run.runSimulation(fuzz.swarmRunOptions(draw as never, draw.faults as never) as never);
    },
    cleanup: () => fs.rmSync(copy, { recursive: true, force: true }),
  };
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
  const known = [...RAFT_HUNTS.map((h) => h.bug), ...BROKER_HUNTS.map((h) => h.bug), ...STORAGE_MUTANTS.map((m) => m.bug)];
  const unknown = [...(only ?? [])].filter((bug) => !known.includes(bug));
  if (unknown.length > 0) {
    console.error(`mutants: no planted bug named ${unknown.join(', ')} (known: ${known.join(', ')})`);
    process.exit(2);
  }
  const wanted = (bug: string): boolean => only === undefined || only.has(bug);
  const planted = await Promise.all(STORAGE_MUTANTS.filter((mutant) => wanted(mutant.bug)).map(async (mutant) => ({ mutant, ...(await plantStorageBug(mutant)) })));
  const mutants: Mutant[] = [
    ...RAFT_HUNTS.map((h): Mutant => ({ bug: h.bug, kind: 'raft', expected: h.expected, run: (seed) => runRaftHunt(h, seed) })),
    ...BROKER_HUNTS.map((h): Mutant => ({ bug: h.bug, kind: 'broker', expected: h.expected, run: (seed) => runBrokerHunt(h.bug, seed) })),
    ...planted.map(({ mutant, run }): Mutant => ({ bug: mutant.bug, kind: 'storage', expected: [], run, ...(mutant.seedsMax === undefined ? {} : { seedsMax: mutant.seedsMax }) })),
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
      mutant.expected[0] ?? STORAGE_MUTANTS.find((storage) => storage.bug === mutant.bug)?.fault ?? '-',
    ]),
  ];
  for (const { cleanup } of planted) cleanup();
  console.log(table(rows));
  const missed = outcomes.filter((outcome) => outcome.seed === undefined).length;
  // Storage bugs are planted against a fault, not a property: any property that catches them counts.
  const elsewhere = outcomes.filter((outcome) => outcome.seed !== undefined && outcome.mutant.expected.length > 0 && !outcome.catchers.some((c) => outcome.mutant.expected.includes(c))).length;
  const limits = limit === undefined ? `their seed bounds (${DEFAULT_SEEDS}, or their own)` : `${limit} seeds each`;
  console.log(`${outcomes.length - missed} of ${outcomes.length} planted bugs caught within ${limits}; ${elsewhere} caught only by properties other than those they were planted for; ${((performance.now() - started) / 1000).toFixed(0)}s`);
  if (missed > 0) process.exitCode = 1;
}

await main();
