import { describe, expect, it } from 'vitest';
import { runScenarioOnRealCluster } from '../../sim/real-scenario.js';
import { loadScenario } from '../../sim/scenario.js';
import { formatHistoryViolation } from '../../sim/history-checker.js';

// Scenarios against real clusters: node processes on loopback, kill -9 and the
// admin port for faults, simulated clients over real sockets, and the same
// history checker as in the simulator. Timelines run at half speed.

describe('scenarios in real mode', () => {
  for (const name of ['leader-crash', 'isolated-leader']) {
    it(`${name} passes the history checks against a real cluster`, async () => {
      const lines: string[] = [];
      const result = await runScenarioOnRealCluster(loadScenario(`scenarios/${name}.yaml`), { seed: 1, scale: 0.5, tickMs: 20, log: (line) => lines.push(line) });
      expect(result.violations.map(formatHistoryViolation)).toEqual([]);
      expect(result.problems).toEqual([]);
      expect(result.stats.published).toBeGreaterThan(100);
      expect(result.stats.delivered).toBeGreaterThan(100);
      expect(result.history.finalLogs).toHaveLength(5);
      expect(lines.some((line) => /crash-leader|isolate-leader/.test(line))).toBe(true);
      expect(result.passed).toBe(true);
    }, 60_000);
  }
});
