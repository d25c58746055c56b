// reports/index.html: every report kept in the folder, newest first, whatever
// command wrote it (`sim run`, `sim run all`, a sweep's failing seeds). It is
// rebuilt from the folder's contents each time a report is written, so it links
// exactly the reports that are there.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { escape, page, REPORT_FORMAT, type Report } from './report.js';

export interface IndexEntry {
  /** The report's file name without .json; its page is the same name with .html. */
  readonly name: string;
  readonly scenario: string;
  readonly seed: number;
  readonly passed: boolean;
  readonly traceHash: string;
  /** When it was written: the report's own stamp, or its file's modification time for a report without one. */
  readonly writtenAt: Date;
  readonly origin: string;
  readonly description: string;
  readonly acknowledged: number;
  readonly elections: number;
  readonly problems: number;
}

/** Reports begin with their format, so a file that does not is passed over without reading it whole. */
const SNIFF_BYTES = 64;

function looksLikeReport(file: string): boolean {
  const fd = fs.openSync(file, 'r');
  try {
    const head = Buffer.alloc(SNIFF_BYTES);
    const read = fs.readSync(fd, head, 0, SNIFF_BYTES, 0);
    return head.subarray(0, read).toString('utf8').includes(`"${REPORT_FORMAT}"`);
  } finally {
    fs.closeSync(fd);
  }
}

/** Every report in `dir`, newest first; files that are not reports (campaign parts, histories) are left out. */
export function indexEntries(dir: string): IndexEntry[] {
  if (!fs.existsSync(dir)) return [];
  const entries: IndexEntry[] = [];
  for (const fileName of fs.readdirSync(dir)) {
    const file = path.join(dir, fileName);
    if (!fileName.endsWith('.json') || !fs.statSync(file).isFile() || !looksLikeReport(file)) continue;
    let report: Partial<Report>;
    try {
      report = JSON.parse(fs.readFileSync(file, 'utf8')) as Partial<Report>;
    } catch {
      continue;
    }
    if (report.format !== REPORT_FORMAT || typeof report.scenario !== 'string' || typeof report.seed !== 'number') continue;
    entries.push(entryOf(fileName.slice(0, -'.json'.length), report, fs.statSync(file).mtime));
  }
  return entries.sort((a, b) => b.writtenAt.getTime() - a.writtenAt.getTime() || a.name.localeCompare(b.name));
}

function entryOf(name: string, report: Partial<Report>, modified: Date): IndexEntry {
  const stamped = report.writtenAt === undefined ? undefined : new Date(report.writtenAt);
  return {
    name,
    scenario: report.scenario!,
    seed: report.seed!,
    passed: report.passed === true,
    traceHash: report.traceHash ?? '',
    writtenAt: stamped !== undefined && !Number.isNaN(stamped.getTime()) ? stamped : modified,
    origin: report.origin ?? '',
    description: report.description ?? '',
    acknowledged: report.clients?.published ?? 0,
    elections: report.elections?.length ?? 0,
    problems: (report.violations?.length ?? 0) + (report.historyViolations?.length ?? 0) + (report.liveness?.length ?? 0) + (report.unmetExpectations?.length ?? 0),
  };
}

/** Writes dir/index.html listing every report in dir; returns its path. */
export function writeIndex(dir: string): string {
  fs.mkdirSync(dir, { recursive: true });
  const entries = indexEntries(dir);
  const failed = entries.filter((entry) => !entry.passed).length;
  const rows = entries.map((entry) => {
    const date = entry.writtenAt.toISOString().replace('T', ' ').replace(/\.\d+Z$/, '');
    const status = entry.passed ? '<span class="pass">PASS</span>' : '<span class="fail">FAIL</span>';
    return (
      `<tr><td>${date}</td><td><a href="${encodeURIComponent(entry.name)}.html">${escape(entry.scenario)}</a></td><td>${entry.seed}</td><td>${status}</td>` +
      `<td>${entry.problems}</td><td>${entry.acknowledged}</td><td>${entry.elections}</td><td>${escape(entry.origin)}</td><td><code>${escape(entry.traceHash)}</code></td><td>${escape(entry.description)}</td></tr>`
    );
  });
  const html = page(
    'chorus scenario reports',
    `<h1>chorus scenario reports</h1>
<p>${entries.length} report${entries.length === 1 ? '' : 's'} in this folder, ${failed} failing, newest first (dates in UTC). A run of the same scenario and seed replaces its report when the trace is the same; an earlier one with another trace is kept beside it as <code>&lt;name&gt;~&lt;its trace hash&gt;</code>.</p>
<table class="index"><tr><th>written</th><th>scenario</th><th>seed</th><th>result</th><th>problems</th><th>acknowledged</th><th>elections</th><th>by</th><th>trace hash</th><th>what it does</th></tr>
${rows.join('\n')}
</table>`,
  );
  const file = path.join(dir, 'index.html');
  fs.writeFileSync(file, html);
  return file;
}
