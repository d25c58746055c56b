import { describe, expect, it } from 'vitest';
import { loadClusterConfig } from '../../src/runtime/config.js';

describe('cluster.example.yaml', () => {
  it('is a valid configuration of three nodes', () => {
    const config = loadClusterConfig('cluster.example.yaml');
    expect(config.nodes.map((node) => node.clientPort)).toEqual([4222, 4223, 4224]);
    expect(config.tickMs).toBe(100);
  });
});
