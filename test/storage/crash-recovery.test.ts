import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SimRandom } from '../../sim/random.js';
import { DEFAULT_DISK_OPTIONS, SimFileSystem } from '../../sim/sim-file-system.js';
import type { Entry, HardState } from '../../src/raft/types.js';
import { NodeStorage, type OpenedStorage, type PersistWork } from '../../src/storage/node-storage.js';

// The storage engine over the simulated disk, through random sequences of
// writes, syncs finishing, plain and torn crashes, and reads that flip bits.
// After every crash it must start again (never taking a torn write for
// corruption) and recover a state the node may be in: everything it
// acknowledged, plus at most part of the one write it had not.
//
// A failure names its replay: CHORUS_PROPERTY_SEED=<seed> npx vitest run test/storage/crash-recovery.test.ts

const FIXED_SEED = 20261207;
const DIR = '/data';

function parameters(): fc.Parameters<unknown> {
  const seed = process.env['CHORUS_PROPERTY_SEED'];
  if (seed === 'random') return {};
  return { seed: seed === undefined ? FIXED_SEED : Number(seed) };
}

type Step =
  | { readonly kind: 'persist'; readonly newTerm: boolean; readonly truncateBack: number; readonly append: number; readonly bytes: number }
  | { readonly kind: 'flush'; readonly count: number }
  | { readonly kind: 'crash'; readonly torn: boolean; readonly tearSeed: number };

const stepArbitrary: fc.Arbitrary<Step> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ kind: fc.constant('persist' as const), newTerm: fc.boolean(), truncateBack: fc.nat(4), append: fc.nat(6), bytes: fc.nat(300) }) },
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('flush' as const), count: fc.integer({ min: 1, max: 6 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('crash' as const), torn: fc.boolean(), tearSeed: fc.nat() }) },
);

interface NodeState {
  readonly hardState: HardState;
  readonly log: readonly Entry[];
}

/** What a node may recover after a crash: its acknowledged state, or part of the one write under way (in order: hard state, truncation, appends) applied to it. */
function possibleStates(acknowledged: NodeState, inFlight: PersistWork | undefined): NodeState[] {
  const states: NodeState[] = [acknowledged];
  if (inFlight === undefined) return states;
  const hardStates = inFlight.hardState === undefined ? [acknowledged.hardState] : [acknowledged.hardState, inFlight.hardState];
  const truncated = inFlight.truncateFrom === undefined ? acknowledged.log : acknowledged.log.slice(0, inFlight.truncateFrom - 1);
  for (const hardState of hardStates) {
    // A truncation under way removes the log's tail a part at a time: any prefix down to its cut.
    for (let length = truncated.length; length <= acknowledged.log.length; length++) states.push({ hardState, log: acknowledged.log.slice(0, length) });
    for (let kept = 1; kept <= inFlight.entries.length; kept++) states.push({ hardState, log: [...truncated, ...inFlight.entries.slice(0, kept)] });
  }
  return states;
}

function sameState(a: NodeState, b: NodeState): boolean {
  if (a.hardState.term !== b.hardState.term || a.hardState.vote !== b.hardState.vote || a.log.length !== b.log.length) return false;
  return a.log.every((entry, i) => {
    const other = b.log[i]!;
    return entry.index === other.index && entry.term === other.term && entry.kind === other.kind && entry.data.length === other.data.length && entry.data.every((byte, j) => byte === other.data[j]);
  });
}

function describeState(state: NodeState): string {
  return `term ${state.hardState.term} vote ${state.hardState.vote}, log ${state.log.map((entry) => `${entry.index}/${entry.term}`).join(' ')}`;
}

/** Runs one sequence; returns a problem, or undefined. */
export function runSteps(steps: readonly Step[], diskSeed: number, trace: (line: string) => void = () => undefined): string | undefined {
  const queued: (() => void)[] = [];
  const fs = new SimFileSystem({ ...DEFAULT_DISK_OPTIONS, readFlipChance: 0.02 }, SimRandom.stream(diskSeed, 'disk'), (_delay, action) => queued.push(action));
  const flushAll = (): void => {
    while (queued.length > 0) queued.shift()!();
  };
  let problem: string | undefined;
  let acknowledged: NodeState = { hardState: { term: 0, vote: 0 }, log: [] };
  let inFlight: PersistWork | undefined;
  let incarnation = 0;
  let nextData = 0;

  const open = (): OpenedStorage | undefined => {
    let result: OpenedStorage | undefined;
    NodeStorage.open(fs, DIR, { segmentBytesMax: 700, note: () => undefined }, (error, opened) => {
      if (error !== undefined) problem = `could not start after a crash: ${error.message}`;
      result = opened;
    });
    flushAll();
    if (result === undefined) {
      problem ??= 'open never finished';
      return undefined;
    }
    const recovered: NodeState = { hardState: result.durable.hardState, log: result.durable.entries };
    trace(`opened: ${describeState(recovered)}`);
    if (!possibleStates(acknowledged, inFlight).some((state) => sameState(state, recovered))) {
      problem = `recovered ${describeState(recovered)}; acknowledged ${describeState(acknowledged)}${inFlight === undefined ? '' : ` with a write under way`}`;
    }
    const lastTerm = recovered.log.at(-1)?.term ?? 0;
    if (lastTerm > recovered.hardState.term) problem = `recovered a log ending in term ${lastTerm} past the hard state's term ${recovered.hardState.term}`;
    if (result.incarnation <= incarnation) problem = `start ${result.incarnation} is not above the previous start ${incarnation}`;
    incarnation = result.incarnation;
    acknowledged = recovered;
    inFlight = undefined;
    return result;
  };

  let storage = open()?.storage;
  for (const step of steps) {
    if (problem !== undefined || storage === undefined) break;
    trace(`step ${JSON.stringify(step)}; files ${fs.list(`${DIR}/log`).join(' ')}; pending ${fs.pendingChanges}`);
    switch (step.kind) {
      case 'persist': {
        if (inFlight !== undefined) break;
        const base = acknowledged;
        const term = step.newTerm ? base.hardState.term + 1 : Math.max(1, base.hardState.term);
        const hardState = term === base.hardState.term ? undefined : { term, vote: 1 + (term % 3) };
        const keep = Math.max(0, base.log.length - step.truncateBack);
        const truncateFrom = keep < base.log.length ? keep + 1 : undefined;
        const entries: Entry[] = [];
        for (let i = 0; i < step.append; i++) {
          const data = new Uint8Array(1 + ((step.bytes + i * 37) % 300)).fill(nextData++ % 251);
          entries.push({ index: keep + i + 1, term, kind: i % 5 === 4 ? 'noop' : 'command', data: i % 5 === 4 ? new Uint8Array(0) : data });
        }
        const work: PersistWork = { hardState, truncateFrom, entries };
        if (hardState === undefined && truncateFrom === undefined && entries.length === 0) break;
        inFlight = work;
        storage.persist(work, (error) => {
          if (error !== undefined) {
            problem = `persist failed: ${error.message}`;
            return;
          }
          const log = truncateFrom === undefined ? base.log : base.log.slice(0, truncateFrom - 1);
          acknowledged = { hardState: hardState ?? base.hardState, log: [...log, ...entries] };
          inFlight = undefined;
        });
        break;
      }
      case 'flush':
        for (let i = 0; i < step.count && queued.length > 0; i++) queued.shift()!();
        break;
      case 'crash':
        queued.length = 0;
        if (step.torn) fs.tornCrash(SimRandom.stream(step.tearSeed, 'tear'));
        else fs.crash();
        storage = open()?.storage;
        break;
    }
  }
  return problem;
}

describe('the storage engine over a disk that crashes (property)', () => {
  it('always starts again, with everything it acknowledged and nothing it never wrote', () => {
    const property = fc.property(fc.array(stepArbitrary, { minLength: 5, maxLength: 80 }), fc.nat(), (steps, diskSeed) => {
      const problem = runSteps(steps, diskSeed);
      if (problem !== undefined) throw new Error(`${problem}\nsteps: ${JSON.stringify(steps)}, disk seed ${diskSeed}`);
    });
    const details = fc.check(property, { numRuns: Number(process.env["CHORUS_PROPERTY_RUNS"] ?? 300), ...parameters() });
    const cause = details.errorInstance instanceof Error ? details.errorInstance.message : String(details.errorInstance);
    expect(details.failed ? `${cause}\nreplay: CHORUS_PROPERTY_SEED=${details.seed} npx vitest run test/storage/crash-recovery.test.ts` : undefined).toBeUndefined();
  });
});

describe('a torn write of several records', () => {
  it('is cut as a torn tail even when junk covers the records after the tear, and the acknowledged entry stays', () => {
    const outcomes = { junkAfterTear: 0, cutShort: 0 };
    for (let tearSeed = 1; tearSeed <= 300; tearSeed++) {
      const queued: (() => void)[] = [];
      const fs = new SimFileSystem({ ...DEFAULT_DISK_OPTIONS }, SimRandom.stream(tearSeed, 'disk'), (_delay, action) => queued.push(action));
      const flushAll = (): void => {
        while (queued.length > 0) queued.shift()!();
      };
      let opened: OpenedStorage | undefined;
      NodeStorage.open(fs, DIR, { segmentBytesMax: 1 << 20, note: () => undefined }, (error, result) => {
        expect(error).toBeUndefined();
        opened = result;
      });
      flushAll();
      const entry = (index: number): Entry => ({ index, term: 1, kind: 'command', data: new Uint8Array(40).fill(index) });
      let acknowledged = false;
      opened!.storage.persist({ hardState: { term: 1, vote: 1 }, truncateFrom: undefined, entries: [entry(1)] }, () => (acknowledged = true));
      flushAll();
      expect(acknowledged).toBe(true);
      // Five records in one write, never synced, then a crash that tears it.
      opened!.storage.persist({ hardState: undefined, truncateFrom: undefined, entries: [2, 3, 4, 5, 6].map(entry) }, () => undefined);
      queued.length = 0;
      fs.tornCrash(SimRandom.stream(tearSeed, 'tear'));
      const segment = fs.list(`${DIR}/log`)[0]!;
      const bytesOnDisk = fs.fileBytes(`${DIR}/log/${segment}`)!.length;
      let recovered: OpenedStorage | undefined;
      let failure: Error | undefined;
      NodeStorage.open(fs, DIR, { segmentBytesMax: 1 << 20, note: () => undefined }, (error, result) => {
        failure = error;
        recovered = result;
      });
      flushAll();
      expect(failure?.message, `tear seed ${tearSeed}`).toBeUndefined();
      const entries = recovered!.durable.entries;
      expect(entries[0]?.data).toEqual(entry(1).data);
      // Whatever follows the acknowledged entry is a whole prefix of the torn write.
      entries.forEach((recoveredEntry, i) => expect(recoveredEntry).toEqual(entry(i + 1)));
      const recordBytes = 8 + 17 + 40;
      const wholeRecordsEnd = 16 + entries.length * recordBytes;
      if (bytesOnDisk > wholeRecordsEnd + recordBytes) outcomes.junkAfterTear++;
      else if (bytesOnDisk > wholeRecordsEnd) outcomes.cutShort++;
      recovered!.storage.close();
    }
    // Both shapes of tear came up: a record cut short at the end, and a bad record with more of the write's range after it.
    expect(outcomes.junkAfterTear).toBeGreaterThan(0);
    expect(outcomes.cutShort).toBeGreaterThan(0);
  });
});
