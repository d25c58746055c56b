import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { HeaderBlock } from '../../src/protocol/client-commands.js';
import { encodeHMsg } from '../../src/protocol/client-encoder.js';
import { decodeHeaderBlock, encodeHeaderBlock } from '../../src/protocol/client-headers.js';

// The NATS/1.0 header block (ADR-4), encoded by the broker for HMSG and
// decoded from HPUB: the two must be inverses, and decoding must refuse what
// is not a header block without throwing.

const text = new TextEncoder();
const decodeText = new TextDecoder();

const valueArb = fc
  .string({ unit: 'grapheme', maxLength: 12 })
  .filter((value) => !/[\r\n]/.test(value) && value === value.replace(/^[ \t]+|[ \t]+$/g, ''));
const nameArb = fc.stringMatching(/^[!-9;-~]{1,10}$/);
const blockArb: fc.Arbitrary<HeaderBlock> = fc
  .record({
    status: fc.option(fc.record({ code: fc.integer({ min: 100, max: 999 }), description: valueArb }), { nil: undefined }),
    fields: fc.uniqueArray(fc.tuple(nameArb, fc.array(valueArb, { minLength: 1, maxLength: 3 })), {
      selector: ([name]) => name,
      maxLength: 5,
    }),
  })
  .map(({ status, fields }) => {
    const map = new Map(fields);
    return status === undefined
      ? { statusDescription: '', fields: map }
      : { statusCode: status.code, statusDescription: status.description, fields: map };
  });

function plain(block: HeaderBlock): unknown {
  return { ...block, fields: [...block.fields] };
}

/** Reads an HMSG frame back, as a client would: control line, then the counted header block and payload. */
function readHMsg(frame: Uint8Array): { args: string[]; header: Uint8Array; payload: Uint8Array; trailer: string } {
  const lineEnd = frame.indexOf(0x0a);
  const args = decodeText.decode(frame.subarray(0, lineEnd - 1)).split(' ');
  const headerSize = Number(args[args.length - 2]);
  const totalSize = Number(args[args.length - 1]);
  const body = frame.subarray(lineEnd + 1);
  return {
    args,
    header: body.subarray(0, headerSize),
    payload: body.subarray(headerSize, totalSize),
    trailer: decodeText.decode(body.subarray(totalSize)),
  };
}

describe('header block encoding', () => {
  it('decode(encode(block)) is the block, for any encodable block', () => {
    fc.assert(
      fc.property(blockArb, (block) => {
        const decoded = decodeHeaderBlock(encodeHeaderBlock(block));
        expect(decoded.ok && plain(decoded.block)).toEqual(plain(block));
      }),
      { numRuns: 500 },
    );
  });

  it('an HMSG carries the block so that a client reading it decodes the same block and payload', () => {
    fc.assert(
      fc.property(blockArb, fc.uint8Array({ maxLength: 40 }), fc.boolean(), (block, payload, withReply) => {
        const reply = withReply ? { replyTo: '_INBOX.r' } : {};
        const frame = encodeHMsg({ subject: 'a.b', sid: '7', ...reply, headers: block, payload });
        const read = readHMsg(frame);
        expect(read.args.slice(0, withReply ? 4 : 3)).toEqual(['HMSG', 'a.b', '7', ...(withReply ? ['_INBOX.r'] : [])]);
        const decoded = decodeHeaderBlock(read.header);
        expect(decoded.ok && plain(decoded.block)).toEqual(plain(block));
        expect(Array.from(read.payload)).toEqual(Array.from(payload));
        expect(read.trailer).toBe('\r\n');
      }),
      { numRuns: 300 },
    );
  });

  it('writes the documented forms', () => {
    const fields = new Map([['FoodGroup', ['vegetable']]]);
    expect(decodeText.decode(encodeHeaderBlock({ statusDescription: '', fields }))).toBe('NATS/1.0\r\nFoodGroup: vegetable\r\n\r\n');
    expect(decodeText.decode(encodeHeaderBlock({ statusCode: 503, statusDescription: '', fields: new Map() }))).toBe('NATS/1.0 503\r\n\r\n');
    const timeout = encodeHeaderBlock({ statusCode: 408, statusDescription: 'Request Timeout', fields: new Map([['A', ['1', '2']]]) });
    expect(decodeText.decode(timeout)).toBe('NATS/1.0 408 Request Timeout\r\nA: 1\r\nA: 2\r\n\r\n');
  });

  it('refuses to encode what could not be decoded (a programmer error)', () => {
    expect(() => encodeHeaderBlock({ statusDescription: '', fields: new Map([['bad name', ['x']]]) })).toThrow();
    expect(() => encodeHeaderBlock({ statusDescription: '', fields: new Map([['A:B', ['x']]]) })).toThrow();
    expect(() => encodeHeaderBlock({ statusDescription: '', fields: new Map([['A', ['x\r\nB: y']]]) })).toThrow();
    expect(() => encodeHeaderBlock({ statusCode: 42, statusDescription: '', fields: new Map() })).toThrow();
    expect(() => encodeHeaderBlock({ statusDescription: 'no code', fields: new Map() })).toThrow();
  });
});

describe('header block decoding', () => {
  it('reads an empty block as no headers', () => {
    const decoded = decodeHeaderBlock(new Uint8Array());
    expect(decoded.ok && plain(decoded.block)).toEqual({ statusDescription: '', fields: [] });
  });

  it('reads the status forms other clients write', () => {
    const cases: readonly (readonly [string, number | undefined, string])[] = [
      ['NATS/1.0\r\n\r\n', undefined, ''],
      ['NATS/1.0 503\r\n\r\n', 503, ''],
      ['NATS/1.0 404 No Messages\r\n\r\n', 404, 'No Messages'],
      ['NATS/1.0\t100\tIdle Heartbeat \r\n\r\n', 100, 'Idle Heartbeat'],
    ];
    for (const [block, code, description] of cases) {
      const decoded = decodeHeaderBlock(text.encode(block));
      expect(decoded.ok, block).toBe(true);
      if (decoded.ok) expect([decoded.block.statusCode, decoded.block.statusDescription]).toEqual([code, description]);
    }
  });

  it('refuses malformed blocks with a reason, never throwing', () => {
    const bad = [
      'NATS/1.0',
      'NATS/1.0\r\n',
      'NATS/1.1\r\n\r\n',
      'nats/1.0\r\n\r\n',
      'NATS/1.0 5030\r\n\r\n',
      'NATS/1.0 abc\r\n\r\n',
      'NATS/1.0\r\nA b\r\n\r\n',
      'NATS/1.0\r\n A: b\r\n\r\n',
      'NATS/1.0\r\nA: b\rc\r\n\r\n',
      'NATS/1.0\r\n\r\nA: b\r\n\r\n',
    ];
    for (const block of bad) {
      const decoded = decodeHeaderBlock(text.encode(block));
      expect(decoded.ok, JSON.stringify(block)).toBe(false);
    }
    expect(decodeHeaderBlock(Uint8Array.of(...text.encode('NATS/1.0\r\nA: '), 0xc3, 0x28, 13, 10, 13, 10)).ok).toBe(false);
  });

  it('decodes long runs of blanks in linear time (client bytes must not stall a node)', { timeout: 3000 }, () => {
    const blanks = ' \t'.repeat(32 * 1024);
    const status = decodeHeaderBlock(text.encode(`NATS/1.0 503 a${blanks}b\r\n\r\n`));
    expect(status.ok && status.block.statusDescription).toBe(`a${blanks}b`);
    const value = decodeHeaderBlock(text.encode(`NATS/1.0\r\nA: x${blanks}y\r\n\r\n`));
    expect(value.ok && value.block.fields.get('A')).toEqual([`x${blanks}y`]);
    expect(decodeHeaderBlock(text.encode(`NATS/1.0\r\nA:${blanks}\r\n\r\n`)).ok).toBe(true);
  });

  it('never throws on arbitrary bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 80 }), (bytes) => {
        const withPrefix = Uint8Array.of(...text.encode('NATS/1.0\r\n'), ...bytes);
        expect(() => decodeHeaderBlock(bytes)).not.toThrow();
        expect(() => decodeHeaderBlock(withPrefix)).not.toThrow();
      }),
      { numRuns: 300 },
    );
  });
});
