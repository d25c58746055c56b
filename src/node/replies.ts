// What the node core writes back to clients beyond the plain NATS frames: the
// JetStream-style PubAck a publish with a reply subject gets, the reply subject
// that carries a stored message's offset to an XSUB subscriber, and the frames
// of STATUS and HISTORY. docs/protocol.md documents each of them.

import type { StoredMessage } from '../broker/state-machine.js';
import type { RejectionCode } from '../broker/validation.js';
import { encodeHeaderBlock } from '../protocol/client-headers.js';
import { encodeFrame, argument } from '../protocol/client-encoder.js';
import type { AckRecorded, CommandFailed, PublishFailure, PublishResult } from './peer-messages.js';

const encoder = new TextEncoder();

/** HTTP-like codes, as JetStream's API errors carry them: 503 retry later, 400 bad request, 413 too large. */
const FAILURE_CODES: Readonly<Record<PublishFailure, number>> = {
  'no-leader': 503,
  'not-leader': 503,
  overloaded: 503,
  superseded: 503,
  timeout: 503,
  'leader-changed': 503,
  rejected: 400,
  'too-large': 413,
};

/**
 * JetStream's API error for a refusal it has one for: the code and err_code its
 * clients already know (nats-server's errors.json); the description is ours.
 */
const JETSTREAM_ERRORS: Partial<Readonly<Record<RejectionCode, { readonly code: number; readonly errCode: number }>>> = {
  'max-msgs': { code: 503, errCode: 10077 },
  'max-bytes': { code: 503, errCode: 10077 },
  'max-msg-size': { code: 400, errCode: 10054 },
  'stream-not-found': { code: 404, errCode: 10059 },
  'no-stream': { code: 404, errCode: 10059 },
  'stream-exists': { code: 400, errCode: 10058 },
  'subjects-overlap': { code: 400, errCode: 10065 },
  'stream-invalid': { code: 500, errCode: 10052 },
};

/** JetStream's err_code for a rejection, or undefined where JetStream has none. */
export function jetStreamErrCode(code: RejectionCode): number | undefined {
  return JETSTREAM_ERRORS[code]?.errCode;
}

/** The HTTP-like code that goes with a JetStream err_code, as nats-server sends them together. */
export function codeOfErrCode(errCode: number): number | undefined {
  for (const error of Object.values(JETSTREAM_ERRORS)) if (error?.errCode === errCode) return error.code;
  return undefined;
}

/**
 * `{"stream":"<stream>","seq":N[,"duplicate":true]}`, as JetStream's PubAck, with
 * the message's timestamp; or `{"error":{...}}` naming what went wrong.
 */
export function pubAckJson(result: PublishResult): Uint8Array {
  if (result.kind === 'acked') {
    const ack: Record<string, unknown> = { stream: result.stream, seq: result.offset, ts: result.timestampMs, hlc: `${result.timestampMs}.${result.logical}` };
    if (result.duplicate) ack.duplicate = true;
    return encoder.encode(JSON.stringify(ack));
  }
  return errorJson(result);
}

/** `{"consumer":"<name>","stream":"<topic>","ack":N}`: the consumer's acknowledged offset once the ack is applied. */
export function ackJson(result: AckRecorded | CommandFailed): Uint8Array {
  if (result.kind === 'failed') return errorJson(result);
  return encoder.encode(JSON.stringify({ consumer: result.consumer, stream: result.topic, ack: result.offset }));
}

function errorJson(failure: CommandFailed): Uint8Array {
  const error: Record<string, unknown> = {
    code: (failure.errCode === undefined ? undefined : codeOfErrCode(failure.errCode)) ?? FAILURE_CODES[failure.reason],
    ...(failure.errCode === undefined ? {} : { err_code: failure.errCode }),
    reason: failure.reason,
    description: failure.message,
    retryable: failure.retryable,
  };
  if (failure.leaderHint !== 0) error.leader = failure.leaderHint;
  return encoder.encode(JSON.stringify({ error }));
}

/**
 * Reserved subjects. Nothing under them is stored. `$CHORUS.ACK.<consumer>.<offset>.<ms>.<topic>`
 * is the reply subject of a message delivered to a durable consumer, and publishing
 * to it acknowledges; `$CHORUS.MSG.<offset>.<ms>.<topic>` is the reply subject of
 * any other XSUB delivery, and publishing to it does nothing.
 */
export const RESERVED_PREFIX = '$CHORUS.';
const ACK_PREFIX = '$CHORUS.ACK.';
const MSG_PREFIX = '$CHORUS.MSG.';
/** Request/reply subjects: delivered to subscribers on every node, never stored. */
export const INBOX_PREFIX = '_INBOX.';

/** `Chorus-Late: true` marks an ORDERED delivery that comes after a later-stamped one. */
export const LATE_HEADER = 'Chorus-Late';

export function deliveryReplySubject(message: StoredMessage, consumer: string | undefined): string {
  const meta = `${message.offset}.${message.timestampMs}.${message.topic}`;
  return consumer === undefined ? MSG_PREFIX + meta : `${ACK_PREFIX}${consumer}.${meta}`;
}

/** Reads an acknowledgement subject; undefined when the subject is not one. */
export function parseAckSubject(subject: string): { consumer: string; offset: number; topic: string } | undefined {
  if (!subject.startsWith(ACK_PREFIX)) return undefined;
  const tokens = subject.slice(ACK_PREFIX.length).split('.');
  if (tokens.length < 4) return undefined;
  const [consumer, offsetText, timestampText] = tokens as [string, string, string];
  const offset = Number(offsetText);
  if (!/^[0-9]+$/.test(offsetText) || !Number.isSafeInteger(offset) || offset < 1) return undefined;
  if (!/^[0-9]+$/.test(timestampText)) return undefined;
  return { consumer, offset, topic: tokens.slice(3).join('.') };
}

export function isMsgMetadataSubject(subject: string): boolean {
  return subject.startsWith(MSG_PREFIX);
}

/** `STATUS {json}` */
export function encodeStatus(status: object): Uint8Array {
  return encodeFrame(`STATUS ${JSON.stringify(status)}`, undefined);
}

/** `HISTORY <topic> <count> <last offset>`, announcing `count` ENTRY frames. */
export function encodeHistoryHead(topic: string, count: number, lastOffset: number): Uint8Array {
  return encodeFrame(`HISTORY ${argument('topic', topic)} ${count} ${lastOffset}`, undefined);
}

/** `ENTRY <topic> <offset> <timestamp ms> <#header bytes> <#total bytes>`, the header block and the payload. */
export function encodeEntry(message: StoredMessage): Uint8Array {
  const headerBytes = message.headers.size === 0 ? new Uint8Array(0) : encodeHeaderBlock({ statusDescription: '', fields: message.headers });
  const total = headerBytes.length + message.payload.length;
  const line = `ENTRY ${argument('topic', message.topic)} ${message.offset} ${message.timestampMs} ${headerBytes.length} ${total}`;
  return encodeFrame(line, [headerBytes, message.payload]);
}
