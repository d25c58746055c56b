// Security on a real cluster (docs/security.md): TLS on the client port in
// NATS's tls_required flow and mutual TLS between the nodes, from PEM files
// named in cluster.yaml; users with bcrypt-hashed or plain passwords and
// per-user permissions, checked the way nats-server checks them, seen through
// the official `nats` client.

import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tls from 'node:tls';
import bcrypt from 'bcryptjs';
import { connect, ErrorCode, StringCodec, type NatsError } from 'nats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { trackedResources } from './tracked.js';
import { execFile } from 'node:child_process';
import { CLI, eventually, RealCluster } from '../../src/runtime/local-cluster.js';
import { makeTestCertificates, opensslMissing, type TestCertificates } from '../support/test-certificates.js';

const codec = StringCodec();
const { clusters, connections } = trackedResources();
const missing = opensslMissing();
if (missing !== undefined) console.warn(`security tests skipped: ${missing}`);

const ADMIN_PASSWORD = 'correct horse battery staple';

/** Runs the chorus CLI; its exit status and output. */
function chorus(args: readonly string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], { env: { ...process.env, NO_COLOR: '1', ...env }, timeout: 20_000 }, (error, stdout, stderr) => {
      resolve({ code: error === null ? 0 : typeof error.code === 'number' ? error.code : -1, stdout, stderr });
    });
  });
}
const ALICE_PASSWORD = 'wonderland';

describe.skipIf(missing !== undefined)('a cluster with TLS on both ports and users with permissions', () => {
  let certs: TestCertificates;
  let certDir: string;

  beforeAll(() => {
    certDir = fs.mkdtempSync(path.join(os.tmpdir(), 'chorus-certs-'));
    certs = makeTestCertificates(certDir);
  });
  afterAll(() => fs.rmSync(certDir, { recursive: true, force: true }));

  async function secureCluster(): Promise<{ cluster: RealCluster; leader: number }> {
    // bcrypt at a low cost: the check is the same, and a loaded machine still answers the status polls within their 1 s.
    const adminHash = bcrypt.hashSync(ADMIN_PASSWORD, 6);
    const cluster = await RealCluster.create(3, 20, 10, 2, undefined, {
      yaml: [
        'authorization:',
        '  users:',
        `    - { user: admin, password: ${JSON.stringify(adminHash)} }`,
        `    - user: alice`,
        `      password: ${ALICE_PASSWORD}`,
        '      permissions:',
        "        publish: { allow: ['orders.>', '$JS.API.>'], deny: [orders.secret] }",
        "        subscribe: ['orders.>', '_INBOX.>']",
        `tls: { cert: ${JSON.stringify(certs.cert)}, key: ${JSON.stringify(certs.key)}, ca: ${JSON.stringify(certs.ca)} }`,
      ],
    });
    clusters.push(cluster);
    cluster.clientSecurity = { user: 'admin', password: ADMIN_PASSWORD, tlsCa: fs.readFileSync(certs.ca) };
    cluster.start();
    // A leader means the nodes reached each other over mutual TLS.
    const leader = await cluster.waitForLeader();
    return { cluster, leader };
  }

  it('the official nats client connects over TLS with a user and publishes; no, wrong or unverifiable credentials are refused', async () => {
    const { cluster, leader } = await secureCluster();
    const server = `127.0.0.1:${cluster.node(leader).clientPort}`;
    const admin = await connect({ servers: server, tls: { caFile: certs.ca }, user: 'admin', pass: ADMIN_PASSWORD, reconnect: false });
    connections.push(admin);
    const ack = await admin.jetstream().publish('orders.eu', codec.encode('over tls'));
    expect(ack.seq).toBe(1);
    expect(ack.duplicate).toBe(false);

    const refusal = async (options: Parameters<typeof connect>[0]): Promise<string> => {
      try {
        const nc = await connect({ servers: server, reconnect: false, ...options });
        connections.push(nc);
        return 'connected';
      } catch (error) {
        return (error as NatsError).code ?? String(error);
      }
    };
    expect(await refusal({ tls: { caFile: certs.ca } })).toBe(ErrorCode.AuthorizationViolation);
    expect(await refusal({ tls: { caFile: certs.ca }, user: 'admin', pass: 'guess' })).toBe(ErrorCode.AuthorizationViolation);
    expect(await refusal({ tls: { caFile: certs.ca }, user: 'mallory', pass: ADMIN_PASSWORD })).toBe(ErrorCode.AuthorizationViolation);
    // A client that does not trust the cluster's CA does not get as far as CONNECT.
    expect(await refusal({ user: 'admin', pass: ADMIN_PASSWORD })).not.toBe('connected');
    // One that does not speak TLS at all gets nothing but the INFO greeting.
    const plain = net.connect({ host: '127.0.0.1', port: cluster.node(leader).clientPort });
    const heard = await new Promise<string>((resolve) => {
      let text = '';
      plain.on('data', (chunk) => {
        text += chunk.toString('latin1');
        if (text.includes('\r\n')) plain.write(`CONNECT {"user":"admin","pass":"${ADMIN_PASSWORD}"}\r\nPUB orders.eu 5\r\nplain\r\n`);
      });
      plain.on('close', () => resolve(text));
      plain.on('error', () => undefined);
    });
    expect(heard).toMatch(/^INFO \{.*"tls_required":true.*"auth_required":true|^INFO \{.*"auth_required":true.*"tls_required":true/);
    expect(heard).not.toContain('+OK');
    // The CLI takes the same credentials, by flag or from the environment, and says why it was refused.
    const cliServer = ['--server', server, '--tls-ca', certs.ca];
    const published = await chorus(['pub', 'orders.eu', 'from the cli', ...cliServer, '--user', 'admin', '--password', ADMIN_PASSWORD]);
    expect(published).toMatchObject({ code: 0, stdout: 'published to ALL at offset 2\n' });
    const fromEnvironment = await chorus(['history', 'orders.eu', ...cliServer], { CHORUS_USER: 'admin', CHORUS_PASSWORD: ADMIN_PASSWORD });
    expect(fromEnvironment.code).toBe(0);
    expect(fromEnvironment.stdout).toContain('from the cli');
    const anonymous = await chorus(['pub', 'orders.eu', 'nobody', ...cliServer]);
    expect(anonymous.code).toBe(1);
    expect(anonymous.stderr).toBe(`chorus: ${server} refused the connection: Authorization Violation (it requires credentials: --user and --password, or --token)\n`);
    // Nothing any refused client sent was stored: the stream holds the two accepted publishes.
    const status = await cluster.status(leader);
    expect(status?.streams).toMatchObject({ messages: 2 });
    expect((status?.clients as Record<string, number>).authRefusals).toBeGreaterThanOrEqual(4);
    // The node says so in its log, at warning level.
    expect(cluster.lines.some((line) => line.includes(`[n${leader}]`) && / WARN .*refused .*with missing or wrong credentials \(Authorization Violation\)/.test(line))).toBe(true);
  });

  it("a user gets NATS's permission errors for what it may not publish or subscribe to, and keeps its connection", async () => {
    const { cluster, leader } = await secureCluster();
    const server = `127.0.0.1:${cluster.node(leader).clientPort}`;
    const alice = await connect({ servers: server, tls: { caFile: certs.ca }, user: 'alice', pass: ALICE_PASSWORD, reconnect: false });
    connections.push(alice);
    const statuses: { data: unknown; permissionContext?: unknown }[] = [];
    void (async () => {
      for await (const status of alice.status()) statuses.push(status as never);
    })();

    const subscriptionError = new Promise<NatsError | null>((resolve) => {
      alice.subscribe('payments', { callback: (error) => resolve(error) });
    });
    expect((await subscriptionError)?.code).toBe(ErrorCode.PermissionsViolation);

    alice.publish('orders.secret', codec.encode('not hers'));
    await alice.flush();
    const contexts = await eventually(
      () => {
        const seen = statuses.filter((status) => status.data === ErrorCode.PermissionsViolation).map((status) => status.permissionContext);
        return seen.length >= 2 ? seen : undefined;
      },
      5000,
      'both permission errors as status events',
    );
    expect(contexts).toEqual([
      { operation: 'subscription', subject: 'payments', queue: undefined },
      { operation: 'publish', subject: 'orders.secret', queue: undefined },
    ]);

    // What she may do still works on the same connection.
    expect(alice.isClosed()).toBe(false);
    const ack = await alice.jetstream().publish('orders.eu', codec.encode('hers'));
    expect(ack.seq).toBe(1);
  });

  it('a peer without a certificate from the cluster CA is refused, and the node says so', async () => {
    const { cluster, leader } = await secureCluster();
    const follower = [1, 2, 3].find((id) => id !== leader)!;
    const peerPort = cluster.node(follower).peerPort;
    // Plain TCP, then a TLS client whose certificate a stranger signed.
    const plain = net.connect({ host: '127.0.0.1', port: peerPort });
    plain.on('error', () => undefined);
    plain.write(Buffer.alloc(64, 1));
    await new Promise((resolve) => plain.on('close', resolve));
    const stranger = tls.connect({ host: '127.0.0.1', port: peerPort, ca: fs.readFileSync(certs.ca), cert: fs.readFileSync(certs.strangerCert), key: fs.readFileSync(certs.strangerKey) });
    stranger.on('error', () => undefined);
    const strangerHeard = await new Promise<number>((resolve) => {
      let bytes = 0;
      stranger.on('data', (chunk: Buffer) => (bytes += chunk.length));
      stranger.on('close', () => resolve(bytes));
    });
    // A node's first bytes to a peer are its challenge: the stranger never got one.
    expect(strangerHeard).toBe(0);
    await eventually(() => cluster.lines.find((line) => line.includes(`[n${follower}]`) && /peer port: closed \d+ connections? over TLS errors/.test(line)), 5000, 'the refusal in the log');
    // The cluster still commits.
    const status = await cluster.status(leader);
    expect(status?.role).toBe('leader');
  });
});
