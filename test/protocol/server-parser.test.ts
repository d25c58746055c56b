import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { encodeErr, encodeHMsg, encodeInfo, encodeMsg, encodeOk, encodePing, encodePong } from '../../src/protocol/client-encoder.js';
import { ServerParser, type ServerFrame } from '../../src/protocol/server-parser.js';
import { encodeEntry, encodeHistoryHead, encodeStatus } from '../../src/node/replies.js';
import { concat } from '../support/bytes.js';

// The client's reader of server frames: every frame the broker writes reads
// back the same, whole or split anywhere, and arbitrary bytes never throw.

const text = new TextEncoder();

const frames: Uint8Array[] = [
  encodeInfo({ server_id: 'chorus-1', proto: 1, headers: true, max_payload: 1024 }),
  encodeMsg({ subject: 'orders', sid: '1', payload: text.encode('hello') }),
  encodeMsg({ subject: 'orders', sid: '2', replyTo: '$CHORUS.MSG.1.5.orders', payload: new Uint8Array(0) }),
  encodeHMsg({ subject: 'a.b', sid: '9', headers: { statusDescription: '', fields: new Map([['Nats-Msg-Id', ['x']]]) }, payload: text.encode('\r\nbody\r\n') }),
  encodePing(),
  encodePong(),
  encodeOk(),
  encodeErr('Unknown Protocol Operation'),
  encodeStatus({ node: 1, role: 'leader' }),
  encodeHistoryHead('orders', 1, 7),
  encodeEntry({ stream: 'ORDERS', topic: 'orders', offset: 7, timestampMs: 123, logical: 0, headers: new Map(), payload: text.encode('seven'), bytes: 11 }),
];


function parseInChunks(bytes: Uint8Array, cuts: readonly number[]): ServerFrame[] {
  const parser = new ServerParser();
  const points = [...new Set(cuts.map((cut) => cut % (bytes.length + 1)))].sort((a, b) => a - b);
  const out: ServerFrame[] = [];
  let start = 0;
  for (const point of [...points, bytes.length]) {
    out.push(...parser.feed(bytes.subarray(start, point)));
    start = point;
  }
  return out;
}

const plain = (frames: readonly ServerFrame[]): unknown => JSON.parse(JSON.stringify(frames, (_key, value: unknown) => (value instanceof Uint8Array ? [...value] : value instanceof Map ? [...value] : value)));

describe('ServerParser', () => {
  it('reads every frame the broker writes', () => {
    const parsed = new ServerParser().feed(concat(frames));
    expect(parsed.map((frame) => frame.type)).toEqual(['Info', 'Msg', 'Msg', 'Msg', 'Ping', 'Pong', 'Ok', 'Err', 'Status', 'HistoryHead', 'Entry']);
    expect(parsed[3]).toMatchObject({ type: 'Msg', subject: 'a.b', sid: '9' });
    expect(new TextDecoder().decode((parsed[3] as { payload: Uint8Array }).payload)).toBe('\r\nbody\r\n');
    expect(parsed[7]).toEqual({ type: 'Err', message: 'Unknown Protocol Operation' });
    expect(parsed[10]).toMatchObject({ type: 'Entry', topic: 'orders', offset: 7, timestampMs: 123 });
  });

  it('reads the same frames from any split of the stream', () => {
    const whole = concat(frames);
    const expected = plain(new ServerParser().feed(whole));
    fc.assert(
      fc.property(fc.array(fc.nat(), { maxLength: 20 }), (cuts) => {
        expect(plain(parseInChunks(whole, cuts))).toEqual(expected);
      }),
    );
    const oneByOne = new ServerParser();
    expect(plain([...whole].flatMap((byte) => oneByOne.feed(Uint8Array.of(byte))))).toEqual(expected);
  });

  it('never throws on arbitrary bytes, and stops at the first broken frame', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        const out = new ServerParser().feed(bytes);
        const broken = out.findIndex((frame) => frame.type === 'Broken');
        expect(broken === -1 || broken === out.length - 1).toBe(true);
      }),
    );
    expect(new ServerParser().feed(text.encode('MSG a 1 5\r\nhelloXX'))).toEqual([
      expect.objectContaining({ type: 'Msg' }),
      { type: 'Broken', reason: 'a body not followed by CRLF' },
    ]);
  });
});
