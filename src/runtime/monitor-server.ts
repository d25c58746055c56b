// A node's monitoring port: plain HTTP, read-only, no authentication (bind it
// to an address only the monitoring system reaches).
//
//   GET /healthz   200 {"status":"ok",...} when the node is caught up and hears
//                  from a leader; 503 {"status":"recovering"|"no-leader",...}
//   GET /varz      the node's status as JSON (what STATUS answers, and more)
//   GET /metrics   Prometheus text format
//
// Each node's monitor is the only thing that reads its metrics, so a scrape
// costs the node one pass over its streams and consumers, not one per request
// of any kind.

import * as http from 'node:http';
import type { BrokerNode } from '../node/broker-node.js';
import type { NodeAddress } from './config.js';
import { nodeHealth } from './health.js';
import type { Logger } from './logger.js';
import { NodeMetrics, type RunnerStats } from './metrics.js';
import { NodeEvents } from './node-events.js';

export interface NodeMonitorOptions {
  readonly core: BrokerNode;
  readonly stats: RunnerStats;
  readonly address: NodeAddress;
  readonly version: string;
  readonly logger: Logger;
  /** The runner's STATUS: the core's status with the runner's own counts and memory. */
  readonly status: () => Record<string, unknown>;
  /** The node's clock, as the core is given it. */
  readonly nowMs: () => number;
}

/** What the runner calls: metrics and events fed from its hooks, and the HTTP port. */
export class NodeMonitor {
  readonly metrics: NodeMetrics;
  private readonly events: NodeEvents;
  private server: http.Server | undefined;
  private readonly startedMs = Date.now();

  constructor(private readonly options: NodeMonitorOptions) {
    this.metrics = new NodeMetrics(options.core, options.stats);
    this.events = new NodeEvents(options.core, options.logger, () => this.metrics.leaderChanged());
    options.core.onPublishAnswered = (receivedMs, failure) => {
      const nowMs = options.nowMs();
      this.metrics.observePubAck(Math.max(0, nowMs - receivedMs) / 1000, failure === undefined);
      if (failure !== undefined) this.events.publishFailed(failure, nowMs);
    };
  }

  /** After every pump: logs what changed in the node's role, leader, refusal to lead and slow consumers. */
  afterStep(): void {
    this.events.afterStep();
  }

  /** One durable write of the log (a Ready's write and fsync, or a periodic sync) took this long. */
  observeFsync(milliseconds: number): void {
    this.metrics.observeFsync(milliseconds / 1000);
  }

  /** Listens on the node's monitorPort, unless it is 0. */
  async listen(): Promise<void> {
    const { host, monitorPort } = this.options.address;
    if (monitorPort === 0) return;
    const server = http.createServer((request, response) => {
      this.serve(request, response).catch((error: unknown) => {
        if (!response.headersSent) response.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' });
        response.end(`${(error as Error).message}\n`);
      });
    });
    // Scrapes are short; a client that opens a connection and says nothing is dropped.
    server.requestTimeout = 10_000;
    server.keepAliveTimeout = 5_000;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(monitorPort, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.server = server;
  }

  async stop(): Promise<void> {
    const server = this.server;
    if (server === undefined) return;
    this.server = undefined;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private async serve(request: http.IncomingMessage, response: http.ServerResponse): Promise<void> {
    const path = (request.url ?? '/').split('?')[0];
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      response.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain; charset=utf-8' });
      response.end('only GET and HEAD\n');
      return;
    }
    switch (path) {
      case '/healthz':
        return this.healthz(response);
      case '/varz':
        return json(response, 200, this.varz());
      case '/metrics': {
        const text = await this.metrics.text();
        response.writeHead(200, { 'content-type': this.metrics.contentType });
        response.end(text);
        return;
      }
      default:
        response.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' });
        response.end('not found: try /healthz, /varz or /metrics\n');
    }
  }

  private healthz(response: http.ServerResponse): void {
    const core = this.options.core;
    const health = nodeHealth(core);
    const raft = core.raft;
    json(response, health.ready ? 200 : 503, {
      status: health.status,
      detail: health.detail,
      node: raft.id,
      role: raft.role(),
      term: raft.term(),
      leader: raft.leader(),
      commitIndex: raft.commitIndex(),
      appliedIndex: core.state.appliedIndex,
    });
  }

  private varz(): Record<string, unknown> {
    const { address, version, core } = this.options;
    const nowMs = Date.now();
    return {
      server_name: `chorus-n${address.id}`,
      version,
      now: new Date(nowMs).toISOString(),
      start: new Date(this.startedMs).toISOString(),
      uptimeSeconds: Math.round((nowMs - this.startedMs) / 1000),
      host: address.host,
      ports: { client: address.clientPort, peer: address.peerPort, admin: address.adminPort, monitor: address.monitorPort },
      health: nodeHealth(core),
      ...this.options.status(),
      counters: core.counters(),
      consumers: core.consumerStats(),
      followers: followers(core),
      streamList: core.state.streamList().map((stream) => ({ name: stream.name, ...stream.info() })),
    };
  }
}

/** On the leader, each follower's match index and how far it is behind the leader's last index; elsewhere none. */
function followers(core: BrokerNode): { id: number; matchIndex: number; lag: number }[] {
  const raft = core.raft;
  if (raft.role() !== 'leader') return [];
  const last = raft.lastIndex();
  return raft.voters.filter((id) => id !== raft.id).map((id) => {
    const matchIndex = raft.progressOf(id)?.match ?? 0;
    return { id, matchIndex, lag: Math.max(0, last - matchIndex) };
  });
}

function json(response: http.ServerResponse, status: number, body: unknown): void {
  response.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' });
  response.end(`${JSON.stringify(body, null, 2)}\n`);
}
