// CRC-32 (the IEEE polynomial, as zlib and Ethernet use) over a byte range. It
// guards every record on disk: a record whose bytes changed after they were
// written fails its check on the next start.

const TABLE = new Uint32Array(256);
for (let n = 0; n < 256; n++) {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  TABLE[n] = c >>> 0;
}

/**
 * The CRC-32 of bytes[start..end). To go on from an earlier run of bytes,
 * pass that run's CRC as `previous`: crc32(b, 0, n, crc32(a)) is the CRC of a
 * followed by b[0..n).
 */
export function crc32(bytes: Uint8Array, start = 0, end = bytes.length, previous = 0): number {
  let crc = (previous ^ 0xffffffff) >>> 0;
  for (let i = start; i < end; i++) crc = TABLE[(crc ^ bytes[i]!) & 0xff]! ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}
