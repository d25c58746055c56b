// The other direction of the client protocol: what a broker sends, as a client
// reads it. The simulator's clients, the tests and chorus's own command-line
// client use it; the official `nats` client has its own. It is incremental like
// ClientParser: any split of the same bytes yields the same frames.
//
// It reads the NATS server frames (INFO, MSG, HMSG, PING, PONG, +OK, -ERR) and
// chorus's replies to its extensions (STATUS, HISTORY, ENTRY; docs/protocol.md).
// Bytes from a broker are still bytes from the network: anything malformed
// ends the stream with an error frame, and nothing throws.

import type { HeaderBlock } from './client-commands.js';
import { EMPTY_HEADER_BLOCK } from './client-commands.js';
import { decodeHeaderBlock } from './client-headers.js';

export type ServerFrame =
  | { readonly type: 'Info'; readonly info: Record<string, unknown> }
  | {
      readonly type: 'Msg';
      readonly subject: string;
      readonly sid: string;
      readonly replyTo?: string;
      readonly headers: HeaderBlock;
      readonly payload: Uint8Array;
    }
  | { readonly type: 'Ping' }
  | { readonly type: 'Pong' }
  | { readonly type: 'Ok' }
  | { readonly type: 'Err'; readonly message: string }
  | { readonly type: 'Status'; readonly status: Record<string, unknown> }
  | { readonly type: 'HistoryHead'; readonly topic: string; readonly count: number; readonly lastOffset: number }
  | {
      readonly type: 'Entry';
      readonly topic: string;
      readonly offset: number;
      readonly timestampMs: number;
      readonly headers: HeaderBlock;
      readonly payload: Uint8Array;
    }
  /** The stream is broken; the parser reads nothing after it. */
  | { readonly type: 'Broken'; readonly reason: string };

export interface ServerParserOptions {
  readonly lineBytesMax?: number;
  readonly bodyBytesMax?: number;
}

const LF = 0x0a;
const CR = 0x0d;
const strictDecoder = new TextDecoder('utf-8', { fatal: true });

/** A frame whose control line is read and whose body is awaited. */
interface PendingBody {
  readonly headerBytes: number;
  readonly body: Uint8Array;
  filled: number;
  readonly complete: (headers: HeaderBlock, payload: Uint8Array) => ServerFrame;
}

export class ServerParser {
  private readonly lineBytesMax: number;
  private readonly bodyBytesMax: number;
  private line: number[] = [];
  private pending: PendingBody | undefined;
  /** Bytes of the CRLF after a body still to read. */
  private trailer = 0;
  private broken = false;

  constructor(options: ServerParserOptions = {}) {
    // INFO and STATUS lines carry JSON that grows with the cluster, so the default is generous.
    this.lineBytesMax = options.lineBytesMax ?? 16 * 1024 * 1024;
    this.bodyBytesMax = options.bodyBytesMax ?? 64 * 1024 * 1024;
  }

  feed(chunk: Uint8Array): ServerFrame[] {
    const out: ServerFrame[] = [];
    let offset = 0;
    while (offset < chunk.length && !this.broken) {
      if (this.pending !== undefined) offset = this.readBody(chunk, offset, out);
      else if (this.trailer > 0) offset = this.readTrailer(chunk, offset, out);
      else offset = this.readLine(chunk, offset, out);
    }
    return out;
  }

  private readLine(chunk: Uint8Array, offset: number, out: ServerFrame[]): number {
    const lf = chunk.indexOf(LF, offset);
    const end = lf < 0 ? chunk.length : lf;
    if (this.line.length + (end - offset) > this.lineBytesMax) {
      this.fail(`a line longer than ${this.lineBytesMax} bytes`, out);
      return chunk.length;
    }
    for (let i = offset; i < end; i++) this.line.push(chunk[i]!);
    if (lf < 0) return chunk.length;
    const bytes = Uint8Array.from(this.line);
    this.line = [];
    const length = bytes.length > 0 && bytes[bytes.length - 1] === CR ? bytes.length - 1 : bytes.length;
    let text: string;
    try {
      text = strictDecoder.decode(bytes.subarray(0, length));
    } catch {
      this.fail('a line that is not UTF-8', out);
      return lf + 1;
    }
    this.dispatch(text, out);
    return lf + 1;
  }

  private dispatch(text: string, out: ServerFrame[]): void {
    const space = text.indexOf(' ');
    const verb = (space < 0 ? text : text.slice(0, space)).toUpperCase();
    const rest = space < 0 ? '' : text.slice(space + 1);
    const args = rest.split(/[ \t]+/).filter((arg) => arg.length > 0);
    switch (verb) {
      case 'PING':
        return void out.push({ type: 'Ping' });
      case 'PONG':
        return void out.push({ type: 'Pong' });
      case '+OK':
        return void out.push({ type: 'Ok' });
      case '-ERR':
        return void out.push({ type: 'Err', message: rest.trim().replace(/^'(.*)'$/, '$1') });
      case 'INFO':
      case 'STATUS': {
        const json = parseJsonObject(rest);
        if (json === undefined) return this.fail(`${verb} without a JSON object`, out);
        return void out.push(verb === 'INFO' ? { type: 'Info', info: json } : { type: 'Status', status: json });
      }
      case 'MSG':
      case 'HMSG':
        return this.beginMsg(verb, args, out);
      case 'HISTORY': {
        const [topic, count, lastOffset] = [args[0], parseCount(args[1]), parseCount(args[2])];
        if (args.length !== 3 || topic === undefined || count === undefined || lastOffset === undefined) {
          return this.fail(`HISTORY line ${JSON.stringify(text)}`, out);
        }
        return void out.push({ type: 'HistoryHead', topic, count, lastOffset });
      }
      case 'ENTRY': {
        const numbers = args.slice(1).map(parseCount);
        const [offset, timestampMs, headerBytes, total] = numbers;
        if (args.length !== 5 || offset === undefined || timestampMs === undefined || headerBytes === undefined || total === undefined) {
          return this.fail(`ENTRY line ${JSON.stringify(text)}`, out);
        }
        const topic = args[0]!;
        return this.beginBody(headerBytes, total, out, (headers, payload) => ({ type: 'Entry', topic, offset, timestampMs, headers, payload }));
      }
      default:
        return this.fail(`unknown frame ${JSON.stringify(text.slice(0, 40))}`, out);
    }
  }

  private beginMsg(verb: 'MSG' | 'HMSG', args: string[], out: ServerFrame[]): void {
    const sizes = verb === 'MSG' ? 1 : 2;
    if (args.length !== 2 + sizes && args.length !== 3 + sizes) return this.fail(`${verb} with ${args.length} arguments`, out);
    const subject = args[0]!;
    const sid = args[1]!;
    const replyTo = args.length === 3 + sizes ? args[2] : undefined;
    const numbers = args.slice(args.length - sizes).map(parseCount);
    const total = numbers[numbers.length - 1];
    const headerBytes = verb === 'MSG' ? 0 : numbers[0];
    if (total === undefined || headerBytes === undefined) return this.fail(`${verb} sizes are not counts`, out);
    this.beginBody(headerBytes, total, out, (headers, payload) => ({
      type: 'Msg',
      subject,
      sid,
      ...(replyTo === undefined ? {} : { replyTo }),
      headers,
      payload,
    }));
  }

  private beginBody(headerBytes: number, total: number, out: ServerFrame[], complete: PendingBody['complete']): void {
    if (headerBytes > total || total > this.bodyBytesMax) return this.fail(`a body of ${total} bytes with ${headerBytes} header bytes`, out);
    this.pending = { headerBytes, body: new Uint8Array(total), filled: 0, complete };
  }

  private readBody(chunk: Uint8Array, offset: number, out: ServerFrame[]): number {
    const pending = this.pending!;
    const take = Math.min(pending.body.length - pending.filled, chunk.length - offset);
    pending.body.set(chunk.subarray(offset, offset + take), pending.filled);
    pending.filled += take;
    if (pending.filled < pending.body.length) return offset + take;
    this.pending = undefined;
    this.trailer = 2;
    const headerPart = pending.body.subarray(0, pending.headerBytes);
    const decoded = decodeHeaderBlock(headerPart);
    if (!decoded.ok) {
      this.fail(`a bad header block: ${decoded.reason}`, out);
      return chunk.length;
    }
    out.push(pending.complete(pending.headerBytes === 0 ? EMPTY_HEADER_BLOCK : decoded.block, pending.body.subarray(pending.headerBytes)));
    return offset + take;
  }

  private readTrailer(chunk: Uint8Array, offset: number, out: ServerFrame[]): number {
    const expected = this.trailer === 2 ? CR : LF;
    if (chunk[offset] !== expected) {
      this.fail('a body not followed by CRLF', out);
      return chunk.length;
    }
    this.trailer--;
    return offset + 1;
  }

  private fail(reason: string, out: ServerFrame[]): void {
    this.broken = true;
    out.push({ type: 'Broken', reason });
  }
}

function parseCount(text: string | undefined): number | undefined {
  if (text === undefined || !/^[0-9]{1,15}$/.test(text)) return undefined;
  return Number(text);
}

function parseJsonObject(text: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}
