import type { RaftMessage } from './types.js';

// Sizes under the peer frame layout: a 1-byte type, 4-byte group, from and to,
// an 8-byte term, then the fields of each type as fixed-width integers, and for
// each entry an 8-byte index and term, a 1-byte kind, a 4-byte length and the data.
const HEADER_BYTES = 1 + 4 + 4 + 4 + 8;
const ENTRY_OVERHEAD_BYTES = 8 + 8 + 1 + 4;

/** The bytes a message takes on the wire, used for traffic accounting and limits. */
export function encodedSizeBytes(message: RaftMessage): number {
  switch (message.type) {
    case 'VoteRequest':
      return HEADER_BYTES + 1 + 8 + 8;
    case 'VoteResponse':
      return HEADER_BYTES + 1 + 1;
    case 'AppendRequest': {
      let bytes = HEADER_BYTES + 8 + 8 + 8 + 4;
      for (const entry of message.entries) bytes += ENTRY_OVERHEAD_BYTES + entry.data.length;
      return bytes;
    }
    case 'AppendResponse':
      return HEADER_BYTES + 1 + 8 + 8 + 8 + 8;
    case 'Heartbeat':
      return HEADER_BYTES + 8;
    case 'HeartbeatResponse':
      return HEADER_BYTES;
  }
}
