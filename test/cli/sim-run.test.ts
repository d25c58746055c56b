import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../../src/cli/cli.js';
import type { CliIo } from '../../src/cli/io.js';
import { checkHistory } from '../../sim/history-checker.js';
import { historyFromJSON } from '../../sim/history.js';

function run(argv: string[]): { status: number; out: string[]; err: string[] } {
  const out: string[] = [];
  const err: string[] = [];
  const io: CliIo = { out: (line) => out.push(line), err: (line) => err.push(line), progress: () => {}, wallMs: () => 0 };
  const status = runCli(argv, io);
  return { status, out: out.join('\n').split('\n'), err };
}

describe('chorus sim run', () => {
  it('runs a short simulation and ends with the trace hash', () => {
    const result = run(['sim', 'run', '--seed', '3', '--nodes', '3', '--duration', '5s']);
    expect(result.status).toBe(0);
    expect(result.out.at(-1)).toMatch(/^trace hash: [0-9a-f]{16}$/);
    expect(result.out.join('\n')).toContain('npx chorus sim run --seed 3 --nodes 3 --duration 5s');
    expect(result.out.join('\n')).toContain('PASS');
  });

  it('gives the same trace hash for the same seed and a different one for another seed', () => {
    const hash = (seed: string): string => run(['sim', 'run', '--seed', seed, '--duration', '3s']).out.at(-1)!;
    expect(hash('9')).toBe(hash('9'));
    expect(hash('9')).not.toBe(hash('10'));
  });

  it('writes every event to a trace file', () => {
    const folder = mkdtempSync(join(tmpdir(), 'chorus-trace-'));
    try {
      const path = join(folder, 'trace.txt');
      const result = run(['sim', 'run', '--duration', '2s', '--nodes', '3', '--trace', path]);
      expect(result.status).toBe(0);
      const lines = readFileSync(path, 'utf8').trim().split('\n');
      const events = Number(/for (\d+) events/.exec(result.out.join('\n'))![1]);
      expect(lines).toHaveLength(events);
      expect(lines.some((line) => /deliver AppendRequest n\d->n\d term \d+/.test(line))).toBe(true);
    } finally {
      rmSync(folder, { recursive: true, force: true });
    }
  });

  it('draws only the fault kinds asked for, and none at all with --faults none', () => {
    const none = run(['sim', 'run', '--duration', '3s', '--nodes', '3', '--faults', 'none']);
    expect(none.status).toBe(0);
    expect(none.out.join('\n')).toMatch(/faults\s+none/);
    expect(none.out.join('\n')).toContain('--faults none');
    const some = run(['sim', 'run', '--duration', '20s', '--nodes', '3', '--faults', 'crash-leader,restart']);
    const faultLine = some.out.find((line) => line.includes('faults'))!;
    expect(faultLine).toMatch(/crash-leader \d+/);
    expect(faultLine).not.toMatch(/partition|loss|duplicate/);
    expect(some.out.join('\n')).toContain('--faults crash-leader,restart');
  });

  it('draws the clock faults beyond the default mix when named, or with --faults every', () => {
    const clocks = run(['sim', 'run', '--duration', '15s', '--nodes', '3', '--seed', '2', '--faults', 'clock-jump,clock-offset']);
    expect(clocks.status).toBe(0);
    const faultLine = clocks.out.find((line) => line.startsWith('faults'))!;
    expect(faultLine).toMatch(/clock-(jump|offset) \d+/);
    expect(faultLine).not.toMatch(/crash|partition|loss/);
    expect(run(['sim', 'run', '--duration', '5s', '--nodes', '3', '--faults', 'every']).status).toBe(0);
  });

  it('runs broker clients by default and writes their history with --history', () => {
    const folder = mkdtempSync(join(tmpdir(), 'chorus-history-'));
    try {
      const path = join(folder, 'history.json');
      const result = run(['sim', 'run', '--seed', '2', '--nodes', '3', '--duration', '5s', '--history', path]);
      expect(result.status).toBe(0);
      const text = result.out.join('\n');
      expect(text).toMatch(/clients +\d+ publishes acknowledged/);
      expect(text).toMatch(/history +no violations; \d+ client events checked/);
      const history = historyFromJSON(readFileSync(path, 'utf8'));
      expect(history.seed).toBe(2);
      expect(history.events.some((event) => event.kind === 'publish-ok')).toBe(true);
      expect(checkHistory(history)).toEqual([]);
    } finally {
      rmSync(folder, { recursive: true, force: true });
    }
  });

  it('runs the bare Raft workload with --workload raft, and names it in the replay command', () => {
    const result = run(['sim', 'run', '--seed', '4', '--nodes', '3', '--duration', '3s', '--workload', 'raft', '--rate', '50']);
    expect(result.status).toBe(0);
    expect(result.out.join('\n')).toMatch(/proposals +\d+ made/);
    expect(result.out.join('\n')).toContain('npx chorus sim run --seed 4 --nodes 3 --duration 3s --workload raft --rate 50');
  });

  it('refuses a bad workload, and --history without clients', () => {
    expect(run(['sim', 'run', '--workload', 'kafka']).err).toEqual(["chorus: --workload must be broker or raft; got 'kafka' (see 'chorus sim run --help')"]);
    expect(run(['sim', 'run', '--workload', 'raft', '--history', 'h.json']).err).toEqual(["chorus: --history needs the broker workload: only it has clients (see 'chorus sim run --help')"]);
  });

  it('prints help with exit status 0', () => {
    const result = run(['sim', 'run', '--help']);
    expect(result.status).toBe(0);
    expect(result.out.join('\n')).toContain('Usage: chorus sim run');
    expect(run(['--help']).out.join('\n')).toContain('Usage: chorus <command>');
  });

  it.each([
    [['sim', 'run', '--nodes', '0'], '--nodes must be from 1 to 15; got 0'],
    [['sim', 'run', '--nodes', 'five'], '--nodes must be a whole number'],
    [['sim', 'run', '--duration', '5'], '--duration must be a duration such as'],
    [['sim', 'run', '--duration', '0s'], '--duration must be longer than zero'],
    [['sim', 'run', '--seed=-1'], '--seed must be from 0 to 4294967295'],
    [['sim', 'run', '--seed', '-1'], "Option '--seed' argument is ambiguous"],
    [['sim', 'run', '--bogus'], "Unknown option '--bogus'"],
    [['sim', 'run', '--seed'], "Option '--seed <value>' argument missing"],
    [['sim', 'walk'], "unknown sim command 'walk'"],
    [['launch'], "unknown command 'launch'"],
    [['sim', 'run', '--faults', 'meteor'], "--faults: unknown fault kind 'meteor'"],
  ])('rejects %j with a clear message and exit status 2', (argv, message) => {
    const result = run(argv);
    expect(result.status).toBe(2);
    expect(result.err).toHaveLength(1);
    expect(result.err[0]).toContain(message);
    expect(result.err[0]).toMatch(/ \(see 'chorus (sim (run )?)?--help'\)$/);
  });
});

describe('chorus sim run <scenario>', () => {
  it('writes the clients\' history with --history and every event with --trace', () => {
    const folder = mkdtempSync(join(tmpdir(), 'chorus-scenario-'));
    try {
      const historyPath = join(folder, 'history.json');
      const tracePath = join(folder, 'trace.txt');
      const result = run(['sim', 'run', 'leader-crash', '--seed', '2', '--quiet', '--reports', folder, '--history', historyPath, '--trace', tracePath]);
      expect(result.status).toBe(0);
      const history = historyFromJSON(readFileSync(historyPath, 'utf8'));
      expect(history.seed).toBe(2);
      expect(history.events.some((event) => event.kind === 'publish-ok')).toBe(true);
      expect(checkHistory(history)).toEqual([]);
      const events = Number(/for (\d+) events/.exec(result.out.join('\n'))![1]);
      const lines = readFileSync(tracePath, 'utf8').trim().split('\n');
      expect(lines).toHaveLength(events);
      expect(lines.filter((line) => line.endsWith(' fault crash-leader'))).toHaveLength(2);
    } finally {
      rmSync(folder, { recursive: true, force: true });
    }
  });

  it.each([
    [['--nodes', '3'], '--nodes cannot apply to a scenario: leader-crash fixes its cluster at 5 nodes (cluster.nodes)'],
    [['--duration', '5s'], '--duration cannot apply to a scenario: leader-crash fixes its length at 20s (duration)'],
    [['--faults', 'none'], "--faults cannot apply to a scenario: leader-crash's faults are the ones its timeline schedules"],
    [['--rate', '5'], "--rate cannot apply to a scenario: leader-crash fixes its clients' publish rate (workload.rate)"],
    [['--workload', 'raft'], '--workload cannot apply to a scenario: a scenario always runs the broker workload'],
  ])('refuses %j, saying what in the scenario fixes it, with exit status 2', (options, message) => {
    const result = run(['sim', 'run', 'leader-crash', ...options]);
    expect(result.status).toBe(2);
    expect(result.err).toHaveLength(1);
    expect(result.err[0]).toContain(message);
    expect(result.err[0]).toContain("(see 'chorus sim run leader-crash --help')");
  });

  it('refuses --history and --trace with all, which makes many runs', () => {
    for (const option of ['--history', '--trace']) {
      const result = run(['sim', 'run', 'all', option, 'out.txt']);
      expect(result.status).toBe(2);
      expect(result.err).toEqual([`chorus: ${option} writes the file of one run; 'all' makes one run per scenario, so name one scenario (see 'chorus sim run all --help')`]);
    }
  });

  it('lists --history and --trace in its help', () => {
    const help = run(['sim', 'run', 'leader-crash', '--help']).out.join('\n');
    expect(help).toMatch(/--history FILE/);
    expect(help).toMatch(/--trace FILE/);
  });
});
