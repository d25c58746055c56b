// What a client says to the broker, once its bytes are parsed: the commands of
// the NATS core client protocol (docs.nats.io, "Client Protocol"). Plain data,
// so the node core, the simulator and tests can all make and compare them.

import type { ProtocolError } from './client-errors.js';

/**
 * The options of a CONNECT, under TypeScript names. A field is undefined when
 * the client did not send it (or sent JSON null); the parser applies no
 * defaults. Note that nats-server treats absent `verbose`, `pedantic` and
 * `echo` as true (client.go `defaultOpts`); the official clients send all
 * three explicitly. Unknown fields are ignored, as nats-server ignores them.
 */
export interface ConnectOptions {
  readonly verbose?: boolean;
  readonly pedantic?: boolean;
  readonly tlsRequired?: boolean;
  readonly echo?: boolean;
  readonly headers?: boolean;
  readonly noResponders?: boolean;
  readonly protocol?: number;
  readonly name?: string;
  readonly lang?: string;
  readonly version?: string;
  readonly user?: string;
  readonly pass?: string;
  readonly authToken?: string;
  readonly jwt?: string;
  readonly nkey?: string;
  readonly sig?: string;
}

/**
 * A parsed NATS/1.0 header block (ADR-4): the version line with an optional
 * status, then `Name: value` lines. Names keep the case they were sent in
 * (NATS preserves it between publisher and subscribers); a name that appears
 * on several lines has several values, in order.
 */
export interface HeaderBlock {
  /** The status code on the version line (e.g. 503 for no responders), if any. */
  readonly statusCode?: number;
  /** The words after the status code; empty when there are none. */
  readonly statusDescription: string;
  /** Field name -> values, in first-appearance order. */
  readonly fields: ReadonlyMap<string, readonly string[]>;
}

/** `CONNECT {json}` */
export interface ConnectCommand {
  readonly type: 'Connect';
  readonly options: ConnectOptions;
}

/** `PUB <subject> [reply-to] <#bytes>` and the payload. */
export interface PubCommand {
  readonly type: 'Pub';
  readonly subject: string;
  readonly replyTo?: string;
  readonly payload: Uint8Array;
}

/** `HPUB <subject> [reply-to] <#header bytes> <#total bytes>`, the header block and the payload. */
export interface HPubCommand {
  readonly type: 'HPub';
  readonly subject: string;
  readonly replyTo?: string;
  /** The header block exactly as sent (empty when the client declared 0 header bytes). */
  readonly headerBytes: Uint8Array;
  readonly headers: HeaderBlock;
  readonly payload: Uint8Array;
}

/** `SUB <subject> [queue group] <sid>` */
export interface SubCommand {
  readonly type: 'Sub';
  readonly subject: string;
  readonly queue?: string;
  readonly sid: string;
}

/**
 * `UNSUB <sid> [max_msgs]`. As in nats-server, a `max` of 0 means the same as
 * no `max`: unsubscribe now.
 */
export interface UnsubCommand {
  readonly type: 'Unsub';
  readonly sid: string;
  readonly max?: number;
}

export interface PingCommand {
  readonly type: 'Ping';
}

export interface PongCommand {
  readonly type: 'Pong';
}

// ---- chorus extensions (docs/protocol.md). NATS has no such verbs; a person can
// type them with `nc`, and chorus's own CLI sends them.

/** Where an XSUB starts reading each matching topic. */
export type SubscriptionStart =
  | { readonly kind: 'first' }
  | { readonly kind: 'offset'; readonly offset: number }
  | { readonly kind: 'durable'; readonly consumer: string };

/** How long an ORDERED subscription holds a message back, at most, when XSUB names no bound. */
export const DEFAULT_REORDER_BOUND_MS = 100;
export const REORDER_BOUND_MS_MAX = 60_000;

/** `XSUB <subject> <sid> FIRST | FROM <offset> | DURABLE <consumer> [ORDERED [<bound ms>]]` */
export interface XSubCommand {
  readonly type: 'XSub';
  readonly subject: string;
  readonly sid: string;
  readonly start: SubscriptionStart;
  /** Present when the subscription merges the matching topics in timestamp order. */
  readonly ordered?: true;
  /** With `ordered`: the longest a message is held back waiting for earlier ones, in ms. */
  readonly reorderBoundMs?: number;
}

/** `ACK <consumer> <topic> <offset>`: the consumer has processed every message of topic up to offset. */
export interface AckCommand {
  readonly type: 'Ack';
  readonly consumer: string;
  readonly topic: string;
  readonly offset: number;
}

/** `STATUS` */
export interface StatusCommand {
  readonly type: 'Status';
}

/** Where a history read starts: at an offset, or at the first message stamped at or after a time. */
export type HistoryStart = { readonly kind: 'offset'; readonly offset: number } | { readonly kind: 'time'; readonly timeMs: number };

/** `HISTORY <topic> <from offset | @time ms> <limit>` */
export interface HistoryCommand {
  readonly type: 'History';
  readonly topic: string;
  readonly from: HistoryStart;
  readonly limit: number;
}

export type ClientCommand =
  | ConnectCommand
  | PubCommand
  | HPubCommand
  | SubCommand
  | UnsubCommand
  | PingCommand
  | PongCommand
  | XSubCommand
  | AckCommand
  | StatusCommand
  | HistoryCommand;

/** What the parser yields, in stream order: commands, and errors where the bytes were wrong. */
export type ClientParseOutput = ClientCommand | ProtocolError;

export const EMPTY_HEADER_BLOCK: HeaderBlock = { statusDescription: '', fields: new Map() };
