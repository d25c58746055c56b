// Node-to-node transport of real mode: TCP with length-prefixed binary frames.
//
// Each node dials every other node's peer port and sends its messages on that
// connection; what it receives comes in on the connections others dialled.
// A dial that fails or a connection that drops is retried with exponential
// backoff (100 ms doubling to 5 s, with jitter). Messages sent while a peer is
// unreachable are dropped: Raft retries what matters, exactly as it does on a
// lossy network.
//
// Authentication: the listener opens with a random 16-byte challenge; the
// dialler answers with its node id and HMAC-SHA256(secret, challenge || id).
// A peer that answers wrongly is refused and logged, and nothing it sent is
// read. The secret itself never crosses the wire. A connection that has not
// answered within handshakeTimeoutMs is closed, and at most handshakesMax
// connections may be in their handshake at once (new ones beyond are closed
// at once), so that silent connections cannot take every file descriptor.
//
// Fault injection (admin commands): messages to or from chosen peers can be
// dropped or delayed, on this node's side only.

import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import * as net from 'node:net';
import * as tls from 'node:tls';
import type { ClockStamp, PeerMessage } from '../node/peer-messages.js';
import { CLOCK_STAMP_BYTES, decodeStampedPeerMessage, encodeStampedPeerMessage } from '../protocol/broker-peer-codec.js';
import { FRAME_PREFIX_BYTES, FrameReader, type PeerCodecLimits } from '../protocol/peer-codec.js';
import type { NodeAddress } from './config.js';
import { RefusalLog } from './refusal-log.js';

const CHALLENGE_BYTES = 16;
const MAC_BYTES = 32;
const BACKOFF_MIN_MS = 100;
const BACKOFF_MAX_MS = 5000;
/** Bytes queued on one connection before further messages to that peer are dropped. */
const QUEUED_BYTES_MAX = 64 * 1024 * 1024;

export interface PeerTransportOptions {
  readonly self: NodeAddress;
  readonly peers: readonly NodeAddress[];
  readonly secret: string;
  readonly limits: PeerCodecLimits;
  readonly onMessage: (message: PeerMessage, clock: ClockStamp) => void;
  /** The connection to a peer closed (its process died, or the link dropped): a hint that it may be gone. */
  readonly onPeerLost?: (peer: number) => void;
  readonly log: (line: string) => void;
  /** The listener failed after it started: the node cannot take its peers' connections any more. */
  readonly onListenerError?: (error: Error) => void;
  /** An accepted connection must complete its handshake within this. */
  readonly handshakeTimeoutMs?: number;
  /** Accepted connections still in their handshake at most. */
  readonly handshakesMax?: number;
  /**
   * TLS on peer links (docs/security.md): the listener's options and the
   * dialler's. Both present their certificate and check the other's; the
   * secret's challenge and answer then run inside the encrypted link.
   */
  readonly tls?: { readonly server: tls.TlsOptions; readonly dial: tls.ConnectionOptions } | undefined;
}

const DEFAULT_HANDSHAKE_TIMEOUT_MS = 2000;
const DEFAULT_HANDSHAKES_MAX = 64;

export interface PeerFaults {
  /** Drop everything to and from every peer. */
  readonly isolated: boolean;
  readonly dropTo: ReadonlySet<number>;
  readonly dropFrom: ReadonlySet<number>;
  readonly delayToMs: ReadonlyMap<number, number>;
}

export const NO_FAULTS: PeerFaults = { isolated: false, dropTo: new Set(), dropFrom: new Set(), delayToMs: new Map() };

interface Outbound {
  readonly peer: NodeAddress;
  socket: net.Socket | undefined;
  ready: boolean;
  backoffMs: number;
  timer: NodeJS.Timeout | undefined;
  /** The socket is corked until the end of this turn; see write. */
  corked: boolean;
}

export class PeerTransport {
  private server: net.Server | undefined;
  private readonly outbound = new Map<number, Outbound>();
  private readonly inbound = new Set<net.Socket>();
  /** Accepted connections that have not completed their handshake. */
  private handshaking = 0;
  private readonly refusals: RefusalLog;
  /** Peer links whose TLS handshake failed (a certificate the other side or this one refused). */
  private readonly tlsFailures: RefusalLog;
  private stopped = false;
  faults: PeerFaults = NO_FAULTS;

  constructor(private readonly options: PeerTransportOptions) {
    this.refusals = new RefusalLog('peer', options.log);
    this.tlsFailures = new RefusalLog('peer', options.log, 60_000, 'over TLS errors');
  }

  async start(): Promise<void> {
    const peerTls = this.options.tls;
    // Under TLS a connection reaches accept() once its TLS handshake is done; the server's handshakeTimeout bounds a silent one before that.
    const server = peerTls === undefined ? net.createServer((socket) => this.accept(socket)) : tls.createServer(peerTls.server, (socket) => this.accept(socket));
    if (peerTls !== undefined) server.on('tlsClientError', (error) => this.tlsFailures.note(`an incoming handshake: ${error.message}`));
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.options.self.peerPort, this.options.self.host, () => {
        server.off('error', reject);
        server.on('error', (error) => this.options.onListenerError?.(error));
        resolve();
      });
    });
    for (const peer of this.options.peers) {
      const link: Outbound = { peer, socket: undefined, ready: false, backoffMs: BACKOFF_MIN_MS, timer: undefined, corked: false };
      this.outbound.set(peer.id, link);
      this.dial(link);
    }
  }

  /** Sends `message` behind `clock`, the sender's clock stamp taken as it goes (a DELAY fault holds both, as a slow network would). */
  send(message: PeerMessage, clock: ClockStamp): void {
    if (this.faults.isolated || this.faults.dropTo.has(message.to)) return;
    const delay = this.faults.delayToMs.get(message.to);
    if (delay !== undefined && delay > 0) {
      setTimeout(() => this.write(message, clock), delay).unref();
      return;
    }
    this.write(message, clock);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const link of this.outbound.values()) {
      if (link.timer !== undefined) clearTimeout(link.timer);
      link.socket?.destroy();
    }
    for (const socket of this.inbound) socket.destroy();
    await new Promise<void>((resolve) => (this.server === undefined ? resolve() : this.server.close(() => resolve())));
  }

  private write(message: PeerMessage, clock: ClockStamp): void {
    const link = this.outbound.get(message.to);
    if (link?.socket === undefined || !link.ready) return;
    if (link.socket.writableLength > QUEUED_BYTES_MAX) return;
    const payload = encodeStampedPeerMessage(message, clock);
    const frame = Buffer.allocUnsafe(FRAME_PREFIX_BYTES + payload.length);
    frame.writeUInt32BE(payload.length, 0);
    frame.set(payload, FRAME_PREFIX_BYTES);
    const socket = link.socket;
    if (!link.corked) {
      // Everything sent to this peer in this turn of the event loop leaves in one write (writev), not a write a message.
      link.corked = true;
      socket.cork();
      process.nextTick(() => {
        link.corked = false;
        socket.uncork();
      });
    }
    socket.write(frame);
  }

  private dial(link: Outbound): void {
    if (this.stopped) return;
    link.timer = undefined;
    const peerTls = this.options.tls;
    const target = { host: link.peer.host, port: link.peer.peerPort };
    const socket = peerTls === undefined ? net.connect(target) : tls.connect({ ...peerTls.dial, ...target });
    socket.setNoDelay(true);
    link.socket = socket;
    link.ready = false;
    let challenge = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      if (link.ready) return; // The listener never sends after its challenge.
      challenge = Buffer.concat([challenge, chunk]);
      if (challenge.length < CHALLENGE_BYTES) return;
      const id = Buffer.alloc(4);
      id.writeUInt32BE(this.options.self.id, 0);
      socket.write(Buffer.concat([id, mac(this.options.secret, challenge.subarray(0, CHALLENGE_BYTES), id)]));
      link.ready = true;
      link.backoffMs = BACKOFF_MIN_MS;
      this.options.log(`connected to peer ${link.peer.id} at ${link.peer.host}:${link.peer.peerPort}`);
    });
    socket.on('error', (error) => {
      // A certificate the peer refused or we refused is worth saying; a refused dial to a node that is down is not.
      if (peerTls !== undefined && !('code' in error && (error.code === 'ECONNREFUSED' || error.code === 'ECONNRESET'))) {
        this.tlsFailures.note(`dialling peer ${link.peer.id}: ${error.message}`);
      }
    });
    socket.on('close', () => {
      if (link.socket !== socket) return;
      // Connections a stopping node closes itself are not news.
      if (link.ready && !this.stopped) {
        this.options.log(`lost the connection to peer ${link.peer.id}; reconnecting`);
        if (!this.stopped) this.options.onPeerLost?.(link.peer.id);
      }
      link.socket = undefined;
      link.ready = false;
      if (this.stopped) return;
      const jitter = 0.5 + Math.random() * 0.5;
      link.timer = setTimeout(() => this.dial(link), link.backoffMs * jitter);
      link.backoffMs = Math.min(BACKOFF_MAX_MS, link.backoffMs * 2);
    });
  }

  private accept(socket: net.Socket): void {
    if (this.stopped) {
      socket.destroy();
      return;
    }
    if (this.handshaking >= (this.options.handshakesMax ?? DEFAULT_HANDSHAKES_MAX)) {
      this.refusals.note(`${this.handshaking} connections already in their handshake`);
      socket.destroy();
      return;
    }
    socket.setNoDelay(true);
    this.inbound.add(socket);
    this.handshaking++;
    const timeoutMs = this.options.handshakeTimeoutMs ?? DEFAULT_HANDSHAKE_TIMEOUT_MS;
    const deadline = setTimeout(() => {
      this.refusals.note(`no handshake within ${timeoutMs} ms`);
      socket.destroy();
    }, timeoutMs);
    let inHandshake = true;
    const handshakeOver = (): void => {
      if (!inHandshake) return;
      inHandshake = false;
      this.handshaking--;
      clearTimeout(deadline);
    };
    const challenge = randomBytes(CHALLENGE_BYTES);
    socket.write(challenge);
    let hello = Buffer.alloc(0);
    let peer: number | undefined;
    const reader = new FrameReader({ ...this.options.limits, frameBytesMax: this.options.limits.frameBytesMax + CLOCK_STAMP_BYTES });
    const where = `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? '?'}`;
    socket.on('data', (chunk: Buffer) => {
      let bytes: Uint8Array = chunk;
      if (peer === undefined) {
        hello = Buffer.concat([hello, chunk]);
        if (hello.length < 4 + MAC_BYTES) return;
        const id = hello.subarray(0, 4);
        const claimed = id.readUInt32BE(0);
        const expected = mac(this.options.secret, challenge, id);
        const known = this.options.peers.some((candidate) => candidate.id === claimed);
        if (!known || !timingSafeEqual(expected, hello.subarray(4, 4 + MAC_BYTES))) {
          this.options.log(`refused a peer connection from ${where} claiming node ${claimed}: ${known ? 'wrong cluster secret' : 'not a node of this cluster'}`);
          socket.destroy();
          return;
        }
        peer = claimed;
        handshakeOver();
        bytes = hello.subarray(4 + MAC_BYTES);
      }
      this.readFrames(reader, bytes, peer, socket);
    });
    socket.on('error', () => undefined);
    socket.on('close', () => {
      handshakeOver();
      this.inbound.delete(socket);
      // Its connection to us closing says the same as ours to it closing: it may be gone. Either may be the first a survivor sees.
      if (peer !== undefined && !this.stopped) this.options.onPeerLost?.(peer);
    });
  }

  private readFrames(reader: FrameReader, bytes: Uint8Array, peer: number, socket: net.Socket): void {
    const result = reader.push(bytes);
    for (const frame of result.payloads) {
      const decoded = decodeStampedPeerMessage(frame, this.options.limits);
      if (!decoded.ok) {
        this.options.log(`dropping the connection from peer ${peer}: ${decoded.error}`);
        socket.destroy();
        return;
      }
      // A peer may only speak for itself.
      if (decoded.message.from !== peer || decoded.message.to !== this.options.self.id) {
        this.options.log(`dropping the connection from peer ${peer}: a message from ${decoded.message.from} to ${decoded.message.to}`);
        socket.destroy();
        return;
      }
      if (this.faults.isolated || this.faults.dropFrom.has(peer)) continue;
      this.options.onMessage(decoded.message, decoded.clock);
    }
    if (result.error !== undefined) {
      this.options.log(`dropping the connection from peer ${peer}: ${result.error}`);
      socket.destroy();
    }
  }
}

function mac(secret: string, challenge: Uint8Array, id: Uint8Array): Buffer {
  return createHmac('sha256', secret).update(challenge).update(id).digest();
}
