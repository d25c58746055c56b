// The bugs planted as edits of the compiled code (test/support/compiled-mutants.ts)
// still match the build, and the two that need no rare fault are caught
// within a few swarm seeds by every property they were planted for. `npm run mutants`
// hunts them all over many seeds; this keeps a change of the code from
// silently unplanting one between such runs.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { COMPILED_MUTANTS, editedText, plantCompiledBug } from '../support/compiled-mutants.js';
import { catchersOf } from '../support/planted-hunts.js';

/** `npm test` builds dist/ before it runs vitest. */
const BUILD_ROOT = path.resolve(import.meta.dirname, '../../dist');
const cleanups: (() => void)[] = [];

afterAll(() => {
  for (const cleanup of cleanups) cleanup();
  fs.rmSync(path.join(BUILD_ROOT, 'planted'), { recursive: true, force: true });
});

describe('bugs planted in the compiled code', () => {
  it.each(COMPILED_MUTANTS.map((mutant) => [mutant.bug, mutant] as const))('%s: every edit matches the build exactly once', (_bug, mutant) => {
    const text = fs.readFileSync(path.join(BUILD_ROOT, mutant.file), 'utf8');
    const edited = editedText(mutant, text);
    expect(edited).not.toBe(text);
  });

  it('refuses an edit that no longer matches, naming the mutant and the file', () => {
    const mutant = COMPILED_MUTANTS[0]!;
    expect(() => editedText(mutant, 'nothing of the kind')).toThrow(new RegExp(`mutant ${mutant.bug}: expected one match of .* in ${mutant.file}, found 0`));
  });

  // `npm run mutants` catches each of these within two seeds; a few more leave room for the runs to shift.
  const QUICK_SEEDS = 5;
  const quick = COMPILED_MUTANTS.filter((mutant) => mutant.kind !== 'storage');
  it.each(quick.map((mutant) => [mutant.bug, mutant] as const))(`%s is caught within ${QUICK_SEEDS} swarm seeds by what it was planted for`, async (_bug, mutant) => {
    const planted = await plantCompiledBug(mutant, BUILD_ROOT);
    cleanups.push(planted.cleanup);
    let catchers: string[] = [];
    for (let seed = 1; seed <= QUICK_SEEDS && catchers.length === 0; seed++) catchers = catchersOf(planted.run(seed));
    for (const property of mutant.plantedFor ?? [mutant.expected[0]!]) expect(catchers).toContain(property);
  });
});
