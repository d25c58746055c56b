// What a run exercised, as counts: how often each safety property and each
// client-history property had something to judge, how often each fault kind fired, and how often the
// broker workload took the paths that only some runs reach (deliveries
// marked late, clients cut as slow consumers, history reads paced short). A
// clean run proves nothing about what it never exercised, so a sweep adds
// these up over its runs and names what none of them reached.

import { SAFETY_PROPERTIES, type SafetyProperty } from './checker.js';
import { EVERY_FAULT_KIND, type FaultCounts, type FaultKind } from './faults.js';
import { HISTORY_PROPERTIES, type HistoryProperty } from './history-checker.js';
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
  /** Absent in a Raft-only run, which has no broker workload; so are historyJudged. */
  readonly paths?: Readonly<Partial<Record<WorkloadPath, number>>>;
  readonly historyJudged?: Readonly<Partial<Record<HistoryProperty, number>>>;
}

export function runCoverage(result: SimRunResult): RunCoverage {
  const stats = result.broker?.stats;
  const broker =
    stats === undefined
      ? {}
      : {
          paths: { 'late deliveries': stats.lateDeliveries, 'slow-consumer cuts': stats.slowConsumerCuts, 'paced history reads': stats.pacedReads },
          historyJudged: { ...result.broker!.judged },
        };
  return { judged: { ...result.judged }, faultsFired: { ...result.faultsFired }, ...broker };
}

/** One thing a campaign may exercise: in how many runs, and how many times in all. */
export interface CoverageCount {
  readonly runs: number;
  readonly total: number;
}

export interface CampaignCoverage {
  readonly runs: number;
  /** The runs that had a broker workload, over which paths and historyJudged count. */
  readonly brokerRuns: number;
  readonly judged: ReadonlyMap<SafetyProperty, CoverageCount>;
  readonly faultsFired: ReadonlyMap<FaultKind, CoverageCount>;
  /** Only over the runs that had a broker workload; so is historyJudged. */
  readonly paths: ReadonlyMap<WorkloadPath, CoverageCount>;
  readonly historyJudged: ReadonlyMap<HistoryProperty, CoverageCount>;
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
    brokerRuns: coverages.filter((coverage) => coverage?.paths !== undefined).length,
    judged: count(SAFETY_PROPERTIES, (c) => c.judged),
    faultsFired: count(ALL_FAULT_KINDS_KNOWN, (c) => c.faultsFired),
    paths: count(WORKLOAD_PATHS, (c) => c.paths),
    historyJudged: count(HISTORY_PROPERTIES, (c) => c.historyJudged),
  };
}

/** The names a campaign never exercised, by section. */
export function neverExercised(coverage: CampaignCoverage): {
  properties: SafetyProperty[];
  historyProperties: HistoryProperty[];
  faultKinds: FaultKind[];
  paths: WorkloadPath[];
} {
  const never = <K>(counts: ReadonlyMap<K, CoverageCount>): K[] => [...counts].filter(([, count]) => count.runs === 0).map(([key]) => key);
  return {
    properties: never(coverage.judged),
    // A campaign with no broker run had no history to judge, and says nothing of it.
    historyProperties: coverage.brokerRuns > 0 ? never(coverage.historyJudged) : [],
    faultKinds: never(coverage.faultsFired),
    paths: never(coverage.paths),
  };
}

/** The coverage as plain JSON, for --json output: every name with its runs and total. */
export function coverageJson(coverage: CampaignCoverage): Record<string, unknown> {
  const section = <K extends string>(counts: ReadonlyMap<K, CoverageCount>): Record<string, CoverageCount> => Object.fromEntries(counts);
  return {
    runs: coverage.runs,
    brokerRuns: coverage.brokerRuns,
    judged: section(coverage.judged),
    historyJudged: section(coverage.historyJudged),
    faultsFired: section(coverage.faultsFired),
    paths: section(coverage.paths),
    never: neverExercised(coverage),
  };
}
