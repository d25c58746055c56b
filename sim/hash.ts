/**
 * A 64-bit running hash built from two 32-bit lanes fed with numbers. It is not
 * cryptographic; it only has to make two different traces disagree. It runs
 * once or more for every simulated event, so each mix is kept to two multiplies.
 */
export class RunningHash {
  // The lanes are kept as signed 32-bit integers, which the engine stores as
  // small integers; unsigned values above 2^31 would be boxed doubles, and every
  // event mixes several numbers. hex() reads them back as unsigned.
  private low = 0x811c9dc5 | 0;
  private high = 0x01000193;

  /** Mixes a finite number (integers up to 2^53 in magnitude are mixed exactly). */
  mix(value: number): void {
    const lowWord = value >>> 0;
    // Exact for integers: the subtraction leaves a multiple of 2^32. Most values
    // fit in 32 bits, and for them the division is skipped.
    const highWord = value === lowWord ? 0 : ((value - lowWord) / 4294967296) >>> 0;
    const low = Math.imul(this.low ^ lowWord, 0x01000193);
    this.low = low;
    this.high = Math.imul(this.high ^ highWord ^ (low >>> 15) ^ (lowWord << 7), 0x5bd1e995);
  }

  mixString(text: string): void {
    this.mix(text.length);
    for (let i = 0; i < text.length; i++) this.mix(text.charCodeAt(i));
  }

  hex(): string {
    return (this.high >>> 0).toString(16).padStart(8, '0') + (this.low >>> 0).toString(16).padStart(8, '0');
  }
}

/** A 32-bit FNV-1a hash of a string's UTF-16 code units. */
export function hashString(text: string, seed = 0x811c9dc5): number {
  let hash = seed >>> 0;
  for (let i = 0; i < text.length; i++) hash = Math.imul(hash ^ text.charCodeAt(i), 0x01000193) >>> 0;
  return hash;
}

/** A 32-bit FNV-1a hash of bytes. */
export function hashBytes(bytes: Uint8Array, seed = 0x811c9dc5): number {
  let hash = seed >>> 0;
  for (let i = 0; i < bytes.length; i++) hash = Math.imul(hash ^ bytes[i]!, 0x01000193) >>> 0;
  return hash;
}

/** Combines a 32-bit chain value with three more numbers into the next one. */
export function chainHash(previous: number, a: number, b: number, c: number): number {
  let hash = Math.imul(previous ^ 0x9e3779b9, 0x85ebca6b) >>> 0;
  hash = Math.imul(hash ^ (a >>> 0), 0xc2b2ae35) >>> 0;
  hash = Math.imul(hash ^ (b >>> 0) ^ (hash >>> 13), 0x85ebca6b) >>> 0;
  hash = Math.imul(hash ^ (c >>> 0) ^ (hash >>> 16), 0xc2b2ae35) >>> 0;
  return hash;
}
