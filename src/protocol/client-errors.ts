// The errors a client's bytes can earn, as values. A broker never throws on bad
// client input (DESIGN.md: operating errors are values or clear -ERR replies);
// it sends `-ERR '<message>'` and, when `closeConnection` is set, closes.
//
// The texts are the ones nats-server sends where it sends one, so a client
// written against nats-server (the official `nats` npm client among them)
// recognises them. Where nats-server closes the connection without a word
// (a PUB with the wrong number of arguments, a CONNECT that is not JSON), we
// send 'Parser Error', which the NATS protocol documentation lists among the
// errors that close the connection.

export interface ProtocolError {
  readonly type: 'ProtocolError';
  /** The reason to send as `-ERR '<message>'`. Never contains CR, LF or a quote. */
  readonly message: string;
  /** True when the connection must be closed after the -ERR is sent. */
  readonly closeConnection: boolean;
  /** Why, for logs. May quote (escaped, bounded) client bytes; not for the wire. */
  readonly detail: string;
}

/*
 * The -ERR texts. Sources: nats-server server/parser.go ('Unknown Protocol
 * Operation' on any byte the state machine does not expect, including a bad
 * payload terminator), server/client.go (maxPayloadViolation: 'Maximum Payload
 * Violation'; processSub: 'Invalid Subject'; processPub in pedantic mode:
 * 'Invalid Publish Subject'), server/errors.go (ErrMaxControlLine, sent in
 * lower case by current servers although the protocol page spells it
 * 'Maximum Control Line Exceeded'), and the protocol page's list of closing
 * errors ('Parser Error').
 */
export const ERROR_TEXT = {
  unknownOperation: 'Unknown Protocol Operation',
  parserError: 'Parser Error',
  controlLineExceeded: 'maximum control line exceeded',
  maxPayload: 'Maximum Payload Violation',
  invalidSubject: 'Invalid Subject',
  invalidPublishSubject: 'Invalid Publish Subject',
  badHeader: 'Bad Message Header',
} as const;

/** A consumer name: what DURABLE and ACK accept (letters, digits, '-' and '_'; no dots, so it fits in a subject token). */
export const CONSUMER_NAME = /^[A-Za-z0-9_-]+$/;

function protocolError(message: string, closeConnection: boolean, detail: string): ProtocolError {
  return { type: 'ProtocolError', message, closeConnection, detail };
}

// Closing errors: after one of these the byte stream can no longer be trusted
// to be in step (or the client broke a limit), so the parser stops for good.

export function unknownOperation(detail: string): ProtocolError {
  return protocolError(ERROR_TEXT.unknownOperation, true, detail);
}

export function parserError(detail: string): ProtocolError {
  return protocolError(ERROR_TEXT.parserError, true, detail);
}

export function controlLineExceeded(detail: string): ProtocolError {
  return protocolError(ERROR_TEXT.controlLineExceeded, true, detail);
}

export function maxPayloadViolation(detail: string): ProtocolError {
  return protocolError(ERROR_TEXT.maxPayload, true, detail);
}

// Non-closing errors: the frame was well delimited, so the stream is still in
// step; only the one command is refused and parsing carries on.

export function invalidSubject(detail: string): ProtocolError {
  return protocolError(ERROR_TEXT.invalidSubject, false, detail);
}

export function invalidPublishSubject(detail: string): ProtocolError {
  return protocolError(ERROR_TEXT.invalidPublishSubject, false, detail);
}

export function badHeader(detail: string): ProtocolError {
  return protocolError(ERROR_TEXT.badHeader, false, detail);
}

/**
 * A chorus extension command (XSUB, ACK, STATUS, HISTORY) with bad arguments.
 * It has no payload, so the stream is still in step: the connection stays
 * open and the reply says what the command takes.
 */
export function badArguments(usage: string, detail: string): ProtocolError {
  return protocolError(`Invalid Arguments: ${usage}`, false, detail);
}

const SNIPPET_CHARS_MAX = 48;

/** A short, escaped quotation of client text for an error's detail. */
export function snippet(text: string): string {
  const cut = text.length > SNIPPET_CHARS_MAX ? `${text.slice(0, SNIPPET_CHARS_MAX)}...` : text;
  return JSON.stringify(cut);
}
