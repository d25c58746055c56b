// The client side of the NATS core text protocol, as the broker reads it: a
// pure incremental state machine in the manner of nats.js and nats-server. It
// is fed whatever split of bytes the transport delivers (one byte at a time
// included) and yields the same commands and errors, in the same order, for
// every split of the same bytes.
//
// Framing (docs.nats.io "Client Protocol"; nats-server server/parser.go):
// - A control line is a verb (any letter case) and arguments separated by
//   runs of spaces and tabs, ended by CRLF. Like nats-server, a bare LF also
//   ends a control line (the CR before the LF is optional), which lets a
//   person type to the broker with `nc` without -C. PUB and HPUB are followed
//   by exactly the declared number of payload bytes and then exactly CRLF; a
//   bare LF there is an error, as it is in nats-server.
// - An empty line is an unknown operation, as in nats-server.
// - CONNECT's JSON may follow the verb directly (`CONNECT{...}`), as
//   nats-server allows; every other verb that takes arguments needs a space
//   or tab after it.
//
// Where chorus is stricter than nats-server, on purpose: PING and PONG with
// trailing text ('PING foo') are unknown operations (nats-server ignores the
// text); a client sending a server verb (INFO, MSG, HMSG, +OK, -ERR) gets
// 'Unknown Protocol Operation' and is closed; the control line limit is
// enforced exactly (nats-server checks it only when a line spans reads); a
// control line must be UTF-8; an UNSUB max that is not a count is a parser
// error (nats-server reads it as "no max"); publish and reply subjects are
// always checked, not only in pedantic mode, and a refused one drops the
// message (see client-subjects.ts); a header block must be well formed
// (client-headers.ts), since the broker reads it.
//
// Errors are values (client-errors.ts). After an error that closes the
// connection the parser stays failed and ignores all further bytes.

import { assert, unreachable } from '../raft/assert.js';
import { DEFAULT_REORDER_BOUND_MS, REORDER_BOUND_MS_MAX, type ClientParseOutput } from './client-commands.js';
import { parseConnectOptions } from './client-connect.js';
import {
  badArguments,
  badHeader,
  CONSUMER_NAME,
  controlLineExceeded,
  invalidPublishSubject,
  invalidSubject,
  maxPayloadViolation,
  parserError,
  type ProtocolError,
  snippet,
  unknownOperation,
} from './client-errors.js';
import { decodeHeaderBlock } from './client-headers.js';
import { isValidPublishSubject, isValidSubject } from './client-subjects.js';

export interface ClientParserOptions {
  /** Longest control line accepted, in bytes, not counting its CRLF (nats-server max_control_line). */
  readonly controlLineBytesMax?: number;
  /** Largest PUB payload, or HPUB header plus payload, in bytes (nats-server max_payload). */
  readonly payloadBytesMax?: number;
  /** Largest HPUB header block, in bytes. nats-server has no separate limit; this one is tighter. */
  readonly headerBytesMax?: number;
}

export const CLIENT_PARSER_DEFAULTS = {
  controlLineBytesMax: 4096,
  payloadBytesMax: 1024 * 1024,
  headerBytesMax: 64 * 1024,
} as const satisfies Required<ClientParserOptions>;

/** A control line must fit at least the longest verb and a short argument. */
const CONTROL_LINE_BYTES_MIN = 16;

const LF = 0x0a;
const CR = 0x0d;
const SPACE = 0x20;
const TAB = 0x09;

const VERBS = ['connect', 'pub', 'hpub', 'sub', 'unsub', 'ping', 'pong', 'xsub', 'ack', 'status', 'history'] as const;
const VERB_PREFIXES: ReadonlySet<string> = new Set(
  VERBS.flatMap((verb) => Array.from({ length: verb.length }, (_, end) => verb.slice(0, end + 1))),
);
const CONNECT = 'connect';
/** Longest decimal count we read exactly; longer ones are certainly over any limit. */
const COUNT_DIGITS_MAX = 15;
/** Characters that may not appear in a sid or queue group: they would break the lines we echo them in. */
const CONTROL_CHARACTER = /[\x00-\x1f\x7f]/;

type Phase = 'line' | 'payload' | 'payloadCr' | 'payloadLf' | 'failed';

/** A PUB or HPUB whose control line is read and whose payload is being read. */
interface PendingMessage {
  readonly subject: string;
  readonly replyTo: string | undefined;
  /** -1 for PUB; the declared header block length for HPUB. */
  readonly headerSize: number;
  /** Header block and payload, filled as bytes arrive. */
  readonly body: Uint8Array;
  /** True when the message is already refused (its error was emitted): read its bytes, then drop it. */
  readonly refused: boolean;
}

const strictDecoder = new TextDecoder('utf-8', { fatal: true });

export class ClientParser {
  readonly controlLineBytesMax: number;
  readonly payloadBytesMax: number;
  readonly headerBytesMax: number;

  private phase: Phase = 'line';
  /** Invariant: holds at most controlLineBytesMax bytes plus the CR before the LF. */
  private readonly line: Uint8Array;
  private lineLength = 0;
  /** The verb read so far, lower-cased, while the first separator has not been seen. */
  private verbSoFar = '';
  private verbDone = false;
  /** Invariant: defined exactly when phase is payload, payloadCr or payloadLf. */
  private pending: PendingMessage | undefined;
  /** Invariant: 0 <= bodyFilled <= pending.body.length. */
  private bodyFilled = 0;
  private failure: ProtocolError | undefined;

  constructor(options: ClientParserOptions = {}) {
    this.controlLineBytesMax = options.controlLineBytesMax ?? CLIENT_PARSER_DEFAULTS.controlLineBytesMax;
    this.payloadBytesMax = options.payloadBytesMax ?? CLIENT_PARSER_DEFAULTS.payloadBytesMax;
    this.headerBytesMax = options.headerBytesMax ?? CLIENT_PARSER_DEFAULTS.headerBytesMax;
    assert(Number.isSafeInteger(this.controlLineBytesMax), 'controlLineBytesMax must be an integer');
    assert(this.controlLineBytesMax >= CONTROL_LINE_BYTES_MIN, `controlLineBytesMax must be >= ${CONTROL_LINE_BYTES_MIN}`);
    assert(Number.isSafeInteger(this.payloadBytesMax), 'payloadBytesMax must be an integer');
    assert(this.payloadBytesMax >= 0, 'payloadBytesMax must be >= 0');
    assert(Number.isSafeInteger(this.headerBytesMax), 'headerBytesMax must be an integer');
    assert(this.headerBytesMax >= 0, 'headerBytesMax must be >= 0');
    this.line = new Uint8Array(this.controlLineBytesMax + 1);
  }

  /** The error that closed the connection, once there is one. */
  get closedBy(): ProtocolError | undefined {
    return this.failure;
  }

  /**
   * Read the next bytes of the stream. Returns the commands and errors they
   * complete, in stream order. Never throws on any input; returns nothing
   * once a closing error has been returned.
   */
  feed(chunk: Uint8Array): ClientParseOutput[] {
    const out: ClientParseOutput[] = [];
    let offset = 0;
    while (offset < chunk.length && this.phase !== 'failed') {
      const next = this.step(chunk, offset, out);
      assert(next > offset && next <= chunk.length, 'a parser step must consume bytes');
      offset = next;
    }
    this.invariants();
    return out;
  }

  private step(chunk: Uint8Array, offset: number, out: ClientParseOutput[]): number {
    switch (this.phase) {
      case 'line':
        return this.stepLine(chunk, offset, out);
      case 'payload':
        return this.stepPayload(chunk, offset);
      case 'payloadCr':
      case 'payloadLf':
        return this.stepPayloadEnd(chunk, offset, out);
      case 'failed':
        return chunk.length;
      default:
        return unreachable(this.phase);
    }
  }

  /** Buffers control-line bytes up to the next LF; parses the line when it is whole. */
  private stepLine(chunk: Uint8Array, offset: number, out: ClientParseOutput[]): number {
    const lf = chunk.indexOf(LF, offset);
    const end = lf < 0 ? chunk.length : lf;
    const badVerb = this.checkVerb(chunk, offset, end);
    if (badVerb !== undefined) {
      this.fail(badVerb, out);
      return chunk.length;
    }
    if (this.lineLength + (end - offset) > this.line.length) {
      this.fail(controlLineExceeded(`control line longer than ${this.controlLineBytesMax} bytes`), out);
      return chunk.length;
    }
    this.line.set(chunk.subarray(offset, end), this.lineLength);
    this.lineLength += end - offset;
    if (lf < 0) return chunk.length;
    this.completeLine(out);
    return lf + 1;
  }

  /**
   * Checks the verb as its bytes arrive, so that bytes that can never start a
   * command (binary noise, an HTTP request) fail at once with 'Unknown
   * Protocol Operation' rather than after a whole control line's worth of
   * bytes, as in nats-server.
   */
  private checkVerb(chunk: Uint8Array, from: number, to: number): ProtocolError | undefined {
    for (let i = from; i < to && !this.verbDone; i++) {
      const byte = chunk[i] as number;
      if (byte === SPACE || byte === TAB || byte === CR) {
        this.verbDone = true;
        if (!(VERBS as readonly string[]).includes(this.verbSoFar)) return this.unknownVerb();
        return undefined;
      }
      this.verbSoFar += String.fromCharCode(asciiLower(byte));
      if (this.verbSoFar.length > CONNECT.length && this.verbSoFar.startsWith(CONNECT)) {
        this.verbDone = true;
        return undefined;
      }
      if (!VERB_PREFIXES.has(this.verbSoFar)) return this.unknownVerb();
    }
    return undefined;
  }

  private unknownVerb(): ProtocolError {
    return unknownOperation(`unknown operation starting ${snippet(this.verbSoFar)}`);
  }

  private completeLine(out: ClientParseOutput[]): void {
    let length = this.lineLength;
    if (length > 0 && this.line[length - 1] === CR) length -= 1;
    const bytes = this.line.subarray(0, length);
    this.lineLength = 0;
    this.verbSoFar = '';
    this.verbDone = false;
    if (length > this.controlLineBytesMax) {
      this.fail(controlLineExceeded(`control line longer than ${this.controlLineBytesMax} bytes`), out);
      return;
    }
    let text: string;
    try {
      text = strictDecoder.decode(bytes);
    } catch {
      this.fail(parserError('control line is not valid UTF-8'), out);
      return;
    }
    this.dispatchLine(text, out);
  }

  private dispatchLine(text: string, out: ClientParseOutput[]): void {
    const { verb, rest } = splitVerb(text);
    switch (verb) {
      case 'pub':
        return this.beginPub(rest, out);
      case 'hpub':
        return this.beginHPub(rest, out);
      case 'sub':
        return this.onSub(rest, out);
      case 'unsub':
        return this.onUnsub(rest, out);
      case 'connect':
        return this.onConnect(rest, out);
      case 'ping':
      case 'pong':
        return this.onPingPong(verb, rest, out);
      case 'xsub':
        return this.onXSub(rest, out);
      case 'ack':
        return this.onAck(rest, out);
      case 'status':
        return this.onStatus(rest, out);
      case 'history':
        return this.onHistory(rest, out);
      default:
        this.fail(unknownOperation(`unknown operation ${snippet(text)}`), out);
    }
  }

  private beginPub(rest: string, out: ClientParseOutput[]): void {
    const args = splitArgs(rest);
    if (args.length !== 2 && args.length !== 3) {
      this.fail(parserError(`PUB takes 2 or 3 arguments, got ${args.length}`), out);
      return;
    }
    const size = parseCount(args[args.length - 1] as string);
    if (size === undefined) {
      this.fail(parserError(`PUB size ${snippet(args[args.length - 1] as string)} is not a count`), out);
      return;
    }
    if (size > this.payloadBytesMax) {
      this.fail(maxPayloadViolation(`payload of ${size} bytes exceeds ${this.payloadBytesMax}`), out);
      return;
    }
    const replyTo = args.length === 3 ? args[1] : undefined;
    this.beginPayload(args[0] as string, replyTo, -1, size, out);
  }

  private beginHPub(rest: string, out: ClientParseOutput[]): void {
    const args = splitArgs(rest);
    if (args.length !== 3 && args.length !== 4) {
      this.fail(parserError(`HPUB takes 3 or 4 arguments, got ${args.length}`), out);
      return;
    }
    const headerSize = parseCount(args[args.length - 2] as string);
    const totalSize = parseCount(args[args.length - 1] as string);
    if (headerSize === undefined || totalSize === undefined) {
      this.fail(parserError('HPUB header size and total size must be counts'), out);
      return;
    }
    if (headerSize > totalSize) {
      this.fail(parserError(`HPUB header size ${headerSize} exceeds total size ${totalSize}`), out);
      return;
    }
    if (totalSize > this.payloadBytesMax) {
      this.fail(maxPayloadViolation(`message of ${totalSize} bytes exceeds ${this.payloadBytesMax}`), out);
      return;
    }
    if (headerSize > this.headerBytesMax) {
      this.fail(maxPayloadViolation(`header block of ${headerSize} bytes exceeds ${this.headerBytesMax}`), out);
      return;
    }
    const replyTo = args.length === 4 ? args[1] : undefined;
    this.beginPayload(args[0] as string, replyTo, headerSize, totalSize, out);
  }

  /**
   * Starts reading a message body. A refused subject is reported now, where
   * nats-server reports it (before the payload), and the body is then read
   * and dropped: the frame is well delimited, so the stream stays in step.
   */
  private beginPayload(
    subject: string,
    replyTo: string | undefined,
    headerSize: number,
    totalSize: number,
    out: ClientParseOutput[],
  ): void {
    const refusal = publishRefusal(subject, replyTo);
    if (refusal !== undefined) out.push(refusal);
    this.pending = { subject, replyTo, headerSize, body: new Uint8Array(totalSize), refused: refusal !== undefined };
    this.bodyFilled = 0;
    this.phase = totalSize === 0 ? 'payloadCr' : 'payload';
  }

  private stepPayload(chunk: Uint8Array, offset: number): number {
    const pending = this.pending;
    assert(pending !== undefined, 'payload phase without a pending message');
    const count = Math.min(pending.body.length - this.bodyFilled, chunk.length - offset);
    pending.body.set(chunk.subarray(offset, offset + count), this.bodyFilled);
    this.bodyFilled += count;
    if (this.bodyFilled === pending.body.length) this.phase = 'payloadCr';
    return offset + count;
  }

  private stepPayloadEnd(chunk: Uint8Array, offset: number, out: ClientParseOutput[]): number {
    const expected = this.phase === 'payloadCr' ? CR : LF;
    if (chunk[offset] !== expected) {
      this.fail(unknownOperation('message payload not followed by CRLF'), out);
      return chunk.length;
    }
    if (this.phase === 'payloadCr') {
      this.phase = 'payloadLf';
    } else {
      this.completeMessage(out);
      this.phase = 'line';
    }
    return offset + 1;
  }

  private completeMessage(out: ClientParseOutput[]): void {
    const pending = this.pending;
    assert(pending !== undefined, 'message end without a pending message');
    this.pending = undefined;
    if (pending.refused) return;
    const reply = pending.replyTo === undefined ? {} : { replyTo: pending.replyTo };
    if (pending.headerSize < 0) {
      out.push({ type: 'Pub', subject: pending.subject, ...reply, payload: pending.body });
      return;
    }
    const headerBytes = pending.body.subarray(0, pending.headerSize);
    const decoded = decodeHeaderBlock(headerBytes);
    if (!decoded.ok) {
      out.push(badHeader(decoded.reason));
      return;
    }
    const payload = pending.body.subarray(pending.headerSize);
    out.push({ type: 'HPub', subject: pending.subject, ...reply, headerBytes, headers: decoded.block, payload });
  }

  private onSub(rest: string, out: ClientParseOutput[]): void {
    const args = splitArgs(rest);
    if (args.length !== 2 && args.length !== 3) {
      this.fail(parserError(`SUB takes 2 or 3 arguments, got ${args.length}`), out);
      return;
    }
    const subject = args[0] as string;
    const queue = args.length === 3 ? (args[1] as string) : undefined;
    const sid = args[args.length - 1] as string;
    if (CONTROL_CHARACTER.test(sid) || (queue !== undefined && CONTROL_CHARACTER.test(queue))) {
      this.fail(parserError('SUB sid or queue group contains a control character'), out);
      return;
    }
    if (!isValidSubject(subject)) {
      out.push(invalidSubject(`cannot subscribe to ${snippet(subject)}`));
      return;
    }
    out.push({ type: 'Sub', subject, ...(queue === undefined ? {} : { queue }), sid });
  }

  private onUnsub(rest: string, out: ClientParseOutput[]): void {
    const args = splitArgs(rest);
    if (args.length !== 1 && args.length !== 2) {
      this.fail(parserError(`UNSUB takes 1 or 2 arguments, got ${args.length}`), out);
      return;
    }
    const sid = args[0] as string;
    if (CONTROL_CHARACTER.test(sid)) {
      this.fail(parserError('UNSUB sid contains a control character'), out);
      return;
    }
    if (args.length === 1) {
      out.push({ type: 'Unsub', sid });
      return;
    }
    const max = parseCount(args[1] as string);
    if (max === undefined || !Number.isSafeInteger(max)) {
      this.fail(parserError(`UNSUB max ${snippet(args[1] as string)} is not a count`), out);
      return;
    }
    out.push({ type: 'Unsub', sid, max });
  }

  private onConnect(rest: string, out: ClientParseOutput[]): void {
    const parsed = parseConnectOptions(rest);
    if (!parsed.ok) {
      this.fail(parserError(parsed.reason), out);
      return;
    }
    out.push({ type: 'Connect', options: parsed.options });
  }

  private onPingPong(verb: 'ping' | 'pong', rest: string, out: ClientParseOutput[]): void {
    if (splitArgs(rest).length > 0) {
      this.fail(unknownOperation(`${verb.toUpperCase()} takes no arguments`), out);
      return;
    }
    out.push(verb === 'ping' ? { type: 'Ping' } : { type: 'Pong' });
  }

  // ---- chorus extensions. Bad arguments here are refused without closing: the
  // commands have no payload, so the stream is still in step.

  private onXSub(rest: string, out: ClientParseOutput[]): void {
    const usage = XSUB_USAGE;
    const words = splitArgs(rest);
    // A trailing ORDERED, perhaps with a bound in ms, asks for the matching topics merged in timestamp order.
    const isOrdered = (word: string | undefined): boolean => word !== undefined && word.toLowerCase() === 'ordered';
    const orderedAt = words.length > 3 && isOrdered(words[words.length - 1]) ? words.length - 1 : words.length > 4 && isOrdered(words[words.length - 2]) ? words.length - 2 : -1;
    const args = orderedAt < 0 ? words : words.slice(0, orderedAt);
    let orderedField: { ordered?: true; reorderBoundMs?: number } = {};
    if (orderedAt >= 0) {
      const boundText = words[orderedAt + 1];
      const bound = boundText === undefined ? DEFAULT_REORDER_BOUND_MS : parseCount(boundText);
      if (bound === undefined || bound > REORDER_BOUND_MS_MAX) {
        return void out.push(badArguments(usage, `XSUB ORDERED bound ${snippet(boundText!)} is not a whole number of ms from 0 to ${REORDER_BOUND_MS_MAX}`));
      }
      orderedField = { ordered: true, reorderBoundMs: bound };
    }
    if (args.length < 3) return void out.push(badArguments(usage, `XSUB got ${args.length} arguments`));
    const [subject, sid, mode, value] = args as [string, string, string, string | undefined];
    if (CONTROL_CHARACTER.test(sid)) return void out.push(badArguments(usage, 'XSUB sid contains a control character'));
    if (!isValidSubject(subject)) return void out.push(invalidSubject(`cannot subscribe to ${snippet(subject)}`));
    const keyword = mode.toLowerCase();
    const expected = keyword === 'first' ? 3 : 4;
    if (args.length !== expected) return void out.push(badArguments(usage, `XSUB ${mode} takes ${expected} arguments, got ${args.length}`));
    if (keyword === 'first') return void out.push({ type: 'XSub', subject, sid, start: { kind: 'first' }, ...orderedField });
    if (keyword === 'from') {
      const offset = parseCount(value!);
      if (offset === undefined || offset < 1 || !Number.isSafeInteger(offset)) {
        return void out.push(badArguments(usage, `XSUB FROM ${snippet(value!)} is not an offset of at least 1`));
      }
      return void out.push({ type: 'XSub', subject, sid, start: { kind: 'offset', offset }, ...orderedField });
    }
    if (keyword === 'durable') {
      if (!CONSUMER_NAME.test(value!)) return void out.push(badArguments(usage, `consumer name ${snippet(value!)} is not letters, digits, - and _`));
      return void out.push({ type: 'XSub', subject, sid, start: { kind: 'durable', consumer: value! }, ...orderedField });
    }
    out.push(badArguments(usage, `XSUB start ${snippet(mode)} is not FIRST, FROM or DURABLE`));
  }

  private onAck(rest: string, out: ClientParseOutput[]): void {
    const args = splitArgs(rest);
    if (args.length !== 3) return void out.push(badArguments(ACK_USAGE, `ACK got ${args.length} arguments`));
    const [consumer, topic, offsetText] = args as [string, string, string];
    if (!CONSUMER_NAME.test(consumer)) return void out.push(badArguments(ACK_USAGE, `consumer name ${snippet(consumer)} is not letters, digits, - and _`));
    if (!isValidPublishSubject(topic)) return void out.push(invalidPublishSubject(`cannot acknowledge topic ${snippet(topic)}`));
    const offset = parseCount(offsetText);
    if (offset === undefined || offset < 1 || !Number.isSafeInteger(offset)) {
      return void out.push(badArguments(ACK_USAGE, `ACK offset ${snippet(offsetText)} is not an offset of at least 1`));
    }
    out.push({ type: 'Ack', consumer, topic, offset });
  }

  private onStatus(rest: string, out: ClientParseOutput[]): void {
    if (splitArgs(rest).length > 0) return void out.push(badArguments('STATUS takes no arguments', 'STATUS with arguments'));
    out.push({ type: 'Status' });
  }

  private onHistory(rest: string, out: ClientParseOutput[]): void {
    const args = splitArgs(rest);
    if (args.length !== 3) return void out.push(badArguments(HISTORY_USAGE, `HISTORY got ${args.length} arguments`));
    const [topic, fromText, limitText] = args as [string, string, string];
    if (!isValidPublishSubject(topic)) return void out.push(invalidPublishSubject(`cannot read history of ${snippet(topic)}`));
    const atTime = fromText.startsWith('@');
    const from = parseCount(atTime ? fromText.slice(1) : fromText);
    const limit = parseCount(limitText);
    if (from === undefined || from < (atTime ? 0 : 1) || !Number.isSafeInteger(from)) {
      const expected = atTime ? 'a time in ms since the epoch' : 'an offset of at least 1';
      return void out.push(badArguments(HISTORY_USAGE, `HISTORY from ${snippet(fromText)} is not ${expected}`));
    }
    if (limit === undefined || !Number.isSafeInteger(limit)) {
      return void out.push(badArguments(HISTORY_USAGE, `HISTORY limit ${snippet(limitText)} is not a count`));
    }
    out.push({ type: 'History', topic, from: atTime ? { kind: 'time', timeMs: from } : { kind: 'offset', offset: from }, limit });
  }

  /** Emits a closing error and stops the parser for good. */
  private fail(error: ProtocolError, out: ClientParseOutput[]): void {
    assert(error.closeConnection, 'only closing errors stop the parser');
    out.push(error);
    this.failure = error;
    this.phase = 'failed';
    this.pending = undefined;
  }

  private invariants(): void {
    assert(this.lineLength <= this.line.length, 'control line buffer overflow');
    const reading = this.phase === 'payload' || this.phase === 'payloadCr' || this.phase === 'payloadLf';
    assert(reading === (this.pending !== undefined), 'a pending message exists exactly while reading one');
    if (this.pending !== undefined) {
      assert(this.bodyFilled <= this.pending.body.length, 'message body overfilled');
    }
    assert((this.phase === 'failed') === (this.failure !== undefined), 'failed exactly when a closing error was seen');
  }
}

const XSUB_USAGE = 'XSUB <subject> <sid> FIRST | FROM <offset> | DURABLE <consumer> [ORDERED [<bound ms>]]';
const ACK_USAGE = 'ACK <consumer> <topic> <offset>';
const HISTORY_USAGE = 'HISTORY <topic> <from offset | @time ms> <limit>';

/** A reason to refuse a publish's subject or reply subject, if there is one. */
function publishRefusal(subject: string, replyTo: string | undefined): ProtocolError | undefined {
  if (!isValidPublishSubject(subject)) return invalidPublishSubject(`cannot publish to ${snippet(subject)}`);
  if (replyTo !== undefined && !isValidPublishSubject(replyTo)) {
    return invalidPublishSubject(`reply subject ${snippet(replyTo)} is not a valid literal subject`);
  }
  return undefined;
}

/** The lower-cased verb and the text after it. CONNECT's JSON may follow with no separator. */
function splitVerb(text: string): { verb: string; rest: string } {
  const match = /[ \t]/.exec(text);
  const verbEnd = match === null ? text.length : match.index;
  const verb = text.slice(0, verbEnd).toLowerCase();
  if (verb.length > CONNECT.length && verb.startsWith(CONNECT)) {
    return { verb: CONNECT, rest: text.slice(CONNECT.length) };
  }
  return { verb, rest: text.slice(verbEnd) };
}

/** Arguments separated by runs of spaces and tabs. */
function splitArgs(rest: string): string[] {
  return rest.split(/[ \t]+/).filter((arg) => arg.length > 0);
}

/** A non-negative decimal count; undefined when not all digits. Over-long counts read as infinity. */
function parseCount(text: string): number | undefined {
  if (!/^[0-9]+$/.test(text)) return undefined;
  if (text.length > COUNT_DIGITS_MAX) return Number.POSITIVE_INFINITY;
  return Number(text);
}

function asciiLower(byte: number): number {
  return byte >= 0x41 && byte <= 0x5a ? byte + 0x20 : byte;
}
