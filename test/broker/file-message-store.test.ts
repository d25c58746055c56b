// The stream stores' block files (src/broker/file-message-store.ts): what a
// metadata snapshot names stays on disk until a newer snapshot stops naming
// it, blocks nobody names are deleted, and a store that lost a message a
// snapshot holds live refuses to open, naming the stream, the sequence and
// the file.

import { describe, expect, it } from 'vitest';
import type { BrokerCommand } from '../../src/broker/commands.js';
import { FileMessageStores, parseBlockFileName } from '../../src/broker/file-message-store.js';
import { DEFAULT_BROKER_OPTIONS } from '../../src/broker/options.js';
import { decodeBrokerSnapshot, snapshotKind } from '../../src/broker/snapshot.js';
import { WholeSnapshotSource } from '../../src/broker/whole-snapshot-source.js';
import type { SnapshotFile, SnapshotSource } from '../../src/raft/config.js';
import { crc32 } from '../../src/storage/crc32.js';
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

/** Saved snapshots as a node's storage keeps them: the newest, and the one before it, readable. */
class SavedSnapshots implements SnapshotSource {
  private readonly files: { file: SnapshotFile; bytes: Uint8Array }[] = [];

  save(index: number, bytes: Uint8Array): void {
    this.files.push({ file: { index, term: 1, size: bytes.length, crc: crc32(bytes) }, bytes });
    if (this.files.length > 2) this.files.shift();
  }

  latest(): SnapshotFile | undefined {
    return this.files[this.files.length - 1]?.file;
  }

  read(index: number, offset: number, length: number): Uint8Array | undefined {
    return this.files.find((saved) => saved.file.index === index)?.bytes.slice(offset, offset + length);
  }
}

/** Every chunk of a snapshot, as a leader sends them. */
function readAll(source: SnapshotSource, file: SnapshotFile): Uint8Array {
  const bytes = new Uint8Array(file.size);
  for (let offset = 0; offset < file.size; offset += 100) {
    const chunk = source.read(file.index, offset, Math.min(100, file.size - offset));
    if (chunk === undefined) throw new Error(`snapshot ${file.index} gone at ${offset}`);
    bytes.set(chunk, offset);
  }
  return bytes;
}

describe('the snapshot a leader sends', () => {
  it('is its metadata snapshot made whole, and the one before stays readable while a transfer may still read it', () => {
    const { fs, completeSyncs } = simulatedDisk(9);
    const stores = new FileMessageStores(fs, DIR, OPTIONS);
    const machine = new BrokerStateMachine(DEFAULT_BROKER_OPTIONS, stores);
    const saved = new SavedSnapshots();
    const source = new WholeSnapshotSource(saved, stores);
    feed(machine, [{ type: 'StreamCreate', config: streamConfigWithDefaults({ name: 'ORDERS', subjects: ['orders'], maxMsgs: 12 }, 3) }, ...publishes(20, 1)]);
    saved.save(machine.appliedIndex, saveMetadataSnapshot(machine, completeSyncs));
    const first = source.latest()!;
    const firstBytes = readAll(source, first);
    expect(snapshotKind(firstBytes)).toBe('whole');
    expect(crc32(firstBytes)).toBe(first.crc);
    const firstDigest = machine.digest();
    const sent = decodeBrokerSnapshot(firstBytes, DEFAULT_BROKER_OPTIONS);
    if (!sent.ok) throw new Error(sent.error);
    expect(sent.machine.digest()).toBe(firstDigest);
    expect(sent.machine.stream('ORDERS')!.read('orders', 1, 100)).toEqual(machine.stream('ORDERS')!.read('orders', 1, 100));

    // A newer snapshot: the first, made whole, is still read the same; a third takes the first away.
    feed(machine, publishes(20, 21));
    saved.save(machine.appliedIndex, saveMetadataSnapshot(machine, completeSyncs));
    const second = source.latest()!;
    expect(second.index).toBeGreaterThan(first.index);
    expect(readAll(source, first)).toEqual(firstBytes);
    feed(machine, publishes(5, 41));
    saved.save(machine.appliedIndex, saveMetadataSnapshot(machine, completeSyncs));
    source.latest();
    expect(source.read(first.index, 0, 10)).toBeUndefined();
    const third = source.latest()!;
    // A saved metadata snapshot is never sent as it is: a source that has not made it whole has nothing to read.
    expect(new WholeSnapshotSource(saved, stores).read(third.index, 0, 10)).toBeUndefined();
    const thirdMachine = decodeBrokerSnapshot(readAll(source, third), DEFAULT_BROKER_OPTIONS);
    expect(thirdMachine.ok && thirdMachine.machine.digest()).toBe(machine.digest());
  });
});
