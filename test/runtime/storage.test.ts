import * as childProcess from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import { DataDirectoryLock, DataDirectoryLockedError } from '../../src/runtime/data-dir-lock.js';
import { NODE_FILE_SYSTEM } from '../../src/runtime/node-file-system.js';
import { StorageCorruptionError } from '../../src/storage/corruption.js';
import { crc32 } from '../../src/storage/crc32.js';
import { NodeStorage, type OpenedStorage, type PersistWork } from '../../src/storage/node-storage.js';
import type { Entry } from '../../src/raft/types.js';

// The on-disk format survives restarts, cuts a torn tail with a note, and
// refuses corrupted data before the tail with the file and byte offset.

const directories: string[] = [];
afterEach(() => {
  for (const dir of directories.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
});

function tempDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'chorus-storage-'));
  directories.push(dir);
  return dir;
}

function entry(index: number, term: number, text = `command ${index}`): Entry {
  return { index, term, kind: 'command', data: new TextEncoder().encode(text) };
}

function openStorage(dir: string, segmentBytesMax: number, note: (line: string) => void): Promise<OpenedStorage> {
  return new Promise((resolve, reject) => {
    NodeStorage.open(NODE_FILE_SYSTEM, dir, { segmentBytesMax, note }, (error, opened) => (error === undefined ? resolve(opened!) : reject(error)));
  });
}

async function open(dir: string, segmentBytesMax = 1 << 20): Promise<{ storage: NodeStorage; notes: string[]; entries: readonly Entry[]; term: number; vote: number }> {
  const notes: string[] = [];
  const { storage, durable } = await openStorage(dir, segmentBytesMax, (line) => notes.push(line));
  return { storage, notes, entries: durable.entries, term: durable.hardState.term, vote: durable.hardState.vote };
}

function persist(storage: NodeStorage, work: PersistWork): Promise<void> {
  return new Promise((resolve, reject) => storage.persist(work, (error) => (error === undefined ? resolve() : reject(error))));
}

function segmentFiles(dir: string): string[] {
  return fs.readdirSync(path.join(dir, 'log')).sort().map((name) => path.join(dir, 'log', name));
}

describe('crc32', () => {
  it('agrees with zlib', () => {
    const bytes = new TextEncoder().encode('The quick brown fox jumps over the lazy dog');
    expect(crc32(bytes)).toBe(zlib.crc32(bytes));
    expect(crc32(new Uint8Array(0))).toBe(0);
  });
});

describe('NodeStorage', () => {
  it('counts its starts durably, one more at every open', async () => {
    const dir = tempDir();
    const starts: number[] = [];
    for (let i = 0; i < 3; i++) {
      const { storage, incarnation } = await openStorage(dir, 1 << 20, () => {});
      starts.push(incarnation);
      storage.close();
    }
    expect(starts).toEqual([1, 2, 3]);
  });

  it('restarts from exactly what was persisted: hard state, entries, truncations', async () => {
    const dir = tempDir();
    const first = await open(dir);
    expect(first.entries).toEqual([]);
    expect([first.term, first.vote]).toEqual([0, 0]);
    await persist(first.storage, { hardState: { term: 2, vote: 3 }, truncateFrom: undefined, entries: [entry(1, 1), entry(2, 2), entry(3, 2)] });
    await persist(first.storage, { hardState: undefined, truncateFrom: 3, entries: [entry(3, 2, 'replaced'), { index: 4, term: 2, kind: 'noop', data: new Uint8Array(0) }] });
    first.storage.close();
    const second = await open(dir);
    expect([second.term, second.vote]).toEqual([2, 3]);
    expect(second.entries).toEqual([entry(1, 1), entry(2, 2), entry(3, 2, 'replaced'), { index: 4, term: 2, kind: 'noop', data: new Uint8Array(0) }]);
    expect(second.notes).toEqual([]);
    second.storage.close();
  });

  it('rolls over to new segments and truncates across them', async () => {
    const dir = tempDir();
    const first = await open(dir, 200);
    await persist(first.storage, { hardState: undefined, truncateFrom: undefined, entries: Array.from({ length: 30 }, (_, i) => entry(i + 1, 1)) });
    expect(segmentFiles(dir).length).toBeGreaterThan(3);
    await persist(first.storage, { hardState: undefined, truncateFrom: 5, entries: [entry(5, 2)] });
    first.storage.close();
    const second = await open(dir, 200);
    expect(second.entries.map((e) => [e.index, e.term])).toEqual([[1, 1], [2, 1], [3, 1], [4, 1], [5, 2]]);
    await persist(second.storage, { hardState: undefined, truncateFrom: undefined, entries: [entry(6, 2)] });
    second.storage.close();
    expect((await open(dir, 200)).entries).toHaveLength(6);
  });

  it('cuts a torn tail record with a note and keeps everything before it', async () => {
    const dir = tempDir();
    const first = await open(dir);
    await persist(first.storage, { hardState: undefined, truncateFrom: undefined, entries: [entry(1, 1), entry(2, 1), entry(3, 1)] });
    first.storage.close();
    const [segment] = segmentFiles(dir);
    const size = fs.statSync(segment!).size;
    fs.truncateSync(segment!, size - 5);
    const second = await open(dir);
    expect(second.entries.map((e) => e.index)).toEqual([1, 2]);
    expect(second.notes).toEqual([expect.stringMatching(/cut a torn record at byte \d+/)]);
    // The log goes on from there.
    await persist(second.storage, { hardState: undefined, truncateFrom: undefined, entries: [entry(3, 2)] });
    second.storage.close();
    expect((await open(dir)).entries.map((e) => [e.index, e.term])).toEqual([[1, 1], [2, 1], [3, 2]]);
  });

  it('refuses a corrupted record before the tail, naming the file and byte offset', async () => {
    const dir = tempDir();
    const first = await open(dir);
    await persist(first.storage, { hardState: undefined, truncateFrom: undefined, entries: [entry(1, 1), entry(2, 1), entry(3, 1)] });
    first.storage.close();
    const [segment] = segmentFiles(dir);
    const bytes = fs.readFileSync(segment!);
    // The second record starts after the 16-byte header and the first record.
    const secondRecord = 16 + 8 + 17 + 'command 1'.length;
    bytes[secondRecord + 8 + 20] = bytes[secondRecord + 8 + 20]! ^ 0xff;
    fs.writeFileSync(segment!, bytes);
    await expect(open(dir)).rejects.toThrow(StorageCorruptionError);
    await expect(open(dir)).rejects.toThrow(new RegExp(`segment-0+1\\.log: byte ${secondRecord}: CRC mismatch`));
  });

  it('refuses a damaged length field even in the last segment, when good records follow it', async () => {
    const dir = tempDir();
    const first = await open(dir);
    await persist(first.storage, { hardState: undefined, truncateFrom: undefined, entries: [entry(1, 1), entry(2, 1), entry(3, 1)] });
    first.storage.close();
    const [segment] = segmentFiles(dir);
    const bytes = fs.readFileSync(segment!);
    new DataView(bytes.buffer, bytes.byteOffset).setUint32(16, 0x7fffffff);
    fs.writeFileSync(segment!, bytes);
    await expect(open(dir)).rejects.toThrow(/byte 16: record length/);
  });

  it('keeps the hard state in two copies: one damaged copy is survived, two are refused', async () => {
    const dir = tempDir();
    const first = await open(dir);
    await persist(first.storage, { hardState: { term: 5, vote: 1 }, truncateFrom: undefined, entries: [] });
    // Let the mirror copy finish before closing.
    await new Promise((resolve) => setTimeout(resolve, 50));
    first.storage.close();
    const file = path.join(dir, 'hardstate');
    const bytes = fs.readFileSync(file);
    expect(bytes.length).toBe(96);
    bytes[20] = bytes[20]! ^ 1;
    fs.writeFileSync(file, bytes);
    const second = await open(dir);
    expect([second.term, second.vote]).toEqual([5, 1]);
    second.storage.close();
    const again = fs.readFileSync(file);
    again[20] = again[20]! ^ 1;
    again[68] = again[68]! ^ 1;
    fs.writeFileSync(file, again);
    await expect(open(dir)).rejects.toThrow(/hardstate: byte 0: both hard state copies are damaged/);
  });
});

describe('DataDirectoryLock', () => {
  it('refuses a second holder, naming the directory and the pid, and frees the directory on release', () => {
    const dir = tempDir();
    const lock = DataDirectoryLock.acquire(dir);
    expect(fs.readFileSync(path.join(dir, 'LOCK'), 'utf8')).toBe(`${process.pid}\n`);
    expect(() => DataDirectoryLock.acquire(dir)).toThrow(DataDirectoryLockedError);
    expect(() => DataDirectoryLock.acquire(dir)).toThrow(`data directory ${dir} is in use by process ${process.pid}`);
    lock.release();
    expect(fs.existsSync(path.join(dir, 'LOCK'))).toBe(false);
    DataDirectoryLock.acquire(dir).release();
  });

  it('is refused while another living process holds it, and taken over from a dead one', () => {
    const dir = tempDir();
    const file = path.join(dir, 'LOCK');
    fs.writeFileSync(file, `${process.ppid}\n`);
    expect(() => DataDirectoryLock.acquire(dir)).toThrow(`in use by process ${process.ppid}`);
    const finished = childProcess.spawnSync(process.execPath, ['-e', 'process.pid'], { stdio: 'ignore' });
    fs.writeFileSync(file, `${finished.pid}\n`);
    const lock = DataDirectoryLock.acquire(dir);
    expect(fs.readFileSync(file, 'utf8')).toBe(`${process.pid}\n`);
    lock.release();
  });
});
