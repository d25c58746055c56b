// A small client of the chorus protocol over TCP, for the command-line tools
// (chorus pub, sub, history, status) and the real-mode tests. It reads frames
// with the same ServerParser the simulator's clients use.

import * as net from 'node:net';
import * as tls from 'node:tls';
import { ServerParser, type ServerFrame } from '../protocol/server-parser.js';

/** How a client proves itself to a node that requires it (docs/security.md). */
export interface ClientSecurity {
  readonly user?: string | undefined;
  readonly password?: string | undefined;
  readonly token?: string | undefined;
  /** PEM of the authority the server's certificate must come from; absent, the system's. */
  readonly tlsCa?: string | Buffer | undefined;
}

/** INFO's longest line we wait for before calling the peer something other than a NATS server. */
const INFO_LINE_BYTES_MAX = 64 * 1024;

export class ChorusClient {
  private readonly parser = new ServerParser();
  private readonly frames: ServerFrame[] = [];
  private waiters: (() => void)[] = [];
  private closedValue = false;
  private nextInbox = 1;

  private constructor(private readonly socket: net.Socket) {
    socket.on('data', (chunk: Buffer) => this.received(chunk));
    socket.on('close', () => {
      this.closedValue = true;
      this.wake();
    });
    socket.on('error', () => undefined);
  }

  /**
   * Connects, reads the INFO greeting, starts TLS when the server requires
   * it (NATS's tls_required), and sends CONNECT with the credentials given.
   * When the server requires authentication it waits for the server's
   * verdict, so a refusal fails here, in the server's words.
   */
  static async connect(host: string, port: number, timeoutMs = 5000, security: ClientSecurity = {}): Promise<ChorusClient> {
    const raw = net.connect({ host, port });
    raw.on('error', () => undefined);
    await withDeadline(
      new Promise<void>((resolve, reject) => {
        raw.once('connect', resolve);
        raw.once('error', (error) => reject(new Error(`cannot connect to ${host}:${port}: ${error.message}`)));
      }),
      timeoutMs,
      `no answer from ${host}:${port} within ${timeoutMs} ms`,
      raw,
    );
    raw.setNoDelay(true);
    const { info, rest } = await withDeadline(readInfoLine(raw), timeoutMs, `no INFO greeting from ${host}:${port} within ${timeoutMs} ms`, raw);
    let socket: net.Socket = raw;
    if (info.tls_required === true) {
      const secure = tls.connect({ socket: raw, host, ...(security.tlsCa === undefined ? {} : { ca: security.tlsCa }), ...(net.isIP(host) === 0 ? { servername: host } : {}) });
      secure.on('error', () => undefined);
      await withDeadline(
        new Promise<void>((resolve, reject) => {
          secure.once('secureConnect', resolve);
          secure.once('error', (error) => reject(new Error(`TLS with ${host}:${port} failed: ${error.message}`)));
        }),
        timeoutMs,
        `no TLS handshake with ${host}:${port} within ${timeoutMs} ms`,
        secure,
      );
      socket = secure;
    } else if (security.tlsCa !== undefined) {
      raw.destroy();
      throw new Error(`${host}:${port} does not offer TLS, and a TLS certificate authority was given: refusing to speak in the clear`);
    }
    const client = new ChorusClient(socket);
    if (rest.length > 0) client.received(rest);
    socket.resume();
    const connectOptions = {
      verbose: false,
      pedantic: false,
      headers: true,
      name: 'chorus-cli',
      ...(security.user === undefined ? {} : { user: security.user, pass: security.password ?? '' }),
      ...(security.token === undefined ? {} : { auth_token: security.token }),
    };
    client.write(`CONNECT ${JSON.stringify(connectOptions)}\r\nSUB _INBOX.cli.* cli-inbox\r\n`);
    if (info.auth_required === true) {
      try {
        await client.flush(timeoutMs);
      } catch (error) {
        client.close();
        const needs = security.user === undefined && security.token === undefined ? ' (it requires credentials: --user and --password, or --token)' : '';
        throw new Error(`${host}:${port} refused the connection: ${(error as Error).message.replace(/^the server refused it: /, '')}${needs}`);
      }
    }
    return client;
  }

  get closed(): boolean {
    return this.closedValue;
  }

  write(data: string | Uint8Array): void {
    this.socket.write(data);
  }

  close(): void {
    this.socket.end();
  }

  /** Waits for the first frame that `match` accepts, and removes it (and nothing else) from the queue. */
  async next(match: (frame: ServerFrame) => boolean, timeoutMs: number): Promise<ServerFrame> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const index = this.frames.findIndex((frame) => match(frame) || frame.type === 'Broken');
      if (index >= 0) {
        const [frame] = this.frames.splice(index, 1);
        if (frame!.type === 'Broken') throw new Error(`the server sent something unreadable: ${frame!.reason}`);
        return frame!;
      }
      if (this.closedValue) throw new Error('the server closed the connection');
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no answer within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** Takes every queued frame. */
  drain(): ServerFrame[] {
    return this.frames.splice(0);
  }

  /** Publishes and waits for the PubAck (or error object) as parsed JSON. */
  async publish(topic: string, payload: Uint8Array, msgId: string | undefined, timeoutMs: number): Promise<Record<string, unknown>> {
    const headers = msgId === undefined ? new Uint8Array(0) : new TextEncoder().encode(`NATS/1.0\r\nNats-Msg-Id: ${msgId}\r\n\r\n`);
    return this.request(topic, headers, payload, timeoutMs);
  }

  /**
   * Sends a request (a publish with a reply subject) and waits for its one
   * JSON answer. A -ERR from the server (a subject it refuses, say) fails it
   * at once with the server's words, rather than after the timeout.
   */
  async request(subject: string, headers: Uint8Array, payload: Uint8Array, timeoutMs: number): Promise<Record<string, unknown>> {
    const inbox = `_INBOX.cli.${this.nextInbox++}`;
    this.write(`HPUB ${subject} ${inbox} ${headers.length} ${headers.length + payload.length}\r\n`);
    this.write(Buffer.concat([headers, payload, Buffer.from('\r\n')]));
    const reply = await this.next((frame) => (frame.type === 'Msg' && frame.subject === inbox) || frame.type === 'Err', timeoutMs);
    if (reply.type === 'Err') throw new Error(`the server refused it: ${reply.message}`);
    return JSON.parse(new TextDecoder().decode((reply as Extract<ServerFrame, { type: 'Msg' }>).payload)) as Record<string, unknown>;
  }

  /**
   * A PING answered: everything written before it has been read by the
   * server. The server answers in order, so a -ERR before the PONG refused
   * something written before the PING (a publish to a reserved subject, say):
   * that fails the flush with the server's words.
   */
  async flush(timeoutMs: number): Promise<void> {
    this.write('PING\r\n');
    const frame = await this.next((candidate) => candidate.type === 'Pong' || candidate.type === 'Err', timeoutMs);
    if (frame.type === 'Err') throw new Error(`the server refused it: ${frame.message}`);
  }

  /** Publishes without waiting for anything: NATS core, for a subject no stream captures. */
  publishCore(subject: string, payload: Uint8Array): void {
    this.write(`PUB ${subject} ${payload.length}\r\n`);
    this.write(Buffer.concat([payload, Buffer.from('\r\n')]));
  }

  async status(timeoutMs: number): Promise<Record<string, unknown>> {
    this.write('STATUS\r\n');
    const frame = await this.next((candidate) => candidate.type === 'Status' || candidate.type === 'Err', timeoutMs);
    if (frame.type === 'Err') throw new Error(frame.message);
    return (frame as Extract<ServerFrame, { type: 'Status' }>).status;
  }

  async history(topic: string, from: number, limit: number, timeoutMs: number): Promise<{ lastOffset: number; entries: Extract<ServerFrame, { type: 'Entry' }>[] }> {
    this.write(`HISTORY ${topic} ${from} ${limit}\r\n`);
    const head = await this.next((frame) => frame.type === 'HistoryHead' || frame.type === 'Err', timeoutMs);
    if (head.type === 'Err') throw new Error(head.message);
    const { count, lastOffset } = head as Extract<ServerFrame, { type: 'HistoryHead' }>;
    const entries: Extract<ServerFrame, { type: 'Entry' }>[] = [];
    while (entries.length < count) entries.push((await this.next((frame) => frame.type === 'Entry', timeoutMs)) as Extract<ServerFrame, { type: 'Entry' }>);
    return { lastOffset, entries };
  }

  /**
   * Up to `limit` messages from `from` on, over as many HISTORY reads as it
   * takes: a node answers each read with what fits in the client's output
   * budget (and at most historyMessagesMax), so one read may hold fewer.
   */
  async historyPaged(topic: string, from: number, limit: number, timeoutMs: number): Promise<{ lastOffset: number; entries: Extract<ServerFrame, { type: 'Entry' }>[] }> {
    const entries: Extract<ServerFrame, { type: 'Entry' }>[] = [];
    let next = from;
    for (;;) {
      const page = await this.history(topic, next, limit - entries.length, timeoutMs);
      entries.push(...page.entries);
      const last = page.entries.at(-1);
      if (last === undefined || entries.length >= limit || last.offset >= page.lastOffset) return { lastOffset: page.lastOffset, entries };
      next = last.offset + 1;
    }
  }

  private received(chunk: Uint8Array): void {
    for (const frame of this.parser.feed(chunk)) {
      // The server PINGs a quiet client (a long `chorus sub`) and closes it when PINGs go unanswered.
      if (frame.type === 'Ping') this.socket.write('PONG\r\n');
      else this.frames.push(frame);
    }
    this.wake();
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const wake of waiters) wake();
  }
}

/** Splits `host:port`; the port is required. */
export function parseServer(text: string): { host: string; port: number } {
  const match = /^(.+):(\d{1,5})$/.exec(text);
  const port = match === null ? NaN : Number(match[2]);
  if (match === null || port < 1 || port > 65535) throw new Error(`--server must be host:port, got '${text}'`);
  return { host: match[1]!, port };
}

/**
 * Reads the server's INFO line straight off the socket, and pauses it there:
 * under tls_required every byte after that line is TLS, so nothing more may
 * be read in the clear.
 */
function readInfoLine(socket: net.Socket): Promise<{ info: Record<string, unknown>; rest: Buffer }> {
  return new Promise((resolve, reject) => {
    let buffered = Buffer.alloc(0);
    const onData = (chunk: Buffer): void => {
      buffered = Buffer.concat([buffered, chunk]);
      const end = buffered.indexOf('\r\n');
      if (end < 0) {
        if (buffered.length > INFO_LINE_BYTES_MAX) fail(new Error('the server sent no INFO line'));
        return;
      }
      socket.pause();
      cleanup();
      const line = buffered.subarray(0, end).toString('utf8');
      const match = /^INFO\s+(.*)$/i.exec(line);
      let info: unknown;
      try {
        info = match === null ? undefined : JSON.parse(match[1]!);
      } catch {
        info = undefined;
      }
      if (typeof info !== 'object' || info === null) return reject(new Error(`the server did not greet with INFO: ${JSON.stringify(line.slice(0, 80))}`));
      resolve({ info: info as Record<string, unknown>, rest: buffered.subarray(end + 2) });
    };
    const onClose = (): void => fail(new Error('the server closed the connection before its INFO greeting'));
    const fail = (error: Error): void => {
      cleanup();
      reject(error);
    };
    const cleanup = (): void => {
      socket.off('data', onData);
      socket.off('close', onClose);
    };
    socket.on('data', onData);
    socket.on('close', onClose);
  });
}

/** `work`, or an error saying `what` after `timeoutMs`, destroying `socket` then. */
async function withDeadline<T>(work: Promise<T>, timeoutMs: number, what: string, socket: net.Socket): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      work,
      new Promise<never>((_resolve, reject) => {
        timer = setTimeout(() => {
          socket.destroy();
          reject(new Error(what));
        }, timeoutMs);
      }),
    ]);
  } catch (error) {
    socket.destroy();
    throw error;
  } finally {
    clearTimeout(timer);
  }
}
