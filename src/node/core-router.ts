// NATS core on one node of the cluster: messages no stream captures, which
// are delivered to the subscriptions of the moment and forgotten. This node's
// subscriptions are told to its peers as interest (interest.ts), and theirs
// to it, so a message goes only to nodes with a matching subscription, each
// queue group gets it once in the whole cluster, and a request nobody listens
// to can be answered with NATS's 503 no-responders status. The node core
// routes core traffic here and owns nothing of it.

import type { NodeId } from '../raft/types.js';
import { encodeHMsg, encodeMsg } from '../protocol/client-encoder.js';
import { encodeHeaderBlock } from '../protocol/client-headers.js';
import { InterestAdvertiser, interestKey, PeerInterest, type InterestUpdate } from './interest.js';
import type { Interest, Relay } from './peer-messages.js';
import type { ClientSession } from './session.js';
import type { Member, SubscriptionTable } from './subscriptions.js';
import { mayReceive } from './client-auth.js';

/** What the router needs of its node. */
export interface CoreRouterHost {
  readonly subscriptions: SubscriptionTable;
  /** The node's peers, in id order. */
  readonly peers: readonly NodeId[];
  session(id: number): ClientSession | undefined;
  /** Whether the member's client is within its pending-output budget for unstored messages. */
  hasRoom(member: Member): boolean;
  /** The client fell too far behind to keep: it is cut with -ERR 'Slow Consumer', as nats-server does. */
  cutSlowConsumer(session: number): void;
  /** Sends a message to a peer; the host fills in its group and sender. */
  send(message: Omit<Relay, 'group' | 'from'> | Omit<Interest, 'group' | 'from'>): void;
}

/** deliverLocal's filter for plain subscriptions only. */
const NO_QUEUES: ReadonlySet<string> = new Set();

export class CoreRouter {
  private readonly advertiser: InterestAdvertiser;
  private readonly peerInterest = new PeerInterest();
  /** Rotates the choice among a queue group's members, wherever they are. */
  private queueTurn = 0;

  constructor(
    private readonly host: CoreRouterHost,
    /** This node's incarnation, which numbers its interest updates afresh. */
    incarnation: number,
    /** Ticks between full advertisements of this node's interest. */
    interestSyncTicks: number,
  ) {
    this.advertiser = new InterestAdvertiser(incarnation, interestSyncTicks);
  }

  /**
   * A client's message no stream captures: at most once to each matching
   * subscription in the cluster, and to one member of each queue group in the
   * whole cluster, the members taken in turn wherever they are (as nats-server
   * spreads a group over its routes by member count). Peers without a
   * matching subscription are not bothered. A request that reaches nobody is
   * answered with NATS's 503 no-responders status, when its client asked.
   */
  publish(client: ClientSession, subject: string, replyTo: string | undefined, headerBytes: Uint8Array, payload: Uint8Array): void {
    const skip = client.echo ? undefined : client.id;
    let reached = this.deliverLocal(subject, replyTo, headerBytes, payload, skip, NO_QUEUES).count;
    const plainPeers = new Set<NodeId>();
    const groups = new Map<string, { local: number; peers: { peer: NodeId; count: number }[] }>();
    for (const subscription of this.host.subscriptions.liveMatching(subject)) {
      if (subscription.queue !== undefined) groups.set(interestKey(subscription.subject, subscription.queue), { local: subscription.members.length, peers: [] });
    }
    for (const { peer, entry } of this.peerInterest.matching(subject)) {
      if (entry.queue === undefined) {
        plainPeers.add(peer);
        continue;
      }
      const key = interestKey(entry.subject, entry.queue);
      const group = groups.get(key) ?? { local: 0, peers: [] };
      group.peers.push({ peer, count: entry.count });
      groups.set(key, group);
    }
    const assigned = new Map<NodeId, string[]>();
    for (const [key, group] of groups) {
      const peer = this.queueTarget(group.local, group.peers);
      if (peer === undefined && this.deliverLocal(subject, replyTo, headerBytes, payload, skip, new Set([key])).count > 0) {
        reached++;
        continue;
      }
      // Chosen elsewhere, or no local member could take it: a peer with members gets it.
      const target = peer ?? group.peers[0]?.peer;
      if (target !== undefined) assigned.set(target, [...(assigned.get(target) ?? []), key]);
    }
    const targets = new Set([...plainPeers, ...assigned.keys()]);
    for (const peer of [...targets].sort((a, b) => a - b)) {
      const queues = assigned.get(peer) ?? [];
      this.host.send({ type: 'Relay', to: peer, subject, headerBytes, payload, queues, ...(replyTo === undefined ? {} : { replyTo }) });
    }
    if (replyTo !== undefined && reached === 0 && targets.size === 0 && client.noResponders && client.headers) this.noResponders(client, subject, replyTo);
  }

  /** A peer's relay: to this node's plain subscriptions, and to the queue groups the peer chose it to serve. */
  onRelay(message: Relay): void {
    this.deliverLocal(message.subject, message.replyTo, message.headerBytes, message.payload, undefined, new Set(message.queues));
  }

  onInterest(message: Interest): void {
    this.peerInterest.apply(message.from, message);
  }

  /**
   * Delivers an unstored message to this node's live subscriptions: every
   * plain one, and each queue group that `queues` names (or all of them).
   * Returns how many it reached and which queue groups it served.
   */
  deliverLocal(
    subject: string,
    replyTo: string | undefined,
    headerBytes: Uint8Array,
    payload: Uint8Array,
    skipSession: number | undefined,
    queues: ReadonlySet<string> | 'all',
  ): { count: number; queues: Set<string> } {
    const reached = { count: 0, queues: new Set<string>() };
    const subscriptions = this.host.subscriptions;
    let slow: number[] | undefined;
    for (const subscription of subscriptions.liveMatching(subject)) {
      const key = subscription.queue === undefined ? undefined : interestKey(subscription.subject, subscription.queue);
      if (key !== undefined && queues !== 'all' && !queues.has(key)) continue;
      // A member whose user may not receive this subject (a wildcard subscription overlapping a denied one) is passed over.
      const eligible = (candidate: Member): boolean => candidate.session !== skipSession && mayReceive(this.host.session(candidate.session)?.permissions, subject);
      const member = subscription.nextMember((candidate) => eligible(candidate) && this.host.hasRoom(candidate));
      if (member === undefined) {
        // An unstored message cannot wait for a client that does not read: every member
        // that could have taken it is over its budget, and is cut rather than let the
        // node's memory grow without bound.
        for (const candidate of subscription.members) if (eligible(candidate)) (slow ??= []).push(candidate.session);
        continue;
      }
      reached.count++;
      if (key !== undefined) reached.queues.add(key);
      const client = this.host.session(member.session)!;
      const frame = { subject, sid: member.sid, payload, ...(replyTo === undefined ? {} : { replyTo }) };
      if (headerBytes.length > 0 && client.headers) client.write(encodeHMsg({ ...frame, headers: headerBytes }));
      else client.write(encodeMsg(frame));
      subscriptions.delivered(member, false);
    }
    if (slow !== undefined) for (const session of new Set(slow)) this.host.cutSlowConsumer(session);
    return reached;
  }

  /** Tells every peer what changed in this node's subscriptions, at once. */
  advertise(): void {
    const subscriptions = this.host.subscriptions;
    if (subscriptions.interestChanged()) this.sendInterest(this.advertiser.changes(subscriptions.liveInterest()));
  }

  /** A tick: now and then, the whole interest, which repairs what a lost update left out. */
  tick(): void {
    this.sendInterest(this.advertiser.tick(this.host.subscriptions.liveInterest()));
  }

  /**
   * The next member of a queue group, taken in turn over every member in the
   * cluster: undefined for one of this node's, else the peer holding it.
   */
  private queueTarget(localMembers: number, peers: readonly { peer: NodeId; count: number }[]): NodeId | undefined {
    const total = localMembers + peers.reduce((sum, { count }) => sum + count, 0);
    let slot = this.queueTurn++ % total;
    if (slot < localMembers) return undefined;
    slot -= localMembers;
    for (const { peer, count } of peers) {
      if (slot < count) return peer;
      slot -= count;
    }
    return peers[peers.length - 1]!.peer;
  }

  /** NATS's answer to a request nobody subscribes to: a 503 status on the requester's own reply subscription. */
  private noResponders(client: ClientSession, subject: string, replyTo: string): void {
    for (const subscription of this.host.subscriptions.liveMatching(replyTo)) {
      const member = subscription.members.find((candidate) => candidate.session === client.id);
      if (member === undefined) continue;
      const headers = encodeHeaderBlock({ statusCode: 503, statusDescription: '', fields: new Map([['Nats-Subject', [subject]]]) });
      client.write(encodeHMsg({ subject: replyTo, sid: member.sid, headers, payload: new Uint8Array(0) }));
      return;
    }
  }

  private sendInterest(update: InterestUpdate | undefined): void {
    if (update === undefined) return;
    for (const peer of this.host.peers) this.host.send({ type: 'Interest', to: peer, ...update });
  }
}
