import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  durationToMs,
  overlappingSubjects,
  streamConfigFromJson,
  streamConfigToJson,
  streamConfigWithDefaults,
  subjectsOverlap,
} from '../../src/broker/stream-config.js';
import { subjectMatches } from '../../src/broker/subjects.js';

describe('subject overlap', () => {
  it.each([
    ['orders.*', 'orders.eu', true],
    ['orders.>', 'orders', false],
    ['orders.>', 'orders.eu.de', true],
    ['*.eu', 'orders.*', true],
    ['a.*.c', 'a.b', false],
    ['>', 'x', true],
    ['a.b', 'a.c', false],
    ['*.*', '*', false],
  ])('%s and %s: %s', (a, b, overlap) => {
    expect(subjectsOverlap(a, b)).toBe(overlap);
    expect(subjectsOverlap(b, a)).toBe(overlap);
  });

  it('agrees with matching: two patterns overlap exactly when some literal subject matches both', () => {
    const token = fc.constantFrom('a', 'b', '*');
    const pattern = fc
      .tuple(fc.array(token, { minLength: 1, maxLength: 3 }), fc.boolean())
      .map(([tokens, tail]) => (tail ? [...tokens, '>'] : tokens).join('.'));
    const literals: string[] = [];
    for (const length of [1, 2, 3, 4, 5]) {
      const build = (prefix: string[]): void => {
        if (prefix.length === length) literals.push(prefix.join('.'));
        else for (const t of ['a', 'b', 'c']) build([...prefix, t]);
      };
      build([]);
    }
    fc.assert(
      fc.property(pattern, pattern, (a, b) => {
        const witness = literals.some((subject) => subjectMatches(a, subject) && subjectMatches(b, subject));
        expect(subjectsOverlap(a, b)).toBe(witness);
      }),
    );
  });
});

describe('stream configs', () => {
  it("take JetStream's defaults, and read and write JetStream's spelling with durations in nanoseconds", () => {
    const config = streamConfigWithDefaults({ name: 'ORDERS', subjects: ['orders.>'] }, 3);
    expect(streamConfigToJson(config)).toEqual({
      name: 'ORDERS',
      subjects: ['orders.>'],
      max_msgs: -1,
      max_bytes: -1,
      max_age: 0,
      max_msgs_per_subject: -1,
      max_msg_size: -1,
      discard: 'old',
      duplicate_window: 120_000_000_000,
      num_replicas: 3,
    });
    const parsed = streamConfigFromJson({ name: 'ORDERS', subjects: ['orders.>'], max_age: '1h', max_msgs: 0 }, 3);
    expect(parsed).toMatchObject({ ok: true, config: { maxAgeMs: 3_600_000, maxMsgs: -1, duplicateWindowMs: 120_000 } });
    const short = streamConfigFromJson({ name: 'S', max_age: 30_000_000_000 }, 3);
    expect(short).toMatchObject({ ok: true, config: { subjects: ['S'], maxAgeMs: 30_000, duplicateWindowMs: 30_000 } });
  });

  it('name every problem: unknown fields, wrong types, bad names, reserved and self-overlapping subjects', () => {
    const parsed = streamConfigFromJson({ name: 'bad.name', subjects: ['x.*', 'x.y', '_INBOX.>'], max_msgs: 'ten', colour: 'red' }, 3);
    expect(parsed.ok).toBe(false);
    if (parsed.ok) return;
    expect(parsed.problems).toEqual(['unknown field "colour" (fields: name, subjects, max_msgs, max_bytes, max_age, max_msgs_per_subject, max_msg_size, discard, duplicate_window, num_replicas)', 'max_msgs must be an integer, got "ten"']);
    const second = streamConfigFromJson({ name: 'bad.name', subjects: ['x.*', 'x.y', '_INBOX.>'] }, 3);
    expect(second.ok ? [] : second.problems).toEqual([
      `stream name "bad.name" may not contain spaces, '.', '*', '>', '/', '\\' or control characters`,
      'subjects[1] x.y overlaps subjects[0] x.*',
      'subjects[2] _INBOX.> is under _INBOX., which is never stored',
    ]);
  });

  it('find the subjects by which two streams would capture one subject', () => {
    const a = streamConfigWithDefaults({ name: 'A', subjects: ['orders.eu', 'audit.>'] }, 3);
    const b = streamConfigWithDefaults({ name: 'B', subjects: ['orders.*'] }, 3);
    expect(overlappingSubjects(a, b)).toEqual({ ours: 'orders.eu', theirs: 'orders.*' });
    expect(overlappingSubjects(a, streamConfigWithDefaults({ name: 'C', subjects: ['billing.>'] }, 3))).toBeUndefined();
  });

  it('read durations as nanoseconds or as text', () => {
    expect(durationToMs(1_500_000)).toBeUndefined();
    expect(durationToMs(2_000_000)).toBe(2);
    expect(durationToMs('1h30m')).toBe(5_400_000);
    expect(durationToMs('500ms')).toBe(500);
    expect(durationToMs('0')).toBe(0);
    expect(durationToMs('1x')).toBeUndefined();
    expect(durationToMs('h')).toBeUndefined();
  });
});
