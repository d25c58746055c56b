import type { RaftMessage } from './types.js';

// Sizes under the peer message layout of src/protocol/peer-codec.ts (its header
// comment has the full table): a 1-byte type, 4-byte group, from and to, an 8-byte
// term, then the fields of each type in order (a boolean is 1 byte, a term, index,
// commit or seq 8, the entry count 4), and for each entry an 8-byte index and term,
// a 1-byte kind, a 4-byte length and the data. The frame's 4-byte length prefix is
// not counted. The encoder asserts that it writes exactly this many bytes, and
// test/protocol/peer-codec.test.ts checks it over random messages of every type.
const HEADER_BYTES = 1 + 4 + 4 + 4 + 8;
const ENTRY_OVERHEAD_BYTES = 8 + 8 + 1 + 4;
/** snapshotIndex, snapshotTerm, size, crc, offset and the data's length. */
export const INSTALL_SNAPSHOT_FIXED_BYTES = HEADER_BYTES + 8 + 8 + 8 + 4 + 8 + 4;

/** The bytes a message takes on the wire, used for traffic accounting and limits. */
export function encodedSizeBytes(message: RaftMessage): number {
  switch (message.type) {
    case 'VoteRequest':
      return HEADER_BYTES + 1 + 8 + 8 + 1;
    case 'VoteResponse':
      return HEADER_BYTES + 1 + 1;
    case 'AppendRequest': {
      let bytes = HEADER_BYTES + 8 + 8 + 8 + 4;
      const entries = message.entries;
      for (let i = 0; i < entries.length; i++) bytes += ENTRY_OVERHEAD_BYTES + entries[i]!.data.length;
      return bytes;
    }
    case 'AppendResponse':
      return HEADER_BYTES + 1 + 8 + 8 + 8 + 8;
    case 'Heartbeat':
      return HEADER_BYTES + 8 + 8;
    case 'HeartbeatResponse':
      return HEADER_BYTES + 8 + 8 + 8;
    case 'TimeoutNow':
      return HEADER_BYTES;
    case 'InstallSnapshot':
      return INSTALL_SNAPSHOT_FIXED_BYTES + message.data.length;
    case 'InstallSnapshotResponse':
      return HEADER_BYTES + 8 + 8 + 1;
  }
}
