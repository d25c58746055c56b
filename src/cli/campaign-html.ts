// The HTML index of a merged campaign: what ran, the table, and every failing
// seed with its problem and the command that replays it, in one page a CI job
// can keep as an artifact.

import { neverExercised, sumCoverage, type CoverageCount, type RunCoverage } from '../../sim/coverage.js';
import { escape, page } from '../../sim/report.js';
import { foundScenarioFile } from './campaign-output.js';
import type { MergedCampaign } from './campaign-part.js';

export function renderCampaignHtml(merged: MergedCampaign, foundDir: string): string {
  const { from, to } = merged.campaign.seeds;
  const title = `chorus sim ${merged.kind}, seeds ${from}..${to}`;
  const about = `<p>${merged.results.length} runs merged from ${merged.shardCount} shard${merged.shardCount === 1 ? '' : 's'}, ${(merged.wallMs / 1000).toFixed(1)} s of wall time in all; build <code>${escape(merged.campaign.build)}</code>.</p>`;
  const body = merged.kind === 'sweep' ? sweepBody(merged) : fuzzBody(merged, foundDir);
  return page(title, `<h1>${escape(title)}</h1>\n${about}\n${body}\n${coverageBody(merged.results)}`);
}

/** What the runs exercised, summed: the table `sim merge` prints, and what none of them reached. */
function coverageBody(results: readonly { readonly coverage?: RunCoverage }[]): string {
  const coverage = sumCoverage(results.map((result) => result.coverage));
  const rows: string[] = [];
  const section = <K extends string>(title: string, counts: ReadonlyMap<K, CoverageCount>): void => {
    rows.push(`<tr><th colspan="3">${escape(title)}</th></tr>`);
    for (const [name, count] of counts) rows.push(`<tr><td>${escape(name)}</td><td class="${count.runs === 0 ? 'fail' : 'pass'}">${count.runs}</td><td>${count.total}</td></tr>`);
  };
  section('safety properties judged', coverage.judged);
  if (coverage.brokerRuns > 0) section('history properties judged', coverage.historyJudged);
  section('fault kinds fired', coverage.faultsFired);
  section('workload paths taken', coverage.paths);
  const never = neverExercised(coverage);
  const missing = [...never.properties, ...never.historyProperties, ...never.faultKinds, ...never.paths];
  const note = missing.length === 0 ? '<p class="pass">Every property, fault kind and workload path was exercised.</p>' : `<p class="fail">Never exercised: ${escape(missing.join(', '))}.</p>`;
  return `<h2>Coverage over ${coverage.runs} runs</h2>\n<table><tr><th>what</th><th>runs</th><th>times</th></tr>\n${rows.join('\n')}\n</table>\n${note}`;
}

function sweepBody(merged: Extract<MergedCampaign, { kind: 'sweep' }>): string {
  const rows = merged.campaign.scenarios.map((scenario) => {
    const mine = merged.results.filter((r) => r.file === scenario.file);
    const failed = mine.filter((r) => !r.passed).length;
    return `<tr><td>${escape(scenario.name)}</td><td>${mine.length}</td><td>${mine.length - failed}</td><td class="${failed === 0 ? 'pass' : 'fail'}">${failed}</td></tr>`;
  });
  const failures = merged.results
    .filter((r) => !r.passed)
    .map((r) => `<tr><td>${escape(r.scenario)}</td><td>${r.seed}</td><td class="fail">${escape(r.problem)}</td><td><code>${escape(`npx chorus sim run ${r.file} --seed ${r.seed}`)}</code></td></tr>`);
  return `<table><tr><th>scenario</th><th>runs</th><th>passed</th><th>failed</th></tr>\n${rows.join('\n')}\n</table>\n${failureTable(['scenario', 'seed', 'first problem', 'replay'], failures)}`;
}

function fuzzBody(merged: Extract<MergedCampaign, { kind: 'fuzz' }>, foundDir: string): string {
  const failed = merged.results.filter((r) => !r.passed);
  const summary = `<p>${merged.results.length} seeds fuzzed: <span class="${failed.length === 0 ? 'pass' : 'fail'}">${failed.length === 0 ? 'no failures' : `${failed.length} failing`}</span>.</p>`;
  const rows = failed.map((r) => {
    const file = foundScenarioFile(foundDir, r.seed);
    const shrunk = r.shrunk === undefined ? '' : `${r.faults} → ${r.shrunk.faults} faults`;
    return `<tr><td>${r.seed}</td><td class="fail">${escape(r.problem)}</td><td>${shrunk}</td><td><code>${escape(`npx chorus sim run ${file} --seed ${r.seed}`)}</code></td></tr>`;
  });
  return `${summary}\n${failureTable(['seed', 'problem', 'shrunk', 'replay'], rows)}`;
}

function failureTable(headers: readonly string[], rows: readonly string[]): string {
  if (rows.length === 0) return '<p class="pass">No failing seeds.</p>';
  return `<h2>Failing seeds</h2>\n<table><tr>${headers.map((h) => `<th>${escape(h)}</th>`).join('')}</tr>\n${rows.join('\n')}\n</table>`;
}
