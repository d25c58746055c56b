// The test reader of Prometheus's text format must refuse what Prometheus
// would, or the real-mode test that /metrics "parses" proves nothing.

import { describe, expect, it } from 'vitest';
import { parsePrometheusText, sampleValue } from '../support/prometheus-text.js';

const good = [
  '# HELP up_total Things.',
  '# TYPE up_total counter',
  'up_total{node="1",path="a\\"b"} 3',
  '# TYPE lat histogram',
  'lat_bucket{le="0.1"} 1',
  'lat_bucket{le="+Inf"} 2',
  'lat_sum 0.35',
  'lat_count 2',
  '',
].join('\n');

describe('the test reader of the Prometheus text format', () => {
  it('reads families, labels with escapes, and histograms', () => {
    const families = parsePrometheusText(good);
    expect(sampleValue(families, 'up_total', { path: 'a"b' })).toBe(3);
    expect(sampleValue(families, 'lat_count')).toBe(2);
    expect(families.get('lat')?.type).toBe('histogram');
  });

  it.each([
    ['a sample without a TYPE', 'orphan 1\n', /no TYPE line/],
    ['a value that is not a number', '# TYPE x gauge\nx one\n', /bad value/],
    ['a bad label name', '# TYPE x gauge\nx{1a="v"} 1\n', /bad label/],
    ['an unterminated label', '# TYPE x gauge\nx{a="v} 1\n', /unterminated|expected/],
    ['a histogram whose +Inf bucket is not its count', '# TYPE h histogram\nh_bucket{le="+Inf"} 3\nh_sum 1\nh_count 2\n', /not the count/],
    ['buckets that are not cumulative', '# TYPE h histogram\nh_bucket{le="1"} 3\nh_bucket{le="+Inf"} 2\nh_sum 1\nh_count 2\n', /not cumulative/],
    ['a missing final newline', '# TYPE x gauge\nx 1', /newline/],
  ])('refuses %s', (_what, text, error) => {
    expect(() => parsePrometheusText(text)).toThrow(error);
  });
});
