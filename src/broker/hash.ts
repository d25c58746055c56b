// A small 64-bit running hash for the state machine's digest.
//
// The broker core cannot import the simulator's hash (sim/ sits outside the
// pure cores and depends on them, not the other way round), so it keeps its
// own. Two independent 32-bit lanes (FNV-1a and a murmur-style mix) make an
// accidental collision between two differing states very unlikely; nothing here
// is meant to resist an adversary, only to make divergent replicas disagree.

const TWO_POW_32 = 0x1_0000_0000;
const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;
const MURMUR_SEED = 0x9747b28c;
const MURMUR_MULTIPLIER = 0x5bd1e995;

export class Hash64 {
  private low = FNV_OFFSET;
  private high = MURMUR_SEED;

  /** Mixes one 32-bit word. */
  word(value: number): this {
    const word = value >>> 0;
    this.low = Math.imul(this.low ^ word, FNV_PRIME) >>> 0;
    this.high = Math.imul(this.high ^ word ^ (this.high >>> 15), MURMUR_MULTIPLIER) >>> 0;
    return this;
  }

  /** Mixes a non-negative safe integer exactly, as two words. */
  integer(value: number): this {
    return this.word(Math.floor(value / TWO_POW_32)).word(value % TWO_POW_32);
  }

  /** Mixes a string's UTF-16 code units, prefixed by its length so that concatenations differ. */
  text(value: string): this {
    this.word(value.length);
    for (let i = 0; i < value.length; i++) this.word(value.charCodeAt(i));
    return this;
  }

  /** Mixes bytes, prefixed by their length. */
  bytes(value: Uint8Array): this {
    this.word(value.length);
    // Four bytes a word: every stored payload is hashed once, so this is on the publish path.
    let i = 0;
    for (; i + 4 <= value.length; i += 4) this.word(value[i]! | (value[i + 1]! << 8) | (value[i + 2]! << 16) | (value[i + 3]! << 24));
    for (; i < value.length; i++) this.word(value[i]!);
    return this;
  }

  /** Mixes another hash's current value, to build a hash of hashes. */
  hash(other: Hash64): this {
    return this.word(other.low).word(other.high);
  }

  hex(): string {
    return this.high.toString(16).padStart(8, '0') + this.low.toString(16).padStart(8, '0');
  }

  /** The high 32 bits of the value, as an unsigned number: hex() without the string. */
  get highWord(): number {
    return this.high;
  }

  /** The low 32 bits of the value, as an unsigned number. */
  get lowWord(): number {
    return this.low;
  }
}
