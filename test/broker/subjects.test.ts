// Wildcard matching against NATS semantics. Cases come from the NATS docs
// ("Subject-Based Messaging", docs.nats.io/nats-concepts/subjects, and the
// nats.c client's wildcard notes): '*' matches exactly one token, '>' matches
// one or more trailing tokens, tokens compare case-sensitively.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SubjectIndex, subjectMatches } from '../../src/broker/subjects.js';
import { InvariantError } from '../../src/raft/assert.js';

const MATCH_TABLE: readonly (readonly [pattern: string, topic: string, matches: boolean])[] = [
  // Literal subjects match only themselves, case-sensitively.
  ['foo', 'foo', true],
  ['foo', 'foo.bar', false],
  ['foo', 'fo', false],
  ['foo.bar', 'foo', false],
  ['Foo', 'foo', false],
  // docs.nats.io: time.*.east
  ['time.*.east', 'time.us.east', true],
  ['time.*.east', 'time.eu.east', true],
  ['time.*.east', 'time.us.east.atlanta', false],
  ['time.*.east', 'time.us.west', false],
  // docs.nats.io: time.us.>
  ['time.us.>', 'time.us.east', true],
  ['time.us.>', 'time.us.east.atlanta', true],
  ['time.us.>', 'time.us', false],
  ['time.us.>', 'time.eu.east', false],
  // nats.c: foo.* and foo.>
  ['foo.*', 'foo.bar', true],
  ['foo.*', 'foo.baz', true],
  ['foo.*', 'foo.bar.baz', false],
  ['foo.*', 'bar.foo', false],
  ['foo.*', 'foo', false],
  ['foo.>', 'foo.bar', true],
  ['foo.>', 'foo.bar.baz', true],
  ['foo.>', 'foo', false],
  ['foo.>', 'bar.baz', false],
  // Wildcards alone and combined.
  ['>', 'foo', true],
  ['>', 'foo.bar.baz', true],
  ['*', 'foo', true],
  ['*', 'foo.bar', false],
  ['*.*', 'a.b', true],
  ['*.*', 'a', false],
  ['*.*', 'a.b.c', false],
  ['*.>', 'a', false],
  ['*.>', 'a.b', true],
  ['*.>', 'a.b.c', true],
  ['foo.*.>', 'foo.bar', false],
  ['foo.*.>', 'foo.bar.baz', true],
  ['*.bar.*', 'foo.bar.baz', true],
  ['*.bar.*', 'foo.baz.bar', false],
  // A wildcard character inside a token is not a wildcard. nats-server would
  // take it literally; chorus refuses such subjects (client-subjects.ts), so
  // they match nothing.
  ['foo*', 'foo', false],
  ['foo*', 'foo*', false],
  ['foo.b>', 'foo.b>', false],
  // Invalid patterns and topics match nothing.
  ['foo.>.bar', 'foo.x.bar', false],
  ['', '', false],
  ['foo..bar', 'foo..bar', false],
  ['foo.*', 'foo.*', false],
  ['>', 'foo.>', false],
  ['>', 'a b', false],
];

describe('subjectMatches (NATS wildcard semantics)', () => {
  it.each(MATCH_TABLE)('%s against %s is %s', (pattern, topic, matches) => {
    expect(subjectMatches(pattern, topic)).toBe(matches);
  });
});

describe('SubjectIndex', () => {
  it('finds the items of every matching pattern, each once', () => {
    const index = new SubjectIndex<string>();
    for (const pattern of ['foo', 'foo.bar', 'foo.*', 'foo.>', '*', '>', '*.*', '*.>', 'time.us.>', 'foo.*.>']) index.add(pattern, pattern);
    index.add('foo.*', 'shared');
    index.add('foo.>', 'shared');
    expect(index.match('foo.bar').sort()).toEqual(['*.*', '*.>', '>', 'foo.*', 'foo.>', 'foo.bar', 'shared'].sort());
    expect(index.match('foo.bar.baz').sort()).toEqual(['*.>', '>', 'foo.*.>', 'foo.>', 'shared'].sort());
    expect(index.match('foo').sort()).toEqual(['*', '>', 'foo'].sort());
    expect(index.match('foo.*')).toEqual([]);
  });

  it('adds a pair once, removes it once, and refuses an invalid pattern loudly', () => {
    const index = new SubjectIndex<number>();
    expect(index.add('a.*', 1)).toBe(true);
    expect(index.add('a.*', 1)).toBe(false);
    expect(index.add('a.*', 2)).toBe(true);
    expect(index.size).toBe(2);
    expect(index.remove('a.*', 1)).toBe(true);
    expect(index.remove('a.*', 1)).toBe(false);
    expect(index.remove('a.b', 2)).toBe(false);
    expect(index.remove('a..b', 2)).toBe(false);
    expect(index.match('a.x')).toEqual([2]);
    expect(() => index.add('a.>.b', 3)).toThrow(InvariantError);
  });

  it('lists matches in the order items were added, the same on every replica', () => {
    const index = new SubjectIndex<number>();
    index.add('a.b', 3);
    index.add('a.b', 1);
    index.add('a.b', 2);
    expect(index.match('a.b')).toEqual([3, 1, 2]);
  });
});

// ---- Properties: the trie against the pairwise matcher, and the matcher against a regular expression.

const topicToken = fc.constantFrom('a', 'b', 'c');
const topicArb = fc.array(topicToken, { minLength: 1, maxLength: 4 }).map((tokens) => tokens.join('.'));
const patternArb = fc
  .tuple(fc.array(fc.constantFrom('a', 'b', '*'), { minLength: 0, maxLength: 3 }), fc.boolean())
  .filter(([tokens, tail]) => tokens.length > 0 || tail)
  .map(([tokens, tail]) => [...tokens, ...(tail ? ['>'] : [])].join('.'));

/** An independent reading of the rules: '*' is one token of non-dots, '>' one or more tokens. */
function regexMatches(pattern: string, topic: string): boolean {
  const parts = pattern.split('.').map((token) => (token === '*' ? '[^.]+' : token === '>' ? '[^.]+(?:\\.[^.]+)*' : token.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')));
  return new RegExp(`^${parts.join('\\.')}$`).test(topic);
}

describe('subject matching properties', () => {
  it('subjectMatches agrees with a regular-expression reading of the rules', () => {
    fc.assert(
      fc.property(patternArb, topicArb, (pattern, topic) => {
        expect(subjectMatches(pattern, topic)).toBe(regexMatches(pattern, topic));
      }),
      { numRuns: 2_000 },
    );
  });

  it('the trie finds exactly the items a scan of every pattern finds', () => {
    fc.assert(
      fc.property(fc.array(patternArb, { maxLength: 30 }), fc.array(topicArb, { minLength: 1, maxLength: 10 }), (patterns, topics) => {
        const index = new SubjectIndex<number>();
        patterns.forEach((pattern, item) => index.add(pattern, item));
        for (const topic of topics) {
          const naive = patterns.flatMap((pattern, item) => (subjectMatches(pattern, topic) ? [item] : []));
          expect(index.match(topic).sort((x, y) => x - y)).toEqual(naive);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('after any adds and removes, matches what a plain list of the held pairs matches, and empties fully', () => {
    const operation = fc.record({ add: fc.boolean(), pattern: patternArb, item: fc.integer({ min: 0, max: 3 }) });
    fc.assert(
      fc.property(fc.array(operation, { maxLength: 60 }), fc.array(topicArb, { minLength: 1, maxLength: 8 }), (operations, topics) => {
        const index = new SubjectIndex<number>();
        const held = new Map<string, { pattern: string; item: number }>();
        for (const { add, pattern, item } of operations) {
          const key = JSON.stringify([pattern, item]);
          if (add) expect(index.add(pattern, item)).toBe(!held.has(key));
          else expect(index.remove(pattern, item)).toBe(held.has(key));
          if (add) held.set(key, { pattern, item });
          else held.delete(key);
        }
        expect(index.size).toBe(held.size);
        for (const topic of topics) {
          const naive = new Set([...held.values()].filter((pair) => subjectMatches(pair.pattern, topic)).map((pair) => pair.item));
          expect(index.match(topic).sort()).toEqual([...naive].sort());
        }
        for (const { pattern, item } of held.values()) index.remove(pattern, item);
        expect(index.size).toBe(0);
        for (const topic of topics) expect(index.match(topic)).toEqual([]);
      }),
      { numRuns: 300 },
    );
  });
});
