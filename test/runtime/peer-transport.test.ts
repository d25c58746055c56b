import { afterEach, describe, expect, it } from 'vitest';
import type { ClockStamp, PeerMessage } from '../../src/node/peer-messages.js';
import { DEFAULT_PEER_CODEC_LIMITS } from '../../src/protocol/peer-codec.js';
import { AdminServer } from '../../src/runtime/admin-server.js';
import type { NodeAddress } from '../../src/runtime/config.js';
import { NO_FAULTS, PeerTransport, type PeerFaults } from '../../src/runtime/peer-transport.js';
import { eventually, freePorts, sleep } from '../../src/runtime/local-cluster.js';

const transports: PeerTransport[] = [];
afterEach(async () => {
  for (const transport of transports.splice(0)) await transport.stop();
});

/** Addresses for nodes 1..count, every port distinct. */
async function addresses(count: number): Promise<NodeAddress[]> {
  const ports = await freePorts(3 * count);
  return Array.from({ length: count }, (_, i) => ({
    id: i + 1,
    host: '127.0.0.1',
    adminHost: '127.0.0.1',
    clientPort: ports[3 * i]!,
    peerPort: ports[3 * i + 1]!,
    adminPort: ports[3 * i + 2]!,
    monitorPort: 0,
    dataDir: '',
  }));
}

const stamps: ClockStamp[] = [];

function transport(self: NodeAddress, peers: NodeAddress[], secret: string, received: PeerMessage[], log: string[]): PeerTransport {
  const onMessage = (message: PeerMessage, clock: ClockStamp): void => {
    received.push(message);
    stamps.push(clock);
  };
  const created = new PeerTransport({ self, peers, secret, limits: DEFAULT_PEER_CODEC_LIMITS, onMessage, log: (line) => log.push(line) });
  transports.push(created);
  return created;
}

const heartbeat = (from: number, to: number): PeerMessage => ({ type: 'Heartbeat', group: 1, from, to, term: 1, commit: 0, seq: 1 });
const clock: ClockStamp = { hlc: { l: 1_700_000_000_000, c: 3 }, sentMs: 1_700_000_000_000, echoSentMs: 1_699_999_999_990, echoReceivedMs: 1_699_999_999_995 };

describe('PeerTransport', () => {
  it('carries messages between nodes that share the secret, and reconnects after a restart', async () => {
    const [a, b] = (await addresses(2)) as [NodeAddress, NodeAddress];
    const atB: PeerMessage[] = [];
    const first = transport(a, [b], 'shared-secret', [], []);
    let second = transport(b, [a], 'shared-secret', atB, []);
    await Promise.all([first.start(), second.start()]);
    await eventually(() => {
      first.send(heartbeat(1, 2), clock);
      return atB.length > 0 ? true : undefined;
    }, 5000, 'a message to arrive');
    expect(atB[0]).toEqual(heartbeat(1, 2));
    expect(stamps.at(-1)).toEqual(clock);
    await second.stop();
    atB.length = 0;
    second = transport(b, [a], 'shared-secret', atB, []);
    await second.start();
    await eventually(() => {
      first.send(heartbeat(1, 2), clock);
      return atB.length > 0 ? true : undefined;
    }, 10_000, 'a message after the peer came back');
  });

  it('refuses and logs a peer that does not know the secret', async () => {
    const [a, b] = (await addresses(2)) as [NodeAddress, NodeAddress];
    const atA: PeerMessage[] = [];
    const logA: string[] = [];
    const honest = transport(a, [b], 'right-secret', atA, logA);
    const intruder = transport(b, [a], 'wrong-secret', [], []);
    await Promise.all([honest.start(), intruder.start()]);
    await eventually(() => (logA.some((line) => line.includes('refused a peer connection')) ? true : undefined), 5000, 'the refusal');
    for (let i = 0; i < 5; i++) {
      intruder.send(heartbeat(2, 1), clock);
      await sleep(20);
    }
    expect(atA).toEqual([]);
    expect(logA.find((line) => line.includes('refused'))).toMatch(/claiming node 2: wrong cluster secret/);
  });
});

describe('AdminServer commands', () => {
  it('changes the transport faults and the clock skew, and refuses bad commands clearly', () => {
    const target = { skewMs: 0, transportFaults: NO_FAULTS as PeerFaults, status: () => ({ node: 1 }) };
    const admin = new AdminServer(target, 'secret', () => undefined);
    expect(admin.execute('DROP TO 2,3')).toBe('OK dropping to 2,3');
    expect([...target.transportFaults.dropTo]).toEqual([2, 3]);
    expect(admin.execute('drop from 3')).toBe('OK dropping from 3');
    expect(admin.execute('DELAY TO 2 150')).toBe('OK delaying to 2 by 150 ms');
    expect(target.transportFaults.delayToMs.get(2)).toBe(150);
    expect(admin.execute('SKEW -2500')).toBe('OK clock skewed by -2500 ms');
    expect(target.skewMs).toBe(-2500);
    expect(admin.execute('ISOLATE')).toBe('OK isolated');
    expect(target.transportFaults.isolated).toBe(true);
    expect(admin.execute('HEAL')).toBe('OK healed');
    expect(target.transportFaults).toEqual(NO_FAULTS);
    expect(admin.execute('STATUS')).toBe('OK {"node":1}');
    expect(admin.execute('DROP SIDEWAYS 2')).toBe('ERR usage: DROP TO|FROM <id>[,<id>...]');
    expect(admin.execute('SKEW soon')).toBe('ERR usage: SKEW <ms>');
    expect(admin.execute('REBOOT')).toMatch(/^ERR unknown command "REBOOT"/);
  });
});
