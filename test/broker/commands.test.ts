import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  decodeBrokerCommand,
  encodeBrokerCommand,
  publishEncodedBytesMax,
  type BrokerCommand,
  type PublishCommand,
} from '../../src/broker/commands.js';
import { DEFAULT_BROKER_OPTIONS, type BrokerOptions } from '../../src/broker/options.js';
import { headerBlockBytes, publishProblem } from '../../src/broker/validation.js';
import { InvariantError } from '../../src/raft/assert.js';
import { DEFAULT_RAFT_OPTIONS } from '../../src/raft/config.js';
import { anyCommand, bytesOf, publish } from './arbitraries.js';

function hex(bytes: Uint8Array): string {
  return [...bytes].map((byte) => byte.toString(16).padStart(2, '0')).join(' ');
}

function fromHex(text: string): Uint8Array {
  return new Uint8Array(text.split(/\s+/).filter((part) => part.length > 0).map((part) => Number.parseInt(part, 16)));
}

function decodeError(bytes: Uint8Array): string {
  const result = decodeBrokerCommand(bytes);
  if (result.ok) throw new Error(`expected a decode error, got ${JSON.stringify(result.command)}`);
  return result.error;
}

/** Headers compare by their entries in order: the encoding keeps first-appearance order. */
function comparable(command: BrokerCommand): unknown {
  return command.type === 'Publish' ? { ...command, headers: [...command.headers] } : command;
}

describe('broker command encoding: the documented layout', () => {
  it('lays out a Publish byte for byte as commands.ts describes', () => {
    const command = publish({
      topic: 'a.b',
      headers: new Map([['K', ['v', 'w']]]),
      payload: bytesOf('hi'),
      msgId: 'm',
      timestampMs: 2 ** 32 + 5,
      requestId: 7,
    });
    expect(hex(encodeBrokerCommand(command))).toBe(
      [
        '01', // type Publish
        '03', // flags: msgId and requestId present
        '00 00 00 01 00 00 00 05', // timestampMs, high word first
        '00 03 61 2e 62', // topic "a.b"
        '00 01 6d', // msgId "m"
        '00 00 00 00 00 00 00 07', // requestId
        '00 00 00 01', // one header field
        '00 00 00 01 4b', // name "K"
        '00 00 00 02', // two values
        '00 00 00 01 76', // "v"
        '00 00 00 01 77', // "w"
        '00 00 00 02 68 69', // payload "hi"
      ].join(' '),
    );
  });

  it('lays out ConsumerAck and DedupExpire', () => {
    expect(hex(encodeBrokerCommand({ type: 'ConsumerAck', consumer: 'c', topic: 't', offset: 9 }))).toBe(
      '02 00 01 63 00 01 74 00 00 00 00 00 00 00 09',
    );
    expect(hex(encodeBrokerCommand({ type: 'DedupExpire', nowMs: 256 }))).toBe('03 00 00 00 00 00 00 01 00');
  });

  it('omits absent optional fields rather than marking them', () => {
    const bytes = encodeBrokerCommand(publish({ topic: 't', payload: new Uint8Array(0), timestampMs: 0 }));
    expect(hex(bytes)).toBe('01 00 00 00 00 00 00 00 00 00 00 01 74 00 00 00 00 00 00 00 00');
  });
});

describe('broker command encoding: round trips', () => {
  it('decodes what it encodes, and re-encodes it to the same bytes', () => {
    fc.assert(
      fc.property(anyCommand, (command) => {
        const bytes = encodeBrokerCommand(command);
        const decoded = decodeBrokerCommand(bytes);
        expect(decoded.ok).toBe(true);
        if (!decoded.ok) return;
        expect(comparable(decoded.command)).toEqual(comparable(command));
        expect(encodeBrokerCommand(decoded.command)).toEqual(bytes);
      }),
      { numRuns: 300 },
    );
  });

  it('keeps a leading byte-order mark, so strings have one encoding', () => {
    const command = publish({ topic: '\uFEFFt', msgId: '\uFEFF' });
    const decoded = decodeBrokerCommand(encodeBrokerCommand(command));
    expect(decoded.ok && decoded.command.type === 'Publish' && decoded.command.topic).toBe('\uFEFFt');
  });

  it('copies the payload out of the input bytes', () => {
    const bytes = encodeBrokerCommand(publish({ topic: 't', payload: bytesOf('abc') }));
    const decoded = decodeBrokerCommand(bytes);
    bytes.fill(0);
    expect(decoded.ok && decoded.command.type === 'Publish' && [...decoded.command.payload]).toEqual([...bytesOf('abc')]);
  });
});

describe('broker command decoding never throws', () => {
  it('on random bytes: an error value, or a command that re-encodes to exactly those bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 120 }), (bytes) => {
        const result = decodeBrokerCommand(bytes);
        if (result.ok) expect(encodeBrokerCommand(result.command)).toEqual(bytes);
        else expect(result.error.length).toBeGreaterThan(0);
      }),
      { numRuns: 2_000 },
    );
  });

  it('on random bytes behind a valid type byte', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 3 }), fc.uint8Array({ maxLength: 80 }), (type, body) => {
        const bytes = new Uint8Array([type, ...body]);
        const result = decodeBrokerCommand(bytes);
        if (result.ok) expect(encodeBrokerCommand(result.command)).toEqual(bytes);
      }),
      { numRuns: 2_000 },
    );
  });

  it('on valid encodings with bytes changed, cut or appended', () => {
    const mutation = fc.oneof(
      fc.record({ kind: fc.constant('set' as const), at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }),
      fc.record({ kind: fc.constant('cut' as const), at: fc.nat() }),
      fc.record({ kind: fc.constant('append' as const), value: fc.integer({ min: 0, max: 255 }) }),
    );
    fc.assert(
      fc.property(anyCommand, fc.array(mutation, { minLength: 1, maxLength: 3 }), (command, mutations) => {
        let bytes = encodeBrokerCommand(command);
        for (const change of mutations) {
          if (change.kind === 'append') bytes = new Uint8Array([...bytes, change.value]);
          else if (bytes.length === 0) continue;
          else if (change.kind === 'cut') bytes = bytes.slice(0, change.at % bytes.length);
          else bytes[change.at % bytes.length] = change.value;
        }
        const result = decodeBrokerCommand(bytes);
        if (result.ok) expect(encodeBrokerCommand(result.command)).toEqual(bytes);
      }),
      { numRuns: 1_000 },
    );
  });
});

describe('broker command decoding: errors name the problem and the byte', () => {
  it('empty input and an unknown type', () => {
    expect(decodeError(new Uint8Array(0))).toBe('truncated: type at byte 0 needs 1 bytes, 0 remain');
    expect(decodeError(fromHex('00'))).toBe('unknown command type byte 0x0 at byte 0');
    expect(decodeError(fromHex('08'))).toBe('unknown command type byte 0x8 at byte 0');
    expect(decodeError(fromHex('04'))).toBe('StreamCreate: truncated: config length at byte 1 needs 4 bytes, 0 remain');
  });

  it('truncation and trailing bytes', () => {
    expect(decodeError(fromHex('03 00 00 00'))).toBe('DedupExpire: truncated: nowMs at byte 1 needs 8 bytes, 3 remain');
    expect(decodeError(fromHex('03 00 00 00 00 00 00 00 01 ff'))).toBe('DedupExpire: 1 trailing bytes at byte 9');
  });

  it('a u64 above 2^53-1', () => {
    expect(decodeError(fromHex('03 00 20 00 00 00 00 00 00'))).toBe(
      'DedupExpire: nowMs at byte 1 exceeds 2^53-1 (high word 0x200000)',
    );
  });

  it('invalid UTF-8 in a string', () => {
    expect(decodeError(fromHex('02 00 01 ff 00 01 74 00 00 00 00 00 00 00 01'))).toBe(
      'ConsumerAck: consumer at byte 3 is not valid UTF-8',
    );
  });

  it('unknown Publish flags', () => {
    expect(decodeError(fromHex('01 08 00 00 00 00 00 00 00 00 00 01 74 00 00 00 00 00 00 00 00'))).toBe(
      'Publish: flags at byte 1 has unknown bits 0x8',
    );
  });

  it('a header field count the remaining bytes cannot hold', () => {
    expect(decodeError(fromHex('01 00 00 00 00 00 00 00 00 00 00 01 74 ff ff ff ff 00 00 00 00'))).toBe(
      'Publish: header field count 4294967295 at byte 13 needs more than the 4 bytes left',
    );
  });

  it('a repeated header name and a field without values', () => {
    const field = '00 00 00 01 4b 00 00 00 01 00 00 00 00';
    const prefix = '01 00 00 00 00 00 00 00 00 00 00 01 74';
    expect(decodeError(fromHex(`${prefix} 00 00 00 02 ${field} ${field} 00 00 00 00`))).toBe(
      'Publish: headers[1].name at byte 30 repeats "K"',
    );
    expect(decodeError(fromHex(`${prefix} 00 00 00 01 00 00 00 01 4b 00 00 00 00 00 00 00 00 00 00 00 00`))).toBe(
      'Publish: headers[0].value count at byte 22 is 0, a field has at least one value',
    );
  });
});

describe('broker command encoding: programmer errors throw', () => {
  it('refuses what it cannot represent', () => {
    expect(() => encodeBrokerCommand({ type: 'DedupExpire', nowMs: -1 })).toThrow(InvariantError);
    expect(() => encodeBrokerCommand({ type: 'DedupExpire', nowMs: 2 ** 53 })).toThrow(InvariantError);
    expect(() => encodeBrokerCommand(publish({ topic: 'x'.repeat(70_000) }))).toThrow(InvariantError);
    expect(() => encodeBrokerCommand(publish({ topic: 'a\uD800' }))).toThrow(InvariantError);
    expect(() => encodeBrokerCommand(publish({ topic: 't', headers: new Map([['K', []]]) }))).toThrow(InvariantError);
  });
});

describe('publishEncodedBytesMax', () => {
  it('fits the default limits inside the Raft core default commandBytesMax', () => {
    expect(publishEncodedBytesMax(DEFAULT_BROKER_OPTIONS)).toBeLessThanOrEqual(DEFAULT_RAFT_OPTIONS.commandBytesMax);
  });

  it('bounds the worst case of many tiny header fields', () => {
    const options: BrokerOptions = { ...DEFAULT_BROKER_OPTIONS, headerBytesMax: 1_000, payloadBytesMax: 10 };
    // Fields with one empty value cost the most encoding per byte of header block: the shortest
    // names first (93 printable ASCII characters without ':', 5 block bytes each), then 2-character ones.
    const oneChar = Array.from({ length: 0x7e - 0x21 + 1 }, (_, i) => String.fromCharCode(0x21 + i)).filter((c) => c !== ':');
    const twoChar = oneChar.flatMap((first) => oneChar.map((second) => first + second));
    const budget = 1_000 - 12 - oneChar.length * 5;
    const names = [...oneChar, ...twoChar.slice(0, Math.floor(budget / 6))];
    const headers = new Map(names.map((name) => [name, ['']] as const));
    const command: PublishCommand = publish({
      topic: 'x'.repeat(options.topicNameBytesMax),
      msgId: 'm'.repeat(options.msgIdBytesMax),
      requestId: 1,
      headers,
      payload: new Uint8Array(10),
    });
    expect(publishProblem(command, options)).toBeUndefined();
    expect(headerBlockBytes(headers)).toBeGreaterThan(1_000 - 6);
    expect(encodeBrokerCommand(command).length).toBeLessThanOrEqual(publishEncodedBytesMax(options));
  });

  it('bounds every valid publish (property)', () => {
    const options: BrokerOptions = { ...DEFAULT_BROKER_OPTIONS, headerBytesMax: 200, payloadBytesMax: 50, topicNameBytesMax: 20, msgIdBytesMax: 10 };
    const name = fc.stringMatching(/^[A-Za-z!-]{1,6}$/);
    const headers = fc
      .uniqueArray(fc.tuple(name, fc.array(fc.string({ maxLength: 8 }), { minLength: 1, maxLength: 6 })), { maxLength: 12, selector: ([n]) => n })
      .map((fields) => new Map(fields));
    fc.assert(
      fc.property(headers, fc.uint8Array({ maxLength: 50 }), fc.string({ minLength: 1, maxLength: 10 }), (fields, payload, msgId) => {
        const command = publish({ topic: 'a.b', headers: fields, payload, msgId, requestId: 3 });
        if (publishProblem(command, options) !== undefined) return;
        expect(encodeBrokerCommand(command).length).toBeLessThanOrEqual(publishEncodedBytesMax(options));
      }),
    );
  });
});
