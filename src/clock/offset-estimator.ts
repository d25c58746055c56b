// Estimating another node's clock offset and the round trip to it, the way
// SNTP does, from the four timestamps of one request and its answer:
//   t1: we send (our clock)       t2: the peer receives (its clock)
//   t3: the peer answers (its)    t4: we receive the answer (ours)
//   offset = ((t2 - t1) + (t3 - t4)) / 2     round trip = (t4 - t1) - (t3 - t2)
// With equal delays each way the offset is exact; with unequal ones it is off
// by at most half the round trip. Samples are smoothed: the estimate follows
// the samples of the smallest round trips among the recent ones, which are
// the least distorted by queueing (as NTP's clock filter does).

export interface OffsetSample {
  /** The peer's clock minus ours, in ms. */
  readonly offsetMs: number;
  readonly roundTripMs: number;
}

export interface OffsetEstimate {
  readonly offsetMs: number;
  readonly roundTripMs: number;
  /** Samples it rests on. */
  readonly samples: number;
}

export function offsetSample(t1: number, t2: number, t3: number, t4: number): OffsetSample {
  return { offsetMs: (t2 - t1 + (t3 - t4)) / 2, roundTripMs: Math.max(0, t4 - t1 - (t3 - t2)) };
}

/** Keeps the last `windowMax` samples of one peer and estimates from the best of them. */
export class OffsetEstimator {
  private readonly window: OffsetSample[] = [];

  constructor(private readonly windowMax = 8) {
    if (!Number.isInteger(windowMax) || windowMax < 1) throw new Error(`windowMax must be a positive integer, got ${windowMax}`);
  }

  add(sample: OffsetSample): void {
    if (!Number.isFinite(sample.offsetMs) || !Number.isFinite(sample.roundTripMs)) return;
    this.window.push(sample);
    if (this.window.length > this.windowMax) this.window.shift();
  }

  /** The offset of the sample with the smallest round trip in the window; undefined before any sample. */
  estimate(): OffsetEstimate | undefined {
    if (this.window.length === 0) return undefined;
    let best = this.window[0]!;
    for (const sample of this.window) if (sample.roundTripMs < best.roundTripMs) best = sample;
    return { offsetMs: best.offsetMs, roundTripMs: best.roundTripMs, samples: this.window.length };
  }
}
