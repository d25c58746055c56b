// The client's side of the protocol as bytes: a ClientCommand written the way
// the official clients write it (upper-case verbs, single spaces, CRLF). The
// inverse of ClientParser for well-formed commands, used by tests and by
// anything in chorus that plays a client.

import { unreachable } from '../raft/assert.js';
import type { ClientCommand, SubscriptionStart } from './client-commands.js';
import { connectOptionsToJson } from './client-connect.js';
import { argument, encodeFrame } from './client-encoder.js';

export function encodeClientCommand(command: ClientCommand): Uint8Array {
  switch (command.type) {
    case 'Connect':
      return encodeFrame(`CONNECT ${connectOptionsToJson(command.options)}`, undefined);
    case 'Pub': {
      const line = ['PUB', ...publishAddress(command.subject, command.replyTo), String(command.payload.length)];
      return encodeFrame(line.join(' '), [command.payload]);
    }
    case 'HPub': {
      const total = command.headerBytes.length + command.payload.length;
      const sizes = [String(command.headerBytes.length), String(total)];
      const line = ['HPUB', ...publishAddress(command.subject, command.replyTo), ...sizes];
      return encodeFrame(line.join(' '), [command.headerBytes, command.payload]);
    }
    case 'Sub': {
      const queue = command.queue === undefined ? [] : [argument('queue group', command.queue)];
      const line = ['SUB', argument('subject', command.subject), ...queue, argument('sid', command.sid)];
      return encodeFrame(line.join(' '), undefined);
    }
    case 'Unsub': {
      const max = command.max === undefined ? [] : [String(command.max)];
      return encodeFrame(['UNSUB', argument('sid', command.sid), ...max].join(' '), undefined);
    }
    case 'Ping':
      return encodeFrame('PING', undefined);
    case 'Pong':
      return encodeFrame('PONG', undefined);
    case 'XSub': {
      const line = ['XSUB', argument('subject', command.subject), argument('sid', command.sid), ...startWords(command.start), ...(command.ordered ? ['ORDERED', ...(command.reorderBoundMs === undefined ? [] : [String(command.reorderBoundMs)])] : [])];
      return encodeFrame(line.join(' '), undefined);
    }
    case 'Ack': {
      const line = ['ACK', argument('consumer', command.consumer), argument('topic', command.topic), String(command.offset)];
      return encodeFrame(line.join(' '), undefined);
    }
    case 'Status':
      return encodeFrame('STATUS', undefined);
    case 'History': {
      const from = command.from.kind === 'offset' ? String(command.from.offset) : `@${command.from.timeMs}`;
      const line = ['HISTORY', argument('topic', command.topic), from, String(command.limit)];
      return encodeFrame(line.join(' '), undefined);
    }
    default:
      return unreachable(command);
  }
}

function publishAddress(subject: string, replyTo: string | undefined): string[] {
  const address = [argument('subject', subject)];
  if (replyTo !== undefined) address.push(argument('reply subject', replyTo));
  return address;
}

function startWords(start: SubscriptionStart): string[] {
  switch (start.kind) {
    case 'first':
      return ['FIRST'];
    case 'offset':
      return ['FROM', String(start.offset)];
    case 'durable':
      return ['DURABLE', argument('consumer', start.consumer)];
    default:
      return unreachable(start);
  }
}
