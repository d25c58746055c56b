// Bugs planted by editing the compiled code, where no class can be overridden:
// the storage engine's, the simulator's own clients', and broker code no method
// of BrokerNode reaches. Production code gets no hooks for tests, so each bug
// is a few edits of one compiled file in a copy of a build, loaded as modules
// of their own beside the untouched ones. `npm run mutants` plants them in a
// copy of dist-mutants/; test/sim/compiled-mutants.test.ts in a copy of dist/.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { SimRunResult } from '../../sim/run.js';
import type { Catcher } from './planted-hunts.js';

/** One edit of a compiled file: `find` (which must occur exactly once) replaced by `replace`. */
export interface CompiledEdit {
  readonly find: string | RegExp;
  readonly replace: string;
}

/** A bug planted by editing one compiled file of a copy of the build. */
export interface CompiledMutant {
  readonly bug: string;
  readonly kind: 'storage' | 'broker' | 'client';
  readonly file: string;
  readonly edits: readonly CompiledEdit[];
  /**
   * The properties that may catch it, the first the one it was planted for;
   * empty for a storage bug, which is planted against a fault, not a property.
   */
  readonly expected: readonly Catcher[];
  /** The disk fault a storage bug is planted against, for the table. */
  readonly fault?: string;
  /** The properties it was planted for, when more than the first of `expected`; each must be among those that catch it. */
  readonly plantedFor?: readonly Catcher[];
  /** Its seed bound, when the default is too few for the fault it needs. */
  readonly seedsMax?: number;
}

export const COMPILED_MUTANTS: readonly CompiledMutant[] = [
  {
    // The classic write-ahead-log bug: a final record whose CRC fails is taken as written, not as a torn write.
    bug: 'accept-torn-tail',
    kind: 'storage',
    file: 'src/storage/segmented-log.js',
    edits: [{ find: 'if (stored !== actual)', replace: 'if (stored !== actual && recordEnd < bytes.length)' }],
    expected: [],
    fault: 'torn-crash',
    // It takes a torn crash whose tear leaves a whole-length record at the log's tail, on a node that then rejoins: one
    // seed in a few hundred (caught at seed 115, then at 296 once a quarter of the seeds churn leaders without torn crashes).
    seedsMax: 400,
  },
  {
    // Acknowledges a Ready's log appends as soon as they are written, before the fdatasync that makes them durable.
    bug: 'ack-before-fsync',
    kind: 'storage',
    file: 'src/storage/node-storage.js',
    edits: [{ find: /else\s+this\.log\.sync\(done\);/, replace: 'else { done(undefined); this.log.sync(() => undefined); }' }],
    expected: [],
    fault: 'crash (lost unsynced writes)',
  },
  {
    // A failed append (ENOSPC on a full disk) is swallowed, and the Ready acknowledged as if written.
    bug: 'ignore-append-error',
    kind: 'storage',
    file: 'src/storage/node-storage.js',
    edits: [{ find: /this\.log\.append\(entries\);\s*\}\s*catch \(error\) \{\s*done\(error\);/, replace: 'this.log.append(entries); } catch (error) { done(undefined);' }],
    expected: [],
    fault: 'disk-full',
  },
  {
    // Trusts the first read of a file: a bit flipped on the way from the disk is taken for damage of what is stored.
    bug: 'trust-first-read',
    kind: 'storage',
    file: 'src/storage/file-system.js',
    edits: [{ find: 'const CONFIRMING_READS_MAX = 4;', replace: 'const CONFIRMING_READS_MAX = 1;' }],
    expected: [],
    fault: 'bit flips on read',
  },
  {
    // An ORDERED subscription catching up replays its topics one after another
    // instead of merging them by timestamp, and, as the live merge does, marks
    // each message stamped before one already sent as late. Every mark is true,
    // so only the rule that a replay owes the earliest committed message first can tell.
    bug: 'ordered-replay-by-topic',
    kind: 'broker',
    file: 'src/node/subscriptions.js',
    edits: [
      {
        find: 'if (candidate !== undefined && (next === undefined || compareHlc(stampOf(candidate), stampOf(next)) < 0))',
        replace: 'if (candidate !== undefined && next === undefined)',
      },
    ],
    expected: ['Ordered Skip'],
  },
  {
    // A publisher that writes its message at once but records the publish only
    // when an answer (or its timeout) comes: a subscriber is often shown the
    // message before the history says anyone offered it, and the message is
    // stored below others seen committed before that. It is the planted bug of
    // Real-Time Order too, which cannot be the first to catch any bug of a
    // broker with one log (docs/sim-api.md, "Planted bugs"), but must catch this one.
    plantedFor: ['Seen Before Published', 'Real-Time Order'],
    bug: 'record-publish-at-answer',
    kind: 'client',
    file: 'sim/clients.js',
    edits: [
      { find: 'entry.op = this.recordInvoke(entry);', replace: '' },
      { find: /assert\(entry\.op !== undefined[^;]*;\s*return entry\.op;/, replace: 'if (entry.op === undefined) entry.op = this.recordInvoke(entry); return entry.op;' },
    ],
    expected: ['Seen Before Published', 'Real-Time Order'],
  },
];

interface SwarmModules {
  readonly drawSwarm: (seed: number) => { readonly faults: readonly unknown[] };
  readonly swarmRunOptions: (draw: never, faults: never) => unknown;
  readonly runSimulation: (options: never) => SimRunResult;
}

/** The compiled file's text with the mutant's edits made; throws when an edit does not match exactly once. */
export function editedText(mutant: CompiledMutant, text: string): string {
  let edited = text;
  for (const { find, replace } of mutant.edits) {
    const matches = typeof find === 'string' ? edited.split(find).length - 1 : (edited.match(new RegExp(find.source, 'g')) ?? []).length;
    if (matches !== 1) throw new Error(`mutant ${mutant.bug}: expected one match of ${String(find)} in ${mutant.file}, found ${matches}; the code changed, so update the mutant`);
    edited = edited.replace(find, replace);
  }
  return edited;
}

/**
 * Copies a folder of compiled modules without their source maps, and without
 * the comments naming them: the maps' relative paths would name sources that
 * are not beside the copy, and loaders that follow them complain.
 */
function copyWithoutSourceMaps(from: string, to: string): void {
  fs.mkdirSync(to, { recursive: true });
  for (const entry of fs.readdirSync(from, { withFileTypes: true })) {
    const source = path.join(from, entry.name);
    const target = path.join(to, entry.name);
    if (entry.isDirectory()) copyWithoutSourceMaps(source, target);
    else if (entry.name.endsWith('.js')) fs.writeFileSync(target, fs.readFileSync(source, 'utf8').replace(/\n\/\/# sourceMappingURL=\S+\s*$/, '\n'));
    else if (!entry.name.endsWith('.map')) fs.copyFileSync(source, target);
  }
}

/**
 * A copy of the build at `buildRoot` (holding src/ and sim/ compiled) with one
 * bug edited into it, and its swarm runner; `cleanup` removes the copy.
 */
export async function plantCompiledBug(mutant: CompiledMutant, buildRoot: string): Promise<{ copy: string; run: (seed: number) => SimRunResult; cleanup: () => void }> {
  // Inside the build, not in the system's temporary folder: the copy's imports find the project's node_modules by walking up.
  fs.mkdirSync(path.join(buildRoot, 'planted'), { recursive: true });
  const copy = fs.mkdtempSync(path.join(buildRoot, 'planted', `${mutant.bug}-`));
  for (const part of ['src', 'sim']) copyWithoutSourceMaps(path.join(buildRoot, part), path.join(copy, part));
  const file = path.join(copy, mutant.file);
  fs.writeFileSync(file, editedText(mutant, fs.readFileSync(file, 'utf8')));
  const fuzz = (await import(pathToFileURL(path.join(copy, 'sim', 'fuzz.js')).href)) as SwarmModules;
  const run = (await import(pathToFileURL(path.join(copy, 'sim', 'run.js')).href)) as SwarmModules;
  return {
    copy,
    run: (seed) => {
      const draw = fuzz.drawSwarm(seed);
      return run.runSimulation(fuzz.swarmRunOptions(draw as never, draw.faults as never) as never);
    },
    cleanup: () => fs.rmSync(copy, { recursive: true, force: true }),
  };
}

