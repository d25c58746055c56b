import { describe, expect, it } from 'vitest';
import { loadClusterConfig, parseClusterConfig } from '../../src/runtime/config.js';

describe('cluster.example.yaml', () => {
  it('is a valid configuration of three nodes, with its two streams', () => {
    const config = loadClusterConfig('cluster.example.yaml');
    expect(config.nodes.map((node) => node.clientPort)).toEqual([4222, 4223, 4224]);
    expect(config.nodes.map((node) => node.monitorPort)).toEqual([7222, 7223, 7224]);
    expect(config.log).toEqual({ level: 'info', format: 'text' });
    expect(config.tickMs).toBe(100);
    expect(config.streams.map((stream) => [stream.name, stream.subjects, stream.maxMsgs, stream.maxAgeMs, stream.discard, stream.replicas])).toEqual([
      ['ORDERS', ['orders', 'orders.>'], 1_000_000, 86_400_000, 'old', 3],
      ['AUDIT', ['audit.>'], -1, 0, 'new', 3],
    ]);
  });
});

describe('declared streams', () => {
  const nodes = 'nodes:\n  - { id: 1, host: 127.0.0.1, clientPort: 4222, peerPort: 6222, adminPort: 8222 }\n';
  it('are refused with every problem named: bad fields, overlapping subjects, replicas other than the cluster size', () => {
    const yaml = [
      'streams:',
      '  - { name: A, subjects: ["orders.*"], max_age: soon }',
      '  - { name: B, subjects: ["orders.eu"], num_replicas: 3 }',
      '  - { name: A, subjects: [x], colour: red }',
      nodes,
    ].join('\n');
    expect(() => parseClusterConfig(yaml, 'c.yaml')).toThrow(
      expect.objectContaining({
        problems: expect.arrayContaining([
          expect.stringContaining('streams[0]: max_age must be nanoseconds (an integer) or a duration such as "90s", "15m" or "1h", got "soon"'),
          expect.stringContaining("streams[1].num_replicas: must be the cluster's size, 1, for now; got 3"),
          expect.stringContaining('streams[2]: unknown field "colour"'),
        ]),
      }),
    );
    const overlapping = ['streams:', '  - { name: A, subjects: ["orders.*"] }', '  - { name: B, subjects: ["orders.eu"] }', nodes].join('\n');
    expect(() => parseClusterConfig(overlapping, 'c.yaml')).toThrow(
      expect.objectContaining({ problems: [expect.stringContaining('streams[1].subjects: orders.eu overlaps orders.* of streams[0] (A): one subject may belong to one stream only')] }),
    );
  });
});
