// A node's simulated disk, behind the storage engine's file-system interface
// (src/storage/file-system.ts), so that every simulated node runs the real
// storage code.
//
// What the process sees and what would survive a crash are kept apart. Every
// change (a write, a truncation, a file created, renamed or removed) is an
// operation in issue order; a file's sync makes that file's earlier changes
// durable, a directory's sync that directory's earlier entries. A crash keeps
// the durable changes and, of the others, a prefix in issue order: nothing
// with a plain crash, a random prefix with a torn one, where the first change
// not kept whole may be torn at byte granularity (a prefix of its bytes, and
// garbage or zeros over the rest of its range). That is the disk a write-ahead
// log may assume (changes are not reordered past one another) with the worst
// it may meet at its tail. Reads may return a flipped bit (a fault of the
// path, not of the data: the next read is right), and writes fail with ENOSPC
// once the files together would pass the disk's space.
//
// Sync latency is simulated: a sync's callback runs when the scheduler reaches
// its completion time, and never after a crash, since the process that asked
// is gone.

import { FileSystemError, parentOf, type FileHandle, type FileSystem, type OpenMode, type SyncDone } from '../src/storage/file-system.js';
import type { SimRandom } from './random.js';

export interface DiskOptions {
  writeLatencyMinMs: number;
  writeLatencyMaxMs: number;
  syncLatencyMinMs: number;
  syncLatencyMaxMs: number;
  /** The chance that one read returns one bit flipped. */
  readFlipChance: number;
  /** Bytes the files may hold together; writes past it fail with ENOSPC. Infinity for no limit. */
  spaceBytes: number;
}

export const DEFAULT_DISK_OPTIONS: DiskOptions = {
  writeLatencyMinMs: 0.05,
  writeLatencyMaxMs: 0.2,
  syncLatencyMinMs: 0.5,
  syncLatencyMaxMs: 2,
  readFlipChance: 0,
  spaceBytes: Number.POSITIVE_INFINITY,
};

/** What is wrong with a set of disk options; empty when nothing is. */
export function validateDiskOptions(options: DiskOptions): string[] {
  const problems: string[] = [];
  const latencies = ['writeLatencyMinMs', 'writeLatencyMaxMs', 'syncLatencyMinMs', 'syncLatencyMaxMs'] as const;
  for (const key of latencies) {
    if (!(Number.isFinite(options[key]) && options[key] >= 0)) problems.push(`${key} must be a number of ms >= 0, got ${String(options[key])}`);
  }
  if (options.writeLatencyMinMs > options.writeLatencyMaxMs) problems.push(`writeLatencyMinMs (${options.writeLatencyMinMs}) must not exceed writeLatencyMaxMs (${options.writeLatencyMaxMs})`);
  if (options.syncLatencyMinMs > options.syncLatencyMaxMs) problems.push(`syncLatencyMinMs (${options.syncLatencyMinMs}) must not exceed syncLatencyMaxMs (${options.syncLatencyMaxMs})`);
  if (!(options.readFlipChance >= 0 && options.readFlipChance <= 1)) problems.push(`readFlipChance must be within [0, 1], got ${String(options.readFlipChance)}`);
  if (!(options.spaceBytes > 0)) problems.push(`spaceBytes must be a positive number of bytes, got ${String(options.spaceBytes)}`);
  return problems;
}

/** Where the simulated disk hands a sync's completion to the simulator's clock. */
export type DiskScheduler = (delayUs: number, action: () => void) => void;

/** A file's contents: the bytes the process sees. Renames move the inode, not the bytes. */
class Inode {
  bytes = new Uint8Array(64);
  size = 0;

  ensureCapacity(size: number): void {
    if (size <= this.bytes.length) return;
    let capacity = this.bytes.length;
    while (capacity < size) capacity *= 2;
    const grown = new Uint8Array(capacity);
    grown.set(this.bytes.subarray(0, this.size));
    this.bytes = grown;
  }

  /** Sets the size, zeroing any bytes it newly covers. */
  resize(size: number): void {
    this.ensureCapacity(size);
    if (size > this.size) this.bytes.fill(0, this.size, size);
    this.size = size;
  }
}

/** One change not yet durable, with what undoing it needs. */
type Change =
  | { readonly kind: 'write'; readonly seq: number; readonly inode: Inode; readonly position: number; readonly data: Uint8Array; readonly oldSize: number; readonly overwritten: Uint8Array }
  | { readonly kind: 'truncate'; readonly seq: number; readonly inode: Inode; readonly oldSize: number; readonly cut: Uint8Array; readonly newSize: number }
  | { readonly kind: 'link'; readonly seq: number; readonly directory: string; readonly path: string; readonly previous: Inode | undefined; readonly inode: Inode | undefined }
  | { readonly kind: 'mkdir'; readonly seq: number; readonly directory: string; readonly path: string };

export class SimFileSystem implements FileSystem {
  private readonly names = new Map<string, Inode>();
  private readonly directories = new Set<string>(['/']);
  /** Changes not yet durable, in issue order. */
  private pending: Change[] = [];
  private nextSeq = 1;
  /** Counts crashes: a handle or a sync from before the last crash is dead. */
  private epoch = 0;
  private optionsValue: DiskOptions;
  syncsDone = 0;
  writesDone = 0;
  readFlips = 0;
  spaceRefusals = 0;

  constructor(
    options: DiskOptions,
    private readonly random: SimRandom,
    private readonly schedule: DiskScheduler,
  ) {
    this.optionsValue = checked({ ...options });
  }

  options(): Readonly<DiskOptions> {
    return this.optionsValue;
  }

  /** Changes the disk's options from now on; throws on a bad combination, changing nothing. */
  configure(changes: Partial<DiskOptions>): void {
    this.optionsValue = checked({ ...this.optionsValue, ...changes });
  }

  // ---- The FileSystem interface.

  makeDirectory(path: string): void {
    const parts = path.split('/').filter((part) => part.length > 0);
    let current = '';
    for (const part of parts) {
      const parent = current === '' ? '/' : current;
      current = `${current}/${part}`;
      if (this.directories.has(current)) continue;
      if (this.names.has(current)) throw new FileSystemError('EEXIST', current, 'a file is in the way');
      this.directories.add(current);
      this.pending.push({ kind: 'mkdir', seq: this.nextSeq++, directory: parent, path: current });
    }
  }

  list(path: string): string[] {
    const directory = normalize(path);
    if (!this.directories.has(directory)) throw new FileSystemError('ENOENT', path, 'no such directory');
    const prefix = directory === '/' ? '/' : `${directory}/`;
    const names: string[] = [];
    for (const name of [...this.names.keys(), ...this.directories]) {
      if (name.startsWith(prefix) && name.length > prefix.length && !name.slice(prefix.length).includes('/')) names.push(name.slice(prefix.length));
    }
    return names;
  }

  exists(path: string): boolean {
    const name = normalize(path);
    return this.names.has(name) || this.directories.has(name);
  }

  open(path: string, mode: OpenMode): FileHandle {
    const name = normalize(path);
    const directory = parentOf(name);
    if (!this.directories.has(directory)) throw new FileSystemError('ENOENT', path, 'no such directory');
    let inode = this.names.get(name);
    if (inode === undefined) {
      if (mode === 'existing') throw new FileSystemError('ENOENT', path, 'no such file');
      inode = new Inode();
      this.link(directory, name, inode);
    } else if (mode === 'truncate') {
      this.truncateInode(inode, 0);
    }
    return new SimFileHandle(this, path, inode, this.epoch);
  }

  rename(from: string, to: string): void {
    const source = normalize(from);
    const target = normalize(to);
    const inode = this.names.get(source);
    if (inode === undefined) throw new FileSystemError('ENOENT', from, 'no such file');
    if (!this.directories.has(parentOf(target))) throw new FileSystemError('ENOENT', to, 'no such directory');
    this.link(parentOf(target), target, inode);
    this.link(parentOf(source), source, undefined);
  }

  remove(path: string): void {
    const name = normalize(path);
    if (!this.names.has(name)) throw new FileSystemError('ENOENT', path, 'no such file');
    this.link(parentOf(name), name, undefined);
  }

  syncDirectory(path: string, done: SyncDone): void {
    const directory = normalize(path);
    const cutoff = this.nextSeq;
    this.afterSync(done, () => {
      this.pending = this.pending.filter((change) => !((change.kind === 'link' || change.kind === 'mkdir') && change.directory === directory && change.seq < cutoff));
    });
  }

  // ---- What the handles call.

  read(handle: SimFileHandle, inode: Inode, target: Uint8Array, position: number): number {
    this.checkAlive(handle);
    const count = Math.max(0, Math.min(target.length, inode.size - position));
    target.set(inode.bytes.subarray(position, position + count));
    if (count > 0 && this.optionsValue.readFlipChance > 0 && this.random.chance(this.optionsValue.readFlipChance)) {
      const at = this.random.int(0, count - 1);
      target[at] = target[at]! ^ (1 << this.random.int(0, 7));
      this.readFlips++;
    }
    return count;
  }

  write(handle: SimFileHandle, inode: Inode, source: Uint8Array, position: number): void {
    this.checkAlive(handle);
    const end = position + source.length;
    const growth = Math.max(0, end - inode.size);
    if (growth > 0 && this.usedBytes() + growth > this.optionsValue.spaceBytes) {
      this.spaceRefusals++;
      throw new FileSystemError('ENOSPC', handle.path, 'no space left on device');
    }
    const oldSize = inode.size;
    const overwritten = inode.bytes.slice(position, Math.min(end, oldSize));
    this.pending.push({ kind: 'write', seq: this.nextSeq++, inode, position, data: source.slice(), oldSize, overwritten });
    inode.resize(Math.max(oldSize, end));
    inode.bytes.set(source, position);
    this.writesDone++;
  }

  truncate(handle: SimFileHandle, inode: Inode, size: number): void {
    this.checkAlive(handle);
    this.truncateInode(inode, size);
  }

  sync(handle: SimFileHandle, inode: Inode, done: SyncDone): void {
    this.checkAlive(handle);
    const cutoff = this.nextSeq;
    this.afterSync(done, () => {
      this.pending = this.pending.filter((change) => !((change.kind === 'write' || change.kind === 'truncate') && change.inode === inode && change.seq < cutoff));
    });
  }

  // ---- Faults.

  /** A crash: what was not durable is gone, and so are the dead process's handles and syncs. */
  crash(): void {
    this.undoPendingFrom(0);
    this.epoch++;
  }

  /**
   * A crash in the middle of writing: a prefix of the changes not yet durable
   * reaches the disk, the first change after it torn when it is a write, and
   * the rest is lost. Half the time the prefix is any length. Otherwise only
   * the last one to three changes are lost, so that the tear falls on what
   * the process was writing as it died: most often the log's tail, which
   * would rarely be hit among the many older unsynced writes of the stream
   * blocks (a kernel would have written those back by then).
   */
  tornCrash(random: SimRandom): void {
    const recent = this.pending.length > 0 && random.chance(0.5);
    const kept = recent ? Math.max(0, this.pending.length - random.int(1, 3)) : random.int(0, this.pending.length);
    const torn = this.pending[kept];
    this.undoPendingFrom(kept);
    if (torn !== undefined && torn.kind === 'write') this.applyTorn(torn, random);
    this.pending = [];
    this.epoch++;
  }

  /** Bytes the files hold together. */
  usedBytes(): number {
    let used = 0;
    for (const inode of new Set(this.names.values())) used += inode.size;
    return used;
  }

  /** A file's bytes as the process sees them, for tests. */
  fileBytes(path: string): Uint8Array | undefined {
    const inode = this.names.get(normalize(path));
    return inode === undefined ? undefined : inode.bytes.slice(0, inode.size);
  }

  /** Changes made but not yet durable, for tests. */
  get pendingChanges(): number {
    return this.pending.length;
  }

  // ---- Helpers.

  private link(directory: string, path: string, inode: Inode | undefined): void {
    const previous = this.names.get(path);
    this.pending.push({ kind: 'link', seq: this.nextSeq++, directory, path, previous, inode });
    if (inode === undefined) this.names.delete(path);
    else this.names.set(path, inode);
  }

  private truncateInode(inode: Inode, size: number): void {
    const oldSize = inode.size;
    const cut = inode.bytes.slice(Math.min(size, oldSize), oldSize);
    this.pending.push({ kind: 'truncate', seq: this.nextSeq++, inode, oldSize, cut, newSize: size });
    inode.resize(size);
  }

  private afterSync(done: SyncDone, makeDurable: () => void): void {
    const epoch = this.epoch;
    const options = this.optionsValue;
    const writeMs = this.random.between(options.writeLatencyMinMs, options.writeLatencyMaxMs);
    const syncMs = this.random.between(options.syncLatencyMinMs, options.syncLatencyMaxMs);
    this.schedule((writeMs + syncMs) * 1000, () => {
      if (epoch !== this.epoch) return;
      makeDurable();
      this.syncsDone++;
      done(undefined);
    });
  }

  /** Undoes the pending changes from position `from` on, newest first. */
  private undoPendingFrom(from: number): void {
    for (let i = this.pending.length - 1; i >= from; i--) this.undo(this.pending[i]!);
    this.pending.length = Math.min(this.pending.length, from);
  }

  private undo(change: Change): void {
    switch (change.kind) {
      case 'write': {
        const inode = change.inode;
        inode.bytes.set(change.overwritten, change.position);
        inode.resize(change.oldSize);
        break;
      }
      case 'truncate': {
        const inode = change.inode;
        inode.resize(change.oldSize);
        inode.bytes.set(change.cut, Math.min(change.newSize, change.oldSize));
        break;
      }
      case 'link':
        if (change.previous === undefined) this.names.delete(change.path);
        else this.names.set(change.path, change.previous);
        break;
      case 'mkdir':
        this.directories.delete(change.path);
        break;
    }
  }

  /** Re-applies part of an undone write: a prefix of its bytes, and garbage or zeros over the rest of its range, or nothing past the prefix. */
  private applyTorn(change: Extract<Change, { kind: 'write' }>, random: SimRandom): void {
    const inode = change.inode;
    // The inode may have been unlinked by an undone change; its bytes only matter while it has a name.
    const keep = random.int(0, change.data.length - 1);
    const coverWhole = random.chance(0.5);
    const end = change.position + (coverWhole ? change.data.length : keep);
    inode.resize(Math.max(inode.size, end));
    inode.bytes.set(change.data.subarray(0, keep), change.position);
    if (coverWhole && random.chance(0.5)) {
      for (let i = change.position + keep; i < end; i++) inode.bytes[i] = random.int(0, 255);
    }
  }

  private checkAlive(handle: SimFileHandle): void {
    if (handle.epoch !== this.epoch) throw new Error(`${handle.path}: a file handle from before a crash was used`);
    if (handle.closed) throw new Error(`${handle.path} is closed`);
  }
}

class SimFileHandle implements FileHandle {
  closed = false;

  constructor(
    private readonly fs: SimFileSystem,
    readonly path: string,
    private readonly inode: Inode,
    readonly epoch: number,
  ) {}

  size(): number {
    return this.inode.size;
  }

  read(target: Uint8Array, position: number): number {
    return this.fs.read(this, this.inode, target, position);
  }

  write(source: Uint8Array, position: number): void {
    this.fs.write(this, this.inode, source, position);
  }

  truncate(size: number): void {
    this.fs.truncate(this, this.inode, size);
  }

  sync(done: SyncDone): void {
    this.fs.sync(this, this.inode, done);
  }

  close(): void {
    this.closed = true;
  }
}

function checked(options: DiskOptions): DiskOptions {
  const problems = validateDiskOptions(options);
  if (problems.length > 0) throw new Error(`bad disk options: ${problems.join('; ')}`);
  return options;
}

function normalize(path: string): string {
  const parts = path.split('/').filter((part) => part.length > 0 && part !== '.');
  return `/${parts.join('/')}`;
}
