// One process per data directory. Two nodes sharing one Raft log would each
// believe the other's writes were its own: votes and acknowledged entries
// would be lost without a trace. So a node takes `<dataDir>/LOCK` before it
// reads anything there, and a second process is refused with the holder's pid.
//
// The lock is a file created exclusively (O_CREAT | O_EXCL) holding the
// owner's pid. A node killed with kill -9 leaves it behind; the next start
// finds its pid dead and takes the lock over. A pid that the system has since
// given to another, living process keeps the lock held: the message names the
// pid and the file, so an operator can check and remove it.

import * as fs from 'node:fs';
import * as path from 'node:path';

export class DataDirectoryLockedError extends Error {
  constructor(
    readonly dataDir: string,
    readonly holderPid: number,
  ) {
    super(
      `data directory ${dataDir} is in use by process ${holderPid} (lock file ${path.join(dataDir, 'LOCK')}); ` +
        'stop that process, or give this node its own data directory',
    );
    this.name = 'DataDirectoryLockedError';
  }
}

export class DataDirectoryLock {
  private released = false;

  private constructor(private readonly file: string) {}

  /** Takes the lock on `dataDir` (creating the directory if needed), or throws DataDirectoryLockedError. */
  static acquire(dataDir: string): DataDirectoryLock {
    fs.mkdirSync(dataDir, { recursive: true });
    const file = path.join(dataDir, 'LOCK');
    // Twice at most: once, and once more after clearing a dead holder's file.
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        const fd = fs.openSync(file, 'wx', 0o644);
        try {
          fs.writeSync(fd, `${process.pid}\n`);
        } finally {
          fs.closeSync(fd);
        }
        return new DataDirectoryLock(file);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      }
      const holder = readHolder(file);
      if (holder !== undefined && isProcessAlive(holder)) throw new DataDirectoryLockedError(dataDir, holder);
      // The holder is gone (or the file is unreadable, left by a crash mid-write): take over.
      fs.rmSync(file, { force: true });
    }
    throw new Error(`could not take the lock ${file}: another process keeps creating it`);
  }

  /** Gives the lock up; safe to call more than once. */
  release(): void {
    if (this.released) return;
    this.released = true;
    if (readHolder(this.file) === process.pid) fs.rmSync(this.file, { force: true });
  }
}

/** The pid written in `dataDir`'s LOCK, or undefined when there is no readable lock. */
export function lockHolder(dataDir: string): number | undefined {
  return readHolder(path.join(dataDir, 'LOCK'));
}

function readHolder(file: string): number | undefined {
  try {
    const pid = Number.parseInt(fs.readFileSync(file, 'utf8').trim(), 10);
    return Number.isSafeInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** Whether a process `pid` exists (even one of another user's). */
export function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists but belongs to someone else, which still holds the lock.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
