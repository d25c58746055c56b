// Three broker nodes on an in-memory network that delivers in order, with disks
// that write at once, and clients that speak the wire protocol: enough to drive
// the node core's contracts by hand, one step at a time.

import { BrokerNode, type BrokerNodeOptions } from '../../src/node/broker-node.js';
import { streamConfigWithDefaults } from '../../src/broker/stream-config.js';
import type { ClockStamp, PeerMessage } from '../../src/node/peer-messages.js';
import { DEFAULT_RAFT_OPTIONS } from '../../src/raft/config.js';
import type { DurableState, NodeId } from '../../src/raft/types.js';
import { ServerParser, type ServerFrame } from '../../src/protocol/server-parser.js';

/** Each node always draws the same number, a different one per node, so election timeouts are exact and never tie. */
function fixedRandom(id: NodeId): { nextFloat: () => number } {
  return { nextFloat: () => (id - 1) * 0.3 };
}

const text = new TextEncoder();

/** The tests here speak of topics; one stream stores every subject but the reserved ones. */
const ALL_SUBJECTS = streamConfigWithDefaults({ name: 'ALL', subjects: ['>'] }, 3);

export class TestClient {
  readonly frames: ServerFrame[] = [];
  closed = false;
  /** A client that stops reading: what the node sends it stays in its socket, unread, and counts as pending there. */
  reading = true;
  /** What it was sent while not reading. */
  readonly unread: Uint8Array[] = [];
  private readonly parser = new ServerParser();

  constructor(
    private readonly cluster: MiniCluster,
    readonly node: NodeId,
    readonly session: number,
  ) {}

  send(line: string | Uint8Array): void {
    this.cluster.node(this.node).receive(this.session, typeof line === 'string' ? text.encode(line) : line, this.cluster.clockOf(this.node));
    this.cluster.flush(this.node);
  }

  received(bytes: Uint8Array): void {
    this.frames.push(...this.parser.feed(bytes));
  }

  /** Bytes the node sent it and it has not read. */
  get unreadBytes(): number {
    return this.unread.reduce((sum, bytes) => sum + bytes.length, 0);
  }

  /** Reads again: everything sent so far arrives, and the node hears its socket took it. */
  resumeReading(): void {
    this.reading = true;
    const bytes = this.unread.splice(0);
    for (const chunk of bytes) this.received(chunk);
    const total = bytes.reduce((sum, chunk) => sum + chunk.length, 0);
    this.cluster.node(this.node).clientWritten(this.session, total, this.cluster.clockOf(this.node));
    this.cluster.flush(this.node);
  }

  /** The frames of one type received so far, and forgets them. */
  take<T extends ServerFrame['type']>(type: T): Extract<ServerFrame, { type: T }>[] {
    const matching = this.frames.filter((frame): frame is Extract<ServerFrame, { type: T }> => frame.type === type);
    const rest = this.frames.filter((frame) => frame.type !== type);
    this.frames.length = 0;
    this.frames.push(...rest);
    return matching;
  }

  /** The payloads of the MSG frames received so far, as text, and forgets them. */
  messages(): string[] {
    return this.take('Msg').map((frame) => new TextDecoder().decode(frame.payload));
  }
}

export class MiniCluster {
  readonly ids: readonly NodeId[] = [1, 2, 3];
  readonly nodes = new Map<NodeId, BrokerNode>();
  readonly clients = new Map<number, TestClient>();
  network: PeerMessage[] = [];
  /** The clock stamp each message left with, as the real transport's frame carries it. */
  private readonly stamps = new WeakMap<PeerMessage, ClockStamp>();
  nowMs = 1_000_000;
  /** How far each node's clock reads from nowMs. */
  readonly skewMs = new Map<NodeId, number>();
  private nextSession = 1;

  constructor(options: Partial<BrokerNodeOptions> = {}) {
    const empty: DurableState = { hardState: { term: 0, vote: 0 }, entries: [] };
    for (const id of this.ids) {
      const config = { id, group: 1, peers: this.ids, options: DEFAULT_RAFT_OPTIONS, random: fixedRandom(id) };
      this.nodes.set(id, new BrokerNode(config, empty, { streams: [ALL_SUBJECTS], ...options }));
    }
  }

  node(id: NodeId): BrokerNode {
    return this.nodes.get(id)!;
  }

  clockOf(id: NodeId): number {
    return this.nowMs + (this.skewMs.get(id) ?? 0);
  }

  connect(node: NodeId, connect = '{"verbose":false,"headers":true}'): TestClient {
    const client = new TestClient(this, node, this.nextSession++);
    this.clients.set(client.session, client);
    this.node(node).openSession(client.session);
    this.flush(node);
    client.send(`CONNECT ${connect}\r\n`);
    return client;
  }

  /** Performs every Ready of a node: its writes are durable at once, then messages go and entries apply. */
  flush(id: NodeId): void {
    const node = this.node(id);
    this.send(id, node.takePeerMessages());
    while (node.hasReady()) {
      const ready = node.ready();
      this.send(id, ready.messages);
      node.advance(ready);
      this.send(id, node.takePeerMessages());
    }
    // Clients read everything at once; what their reading frees may send more, until nothing is left.
    for (let outputs = node.takeClientOutput(); outputs.length > 0; outputs = node.takeClientOutput()) {
      for (const output of outputs) {
        const client = this.clients.get(output.session)!;
        let total = 0;
        for (const bytes of output.bytes) {
          if (client.reading) client.received(bytes);
          else client.unread.push(bytes);
          total += bytes.length;
        }
        if (output.close) client.closed = true;
        else if (client.reading) node.clientWritten(output.session, total, this.clockOf(id));
      }
      this.send(id, node.takePeerMessages());
    }
  }

  private send(from: NodeId, messages: readonly PeerMessage[]): void {
    for (const message of messages) {
      this.stamps.set(message, this.node(from).clockStampFor(message.to, this.clockOf(from)));
      this.network.push(message);
    }
  }

  /** Delivers until the network is quiet, dropping what `drop` selects. */
  settle(drop: (message: PeerMessage) => boolean = () => false): void {
    for (let round = 0; round < 100 && this.network.length > 0; round++) {
      const batch = this.network;
      this.network = [];
      for (const message of batch) {
        if (drop(message)) continue;
        this.node(message.to).step(message, this.clockOf(message.to), this.stamps.get(message));
        this.flush(message.to);
      }
    }
  }

  tick(id: NodeId, count = 1): void {
    for (let i = 0; i < count; i++) {
      this.nowMs += 10;
      this.node(id).tick(this.clockOf(id));
      this.flush(id);
    }
  }

  /** A round of heartbeats from every node, so followers learn the leader's commit index. */
  heartbeat(): void {
    for (const id of this.ids) this.tick(id);
    this.settle();
  }

  electLeader(id: NodeId): void {
    for (let round = 0; round < 200 && this.node(id).raft.role() !== 'leader'; round++) {
      this.tick(id);
      this.settle();
    }
    if (this.node(id).raft.role() !== 'leader') throw new Error(`node ${id} was not elected`);
    this.settle();
  }
}
