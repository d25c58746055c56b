// What a real-mode test starts, tracked so that every test stops exactly the
// processes and connections it started, whatever happened in it.

import type { NatsConnection } from 'nats';
import { afterEach } from 'vitest';
import type { RealCluster } from '../../src/runtime/local-cluster.js';

/**
 * The clusters and connections of the current test file. Registers an
 * afterEach that closes the connections, then stops and removes the clusters.
 */
export function trackedResources(): { clusters: RealCluster[]; connections: NatsConnection[] } {
  const clusters: RealCluster[] = [];
  const connections: NatsConnection[] = [];
  afterEach(async () => {
    for (const connection of connections.splice(0)) await connection.close().catch(() => undefined);
    for (const cluster of clusters.splice(0)) {
      await cluster.stop();
      cluster.remove();
    }
  });
  return { clusters, connections };
}
