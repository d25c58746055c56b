import type { SimCluster } from '../../sim/cluster.js';
import { ServerParser, type ServerFrame } from '../../src/protocol/server-parser.js';
import type { NodeId } from '../../src/raft/types.js';

const encoder = new TextEncoder();

/** A client connected to one simulated node by hand: what it sends, and every frame the node sends back. */
export function simClient(cluster: SimCluster, node: NodeId): { frames: ServerFrame[]; send: (text: string) => void } {
  const parser = new ServerParser();
  const frames: ServerFrame[] = [];
  const session = cluster.clients.connect(node, { onBytes: (bytes) => frames.push(...parser.feed(bytes)), onClose: () => {} });
  if (session === undefined) throw new Error(`n${node} is down`);
  const send = (text: string): void => cluster.clients.send(session, encoder.encode(text));
  send('CONNECT {"verbose":false,"headers":true}\r\n');
  return { frames, send };
}
