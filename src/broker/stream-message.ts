// A stored message as the rest of chorus sees it, and what it counts toward a
// stream's limits. Kept apart from stream.ts so that the record codec and the
// message stores can use it without importing the stream itself.

import { utf8Length } from '../protocol/bytes.js';
import type { MessageHeaders } from './commands.js';
import { headerBlockBytes } from './validation.js';

/**
 * One stored message. `topic` is its subject and `offset` its stream
 * sequence: the names the client protocol and the rest of chorus have used
 * since before streams (see docs/protocol.md). Whoever holds one must not
 * mutate its arrays.
 */
export interface StreamMessage {
  readonly stream: string;
  readonly topic: string;
  readonly offset: number;
  readonly timestampMs: number;
  /** The hybrid logical clock's counter: (timestampMs, logical) strictly increases along the stream. */
  readonly logical: number;
  readonly headers: MessageHeaders;
  readonly payload: Uint8Array;
  readonly msgId?: string;
  /** What the message counts toward max_bytes and max_msg_size; see storedMessageBytes. */
  readonly bytes: number;
}

/**
 * What a message counts toward max_bytes and max_msg_size: its subject, its
 * header block as sent on the wire, and its payload, as nats-server counts
 * header and payload (and adds the subject for stored bytes).
 */
export function storedMessageBytes(subject: string, headers: MessageHeaders, payload: Uint8Array): number {
  return utf8Length(subject) + (headers.size === 0 ? 0 : headerBlockBytes(headers)) + payload.length;
}
