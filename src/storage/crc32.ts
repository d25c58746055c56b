// CRC-32 (the IEEE polynomial, as zlib and Ethernet use) over a byte range. It
// guards every record on disk: a record whose bytes changed after they were
// written fails its check on the next start.
//
// A restart checks every byte the streams keep, so the loop takes eight bytes
// a step ("slicing by 8"): eight tables, where table k gives the CRC
// contribution of a byte followed by k zero bytes, so eight lookups replace
// eight dependent shift-and-lookup rounds. It is several times faster than the
// byte-at-a-time loop, which finishes the last few bytes.

const POLYNOMIAL = 0xedb88320;
const TABLES: Uint32Array[] = [];
TABLES.push(new Uint32Array(256));
for (let n = 0; n < 256; n++) {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? POLYNOMIAL ^ (c >>> 1) : c >>> 1;
  TABLES[0]![n] = c >>> 0;
}
for (let k = 1; k < 8; k++) {
  const previous = TABLES[k - 1]!;
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) table[n] = (previous[n]! >>> 8) ^ TABLES[0]![previous[n]! & 0xff]!;
  TABLES.push(table);
}
const [T0, T1, T2, T3, T4, T5, T6, T7] = TABLES as [Uint32Array, Uint32Array, Uint32Array, Uint32Array, Uint32Array, Uint32Array, Uint32Array, Uint32Array];

/**
 * The CRC-32 of bytes[start..end). To go on from an earlier run of bytes,
 * pass that run's CRC as `previous`: crc32(b, 0, n, crc32(a)) is the CRC of a
 * followed by b[0..n).
 */
export function crc32(bytes: Uint8Array, start = 0, end = bytes.length, previous = 0): number {
  let crc = (previous ^ 0xffffffff) >>> 0;
  let i = start;
  for (; i + 8 <= end; i += 8) {
    const low = crc ^ (bytes[i]! | (bytes[i + 1]! << 8) | (bytes[i + 2]! << 16) | (bytes[i + 3]! << 24));
    crc =
      T7[low & 0xff]! ^
      T6[(low >>> 8) & 0xff]! ^
      T5[(low >>> 16) & 0xff]! ^
      T4[low >>> 24]! ^
      T3[bytes[i + 4]!]! ^
      T2[bytes[i + 5]!]! ^
      T1[bytes[i + 6]!]! ^
      T0[bytes[i + 7]!]!;
  }
  for (; i < end; i++) crc = T0[(crc ^ bytes[i]!) & 0xff]! ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}
