// Reports of scenario runs: <dir>/<scenario>-<seed>.json, everything a
// replay or a person needs, and <dir>/<scenario>-<seed>.html, a page with an
// SVG timeline (sim/report-timeline.ts) that opens in any browser without a
// network. <dir>/index.html lists every report in the folder
// (sim/report-index.ts).

import * as fs from 'node:fs';
import * as path from 'node:path';
import { formatViolation } from './checker.js';
import { describeFault } from './faults.js';
import { formatHistoryViolation } from './history-checker.js';
import { ackSeries, ackStalls, leaderlessStretches, QUIET_MS, type AckSeries, type ReportFault, type Unavailable } from './report-lanes.js';
import { BAND_STYLES, escapeXml, ROLE_COLOURS, timelineSvg } from './report-timeline.js';
import { runPassed, type SimRunResult, type StateSample } from './run.js';
import type { Scenario, UnmetExpectation } from './scenario.js';

export const REPORT_FORMAT = 'chorus-report';
/** Version 2 added the fault actions and their targets, clocks, acknowledgements, unavailability, timed expectations, date and origin. */
export const REPORT_VERSION = 2;
/** The versions `chorus sim replay` still reads: it needs only the scenario file, the seed and the trace hash, which every version has. */
const REPLAYABLE_VERSIONS: readonly number[] = [1, 2];

/** Which command wrote a report, for the index. */
export type ReportOrigin = 'sim run' | 'sim run all' | 'sim sweep';

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
  /** When the report was written (ISO 8601, wall clock) and by which command; set by writeReport. */
  readonly writtenAt?: string;
  readonly origin?: ReportOrigin;
  readonly faults: readonly ReportFault[];
  readonly elections: readonly { readonly term: number; readonly node: number; readonly timeMs: number }[];
  readonly violations: readonly { readonly timeMs: number; readonly nodes: readonly number[]; readonly text: string }[];
  readonly historyViolations: readonly { readonly timeMs: number; readonly text: string }[];
  readonly liveness: readonly string[];
  readonly unmetExpectations: readonly UnmetExpectation[];
  readonly clients: Record<string, number>;
  readonly samples: readonly StateSample[];
  /** Publish acknowledgements per bucket of simulated time. */
  readonly acks: AckSeries;
  /** Stretches with no leader, and with publishes waiting and none acknowledged for QUIET_MS or more. */
  readonly unavailable: readonly Unavailable[];
  readonly replay: string;
}

export function buildReport(scenario: Scenario, seed: number, result: SimRunResult, unmet: readonly UnmetExpectation[]): Report {
  const events = result.broker?.history.events ?? [];
  const endMs = Math.max(result.simulatedMs, scenario.durationMs);
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
    faults: result.faults.map((fault, i) => {
      const struck = result.faultTargets[i];
      return { atMs: fault.atMs, fault: describeFault(fault.action, struck), action: fault.action, ...(struck === undefined ? {} : { struck }) };
    }),
    elections: result.elections.map((election) => ({ term: election.term, node: election.node, timeMs: election.timeUs / 1000 })),
    violations: result.violations.map((violation) => ({ timeMs: violation.timeUs / 1000, nodes: violation.nodes, text: formatViolation(violation) })),
    historyViolations: (result.broker?.violations ?? []).map((violation) => ({ timeMs: violation.timeMs ?? 0, text: formatHistoryViolation(violation) })),
    // A run a core's exception stopped has that as its first problem.
    liveness: [...(result.exception === undefined ? [] : [`exception: ${result.exception}`]), ...result.liveness.problems],
    unmetExpectations: unmet,
    clients: { ...(result.broker?.stats ?? {}) },
    samples: result.samples,
    acks: ackSeries(events, endMs),
    unavailable: [...leaderlessStretches(result.samples), ...ackStalls(events, result.simulatedMs)].sort((a, b) => a.fromMs - b.fromMs),
    replay: replayCommand('reports', scenario.name, seed),
  };
}

const reportName = (scenario: string, seed: number): string => `${scenario}-${seed}`;
const replayCommand = (dir: string, scenario: string, seed: number): string => `npx chorus sim replay ${path.join(dir, `${reportName(scenario, seed)}.json`)}`;

/** Reads a report back for a replay; throws an Error naming what is wrong. */
export function readReport(file: string): Report {
  let parsed: unknown;
  try {
    parsed = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (error) {
    throw new Error(`${file}: not a readable JSON report: ${(error as Error).message}`);
  }
  const report = parsed as Partial<Report>;
  if (report.format !== REPORT_FORMAT) throw new Error(`${file}: not a chorus report (format ${JSON.stringify(report.format)})`);
  if (!REPLAYABLE_VERSIONS.includes(report.version as number)) throw new Error(`${file}: a chorus report of version ${JSON.stringify(report.version)}, which this chorus cannot read (it reads ${REPLAYABLE_VERSIONS.join(', ')})`);
  if (typeof report.file !== 'string' || typeof report.seed !== 'number' || typeof report.traceHash !== 'string') {
    throw new Error(`${file}: the report lacks its scenario file, seed or trace hash`);
  }
  return report as Report;
}

export interface WrittenReport {
  readonly json: string;
  readonly html: string;
  /** Where an earlier report of the same scenario and seed with another trace was moved, so that it is kept. */
  readonly keptAside?: string;
}

/**
 * Writes the JSON and HTML of a report into `dir`, stamped with the date and
 * the command that wrote it; returns their paths. The same scenario and seed
 * again replaces its report when the trace is the same (the same run); an
 * earlier report with another trace (another build, an edited scenario) is
 * moved aside to <name>~<its trace hash> rather than lost.
 */
export function writeReport(dir: string, report: Report, stamp: { origin?: ReportOrigin; writtenAt?: Date } = {}): WrittenReport {
  fs.mkdirSync(dir, { recursive: true });
  const name = reportName(report.scenario, report.seed);
  const base = path.join(dir, name);
  const keptAside = keepEarlierTrace(dir, name, report.traceHash);
  const stamped: Report = {
    ...report,
    writtenAt: (stamp.writtenAt ?? new Date()).toISOString(),
    ...(stamp.origin === undefined ? {} : { origin: stamp.origin }),
    replay: replayCommand(dir, report.scenario, report.seed),
  };
  fs.writeFileSync(`${base}.json`, `${JSON.stringify(stamped, null, 1)}\n`);
  fs.writeFileSync(`${base}.html`, renderReportHtml(stamped));
  return { json: `${base}.json`, html: `${base}.html`, ...(keptAside === undefined ? {} : { keptAside }) };
}

/** Moves an earlier report of this name aside when its trace differs; returns its new JSON path. */
function keepEarlierTrace(dir: string, name: string, traceHash: string): string | undefined {
  const json = path.join(dir, `${name}.json`);
  let earlier: Report;
  try {
    earlier = readReport(json);
  } catch {
    return undefined;
  }
  if (earlier.traceHash === traceHash) return undefined;
  const asideName = `${name}~${earlier.traceHash}`;
  const aside = path.join(dir, asideName);
  // Its replay command must name the file where it now lives.
  const moved: Report = { ...earlier, replay: `npx chorus sim replay ${aside}.json` };
  fs.writeFileSync(`${aside}.json`, `${JSON.stringify(moved, null, 1)}\n`);
  const html = path.join(dir, `${name}.html`);
  if (earlier.version === REPORT_VERSION) fs.writeFileSync(`${aside}.html`, renderReportHtml(moved));
  else if (fs.existsSync(html)) fs.renameSync(html, `${aside}.html`);
  fs.rmSync(json);
  return `${aside}.json`;
}

// ---- HTML.

const seconds = (ms: number): string => `${(ms / 1000).toFixed(2)} s`;
const verdict = (passed: boolean): string => (passed ? '<span class="pass">PASS</span>' : '<span class="fail">FAIL</span>');

export function renderReportHtml(report: Report): string {
  const written = report.writtenAt === undefined ? '' : `, written ${escape(report.writtenAt.replace('T', ' ').replace(/\.\d+Z$/, ' UTC'))}${report.origin === undefined ? '' : ` by <code>chorus ${escape(report.origin)}</code>`}`;
  const summary = [
    `<p class="nav"><a href="index.html">all reports</a></p>`,
    `<p>${escape(report.description)}</p>`,
    `<p><b>${verdict(report.passed)}</b> — seed ${report.seed}, ${report.nodes} nodes, ${(report.durationMs / 1000).toFixed(1)} s simulated, healed at ${(report.healAtMs / 1000).toFixed(1)} s, ${report.events} events, trace hash <code>${escape(report.traceHash)}</code>${written}</p>`,
    `<p>Clients: ${Object.entries(report.clients).map(([key, value]) => `${escape(key)} ${value}`).join(', ') || 'none'}. Elections: ${report.elections.map((e) => `term ${e.term} n${e.node} at ${(e.timeMs / 1000).toFixed(2)} s`).join('; ') || 'none'}.</p>`,
    `<p>Replay: <code>${escape(report.replay)}</code></p>`,
  ];
  const problems = [
    ...report.violations.map((v) => `${seconds(v.timeMs)}: ${v.text}`),
    ...report.historyViolations.map((v) => `${seconds(v.timeMs)}: ${v.text}`),
    ...report.liveness,
    ...report.unmetExpectations.map((e) => `unmet at ${seconds(e.atMs)}: ${e.text}`),
  ];
  const problemList = problems.length === 0 ? '<p class="pass">No violations; every expectation met.</p>' : `<ul class="fail">${problems.slice(0, 50).map((text) => `<li>${escape(text)}</li>`).join('')}</ul>`;
  const body = [
    `<h1>${escape(report.scenario)} <small>seed ${report.seed}</small></h1>`,
    ...summary,
    `<h2>Problems</h2>`,
    problemList,
    `<h2>Timeline</h2>`,
    `<p class="hint">Hover over a band, a mark or a stretch of a lane for its details. Time runs left to right; the green shade is the healed stretch.</p>`,
    timelineSvg(report),
    legend(),
    faultTable(report),
  ];
  return page(`${report.scenario} (seed ${report.seed})`, body.join('\n'));
}

function faultTable(report: Report): string {
  const rows = report.faults.map((f) => `<tr><td>${seconds(f.atMs)}</td><td>${escape(f.fault)}</td></tr>`).join('');
  return `<details><summary>${report.faults.length} faults, as scheduled (a fault aimed at a role names the node it struck)</summary><table class="faults"><tr><th>at</th><th>fault</th></tr>${rows}</table></details>`;
}

function legend(): string {
  const roles = Object.entries(ROLE_COLOURS).map(([role, colour]) => `<span><i style="background:${colour}"></i>${role}</span>`);
  const bands = Object.values(BAND_STYLES).map((style) => `<span><i style="background:${style.fill};border:1px solid ${style.stroke}"></i>${escape(style.name)}</span>`);
  return [
    `<p class="legend"><b>Roles:</b> ${roles.join(' ')} <span style="color:#c62828">✖ violation</span></p>`,
    `<p class="legend"><b>Bands:</b> ${bands.join(' ')}</p>`,
    `<p class="legend">A lane per node: its role and term, and under it the faults that struck it. "no acks": publishes waited ${QUIET_MS} ms or more and none was acknowledged.</p>`,
  ].join('\n');
}

/** A self-contained HTML page in the reports' style. */
export function page(title: string, body: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>${escape(title)}</title>
<style>
body { font: 14px/1.4 system-ui, sans-serif; margin: 24px; color: #263238; }
h1 small { font-weight: normal; color: #607d8b; }
code { font-size: 13px; }
.pass { color: #2e7d32; } .fail { color: #c62828; }
.hint, .nav { color: #607d8b; }
table { border-collapse: collapse; } td, th { border-bottom: 1px solid #eceff1; padding: 4px 10px; text-align: left; }
table.index td:not(:last-child) { white-space: nowrap; }
svg.timeline { display: block; width: 100%; height: auto; }
svg text { font-family: system-ui, sans-serif; }
svg text.lane-label { font-size: 12px; font-weight: 600; fill: #37474f; } svg text.lane-label.sub { font-size: 10px; font-weight: normal; fill: #78909c; }
svg text.term { font-size: 10px; fill: #fff; } svg text.term.dark { fill: #263238; }
svg text.band-label { font-size: 10px; fill: #263238; } svg text.key { font-size: 11px; font-weight: 600; }
svg text.axis { font-size: 10px; fill: #607d8b; } svg text.violation { font-size: 14px; fill: #c62828; } svg text.met { font-size: 11px; fill: #2e7d32; }
svg g.band:hover rect { stroke-width: 2; }
.legend span { margin-right: 14px; white-space: nowrap; } .legend i { display: inline-block; width: 12px; height: 12px; margin-right: 4px; vertical-align: -1px; box-sizing: border-box; }
</style></head><body>
${body}
</body></html>
`;
}

export const escape = escapeXml;
