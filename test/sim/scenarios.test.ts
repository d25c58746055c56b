import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runScenario } from '../../src/cli/sim-scenarios.js';
import { renderReportHtml, writeReport } from '../../sim/report.js';
import { listScenarioFiles, loadScenario, parseScenario, ScenarioError } from '../../sim/scenario.js';
import { runCli } from '../../src/cli/cli.js';
import { plantedBrokerFactory } from '../support/planted-broker-bugs.js';

// The scenario library runs in the simulator on fixed seeds and passes; a run
// replays to the same trace; a planted bug shows up in the report; a bad file
// is refused naming file, line and field.

const files = listScenarioFiles();

function problemsOf(text: string): readonly string[] {
  try {
    parseScenario(text, 'bad.yaml');
  } catch (error) {
    if (error instanceof ScenarioError) return error.problems;
    throw error;
  }
  throw new Error('the scenario was accepted');
}

describe('the scenario library', () => {
  it('has at least 12 scenarios, each named after its file', () => {
    expect(files.length).toBeGreaterThanOrEqual(12);
    for (const file of files) expect(file).toBe(join('scenarios', `${loadScenario(file).name}.yaml`));
  });

  for (const file of files) {
    it(`${file} passes on seed 1`, () => {
      const { outcome } = runScenario(loadScenario(file), 1);
      expect(outcome.problems).toEqual([]);
      expect(outcome.passed).toBe(true);
      expect(outcome.report.clients.published).toBeGreaterThan(100);
    });
  }
});

describe('scenario runs', () => {
  it('replay from their report to the identical trace', () => {
    const folder = mkdtempSync(join(tmpdir(), 'chorus-reports-'));
    try {
      const scenario = loadScenario('scenarios/leader-crash.yaml');
      const { outcome } = runScenario(scenario, 5);
      const { json } = writeReport(folder, outcome.report);
      const out: string[] = [];
      const status = runCli(['sim', 'replay', json], { out: (line) => out.push(line), err: (line) => out.push(line), progress: () => {}, wallMs: () => 0 });
      expect(status).toBe(0);
      expect(out.join('\n')).toContain(`identical trace: the hash matches the report (${outcome.traceHash})`);
      // A report whose hash does not match is refused.
      const tampered = join(folder, 'tampered.json');
      const report = JSON.parse(readFileSync(json, 'utf8')) as Record<string, unknown>;
      writeFileSync(tampered, JSON.stringify({ ...report, traceHash: '0000000000000000' }));
      expect(runCli(['sim', 'replay', tampered], { out: () => {}, err: () => {}, progress: () => {}, wallMs: () => 0 })).toBe(1);
    } finally {
      rmSync(folder, { recursive: true, force: true });
    }
  });

  it('mark a planted bug in the report: the violation is listed and drawn on the timeline', () => {
    const scenario = loadScenario('scenarios/figure-8.yaml');
    const planted = { ...scenario, cluster: { ...scenario.cluster, broker: { createBroker: plantedBrokerFactory('ack-before-commit') } } };
    // The bug shows once leadership changes lose an acknowledged entry: within a few seeds of this churn.
    // Seeds run one at a time up to the first failure: each of these runs takes seconds.
    let failing: ReturnType<typeof runScenario>['outcome'] | undefined;
    for (let seed = 1; seed <= 5 && failing === undefined; seed++) {
      const outcome = runScenario(planted, seed).outcome;
      if (!outcome.passed) failing = outcome;
    }
    expect(failing).toBeDefined();
    const outcome = failing!;
    expect(outcome.report.historyViolations.length).toBeGreaterThan(0);
    // Acknowledging before commit shows as acknowledgements the logs do not back: a message lost,
    // or a timestamp the acknowledgement made up.
    expect(outcome.report.historyViolations[0]!.text).toMatch(/^(Acknowledged Publish Lost|Timestamp Order) violated/);
    const html = renderReportHtml(outcome.report);
    expect(html).toContain('<span class="fail">FAIL</span>');
    expect(html).toContain('class="violation"');
  });
});

describe('scenario files', () => {
  it('name the problem of a bad slow-client step, publisher window or output budget', () => {
    const text = [
      'name: bad',
      'duration: 20s',
      'cluster: { nodes: 3, broker: { sessionOutputBytesMax: 0, sendBufferBytes: 5 } }',
      'workload: { windows: [4, 0], openLoop: maybe }',
      'timeline:',
      '  - { at: 1s, do: slow-client, client: "p 1", for: 2s }',
      '  - { at: 2s, do: slow-client, client: live1, for: soon }',
    ].join('\n');
    expect(problemsOf(text)).toEqual([
      'bad.yaml:3: cluster.broker.sendBufferBytes: unknown field (known: sessionOutputBytesMax, sessionPendingBytesMax)',
      'bad.yaml:3: cluster.broker.sessionOutputBytesMax: must be an integer from 1 to 9007199254740991, got 0',
      'bad.yaml:4: workload.windows[1]: must be an integer from 1 to 10000, got 0',
      'bad.yaml:4: workload.openLoop: must be true or false, got "maybe"',
      'bad.yaml:6: timeline[0].client: must name a workload client such as p1, live1 or reader1, got "p 1"',
      'bad.yaml:7: timeline[1].for: must be a duration such as 500ms, 10s or 2m, got "soon"',
    ]);
  });

  it('name the file, line and field of every problem', () => {
    const text = [
      'name: Bad Name',
      'duration: 20s',
      'healAt: 30s',
      'cluster: { nodes: 3, tickMs: 0 }',
      'timeline:',
      '  - { at: 1s, do: explode }',
      '  - { at: 2s, do: crash, node: 9 }',
      '  - { at: 3s, do: partition, groups: [[1, 2]] }',
      '  - { at: 25s, do: heal }',
      'expect: { safety: false, bogus: 1 }',
    ].join('\n');
    expect(problemsOf(text)).toEqual([
      'bad.yaml:1: name: must be lower-case letters, digits and dashes, got "Bad Name"',
      'bad.yaml:3: healAt: must not be after the duration (20000 ms)',
      'bad.yaml:4: cluster.tickMs: must be a number from 1 to 1000, got 0',
      'bad.yaml:6: timeline[0].do: must be one of crash, restart, bounce, isolate, reconnect, partition, one-way, heal, loss, duplicate, delay, slow-disk, clock-offset, clock-drift, clock-jump, wipe, disk-full, slow-client, purge, got "explode"',
      'bad.yaml:7: timeline[1].node: must be an integer from 1 to 3, got 9',
      'bad.yaml:8: timeline[2].groups: must be a list of at least two lists of node ids, got [[1,2]]',
      'bad.yaml:9: timeline[3].at: must be before the end of the run (20000 ms)',
      'bad.yaml:10: expect.bogus: unknown field (known: safety, leaderWithin, progress, maxUnavailable, convergeWithin)',
      'bad.yaml:10: expect.safety: safety is always checked and cannot be turned off; write true or leave it out',
    ]);
  });
});

