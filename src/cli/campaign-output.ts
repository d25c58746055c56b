// What a sweep or fuzz campaign prints at its end: the same lines whether it
// ran on one machine or was merged from shards, so the two can be compared
// line for line.

import chalk from 'chalk';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { neverExercised, sumCoverage, type CampaignCoverage, type CoverageCount, type RunCoverage } from '../../sim/coverage.js';
import type { CampaignScenario, FuzzResult, SweepResult } from './campaign-part.js';
import { table } from './table.js';

/** A row per scenario: runs, passed, failed. Results must be in report order. */
export function sweepTable(scenarios: readonly CampaignScenario[], results: readonly SweepResult[]): string {
  const rows = [['scenario', 'runs', 'passed', 'failed']];
  for (const scenario of scenarios) {
    const mine = results.filter((r) => r.file === scenario.file);
    const failed = mine.filter((r) => !r.passed).length;
    rows.push([scenario.name, String(mine.length), String(mine.length - failed), failed === 0 ? '0' : chalk.red(String(failed))]);
  }
  return table(rows);
}

/** Each failing run's first problem and the command that replays it. */
export function sweepFailureLines(results: readonly SweepResult[]): string[] {
  return results.filter((r) => !r.passed).map((r) => chalk.red(`FAIL ${r.scenario} seed ${r.seed}: ${r.problem}\n  replay: npx chorus sim run ${r.file} --seed ${r.seed}`));
}

export function foundScenarioFile(foundDir: string, seed: number): string {
  return join(foundDir, `fuzz-${seed}.yaml`);
}

/** Writes each failing seed's shrunk schedule as a scenario file in foundDir. */
export function writeFoundScenarios(foundDir: string, results: readonly FuzzResult[]): void {
  for (const result of results) {
    if (result.shrunk === undefined) continue;
    mkdirSync(foundDir, { recursive: true });
    writeFileSync(foundScenarioFile(foundDir, result.seed), result.shrunk.scenarioYaml);
  }
}

/** Each failing seed's problem, how far it shrank, where its scenario is and how to replay it. */
export function fuzzFailureLines(results: readonly FuzzResult[], foundDir: string): string[] {
  return results
    .filter((r) => !r.passed)
    .map((r) => {
      const file = foundScenarioFile(foundDir, r.seed);
      const shrunk = r.shrunk === undefined ? '' : `\n  shrunk from ${r.faults} faults to ${r.shrunk.faults} in ${r.shrunk.runs} runs; written to ${file}`;
      return `${chalk.red(`seed ${r.seed}: ${r.problem}`)}${shrunk}\n  replay: npx chorus sim run ${file} --seed ${r.seed}`;
    });
}

/**
 * What a campaign exercised, summed over its runs: for each safety property,
 * client-history property (over the broker runs), fault kind and workload
 * path, in how many runs and how many times in all,
 * then what no run exercised. The same lines whether the campaign ran here
 * or was merged from shards.
 */
export function coverageLines(results: readonly { readonly coverage?: RunCoverage }[]): string[] {
  const coverage = sumCoverage(results.map((result) => result.coverage));
  const rows: string[][] = [['coverage', 'runs', 'times']];
  const section = <K extends string>(title: string, counts: ReadonlyMap<K, CoverageCount>): void => {
    rows.push([chalk.bold(title), '', '']);
    for (const [name, count] of counts) rows.push([`  ${name}`, count.runs === 0 ? chalk.yellow('0') : String(count.runs), String(count.total)]);
  };
  section('safety properties judged', coverage.judged);
  if (coverage.brokerRuns > 0) section('history properties judged', coverage.historyJudged);
  section('fault kinds fired', coverage.faultsFired);
  section('workload paths taken', coverage.paths);
  return [`coverage over ${coverage.runs} run${coverage.runs === 1 ? '' : 's'}:`, table(rows), neverLine(coverage)];
}

function neverLine(coverage: CampaignCoverage): string {
  const never = neverExercised(coverage);
  const parts = [
    never.properties.length === 0 ? undefined : `properties ${never.properties.join(', ')}`,
    never.historyProperties.length === 0 ? undefined : `history properties ${never.historyProperties.join(', ')}`,
    never.faultKinds.length === 0 ? undefined : `fault kinds ${never.faultKinds.join(', ')}`,
    never.paths.length === 0 ? undefined : `workload paths ${never.paths.join(', ')}`,
  ].filter((part) => part !== undefined);
  return parts.length === 0 ? chalk.green('every property, fault kind and workload path was exercised') : chalk.yellow(`never exercised: ${parts.join('; ')}`);
}

/** `no failures` or `N failing`, coloured. */
export function failureCount(results: readonly { readonly passed: boolean }[]): string {
  const failed = results.filter((r) => !r.passed).length;
  return failed === 0 ? chalk.green('no failures') : chalk.red(`${failed} failing`);
}
