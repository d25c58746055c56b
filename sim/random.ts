import seedrandom from 'seedrandom';
import type { RandomSource } from '../src/raft/config.js';

/**
 * A seeded random stream. Each subsystem draws from its own stream, derived from the
 * run's seed and the subsystem's name, so that an extra draw in one subsystem never
 * shifts another's sequence.
 */
export class SimRandom implements RandomSource {
  /**
   * Alea's state (s0, s1, s2, c) in one typed array. Alea is fast, gives 32-bit
   * quality floats, and is seeded from a string; seedrandom's Alea derives the
   * starting state and this class steps it with the very same arithmetic, so the
   * sequence is unchanged. Stepping it here rather than through seedrandom's
   * closure keeps the doubles unboxed: seedrandom stores them in object fields
   * that the engine boxes, so every draw allocated a number on the heap, and
   * every message, disk write and tick draws.
   */
  private readonly state = new Float64Array(4);

  constructor(readonly seed: string) {
    const initial = seedrandom.alea(seed, { state: true }).state();
    this.state[0] = initial.s0;
    this.state[1] = initial.s1;
    this.state[2] = initial.s2;
    this.state[3] = initial.c;
  }

  /** One step of Alea: the next float in [0, 1). */
  private prng(): number {
    const state = this.state;
    const t = 2091639 * state[0]! + state[3]! * 2.3283064365386963e-10; // 2^-32
    state[0] = state[1]!;
    state[1] = state[2]!;
    const c = t | 0;
    state[3] = c;
    const next = t - c;
    state[2] = next;
    return next;
  }

  /** The sub-stream `name` of a run seeded with `seed`. */
  static stream(seed: number | string, name: string): SimRandom {
    return new SimRandom(`chorus/${String(seed)}/${name}`);
  }

  nextFloat(): number {
    return this.prng();
  }

  /** An integer in [min, max]. */
  int(min: number, max: number): number {
    return min + Math.floor(this.prng() * (max - min + 1));
  }

  /** A float in [min, max). */
  between(min: number, max: number): number {
    return min + this.prng() * (max - min);
  }

  chance(probability: number): boolean {
    return probability > 0 && this.prng() < probability;
  }

  /** Exponentially distributed with the given mean. */
  exponential(mean: number): number {
    return -Math.log(1 - this.prng()) * mean;
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new Error('pick from an empty list');
    return items[Math.floor(this.prng() * items.length)]!;
  }

  shuffle<T>(items: readonly T[]): T[] {
    const out = items.slice();
    for (let i = out.length - 1; i > 0; i--) {
      const j = Math.floor(this.prng() * (i + 1));
      [out[i], out[j]] = [out[j]!, out[i]!];
    }
    return out;
  }
}
