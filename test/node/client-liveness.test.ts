import { describe, expect, it } from 'vitest';
import { ClientLiveness } from '../../src/node/client-liveness.js';

describe('ClientLiveness: CONNECT deadline and pings, as nats-server', () => {
  it('closes a connection without CONNECT at the deadline with Authentication Timeout, and not one that sent it', () => {
    const liveness = new ClientLiveness({ connectTimeoutTicks: 20, pingIntervalTicks: 0, pingsOutstandingMax: 2 });
    liveness.opened(1, 0);
    liveness.opened(2, 0);
    liveness.heard(1, 5);
    liveness.heard(2, 5);
    liveness.connected(2);
    expect(liveness.due(19)).toEqual([]);
    expect(liveness.due(20)).toEqual([{ kind: 'close', session: 1, reason: 'Authentication Timeout' }]);
    liveness.closed(1);
    expect(liveness.due(1000)).toEqual([]);
  });

  it('pings a quiet client every interval and closes it as stale when max pings go unanswered', () => {
    const liveness = new ClientLiveness({ connectTimeoutTicks: 0, pingIntervalTicks: 10, pingsOutstandingMax: 2 });
    liveness.opened(7, 0);
    liveness.connected(7);
    const actions = [];
    for (let tick = 1; tick <= 30; tick++) for (const action of liveness.due(tick)) actions.push({ tick, ...action });
    expect(actions).toEqual([
      { tick: 10, kind: 'ping', session: 7 },
      { tick: 20, kind: 'ping', session: 7 },
      { tick: 30, kind: 'close', session: 7, reason: 'Stale Connection' },
    ]);
  });

  it('keeps a client that answers its PINGs, and does not ping one that keeps sending', () => {
    const liveness = new ClientLiveness({ connectTimeoutTicks: 0, pingIntervalTicks: 10, pingsOutstandingMax: 2 });
    liveness.opened(1, 0);
    liveness.opened(2, 0);
    const seen: string[] = [];
    for (let tick = 1; tick <= 100; tick++) {
      liveness.heard(2, tick);
      for (const action of liveness.due(tick)) {
        seen.push(`${tick} ${action.kind} ${action.session}`);
        // Client 1 answers each PING at once.
        if (action.kind === 'ping' && action.session === 1) {
          liveness.heard(1, tick);
          liveness.ponged(1);
        }
      }
    }
    expect(seen).toEqual([10, 20, 30, 40, 50, 60, 70, 80, 90, 100].map((tick) => `${tick} ping 1`));
  });
});
