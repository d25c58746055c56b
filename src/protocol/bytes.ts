// Fixed-width big-endian readers and writers, shared by the binary codecs (the
// peer codec and the broker's command codec). The writer asserts, because it
// only ever sees values our own core built; the reader never throws, because it
// reads bytes from a peer or from the log, which a bug, an attacker or a damaged
// disk may have filled with anything.

import { assert } from '../raft/assert.js';

const UINT16_MAX = 0xffff;
const UINT32_MAX = 0xffff_ffff;
const TWO_POW_32 = 0x1_0000_0000;
/** The high word of Number.MAX_SAFE_INTEGER (2^53-1). */
const SAFE_HIGH_MAX = 0x1f_ffff;

const utf8Encoder = new TextEncoder();
/*
 * ignoreBOM keeps a leading U+FEFF in the string instead of dropping it, so
 * decoding then encoding gives back the same bytes: one encoding per command.
 */
const utf8Decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** A lone surrogate has no UTF-8 form; TextEncoder would silently turn it into U+FFFD. */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/u;

/** The UTF-8 bytes of a string; a string with a lone surrogate is a programmer error. */
export function utf8(text: string, what: string): Uint8Array {
  assert(!LONE_SURROGATE.test(text), `${what} contains a lone surrogate and has no UTF-8 form`);
  return utf8Encoder.encode(text);
}

/** Strings kept by utf8Repeated, at most; the cache starts over when full. */
const REPEATED_CACHE_MAX = 4096;
/** Longer strings are encoded every time: they are unlikely to repeat, and would make the cache large. */
const REPEATED_LENGTH_MAX = 256;
const repeatedBytes = new Map<string, Uint8Array>();

/**
 * utf8() for short strings that come again and again (subjects, header
 * names): each is checked and encoded once, then its bytes are reused. The
 * bytes are shared, so callers must only read them.
 */
export function utf8Repeated(text: string, what: string): Uint8Array {
  const known = repeatedBytes.get(text);
  if (known !== undefined) return known;
  const bytes = utf8(text, what);
  if (text.length <= REPEATED_LENGTH_MAX) {
    if (repeatedBytes.size >= REPEATED_CACHE_MAX) repeatedBytes.clear();
    repeatedBytes.set(text, bytes);
  }
  return bytes;
}

/** UTF-8 length without allocating, for limit checks on hot paths. Counts a lone surrogate as 3 (as U+FFFD). */
export function utf8Length(text: string): number {
  let bytes = 0;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 0x80) bytes += 1;
    else if (code < 0x800) bytes += 2;
    else if (code >= 0xd800 && code <= 0xdbff && i + 1 < text.length && isLowSurrogate(text.charCodeAt(i + 1))) {
      bytes += 4;
      i += 1;
    } else bytes += 3;
  }
  return bytes;
}

function isLowSurrogate(code: number): boolean {
  return code >= 0xdc00 && code <= 0xdfff;
}

export class ByteWriter {
  private readonly view: DataView;

  constructor(
    readonly bytes: Uint8Array,
    public offset = 0,
  ) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  bool(value: boolean): void {
    this.u8(value ? 1 : 0);
  }

  u8(value: number): void {
    this.view.setUint8(this.offset, value);
    this.offset += 1;
  }

  u16(value: number, what: string): void {
    assert(Number.isInteger(value) && value >= 0 && value <= UINT16_MAX, `${what} ${value} does not fit in a uint16`);
    this.view.setUint16(this.offset, value);
    this.offset += 2;
  }

  u32(value: number, what: string): void {
    assert(Number.isInteger(value) && value >= 0 && value <= UINT32_MAX, `${what} ${value} does not fit in a uint32`);
    this.view.setUint32(this.offset, value);
    this.offset += 4;
  }

  u64(value: number, what: string): void {
    assert(Number.isSafeInteger(value) && value >= 0, `${what} must be a non-negative safe integer, got ${value}`);
    this.view.setUint32(this.offset, Math.floor(value / TWO_POW_32));
    this.view.setUint32(this.offset + 4, value >>> 0);
    this.offset += 8;
  }

  raw(data: Uint8Array): void {
    this.bytes.set(data, this.offset);
    this.offset += data.length;
  }
}

/**
 * Reads without ever throwing. The first problem is kept in `error` and every
 * later read returns a zero value, so a caller checks once, and before any loop
 * or allocation a bad length could inflate.
 */
export class ByteReader {
  offset = 0;
  error: string | undefined = undefined;
  private readonly view: DataView;

  constructor(private readonly bytes: Uint8Array) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  get failed(): boolean {
    return this.error !== undefined;
  }

  get remaining(): number {
    return this.bytes.length - this.offset;
  }

  fail(problem: string): void {
    if (this.error === undefined) this.error = problem;
  }

  u8(what: string): number {
    if (!this.need(1, what)) return 0;
    const value = this.view.getUint8(this.offset);
    this.offset += 1;
    return value;
  }

  u16(what: string): number {
    if (!this.need(2, what)) return 0;
    const value = this.view.getUint16(this.offset);
    this.offset += 2;
    return value;
  }

  u32(what: string): number {
    if (!this.need(4, what)) return 0;
    const value = this.view.getUint32(this.offset);
    this.offset += 4;
    return value;
  }

  u64(what: string): number {
    if (!this.need(8, what)) return 0;
    const high = this.view.getUint32(this.offset);
    const low = this.view.getUint32(this.offset + 4);
    if (high > SAFE_HIGH_MAX) {
      this.fail(`${what} at byte ${this.offset} exceeds 2^53-1 (high word 0x${high.toString(16)})`);
      return 0;
    }
    this.offset += 8;
    return high * TWO_POW_32 + low;
  }

  bool(what: string): boolean {
    const at = this.offset;
    const value = this.u8(what);
    if (value > 1) this.fail(`${what} at byte ${at} is 0x${value.toString(16)}, not a boolean (0 or 1)`);
    return value === 1;
  }

  /** A copy, so a decoded value never aliases a buffer the caller may reuse. */
  copy(length: number, what: string): Uint8Array {
    if (!this.need(length, what)) return new Uint8Array(0);
    const data = this.bytes.slice(this.offset, this.offset + length);
    this.offset += length;
    return data;
  }

  /** A string of `length` UTF-8 bytes; invalid UTF-8 is an error (so each string has one encoding). */
  text(length: number, what: string): string {
    const start = this.offset;
    if (!this.need(length, what)) return '';
    const slice = this.bytes.subarray(start, start + length);
    this.offset += length;
    try {
      return utf8Decoder.decode(slice);
    } catch {
      this.fail(`${what} at byte ${start} is not valid UTF-8`);
      return '';
    }
  }

  private need(count: number, what: string): boolean {
    if (this.error !== undefined) return false;
    const remaining = this.bytes.length - this.offset;
    if (remaining >= count) return true;
    this.error = `truncated: ${what} at byte ${this.offset} needs ${count} bytes, ${remaining} remain`;
    return false;
  }
}
