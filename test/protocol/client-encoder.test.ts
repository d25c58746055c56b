import { describe, expect, it } from 'vitest';
import { encodeClientCommand } from '../../src/protocol/client-command-encoder.js';
import {
  encodeErr,
  encodeHMsg,
  encodeInfo,
  encodeMsg,
  encodeOk,
  encodePing,
  encodePong,
} from '../../src/protocol/client-encoder.js';
import { ERROR_TEXT } from '../../src/protocol/client-errors.js';

// The server's side of the protocol, checked byte for byte against the
// examples of docs.nats.io "Client Protocol".

const text = new TextEncoder();
const asText = (bytes: Uint8Array): string => new TextDecoder().decode(bytes);

describe('server-side encoder', () => {
  it('writes MSG with and without a reply subject, and with an empty payload', () => {
    expect(asText(encodeMsg({ subject: 'FOO.BAR', sid: '9', payload: text.encode('Hello World') }))).toBe(
      'MSG FOO.BAR 9 11\r\nHello World\r\n',
    );
    expect(asText(encodeMsg({ subject: 'FOO.BAR', sid: '9', replyTo: 'INBOX.34', payload: text.encode('Hello World') }))).toBe(
      'MSG FOO.BAR 9 INBOX.34 11\r\nHello World\r\n',
    );
    expect(asText(encodeMsg({ subject: 'a', sid: '1', payload: new Uint8Array() }))).toBe('MSG a 1 0\r\n\r\n');
  });

  it('writes payload bytes unchanged, whatever they are', () => {
    const payload = Uint8Array.of(0, 13, 10, 255, 32);
    const frame = encodeMsg({ subject: 'a', sid: '1', payload });
    expect(Array.from(frame.subarray(frame.length - 7))).toEqual([0, 13, 10, 255, 32, 13, 10]);
  });

  it('writes HMSG from a header block or from the bytes a publisher sent', () => {
    const expected = 'HMSG FOO.BAR 9 INBOX.69 34 45\r\nNATS/1.0\r\nFoodGroup: vegetable\r\n\r\nHello World\r\n';
    const payload = text.encode('Hello World');
    const fields = new Map([['FoodGroup', ['vegetable']]]);
    const fromBlock = encodeHMsg({ subject: 'FOO.BAR', sid: '9', replyTo: 'INBOX.69', headers: { statusDescription: '', fields }, payload });
    expect(asText(fromBlock)).toBe(expected);
    const raw = text.encode('NATS/1.0\r\nFoodGroup: vegetable\r\n\r\n');
    expect(asText(encodeHMsg({ subject: 'FOO.BAR', sid: '9', replyTo: 'INBOX.69', headers: raw, payload }))).toBe(expected);
  });

  it('writes the no-responders status HMSG as nats-server does', () => {
    const frame = encodeHMsg({
      subject: '_INBOX.abc',
      sid: '3',
      headers: { statusCode: 503, statusDescription: '', fields: new Map() },
      payload: new Uint8Array(),
    });
    expect(asText(frame)).toBe('HMSG _INBOX.abc 3 16 16\r\nNATS/1.0 503\r\n\r\n\r\n');
  });

  it('writes INFO, PING, PONG, +OK and -ERR', () => {
    expect(asText(encodeInfo({ server_id: 'x', max_payload: 1048576, headers: true }))).toBe(
      'INFO {"server_id":"x","max_payload":1048576,"headers":true}\r\n',
    );
    expect(asText(encodeInfo({ note: 'a\nb' }))).toBe('INFO {"note":"a\\nb"}\r\n');
    expect(asText(encodePing())).toBe('PING\r\n');
    expect(asText(encodePong())).toBe('PONG\r\n');
    expect(asText(encodeOk())).toBe('+OK\r\n');
    expect(asText(encodeErr(ERROR_TEXT.unknownOperation))).toBe("-ERR 'Unknown Protocol Operation'\r\n");
    expect(asText(encodeErr('Permissions Violation for Publish to "a.b"'))).toBe(
      `-ERR 'Permissions Violation for Publish to "a.b"'\r\n`,
    );
  });

  it('refuses arguments that would break the framing (a programmer error)', () => {
    const payload = new Uint8Array();
    expect(() => encodeMsg({ subject: 'a b', sid: '1', payload })).toThrow();
    expect(() => encodeMsg({ subject: 'a', sid: '1\r\n', payload })).toThrow();
    expect(() => encodeMsg({ subject: '', sid: '1', payload })).toThrow();
    expect(() => encodeMsg({ subject: 'a', sid: '1', replyTo: 'r\tx', payload })).toThrow();
    expect(() => encodeErr('two\r\nlines')).toThrow();
  });
});

describe('client-side command encoder', () => {
  it('writes commands as the official clients do', () => {
    const cases: readonly (readonly [Parameters<typeof encodeClientCommand>[0], string])[] = [
      [{ type: 'Connect', options: { verbose: false, pedantic: false, lang: 'go', noResponders: true } }, 'CONNECT {"verbose":false,"pedantic":false,"no_responders":true,"lang":"go"}\r\n'],
      [{ type: 'Pub', subject: 'FOO', payload: text.encode('Hello NATS!') }, 'PUB FOO 11\r\nHello NATS!\r\n'],
      [{ type: 'Pub', subject: 'FRONT.DOOR', replyTo: 'INBOX.22', payload: text.encode('Knock Knock') }, 'PUB FRONT.DOOR INBOX.22 11\r\nKnock Knock\r\n'],
      [
        {
          type: 'HPub',
          subject: 'FOO',
          headerBytes: text.encode('NATS/1.0\r\nBar: Baz\r\n\r\n'),
          headers: { statusDescription: '', fields: new Map([['Bar', ['Baz']]]) },
          payload: text.encode('Hello NATS!'),
        },
        'HPUB FOO 22 33\r\nNATS/1.0\r\nBar: Baz\r\n\r\nHello NATS!\r\n',
      ],
      [{ type: 'Sub', subject: 'BAR', queue: 'G1', sid: '44' }, 'SUB BAR G1 44\r\n'],
      [{ type: 'Unsub', sid: '1', max: 5 }, 'UNSUB 1 5\r\n'],
      [{ type: 'Ping' }, 'PING\r\n'],
      [{ type: 'Pong' }, 'PONG\r\n'],
    ];
    for (const [command, wire] of cases) expect(asText(encodeClientCommand(command))).toBe(wire);
  });
});
