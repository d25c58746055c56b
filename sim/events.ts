import { raftMessageTypeCode, type NodeId, type RaftMessage } from '../src/raft/types.js';
import { hashBytes, hashString, type RunningHash } from './hash.js';
import type { Scheduled } from './scheduler.js';

export enum EventKind {
  Tick = 1,
  Deliver = 2,
  Disk = 3,
  Call = 4,
}

interface EventBase extends Scheduled {
  /** The node the event happens on, or 0 for cluster-wide events. */
  node: NodeId;
}

export interface TickEvent extends EventBase {
  kind: EventKind.Tick;
  /** The node's tick stamp when this tick was planned; a newer stamp makes it stale. */
  stamp: number;
}

export interface DeliverEvent extends EventBase {
  kind: EventKind.Deliver;
  message: RaftMessage;
}

/** A simulated disk finishing a sync: the action tells the storage code, which ignores it after a crash. */
export interface DiskEvent extends EventBase {
  kind: EventKind.Disk;
  action: () => void;
}

/** A scheduled action of the harness: a fault, a workload step, a user's callback. */
export interface CallEvent extends EventBase {
  kind: EventKind.Call;
  label: string;
  action: () => void;
}

export type SimEvent = TickEvent | DeliverEvent | DiskEvent | CallEvent;

/**
 * Every event is built here with the same fields in the same order, whatever its
 * kind, so the scheduler's heap and the event loop see one object shape and the
 * engine keeps their property reads fast.
 */
function makeEvent(
  kind: EventKind,
  node: NodeId,
  stamp: number,
  message: RaftMessage | undefined,
  label: string | undefined,
  action: (() => void) | undefined,
): SimEvent {
  return { time: 0, seq: 0, kind, node, stamp, message, label, action } as SimEvent;
}

/** The one event shape with every field writable, for the pool to refill. */
interface EventRecord {
  time: number;
  seq: number;
  kind: EventKind;
  node: NodeId;
  stamp: number;
  message: RaftMessage | undefined;
  label: string | undefined;
  action: (() => void) | undefined;
}

/**
 * Makes events, reusing those that have run and that nobody else can still hold.
 * The driver decides that: a cluster that keeps recent events or hands every
 * event to an observer releases none, since the observer may keep a reference.
 * Reusing spares the young generation one object per event, which the collector
 * would otherwise sweep up thousands of times a simulated second.
 */
export class EventPool {
  private readonly free: EventRecord[] = [];

  tick(node: NodeId, stamp: number): SimEvent {
    return this.make(EventKind.Tick, node, stamp, undefined, undefined, undefined);
  }

  deliver(message: RaftMessage): SimEvent {
    return this.make(EventKind.Deliver, message.to, 0, message, undefined, undefined);
  }

  disk(node: NodeId, action: () => void): SimEvent {
    return this.make(EventKind.Disk, node, 0, undefined, undefined, action);
  }

  call(label: string, action: () => void): SimEvent {
    return this.make(EventKind.Call, 0, 0, undefined, label, action);
  }

  /** Takes back an event that has run and left the queue; it must not be used again. */
  release(event: SimEvent): void {
    const record = event as EventRecord;
    // Drop what the event refers to, so a pooled event keeps nothing alive.
    record.message = undefined;
    record.label = undefined;
    record.action = undefined;
    this.free.push(record);
  }

  private make(
    kind: EventKind,
    node: NodeId,
    stamp: number,
    message: RaftMessage | undefined,
    label: string | undefined,
    action: (() => void) | undefined,
  ): SimEvent {
    const record = this.free.pop();
    if (record === undefined) return makeEvent(kind, node, stamp, message, label, action);
    record.time = 0;
    record.seq = 0;
    record.kind = kind;
    record.node = node;
    record.stamp = stamp;
    record.message = message;
    record.label = label;
    record.action = action;
    return record as SimEvent;
  }
}

/**
 * The label of the last Call event hashed and its hash. Nearly every Call event
 * is the workload's next step under one label, so one remembered label spares
 * hashing the same text again and again.
 */
let lastLabel = '';
let lastLabelHash = hashString('');

function labelHash(label: string): number {
  if (label !== lastLabel) {
    lastLabel = label;
    lastLabelHash = hashString(label);
  }
  return lastLabelHash;
}

/**
 * Folds an event into the trace hash: its time, kind, node and what it carries.
 * Small fields are packed into one number before mixing (kind below 8, node ids
 * and senders below 16, message type codes below 8), because this runs for every
 * event and each mix costs about as much as packing several fields.
 */
export function mixEvent(hash: RunningHash, event: SimEvent): void {
  hash.mix(event.time);
  const header = event.kind * 16 + event.node;
  switch (event.kind) {
    case EventKind.Tick:
      hash.mix(event.stamp * 128 + header);
      break;
    case EventKind.Disk:
      hash.mix(header);
      break;
    case EventKind.Deliver: {
      const message = event.message;
      hash.mix(message.term * 16384 + raftMessageTypeCode(message.type) * 2048 + message.from * 128 + header);
      if (message.type === 'AppendRequest') {
        hash.mix(message.prevLogIndex);
        hash.mix(message.leaderCommit);
        // Commands are part of the trace: runs that replicate different data must
        // differ. The entry count seeds the chain over every entry's bytes.
        const entries = message.entries;
        let data = entries.length;
        for (let i = 0; i < entries.length; i++) data = hashBytes(entries[i]!.data, data);
        hash.mix(data);
      } else if (message.type === 'AppendResponse') {
        hash.mix(message.success ? message.matchIndex : -1 - message.rejectedIndex);
      }
      break;
    }
    case EventKind.Call:
      hash.mix(labelHash(event.label) * 128 + header);
      break;
  }
}

/** A one-line description of an event, for reports and debugging. */
export function describeEvent(event: SimEvent): string {
  const at = `${(event.time / 1000).toFixed(3)}ms`;
  switch (event.kind) {
    case EventKind.Tick:
      return `${at} tick n${event.node}`;
    case EventKind.Disk:
      return `${at} disk n${event.node}`;
    case EventKind.Deliver: {
      const m = event.message;
      return `${at} deliver ${m.type} n${m.from}->n${m.to} term ${m.term}`;
    }
    case EventKind.Call:
      return `${at} ${event.label}`;
  }
}
