import { describe, expect, it } from 'vitest';
import { median, OptionError, parseOptions } from '../../bench/stats.js';

describe('benchmark options', () => {
  it('keeps the defaults and takes what is given', () => {
    expect(parseOptions([], { runs: 3, seconds: 3600 })).toEqual({ runs: 3, seconds: 3600 });
    expect(parseOptions(['--seconds', '60', '--runs', '5'], { runs: 3, seconds: 3600 })).toEqual({ runs: 5, seconds: 60 });
    expect(parseOptions(['--base', '../other'], { pairs: 8 }, ['base'])).toEqual({ pairs: 8, base: '../other' });
  });

  it('refuses a misspelt option instead of running on defaults', () => {
    expect(() => parseOptions(['--rnus', '5'], { runs: 3, seconds: 3600 })).toThrow(
      new OptionError('unknown option "--rnus"; the options are --runs, --seconds'),
    );
    expect(() => parseOptions(['5'], { runs: 3 })).toThrow(/unknown option "5"/);
  });

  it('refuses a missing value or one that is not a positive integer', () => {
    expect(() => parseOptions(['--runs'], { runs: 3 })).toThrow('--runs needs a value');
    expect(() => parseOptions(['--runs', '--seconds', '5'], { runs: 3, seconds: 1 })).toThrow('--runs needs a value');
    for (const bad of ['abc', '0', '-2', '1.5', '1e3', '']) {
      expect(() => parseOptions(['--runs', bad], { runs: 3 })).toThrow(`--runs must be a positive integer, got ${JSON.stringify(bad)}`);
    }
  });
});

describe('median', () => {
  it('takes the middle value, or the mean of the two middle values', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(() => median([])).toThrow('median of nothing');
  });
});
