import { describe, expect, it } from 'vitest';
import { DEFAULT_RAFT_OPTIONS, type RaftOptions, type SnapshotSource } from '../../src/raft/config.js';
import { RaftNode } from '../../src/raft/node.js';
import { NO_SNAPSHOT, type Entry, type HardState, type NodeId, type RaftMessage, type SnapshotMeta } from '../../src/raft/types.js';
import { crc32 } from '../../src/storage/crc32.js';
import { FixedRandom, GROUP } from './harness.js';

// Snapshots and log compaction (extended Raft paper, section 7; thesis
// chapter 5): a leader whose log no longer holds what a follower needs sends
// its snapshot in chunks, retries lost chunks from the follower's
// acknowledged offset, and starts over when the follower finds the assembled
// snapshot damaged; a node restarts from its snapshot and the log kept behind it.

const OPTIONS: RaftOptions = { ...DEFAULT_RAFT_OPTIONS, snapshotChunkBytes: 16, snapshotChunksInflightMax: 2, snapshotTrailingEntries: 2 };
const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** One node's disk and state machine, kept by hand as a driver would. */
interface Host {
  node: RaftNode;
  hardState: HardState;
  entries: Entry[];
  snapshot: { meta: SnapshotMeta; data: Uint8Array } | undefined;
  incoming: Uint8Array;
  /** The state machine: every command applied, in order. */
  applied: string[];
  /** Set by a test to damage the next received chunk. */
  damageNextChunk: boolean;
}

class Cluster {
  readonly hosts = new Map<NodeId, Host>();
  readonly network: RaftMessage[] = [];
  readonly sent: RaftMessage[] = [];
  /** Messages to or from these nodes are dropped. */
  readonly cut = new Set<NodeId>();

  constructor(readonly ids: readonly NodeId[]) {
    for (const id of ids) this.start(id, { hardState: { term: 0, vote: 0 }, entries: [], snapshot: undefined, applied: [] });
  }

  start(id: NodeId, disk: Pick<Host, 'hardState' | 'entries' | 'snapshot' | 'applied'>): void {
    const host: Host = { ...disk, node: undefined as unknown as RaftNode, incoming: new Uint8Array(0), damageNextChunk: false };
    const snapshots: SnapshotSource = {
      latest: () => (host.snapshot === undefined ? undefined : { ...host.snapshot.meta, size: host.snapshot.data.length, crc: crc32(host.snapshot.data) }),
      read: (index, offset, length) => (host.snapshot?.meta.index === index ? host.snapshot.data.slice(offset, offset + length) : undefined),
    };
    const config = { id, group: GROUP, peers: this.ids, options: OPTIONS, random: new FixedRandom([id / 10]), snapshots };
    host.node = new RaftNode(config, { hardState: disk.hardState, entries: disk.entries.slice(), snapshot: disk.snapshot?.meta ?? NO_SNAPSHOT });
    this.hosts.set(id, host);
  }

  host(id: NodeId): Host {
    return this.hosts.get(id)!;
  }

  /** Performs every Ready as the contract asks, and queues what the node sends. */
  flush(id: NodeId): void {
    const host = this.host(id);
    const node = host.node;
    for (const message of node.takeImmediateMessages()) this.post(message);
    while (node.hasReady()) {
      const ready = node.ready();
      if (ready.hardState !== undefined) host.hardState = ready.hardState;
      for (const chunk of ready.snapshotChunks) {
        if (host.incoming.length !== chunk.size) host.incoming = new Uint8Array(chunk.size);
        host.incoming.set(chunk.data, chunk.offset);
        if (host.damageNextChunk) host.incoming[chunk.offset] = host.incoming[chunk.offset]! ^ 0xff;
        host.damageNextChunk = false;
      }
      if (ready.snapshot !== undefined) this.install(host, ready.snapshot);
      if (ready.truncateFrom !== undefined) host.entries = host.entries.filter((entry) => entry.index < ready.truncateFrom!);
      host.entries.push(...ready.entries);
      for (const message of ready.messages) this.post(message);
      for (const entry of ready.committedEntries) if (entry.kind === 'command') host.applied.push(decoder.decode(entry.data));
      node.advance();
      for (const message of node.takeImmediateMessages()) this.post(message);
    }
  }

  private install(host: Host, snapshot: { index: number; term: number; crc: number; keepsLog: boolean }): void {
    if (crc32(host.incoming) !== snapshot.crc) {
      host.node.snapshotFailed();
      return;
    }
    host.snapshot = { meta: { index: snapshot.index, term: snapshot.term }, data: host.incoming.slice() };
    host.applied = JSON.parse(decoder.decode(host.incoming)) as string[];
    host.entries = snapshot.keepsLog ? host.entries.filter((entry) => entry.index > snapshot.index) : [];
  }

  private post(message: RaftMessage): void {
    this.sent.push(message);
    if (!this.cut.has(message.from) && !this.cut.has(message.to)) this.network.push(message);
  }

  /** Delivers everything in flight, and what that sends, until nothing is left or `filter` drops the rest. */
  deliverAll(drop: (message: RaftMessage) => boolean = () => false, roundsMax = 10_000): void {
    for (let round = 0; round < roundsMax && this.network.length > 0; round++) {
      const message = this.network.shift()!;
      if (drop(message) || !this.hosts.has(message.to)) continue;
      this.host(message.to).node.step(message);
      this.flush(message.to);
    }
    expect(this.network).toEqual([]);
  }

  tick(id: NodeId, count = 1): void {
    for (let i = 0; i < count; i++) {
      this.host(id).node.tick();
      this.flush(id);
    }
  }

  elect(id: NodeId): void {
    while (this.host(id).node.role() !== 'leader') {
      this.tick(id);
      this.deliverAll();
    }
  }

  propose(id: NodeId, count: number, label: string): void {
    for (let i = 0; i < count; i++) {
      expect(this.host(id).node.propose(encoder.encode(`${label}${i}`)).ok).toBe(true);
      this.flush(id);
      this.deliverAll();
    }
  }

  /** The leader snapshots its state machine at its applied index and compacts. */
  snapshot(id: NodeId): number {
    const host = this.host(id);
    const index = host.node.appliedIndex();
    const meta = { index, term: host.node.log.term(index)! };
    host.snapshot = { meta, data: encoder.encode(JSON.stringify(host.applied)) };
    const keptFrom = host.node.snapshotTaken(meta);
    host.entries = host.entries.filter((entry) => entry.index >= keptFrom);
    return keptFrom;
  }
}

/** A leader (node 1) that compacted its log while node 3 was cut off, with node 3 back on the network. */
function followerBehindCompaction(): Cluster {
  const cluster = new Cluster([1, 2, 3]);
  cluster.elect(1);
  cluster.cut.add(3);
  cluster.propose(1, 12, 'a');
  cluster.snapshot(1);
  cluster.cut.delete(3);
  return cluster;
}

function installs(messages: readonly RaftMessage[]): RaftMessage[] {
  return messages.filter((message) => message.type === 'InstallSnapshot');
}

describe('snapshots and log compaction', () => {
  it('catch a follower up past the compaction point by snapshot, in chunks, and then by appends', () => {
    const cluster = new Cluster([1, 2, 3]);
    cluster.elect(1);
    cluster.cut.add(3);
    cluster.propose(1, 12, 'a');
    const keptFrom = cluster.snapshot(1);
    expect(keptFrom).toBeGreaterThan(5);
    expect(cluster.host(1).node.log.firstIndex()).toBe(keptFrom + 1);
    cluster.cut.delete(3);
    cluster.propose(1, 2, 'b');
    cluster.tick(1, OPTIONS.heartbeatTicks);
    cluster.deliverAll();
    const chunks = installs(cluster.sent);
    expect(chunks.length).toBeGreaterThan(3);
    expect(cluster.host(3).node.snapshotMeta().index).toBe(cluster.host(1).node.snapshotMeta().index);
    expect(cluster.host(3).applied).toEqual(cluster.host(1).applied);
    expect(cluster.host(3).node.commitIndex()).toBe(cluster.host(1).node.commitIndex());
  });

  it('learn of an install whose answer was lost after every chunk was acknowledged: the last chunk goes again (found by the fuzzer, seed 160)', () => {
    const cluster = followerBehindCompaction();
    const follower = cluster.host(3).node;
    // Node 3 is driven by hand: the Ready that installs the snapshot is held while a copy of the last chunk arrives.
    cluster.tick(1, OPTIONS.heartbeatTicks);
    let lastChunk: RaftMessage | undefined;
    let installReady: ReturnType<RaftNode['ready']> | undefined;
    for (let round = 0; round < 100 && installReady === undefined && cluster.network.length > 0; round++) {
      const message = cluster.network.shift()!;
      if (message.to !== 3) {
        cluster.host(message.to).node.step(message);
        cluster.flush(message.to);
        continue;
      }
      if (message.type === 'InstallSnapshot') lastChunk = message;
      follower.step(message);
      cluster.network.push(...follower.takeImmediateMessages());
      while (installReady === undefined && follower.hasReady()) {
        const ready = follower.ready();
        if (ready.snapshot !== undefined) installReady = ready;
        else {
          cluster.network.push(...ready.messages);
          follower.advance();
        }
      }
    }
    expect(installReady).toBeDefined();
    // The duplicate is acknowledged in full (nothing is missing) while the install is still being written ...
    follower.step(lastChunk!);
    cluster.network.push(...follower.takeImmediateMessages());
    cluster.deliverAll((message) => message.to === 3);
    // ... and the answer that it is installed is lost.
    follower.advance();
    if (follower.hasReady()) {
      const ready = follower.ready();
      expect(ready.messages.some((message) => message.type === 'InstallSnapshotResponse' && message.installed)).toBe(true);
      follower.advance();
    }
    cluster.network.length = 0;
    // The leader learns it at a heartbeat answer's pace, and the follower catches up.
    cluster.propose(1, 2, 'b');
    for (let i = 0; i < 4; i++) {
      cluster.tick(1, OPTIONS.heartbeatTicks);
      cluster.deliverAll();
    }
    expect(follower.commitIndex()).toBe(cluster.host(1).node.commitIndex());
  });

  it('send lost chunks again from the offset the follower acknowledged, paced by heartbeat answers', () => {
    const cluster = followerBehindCompaction();
    // The chunk at offset 32 is lost the first three times the leader sends it.
    let sends = 0;
    const lose = (message: RaftMessage): boolean => message.type === 'InstallSnapshot' && message.offset === 32 && ++sends <= 3;
    for (let round = 0; round < 40 && cluster.host(3).node.snapshotMeta().index === 0; round++) {
      cluster.tick(1, OPTIONS.heartbeatTicks);
      cluster.deliverAll(lose);
    }
    expect(sends).toBe(4);
    expect(cluster.host(3).applied).toEqual(cluster.host(1).applied);
  });

  it('go back to where the follower says it is when an answer from before its restart raised the acknowledged offset (found by the fuzzer, seed 324)', () => {
    const cluster = followerBehindCompaction();
    const answersOf3 = (): RaftMessage[] => cluster.network.filter((message) => message.type === 'InstallSnapshotResponse' && message.from === 3);
    // Deliver until node 3 has acknowledged the first three chunks, holding back a copy of that answer.
    let stale: RaftMessage | undefined;
    cluster.tick(1, OPTIONS.heartbeatTicks);
    for (let round = 0; round < 100 && stale === undefined && cluster.network.length > 0; round++) {
      const message = cluster.network.shift()!;
      cluster.host(message.to).node.step(message);
      cluster.flush(message.to);
      stale = answersOf3().find((answer) => answer.type === 'InstallSnapshotResponse' && answer.nextOffset === 48);
    }
    expect(stale).toBeDefined();
    // Node 3 restarts: what it had received of the snapshot is gone, and it asks for offset 0. The leader starts
    // over; node 3 takes the first chunk again, and the second is lost.
    const before = cluster.host(3);
    cluster.start(3, { hardState: before.hardState, entries: before.entries, snapshot: before.snapshot, applied: before.applied });
    let startedOver = false;
    for (let round = 0; round < 100 && !answersOf3().some((answer) => answer.type === 'InstallSnapshotResponse' && answer.nextOffset === 16) && cluster.network.length > 0; round++) {
      const message = cluster.network.shift()!;
      if (message.type === 'InstallSnapshot' && message.to === 3 && message.offset !== 0 && startedOver) continue;
      cluster.host(message.to).node.step(message);
      cluster.flush(message.to);
      startedOver ||= cluster.sent.some((sent) => sent.type === 'InstallSnapshotResponse' && sent.from === 3 && sent.nextOffset === 0);
    }
    expect(startedOver).toBe(true);
    // Now the answer from before the restart reaches the leader: it names offset 48, beyond the two chunks node 3
    // takes ahead of offset 16, so node 3 refuses what the leader sends next and keeps asking for 16.
    cluster.host(1).node.step(stale!);
    cluster.flush(1);
    cluster.deliverAll();
    // Heartbeat answers show the transfer stalled; the leader goes back to offset 16 and node 3 installs the snapshot.
    for (let round = 0; round < 20 && cluster.host(3).node.snapshotMeta().index === 0; round++) {
      cluster.tick(1, OPTIONS.heartbeatTicks);
      cluster.deliverAll();
    }
    expect(cluster.host(3).node.snapshotMeta().index).toBeGreaterThan(0);
    expect(cluster.host(3).applied).toEqual(cluster.host(1).applied);
  });

  it('start the transfer over when the follower finds the assembled snapshot damaged', () => {
    const cluster = followerBehindCompaction();
    cluster.host(3).damageNextChunk = true;
    for (let round = 0; round < 40 && cluster.host(3).node.snapshotMeta().index === 0; round++) {
      cluster.tick(1, OPTIONS.heartbeatTicks);
      cluster.deliverAll();
    }
    const offsets = installs(cluster.sent).map((message) => (message.type === 'InstallSnapshot' ? message.offset : -1));
    expect(offsets.filter((offset) => offset === 0).length).toBeGreaterThanOrEqual(2);
    expect(cluster.host(3).applied).toEqual(cluster.host(1).applied);
  });

  it('restart a node from its snapshot and the entries kept behind it, applied up to the snapshot', () => {
    const cluster = new Cluster([1, 2, 3]);
    cluster.elect(1);
    cluster.propose(1, 10, 'a');
    const keptFrom = cluster.snapshot(1);
    const host = cluster.host(1);
    const snapshotIndex = host.snapshot!.meta.index;
    cluster.start(1, { hardState: host.hardState, entries: host.entries, snapshot: host.snapshot, applied: [] });
    const restarted = cluster.host(1).node;
    expect(restarted.commitIndex()).toBe(snapshotIndex);
    expect(restarted.appliedIndex()).toBe(snapshotIndex);
    expect(restarted.log.firstIndex()).toBe(keptFrom + 1);
    expect(restarted.lastIndex()).toBe(host.entries.at(-1)!.index);
  });

  it('answer a snapshot no newer than the follower commit as installed, so the leader goes back to appends', () => {
    const cluster = new Cluster([1, 2, 3]);
    cluster.elect(1);
    cluster.propose(1, 6, 'a');
    const follower = cluster.host(2).node;
    const commit = follower.commitIndex();
    follower.step({ type: 'InstallSnapshot', group: GROUP, from: 1, to: 2, term: follower.term(), snapshotIndex: commit, snapshotTerm: follower.term(), size: 4, crc: 0, offset: 0, data: new Uint8Array(4) });
    cluster.flush(2);
    const answer = cluster.network.find((message) => message.type === 'InstallSnapshotResponse');
    expect(answer).toMatchObject({ installed: true, snapshotIndex: commit });
    expect(follower.snapshotMeta().index).toBe(0);
  });
});

describe('a follower with a received snapshot to install', () => {
  it('does not campaign until the snapshot is installed, however long the install waits', () => {
    const cluster = followerBehindCompaction();
    const follower = cluster.host(3).node;
    // Node 3 is driven by hand: its Readies are done at once, except the one that installs the snapshot.
    let installing = false;
    for (let round = 0; round < 40 && !installing; round++) {
      cluster.tick(1, OPTIONS.heartbeatTicks);
      while (cluster.network.length > 0 && !installing) {
        const message = cluster.network.shift()!;
        if (message.to !== 3) {
          cluster.host(message.to).node.step(message);
          cluster.flush(message.to);
          continue;
        }
        follower.step(message);
        cluster.network.push(...follower.takeImmediateMessages());
        while (follower.hasReady()) {
          const ready = follower.ready();
          if (ready.snapshot !== undefined) {
            installing = true;
            break;
          }
          cluster.network.push(...ready.messages);
          follower.advance();
        }
      }
    }
    expect(installing).toBe(true);
    // The install is in flight and the follower hears nothing more: its election timeout passes many times over.
    for (let i = 0; i < OPTIONS.electionTicksMin * 10; i++) follower.tick();
    expect(follower.role()).toBe('follower');
    follower.advance();
    for (let i = 0; i < OPTIONS.electionTicksMin * 3; i++) follower.tick();
    expect(follower.role()).not.toBe('follower');
  });
});

describe('a follower whose install replaces its whole log', () => {
  it('never sends an answer that acknowledges entries the install took away', () => {
    const config = { id: 2, group: GROUP, peers: [1, 2, 3], options: OPTIONS, random: new FixedRandom([0.5]) };
    const follower = new RaftNode(config, { hardState: { term: 1, vote: 1 }, entries: [], snapshot: NO_SNAPSHOT });
    const header = { group: GROUP, from: 1, to: 2, term: 1 } as const;
    const entries: Entry[] = [1, 2, 3].map((index) => ({ index, term: 1, kind: 'command', data: encoder.encode(`e${index}`) }));
    // Entries 1..3 arrive and are answered, but the answer waits for them to be durable (the next Ready) ...
    follower.step({ ...header, type: 'AppendRequest', prevLogIndex: 0, prevLogTerm: 0, entries, leaderCommit: 0 });
    // ... and before that Ready, the last chunk of a snapshot at index 2 completes it (sent when the leader thought the follower far behind).
    const data = encoder.encode('["e1","e2"]');
    follower.step({ ...header, type: 'InstallSnapshot', snapshotIndex: 2, snapshotTerm: 1, size: data.length, crc: crc32(data), offset: 0, data });
    const ready = follower.ready();
    expect(ready.snapshot).toMatchObject({ index: 2, keepsLog: false });
    // The install replaces the log whose entry 3 was never durable: nothing may promise the leader entry 3.
    const acknowledged = ready.messages.filter((message) => message.type === 'AppendResponse' && message.success).map((message) => (message.type === 'AppendResponse' ? message.matchIndex : 0));
    expect(acknowledged.every((index) => index <= 2)).toBe(true);
    follower.advance();
    expect(follower.lastIndex()).toBe(2);
    for (const message of [...follower.takeImmediateMessages(), ...(follower.hasReady() ? follower.ready().messages : [])]) {
      if (message.type === 'AppendResponse' && message.success) expect(message.matchIndex).toBeLessThanOrEqual(2);
    }
  });
});
