import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compareHlc, type HlcTimestamp } from '../../src/clock/hlc.js';
import { ReorderBuffer, type ReleasedItem } from '../../src/clock/reorder-buffer.js';

// The bounded merge of several stamped streams, checked on worked examples and
// as properties over random streams, arrival times and bounds.

const at = (l: number, c = 0): HlcTimestamp => ({ l, c });

describe('ReorderBuffer', () => {
  it('holds an item while another source may still precede it, and releases it when that source moves past', () => {
    const buffer = new ReorderBuffer<string>(100, ['a', 'b']);
    buffer.push('a1', at(10), 'a', 0);
    expect(buffer.take(0)).toEqual([]); // b has said nothing yet.
    buffer.push('b1', at(5), 'b', 1);
    expect(buffer.take(1).map((released) => released.item)).toEqual(['b1']); // a1 still waits for b to pass 10.
    buffer.advance('b', at(12));
    expect(buffer.take(2).map((released) => released.item)).toEqual(['a1']);
  });

  it('releases a held item after the bound, with every held item earlier than it, and marks what comes later late', () => {
    const buffer = new ReorderBuffer<string>(100, ['a', 'b']);
    buffer.push('a1', at(10), 'a', 0);
    buffer.push('a2', at(20), 'a', 30);
    expect(buffer.nextDueMs()).toBe(100);
    expect(buffer.take(99)).toEqual([]);
    expect(buffer.take(100).map((released) => released.item)).toEqual(['a1']);
    expect(buffer.take(130).map((released) => released.item)).toEqual(['a2']);
    // b was slow: its item is earlier than what was released, so it goes at once, marked late.
    buffer.push('b1', at(15), 'b', 131);
    expect(buffer.take(131)).toEqual([{ item: 'b1', stamp: at(15), late: true }]);
  });

  it('with one source never holds an item and never marks one late', () => {
    const buffer = new ReorderBuffer<number>(1000, ['only']);
    for (let i = 1; i <= 5; i++) {
      buffer.push(i, at(100, i), 'only', 0);
      expect(buffer.take(0)).toEqual([{ item: i, stamp: at(100, i), late: false }]);
    }
    expect(buffer.size).toBe(0);
  });

  it('refuses a negative bound and an unknown source, naming them', () => {
    expect(() => new ReorderBuffer(-1, ['a'])).toThrow('the reorder bound must be a non-negative number of ms, got -1');
    expect(() => new ReorderBuffer(1, ['a']).push('x', at(1), 'z', 0)).toThrow('unknown reorder source z; the sources are a');
  });

  // Several sources, each a stream in stamp order, arriving interleaved at random times.
  const scenario = fc
    .record({
      sources: fc.integer({ min: 1, max: 4 }),
      boundMs: fc.integer({ min: 0, max: 200 }),
      arrivals: fc.array(
        fc.record({ source: fc.nat(3), stampStep: fc.integer({ min: 0, max: 30 }), gapMs: fc.integer({ min: 0, max: 80 }), takes: fc.boolean() }),
        { maxLength: 60 },
      ),
    })
    .map(({ sources, boundMs, arrivals }) => {
      const names = Array.from({ length: sources }, (_, i) => `s${i}`);
      const lastStamp = new Map<string, number>();
      let nowMs = 0;
      const pushes = arrivals.map((arrival, id) => {
        const source = names[arrival.source % sources]!;
        const l = (lastStamp.get(source) ?? 0) + arrival.stampStep;
        lastStamp.set(source, l);
        nowMs += arrival.gapMs;
        // The counter makes stamps unique, so "in order" has one meaning.
        return { id, source, stamp: at(l, id), nowMs, takes: arrival.takes };
      });
      return { names, boundMs, pushes };
    });

  it('releases every item exactly once; items not marked late come out in stamp order; an item is late only if something later went first', () => {
    fc.assert(
      fc.property(scenario, ({ names, boundMs, pushes }) => {
        const buffer = new ReorderBuffer<number>(boundMs, names);
        const out: ReleasedItem<number>[] = [];
        let latestOut: HlcTimestamp | undefined;
        const lateExpected = new Set<number>();
        for (const push of pushes) {
          if (latestOut !== undefined && compareHlc(push.stamp, latestOut) < 0) lateExpected.add(push.id);
          buffer.push(push.id, push.stamp, push.source, push.nowMs);
          if (!push.takes) continue;
          for (const released of buffer.take(push.nowMs)) {
            out.push(released);
            if (!released.late && (latestOut === undefined || compareHlc(released.stamp, latestOut) > 0)) latestOut = released.stamp;
          }
        }
        out.push(...buffer.take(Number.MAX_SAFE_INTEGER));
        expect(out.map((released) => released.item).sort((a, b) => a - b)).toEqual(pushes.map((push) => push.id));
        const inOrder = out.filter((released) => !released.late);
        for (let i = 1; i < inOrder.length; i++) expect(compareHlc(inOrder[i - 1]!.stamp, inOrder[i]!.stamp)).toBeLessThan(0);
        expect(new Set(out.filter((released) => released.late).map((released) => released.item))).toEqual(lateExpected);
      }),
    );
  });

  it('holds no item longer than the bound: a take at time t releases everything pushed by t - bound', () => {
    fc.assert(
      fc.property(scenario, ({ names, boundMs, pushes }) => {
        const buffer = new ReorderBuffer<number>(boundMs, names);
        const pushedAt = new Map<number, number>();
        for (const push of pushes) {
          buffer.push(push.id, push.stamp, push.source, push.nowMs);
          pushedAt.set(push.id, push.nowMs);
          if (!push.takes) continue;
          for (const released of buffer.take(push.nowMs)) pushedAt.delete(released.item);
          for (const since of pushedAt.values()) expect(push.nowMs - since).toBeLessThan(boundMs);
        }
      }),
    );
  });

  it('marks nothing late when the items arrive in stamp order across all sources', () => {
    fc.assert(
      fc.property(scenario, ({ names, boundMs, pushes }) => {
        const sorted = [...pushes].sort((a, b) => compareHlc(a.stamp, b.stamp));
        const buffer = new ReorderBuffer<number>(boundMs, names);
        const out: ReleasedItem<number>[] = [];
        for (const [i, push] of sorted.entries()) {
          buffer.push(push.id, push.stamp, push.source, pushes[i]!.nowMs);
          out.push(...buffer.take(pushes[i]!.nowMs));
        }
        out.push(...buffer.take(Number.MAX_SAFE_INTEGER));
        expect(out.filter((released) => released.late)).toEqual([]);
        expect(out.map((released) => released.item)).toEqual(sorted.map((push) => push.id));
      }),
    );
  });
});
