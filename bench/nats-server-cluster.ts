// A 3-node nats-server cluster with JetStream, the side-by-side anchor of the
// real-mode benchmarks. It runs Debian's nats-server binary when it is
// installed (apt-get install nats-server); benchmarks skip it, saying so,
// when it is not. Loopback only, free ports, a temporary store, and stop()
// ends exactly the processes started here.

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { connect } from 'nats';
import { freePorts, sleep } from '../src/runtime/local-cluster.js';

export function natsServerBinary(): string | undefined {
  for (const candidate of ['nats-server', '/usr/sbin/nats-server', '/usr/bin/nats-server']) {
    const probe = spawnSync(candidate, ['--version'], { encoding: 'utf8' });
    if (probe.status === 0) return candidate;
  }
  return undefined;
}

export class NatsServerCluster {
  private readonly children: ChildProcess[] = [];

  private constructor(
    readonly dir: string,
    readonly clientPorts: readonly number[],
  ) {}

  static async start(binary: string, streamName: string, subject: string): Promise<NatsServerCluster> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'chorus-nats-bench-'));
    const ports = await freePorts(6);
    const clientPorts = ports.slice(0, 3);
    const routePorts = ports.slice(3);
    const cluster = new NatsServerCluster(dir, clientPorts);
    for (let i = 0; i < 3; i++) {
      const config = [
        `server_name: s${i + 1}`,
        `listen: 127.0.0.1:${clientPorts[i]}`,
        `jetstream { store_dir: "${path.join(dir, `s${i + 1}`)}" }`,
        'cluster {',
        '  name: bench',
        `  listen: 127.0.0.1:${routePorts[i]}`,
        `  routes: [${routePorts.map((port) => `nats-route://127.0.0.1:${port}`).join(', ')}]`,
        '}',
      ].join('\n');
      const file = path.join(dir, `s${i + 1}.conf`);
      fs.writeFileSync(file, config);
      cluster.children.push(spawn(binary, ['-c', file], { stdio: 'ignore' }));
    }
    // The stream can be created once the JetStream meta group has a leader.
    const nc = await connect({ servers: clientPorts.map((port) => `127.0.0.1:${port}`), maxReconnectAttempts: -1, waitOnFirstConnect: true });
    const deadline = Date.now() + 30_000;
    for (;;) {
      try {
        const manager = await nc.jetstreamManager();
        await manager.streams.add({ name: streamName, subjects: [subject], num_replicas: 3 });
        break;
      } catch (error) {
        if (Date.now() > deadline) throw new Error(`nats-server JetStream did not come up: ${(error as Error).message}`);
        await sleep(200);
      }
    }
    await nc.close();
    return cluster;
  }

  async stop(): Promise<void> {
    await Promise.all(
      this.children.map(
        (child) =>
          new Promise<void>((resolve) => {
            if (child.exitCode !== null) return resolve();
            child.once('exit', () => resolve());
            child.kill('SIGTERM');
          }),
      ),
    );
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}
