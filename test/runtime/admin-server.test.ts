import * as net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { adminCommands, adminStatus } from '../../src/runtime/admin-client.js';
import { AdminServer, adminAuthAnswer } from '../../src/runtime/admin-server.js';
import { NO_FAULTS } from '../../src/runtime/peer-transport.js';

// The admin port authenticates by challenge and response: the node opens with
// a random challenge, and only its HMAC under the cluster secret is accepted,
// so the secret never crosses the wire and an overheard answer is no good on
// another connection.

const SECRET = 'admin-test-secret';
const servers: AdminServer[] = [];

afterEach(async () => {
  for (const server of servers.splice(0)) await server.stop();
});

async function startServer(): Promise<{ port: number; logged: string[] }> {
  const logged: string[] = [];
  const target = { skewMs: 0, transportFaults: NO_FAULTS, status: () => ({ node: 7, role: 'follower' }) };
  const server = new AdminServer(target, SECRET, (line) => logged.push(line));
  servers.push(server);
  const probe = net.createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const port = (probe.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  await server.listen('127.0.0.1', port);
  return { port, logged };
}

/** Connects, waits for the challenge, sends what `answer` makes of it, and collects every line until the node closes or 2 s pass. */
async function converse(port: number, answer: (challenge: string) => string): Promise<string[]> {
  const socket = net.connect(port, '127.0.0.1');
  socket.setEncoding('utf8');
  let text = '';
  let sent = false;
  return new Promise((resolve) => {
    const done = (): void => {
      socket.destroy();
      resolve(text.split('\n').filter((line) => line !== ''));
    };
    const timer = setTimeout(done, 1000);
    socket.on('data', (chunk: string) => {
      text += chunk;
      const challenge = /^CHALLENGE ([0-9a-f]+)\n/.exec(text)?.[1];
      if (!sent && challenge !== undefined) {
        sent = true;
        socket.write(answer(challenge));
      }
    });
    socket.on('close', () => {
      clearTimeout(timer);
      done();
    });
    socket.on('error', () => undefined);
  });
}

describe('the admin port', () => {
  it('opens with a fresh challenge and takes the HMAC of it under the secret', async () => {
    const { port } = await startServer();
    const lines = await converse(port, (challenge) => `AUTH ${adminAuthAnswer(SECRET, challenge)}\nSTATUS\n`);
    expect(lines[0]).toMatch(/^CHALLENGE [0-9a-f]{32}$/);
    expect(lines.slice(1, 3)).toEqual(['OK authenticated', 'OK {"node":7,"role":"follower"}']);
    const again = await converse(port, () => '');
    expect(again[0]).not.toBe(lines[0]);
    expect(await adminStatus('127.0.0.1', port, SECRET, 2000)).toEqual({ node: 7, role: 'follower' });
  });

  it('refuses the secret itself in clear, a wrong secret, and an answer to another connection\'s challenge', async () => {
    const { port, logged } = await startServer();
    const refusal = 'ERR the first line must be AUTH <HMAC-SHA256 of the challenge under the cluster secret, in hex>';
    expect((await converse(port, () => `AUTH ${SECRET}\nSTATUS\n`)).slice(1)).toEqual([refusal]);
    expect((await converse(port, (challenge) => `AUTH ${adminAuthAnswer('not-the-secret', challenge)}\nSTATUS\n`)).slice(1)).toEqual([refusal]);
    let overheard = '';
    await converse(port, (challenge) => {
      overheard = adminAuthAnswer(SECRET, challenge);
      return `AUTH ${overheard}\n`;
    });
    expect((await converse(port, () => `AUTH ${overheard}\nSTATUS\n`)).slice(1)).toEqual([refusal]);
    expect(logged.filter((line) => line.includes('did not answer the challenge'))).toHaveLength(3);
    const wrong = await adminCommands('127.0.0.1', port, 'not-the-secret', ['STATUS'], 2000);
    expect(wrong).toEqual([refusal]);
  });
});
