import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError, parseClusterConfig } from '../../src/runtime/config.js';

const NODES = 'nodes:\n  - { id: 1, host: 127.0.0.1, clientPort: 4222, peerPort: 6222, adminPort: 8222 }\n';
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'chorus-security-config-'));
for (const name of ['node.pem', 'node-key.pem', 'ca.pem']) fs.writeFileSync(path.join(dir, name), 'PEM text is read when a node starts\n');
const file = path.join(dir, 'cluster.yaml');
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

function problemsOf(text: string): readonly string[] {
  try {
    parseClusterConfig(text, file);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems.map((problem) => problem.replace(`${file}:`, 'cluster.yaml:'));
    throw error;
  }
  throw new Error('the configuration was accepted');
}

describe("cluster.yaml's authorization section", () => {
  it('reads a token, or users with passwords and nats-server-style permissions', () => {
    expect(parseClusterConfig(`authorization: { token: 12345678 }\n${NODES}`, file).auth).toEqual({ kind: 'token', token: '12345678' });
    const yaml = [
      'authorization:',
      '  users:',
      '    - { user: admin, password: "$2a$11$abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ012" }',
      '    - user: alice',
      '      password: wonderland',
      '      permissions:',
      '        publish: [orders.>]',
      '        subscribe: { allow: [orders.>, _INBOX.>], deny: orders.secret }',
      NODES,
    ].join('\n');
    expect(parseClusterConfig(yaml, file).auth).toEqual({
      kind: 'users',
      users: [
        { user: 'admin', password: '$2a$11$abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ012', permissions: undefined },
        { user: 'alice', password: 'wonderland', permissions: { publish: { allow: ['orders.>'], deny: [] }, subscribe: { allow: ['orders.>', '_INBOX.>'], deny: ['orders.secret'] } } },
      ],
    });
    expect(parseClusterConfig(NODES, file).auth).toBeUndefined();
  });

  it('names every problem: token and users together, duplicate users, bad subjects, unknown fields', () => {
    expect(problemsOf(`authorization: { token: abc, users: [] }\n${NODES}`)).toEqual(['cluster.yaml:1: authorization: give either token or users, not both (a client proves itself one way)']);
    const yaml = [
      'authorization:',
      '  users:',
      '    - { user: bob, password: one }',
      '    - { user: bob, password: "" }',
      '    - { user: eve, password: x, permissions: { publish: ["a..b"], subscribe: { allow: [ok], deny: [">.x"] }, admin: true } }',
      NODES,
    ].join('\n');
    expect(problemsOf(yaml)).toEqual([
      'cluster.yaml:4: authorization.users[1].user: bob is already a user, at users[0]',
      'cluster.yaml:4: authorization.users[1].password: must be a non-empty string, got ""',
      'cluster.yaml:5: authorization.users[2].permissions.admin: unknown field (known: publish, subscribe)',
      "cluster.yaml:5: authorization.users[2].permissions.publish[0]: must be a subject (tokens separated by '.', wildcards * and > as whole tokens), got \"a..b\"",
      "cluster.yaml:5: authorization.users[2].permissions.subscribe.deny[0]: must be a subject (tokens separated by '.', wildcards * and > as whole tokens), got \">.x\"",
    ]);
    expect(problemsOf(`authorization: { users: [] }\n${NODES}`)).toEqual(['cluster.yaml:1: authorization.users: must be a list of at least one user (or give token instead), got []']);
  });
});

describe("cluster.yaml's tls section", () => {
  it('resolves PEM files against the file, with TLS on both ports by default and per-node certificates', () => {
    const yaml = `tls: { cert: node.pem, key: node-key.pem, ca: ca.pem }\nnodes:\n  - { id: 1, host: 127.0.0.1, clientPort: 4222, peerPort: 6222, adminPort: 8222, tls: { cert: node.pem, key: node-key.pem } }\n`;
    const config = parseClusterConfig(yaml, file);
    expect(config.tls).toEqual({ cert: path.join(dir, 'node.pem'), key: path.join(dir, 'node-key.pem'), ca: path.join(dir, 'ca.pem'), clients: true, peers: true, verifyClients: false });
    expect(config.nodes[0]?.tls).toEqual({ cert: path.join(dir, 'node.pem'), key: path.join(dir, 'node-key.pem') });
  });

  it('refuses missing files, peers without a CA, and a node certificate without the cluster section', () => {
    expect(problemsOf(`tls: { cert: missing.pem, key: node-key.pem, peers: yes }\n${NODES}`)).toEqual([
      'cluster.yaml:1: tls.cert: cannot read missing.pem: ENOENT',
      'cluster.yaml:1: tls.peers: must be true or false, got "yes"',
      "cluster.yaml:1: tls.ca: is needed when tls.peers is true: each node checks the other nodes' certificates against it",
    ]);
    expect(parseClusterConfig(`tls: { cert: node.pem, key: node-key.pem, peers: false }\n${NODES}`, file).tls?.clients).toBe(true);
    expect(problemsOf('nodes:\n  - { id: 1, host: 127.0.0.1, clientPort: 4222, peerPort: 6222, adminPort: 8222, tls: { cert: node.pem, key: node-key.pem } }\n')).toEqual([
      'cluster.yaml:2: nodes[0].tls: a node certificate needs the cluster-wide tls section (its ca and which ports use TLS)',
    ]);
  });
});
