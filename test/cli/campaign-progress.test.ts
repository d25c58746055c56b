// Sweep and fuzz progress (done/total, failures, elapsed, ETA; a redrawn line
// on a terminal, a plain line every few seconds off one) and Ctrl-C, which
// prints what finished and exits with 130.

import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runCommand } from '../../src/cli/cli.js';
import { formatDuration, plainProgressEveryMs } from '../../src/cli/campaign-progress.js';
import type { CliIo } from '../../src/cli/io.js';
import { CLI } from '../../src/runtime/local-cluster.js';
import { FLAKY_SCENARIO } from '../support/flaky-scenario.js';

interface Captured {
  readonly out: string[];
  readonly err: string[];
  readonly progress: string[];
  interrupt?: () => void;
}

/** An io whose wall clock moves stepMs at every reading, so elapsed times and ETAs are predictable. */
function capturingIo(terminal: boolean, stepMs: number, onProgress?: (captured: Captured, text: string) => void): { io: CliIo; captured: Captured } {
  const captured: Captured = { out: [], err: [], progress: [] };
  let now = 0;
  const io: CliIo = {
    out: (line) => captured.out.push(...line.split('\n')),
    err: (line) => captured.err.push(line),
    progress: (text) => {
      captured.progress.push(text);
      onProgress?.(captured, text);
    },
    wallMs: () => (now += stepMs),
    terminal,
    onInterrupt: (handler) => {
      captured.interrupt = handler;
      return () => (captured.interrupt = undefined);
    },
  };
  return { io, captured };
}

describe('campaign progress and Ctrl-C', () => {
  let folder: string;
  let scenario: string;
  beforeEach(() => {
    folder = mkdtempSync(join(tmpdir(), 'chorus-progress-'));
    scenario = join(folder, 'flaky.yaml');
    writeFileSync(scenario, FLAKY_SCENARIO);
  });
  afterEach(() => rmSync(folder, { recursive: true, force: true }));

  it('formats durations as a person reads them', () => {
    expect(formatDuration(0)).toBe('0s');
    expect(formatDuration(42_400)).toBe('42s');
    expect(formatDuration(185_000)).toBe('3m05s');
    expect(formatDuration(7_620_000)).toBe('2h07m');
  });

  it('prints a plain line with done/total, failures, elapsed and ETA every few seconds off a terminal', async () => {
    const { io, captured } = capturingIo(false, 2000);
    expect(await runCommand(['sim', 'sweep', scenario, '--seeds', '1..6', '--workers', '1'], io)).toBe(1);
    expect(captured.err.length).toBeGreaterThan(0);
    for (const line of captured.err) expect(line).toMatch(/^chorus sim sweep: [1-5]\/6 runs, [01] failed, \d+s elapsed, ETA \d+s$/);
    // Throttled: fewer lines than runs, at least the interval apart.
    expect(captured.err.length).toBeLessThan(6);
    const elapsed = captured.err.map((line) => Number(/(\d+)s elapsed/.exec(line)![1]) * 1000);
    for (let i = 1; i < elapsed.length; i++) expect(elapsed[i]! - elapsed[i - 1]!).toBeGreaterThanOrEqual(plainProgressEveryMs);
    expect(captured.err.some((line) => line.includes(', 1 failed,'))).toBe(true);
    expect(captured.progress.filter((text) => text !== '')).toEqual([]);
  });

  it('redraws one line with a bar, elapsed and ETA on a terminal', async () => {
    const { io, captured } = capturingIo(true, 1000);
    expect(await runCommand(['sim', 'sweep', scenario, '--seeds', '1..6', '--workers', '1'], io)).toBe(1);
    const lines = captured.progress.filter((text) => text !== '');
    expect(lines.length).toBeGreaterThanOrEqual(6);
    expect(lines).toContainEqual(expect.stringMatching(/^ {2}\[#+\.*\] 3\/6 runs, 1 failed, \d+s elapsed, ETA \d+s$/));
    expect(lines.at(-1)).toMatch(/^ {2}\[#{30}\] 6\/6 runs, 1 failed, \d+s elapsed, ETA 0s$/);
    expect(captured.progress.at(-1)).toBe('');
    expect(captured.err).toEqual([]);
  });

  it('on Ctrl-C prints the table and failures of the runs that finished, writes no part, and exits with 130', async () => {
    const part = join(folder, 'part.json');
    const { io, captured } = capturingIo(true, 1, (c, text) => {
      if (text.includes(' 4/12 runs')) c.interrupt?.();
    });
    const status = await runCommand(['sim', 'sweep', scenario, '--seeds', '1..12', '--workers', '1', '--json', part], io);
    expect(status).toBe(130);
    expect(captured.out[0]).toBe('interrupted: 4 of 12 runs finished; what follows covers only them');
    expect(captured.out).toContainEqual(expect.stringMatching(/^flaky +4 +3 +1$/));
    expect(captured.out).toContain('FAIL flaky seed 3: unavailability: no publish was acknowledged for 375 ms from 496 ms (bound 350 ms)');
    expect(captured.out.some((line) => line.includes('seed 11'))).toBe(false);
    expect(captured.err).toContain(`no part written to ${part}: an interrupted shard would leave runs out of a merge; run it again`);
    expect(existsSync(part)).toBe(false);
    expect(captured.interrupt).toBeUndefined();
  });

  it('stops fuzzing on Ctrl-C with the seeds that finished', async () => {
    const { io, captured } = capturingIo(true, 1, (c, text) => {
      if (text.includes(' 1/3 seeds')) c.interrupt?.();
    });
    const status = await runCommand(['sim', 'fuzz', '--seeds', '1..3', '--workers', '1', '--out', join(folder, 'found')], io);
    expect(status).toBe(130);
    expect(captured.out[0]).toBe('interrupted: 1 of 3 seeds finished; what follows covers only them');
    expect(captured.out).toContainEqual(expect.stringMatching(/^1 seeds fuzzed in .* with 1 worker: no failures$/));
  });

  it('a real Ctrl-C (SIGINT) to the built command with worker threads prints what finished and exits with 130', async () => {
    // Runs the compiled CLI, as a user does: the signal and the worker threads are real.
    const child = spawn(process.execPath, [CLI, 'sim', 'sweep', scenario, '--seeds', '1..2000', '--workers', '2'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    const firstProgress = new Promise<void>((resolve) =>
      child.stderr.on('data', (chunk: Buffer) => {
        err += chunk.toString();
        if (err.includes('elapsed')) resolve();
      }),
    );
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    await firstProgress;
    child.kill('SIGINT');
    expect(await exited).toBe(130);
    expect(err).toMatch(/^chorus sim sweep: \d+\/2000 runs, \d+ failed, \d+s elapsed, ETA \d+/);
    const done = Number(/^interrupted: (\d+) of 2000 runs finished/.exec(out)?.[1]);
    expect(done).toBeGreaterThan(0);
    expect(done).toBeLessThan(2000);
    expect(out).toMatch(new RegExp(`\\nflaky +${done} +\\d+ +\\d+\\n`));
  }, 60_000);
});
