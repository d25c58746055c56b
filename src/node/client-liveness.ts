// Which client connections are alive, as nats-server judges them: a client
// must send CONNECT within a deadline, and one that goes quiet is sent PINGs
// and closed once too many go unanswered. Pure and counted in ticks, so the
// simulator runs it as real mode does and a wall-clock jump cannot close
// every client at once.
//
// The CONNECT deadline is nats-server's authorization timeout, which it
// applies when it requires authentication; chorus applies it always, so that
// a connection that never speaks cannot hold a slot (and a file descriptor)
// for the minutes it takes the pings to find it. The answer is nats-server's:
// -ERR 'Authentication Timeout', then the connection closes.
//
// Pings follow nats-server's timer: every pingIntervalTicks after it
// connected, a client from which nothing has come in during the last interval
// is sent a PING, unless pingsOutstandingMax PINGs are already unanswered,
// in which case it is closed with -ERR 'Stale Connection'. A PONG clears the
// count. A client that keeps sending is never pinged.

/** 0 for a tick count turns the check off. */
export interface ClientLivenessOptions {
  /** Ticks from the connection's opening by which CONNECT must have come. */
  readonly connectTimeoutTicks: number;
  readonly pingIntervalTicks: number;
  /** Unanswered PINGs after which the next due PING closes the connection instead. */
  readonly pingsOutstandingMax: number;
}

export type LivenessAction = { readonly kind: 'ping'; readonly session: number } | { readonly kind: 'close'; readonly session: number; readonly reason: string };

/** nats-server's words for each reason a connection is closed. */
export const AUTHENTICATION_TIMEOUT = 'Authentication Timeout';
export const STALE_CONNECTION = 'Stale Connection';

interface Liveness {
  readonly openedTick: number;
  connected: boolean;
  /** The last tick at which anything came in from the client. */
  heardTick: number;
  /** The tick at which the ping timer fires next. */
  nextPingTick: number;
  pingsOutstanding: number;
}

export class ClientLiveness {
  private readonly sessions = new Map<number, Liveness>();

  constructor(private readonly options: ClientLivenessOptions) {}

  opened(session: number, tick: number): void {
    this.sessions.set(session, { openedTick: tick, connected: false, heardTick: tick, nextPingTick: tick + this.options.pingIntervalTicks, pingsOutstanding: 0 });
  }

  /** Bytes came in from the client. */
  heard(session: number, tick: number): void {
    const liveness = this.sessions.get(session);
    if (liveness !== undefined) liveness.heardTick = tick;
  }

  connected(session: number): void {
    const liveness = this.sessions.get(session);
    if (liveness !== undefined) liveness.connected = true;
  }

  ponged(session: number): void {
    const liveness = this.sessions.get(session);
    if (liveness !== undefined) liveness.pingsOutstanding = 0;
  }

  closed(session: number): void {
    this.sessions.delete(session);
  }

  /** What is due at `tick`: PINGs to send and connections to close, in the order the sessions opened. */
  due(tick: number): LivenessAction[] {
    const actions: LivenessAction[] = [];
    const { connectTimeoutTicks, pingIntervalTicks, pingsOutstandingMax } = this.options;
    for (const [session, liveness] of this.sessions) {
      if (connectTimeoutTicks > 0 && !liveness.connected && tick - liveness.openedTick >= connectTimeoutTicks) {
        actions.push({ kind: 'close', session, reason: AUTHENTICATION_TIMEOUT });
        continue;
      }
      if (pingIntervalTicks <= 0 || tick < liveness.nextPingTick) continue;
      liveness.nextPingTick = tick + pingIntervalTicks;
      if (tick - liveness.heardTick < pingIntervalTicks) continue;
      if (liveness.pingsOutstanding + 1 > pingsOutstandingMax) {
        actions.push({ kind: 'close', session, reason: STALE_CONNECTION });
        continue;
      }
      liveness.pingsOutstanding++;
      actions.push({ kind: 'ping', session });
    }
    return actions;
  }
}
