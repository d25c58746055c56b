// The stream stores' block files (src/broker/file-message-store.ts): what a
// metadata snapshot names stays on disk until a newer snapshot stops naming
// it, blocks nobody names are deleted, and a store that lost a message a
// snapshot holds live refuses to open, naming the stream, the sequence and
// the file.

import { describe, expect, it } from 'vitest';
import type { BrokerCommand } from '../../src/broker/commands.js';
import { FileMessageStores, parseBlockFileName } from '../../src/broker/file-message-store.js';
import { DEFAULT_BROKER_OPTIONS } from '../../src/broker/options.js';
import { decodeBrokerSnapshot } from '../../src/broker/snapshot.js';
import { BrokerStateMachine } from '../../src/broker/state-machine.js';
import { streamConfigWithDefaults } from '../../src/broker/stream-config.js';
import { StorageCorruptionError } from '../../src/storage/corruption.js';
import type { SimFileSystem } from '../../sim/sim-file-system.js';
import { saveMetadataSnapshot, simulatedDisk } from '../support/store-disk.js';
import { publish } from './arbitraries.js';

const DIR = '/data/messages';
const OPTIONS = { blockBytesMax: 300, readCacheBytes: 0 };

function feed(machine: BrokerStateMachine, commands: readonly BrokerCommand[]): void {
  for (const command of commands) machine.apply(machine.appliedIndex + 1, command);
  machine.stores.flush();
}

function publishes(count: number, from: number): BrokerCommand[] {
  return Array.from({ length: count }, (_, i) => publish({ topic: 'orders', payload: new TextEncoder().encode(`order ${from + i}`), timestampMs: 1000 + from + i }));
}

function blockFirstSeqs(fs: SimFileSystem): number[] {
  return fs
    .list(DIR)
    .map((name) => parseBlockFileName(name)?.firstSeq)
    .filter((seq): seq is number => seq !== undefined)
    .sort((a, b) => a - b);
}

describe('the stream stores', () => {
  it('keep the blocks a durable snapshot names, and delete them once a newer one does not', () => {
    const { fs, completeSyncs } = simulatedDisk(7);
    const machine = new BrokerStateMachine(DEFAULT_BROKER_OPTIONS, new FileMessageStores(fs, DIR, OPTIONS));
    feed(machine, [{ type: 'StreamCreate', config: streamConfigWithDefaults({ name: 'ORDERS', subjects: ['orders'], maxMsgs: 10 }, 3) }]);
    feed(machine, publishes(40, 1));
    saveMetadataSnapshot(machine, completeSyncs);
    const afterFirst = blockFirstSeqs(fs);
    // Only the newest ten are live: blocks wholly before seq 31 are gone, and at most one block reaches back before it.
    expect(afterFirst.filter((first) => first < 31).length).toBeLessThanOrEqual(1);

    // Past the limit again: the messages the first snapshot holds are removed from the stream, but its blocks stay until the next snapshot.
    feed(machine, publishes(40, 41));
    expect(blockFirstSeqs(fs).slice(0, afterFirst.length)).toEqual(afterFirst);
    saveMetadataSnapshot(machine, completeSyncs);
    expect(blockFirstSeqs(fs).filter((first) => first < 71).length).toBeLessThanOrEqual(1);
    expect(machine.stream('ORDERS')!.read('orders', 1, 100).map((message) => new TextDecoder().decode(message.payload))).toEqual(
      Array.from({ length: 10 }, (_, i) => `order ${71 + i}`),
    );
  });

  it("refuse to open when a message the snapshot holds live is gone, naming the stream, the sequence and the file", () => {
    const { fs, completeSyncs } = simulatedDisk(7);
    const machine = new BrokerStateMachine(DEFAULT_BROKER_OPTIONS, new FileMessageStores(fs, DIR, OPTIONS));
    feed(machine, [{ type: 'StreamCreate', config: streamConfigWithDefaults({ name: 'ORDERS', subjects: ['orders'] }, 3) }]);
    feed(machine, publishes(20, 1));
    const bytes = saveMetadataSnapshot(machine, completeSyncs);
    const second = fs.list(DIR).filter((name) => parseBlockFileName(name) !== undefined).sort()[1]!;
    const firstSeq = parseBlockFileName(second)!.firstSeq;
    fs.remove(`${DIR}/${second}`);

    let thrown: unknown;
    try {
      decodeBrokerSnapshot(bytes, DEFAULT_BROKER_OPTIONS, new FileMessageStores(fs, DIR, OPTIONS));
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(StorageCorruptionError);
    expect((thrown as Error).message).toContain(`stream ORDERS (id 1) has no whole record of seq ${firstSeq}, which the snapshot holds live (last seq 20)`);
  });

  it('cut what was stored after the snapshot, and store it again from the log', () => {
    const { fs, completeSyncs } = simulatedDisk(7);
    const machine = new BrokerStateMachine(DEFAULT_BROKER_OPTIONS, new FileMessageStores(fs, DIR, OPTIONS));
    const create: BrokerCommand = { type: 'StreamCreate', config: streamConfigWithDefaults({ name: 'ORDERS', subjects: ['orders'] }, 3) };
    feed(machine, [create, ...publishes(10, 1)]);
    const bytes = saveMetadataSnapshot(machine, completeSyncs);
    const tail = publishes(15, 11);
    feed(machine, tail);
    // Written but never synced, and the process dies: no crash of the disk, so the records are all there.
    const decoded = decodeBrokerSnapshot(bytes, DEFAULT_BROKER_OPTIONS, new FileMessageStores(fs, DIR, OPTIONS));
    if (!decoded.ok) throw new Error(decoded.error);
    const restarted = decoded.machine;
    expect(restarted.stream('ORDERS')!.lastSeq).toBe(10);
    feed(restarted, tail);
    expect(restarted.digest()).toBe(machine.digest());
    expect(restarted.stream('ORDERS')!.read('orders', 1, 100)).toEqual(machine.stream('ORDERS')!.read('orders', 1, 100));
  });
});
