// Talks to a node's admin port, as `chorus cluster status` and the tests do.
// The admin protocol is a line per command and a line per answer (see
// admin-server.ts): the node opens with a challenge, and the first line
// answers it under the cluster secret.

import * as net from 'node:net';
import { adminAuthAnswer } from './admin-server.js';

/** The node's status as JSON, or an Error saying why there is none. */
export async function adminStatus(host: string, port: number, secret: string, timeoutMs: number): Promise<Record<string, unknown> | Error> {
  const answer = await adminCommands(host, port, secret, ['STATUS'], timeoutMs);
  if (answer instanceof Error) return answer;
  const [auth = '', status = ''] = answer;
  if (!auth.startsWith('OK')) return new Error(auth === '' ? 'the admin port answered nothing' : `the admin port refused: ${auth}`);
  if (!status.startsWith('OK ')) return new Error(status === '' ? 'the admin port did not answer STATUS' : `STATUS failed: ${status}`);
  try {
    return JSON.parse(status.slice(3)) as Record<string, unknown>;
  } catch {
    return new Error('STATUS answered something that is not JSON');
  }
}

/**
 * Connects, answers the node's challenge, sends `commands` and collects the
 * answer to the AUTH and one per command (fewer when the node closes first),
 * or says why none came.
 */
export function adminCommands(host: string, port: number, secret: string, commands: readonly string[], timeoutMs: number): Promise<string[] | Error> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    socket.setEncoding('utf8');
    let text = '';
    let challenged = false;
    const count = 1 + commands.length;
    // Only the first call counts: an error is followed by a close, for one.
    const finish = (result: string[] | Error): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve(result);
    };
    const timer = setTimeout(() => finish(new Error(`no answer from the admin port ${host}:${port} within ${timeoutMs} ms`)), timeoutMs);
    const answers = (): string[] => completeLines(text).slice(1);
    socket.on('data', (chunk: string) => {
      text += chunk;
      const first = completeLines(text)[0];
      if (!challenged && first !== undefined) {
        challenged = true;
        const challenge = /^CHALLENGE ([0-9a-f]+)$/.exec(first)?.[1];
        if (challenge === undefined) return finish(new Error(`the admin port ${host}:${port} did not open with a challenge: ${first.slice(0, 80)}`));
        socket.write(`AUTH ${adminAuthAnswer(secret, challenge)}\n${commands.map((command) => `${command}\n`).join('')}`);
      }
      if (answers().length >= count) finish(answers().slice(0, count));
    });
    socket.once('error', (error) => finish(new Error(`cannot reach the admin port ${host}:${port}: ${error.message}`)));
    socket.once('close', () => finish(answers()));
  });
}

function completeLines(text: string): string[] {
  return text.split('\n').slice(0, -1);
}
