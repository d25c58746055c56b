import { RAFT_MESSAGE_TYPE_CODES, type NodeId, type RaftMessage } from '../src/raft/types.js';
import { hashBytes, type RunningHash } from './hash.js';
import type { Scheduled } from './scheduler.js';

export enum EventKind {
  Tick = 1,
  Deliver = 2,
  Persisted = 3,
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

export interface PersistedEvent extends EventBase {
  kind: EventKind.Persisted;
  /** The node's incarnation when the write began; a crash since makes it stale. */
  stamp: number;
}

/** A scheduled action of the harness: a fault, a workload step, a user's callback. */
export interface CallEvent extends EventBase {
  kind: EventKind.Call;
  label: string;
  action: () => void;
}

export type SimEvent = TickEvent | DeliverEvent | PersistedEvent | CallEvent;

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

export function tickEvent(node: NodeId, stamp: number): SimEvent {
  return makeEvent(EventKind.Tick, node, stamp, undefined, undefined, undefined);
}

export function deliverEvent(message: RaftMessage): SimEvent {
  return makeEvent(EventKind.Deliver, message.to, 0, message, undefined, undefined);
}

export function persistedEvent(node: NodeId, incarnation: number): SimEvent {
  return makeEvent(EventKind.Persisted, node, incarnation, undefined, undefined, undefined);
}

export function callEvent(label: string, action: () => void): SimEvent {
  return makeEvent(EventKind.Call, 0, 0, undefined, label, action);
}


/** Folds an event into the trace hash: its time, kind, node and what it carries. */
export function mixEvent(hash: RunningHash, event: SimEvent): void {
  hash.mix(event.time);
  // Kind and node share one mix: node ids stay below 2^16.
  hash.mix(event.kind * 65536 + event.node);
  switch (event.kind) {
    case EventKind.Tick:
    case EventKind.Persisted:
      hash.mix(event.stamp);
      break;
    case EventKind.Deliver: {
      const message = event.message;
      hash.mix(RAFT_MESSAGE_TYPE_CODES[message.type]);
      hash.mix(message.from);
      hash.mix(message.term);
      if (message.type === 'AppendRequest') {
        hash.mix(message.prevLogIndex);
        hash.mix(message.entries.length);
        hash.mix(message.leaderCommit);
        // Commands are part of the trace: runs that replicate different data must differ.
        const entries = message.entries;
        for (let i = 0; i < entries.length; i++) hash.mix(hashBytes(entries[i]!.data));
      } else if (message.type === 'AppendResponse') {
        hash.mix(message.success ? message.matchIndex : -1 - message.rejectedIndex);
      }
      break;
    }
    case EventKind.Call:
      hash.mixString(event.label);
      break;
  }
}

/** A one-line description of an event, for reports and debugging. */
export function describeEvent(event: SimEvent): string {
  const at = `${(event.time / 1000).toFixed(3)}ms`;
  switch (event.kind) {
    case EventKind.Tick:
      return `${at} tick n${event.node}`;
    case EventKind.Persisted:
      return `${at} persisted n${event.node}`;
    case EventKind.Deliver: {
      const m = event.message;
      return `${at} deliver ${m.type} n${m.from}->n${m.to} term ${m.term}`;
    }
    case EventKind.Call:
      return `${at} ${event.label}`;
  }
}
