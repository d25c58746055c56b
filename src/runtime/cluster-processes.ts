// Which node processes `chorus cluster start` started, so that `chorus cluster
// stop` and `chorus cluster status`, run later from another shell, can find
// them. Each node's record is a small JSON file in its own data directory,
// beside the LOCK file the node itself writes: a pid counts as the node's only
// while that LOCK holds the same pid, so a pid the system has given to some
// other process since is never signalled.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { isProcessAlive, lockHolder } from './data-dir-lock.js';

export const PROCESS_RECORD_FILE = 'cluster-start.json';

export interface NodeProcessRecord {
  /** The node's own process. */
  readonly pid: number;
  /** The `chorus cluster start` that started it. */
  readonly supervisorPid: number;
  /** When it was started, as an ISO 8601 time. */
  readonly startedAt: string;
}

/** Writes the record whole or not at all: a reader never sees half a file. */
export function writeProcessRecord(dataDir: string, record: NodeProcessRecord): void {
  fs.mkdirSync(dataDir, { recursive: true });
  const file = path.join(dataDir, PROCESS_RECORD_FILE);
  fs.writeFileSync(`${file}.tmp`, `${JSON.stringify(record)}\n`);
  fs.renameSync(`${file}.tmp`, file);
}

/** The record in `dataDir`, or undefined when there is none or it is unreadable. */
export function readProcessRecord(dataDir: string): NodeProcessRecord | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(fs.readFileSync(path.join(dataDir, PROCESS_RECORD_FILE), 'utf8'));
  } catch {
    return undefined;
  }
  const fields = parsed as Partial<Record<keyof NodeProcessRecord, unknown>>;
  if (!isPid(fields.pid) || !isPid(fields.supervisorPid) || typeof fields.startedAt !== 'string') return undefined;
  return { pid: fields.pid, supervisorPid: fields.supervisorPid, startedAt: fields.startedAt };
}

/** Removes the record if it is still the one of `pid`: a newer start's record stays. */
export function removeProcessRecord(dataDir: string, pid: number): void {
  if (readProcessRecord(dataDir)?.pid === pid) fs.rmSync(path.join(dataDir, PROCESS_RECORD_FILE), { force: true });
}

/** Whether `pid` is alive and still the node of `dataDir` (it holds the directory's LOCK). */
export function isNodeRunning(dataDir: string, pid: number): boolean {
  return isProcessAlive(pid) && lockHolder(dataDir) === pid;
}

function isPid(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value > 0;
}
