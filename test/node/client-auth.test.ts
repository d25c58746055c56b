import { describe, expect, it } from 'vitest';
import { fc, test } from '@fast-check/vitest';
import { mayPublish, maySubscribe, subjectWithin, type Permissions } from '../../src/node/client-auth.js';
import { subjectMatches } from '../../src/broker/subjects.js';
import { MiniCluster } from './mini-cluster.js';

function pub(subject: string, payload: string): string {
  return `PUB ${subject} ${Buffer.byteLength(payload)}\r\n${payload}\r\n`;
}

// A hash in bcrypt's shape; the core never computes one, it only hands it to its driver.
const HASH = '$2a$10$abcdefghijklmnopqrstuu5a4dxCnkEY5Z.aE4gpaDu6Q1t5Cx2bO';

const ALICE: Permissions = {
  publish: { allow: ['orders.>'], deny: ['orders.secret'] },
  subscribe: { allow: ['orders.>', '_INBOX.>', 'news'], deny: ['orders.secret', '_INBOX.private'] },
};

function usersCluster(): MiniCluster {
  const cluster = new MiniCluster({
    auth: {
      kind: 'users',
      users: [
        { user: 'alice', password: 'wonderland', permissions: ALICE },
        { user: 'root', password: 'toor', permissions: undefined },
        { user: 'hashed', password: HASH, permissions: undefined },
      ],
    },
  });
  cluster.electLeader(1);
  return cluster;
}

describe('client authentication in CONNECT', () => {
  it('a node with a token says auth_required, refuses a missing or wrong token, and serves the right one', () => {
    const cluster = new MiniCluster({ auth: { kind: 'token', token: 's3cret-token' } });
    cluster.electLeader(1);
    const missing = cluster.connect(1, '{}');
    expect(missing.take('Info')[0]?.info).toMatchObject({ auth_required: true });
    expect(missing.take('Err').map((frame) => frame.message)).toEqual(['Authorization Violation']);
    expect(missing.closed).toBe(true);
    const wrong = cluster.connect(1, '{"auth_token":"s3cret-tokeN"}');
    expect(wrong.take('Err').map((frame) => frame.message)).toEqual(['Authorization Violation']);
    expect(wrong.closed).toBe(true);
    const right = cluster.connect(1, '{"auth_token":"s3cret-token","verbose":true}');
    right.send('PING\r\n');
    expect(right.take('Err')).toEqual([]);
    expect(right.take('Pong')).toHaveLength(1);
    expect(right.closed).toBe(false);
    right.send('STATUS\r\n');
    expect(right.take('Status')[0]?.status).toMatchObject({ clients: { authRefusals: 2 } });
  });

  it('anything but CONNECT first is an Authorization Violation on a node that requires authentication', () => {
    const cluster = usersCluster();
    const node = cluster.node(1);
    // A client (a session id the test helper never hands out) that publishes before it says who it is.
    const client = 1000;
    node.openSession(client);
    node.receive(client, new TextEncoder().encode(pub('orders.eu', 'x')), cluster.clockOf(1));
    const outputs = node.takeClientOutput().filter((output) => output.session === client);
    const text = outputs.flatMap((output) => output.bytes.map((bytes) => new TextDecoder().decode(bytes))).join('');
    expect(text).toContain("-ERR 'Authorization Violation'");
    expect(outputs.some((output) => output.close)).toBe(true);
  });

  it('a user with a plain password is checked in the core; an unknown user or a wrong password is refused', () => {
    const cluster = usersCluster();
    expect(cluster.connect(1, '{"user":"nobody","pass":"toor"}').closed).toBe(true);
    expect(cluster.connect(1, '{"user":"root","pass":"wonderland"}').closed).toBe(true);
    expect(cluster.connect(1, '{"user":"root"}').closed).toBe(true);
    const root = cluster.connect(1, '{"user":"root","pass":"toor"}');
    expect(root.closed).toBe(false);
  });

  it('a bcrypt-hashed password is handed to the driver, and the commands after CONNECT wait for its verdict', () => {
    const cluster = usersCluster();
    const node = cluster.node(1);
    const subscriber = cluster.connect(1, '{"user":"root","pass":"toor"}');
    subscriber.send('SUB orders.eu 1\r\n');
    cluster.settle();
    const hashed = cluster.connect(1, '{"user":"hashed","pass":"plain-text-guess"}');
    expect(node.takeCredentialChecks()).toEqual([{ session: hashed.session, given: 'plain-text-guess', hash: HASH }]);
    hashed.send(pub('orders.eu', 'held'));
    cluster.settle();
    expect(subscriber.messages()).toEqual([]);
    node.credentialChecked(hashed.session, true, cluster.clockOf(1));
    cluster.flush(1);
    cluster.settle();
    expect(subscriber.messages()).toEqual(['held']);
    expect(hashed.closed).toBe(false);

    const refused = cluster.connect(1, '{"user":"hashed","pass":"wrong"}');
    expect(node.takeCredentialChecks()).toHaveLength(1);
    refused.send(pub('orders.eu', 'never'));
    node.credentialChecked(refused.session, false, cluster.clockOf(1));
    cluster.flush(1);
    cluster.settle();
    expect(refused.take('Err').map((frame) => frame.message)).toEqual(['Authorization Violation']);
    expect(refused.closed).toBe(true);
    expect(subscriber.messages()).toEqual([]);
  });
});

describe('per-user permissions', () => {
  it("a publish outside the user's permissions gets NATS's permission error, is dropped, and the connection stays", () => {
    const cluster = usersCluster();
    const root = cluster.connect(1, '{"user":"root","pass":"toor"}');
    root.send('SUB > 1\r\n');
    cluster.settle();
    const alice = cluster.connect(1, '{"user":"alice","pass":"wonderland"}');
    alice.send(pub('orders.secret', 'a'));
    alice.send(pub('payments', 'b'));
    alice.send(pub('orders.eu', 'c'));
    cluster.settle();
    expect(alice.take('Err').map((frame) => frame.message)).toEqual(['Permissions Violation for Publish to "orders.secret"', 'Permissions Violation for Publish to "payments"']);
    expect(alice.closed).toBe(false);
    expect(root.messages()).toEqual(['c']);
  });

  it('a subscription, HISTORY or queue subscription outside the permissions is refused; a wildcard overlapping a denied subject is filtered, stored or not', () => {
    const cluster = usersCluster();
    const root = cluster.connect(1, '{"user":"root","pass":"toor"}');
    const alice = cluster.connect(1, '{"user":"alice","pass":"wonderland"}');
    alice.send('SUB payments 1\r\nSUB > 2\r\nSUB orders.secret 3\r\nSUB news workers 4\r\nHISTORY payments 1 10\r\nSUB orders.> 5\r\nSUB _INBOX.> 6\r\n');
    cluster.settle();
    expect(alice.take('Err').map((frame) => frame.message)).toEqual([
      'Permissions Violation for Subscription to "payments"',
      'Permissions Violation for Subscription to ">"',
      'Permissions Violation for Subscription to "orders.secret"',
      'Permissions Violation for Subscription to "payments"',
    ]);
    expect(alice.take('Msg')).toEqual([]);
    // The queue subscription was allowed ('news' is in the allow list).
    root.send(pub('orders.secret', 'hidden') + pub('orders.eu', 'shown') + pub('_INBOX.x', 'core') + pub('_INBOX.private', 'hidden core') + pub('news', 'q'));
    cluster.settle();
    expect(alice.messages().sort()).toEqual(['core', 'q', 'shown']);
  });

  it("a subscription's queue group is named in the refusal", () => {
    const cluster = usersCluster();
    const alice = cluster.connect(1, '{"user":"alice","pass":"wonderland"}');
    alice.send('SUB payments workers 1\r\n');
    expect(alice.take('Err').map((frame) => frame.message)).toEqual(['Permissions Violation for Subscription to "payments" using queue "workers"']);
  });
});

describe('permission subjects', () => {
  it('subjectWithin: a pattern lies within another when every subject it matches, the other matches', () => {
    expect(subjectWithin('orders.eu', 'orders.>')).toBe(true);
    expect(subjectWithin('orders.*', 'orders.>')).toBe(true);
    expect(subjectWithin('orders.>', 'orders.>')).toBe(true);
    expect(subjectWithin('orders.>', 'orders.*')).toBe(false);
    expect(subjectWithin('orders', 'orders.>')).toBe(false);
    expect(subjectWithin('>', 'orders.>')).toBe(false);
    expect(subjectWithin('orders.*', 'orders.eu')).toBe(false);
    expect(subjectWithin('a.*.c', 'a.*.*')).toBe(true);
    expect(subjectWithin('a.b', '>')).toBe(true);
  });

  const token = fc.constantFrom('a', 'b', 'c');
  const pattern = fc.array(fc.oneof(token, fc.constant('*')), { minLength: 1, maxLength: 4 }).chain((tokens) =>
    fc.boolean().map((tail) => (tail ? [...tokens.slice(0, -1), '>'] : tokens).join('.')),
  );
  const literal = fc.array(token, { minLength: 1, maxLength: 5 }).map((tokens) => tokens.join('.'));

  test.prop([pattern, pattern, literal])('whatever the inner pattern matches, an outer pattern it lies within matches too', (inner, outer, topic) => {
    if (subjectWithin(inner, outer) && subjectMatches(inner, topic)) expect(subjectMatches(outer, topic)).toBe(true);
  });

  it('no permissions allow everything; an empty allow list allows all but the denied', () => {
    expect(mayPublish(undefined, 'anything')).toBe(true);
    const denyOnly: Permissions = { publish: { allow: [], deny: ['admin.>'] }, subscribe: { allow: [], deny: ['admin.>'] } };
    expect(mayPublish(denyOnly, 'orders')).toBe(true);
    expect(mayPublish(denyOnly, 'admin.reset')).toBe(false);
    expect(maySubscribe(denyOnly, '>')).toBe(true);
    expect(maySubscribe(denyOnly, 'admin.*')).toBe(false);
  });
});
