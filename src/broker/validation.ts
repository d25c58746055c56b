// The checks a command must pass before the state machine acts on it, that
// need no state: names, sizes and shapes. They are exported so a leader can run
// the very same checks before it proposes (and refuse a bad publish without
// spending log space), but the verdict that counts is the one at apply time,
// because only that one is replicated and deterministic.
//
// Every rejection carries a stable code for programs and a sentence for people.

import { isHeaderName } from '../protocol/client-headers.js';
import { isValidPublishSubject } from '../protocol/client-subjects.js';
import { utf8Length } from '../protocol/bytes.js';
import type { ConsumerAckCommand, MessageHeaders, PublishCommand } from './commands.js';
import type { BrokerOptions } from './options.js';

export type RejectionCode =
  | 'topic-invalid'
  | 'topic-too-long'
  | 'streams-max'
  | 'payload-too-large'
  | 'headers-too-large'
  | 'header-invalid'
  | 'msg-id-invalid'
  | 'msg-id-too-long'
  | 'dedup-entries-max'
  | 'consumer-invalid'
  | 'consumer-too-long'
  | 'consumer-offsets-max'
  | 'topic-unknown'
  | 'offset-out-of-range'
  | 'undecodable'
  | 'max-msgs'
  | 'max-bytes'
  | 'max-msg-size'
  | 'no-stream'
  | 'stream-invalid'
  | 'stream-exists'
  | 'stream-not-found'
  | 'subjects-overlap';

export interface Rejection {
  readonly kind: 'rejected';
  readonly code: RejectionCode;
  readonly reason: string;
}

export function rejection(code: RejectionCode, reason: string): Rejection {
  return { kind: 'rejected', code, reason };
}

/** Why a publish cannot be stored whatever the state, or undefined when it passes. */
export function publishProblem(command: PublishCommand, options: BrokerOptions): Rejection | undefined {
  const topicProblem = topicNameProblem(command.topic, options);
  if (topicProblem !== undefined) return topicProblem;
  if (command.payload.length > options.payloadBytesMax) {
    return rejection('payload-too-large', `payload of ${command.payload.length} bytes exceeds payloadBytesMax ${options.payloadBytesMax}`);
  }
  const headerProblem = headersProblem(command.headers, options);
  if (headerProblem !== undefined) return headerProblem;
  if (command.msgId !== undefined) return msgIdProblem(command.msgId, options);
  return undefined;
}

/** Why an acknowledgement is malformed whatever the state, or undefined when it passes. */
export function consumerAckProblem(command: ConsumerAckCommand, options: BrokerOptions): Rejection | undefined {
  const consumerProblem = consumerNameProblem(command.consumer, options);
  if (consumerProblem !== undefined) return consumerProblem;
  const topicProblem = topicNameProblem(command.topic, options);
  if (topicProblem !== undefined) return topicProblem;
  if (!Number.isSafeInteger(command.offset) || command.offset < 1) {
    return rejection('offset-out-of-range', `acknowledged offset ${command.offset} is not an offset: offsets start at 1`);
  }
  return undefined;
}

function topicNameProblem(topic: string, options: BrokerOptions): Rejection | undefined {
  // The length first: it is cheap, and it keeps an absurd name away from the subject scan.
  const bytes = utf8Length(topic);
  if (bytes > options.topicNameBytesMax) {
    return rejection('topic-too-long', `topic name of ${bytes} bytes exceeds topicNameBytesMax ${options.topicNameBytesMax}`);
  }
  if (!isValidPublishSubject(topic)) {
    const rule = 'dot-separated non-empty tokens, no wildcards, no whitespace';
    return rejection('topic-invalid', `topic ${JSON.stringify(topic)} is not a literal subject (${rule})`);
  }
  return undefined;
}

function msgIdProblem(msgId: string, options: BrokerOptions): Rejection | undefined {
  // An empty Nats-Msg-Id would make every such publish a duplicate of the first; the node should send none instead.
  if (msgId.length === 0) return rejection('msg-id-invalid', 'message id is empty');
  const bytes = utf8Length(msgId);
  if (bytes > options.msgIdBytesMax) {
    return rejection('msg-id-too-long', `message id of ${bytes} bytes exceeds msgIdBytesMax ${options.msgIdBytesMax}`);
  }
  return undefined;
}

/*
 * Durable names follow JetStream's rule: no whitespace, no '.', '*' or '>'.
 * A name may later be embedded in a subject (an ack or info subject), where
 * those characters would change its meaning.
 */
const CONSUMER_FORBIDDEN = /[\s\x00-\x1f\x7f.*>]/u;

function consumerNameProblem(consumer: string, options: BrokerOptions): Rejection | undefined {
  const bytes = utf8Length(consumer);
  if (bytes > options.consumerNameBytesMax) {
    return rejection('consumer-too-long', `consumer name of ${bytes} bytes exceeds consumerNameBytesMax ${options.consumerNameBytesMax}`);
  }
  if (consumer.length === 0 || CONSUMER_FORBIDDEN.test(consumer)) {
    const rule = "is empty or has whitespace, a control character, '.', '*' or '>'";
    return rejection('consumer-invalid', `consumer name ${JSON.stringify(consumer)} ${rule}`);
  }
  return undefined;
}

/*
 * Header rules are the ones src/protocol/client-headers.ts encodeHeaderBlock
 * asserts, so every stored message can be delivered in an HMSG.
 */
const LINE_BREAK = /[\r\n]/;

function headersProblem(headers: MessageHeaders, options: BrokerOptions): Rejection | undefined {
  for (const [name, values] of headers) {
    if (!isHeaderName(name)) {
      return rejection('header-invalid', `header name ${JSON.stringify(name)} is empty or has a character outside printable ASCII, or ':'`);
    }
    if (values.length === 0) return rejection('header-invalid', `header ${name} has no values`);
    if (values.some((value) => LINE_BREAK.test(value))) return rejection('header-invalid', `header ${name} has a value with CR or LF`);
  }
  const bytes = headerBlockBytes(headers);
  if (bytes > options.headerBytesMax) {
    return rejection('headers-too-large', `header block of ${bytes} bytes exceeds headerBytesMax ${options.headerBytesMax}`);
  }
  return undefined;
}

const VERSION_LINE_BYTES = 'NATS/1.0\r\n'.length;
const BLANK_LINE_BYTES = 2;
/** ': ' between name and value, and CRLF after the value. */
const FIELD_LINE_OVERHEAD_BYTES = 4;

/**
 * The size of the NATS/1.0 header block that carries these headers in an HMSG
 * (without a status): what a subscriber receives, so what the limit should
 * count. No fields means no block at all, 0 bytes.
 */
export function headerBlockBytes(headers: MessageHeaders): number {
  if (headers.size === 0) return 0;
  let bytes = VERSION_LINE_BYTES + BLANK_LINE_BYTES;
  for (const [name, values] of headers) {
    const nameBytes = utf8Length(name);
    for (const value of values) bytes += nameBytes + FIELD_LINE_OVERHEAD_BYTES + utf8Length(value);
  }
  return bytes;
}
