// A person's mistakes, as the built `chorus` binary reports them: one line per
// problem on standard error, no stack trace, exit status 2 for a mistake in
// the command line and 1 for anything else.

import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CLI } from '../../src/runtime/local-cluster.js';

const folder = mkdtempSync(join(tmpdir(), 'chorus-cli-errors-'));
afterAll(() => rmSync(folder, { recursive: true, force: true }));

function chorus(...args: string[]): { status: number | null; stdout: string; stderrLines: string[] } {
  const result = spawnSync(process.execPath, [CLI, ...args], { cwd: folder, encoding: 'utf8', timeout: 30_000 });
  return { status: result.status, stdout: result.stdout, stderrLines: result.stderr.split('\n').filter((line) => line !== '') };
}

function expectNoStackTrace(lines: readonly string[]): void {
  for (const line of lines) {
    expect(line).toMatch(/^chorus( node \d+)?: /);
    expect(line).not.toMatch(/^\s+at /);
  }
}

describe('a missing or bad cluster file', () => {
  it.each([['status'], ['pub', 'orders.eu', 'x'], ['history', 'orders.eu'], ['stream', 'ls'], ['cluster', 'start']])(
    '%j -c nope.yaml says so in one line, with exit status 1',
    (...command) => {
      const result = chorus(...command, '-c', 'nope.yaml');
      expect(result.status).toBe(1);
      expect(result.stderrLines).toHaveLength(1);
      expect(result.stderrLines[0]).toMatch(/^chorus: nope\.yaml: cannot read: ENOENT/);
    },
  );

  it('lists every problem of a bad file, one line each, with exit status 1', () => {
    writeFileSync(join(folder, 'bad.yaml'), 'tickMs: fast\nnodes: 3\n');
    for (const command of [['status'], ['cluster', 'start']]) {
      const result = chorus(...command, '-c', 'bad.yaml');
      expect(result.status).toBe(1);
      expect(result.stderrLines).toEqual([expect.stringMatching(/^chorus: bad\.yaml:1: tickMs: /), expect.stringMatching(/^chorus: bad\.yaml:2: nodes: /)]);
    }
  });

  it('stops chorus node before it starts, one line per problem', () => {
    const result = chorus('node', '--id', '1', '-c', 'bad.yaml');
    expect(result.status).toBe(1);
    expect(result.stderrLines).toHaveLength(2);
    expectNoStackTrace(result.stderrLines);
  });
});

describe('a mistake in the command line', () => {
  it.each([
    [['status', '--bogus'], "chorus: Unknown option '--bogus' (see 'chorus status --help')"],
    [['cluster', 'launch'], "chorus: unknown cluster command 'launch' (see 'chorus cluster --help')"],
    [['sim', 'run', 'no-such-scenario'], "chorus: no-such-scenario: no such scenario file, and no scenarios/no-such-scenario.yaml (see 'chorus sim run no-such-scenario --help')"],
    [['pub', 'orders.eu', 'x', '--server', 'nowhere'], "chorus: --server must be host:port, got 'nowhere' (see 'chorus pub --help')"],
  ])('%j is one line with exit status 2', (argv, line) => {
    const result = chorus(...argv);
    expect(result.status).toBe(2);
    expect(result.stderrLines).toEqual([line]);
  });
});

describe('a failure outside chorus', () => {
  it('a server that cannot be reached is one line with exit status 1', () => {
    const result = chorus('pub', 'orders.eu', 'x', '--server', '127.0.0.1:1');
    expect(result.status).toBe(1);
    expect(result.stderrLines).toEqual([expect.stringMatching(/^chorus: cannot connect to 127\.0\.0\.1:1: /)]);
  });

  it('chorus status marks a node out of reach as down, and says why on stderr', () => {
    const result = chorus('status', '--server', '127.0.0.1:1');
    expect(result.status).toBe(1);
    expect(result.stdout.trim().split('\n').at(-1)!.split(/ +/)).toEqual(['127.0.0.1:1', '127.0.0.1:1', 'down', ...Array<string>(7).fill('-')]);
    expect(result.stderrLines).toEqual([expect.stringMatching(/^chorus: 127\.0\.0\.1:1: cannot connect to 127\.0\.0\.1:1: /)]);
  });

  it('a report folder that cannot be made is one line with exit status 1', () => {
    writeFileSync(join(folder, 'a-file'), '');
    const result = chorus('sim', 'run', join(process.cwd(), 'scenarios', 'leader-crash.yaml'), '--quiet', '--reports', join('a-file', 'reports'));
    expect(result.status).toBe(1);
    expect(result.stderrLines).toEqual([expect.stringMatching(/^chorus: ENOTDIR: not a directory, mkdir /)]);
  });
});
