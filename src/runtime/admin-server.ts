// A node's admin port: fault injection for tests and scenarios, by hand or by
// program, one command per line. The node opens with `CHALLENGE <hex>`, 16
// random bytes in hex; the first line must be `AUTH <hex>`, the HMAC-SHA256 of
// that challenge's hex text under the cluster secret (adminAuthAnswer), so the
// secret never crosses the wire and an answer overheard is no good on the
// next connection. By hand:
//   printf %s <challenge> | openssl dgst -sha256 -hmac "$SECRET"
//
//   STATUS                     the node's status as JSON
//   DROP TO <id>[,<id>...]     drop messages this node sends to those peers
//   DROP FROM <id>[,<id>...]   drop messages this node receives from them
//   DELAY TO <id> <ms>         delay messages to a peer (0 removes the delay)
//   ISOLATE                    drop everything to and from every peer
//   HEAL                       remove every drop and delay
//   SKEW <ms>                  shift this node's wall clock (may be negative)
//
// Each command is answered by one line, `OK ...` or `ERR <reason>`.
//
// A connection that has not sent its AUTH line within authTimeoutMs is
// answered `ERR no AUTH within <ms> ms` and closed, and at most
// connectionsMax connections are open at once (one more is answered `ERR too
// many admin connections` and closed), so that silent connections cannot
// take every file descriptor.

import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import * as net from 'node:net';
import { NO_FAULTS, type PeerFaults } from './peer-transport.js';
import { RefusalLog } from './refusal-log.js';

export interface AdminLimits {
  readonly authTimeoutMs: number;
  readonly connectionsMax: number;
}

const DEFAULT_ADMIN_LIMITS: AdminLimits = { authTimeoutMs: 2000, connectionsMax: 16 };

/** What the admin server changes on the node it serves. */
export interface AdminTarget {
  skewMs: number;
  transportFaults: PeerFaults;
  status(): Record<string, unknown>;
}

const LINE_BYTES_MAX = 4096;
const CHALLENGE_BYTES = 16;

/** The answer to an admin port's challenge: HMAC-SHA256 of the challenge's hex text under the secret, in hex. */
export function adminAuthAnswer(secret: string, challengeHex: string): string {
  return createHmac('sha256', secret).update(challengeHex, 'utf8').digest('hex');
}

/** Whether `line` is `AUTH <the right answer>`, compared in constant time. */
function answersChallenge(line: string, expected: string): boolean {
  const match = /^AUTH ([0-9a-f]{64})$/.exec(line);
  return match !== null && timingSafeEqual(Buffer.from(match[1]!, 'hex'), Buffer.from(expected, 'hex'));
}

export class AdminServer {
  private server: net.Server | undefined;
  private readonly sockets = new Set<net.Socket>();
  private readonly refusals: RefusalLog;

  constructor(
    private readonly target: AdminTarget,
    private readonly secret: string,
    private readonly log: (line: string) => void,
    /** The listener failed after it started. */
    private readonly onListenerError: (error: Error) => void = () => undefined,
    private readonly limits: AdminLimits = DEFAULT_ADMIN_LIMITS,
  ) {
    this.refusals = new RefusalLog('admin', log);
  }

  listen(host: string, port: number): Promise<void> {
    const server = net.createServer((socket) => this.accept(socket));
    this.server = server;
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        server.on('error', (error) => this.onListenerError(error));
        resolve();
      });
    });
  }

  stop(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    return new Promise((resolve) => (this.server === undefined ? resolve() : this.server.close(() => resolve())));
  }

  private accept(socket: net.Socket): void {
    socket.on('error', () => undefined);
    if (this.sockets.size >= this.limits.connectionsMax) {
      this.refusals.note(`${this.sockets.size} connections already open`);
      socket.end('ERR too many admin connections\n');
      // A client that does not read must not hold the socket open either.
      setTimeout(() => socket.destroy(), 1000).unref();
      return;
    }
    this.sockets.add(socket);
    let buffered = '';
    let authenticated = false;
    const timeoutMs = this.limits.authTimeoutMs;
    const deadline = setTimeout(() => {
      this.refusals.note(`no AUTH within ${timeoutMs} ms`);
      socket.end(`ERR no AUTH within ${timeoutMs} ms\n`);
      setTimeout(() => socket.destroy(), 1000).unref();
    }, timeoutMs);
    socket.setEncoding('utf8');
    const challenge = randomBytes(CHALLENGE_BYTES).toString('hex');
    const expected = adminAuthAnswer(this.secret, challenge);
    socket.write(`CHALLENGE ${challenge}\n`);
    socket.on('data', (chunk: string) => {
      buffered += chunk;
      if (buffered.length > LINE_BYTES_MAX && !buffered.includes('\n')) {
        socket.end('ERR line too long\n');
        return;
      }
      let newline: number;
      while ((newline = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, newline).trim();
        buffered = buffered.slice(newline + 1);
        if (line.length === 0) continue;
        if (!authenticated) {
          authenticated = answersChallenge(line, expected);
          if (!authenticated) {
            this.log(`admin: refused a connection from ${socket.remoteAddress ?? '?'}: its AUTH did not answer the challenge under the cluster secret`);
            socket.end('ERR the first line must be AUTH <HMAC-SHA256 of the challenge under the cluster secret, in hex>\n');
            return;
          }
          clearTimeout(deadline);
          socket.write('OK authenticated\n');
          continue;
        }
        socket.write(`${this.execute(line)}\n`);
      }
    });
    socket.on('close', () => {
      clearTimeout(deadline);
      this.sockets.delete(socket);
    });
  }

  /** Runs one command line and returns its answer. */
  execute(line: string): string {
    const words = line.split(/\s+/);
    const verb = words[0]!.toUpperCase();
    const faults = this.target.transportFaults;
    switch (verb) {
      case 'STATUS':
        return `OK ${JSON.stringify(this.target.status())}`;
      case 'DROP': {
        const direction = words[1]?.toUpperCase();
        const ids = parseIds(words[2]);
        if ((direction !== 'TO' && direction !== 'FROM') || ids === undefined || words.length !== 3) return 'ERR usage: DROP TO|FROM <id>[,<id>...]';
        const set = new Set(direction === 'TO' ? faults.dropTo : faults.dropFrom);
        for (const id of ids) set.add(id);
        this.target.transportFaults = direction === 'TO' ? { ...faults, dropTo: set } : { ...faults, dropFrom: set };
        this.log(`admin: dropping messages ${direction.toLowerCase()} ${ids.join(', ')}`);
        return `OK dropping ${direction.toLowerCase()} ${[...set].join(',')}`;
      }
      case 'DELAY': {
        const ids = parseIds(words[2]);
        const ms = Number(words[3]);
        if (words[1]?.toUpperCase() !== 'TO' || ids === undefined || words.length !== 4 || !Number.isFinite(ms) || ms < 0) {
          return 'ERR usage: DELAY TO <id>[,<id>...] <ms>';
        }
        const delays = new Map(faults.delayToMs);
        for (const id of ids) delays.set(id, ms);
        this.target.transportFaults = { ...faults, delayToMs: delays };
        this.log(`admin: delaying messages to ${ids.join(', ')} by ${ms} ms`);
        return `OK delaying to ${ids.join(',')} by ${ms} ms`;
      }
      case 'ISOLATE':
        this.target.transportFaults = { ...faults, isolated: true };
        this.log('admin: isolated from every peer');
        return 'OK isolated';
      case 'HEAL':
        this.target.transportFaults = NO_FAULTS;
        this.log('admin: healed');
        return 'OK healed';
      case 'SKEW': {
        const ms = Number(words[1]);
        if (words.length !== 2 || !Number.isInteger(ms)) return 'ERR usage: SKEW <ms>';
        this.target.skewMs = ms;
        this.log(`admin: clock skewed by ${ms} ms`);
        return `OK clock skewed by ${ms} ms`;
      }
      default:
        return `ERR unknown command ${JSON.stringify(verb.slice(0, 20))}; commands: STATUS, DROP, DELAY, ISOLATE, HEAL, SKEW`;
    }
  }
}

function parseIds(text: string | undefined): number[] | undefined {
  if (text === undefined || !/^\d+(,\d+)*$/.test(text)) return undefined;
  return text.split(',').map(Number);
}
