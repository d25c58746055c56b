import { describe, expect, it } from 'vitest';
import { Logger } from '../../src/runtime/logger.js';

const at = (): Date => new Date('2026-12-07T10:00:00.000Z');

describe('the node log', () => {
  it('writes text lines with time, level and node, and drops what is below its level', () => {
    const lines: string[] = [];
    const logger = new Logger(2, { level: 'info', format: 'text' }, (line) => lines.push(line), at);
    logger.debug('term-changed', 'moved to term 5 as follower');
    logger.info('leader-changed', 'became leader in term 5', { term: 5 });
    logger.warn('slow-consumer', 'cut a client as a slow consumer');
    logger.error('disk-error', 'disk write failed');
    expect(lines).toEqual([
      '2026-12-07T10:00:00.000Z INFO n2 became leader in term 5',
      '2026-12-07T10:00:00.000Z WARN n2 cut a client as a slow consumer',
      '2026-12-07T10:00:00.000Z ERROR n2 disk write failed',
    ]);
    expect([logger.enabled('debug'), logger.enabled('error')]).toEqual([false, true]);
  });

  it('writes one JSON object per line with the event and its fields, which cannot overwrite the fixed keys', () => {
    const lines: string[] = [];
    const logger = new Logger(3, { level: 'warn', format: 'json' }, (line) => lines.push(line), at);
    logger.info('leader-changed', 'follows n1 as leader in term 5');
    logger.warn('limit-hit', 'refused a publish', { limit: 'overloaded', level: 'debug', repeats: 0 });
    expect(lines.map((line) => JSON.parse(line) as unknown)).toEqual([
      { time: '2026-12-07T10:00:00.000Z', level: 'warn', node: 3, event: 'limit-hit', msg: 'refused a publish', limit: 'overloaded', repeats: 0 },
    ]);
  });
});
