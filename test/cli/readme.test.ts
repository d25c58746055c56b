import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { SIM_RUN_HELP } from '../../src/cli/sim-run.js';

// The README shows `chorus sim run --help` whole; it must be the command's own text, or a reader is told of options that changed.
describe('the README', () => {
  it("shows sim run's help as the command prints it", () => {
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    const start = readme.indexOf('Usage: chorus sim run [options]');
    expect(start).toBeGreaterThan(0);
    const shown = readme.slice(start, readme.indexOf('```', start)).trimEnd();
    expect(shown).toBe(SIM_RUN_HELP.trimEnd());
  });
});
