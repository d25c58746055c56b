// What the broker says to a client, as bytes: INFO, MSG, HMSG, PING, PONG, +OK
// and -ERR of the NATS core client protocol (docs.nats.io "Client Protocol").
//
// The arguments come from the broker, not from the wire, so a value that
// would break the framing (a subject with a space, a reason with a line
// break) is a programmer error and asserts. Subjects and sids that reached
// the broker through ClientParser are already free of such characters.

import { assert } from '../raft/assert.js';
import type { HeaderBlock } from './client-commands.js';
import { encodeHeaderBlock } from './client-headers.js';

const CRLF = '\r\n';
const CRLF_BYTES = Uint8Array.of(0x0d, 0x0a);
/** One argument of a control line: no whitespace of any kind, no control characters. */
const ARGUMENT = /^[^\s\x00-\x1f\x7f]+$/u;
const LINE_BREAK = /[\r\n]/;

const encoder = new TextEncoder();

export interface MsgFrame {
  readonly subject: string;
  readonly sid: string;
  readonly replyTo?: string;
  readonly payload: Uint8Array;
}

export interface HMsgFrame extends MsgFrame {
  /** The header block: bytes to forward as they were published, or a block to encode. */
  readonly headers: Uint8Array | HeaderBlock;
}

/** `INFO {json}` — the server's description of itself, sent first and whenever it changes. */
export function encodeInfo(info: object): Uint8Array {
  const json = JSON.stringify(info);
  assert(typeof json === 'string' && json.startsWith('{'), 'INFO needs an object that serialises to a JSON object');
  return encoder.encode(`INFO ${json}${CRLF}`);
}

/** `MSG <subject> <sid> [reply-to] <#bytes>` and the payload. */
export function encodeMsg(frame: MsgFrame): Uint8Array {
  const line = ['MSG', ...addressOf(frame), String(frame.payload.length)].join(' ');
  return encodeFrame(line, [frame.payload]);
}

/** `HMSG <subject> <sid> [reply-to] <#header bytes> <#total bytes>`, the header block and the payload. */
export function encodeHMsg(frame: HMsgFrame): Uint8Array {
  const headerBytes = frame.headers instanceof Uint8Array ? frame.headers : encodeHeaderBlock(frame.headers);
  const total = headerBytes.length + frame.payload.length;
  const line = ['HMSG', ...addressOf(frame), String(headerBytes.length), String(total)].join(' ');
  return encodeFrame(line, [headerBytes, frame.payload]);
}

export function encodePing(): Uint8Array {
  return encoder.encode(`PING${CRLF}`);
}

export function encodePong(): Uint8Array {
  return encoder.encode(`PONG${CRLF}`);
}

/** `+OK`, the acknowledgement a client that connected with verbose:true expects after each command. */
export function encodeOk(): Uint8Array {
  return encoder.encode(`+OK${CRLF}`);
}

/** `-ERR '<reason>'`, quoted as nats-server quotes it. */
export function encodeErr(reason: string): Uint8Array {
  assert(!LINE_BREAK.test(reason), '-ERR reason must not contain CR or LF');
  return encoder.encode(`-ERR '${reason}'${CRLF}`);
}

/** A control line, then each body part, then CRLF after the body (when there is a body). */
export function encodeFrame(line: string, body: readonly Uint8Array[] | undefined): Uint8Array {
  assert(!LINE_BREAK.test(line), 'a control line must not contain CR or LF');
  const head = encoder.encode(line + CRLF);
  if (body === undefined) return head;
  const bodyLength = body.reduce((sum, part) => sum + part.length, 0);
  const bytes = new Uint8Array(head.length + bodyLength + CRLF_BYTES.length);
  bytes.set(head, 0);
  let offset = head.length;
  for (const part of body) {
    bytes.set(part, offset);
    offset += part.length;
  }
  bytes.set(CRLF_BYTES, offset);
  return bytes;
}

/** Asserts that `value` can stand as one argument of a control line, and returns it. */
export function argument(what: string, value: string): string {
  assert(ARGUMENT.test(value), `${what} ${JSON.stringify(value)} cannot be a protocol argument`);
  return value;
}

function addressOf(frame: MsgFrame): string[] {
  const address = [argument('subject', frame.subject), argument('sid', frame.sid)];
  if (frame.replyTo !== undefined) address.push(argument('reply subject', frame.replyTo));
  return address;
}
