// What a run exercised, as counts: how often each safety property had
// something to judge, how often each fault kind fired, and how often the
// broker workload took the paths that only some runs reach (deliveries
// marked late, clients cut as slow consumers, history reads paced short). A
// clean run proves nothing about what it never exercised, so a sweep adds
// these up over its runs and names what none of them reached.

import { SAFETY_PROPERTIES, type SafetyProperty } from './checker.js';
import { EVERY_FAULT_KIND, type FaultCounts, type FaultKind } from './faults.js';
import type { SimRunResult } from './run.js';

/** Paths of the broker workload that only some runs take. */
export type WorkloadPath = 'late deliveries' | 'slow-consumer cuts' | 'paced history reads';

export const WORKLOAD_PATHS: readonly WorkloadPath[] = ['late deliveries', 'slow-consumer cuts', 'paced history reads'];

/** Every fault kind: those that strike at random, and those only a script asks for. */
export const ALL_FAULT_KINDS_KNOWN: readonly FaultKind[] = [...EVERY_FAULT_KIND, 'wipe', 'wipe-follower'];

/** One run's counts. Plain JSON, so campaign parts carry it as it is. */
export interface RunCoverage {
  readonly judged: Readonly<Partial<Record<SafetyProperty, number>>>;
  readonly faultsFired: FaultCounts;
  /** Absent in a Raft-only run, which has no broker workload. */
  readonly paths?: Readonly<Partial<Record<WorkloadPath, number>>>;
}

export function runCoverage(result: SimRunResult): RunCoverage {
  const stats = result.broker?.stats;
  const paths =
    stats === undefined
      ? {}
      : { paths: { 'late deliveries': stats.lateDeliveries, 'slow-consumer cuts': stats.slowConsumerCuts, 'paced history reads': stats.pacedReads } };
  return { judged: { ...result.judged }, faultsFired: { ...result.faultsFired }, ...paths };
}

/** One thing a campaign may exercise: in how many runs, and how many times in all. */
export interface CoverageCount {
  readonly runs: number;
  readonly total: number;
}

export interface CampaignCoverage {
  readonly runs: number;
  readonly judged: ReadonlyMap<SafetyProperty, CoverageCount>;
  readonly faultsFired: ReadonlyMap<FaultKind, CoverageCount>;
  /** Only over the runs that had a broker workload. */
  readonly paths: ReadonlyMap<WorkloadPath, CoverageCount>;
}

/** Adds up the coverage of a campaign's runs; results without coverage (older parts) count as runs that exercised nothing. */
export function sumCoverage(coverages: readonly (RunCoverage | undefined)[]): CampaignCoverage {
  const count = <K extends string>(keys: readonly K[], pick: (coverage: RunCoverage) => Partial<Record<K, number>> | undefined): Map<K, CoverageCount> => {
    const sums = new Map<K, CoverageCount>(keys.map((key) => [key, { runs: 0, total: 0 }]));
    for (const coverage of coverages) {
      const counts = coverage === undefined ? undefined : pick(coverage);
      for (const key of keys) {
        const value = counts?.[key] ?? 0;
        const sum = sums.get(key)!;
        if (value > 0) sums.set(key, { runs: sum.runs + 1, total: sum.total + value });
      }
    }
    return sums;
  };
  return {
    runs: coverages.length,
    judged: count(SAFETY_PROPERTIES, (c) => c.judged),
    faultsFired: count(ALL_FAULT_KINDS_KNOWN, (c) => c.faultsFired),
    paths: count(WORKLOAD_PATHS, (c) => c.paths),
  };
}

/** The names a campaign never exercised, by section. */
export function neverExercised(coverage: CampaignCoverage): { properties: SafetyProperty[]; faultKinds: FaultKind[]; paths: WorkloadPath[] } {
  const never = <K>(counts: ReadonlyMap<K, CoverageCount>): K[] => [...counts].filter(([, count]) => count.runs === 0).map(([key]) => key);
  return { properties: never(coverage.judged), faultKinds: never(coverage.faultsFired), paths: never(coverage.paths) };
}

/** The coverage as plain JSON, for --json output: every name with its runs and total. */
export function coverageJson(coverage: CampaignCoverage): Record<string, unknown> {
  const section = <K extends string>(counts: ReadonlyMap<K, CoverageCount>): Record<string, CoverageCount> => Object.fromEntries(counts);
  return { runs: coverage.runs, judged: section(coverage.judged), faultsFired: section(coverage.faultsFired), paths: section(coverage.paths), never: neverExercised(coverage) };
}
