import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { builtInClusterConfig, ConfigError, parseClusterConfig } from '../../src/runtime/config.js';
import { DEFAULT_RAFT_OPTIONS } from '../../src/raft/config.js';

function problemsOf(text: string): readonly string[] {
  try {
    parseClusterConfig(text, 'cluster.yaml');
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  throw new Error('the configuration was accepted');
}

const node = (id: number, port: number): string =>
  `  - { id: ${id}, host: 127.0.0.1, clientPort: ${port}, peerPort: ${port + 1000}, adminPort: ${port + 2000}, dataDir: ./data/n${id} }\n`;

describe('cluster configuration', () => {
  it('has a built-in 3-node loopback cluster on 4222-4224 with data under ./data', () => {
    const config = builtInClusterConfig('/base');
    expect(config.nodes.map((n) => [n.id, n.host, n.clientPort, n.dataDir])).toEqual([
      [1, '127.0.0.1', 4222, path.resolve('/base/data/n1')],
      [2, '127.0.0.1', 4223, path.resolve('/base/data/n2')],
      [3, '127.0.0.1', 4224, path.resolve('/base/data/n3')],
    ]);
  });

  it('reads a file, fills defaults, and resolves data directories against the file', () => {
    const config = parseClusterConfig(`secret: s3cret-value\ntickMs: 50\nraft:\n  electionTicksMin: 20\nnodes:\n${node(1, 5000)}${node(2, 5001)}`, '/etc/chorus/cluster.yaml');
    expect(config.tickMs).toBe(50);
    expect(config.raft).toEqual({ ...DEFAULT_RAFT_OPTIONS, electionTicksMin: 20 });
    expect(config.nodes[1]).toEqual({ id: 2, host: '127.0.0.1', adminHost: '127.0.0.1', clientPort: 5001, peerPort: 6001, adminPort: 7001, monitorPort: 0, dataDir: path.resolve('/etc/chorus/data/n2') });
    expect(config.log).toEqual({ level: 'info', format: 'text' });
  });

  it('binds the admin port to the node host unless adminHost names another address', () => {
    const apart = `  - { id: 1, host: 10.0.0.5, adminHost: 127.0.0.1, clientPort: 5000, peerPort: 6000, adminPort: 7000 }\n`;
    const config = parseClusterConfig(`nodes:\n${apart}${node(2, 5001)}`, 'cluster.yaml');
    expect(config.nodes.map((n) => [n.host, n.adminHost])).toEqual([
      ['10.0.0.5', '127.0.0.1'],
      ['127.0.0.1', '127.0.0.1'],
    ]);
    expect(problemsOf(`nodes:\n  - { id: 1, host: 127.0.0.1, adminHost: 7, clientPort: 5000, peerPort: 6000, adminPort: 7000 }\n`)).toEqual([
      'cluster.yaml:2: nodes[0].adminHost: must be a non-empty string, got 7',
    ]);
  });

  it('names the file, line and field of every problem', () => {
    const problems = problemsOf(`secret: short\ntickMs: fast\nraft:\n  heartbeatTicks: 30\n  bogus: 1\nnodes:\n${node(1, 5000)}${node(1, 5000)}`);
    expect(problems).toEqual([
      'cluster.yaml:2: tickMs: must be an integer from 1 to 60000, got "fast"',
      'cluster.yaml:5: raft.bogus: unknown field (known: electionTicksMin, heartbeatTicks, entriesPerMessageMax, bytesPerMessageMax, inflightAppendsMax, uncommittedBytesMax, commandBytesMax, committedEntriesPerReadyMax, readiesInFlightMax, snapshotChunkBytes, snapshotChunksInflightMax, snapshotTrailingEntries, preVote, checkQuorum, electionBackoffMax)',
      'cluster.yaml:4: raft.heartbeatTicks: heartbeatTicks (30) must be below electionTicksMin (10)',
      'cluster.yaml:1: secret: must be at least 8 characters, got 5',
      'cluster.yaml:8: nodes[1].id: id 1 is already used by nodes[0]',
      'cluster.yaml:8: nodes[1].clientPort: 127.0.0.1:5000 is already used by nodes[0].clientPort',
      'cluster.yaml:8: nodes[1].peerPort: 127.0.0.1:6000 is already used by nodes[0].peerPort',
      'cluster.yaml:8: nodes[1].adminPort: 127.0.0.1:7000 is already used by nodes[0].adminPort',
      'cluster.yaml:8: nodes[1].dataDir: ' + path.resolve('data/n1') + ' is already used by nodes[0]',
    ]);
  });

  it('takes a monitoring port per node and log options, and names what is wrong with them', () => {
    const monitored = `  - { id: 1, host: 127.0.0.1, clientPort: 5000, peerPort: 6000, adminPort: 7000, monitorPort: 9000 }\n`;
    const config = parseClusterConfig(`log: { level: debug, format: json }\nnodes:\n${monitored}${node(2, 5001)}`, 'cluster.yaml');
    expect(config.nodes.map((n) => n.monitorPort)).toEqual([9000, 0]);
    expect(config.log).toEqual({ level: 'debug', format: 'json' });
    expect(builtInClusterConfig('/base').nodes.map((n) => n.monitorPort)).toEqual([7222, 7223, 7224]);
    const clash = `  - { id: 2, host: 127.0.0.1, clientPort: 5001, peerPort: 6001, adminPort: 7001, monitorPort: 7000 }\n`;
    const wrong = `  - { id: 3, host: 127.0.0.1, clientPort: 5002, peerPort: 6002, adminPort: 7002, monitorPort: -1 }\n`;
    expect(problemsOf(`log: { level: loud, format: xml, colour: red }\nnodes:\n${monitored}${clash}${wrong}`)).toEqual([
      'cluster.yaml:5: nodes[2].monitorPort: must be an integer from 0 to 65535, got -1',
      'cluster.yaml:4: nodes[1].monitorPort: 127.0.0.1:7000 is already used by nodes[0].adminPort',
      'cluster.yaml:1: log.colour: unknown field (known: level, format)',
      'cluster.yaml:1: log.level: must be one of debug, info, warn, error, got "loud"',
      'cluster.yaml:1: log.format: must be one of text, json, got "xml"',
    ]);
  });

  it('refuses YAML that does not parse, and a file without nodes', () => {
    expect(problemsOf('nodes: [\n')[0]).toMatch(/^cluster\.yaml:\d+: /);
    expect(problemsOf('secret: abcdefghij\n')).toEqual(['cluster.yaml:1: nodes: must be a list of at least one node, got nothing']);
  });

  it('takes the storage options, and a sync policy of always (the default) or interval with its period', () => {
    const base = `secret: s3cret-value\nnodes:\n${node(1, 5000)}`;
    expect(parseClusterConfig(base, 'cluster.yaml').sync).toEqual({ mode: 'always' });
    const tuned = parseClusterConfig(`${base}storage: { sync: interval, syncIntervalMs: 250, blockBytesMax: 65536, readCacheBytes: 0 }\n`, 'cluster.yaml');
    expect(tuned.sync).toEqual({ mode: 'interval', intervalMs: 250 });
    expect(tuned.messageStore).toEqual({ blockBytesMax: 65536, readCacheBytes: 0 });
    expect(problemsOf(`${base}storage: { sync: sometimes, syncIntervalMs: 0, blockBytesMax: 12 }\n`)).toEqual([
      'cluster.yaml:4: storage.blockBytesMax: must be an integer from 4096 to 2147483648, got 12',
      'cluster.yaml:4: storage.sync: must be always or interval, got "sometimes"',
      'cluster.yaml:4: storage.syncIntervalMs: must be an integer from 1 to 3600000, got 0',
    ]);
  });
});
