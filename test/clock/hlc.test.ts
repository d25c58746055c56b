import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compareHlc, HybridLogicalClock, type HlcTimestamp } from '../../src/clock/hlc.js';
import { OffsetEstimator, offsetSample } from '../../src/clock/offset-estimator.js';

// The rules of Kulkarni et al. (2014), checked as properties over random
// clocks, skews and message exchanges, and the SNTP offset estimate.

describe('HybridLogicalClock', () => {
  it('follows the paper on a worked example', () => {
    const clock = new HybridLogicalClock();
    expect(clock.now(10)).toEqual({ l: 10, c: 0 });
    expect(clock.now(10)).toEqual({ l: 10, c: 1 });
    // The physical clock went back: l holds, c counts on.
    expect(clock.now(7)).toEqual({ l: 10, c: 2 });
    // A message from the future: l jumps to it, c follows the message's.
    expect(clock.receive({ l: 20, c: 5 }, 12)).toEqual({ l: 20, c: 6 });
    // Physical time overtakes everything: c resets.
    expect(clock.now(25.7)).toEqual({ l: 25, c: 0 });
    // A clock reading before the epoch counts as 0, so it cannot move l below the start.
    expect(new HybridLogicalClock().now(-50)).toEqual({ l: 0, c: 1 });
  });

  const step = fc.oneof(
    fc.record({ kind: fc.constant('now' as const), pt: fc.integer({ min: -1000, max: 100_000 }) }),
    fc.record({
      kind: fc.constant('receive' as const),
      pt: fc.integer({ min: -1000, max: 100_000 }),
      remote: fc.record({ l: fc.integer({ min: 0, max: 100_000 }), c: fc.integer({ min: 0, max: 50 }) }),
    }),
  );

  it('never goes backwards, and a receipt is later than what was received', () => {
    fc.assert(
      fc.property(fc.array(step, { maxLength: 200 }), (steps) => {
        const clock = new HybridLogicalClock();
        let previous: HlcTimestamp = clock.last;
        for (const s of steps) {
          const next = s.kind === 'now' ? clock.now(s.pt) : clock.receive(s.remote, s.pt);
          expect(compareHlc(next, previous)).toBeGreaterThan(0);
          if (s.kind === 'receive') expect(compareHlc(next, s.remote)).toBeGreaterThan(0);
          expect(next.l).toBeGreaterThanOrEqual(Math.max(0, s.pt));
          previous = next;
        }
      }),
    );
  });

  it('stays within the largest clock offset of true time across a cluster exchanging messages', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: -500, max: 500 }), { minLength: 2, maxLength: 5 }),
        fc.array(fc.record({ from: fc.nat(), to: fc.nat(), advance: fc.integer({ min: 0, max: 50 }), delay: fc.integer({ min: 0, max: 40 }) }), { maxLength: 150 }),
        (offsets, exchanges) => {
          const maxOffset = Math.max(...offsets.map(Math.abs));
          const clocks = offsets.map(() => new HybridLogicalClock());
          let trueMs = 10_000;
          for (const exchange of exchanges) {
            const from = exchange.from % clocks.length;
            const to = exchange.to % clocks.length;
            trueMs += exchange.advance;
            const sent = clocks[from]!.now(trueMs + offsets[from]!);
            const received = clocks[to]!.receive(sent, trueMs + exchange.delay + offsets[to]!);
            trueMs += exchange.delay;
            expect(sent.l - trueMs).toBeLessThanOrEqual(maxOffset);
            expect(received.l - trueMs).toBeLessThanOrEqual(maxOffset);
          }
        },
      ),
    );
  });
});

describe('OffsetEstimator', () => {
  it('estimates within half the round trip of the true offset, exactly when delays are equal', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: -100_000, max: 100_000 }),
        fc.integer({ min: 0, max: 200 }),
        fc.integer({ min: 0, max: 200 }),
        fc.integer({ min: 0, max: 20 }),
        (offset, there, back, processing) => {
          const t1 = 1_000_000;
          const t2 = t1 + there + offset;
          const t3 = t2 + processing;
          const t4 = t3 - offset + back;
          const sample = offsetSample(t1, t2, t3, t4);
          expect(sample.roundTripMs).toBe(there + back);
          expect(Math.abs(sample.offsetMs - offset)).toBeLessThanOrEqual(sample.roundTripMs / 2);
          if (there === back) expect(sample.offsetMs).toBe(offset);
        },
      ),
    );
  });

  it('follows the sample with the smallest round trip among the recent ones', () => {
    const estimator = new OffsetEstimator(3);
    expect(estimator.estimate()).toBeUndefined();
    estimator.add({ offsetMs: 40, roundTripMs: 30 });
    estimator.add({ offsetMs: 12, roundTripMs: 2 });
    estimator.add({ offsetMs: 25, roundTripMs: 10 });
    expect(estimator.estimate()).toEqual({ offsetMs: 12, roundTripMs: 2, samples: 3 });
    estimator.add({ offsetMs: 30, roundTripMs: 8 });
    estimator.add({ offsetMs: 35, roundTripMs: 9 });
    // The best sample aged out of the window of 3.
    expect(estimator.estimate()).toEqual({ offsetMs: 30, roundTripMs: 8, samples: 3 });
    estimator.add({ offsetMs: Number.NaN, roundTripMs: 1 });
    expect(estimator.estimate()?.samples).toBe(3);
  });
});
