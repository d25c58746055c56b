// A real cluster on this machine, for tests and benchmarks: node processes on
// loopback, on ports chosen free at run time, with data in a temporary folder.
// Whoever starts one stops it (stop()), which ends exactly the processes its
// supervisor started.

import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { adminCommands } from './admin-client.js';
import { ChorusClient, type ClientSecurity } from './client.js';
import { streamConfigToJson, streamConfigWithDefaults, type StreamConfig } from '../broker/stream-config.js';
import { Supervisor } from './supervisor.js';

/**
 * The built CLI. From dist/ it is beside this module; from the TypeScript
 * sources (vitest) it is the build in dist/, which `npm test` makes first.
 */
export const CLI = import.meta.url.endsWith('.ts')
  ? fileURLToPath(new URL('../../dist/src/cli/main.js', import.meta.url))
  : fileURLToPath(new URL('../cli/main.js', import.meta.url));

/**
 * `count` distinct loopback ports free at this moment. Every port stays bound
 * until all are chosen: a port asked for and released one at a time may be
 * handed out again by the next ask, and two nodes given the same port cannot start.
 */
export async function freePorts(count: number): Promise<number[]> {
  const servers: net.Server[] = [];
  try {
    for (let i = 0; i < count; i++) {
      const server = net.createServer();
      servers.push(server);
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(0, '127.0.0.1', resolve);
      });
    }
    return servers.map((server) => (server.address() as net.AddressInfo).port);
  } finally {
    await Promise.all(servers.map((server) => new Promise<void>((resolve) => server.close(() => resolve()))));
  }
}

export interface NodePorts {
  readonly id: number;
  readonly clientPort: number;
  readonly peerPort: number;
  readonly adminPort: number;
  /** HTTP: /healthz, /varz, /metrics. */
  readonly monitorPort: number;
  readonly dataDir: string;
}

export class RealCluster {
  readonly lines: string[] = [];
  /** The credentials and CA this cluster's own clients (status, waitForLeader) use, when its nodes require them. */
  clientSecurity: ClientSecurity = {};
  readonly unexpectedExits: string[] = [];
  readonly supervisor: Supervisor;

  private constructor(
    readonly dir: string,
    readonly configFile: string,
    readonly nodes: readonly NodePorts[],
    readonly secret: string,
  ) {
    this.supervisor = new Supervisor({
      configFile,
      ids: nodes.map((node) => node.id),
      entry: CLI,
      onLine: (id, line) => this.lines.push(`[n${id}] ${line}`),
      onExit: (id, code, signal) => this.unexpectedExits.push(`n${id} exited with ${signal ?? code ?? '?'}`),
    });
  }

  /**
   * Writes a cluster.yaml; the default fast ticks (20 ms) make elections take a
   * fraction of a second. Without `streams`, one stream stores every subject
   * but the reserved ones.
   */
  static async create(
    size = 3,
    tickMs = 20,
    electionTicksMin = 10,
    heartbeatTicks = 2,
    streams?: readonly StreamConfig[],
    tuning: {
      readonly node?: Readonly<Record<string, number>>;
      readonly raft?: Readonly<Record<string, number>>;
      readonly storage?: Readonly<Record<string, number | string>>;
      readonly log?: Readonly<Record<string, string>>;
      readonly connections?: Readonly<Record<string, number>>;
      /** Top-level YAML lines added as they are (authorization and tls sections, say). */
      readonly yaml?: readonly string[];
    } = {},
  ): Promise<RealCluster> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'chorus-real-'));
    const nodes: NodePorts[] = [];
    const ports = await freePorts(4 * size);
    for (let id = 1; id <= size; id++) {
      const [clientPort, peerPort, adminPort, monitorPort] = ports.slice(4 * (id - 1), 4 * id) as [number, number, number, number];
      nodes.push({ id, clientPort, peerPort, adminPort, monitorPort, dataDir: path.join(dir, `n${id}`) });
    }
    const secret = randomBytes(12).toString('hex');
    const yaml = [
      `secret: ${secret}`,
      `tickMs: ${tickMs}`,
      'raft:',
      `  electionTicksMin: ${electionTicksMin}`,
      `  heartbeatTicks: ${heartbeatTicks}`,
      ...Object.entries(tuning.raft ?? {}).map(([key, value]) => `  ${key}: ${value}`),
      'node:',
      '  forwardTimeoutTicks: 100',
      ...Object.entries(tuning.node ?? {}).map(([key, value]) => `  ${key}: ${value}`),
      ...(tuning.storage === undefined ? [] : ['storage:', ...Object.entries(tuning.storage).map(([key, value]) => `  ${key}: ${value}`)]),
      ...(tuning.log === undefined ? [] : ['log:', ...Object.entries(tuning.log).map(([key, value]) => `  ${key}: ${value}`)]),
      ...(tuning.connections === undefined ? [] : ['connections:', ...Object.entries(tuning.connections).map(([key, value]) => `  ${key}: ${value}`)]),
      ...(tuning.yaml ?? []),
      `streams: ${JSON.stringify((streams ?? [streamConfigWithDefaults({ name: 'ALL', subjects: ['>'] }, size)]).map(streamConfigToJson))}`,
      'nodes:',
      ...nodes.map((n) => `  - { id: ${n.id}, host: 127.0.0.1, clientPort: ${n.clientPort}, peerPort: ${n.peerPort}, adminPort: ${n.adminPort}, monitorPort: ${n.monitorPort}, dataDir: ${n.dataDir} }`),
      '',
    ].join('\n');
    const configFile = path.join(dir, 'cluster.yaml');
    fs.writeFileSync(configFile, yaml);
    return new RealCluster(dir, configFile, nodes, secret);
  }

  start(): void {
    this.supervisor.startAll();
  }

  node(id: number): NodePorts {
    return this.nodes.find((node) => node.id === id)!;
  }

  async status(id: number): Promise<Record<string, unknown> | undefined> {
    try {
      const client = await ChorusClient.connect('127.0.0.1', this.node(id).clientPort, 1000, this.clientSecurity);
      try {
        return await client.status(1000);
      } finally {
        client.close();
      }
    } catch {
      return undefined;
    }
  }

  /** Waits until the running nodes (or `among`) agree on one leader, and returns it. */
  async waitForLeader(among: readonly number[] = this.supervisor.running(), timeoutMs = 15_000): Promise<number> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const statuses = await Promise.all(among.map((id) => this.status(id)));
      const leaders = statuses.filter((status) => status?.role === 'leader').map((status) => Number(status!.node));
      const agreed = statuses.every((status) => status !== undefined && Number(status.leader) === leaders[0]);
      if (leaders.length === 1 && agreed) return leaders[0]!;
      await sleep(50);
    }
    throw new Error(`no agreed leader among ${among.join(', ')} within ${timeoutMs} ms\n${this.lines.slice(-30).join('\n')}`);
  }

  /** GETs a path of a node's monitoring port: its status code and body. */
  async monitor(id: number, path: string): Promise<{ status: number; body: string }> {
    const response = await fetch(`http://127.0.0.1:${this.node(id).monitorPort}${path}`, { signal: AbortSignal.timeout(5000) });
    return { status: response.status, body: await response.text() };
  }

  /** Sends admin commands to a node and returns the answers. */
  async admin(id: number, ...commands: string[]): Promise<string[]> {
    const answers = await adminCommands('127.0.0.1', this.node(id).adminPort, this.secret, commands, 5000);
    if (answers instanceof Error) throw answers;
    return answers.slice(1);
  }

  async stop(): Promise<void> {
    await this.supervisor.stopAll();
  }

  remove(): void {
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls until `check` returns a value other than undefined. */
export async function eventually<T>(check: () => Promise<T | undefined> | T | undefined, timeoutMs: number, what: string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(50);
  }
}
