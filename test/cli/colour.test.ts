// Colour codes only where a person wants them: never when NO_COLOR is set,
// never off a terminal. FORCE_COLOR=1 stands in for a terminal here, since a
// test's output is a pipe.

import { spawnSync } from 'node:child_process';
import chalk from 'chalk';
import { afterEach, describe, expect, it } from 'vitest';
import { applyColourPreference } from '../../src/cli/io.js';
import { CLI } from '../../src/runtime/local-cluster.js';

const ANSI_COLOUR = /\x1b\[[0-9;]*m/;

function simRunOutput(env: NodeJS.ProcessEnv): string {
  const withoutColourSettings = Object.fromEntries(Object.entries(process.env).filter(([name]) => name !== 'NO_COLOR' && name !== 'FORCE_COLOR'));
  const result = spawnSync(process.execPath, [CLI, 'sim', 'run', '--seed', '2', '--nodes', '3', '--duration', '2s', '--quiet'], {
    encoding: 'utf8',
    env: { ...withoutColourSettings, ...env },
    timeout: 60_000,
  });
  expect(result.status).toBe(0);
  return result.stdout;
}

describe('colour in the output of chorus', () => {
  it('is there on a terminal, and gone with NO_COLOR', () => {
    expect(simRunOutput({ FORCE_COLOR: '1' })).toMatch(ANSI_COLOUR);
    const output = simRunOutput({ FORCE_COLOR: '1', NO_COLOR: '1' });
    expect(output).toContain('result');
    expect(output).not.toMatch(ANSI_COLOUR);
  });

  it('is gone off a terminal', () => {
    const output = simRunOutput({});
    expect(output).toContain('result');
    expect(output).not.toMatch(ANSI_COLOUR);
  });
});

describe('applyColourPreference', () => {
  const levelBefore = chalk.level;
  afterEach(() => {
    chalk.level = levelBefore;
  });

  it('turns chalk off for NO_COLOR, and tells worker threads through FORCE_COLOR', () => {
    chalk.level = 3;
    const env: NodeJS.ProcessEnv = { NO_COLOR: '1' };
    applyColourPreference(env);
    expect(chalk.level).toBe(0);
    expect(env['FORCE_COLOR']).toBe('0');
  });

  it('leaves colour alone when NO_COLOR is empty, as no-color.org asks', () => {
    chalk.level = 3;
    const env: NodeJS.ProcessEnv = { NO_COLOR: '' };
    applyColourPreference(env);
    expect(chalk.level).toBe(3);
    expect(env['FORCE_COLOR']).toBeUndefined();
  });
});
