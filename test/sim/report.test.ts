// The report pages without a browser: the lanes' data (fault bands, stalls,
// leaderless stretches) from hand-made inputs, the SVG and HTML of real
// scenario runs, and the index of a folder of reports.

import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runScenario } from '../../src/cli/sim-scenarios.js';
import { describeFault, EVERY_FAULT_KIND, randomFault, type FaultAction } from '../../sim/faults.js';
import { SimRandom } from '../../sim/random.js';
import type { HistoryEvent } from '../../sim/history.js';
import { indexEntries, writeIndex } from '../../sim/report-index.js';
import { ackStalls, faultBands, leaderlessStretches, QUIET_MS, type FaultBand, type ReportFault } from '../../sim/report-lanes.js';
import { readReport, renderReportHtml, writeReport, type Report } from '../../sim/report.js';
import { loadScenario, parseScenario } from '../../sim/scenario.js';

const fault = (atMs: number, action: FaultAction, struck?: number | null): ReportFault => ({ atMs, action, fault: describeFault(action, struck), ...(struck === undefined ? {} : { struck }) });
const onLane = (bands: readonly FaultBand[], lane: number | 'cluster'): FaultBand[] => bands.filter((band) => band.lane === lane);

describe('fault bands', () => {
  it('have a band or a mark for every fault kind the fuzzer or a scenario may draw', () => {
    const random = SimRandom.stream(1, 'every-kind');
    for (const kind of EVERY_FAULT_KIND) {
      const action = randomFault(random, 5, kind);
      const bands = faultBands([fault(1000, action, ['crash-leader', 'isolate-leader', 'crash-follower', 'wipe-follower'].includes(kind) ? 2 : undefined)], 5, 8000, 12_000);
      expect(bands.length, kind).toBeGreaterThan(0);
    }
  });

  it('keep an isolated node cut through a later partition, which replaces only the partition before it', () => {
    const bands = faultBands([fault(1000, { kind: 'isolate', node: 1 }), fault(2000, { kind: 'partition', groups: [[1, 2], [3]] }), fault(3000, { kind: 'partition', groups: [[1], [2, 3]] })], 3, 8000, 12_000);
    expect(onLane(bands, 1).find((band) => band.label === 'isolated')).toMatchObject({ fromMs: 1000, toMs: 8000 });
    expect(onLane(bands, 'cluster').filter((band) => band.label.startsWith('partition')).map((band) => [band.fromMs, band.toMs])).toEqual([
      [2000, 3000],
      [3000, 8000],
    ]);
  });

  it('draw a fault on one node on that node\'s lane only, until what undoes it', () => {
    const bands = faultBands([fault(1000, { kind: 'crash-leader' }, 3), fault(4000, { kind: 'restart', node: 3 })], 5, 10_000, 12_000);
    const crash = bands.find((band) => band.label === 'crash-leader')!;
    expect(crash).toMatchObject({ lane: 3, fromMs: 1000, toMs: 4000, category: 'down' });
    expect(crash.title).toContain('crash-leader n3');
    for (const lane of [1, 2, 4, 5]) expect(onLane(bands, lane)).toEqual([]);
    expect(onLane(bands, 3).map((band) => band.label)).toEqual(['crash-leader', 'restart']);
  });

  it('say when a fault aimed at a role found no node to strike', () => {
    const bands = faultBands([fault(1000, { kind: 'crash-leader' }, null)], 3, 5000, 6000);
    expect(onLane(bands, 'cluster').map((band) => band.label)).toEqual(['crash-leader: none', 'healed']);
    expect([1, 2, 3].flatMap((lane) => onLane(bands, lane))).toEqual([]);
  });

  it('draw a partition on the cluster lane naming the sides, and on each node with its side, until a heal', () => {
    const bands = faultBands([fault(1000, { kind: 'partition', groups: [[1, 2], [3, 4, 5]] }), fault(3000, { kind: 'heal' })], 5, 10_000, 12_000);
    expect(onLane(bands, 'cluster').map((band) => [band.label, band.fromMs, band.toMs])).toEqual([
      ['partition {n1,n2} | {n3,n4,n5}', 1000, 3000],
      ['heal', 3000, 3000],
      ['healed', 10_000, 10_000],
    ]);
    expect(onLane(bands, 1)[0]).toMatchObject({ label: 'partition: side {n1,n2}', toMs: 3000, category: 'links' });
    expect(onLane(bands, 4)[0]).toMatchObject({ label: 'partition: side {n3,n4,n5}', toMs: 3000 });
  });

  it('put network-wide faults on the cluster lane, and end every fault at the heal', () => {
    const bands = faultBands(
      [fault(500, { kind: 'loss', rate: 0.2 }), fault(600, { kind: 'slow-disk', node: 2, syncMs: 100 }), fault(700, { kind: 'clock-jump', node: 1, jumpMs: -8000 })],
      3,
      5000,
      6000,
    );
    expect(onLane(bands, 'cluster')[0]).toMatchObject({ label: 'loss 20%', fromMs: 500, toMs: 5000, category: 'network' });
    expect(onLane(bands, 2)[0]).toMatchObject({ label: 'slow disk 100ms', toMs: 5000, category: 'disk' });
    expect(onLane(bands, 1)[0]).toMatchObject({ label: 'clock jump -8000ms', fromMs: 700, toMs: 700, category: 'clock' });
  });

  it('end a one-way cut at a heal, labelled on each side by what it cannot do', () => {
    const bands = faultBands([fault(1000, { kind: 'one-way', from: [1], to: [2, 3] }), fault(2000, { kind: 'heal' })], 3, 5000, 6000);
    expect(onLane(bands, 1)[0]).toMatchObject({ label: 'cannot send to n2,n3', toMs: 2000 });
    expect(onLane(bands, 3)[0]).toMatchObject({ label: 'cannot hear n1', toMs: 2000 });
  });
});

const at = (timeMs: number, client: number, kind: 'publish-invoke' | 'publish-ok' | 'publish-timeout', op: number): HistoryEvent =>
  ({ timeMs, client, node: 1, kind, op }) as unknown as HistoryEvent;

describe('unavailability', () => {
  it('is a stretch of QUIET_MS or more with a publish waiting and none acknowledged, kept through a timeout and retry', () => {
    const events = [
      at(0, 1, 'publish-invoke', 1),
      at(10, 1, 'publish-ok', 1),
      at(20, 1, 'publish-invoke', 2),
      at(1520, 1, 'publish-timeout', 2),
      at(1530, 1, 'publish-invoke', 3),
      at(2100, 1, 'publish-ok', 3),
      // A short wait is no stall.
      at(2200, 1, 'publish-invoke', 4),
      at(2200 + QUIET_MS - 1, 1, 'publish-ok', 4),
    ];
    expect(ackStalls(events, 5000)).toEqual([{ fromMs: 20, toMs: 2100, why: 'no-acks' }]);
  });

  it('runs to the end of the run when a publish still waits then', () => {
    expect(ackStalls([at(100, 1, 'publish-invoke', 1)], 3000)).toEqual([{ fromMs: 100, toMs: 3000, why: 'no-acks' }]);
  });

  it('counts the stretches without a leader from the samples', () => {
    const sample = (timeMs: number, leader: boolean) => ({ timeMs, nodes: [{ role: leader ? 'leader' : 'follower', term: 1, commitIndex: 0, clockAheadMs: 0 }] });
    const stretches = leaderlessStretches([sample(100, false), sample(200, true), sample(300, false), sample(400, false), sample(500, true)]);
    expect(stretches).toEqual([
      { fromMs: 0, toMs: 200, why: 'no-leader' },
      { fromMs: 300, toMs: 500, why: 'no-leader' },
    ]);
  });
});

describe('a report page', () => {
  let clockSkew: Report;
  beforeAll(() => {
    clockSkew = runScenario(loadScenario('scenarios/clock-skew.yaml'), 1).outcome.report;
  });

  it('has a lane per node and the cluster, clock, acknowledgement, unavailability and commit lanes, in an SVG that scales', () => {
    const html = renderReportHtml(clockSkew);
    const lanes = [...html.matchAll(/<g class="lane" data-lane="([^"]+)"/g)].map((match) => match[1]);
    expect(lanes).toEqual(['cluster', 'expectations', 'n1', 'n2', 'n3', 'n4', 'n5', 'clocks', 'acks', 'unavailable', 'commit']);
    expect(html).toMatch(/<svg class="timeline"[^>]* viewBox="0 0 1200 \d+" width="100%"/);
    expect(html).not.toMatch(/<svg[^>]* width="\d+"/);
    // Every clock is drawn, and the jumped one reaches +10 s.
    expect(html.match(/<polyline class="clock"/g)).toHaveLength(5);
    expect(Math.max(...clockSkew.samples.map((sample) => sample.nodes[2]!.clockAheadMs))).toBeGreaterThan(9000);
    expect(html).toContain('>clock jump +10000ms</text>');
    expect(html).toContain('>publishes acked</text>');
  });

  it('names the node a crash-leader struck, in the fault list and on that node\'s lane', () => {
    const crash = clockSkew.faults.find((f) => f.action.kind === 'crash-leader')!;
    expect(crash.struck).toEqual(expect.any(Number));
    expect(crash.fault).toBe(`crash-leader n${crash.struck}`);
    const html = renderReportHtml(clockSkew);
    expect(html).toContain(`<td>crash-leader n${crash.struck}</td>`);
    const lane = html.split(`data-lane="n${crash.struck}"`)[1]!.split('<g class="lane"')[0]!;
    expect(lane).toContain('>crash-leader</text>');
  });

  it('marks an unmet expectation on the timeline where it became unmet, with its text', () => {
    const text = readFileSync('scenarios/leader-crash.yaml', 'utf8').replace(/maxUnavailable: \w+/, 'maxUnavailable: 150ms');
    const strict = parseScenario(text, 'scenarios/leader-crash.yaml');
    const report = runScenario(strict, 1).outcome.report;
    expect(report.passed).toBe(false);
    const unmet = report.unmetExpectations[0]!;
    expect(unmet.text).toMatch(/^unavailability: no publish was acknowledged for \d+ ms/);
    expect(unmet.atMs).toBe(unmet.fromMs + 150);
    const html = renderReportHtml(report);
    const lane = html.split('data-lane="expectations"')[1]!.split('<g class="lane"')[0]!;
    expect(lane).toContain(`>✖ ${unmet.text}</text>`);
    expect(lane).toContain(`unmet at ${(unmet.atMs / 1000).toFixed(2)} s`);
  });
});

describe('the index of a report folder', () => {
  let folder: string;
  let report: Report;
  beforeAll(() => {
    folder = mkdtempSync(join(tmpdir(), 'chorus-index-'));
    report = runScenario(loadScenario('scenarios/minority-partition.yaml'), 3).outcome.report;
  });
  afterAll(() => rmSync(folder, { recursive: true, force: true }));

  it('lists every report in the folder, newest first, and links pages that exist', () => {
    writeReport(folder, report, { origin: 'sim run all', writtenAt: new Date('2026-01-01T10:00:00Z') });
    writeReport(folder, { ...report, seed: 9, passed: false }, { origin: 'sim sweep', writtenAt: new Date('2026-01-02T10:00:00Z') });
    writeReport(folder, { ...report, scenario: 'other' }, { origin: 'sim run', writtenAt: new Date('2026-01-01T12:00:00Z') });
    // Files that are not reports stay out of the index.
    writeFileSync(join(folder, 'history.json'), JSON.stringify({ format: 'chorus-history', events: [] }));
    const index = readFileSync(writeIndex(folder), 'utf8');
    expect(indexEntries(folder).map((entry) => [entry.name, entry.origin])).toEqual([
      ['minority-partition-9', 'sim sweep'],
      ['other-3', 'sim run'],
      ['minority-partition-3', 'sim run all'],
    ]);
    const links = [...index.matchAll(/<a href="([^"]+)">/g)].map((match) => match[1]!);
    expect(links).toEqual(['minority-partition-9.html', 'other-3.html', 'minority-partition-3.html']);
    for (const link of links) expect(existsSync(join(folder, link))).toBe(true);
    expect(index).toContain('<td>2026-01-02 10:00:00</td>');
    expect(index).toContain('3 reports in this folder, 1 failing');
  });

  it('keeps an earlier report of the same scenario and seed with another trace, with a replay line that finds it', () => {
    const written = writeReport(folder, { ...report, traceHash: 'ffffffffffffffff' });
    expect(written.keptAside).toBe(join(folder, `minority-partition-3~${report.traceHash}.json`));
    const kept = readReport(written.keptAside!);
    expect(kept.traceHash).toBe(report.traceHash);
    expect(kept.replay).toBe(`npx chorus sim replay ${written.keptAside!}`);
    expect(existsSync(written.keptAside!.replace(/\.json$/, '.html'))).toBe(true);
    // The same trace again replaces its report: nothing more is kept.
    expect(writeReport(folder, { ...report, traceHash: 'ffffffffffffffff' }).keptAside).toBeUndefined();
    expect(indexEntries(folder).map((entry) => entry.name).sort()).toEqual(['minority-partition-3', `minority-partition-3~${report.traceHash}`, 'minority-partition-9', 'other-3']);
  });
});
