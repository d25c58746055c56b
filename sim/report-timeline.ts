// The SVG timeline of a report: lanes stacked top to bottom (faults on the
// whole cluster, unmet expectations, one lane per node with its role and the
// faults that struck it, every clock's distance from true time, publish
// acknowledgements, unavailability, the commit index), sharing one time axis.
// The picture is drawn in a fixed coordinate space (the viewBox) and scales to
// the width of the page.

import { faultBands, QUIET_MS, type BandCategory, type FaultBand, type Unavailable } from './report-lanes.js';
import type { Report } from './report.js';

const WIDTH = 1200;
const LEFT = 140;
const RIGHT = 40;
const PLOT_WIDTH = WIDTH - LEFT - RIGHT;
const ROW = 15;
const ROLE_ROW = 20;
const LANE_GAP = 6;

export const ROLE_COLOURS: Readonly<Record<string, string>> = {
  leader: '#2e7d32',
  candidate: '#ef6c00',
  precandidate: '#ffb74d',
  follower: '#b0bec5',
  down: '#37474f',
};

/** Fill and outline of each kind of band, and what the legend calls it. */
export const BAND_STYLES: Readonly<Record<BandCategory | 'expectation' | 'no-leader' | 'no-acks', { fill: string; stroke: string; name: string }>> = {
  down: { fill: '#ef9a9a', stroke: '#c62828', name: 'node down (crash, wipe, bounce)' },
  links: { fill: '#ce93d8', stroke: '#6a1b9a', name: 'links cut (isolate, partition, one-way)' },
  network: { fill: '#ffe082', stroke: '#ff8f00', name: 'network loss, duplication, delay' },
  disk: { fill: '#bcaaa4', stroke: '#4e342e', name: 'disk slow or full' },
  clock: { fill: '#80cbc4', stroke: '#00695c', name: 'clock set, drifting or jumped' },
  mark: { fill: '#546e7a', stroke: '#546e7a', name: 'restart, reconnect, heal' },
  expectation: { fill: '#ffcdd2', stroke: '#c62828', name: 'unmet expectation' },
  'no-leader': { fill: '#ffcc80', stroke: '#e65100', name: 'no leader' },
  'no-acks': { fill: '#ef9a9a', stroke: '#b71c1c', name: `publishes waiting, none acknowledged for ${QUIET_MS} ms or more` },
};

/** One colour per node for the clock lines; enough for the largest clusters the scenarios use. */
const NODE_COLOURS = ['#1565c0', '#c62828', '#2e7d32', '#6a1b9a', '#ef6c00', '#00838f', '#5d4037', '#ad1457', '#827717'];

/** A rough width of text at the band label size, for packing labels without a browser. */
const textWidth = (text: string): number => text.length * 5.6 + 4;
const seconds = (ms: number): string => `${(ms / 1000).toFixed(2)} s`;

interface Scale {
  readonly x: (ms: number) => number;
  readonly endMs: number;
}

/** The timeline of a report as an SVG element. */
export function timelineSvg(report: Report): string {
  const endMs = Math.max(report.simulatedMs, report.durationMs, 1);
  const scale: Scale = { x: (ms) => LEFT + (PLOT_WIDTH * Math.min(Math.max(ms, 0), endMs)) / endMs, endMs };
  const bands = faultBands(report.faults, report.nodes, report.healAtMs, endMs);
  const lanes: Lane[] = [
    bandLane('whole cluster', 'cluster', bands.filter((band) => band.lane === 'cluster'), scale),
    expectationLane(report, scale),
    ...Array.from({ length: report.nodes }, (_, i) => nodeLane(report, i + 1, bands.filter((band) => band.lane === i + 1), scale)),
    clockLane(report, scale),
    ackLane(report, scale),
    unavailableLane(report, scale),
    commitLane(report, scale),
  ];
  const parts: string[] = [];
  let y = 8;
  const placed: string[] = [];
  for (const lane of lanes) {
    placed.push(`<g class="lane" data-lane="${lane.id}" transform="translate(0 ${y})">${lane.body}</g>`);
    y += lane.height + LANE_GAP;
  }
  const plotBottom = y;
  // Behind everything: the healed stretch and the grid of the time axis.
  parts.push(`<rect class="healed" x="${scale.x(report.healAtMs)}" y="0" width="${scale.x(endMs) - scale.x(report.healAtMs)}" height="${plotBottom}" fill="#f1f8e9"><title>healed from ${seconds(report.healAtMs)}: every fault undone</title></rect>`);
  const axis = timeAxis(scale, plotBottom);
  parts.push(axis.grid, ...placed, axis.labels);
  const height = plotBottom + 24;
  return `<svg class="timeline" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${WIDTH} ${height}" width="100%" preserveAspectRatio="xMinYMin meet" role="img" aria-label="timeline of ${escapeXml(report.scenario)}, seed ${report.seed}">\n${parts.join('\n')}\n</svg>`;
}

interface Lane {
  readonly id: string;
  readonly height: number;
  readonly body: string;
}

function laneLabel(lines: readonly string[], y = 12): string {
  return lines.map((line, i) => `<text class="lane-label${i > 0 ? ' sub' : ''}" x="6" y="${y + i * 12}">${escapeXml(line)}</text>`).join('');
}

/** The name of one row of a lane, set against the plot's left edge. */
function rowLabel(text: string, top: number): string {
  return `<text class="lane-label sub" x="${LEFT - 5}" y="${top + 11}" text-anchor="end">${escapeXml(text)}</text>`;
}

/** Bands packed into as few rows as keep every label clear of the others, each labelled and with a hover title. */
function packedBands(bands: readonly (FaultBand & { readonly markAtMs?: number })[], scale: Scale, styleOf: (band: FaultBand) => { fill: string; stroke: string }, top: number): { svg: string; rows: number } {
  const rowEnds: number[] = [];
  const out: string[] = [];
  for (const band of bands) {
    const x0 = scale.x(band.fromMs);
    const x1 = Math.max(scale.x(band.toMs), x0 + 2);
    const width = textWidth(band.label);
    // A label goes inside its band when it fits, after it when not, and never off the right edge.
    const labelX = Math.min(x1 - x0 >= width + 4 ? x0 + 4 : x1 + 3, WIDTH - 2 - width);
    const from = Math.min(x0, labelX);
    const to = Math.max(x1, labelX + width);
    let row = rowEnds.findIndex((end) => end + 3 <= from);
    if (row < 0) row = rowEnds.push(0) - 1;
    rowEnds[row] = to;
    const y = top + row * ROW;
    const style = styleOf(band);
    const shape =
      band.fromMs === band.toMs
        ? `<rect x="${(x0 - 1).toFixed(1)}" y="${y + 1}" width="2.5" height="${ROW - 2}" fill="${style.stroke}"/>`
        : `<rect x="${x0.toFixed(1)}" y="${y + 1}" width="${(x1 - x0).toFixed(1)}" height="${ROW - 2}" fill="${style.fill}" stroke="${style.stroke}" stroke-width="0.8" fill-opacity="0.85"/>`;
    const mark = band.markAtMs === undefined ? '' : `<rect x="${(scale.x(band.markAtMs) - 1).toFixed(1)}" y="${y}" width="2.5" height="${ROW}" fill="${style.stroke}"/>`;
    out.push(`<g class="band" data-category="${band.category}"><title>${escapeXml(band.title)}</title>${shape}${mark}<text class="band-label" x="${labelX.toFixed(1)}" y="${y + 11}">${escapeXml(band.label)}</text></g>`);
  }
  return { svg: out.join(''), rows: Math.max(1, rowEnds.length) };
}

function bandLane(title: string, id: string, bands: readonly FaultBand[], scale: Scale): Lane {
  const packed = packedBands(bands, scale, (band) => BAND_STYLES[band.category], 0);
  const height = packed.rows * ROW;
  return { id, height, body: `${laneLabel([title])}${stripe(height)}${packed.svg}` };
}

/** A faint background behind a lane's plot, so lanes read as rows. */
function stripe(height: number, y = 0): string {
  return `<rect x="${LEFT}" y="${y}" width="${PLOT_WIDTH}" height="${height}" fill="#eceff1" fill-opacity="0.45"/>`;
}

function expectationLane(report: Report, scale: Scale): Lane {
  // Each unmet expectation: the stretch it was about, with a tick where it became unmet.
  const unmet = report.unmetExpectations.map((expectation) => ({
    lane: 'cluster' as const,
    fromMs: expectation.fromMs,
    toMs: expectation.toMs,
    markAtMs: expectation.atMs,
    label: `✖ ${expectation.text}`,
    category: 'mark' as const,
    title: `${seconds(expectation.fromMs)}–${seconds(expectation.toMs)}, unmet at ${seconds(expectation.atMs)}: ${expectation.text}`,
  }));
  // The liveness checks are judged after the run, so their marks stand at its end.
  const liveness: FaultBand[] = report.liveness.map((text) => ({ lane: 'cluster', fromMs: report.simulatedMs, toMs: report.simulatedMs, label: `✖ ${text}`, category: 'mark', title: `judged after the run: ${text}` }));
  const all = [...unmet, ...liveness];
  if (all.length === 0) {
    return { id: 'expectations', height: ROW, body: `${laneLabel(['expectations'])}${stripe(ROW)}<text class="met" x="${LEFT + 4}" y="11">every expectation met, liveness checks passed</text>` };
  }
  const packed = packedBands(all, scale, () => BAND_STYLES.expectation, 0);
  const height = packed.rows * ROW;
  return { id: 'expectations', height, body: `${laneLabel(['expectations'])}${rowLabel('unmet', 0)}${stripe(height)}<g class="unmet">${packed.svg}</g>` };
}

function nodeLane(report: Report, node: number, bands: readonly FaultBand[], scale: Scale): Lane {
  const parts: string[] = [laneLabel([`n${node}`], 14), stripe(ROLE_ROW)];
  // A state runs from the first sample that shows it to the first that shows the next one.
  let runStart = 0;
  const samples = report.samples;
  for (let i = 0; i < samples.length; i++) {
    const state = samples[i]!.nodes[node - 1]!;
    const next = samples[i + 1]?.nodes[node - 1];
    if (next !== undefined && next.role === state.role && next.term === state.term) continue;
    const toMs = samples[i + 1]?.timeMs ?? samples[i]!.timeMs;
    const x0 = scale.x(runStart);
    const width = Math.max(1, scale.x(toMs) - x0);
    const what = `n${node} ${state.role}${state.role === 'down' ? '' : `, term ${state.term}`}, commit ${state.commitIndex}, ${seconds(runStart)}–${seconds(toMs)}`;
    parts.push(`<rect class="role" x="${x0.toFixed(1)}" y="2" width="${width.toFixed(1)}" height="${ROLE_ROW - 4}" fill="${ROLE_COLOURS[state.role] ?? '#9e9e9e'}"><title>${escapeXml(what)}</title></rect>`);
    if (width > 22 && state.role !== 'down') parts.push(`<text class="term${state.role === 'follower' ? ' dark' : ''}" x="${(x0 + 3).toFixed(1)}" y="${ROLE_ROW - 6}">t${state.term}</text>`);
    runStart = toMs;
  }
  for (const violation of report.violations) {
    if (violation.nodes.length > 0 && !violation.nodes.includes(node)) continue;
    parts.push(`<text class="violation" x="${(scale.x(violation.timeMs) - 5).toFixed(1)}" y="${ROLE_ROW - 4}"><title>${escapeXml(`${seconds(violation.timeMs)}: ${violation.text}`)}</title>✖</text>`);
  }
  const packed = packedBands(bands, scale, (band) => BAND_STYLES[band.category], ROLE_ROW);
  const strip = packed.rows * ROW;
  parts.push(rowLabel('faults', ROLE_ROW), stripe(strip, ROLE_ROW));
  parts.push(packed.svg);
  return { id: `n${node}`, height: ROLE_ROW + strip, body: parts.join('') };
}

/** Every node's clock as its distance from true time: a clock fault shows as a step or a slope. */
function clockLane(report: Report, scale: Scale): Lane {
  const height = 96;
  const values = report.samples.flatMap((sample) => sample.nodes.map((node) => node.clockAheadMs));
  const top = Math.max(0, ...values);
  const bottom = Math.min(0, ...values);
  const span = Math.max(top - bottom, 1);
  const y = (ms: number): number => 6 + ((height - 12) * (top - ms)) / span;
  const parts = [laneLabel(['clocks', 'ahead of true time']), stripe(height)];
  for (let node = 1; node <= report.nodes; node++) {
    parts.push(`<text class="key" x="${6 + ((node - 1) % 6) * 22}" y="${40 + Math.floor((node - 1) / 6) * 12}" fill="${nodeColour(node)}">n${node}</text>`);
  }
  parts.push(`<line x1="${LEFT}" x2="${LEFT + PLOT_WIDTH}" y1="${y(0)}" y2="${y(0)}" stroke="#90a4ae" stroke-dasharray="3 3"/>`);
  for (const [value, anchorY] of [[top, y(top) + 9], [0, y(0) - 2], [bottom, y(bottom) - 2]] as const) {
    if (value === 0 && (top === 0 || bottom === 0) && value !== top) continue;
    parts.push(`<text class="axis" x="${LEFT + 3}" y="${anchorY.toFixed(1)}">${formatOffset(value)}</text>`);
  }
  for (let node = 1; node <= report.nodes; node++) {
    const points = report.samples.map((sample) => `${scale.x(sample.timeMs).toFixed(1)},${y(sample.nodes[node - 1]!.clockAheadMs).toFixed(1)}`);
    if (points.length > 0) parts.push(`<polyline class="clock" data-node="${node}" points="${points.join(' ')}" fill="none" stroke="${nodeColour(node)}" stroke-width="1.4"><title>n${node}'s clock minus true time</title></polyline>`);
  }
  return { id: 'clocks', height, body: parts.join('') };
}

const nodeColour = (node: number): string => NODE_COLOURS[(node - 1) % NODE_COLOURS.length]!;

function formatOffset(ms: number): string {
  const sign = ms > 0 ? '+' : ms < 0 ? '−' : '';
  const size = Math.abs(ms);
  return size >= 1000 ? `${sign}${(size / 1000).toFixed(1)} s` : `${sign}${size.toFixed(0)} ms`;
}

/** Publish acknowledgements per bucket of time: a stall is a gap in the bars. */
function ackLane(report: Report, scale: Scale): Lane {
  const height = 56;
  const acks = report.acks;
  const most = Math.max(1, ...acks.counts);
  const parts = [laneLabel(['publishes acked', `per ${acks.bucketMs >= 1000 ? `${acks.bucketMs / 1000} s` : `${acks.bucketMs} ms`}`]), stripe(height)];
  acks.counts.forEach((count, i) => {
    if (count === 0) return;
    const x0 = scale.x(i * acks.bucketMs);
    const barHeight = ((height - 4) * count) / most;
    parts.push(`<rect class="ack" x="${x0.toFixed(1)}" y="${(height - barHeight).toFixed(1)}" width="${Math.max(0.6, scale.x((i + 1) * acks.bucketMs) - x0 - 0.4).toFixed(1)}" height="${barHeight.toFixed(1)}" fill="#43a047"><title>${count} acknowledged ${seconds(i * acks.bucketMs)}–${seconds((i + 1) * acks.bucketMs)}</title></rect>`);
  });
  parts.push(`<text class="axis" x="${LEFT + 3}" y="10">${most}</text>`);
  return { id: 'acks', height, body: parts.join('') };
}

/** Two rows: the stretches with no leader, and those where publishes waited and none was acknowledged. */
function unavailableLane(report: Report, scale: Scale): Lane {
  const asBand = (stretch: Unavailable): FaultBand => {
    const length = `${((stretch.toMs - stretch.fromMs) / 1000).toFixed(1)} s`;
    const what = stretch.why === 'no-leader' ? 'no node was leader' : 'publishes waited and none was acknowledged';
    return { lane: 'cluster', fromMs: stretch.fromMs, toMs: stretch.toMs, label: length, category: 'mark', title: `${seconds(stretch.fromMs)}–${seconds(stretch.toMs)} (${length}): ${what}` };
  };
  const leaderless = packedBands(report.unavailable.filter((s) => s.why === 'no-leader').map(asBand), scale, () => BAND_STYLES['no-leader'], 0);
  const stalls = packedBands(report.unavailable.filter((s) => s.why === 'no-acks').map(asBand), scale, () => BAND_STYLES['no-acks'], leaderless.rows * ROW);
  const height = (leaderless.rows + stalls.rows) * ROW;
  const labels = `${laneLabel(['unavailable'])}${rowLabel('no leader', 0)}${rowLabel('no acks', leaderless.rows * ROW)}`;
  return { id: 'unavailable', height, body: `${labels}${stripe(height)}<g data-row="no-leader">${leaderless.svg}</g><g data-row="no-acks">${stalls.svg}</g>` };
}

function commitLane(report: Report, scale: Scale): Lane {
  const height = 60;
  const highest = (sample: Report['samples'][number]): number => Math.max(...sample.nodes.map((n) => n.commitIndex));
  const most = Math.max(1, ...report.samples.map(highest));
  const points = report.samples.map((s) => `${scale.x(s.timeMs).toFixed(1)},${(height - ((height - 4) * highest(s)) / most).toFixed(1)}`);
  const parts = [laneLabel(['commit index', 'highest on any node']), stripe(height)];
  if (points.length > 0) parts.push(`<polyline points="${points.join(' ')}" fill="none" stroke="#1565c0" stroke-width="1.5"/>`);
  parts.push(`<text class="axis" x="${LEFT + 3}" y="10">${most}</text>`);
  for (const violation of report.historyViolations) {
    parts.push(`<text class="violation" x="${(scale.x(violation.timeMs) - 5).toFixed(1)}" y="${height - 4}"><title>${escapeXml(`${seconds(violation.timeMs)}: ${violation.text}`)}</title>✖</text>`);
  }
  return { id: 'commit', height, body: parts.join('') };
}

/** Vertical grid lines behind the lanes, and the labels under them, every one inside the picture. */
function timeAxis(scale: Scale, bottom: number): { grid: string; labels: string } {
  const stepMs = niceStep(scale.endMs);
  const grid: string[] = [];
  const labels: string[] = [];
  for (let ms = 0; ms <= scale.endMs + 1e-6; ms += stepMs) {
    const x = scale.x(ms);
    grid.push(`<line x1="${x.toFixed(1)}" x2="${x.toFixed(1)}" y1="0" y2="${bottom}" stroke="#cfd8dc" stroke-width="0.6"/>`);
    labels.push(`<text class="axis tick" x="${x.toFixed(1)}" y="${bottom + 14}" text-anchor="middle">${+(ms / 1000).toFixed(2)} s</text>`);
  }
  return { grid: `<g class="grid">${grid.join('')}</g>`, labels: `<g class="time-axis">${labels.join('')}</g>` };
}

function niceStep(endMs: number): number {
  for (const step of [500, 1000, 2000, 5000, 10_000, 20_000, 30_000, 60_000, 120_000, 300_000]) if (endMs / step <= 12) return step;
  return 600_000;
}

export function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}
