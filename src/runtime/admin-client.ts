// Asks a node's admin port for its STATUS, as `chorus cluster status` does.
// The admin protocol is a line per command and a line per answer (see
// admin-server.ts), the first line being AUTH with the cluster secret.

import * as net from 'node:net';

/** The node's status as JSON, or an Error saying why there is none. */
export async function adminStatus(host: string, port: number, secret: string, timeoutMs: number): Promise<Record<string, unknown> | Error> {
  const answer = await exchange(host, port, `AUTH ${secret}\nSTATUS\n`, 2, timeoutMs);
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

/** Connects, writes `request` and collects up to `count` answer lines, or says why none came. */
function exchange(host: string, port: number, request: string, count: number, timeoutMs: number): Promise<string[] | Error> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    socket.setEncoding('utf8');
    let text = '';
    // Only the first call counts: an error is followed by a close, for one.
    const finish = (result: string[] | Error): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve(result);
    };
    const timer = setTimeout(() => finish(new Error(`no answer from the admin port ${host}:${port} within ${timeoutMs} ms`)), timeoutMs);
    socket.once('connect', () => socket.write(request));
    socket.on('data', (chunk: string) => {
      text += chunk;
      if (completeLines(text).length >= count) finish(completeLines(text).slice(0, count));
    });
    socket.once('error', (error) => finish(new Error(`cannot reach the admin port ${host}:${port}: ${error.message}`)));
    socket.once('close', () => finish(completeLines(text)));
  });
}

function completeLines(text: string): string[] {
  return text.split('\n').slice(0, -1);
}
