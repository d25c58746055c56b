import seedrandom from 'seedrandom';
import type { RandomSource } from '../src/raft/config.js';

/**
 * A seeded random stream. Each subsystem draws from its own stream, derived from the
 * run's seed and the subsystem's name, so that an extra draw in one subsystem never
 * shifts another's sequence.
 */
export class SimRandom implements RandomSource {
  private readonly prng: seedrandom.PRNG;

  constructor(readonly seed: string) {
    // Alea: fast, 32-bit quality floats, and explicitly seedable from a string.
    this.prng = seedrandom.alea(seed);
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
