// Reports of scenario runs: reports/<scenario>-<seed>.json, everything a
// replay or a person needs, and reports/<scenario>-<seed>.html, a page with
// an SVG timeline (a lane per node showing its role and term, bands for the
// faults, the commit index climbing, violations marked) that opens in any
// browser without a network. reports/index.html links every report.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { formatViolation } from './checker.js';
import { describeFault } from './faults.js';
import { formatHistoryViolation } from './history-checker.js';
import { runPassed, type SimRunResult, type StateSample } from './run.js';
import type { Scenario } from './scenario.js';

export const REPORT_FORMAT = 'chorus-report';
export const REPORT_VERSION = 1;

export interface Report {
  readonly format: typeof REPORT_FORMAT;
  readonly version: typeof REPORT_VERSION;
  readonly scenario: string;
  readonly description: string;
  /** The scenario file, as given to the run. */
  readonly file: string;
  readonly seed: number;
  readonly passed: boolean;
  readonly traceHash: string;
  readonly events: number;
  readonly nodes: number;
  readonly durationMs: number;
  readonly healAtMs: number;
  readonly simulatedMs: number;
  readonly faults: readonly { readonly atMs: number; readonly fault: string }[];
  readonly elections: readonly { readonly term: number; readonly node: number; readonly timeMs: number }[];
  readonly violations: readonly { readonly timeMs: number; readonly nodes: readonly number[]; readonly text: string }[];
  readonly historyViolations: readonly { readonly timeMs: number; readonly text: string }[];
  readonly liveness: readonly string[];
  readonly unmetExpectations: readonly string[];
  readonly clients: Record<string, number>;
  readonly samples: readonly StateSample[];
  readonly replay: string;
}

export function buildReport(scenario: Scenario, seed: number, result: SimRunResult, unmet: readonly string[]): Report {
  return {
    format: REPORT_FORMAT,
    version: REPORT_VERSION,
    scenario: scenario.name,
    description: scenario.description,
    file: scenario.file,
    seed,
    passed: runPassed(result) && unmet.length === 0,
    traceHash: result.traceHash,
    events: result.events,
    nodes: scenario.nodes,
    durationMs: scenario.durationMs,
    healAtMs: scenario.healAtMs,
    simulatedMs: result.simulatedMs,
    faults: result.faults.map((fault) => ({ atMs: fault.atMs, fault: describeFault(fault.action) })),
    elections: result.elections.map((election) => ({ term: election.term, node: election.node, timeMs: election.timeUs / 1000 })),
    violations: result.violations.map((violation) => ({ timeMs: violation.timeUs / 1000, nodes: violation.nodes, text: formatViolation(violation) })),
    historyViolations: (result.broker?.violations ?? []).map((violation) => ({ timeMs: violation.timeMs ?? 0, text: formatHistoryViolation(violation) })),
    // A run a core's exception stopped has that as its first problem.
    liveness: [...(result.exception === undefined ? [] : [`exception: ${result.exception}`]), ...result.liveness.problems],
    unmetExpectations: unmet,
    clients: { ...(result.broker?.stats ?? {}) },
    samples: result.samples,
    replay: `npx chorus sim replay ${path.join('reports', `${scenario.name}-${seed}.json`)}`,
  };
}

/** Reads a report back; throws an Error naming what is wrong. */
export function readReport(file: string): Report {
  let parsed: unknown;
  try {
    parsed = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (error) {
    throw new Error(`${file}: not a readable JSON report: ${(error as Error).message}`);
  }
  const report = parsed as Partial<Report>;
  if (report.format !== REPORT_FORMAT || report.version !== REPORT_VERSION) throw new Error(`${file}: not a chorus report (format ${JSON.stringify(report.format)})`);
  if (typeof report.file !== 'string' || typeof report.seed !== 'number' || typeof report.traceHash !== 'string') {
    throw new Error(`${file}: the report lacks its scenario file, seed or trace hash`);
  }
  return report as Report;
}

/** Writes the JSON and HTML of a report into `dir`; returns their paths. */
export function writeReport(dir: string, report: Report): { json: string; html: string } {
  fs.mkdirSync(dir, { recursive: true });
  const base = path.join(dir, `${report.scenario}-${report.seed}`);
  fs.writeFileSync(`${base}.json`, `${JSON.stringify(report, null, 1)}\n`);
  fs.writeFileSync(`${base}.html`, renderReportHtml(report));
  return { json: `${base}.json`, html: `${base}.html` };
}

export function writeIndex(dir: string, reports: readonly Report[]): string {
  fs.mkdirSync(dir, { recursive: true });
  const rows = reports
    .map((report) => {
      const name = `${report.scenario}-${report.seed}`;
      const status = report.passed ? '<span class="pass">PASS</span>' : '<span class="fail">FAIL</span>';
      return `<tr><td><a href="${escape(name)}.html">${escape(report.scenario)}</a></td><td>${report.seed}</td><td>${status}</td><td>${report.clients.published ?? 0}</td><td>${report.elections.length}</td><td>${report.violations.length + report.historyViolations.length}</td><td><code>${escape(report.traceHash)}</code></td><td>${escape(report.description)}</td></tr>`;
    })
    .join('\n');
  const html = page(
    'chorus scenario reports',
    `<h1>chorus scenario reports</h1>
<table><tr><th>scenario</th><th>seed</th><th>result</th><th>acknowledged</th><th>elections</th><th>violations</th><th>trace hash</th><th>what it does</th></tr>
${rows}
</table>`,
  );
  const file = path.join(dir, 'index.html');
  fs.writeFileSync(file, html);
  return file;
}

// ---- HTML.

const ROLE_COLOURS: Readonly<Record<string, string>> = {
  leader: '#2e7d32',
  candidate: '#ef6c00',
  precandidate: '#ffb74d',
  follower: '#b0bec5',
  down: '#37474f',
};

export function renderReportHtml(report: Report): string {
  const summary = [
    `<p>${escape(report.description)}</p>`,
    `<p><b>${report.passed ? '<span class="pass">PASS</span>' : '<span class="fail">FAIL</span>'}</b> — seed ${report.seed}, ${report.nodes} nodes, ${(report.durationMs / 1000).toFixed(1)} s simulated, healed at ${(report.healAtMs / 1000).toFixed(1)} s, ${report.events} events, trace hash <code>${escape(report.traceHash)}</code></p>`,
    `<p>Clients: ${Object.entries(report.clients).map(([key, value]) => `${escape(key)} ${value}`).join(', ') || 'none'}. Elections: ${report.elections.map((e) => `term ${e.term} n${e.node} at ${(e.timeMs / 1000).toFixed(2)} s`).join('; ') || 'none'}.</p>`,
    `<p>Replay: <code>${escape(report.replay)}</code></p>`,
  ];
  const problems = [...report.violations.map((v) => v.text), ...report.historyViolations.map((v) => v.text), ...report.liveness, ...report.unmetExpectations];
  const problemList = problems.length === 0 ? '<p class="pass">No violations; every expectation met.</p>' : `<ul class="fail">${problems.slice(0, 50).map((text) => `<li>${escape(text)}</li>`).join('')}</ul>`;
  const faults = `<details><summary>${report.faults.length} faults</summary><ul>${report.faults.map((f) => `<li>${(f.atMs / 1000).toFixed(2)} s: ${escape(f.fault)}</li>`).join('')}</ul></details>`;
  return page(`${report.scenario} (seed ${report.seed})`, `<h1>${escape(report.scenario)}</h1>\n${summary.join('\n')}\n${timelineSvg(report)}\n${legend()}\n<h2>Problems</h2>\n${problemList}\n${faults}`);
}

function timelineSvg(report: Report): string {
  const width = 1000;
  const left = 60;
  const lane = 28;
  const chartHeight = 80;
  const top = 20;
  const endMs = Math.max(report.simulatedMs, report.durationMs, 1);
  const x = (ms: number): number => left + ((width - left - 10) * ms) / endMs;
  const height = top + report.nodes * lane + 20 + chartHeight + 30;
  const parts: string[] = [];
  // Fault bands: a thin band at each fault, the healed stretch shaded.
  parts.push(`<rect x="${x(report.healAtMs)}" y="${top - 10}" width="${x(endMs) - x(report.healAtMs)}" height="${report.nodes * lane + 10}" fill="#e8f5e9"><title>healed from ${(report.healAtMs / 1000).toFixed(2)} s</title></rect>`);
  for (const fault of report.faults) {
    parts.push(`<rect x="${x(fault.atMs) - 1}" y="${top - 10}" width="3" height="${report.nodes * lane + 10}" fill="#e53935" opacity="0.35"><title>${escape(`${(fault.atMs / 1000).toFixed(2)} s: ${fault.fault}`)}</title></rect>`);
  }
  // A lane per node: role as colour, term written where it changes.
  for (let node = 0; node < report.nodes; node++) {
    const y = top + node * lane;
    parts.push(`<text x="8" y="${y + 17}" class="label">n${node + 1}</text>`);
    let runStart = 0;
    for (let i = 0; i < report.samples.length; i++) {
      const sample = report.samples[i]!;
      const next = report.samples[i + 1];
      const state = sample.nodes[node]!;
      const changes = next === undefined || next.nodes[node]!.role !== state.role || next.nodes[node]!.term !== state.term;
      if (!changes) continue;
      const fromMs = runStart;
      const toMs = next === undefined ? sample.timeMs : sample.timeMs;
      parts.push(
        `<rect x="${x(fromMs)}" y="${y + 4}" width="${Math.max(1, x(toMs) - x(fromMs))}" height="${lane - 8}" fill="${ROLE_COLOURS[state.role] ?? '#9e9e9e'}"><title>${escape(`n${node + 1} ${state.role}, term ${state.term}, commit ${state.commitIndex}, ${(fromMs / 1000).toFixed(2)}–${(toMs / 1000).toFixed(2)} s`)}</title></rect>`,
      );
      if (x(toMs) - x(fromMs) > 18 && state.role !== 'down') parts.push(`<text x="${x(fromMs) + 3}" y="${y + 18}" class="term">t${state.term}</text>`);
      runStart = sample.timeMs;
    }
  }
  // Commit progress: the highest commit index over time.
  const chartTop = top + report.nodes * lane + 20;
  const maxCommit = Math.max(1, ...report.samples.map((s) => Math.max(...s.nodes.map((n) => n.commitIndex))));
  const points = report.samples.map((s) => `${x(s.timeMs).toFixed(1)},${(chartTop + chartHeight - (chartHeight * Math.max(...s.nodes.map((n) => n.commitIndex))) / maxCommit).toFixed(1)}`);
  parts.push(`<text x="8" y="${chartTop + 12}" class="label">commit</text>`);
  parts.push(`<rect x="${left}" y="${chartTop}" width="${width - left - 10}" height="${chartHeight}" fill="none" stroke="#cfd8dc"/>`);
  if (points.length > 0) parts.push(`<polyline points="${points.join(' ')}" fill="none" stroke="#1565c0" stroke-width="1.5"/>`);
  parts.push(`<text x="${left + 4}" y="${chartTop + 12}" class="axis">${maxCommit}</text>`);
  // Violations: a red mark on each node involved.
  for (const violation of report.violations) {
    const nodes = violation.nodes.length > 0 ? violation.nodes : Array.from({ length: report.nodes }, (_, i) => i + 1);
    for (const node of nodes) {
      const y = top + (node - 1) * lane + lane / 2;
      parts.push(`<text x="${x(violation.timeMs) - 5}" y="${y + 5}" class="violation"><title>${escape(violation.text)}</title>✖</text>`);
    }
  }
  for (const violation of report.historyViolations) {
    parts.push(`<text x="${x(violation.timeMs) - 5}" y="${chartTop + chartHeight - 4}" class="violation"><title>${escape(violation.text)}</title>✖</text>`);
  }
  // Time axis.
  const axisY = chartTop + chartHeight + 18;
  const stepMs = endMs > 30_000 ? 10_000 : endMs > 10_000 ? 2000 : 1000;
  for (let ms = 0; ms <= endMs; ms += stepMs) parts.push(`<text x="${x(ms)}" y="${axisY}" class="axis">${ms / 1000}s</text>`);
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">\n${parts.join('\n')}\n</svg>`;
}

function legend(): string {
  const items = Object.entries(ROLE_COLOURS).map(([role, colour]) => `<span><i style="background:${colour}"></i>${role}</span>`);
  items.push('<span><i style="background:#e53935;opacity:.5"></i>fault</span>', '<span><i style="background:#e8f5e9"></i>healed</span>', '<span style="color:#c62828">✖ violation</span>');
  return `<p class="legend">${items.join(' ')}</p>`;
}

/** A self-contained HTML page in the reports' style. */
export function page(title: string, body: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escape(title)}</title>
<style>
body { font: 14px/1.4 system-ui, sans-serif; margin: 24px; color: #263238; }
code { font-size: 13px; }
.pass { color: #2e7d32; } .fail { color: #c62828; }
table { border-collapse: collapse; } td, th { border-bottom: 1px solid #eceff1; padding: 4px 10px; text-align: left; }
svg text.label { font: 12px sans-serif; fill: #37474f; } svg text.term { font: 10px sans-serif; fill: #fff; }
svg text.axis { font: 10px sans-serif; fill: #78909c; } svg text.violation { font: 14px sans-serif; fill: #c62828; }
.legend span { margin-right: 14px; } .legend i { display: inline-block; width: 12px; height: 12px; margin-right: 4px; vertical-align: -1px; }
</style></head><body>
${body}
</body></html>
`;
}

export function escape(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}
