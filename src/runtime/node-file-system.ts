// The storage engine's file-system interface (src/storage/file-system.ts)
// over node:fs: synchronous reads and writes against the page cache, and
// fdatasync and directory fsync on the thread pool, so the event loop keeps
// serving while the disk flushes.

import * as fs from 'node:fs';
import type { FileHandle, FileSystem, OpenMode, SyncDone } from '../storage/file-system.js';

/** Read-write in every mode; 'create' adds O_CREAT without O_APPEND, which would force every write to the end. */
function openFlags(mode: OpenMode): number {
  const { O_RDWR, O_CREAT, O_TRUNC } = fs.constants;
  switch (mode) {
    case 'existing':
      return O_RDWR;
    case 'create':
      return O_RDWR | O_CREAT;
    case 'truncate':
      return O_RDWR | O_CREAT | O_TRUNC;
  }
}

class NodeFileHandle implements FileHandle {
  private fd: number | undefined;

  constructor(
    readonly path: string,
    fd: number,
  ) {
    this.fd = fd;
  }

  size(): number {
    return fs.fstatSync(this.descriptor()).size;
  }

  read(target: Uint8Array, position: number): number {
    return fs.readSync(this.descriptor(), target, 0, target.length, position);
  }

  write(source: Uint8Array, position: number): void {
    let written = 0;
    while (written < source.length) {
      written += fs.writeSync(this.descriptor(), source, written, source.length - written, position + written);
    }
  }

  truncate(size: number): void {
    fs.ftruncateSync(this.descriptor(), size);
  }

  sync(done: SyncDone): void {
    fs.fdatasync(this.descriptor(), (error) => done(error ?? undefined));
  }

  close(): void {
    if (this.fd === undefined) return;
    const fd = this.fd;
    this.fd = undefined;
    fs.closeSync(fd);
  }

  private descriptor(): number {
    if (this.fd === undefined) throw new Error(`${this.path} is closed`);
    return this.fd;
  }
}

export const NODE_FILE_SYSTEM: FileSystem = {
  makeDirectory(path) {
    fs.mkdirSync(path, { recursive: true });
  },
  list(path) {
    return fs.readdirSync(path);
  },
  exists(path) {
    return fs.existsSync(path);
  },
  open(path, mode) {
    return new NodeFileHandle(path, fs.openSync(path, openFlags(mode), 0o644));
  },
  rename(from, to) {
    fs.renameSync(from, to);
  },
  remove(path) {
    fs.unlinkSync(path);
  },
  syncDirectory(path, done) {
    fs.open(path, 'r', (openError, fd) => {
      if (openError !== null) {
        done(openError);
        return;
      }
      fs.fsync(fd, (syncError) => fs.close(fd, () => done(syncError ?? undefined)));
    });
  },
};
