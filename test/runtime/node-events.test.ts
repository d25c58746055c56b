import { describe, expect, it } from 'vitest';
import { Logger } from '../../src/runtime/logger.js';
import { NodeEvents } from '../../src/runtime/node-events.js';
import type { CommandFailed } from '../../src/node/peer-messages.js';
import { MiniCluster } from '../node/mini-cluster.js';

// The node log's events as the cores cause them: elections and leader changes,
// refusals to lead, slow consumers, refused credentials, and limits hit, each
// at its level and with its fields, and floods counted rather than repeated.

function watched(cluster: MiniCluster, id: number): { events: NodeEvents; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const logger = new Logger(id, { level: 'debug', format: 'json' }, (line) => lines.push(JSON.parse(line) as Record<string, unknown>));
  return { events: new NodeEvents(cluster.node(id), logger, () => undefined), lines };
}

function failure(reason: CommandFailed['reason'], message: string): CommandFailed {
  return { kind: 'failed', reason, message, retryable: reason === 'overloaded', leaderHint: 1 };
}

describe('the node events a node logs', () => {
  it('an election and the leadership it brings, on the winner and on a follower', () => {
    const cluster = new MiniCluster();
    const winner = watched(cluster, 1);
    const follower = watched(cluster, 2);
    cluster.electLeader(1);
    winner.events.afterStep();
    follower.events.afterStep();
    expect(winner.lines.map((line) => [line.level, line.event, line.msg])).toEqual([['info', 'leader-changed', 'became leader in term 1']]);
    expect(follower.lines.map((line) => [line.level, line.event, line.msg])).toEqual([['info', 'leader-changed', 'follows n1 as leader in term 1']]);
    expect(winner.lines[0]).toMatchObject({ role: 'leader', term: 1, leader: 1 });
  });

  it('a node whose clock is far off the majority says it refuses to lead, and steps down', () => {
    const cluster = new MiniCluster();
    cluster.electLeader(3);
    const skewed = watched(cluster, 3);
    cluster.skewMs.set(3, 2000);
    for (let round = 0; round < 60; round++) {
      cluster.heartbeat();
      skewed.events.afterStep();
    }
    const refusal = skewed.lines.find((line) => line.event === 'refuses-to-lead');
    expect(refusal).toMatchObject({ level: 'warn', reason: expect.stringMatching(/^its clock is \d+ ms off from the majority's, beyond maxClockOffsetMs 500$/) });
    expect(String(refusal?.msg)).toMatch(/^refuses to lead: its clock is/);
    expect(skewed.lines.some((line) => line.event === 'leader-changed' && String(line.msg).startsWith('stepped down as leader'))).toBe(true);
    // The clock comes back: it may lead again, and says so once.
    cluster.skewMs.set(3, 0);
    for (let round = 0; round < 60; round++) {
      cluster.heartbeat();
      skewed.events.afterStep();
    }
    expect(skewed.lines.filter((line) => line.event === 'may-lead')).toHaveLength(1);
  });

  it('slow consumers and refused credentials, with the counts since start', () => {
    const cluster = new MiniCluster({ sessionPendingBytesMax: 1024, auth: { kind: 'token', token: 'right-token' } });
    cluster.electLeader(1);
    const node = watched(cluster, 1);
    const publisher = cluster.connect(1, '{"auth_token":"right-token"}');
    const slow = cluster.connect(1, '{"auth_token":"right-token"}');
    slow.send('SUB _INBOX.feed 1\r\n');
    slow.reading = false;
    for (let i = 0; i < 20; i++) publisher.send(`PUB _INBOX.feed 200\r\n${'x'.repeat(200)}\r\n`);
    cluster.connect(1, '{"auth_token":"wrong"}');
    cluster.connect(1, '{}');
    node.events.afterStep();
    expect(node.lines.map((line) => [line.level, line.event, line.msg])).toEqual([
      ['warn', 'slow-consumer', 'cut a client as a slow consumer (over node.sessionPendingBytesMax of unsent output); 1 since start'],
      ['warn', 'auth-refused', 'refused 2 clients with missing or wrong credentials (Authorization Violation); 2 since start'],
    ]);
    // More refusals within the quiet window are counted for the next line, not logged now.
    cluster.connect(1, '{}');
    node.events.afterStep();
    expect(node.lines).toHaveLength(2);
  });

  it('a limit hit is logged at once, its repeats within 10 s counted, and the next line says how many', () => {
    const cluster = new MiniCluster();
    const node = watched(cluster, 1);
    node.events.publishFailed(failure('overloaded', '10000 forwarded publishes await the leader'), 1_000);
    node.events.publishFailed(failure('overloaded', '10000 forwarded publishes await the leader'), 2_000);
    node.events.publishFailed(failure('overloaded', '10000 forwarded publishes await the leader'), 3_000);
    node.events.publishFailed(failure('no-leader', 'no leader is known'), 3_000);
    node.events.publishFailed(failure('too-large', 'the command is 2000000 bytes'), 3_000);
    node.events.publishFailed(failure('overloaded', '10000 forwarded publishes await the leader'), 12_000);
    expect(node.lines.map((line) => [line.level, line.event, line.limit, line.repeats])).toEqual([
      ['warn', 'limit-hit', 'overloaded', 0],
      ['warn', 'limit-hit', 'too-large', 0],
      ['warn', 'limit-hit', 'overloaded', 2],
    ]);
    expect(node.lines[2]?.msg).toBe('refused a publish, overloaded: 10000 forwarded publishes await the leader (and 2 more since the last such line)');
  });
});
