// One client connection as the node core sees it: the incremental parser for
// its bytes, what it said in CONNECT, and the bytes waiting to be written to it.
// The driver owns the socket; the core only queues output and says when the
// connection must close. Output the driver took counts as pending until the
// driver reports it written (BrokerNode.clientWritten), so a client that does
// not read holds its output budget full and what is sent to it waits.

import type { ClientParseOutput, ConnectOptions } from '../protocol/client-commands.js';
import { ClientParser, type ClientParserOptions } from '../protocol/client-parser.js';
import type { Permissions } from './client-auth.js';

export class ClientSession {
  readonly parser: ClientParser;
  /** CONNECT's verbose: a +OK after every command that succeeds. */
  verbose = false;
  /** CONNECT's headers: the client understands HMSG. */
  headers = false;
  /** CONNECT's echo: the client receives its own unstored publishes. Stored messages ignore it. */
  echo = true;
  /** CONNECT's no_responders: a request nobody subscribes to is answered with a 503 status. */
  noResponders = false;
  name = '';
  /**
   * Authentication, when the node requires it: 'none' until CONNECT,
   * 'checking' while the driver compares a hashed password, then 'done'. A
   * node without authentication starts every session at 'done'.
   */
  auth: 'none' | 'checking' | 'done' = 'done';
  /** The authenticated user ('' for a token or no authentication). */
  user = '';
  /** What the user may publish and subscribe to; undefined allows everything. */
  permissions: Permissions | undefined = undefined;
  private output: Uint8Array[] = [];
  /** Invariant: the sum of the lengths of `output`. */
  private outputBytesValue = 0;
  /** Bytes the driver took and has not reported written to the socket yet. */
  private unwrittenBytes = 0;
  private closingValue = false;
  /**
   * Commands parsed but not carried out yet: once one command must wait for
   * the client to read (a HISTORY that does not fit its output budget), every
   * later one waits behind it, so that replies keep the order of requests.
   */
  readonly held: ClientParseOutput[] = [];

  constructor(
    readonly id: number,
    parserOptions: ClientParserOptions,
  ) {
    this.parser = new ClientParser(parserOptions);
  }

  /** Output not yet written to the socket: queued here, or taken by the driver and still in its buffers. */
  get outputBytes(): number {
    return this.outputBytesValue + this.unwrittenBytes;
  }

  /** True once the core decided to close: nothing more is read or queued. */
  get closing(): boolean {
    return this.closingValue;
  }

  connect(options: ConnectOptions): void {
    this.verbose = options.verbose ?? false;
    this.headers = options.headers ?? false;
    this.echo = options.echo ?? true;
    this.noResponders = options.noResponders ?? false;
    this.name = options.name ?? '';
  }

  write(bytes: Uint8Array): void {
    if (this.closingValue) return;
    this.output.push(bytes);
    this.outputBytesValue += bytes.length;
  }

  /** Queues nothing more after this: the driver writes what is queued, then closes. */
  close(): void {
    this.closingValue = true;
  }

  takeOutput(): Uint8Array[] {
    const taken = this.output;
    this.output = [];
    this.unwrittenBytes += this.outputBytesValue;
    this.outputBytesValue = 0;
    return taken;
  }

  /** The driver wrote `bytes` of the output it took to the socket. */
  written(bytes: number): void {
    this.unwrittenBytes = Math.max(0, this.unwrittenBytes - bytes);
  }

  hasOutput(): boolean {
    return this.output.length > 0;
  }
}
