// Subscriptions of one node's clients, served from the node's own applied log.
//
// Every subscription reads each topic it matches through a cursor: the next
// offset it will deliver there. A message is delivered only when its offset
// equals the cursor, which then moves one on, so a subscription sees every
// topic it matches in offset order, with no gap and nothing twice, whatever
// happens to its client's output. Where the cursor starts is the only
// difference between the kinds of subscription:
//   - SUB (live): after the last message of every topic that exists when it
//     subscribes; at offset 1 of topics created later.
//   - XSUB FIRST: offset 1; XSUB FROM n: offset n of every matching topic.
//   - XSUB DURABLE c: one past c's acknowledged offset on each topic, read
//     from the replicated state when the topic is first touched.
//
// A subscription whose cursors are all at the end is live: each newly applied
// message is delivered as it is applied. One that is behind (it started in the
// past, or its client could not take more output) is catching up: pump()
// delivers from the applied log in bounded rounds until it reaches the end.
// A slow client therefore falls behind and catches up; it never loses a
// message and is never cut off for it.
//
// A queue group (SUB with a queue name) is one subscription with several
// members; each message goes to one member, taken in turn. Groups are per
// node: members connected to different nodes each get every message.
//
// An ORDERED subscription merges its topics by timestamp. Catching up, it
// replays them merged from the applied log, which is exact. Live, each
// applied message passes through a ReorderBuffer (src/clock) whose sources are
// the Raft groups its messages come from: a message waits until no group can
// still send an earlier one, or at most the subscription's bound, and one that
// comes after a later one went out is delivered marked late. A node hosts one
// group today, whose stamps strictly increase along its log, so the buffer
// releases every message as it is applied and never marks one late; the
// simulator checks that ordered deliveries are in timestamp order.

import { assert } from '../raft/assert.js';
import { compareHlc, type HlcTimestamp } from '../clock/hlc.js';
import { ReorderBuffer } from '../clock/reorder-buffer.js';
import type { SubscriptionStart } from '../protocol/client-commands.js';
import type { BrokerStateMachine, StoredMessage } from '../broker/state-machine.js';
import { SubjectIndex, subjectMatches } from '../broker/subjects.js';

/** Messages a catching-up subscription reads from the store at a time. */
const CATCH_UP_PAGE_MESSAGES = 32;

/** One client's SUB or XSUB, by session and sid. */
export interface Member {
  readonly session: number;
  readonly sid: string;
  /** Messages delivered to this member so far. */
  delivered: number;
  /** UNSUB's max: the member leaves after this many deliveries. */
  max: number | undefined;
  readonly subscription: Subscription;
}

export type StartRule = { readonly kind: 'live' } | SubscriptionStart;

export class Subscription {
  readonly members: Member[] = [];
  /** topic -> the next offset to deliver there. */
  readonly cursors = new Map<string, number>();
  catchingUp: boolean;
  /** ORDERED only: live messages waiting to be merged, and topic -> the last offset it holds there. */
  readonly reorder: ReorderBuffer<StoredMessage> | undefined;
  readonly heldUpTo = new Map<string, number>();
  private turn = 0;

  constructor(
    /** Creation order; catching-up subscriptions are served in this order, so delivery is deterministic. */
    readonly order: number,
    readonly subject: string,
    readonly queue: string | undefined,
    readonly start: StartRule,
    /** ORDERED: the sources live messages come from, and the longest one is held back, in ms. */
    ordering?: Ordering,
  ) {
    this.catchingUp = start.kind !== 'live';
    this.reorder = ordering === undefined ? undefined : new ReorderBuffer(ordering.boundMs, ordering.sources);
  }

  /** Merges the matching topics in timestamp order, rather than topic by topic. */
  get ordered(): boolean {
    return this.reorder !== undefined;
  }

  get consumer(): string | undefined {
    return this.start.kind === 'durable' ? this.start.consumer : undefined;
  }

  cursorFor(topic: string, state: BrokerStateMachine): number {
    let cursor = this.cursors.get(topic);
    if (cursor === undefined) {
      cursor = this.initialCursor(topic, state);
      this.cursors.set(topic, cursor);
    }
    return cursor;
  }

  /** The member that gets the next message, among those `canTake` allows; turns rotate in a queue group. */
  nextMember(canTake: (member: Member) => boolean): Member | undefined {
    for (let tried = 0; tried < this.members.length; tried++) {
      const member = this.members[(this.turn + tried) % this.members.length]!;
      if (canTake(member)) {
        this.turn = (this.turn + tried + 1) % this.members.length;
        return member;
      }
    }
    return undefined;
  }

  private initialCursor(topic: string, state: BrokerStateMachine): number {
    switch (this.start.kind) {
      case 'live':
      case 'first':
        return 1;
      case 'offset':
        return this.start.offset;
      case 'durable':
        return state.consumerOffset(this.start.consumer, topic) + 1;
    }
  }
}

export interface Ordering {
  readonly boundMs: number;
  readonly sources: readonly string[];
}

/**
 * Hands a message to a member's client; false when its output is full, in which
 * case nothing was written. `late` marks an ORDERED delivery that comes after a
 * later-stamped one.
 */
export type Deliver = (member: Member, message: StoredMessage, late: boolean) => boolean;
export type CanTake = (member: Member) => boolean;

export class SubscriptionTable {
  private readonly index = new SubjectIndex<Subscription>();
  private readonly queueGroups = new Map<string, Subscription>();
  private readonly members = new Map<string, Member>();
  private readonly catchingUp = new Set<Subscription>();
  /** ORDERED subscriptions with messages held back. */
  private readonly holding = new Set<Subscription>();
  /** session -> its members. Invariant: counts exactly the members of each session. */
  private readonly perSession = new Map<number, number>();
  private created = 0;
  /** Messages handed to members since this node started, for monitoring. */
  readonly deliveries = { stored: 0, core: 0 };
  /** Bumped by every change to the live subscriptions; see interestChanged. */
  private interestVersion = 0;
  private interestVersionTold = 0;

  get memberCount(): number {
    return this.members.size;
  }

  membersOfSession(session: number): number {
    return this.perSession.get(session) ?? 0;
  }

  member(session: number, sid: string): Member | undefined {
    return this.members.get(memberKey(session, sid));
  }

  /** Adds a member; the caller has checked that (session, sid) is free. */
  add(session: number, sid: string, subject: string, queue: string | undefined, start: StartRule, state: BrokerStateMachine, ordering?: Ordering): Member {
    assert(!this.members.has(memberKey(session, sid)), `sid ${sid} already in use on session ${session}`);
    assert(queue === undefined || start.kind === 'live', 'only live subscriptions form queue groups');
    const groupKey = queue === undefined ? undefined : `${queue} ${subject}`;
    let subscription = groupKey === undefined ? undefined : this.queueGroups.get(groupKey);
    if (subscription === undefined) {
      subscription = new Subscription(this.created++, subject, queue, start, ordering);
      if (start.kind === 'live') {
        for (const topic of state.topics()) {
          if (subjectMatches(subject, topic.name)) subscription.cursors.set(topic.name, topic.lastOffset + 1);
        }
      } else {
        this.catchingUp.add(subscription);
      }
      this.index.add(subject, subscription);
      if (groupKey !== undefined) this.queueGroups.set(groupKey, subscription);
    }
    const member: Member = { session, sid, delivered: 0, max: undefined, subscription };
    subscription.members.push(member);
    if (start.kind === 'live') this.interestVersion++;
    this.members.set(memberKey(session, sid), member);
    this.perSession.set(session, this.membersOfSession(session) + 1);
    return member;
  }

  remove(member: Member): void {
    if (!this.members.delete(memberKey(member.session, member.sid))) return;
    const left = this.membersOfSession(member.session) - 1;
    if (left === 0) this.perSession.delete(member.session);
    else this.perSession.set(member.session, left);
    const subscription = member.subscription;
    subscription.members.splice(subscription.members.indexOf(member), 1);
    if (subscription.start.kind === 'live') this.interestVersion++;
    if (subscription.members.length > 0) return;
    this.index.remove(subscription.subject, subscription);
    this.catchingUp.delete(subscription);
    this.holding.delete(subscription);
    if (subscription.queue !== undefined) this.queueGroups.delete(`${subscription.queue} ${subscription.subject}`);
  }

  removeSession(session: number): void {
    for (const member of [...this.members.values()]) if (member.session === session) this.remove(member);
  }

  /** Whether the live subscriptions changed since the last call. */
  interestChanged(): boolean {
    const changed = this.interestVersion !== this.interestVersionTold;
    this.interestVersionTold = this.interestVersion;
    return changed;
  }

  /**
   * This node's live subscriptions as interest to advertise: each pattern and
   * queue group with its member count, in creation order.
   */
  liveInterest(): { subject: string; queue: string | undefined; count: number }[] {
    const interest = new Map<string, { subject: string; queue: string | undefined; count: number; order: number }>();
    for (const member of this.members.values()) {
      const subscription = member.subscription;
      if (subscription.start.kind !== 'live') continue;
      const key = subscription.queue === undefined ? subscription.subject : `${subscription.subject} ${subscription.queue}`;
      const known = interest.get(key);
      if (known === undefined) interest.set(key, { subject: subscription.subject, queue: subscription.queue, count: 1, order: subscription.order });
      else known.count++;
    }
    return [...interest.values()].sort((a, b) => a.order - b.order).map(({ subject, queue, count }) => ({ subject, queue, count }));
  }

  /** Live subscriptions (SUB) matching an unstored subject: request/reply traffic. */
  liveMatching(subject: string): Subscription[] {
    return this.index.match(subject).filter((subscription) => subscription.start.kind === 'live');
  }

  /**
   * Called after `message`, from the Raft group `source`, is applied at `nowMs`:
   * delivers it to every caught-up subscription whose cursor is at it (through
   * the reorder buffer of an ORDERED one).
   */
  onStored(message: StoredMessage, source: string, nowMs: number, state: BrokerStateMachine, deliver: Deliver, canTake: CanTake): void {
    for (const subscription of this.index.match(message.topic)) {
      if (subscription.catchingUp) continue;
      const reorder = subscription.reorder;
      const held = subscription.heldUpTo.get(message.topic);
      const cursor = held === undefined ? subscription.cursorFor(message.topic, state) : held + 1;
      if (cursor > message.offset) continue;
      if (cursor < message.offset) {
        this.fallBehind(subscription);
      } else if (reorder === undefined) {
        if (!this.deliverOne(subscription, message, deliver, canTake, false)) this.fallBehind(subscription);
      } else {
        reorder.push(message, stampOf(message), source, nowMs);
        subscription.heldUpTo.set(message.topic, message.offset);
        this.releaseHeld(subscription, nowMs, deliver, canTake);
      }
    }
  }

  /** Delivers what the reorder buffers of ORDERED subscriptions have held as long as they may. */
  releaseDue(nowMs: number, deliver: Deliver, canTake: CanTake): void {
    for (const subscription of [...this.holding].sort((a, b) => a.order - b.order)) this.releaseHeld(subscription, nowMs, deliver, canTake);
  }

  private releaseHeld(subscription: Subscription, nowMs: number, deliver: Deliver, canTake: CanTake): void {
    const reorder = subscription.reorder!;
    for (const released of reorder.take(nowMs)) {
      if (!this.deliverOne(subscription, released.item, deliver, canTake, released.late)) {
        // Whatever was held is still in the log, after the cursors: the catch-up replays it, merged.
        this.fallBehind(subscription);
        return;
      }
    }
    if (reorder.size > 0) {
      this.holding.add(subscription);
    } else {
      this.holding.delete(subscription);
      subscription.heldUpTo.clear();
    }
  }

  /** The subscription missed a message or its client is full: it catches up from its cursors. */
  private fallBehind(subscription: Subscription): void {
    subscription.reorder?.clear();
    subscription.heldUpTo.clear();
    this.holding.delete(subscription);
    subscription.catchingUp = true;
    this.catchingUp.add(subscription);
  }

  /**
   * Delivers up to `budget` messages from the applied log to catching-up
   * subscriptions, oldest subscription first. Returns how many it delivered.
   */
  pump(state: BrokerStateMachine, budget: number, deliver: Deliver, canTake: CanTake): number {
    let delivered = 0;
    const behind = [...this.catchingUp].sort((a, b) => a.order - b.order);
    for (const subscription of behind) {
      if (delivered >= budget) break;
      const result = this.catchUp(subscription, state, budget - delivered, deliver, canTake);
      delivered += result.delivered;
      if (result.caughtUp) {
        subscription.catchingUp = false;
        this.catchingUp.delete(subscription);
      }
    }
    return delivered;
  }

  private catchUp(
    subscription: Subscription,
    state: BrokerStateMachine,
    budget: number,
    deliver: Deliver,
    canTake: CanTake,
  ): { delivered: number; caughtUp: boolean } {
    if (subscription.ordered) return this.catchUpInTimeOrder(subscription, state, budget, deliver, canTake);
    let delivered = 0;
    for (const topic of state.topics()) {
      if (!subjectMatches(subscription.subject, topic.name)) continue;
      let cursor = subscription.cursorFor(topic.name, state);
      while (cursor <= topic.lastOffset) {
        if (delivered >= budget || !subscription.members.some(canTake)) return { delivered, caughtUp: false };
        // A page at a time: a client with room for a few messages should not cost a read of a thousand.
        const read = state.history(topic.name, cursor, Math.min(budget - delivered, CATCH_UP_PAGE_MESSAGES));
        assert(read.ok && read.messages.length > 0, `history of ${topic.name} from ${cursor} is empty`);
        for (const message of read.messages) {
          if (!this.deliverOne(subscription, message, deliver, canTake, false)) return { delivered, caughtUp: false };
          delivered++;
        }
        cursor = subscription.cursorFor(topic.name, state);
      }
    }
    return { delivered, caughtUp: true };
  }

  /**
   * Replays the matching topics as one stream in timestamp order: each step
   * delivers the next message, among every topic's cursor, with the earliest
   * stamp. Stamps strictly increase along the log, so there are no ties.
   */
  private catchUpInTimeOrder(
    subscription: Subscription,
    state: BrokerStateMachine,
    budget: number,
    deliver: Deliver,
    canTake: CanTake,
  ): { delivered: number; caughtUp: boolean } {
    const topics = state.topics().filter((topic) => subjectMatches(subscription.subject, topic.name));
    let delivered = 0;
    for (;;) {
      let next: StoredMessage | undefined;
      for (const topic of topics) {
        const cursor = subscription.cursorFor(topic.name, state);
        if (cursor > topic.lastOffset) continue;
        const read = state.history(topic.name, cursor, 1);
        const candidate = read.ok ? read.messages[0] : undefined;
        if (candidate !== undefined && (next === undefined || compareHlc(stampOf(candidate), stampOf(next)) < 0)) next = candidate;
      }
      if (next === undefined) return { delivered, caughtUp: true };
      if (delivered >= budget || !subscription.members.some(canTake)) return { delivered, caughtUp: false };
      // Only a message the live merge had let through late can be earlier than one already delivered.
      const late = subscription.reorder!.isLate(stampOf(next));
      if (!this.deliverOne(subscription, next, deliver, canTake, late)) return { delivered, caughtUp: false };
      delivered++;
    }
  }

  /** Delivers one message at the subscription's cursor and moves the cursor on; false when no member could take it. */
  private deliverOne(subscription: Subscription, message: StoredMessage, deliver: Deliver, canTake: CanTake, late: boolean): boolean {
    const member = subscription.nextMember(canTake);
    if (member === undefined || !deliver(member, message, late)) return false;
    subscription.cursors.set(message.topic, message.offset + 1);
    // A replayed message went out past the buffer: later live ones are judged late against it.
    subscription.reorder?.markDelivered(stampOf(message));
    this.delivered(member, true);
    return true;
  }

  /**
   * Counts a message handed to a member, stored or not (NATS core, and
   * replies to inboxes), and removes the member once UNSUB's max is reached.
   */
  delivered(member: Member, stored: boolean): void {
    if (stored) this.deliveries.stored++;
    else this.deliveries.core++;
    member.delivered++;
    if (member.max !== undefined && member.delivered >= member.max) this.remove(member);
  }

  /** Each durable subscription's consumer and its cursors (topic -> the next offset it delivers). */
  *durableCursors(): Iterable<{ readonly consumer: string; readonly cursors: ReadonlyMap<string, number> }> {
    const seen = new Set<Subscription>();
    for (const member of this.members.values()) {
      const subscription = member.subscription;
      const consumer = subscription.consumer;
      if (consumer === undefined || seen.has(subscription)) continue;
      seen.add(subscription);
      yield { consumer, cursors: subscription.cursors };
    }
  }
}

function stampOf(message: StoredMessage): HlcTimestamp {
  return { l: message.timestampMs, c: message.logical };
}

function memberKey(session: number, sid: string): string {
  return `${session} ${sid}`;
}
