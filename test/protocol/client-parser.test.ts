import { describe, expect, it } from 'vitest';
import type { ClientParseOutput } from '../../src/protocol/client-commands.js';
import { ERROR_TEXT } from '../../src/protocol/client-errors.js';
import { CLIENT_PARSER_DEFAULTS, ClientParser, type ClientParserOptions } from '../../src/protocol/client-parser.js';

// Unit tests of the client protocol parser against the examples and rules of
// docs.nats.io "Client Protocol" and the behaviour of nats-server's
// server/parser.go and server/client.go (see the notes in client-parser.ts).

const text = new TextEncoder();
const bytes = (s: string): Uint8Array => text.encode(s);

function parse(input: string | Uint8Array, options?: ClientParserOptions): ClientParseOutput[] {
  return new ClientParser(options).feed(typeof input === 'string' ? bytes(input) : input);
}

function only(input: string, options?: ClientParserOptions): ClientParseOutput {
  const outputs = parse(input, options);
  expect(outputs).toHaveLength(1);
  return outputs[0] as ClientParseOutput;
}

function errorOf(input: string | Uint8Array, options?: ClientParserOptions): { message: string; close: boolean } {
  const outputs = parse(input, options);
  const last = outputs[outputs.length - 1];
  if (last === undefined || last.type !== 'ProtocolError') throw new Error(`no error for ${JSON.stringify(input)}`);
  return { message: last.message, close: last.closeConnection };
}

describe('ClientParser: the documented commands', () => {
  it('parses PUB with and without a reply subject, and an empty payload', () => {
    expect(only('PUB FOO 11\r\nHello NATS!\r\n')).toEqual({ type: 'Pub', subject: 'FOO', payload: bytes('Hello NATS!') });
    expect(only('PUB FRONT.DOOR INBOX.22 11\r\nKnock Knock\r\n')).toEqual({
      type: 'Pub',
      subject: 'FRONT.DOOR',
      replyTo: 'INBOX.22',
      payload: bytes('Knock Knock'),
    });
    expect(only('PUB NOTIFY 0\r\n\r\n')).toEqual({ type: 'Pub', subject: 'NOTIFY', payload: new Uint8Array() });
  });

  it('reads the payload by its count, so CRLF inside a payload is data', () => {
    expect(only('PUB a 6\r\nx\r\ny\r\n\r\n')).toEqual({ type: 'Pub', subject: 'a', payload: bytes('x\r\ny\r\n') });
  });

  it('parses HPUB: header block, multi-valued fields, reply subject, empty payload', () => {
    const one = only('HPUB FOO 22 33\r\nNATS/1.0\r\nBar: Baz\r\n\r\nHello NATS!\r\n');
    expect(one).toEqual({
      type: 'HPub',
      subject: 'FOO',
      headerBytes: bytes('NATS/1.0\r\nBar: Baz\r\n\r\n'),
      headers: { statusDescription: '', fields: new Map([['Bar', ['Baz']]]) },
      payload: bytes('Hello NATS!'),
    });
    const two = only('HPUB FRONT.DOOR INBOX.22 45 56\r\nNATS/1.0\r\nBREAKFAST: donut\r\nLUNCH: burger\r\n\r\nKnock Knock\r\n');
    expect(two).toMatchObject({ type: 'HPub', replyTo: 'INBOX.22', payload: bytes('Knock Knock') });
    expect(two.type === 'HPub' && [...two.headers.fields]).toEqual([
      ['BREAKFAST', ['donut']],
      ['LUNCH', ['burger']],
    ]);
    const empty = only('HPUB NOTIFY 22 22\r\nNATS/1.0\r\nBar: Baz\r\n\r\n\r\n');
    expect(empty).toMatchObject({ type: 'HPub', subject: 'NOTIFY', payload: new Uint8Array() });
    const menu = only('HPUB MORNING.MENU 47 51\r\nNATS/1.0\r\nBREAKFAST: donut\r\nBREAKFAST: eggs\r\n\r\nYum!\r\n');
    expect(menu.type === 'HPub' && menu.headers.fields.get('BREAKFAST')).toEqual(['donut', 'eggs']);
  });

  it('accepts an HPUB with a header length of 0 (what nats.js sends for empty headers)', () => {
    expect(only('HPUB foo 0 5\r\nhello\r\n')).toEqual({
      type: 'HPub',
      subject: 'foo',
      headerBytes: new Uint8Array(),
      headers: { statusDescription: '', fields: new Map() },
      payload: bytes('hello'),
    });
    expect(only('HPUB foo 0 0\r\n\r\n')).toMatchObject({ type: 'HPub', payload: new Uint8Array() });
  });

  it('reads a status on the version line', () => {
    const status = only('HPUB foo 16 16\r\nNATS/1.0 503\r\n\r\n\r\n');
    expect(status.type === 'HPub' && status.headers).toEqual({ statusCode: 503, statusDescription: '', fields: new Map() });
    const block = 'NATS/1.0 408 Request Timeout\r\nNats-Pending-Messages: 1\r\n\r\n';
    const timeout = only(`HPUB foo ${block.length} ${block.length}\r\n${block}\r\n`);
    expect(timeout.type === 'HPub' && timeout.headers).toEqual({
      statusCode: 408,
      statusDescription: 'Request Timeout',
      fields: new Map([['Nats-Pending-Messages', ['1']]]),
    });
  });

  it('parses SUB, queue SUB, UNSUB, auto-UNSUB, PING and PONG', () => {
    expect(parse('SUB FOO 1\r\nSUB BAR G1 44\r\nUNSUB 1\r\nUNSUB 1 5\r\nPING\r\nPONG\r\n')).toEqual([
      { type: 'Sub', subject: 'FOO', sid: '1' },
      { type: 'Sub', subject: 'BAR', queue: 'G1', sid: '44' },
      { type: 'Unsub', sid: '1' },
      { type: 'Unsub', sid: '1', max: 5 },
      { type: 'Ping' },
      { type: 'Pong' },
    ]);
  });

  it('parses the Go client CONNECT into typed options, ignoring unknown fields', () => {
    const line = 'CONNECT {"verbose":false,"pedantic":false,"tls_required":false,"name":"","lang":"go","version":"1.2.2","protocol":1,"future":7}\r\n';
    expect(only(line)).toEqual({
      type: 'Connect',
      options: { verbose: false, pedantic: false, tlsRequired: false, name: '', lang: 'go', version: '1.2.2', protocol: 1 },
    });
  });

  it('parses the CONNECT the nats.js client sends, and JSON null as unset', () => {
    const line =
      'CONNECT {"protocol":1,"version":"2.29.3","lang":"nats.js","verbose":false,"pedantic":false,"headers":true,"no_responders":true,"echo":null}\r\n';
    expect(only(line)).toEqual({
      type: 'Connect',
      options: { protocol: 1, version: '2.29.3', lang: 'nats.js', verbose: false, pedantic: false, headers: true, noResponders: true },
    });
  });
});

describe('ClientParser: tolerance, as nats-server tolerates', () => {
  it('takes verbs in any letter case', () => {
    expect(parse('pub a 1\r\nx\r\nHpUb a 0 0\r\n\r\nsUb a 1\r\nunsub 1\r\nping\r\nPoNg\r\nconnect {}\r\n').map((o) => o.type)).toEqual([
      'Pub',
      'HPub',
      'Sub',
      'Unsub',
      'Ping',
      'Pong',
      'Connect',
    ]);
  });

  it('takes runs of spaces and tabs as one separator, and ignores them at the line end', () => {
    expect(parse('SUB\t  foo \t q\t7 \t\r\nPUB  foo\t\tbar   2  \r\nhi\r\nPING \t\r\n')).toEqual([
      { type: 'Sub', subject: 'foo', queue: 'q', sid: '7' },
      { type: 'Pub', subject: 'foo', replyTo: 'bar', payload: bytes('hi') },
      { type: 'Ping' },
    ]);
  });

  it('ends a control line at a bare LF, as nats-server does (so `nc` without -C works)', () => {
    expect(parse('SUB foo 1\nPUB foo 2\nhi\r\nPING\n')).toEqual([
      { type: 'Sub', subject: 'foo', sid: '1' },
      { type: 'Pub', subject: 'foo', payload: bytes('hi') },
      { type: 'Ping' },
    ]);
  });

  it('takes CONNECT JSON directly after the verb, and JSON with spaces inside', () => {
    expect(only('CONNECT{"name":"a b"}\r\n')).toEqual({ type: 'Connect', options: { name: 'a b' } });
    expect(only('CONNECT \t {"name" : "x"}  \r\n')).toEqual({ type: 'Connect', options: { name: 'x' } });
  });

  it('keeps the case of header names and trims spaces around values', () => {
    const block = 'NATS/1.0\r\nx-MiXeD:  v  \r\nEmpty:\r\n\r\n';
    const out = only(`HPUB s ${block.length} ${block.length}\r\n${block}\r\n`);
    expect(out.type === 'HPub' && [...out.headers.fields]).toEqual([
      ['x-MiXeD', ['v']],
      ['Empty', ['']],
    ]);
  });

  it('reads UNSUB max 0 as a count (the broker treats it as unsubscribe now, as nats-server does)', () => {
    expect(only('UNSUB 9 0\r\n')).toEqual({ type: 'Unsub', sid: '9', max: 0 });
  });
});

describe('ClientParser: malformed input and the connection decision', () => {
  const closing: readonly (readonly [string, string])[] = [
    ['FOO bar\r\n', ERROR_TEXT.unknownOperation],
    ['\r\n', ERROR_TEXT.unknownOperation],
    ['\n', ERROR_TEXT.unknownOperation],
    [' PING\r\n', ERROR_TEXT.unknownOperation],
    ['PUBX foo 1\r\n', ERROR_TEXT.unknownOperation],
    ['PUB\r\n', ERROR_TEXT.parserError],
    ['PU B foo 1\r\n', ERROR_TEXT.unknownOperation],
    ['PING foo\r\n', ERROR_TEXT.unknownOperation],
    ['PINGPONG\r\n', ERROR_TEXT.unknownOperation],
    ['PIN\r\n', ERROR_TEXT.unknownOperation],
    ['INFO {}\r\n', ERROR_TEXT.unknownOperation],
    ['MSG foo 1 0\r\n\r\n', ERROR_TEXT.unknownOperation],
    ['HMSG foo 1 0 0\r\n\r\n', ERROR_TEXT.unknownOperation],
    ['+OK\r\n', ERROR_TEXT.unknownOperation],
    ["-ERR 'x'\r\n", ERROR_TEXT.unknownOperation],
    ['GET / HTTP/1.1\r\n', ERROR_TEXT.unknownOperation],
    ['PUB foo 3\r\nabcX\r\n', ERROR_TEXT.unknownOperation],
    ['PUB foo 3\r\nabc\n', ERROR_TEXT.unknownOperation],
    ['PUB foo 3\r\nabc\r\r', ERROR_TEXT.unknownOperation],
    ['PUB foo\r\n', ERROR_TEXT.parserError],
    ['PUB foo bar baz 3\r\n', ERROR_TEXT.parserError],
    ['PUB foo x\r\n', ERROR_TEXT.parserError],
    ['PUB foo -1\r\n', ERROR_TEXT.parserError],
    ['PUB foo 1.5\r\n', ERROR_TEXT.parserError],
    ['HPUB foo 5\r\n', ERROR_TEXT.parserError],
    ['HPUB foo a b c d e\r\n', ERROR_TEXT.parserError],
    ['HPUB foo 10 5\r\n', ERROR_TEXT.parserError],
    ['HPUB foo x 5\r\n', ERROR_TEXT.parserError],
    ['SUB foo\r\n', ERROR_TEXT.parserError],
    ['SUB a b c d\r\n', ERROR_TEXT.parserError],
    ['UNSUB\r\n', ERROR_TEXT.parserError],
    ['UNSUB 1 2 3\r\n', ERROR_TEXT.parserError],
    ['UNSUB 1 x\r\n', ERROR_TEXT.parserError],
    ['UNSUB 1 99999999999999999999\r\n', ERROR_TEXT.parserError],
    ['CONNECT\r\n', ERROR_TEXT.parserError],
    ['CONNECT {bad\r\n', ERROR_TEXT.parserError],
    ['CONNECT []\r\n', ERROR_TEXT.parserError],
    ['CONNECT null\r\n', ERROR_TEXT.parserError],
    ['CONNECT {"verbose":"yes"}\r\n', ERROR_TEXT.parserError],
    ['CONNECT {"protocol":1.5}\r\n', ERROR_TEXT.parserError],
    ['CONNECTX\r\n', ERROR_TEXT.parserError],
    ['PUB foo 1048577\r\n', ERROR_TEXT.maxPayload],
    ['PUB foo 99999999999999999999999\r\n', ERROR_TEXT.maxPayload],
    ['HPUB foo 12 1048577\r\n', ERROR_TEXT.maxPayload],
  ];

  it.each(closing)('%j -> %s, closing the connection', (input, message) => {
    expect(errorOf(input)).toEqual({ message, close: true });
  });

  it('refuses a SUB subject that breaks the subject rules, without closing', () => {
    for (const subject of ['foo..bar', '.foo', 'foo.', 'foo.>.bar', 'foo*.bar', 'f>o', 'a.b>', '>.a']) {
      expect(parse(`SUB ${subject} 1\r\nPING\r\n`), subject).toEqual([
        expect.objectContaining({ type: 'ProtocolError', message: ERROR_TEXT.invalidSubject, closeConnection: false }),
        { type: 'Ping' },
      ]);
    }
    for (const subject of ['>', '*', 'foo.*', 'foo.>', '*.*.bar', 'a.*.>', '_INBOX.x', 'sübjekt.ü']) {
      expect(only(`SUB ${subject} 1\r\n`), subject).toEqual({ type: 'Sub', subject, sid: '1' });
    }
  });

  it('refuses a wildcard publish subject or reply subject, reads and drops its payload, and carries on', () => {
    for (const line of ['PUB foo.* 3', 'PUB > 3', 'PUB foo.bar a.> 3', 'PUB a..b 3', 'HPUB foo.* 0 3']) {
      expect(parse(`${line}\r\nabc\r\nPING\r\n`), line).toEqual([
        expect.objectContaining({ type: 'ProtocolError', message: ERROR_TEXT.invalidPublishSubject, closeConnection: false }),
        { type: 'Ping' },
      ]);
    }
  });

  it('refuses a malformed header block without closing, since the frame was well delimited', () => {
    const blocks = [
      'NATS/2.0\r\n\r\n',
      'HTTP/1.1\r\nA: b\r\n\r\n',
      'NATS/1.0\r\nno colon\r\n\r\n',
      'NATS/1.0\r\n: empty name\r\n\r\n',
      'NATS/1.0\r\nbad name: x\r\n\r\n',
      'NATS/1.0\r\nA: b\r\n',
      'NATS/1.0\r\n\r\n\r\n',
      'NATS/1.0 50\r\n\r\n',
      'NATS/1.0\r\nA: b\nc\r\n\r\n',
    ];
    for (const block of blocks) {
      const frame = `HPUB s ${block.length} ${block.length + 2}\r\n${block}hi\r\nPING\r\n`;
      expect(parse(frame), JSON.stringify(block)).toEqual([
        expect.objectContaining({ type: 'ProtocolError', message: ERROR_TEXT.badHeader, closeConnection: false }),
        { type: 'Ping' },
      ]);
    }
  });

  it('refuses a control line that is not UTF-8, closing', () => {
    const line = Uint8Array.of(...bytes('SUB a'), 0xff, ...bytes(' 1\r\n'));
    expect(errorOf(line)).toEqual({ message: ERROR_TEXT.parserError, close: true });
  });

  it('refuses a sid with a control character, closing, so it can never break a MSG line', () => {
    expect(errorOf('SUB a 1\x00\r\n')).toEqual({ message: ERROR_TEXT.parserError, close: true });
    expect(errorOf('UNSUB \x7f\r\n')).toEqual({ message: ERROR_TEXT.parserError, close: true });
  });

  it('returns the commands before a closing error, then stays failed', () => {
    const parser = new ClientParser();
    const outputs = parser.feed(bytes('PING\r\nSUB a 1\r\nBOGUS\r\nPONG\r\n'));
    expect(outputs.map((o) => o.type)).toEqual(['Ping', 'Sub', 'ProtocolError']);
    expect(parser.closedBy).toMatchObject({ message: ERROR_TEXT.unknownOperation, closeConnection: true });
    expect(parser.feed(bytes('PING\r\n'))).toEqual([]);
    expect(parser.feed(bytes('PUB a 1\r\nx\r\n'))).toEqual([]);
  });

  it('does not stop after an error that keeps the connection', () => {
    const parser = new ClientParser();
    expect(parser.feed(bytes('SUB a..b 1\r\n'))).toHaveLength(1);
    expect(parser.closedBy).toBeUndefined();
    expect(parser.feed(bytes('PING\r\n'))).toEqual([{ type: 'Ping' }]);
  });
});

describe('ClientParser: limits', () => {
  it('has the nats-server defaults: 4096-byte control lines, 1 MiB payloads', () => {
    expect(CLIENT_PARSER_DEFAULTS.controlLineBytesMax).toBe(4096);
    expect(CLIENT_PARSER_DEFAULTS.payloadBytesMax).toBe(1048576);
    const parser = new ClientParser();
    expect(parser.controlLineBytesMax).toBe(4096);
    expect(parser.payloadBytesMax).toBe(1048576);
  });

  it('accepts a control line of exactly controlLineBytesMax bytes and refuses one byte more', () => {
    const options = { controlLineBytesMax: 32 };
    const exact = `SUB ${'s'.repeat(32 - 'SUB  1'.length)} 1`;
    expect(exact).toHaveLength(32);
    expect(only(`${exact}\r\n`, options)).toMatchObject({ type: 'Sub' });
    expect(only(`${exact}\n`, options)).toMatchObject({ type: 'Sub' });
    const over = `SUB ${'s'.repeat(33 - 'SUB  1'.length)} 1`;
    expect(errorOf(`${over}\r\n`, options)).toEqual({ message: ERROR_TEXT.controlLineExceeded, close: true });
  });

  it('refuses an over-long line before its end arrives, so a client cannot make it buffer without bound', () => {
    const parser = new ClientParser({ controlLineBytesMax: 32 });
    expect(parser.feed(bytes(`SUB ${'s'.repeat(28)}`))).toEqual([]);
    expect(parser.feed(bytes('s'))).toEqual([]);
    expect(parser.feed(bytes('s'))).toEqual([
      expect.objectContaining({ message: ERROR_TEXT.controlLineExceeded, closeConnection: true }),
    ]);
  });

  it('accepts a payload of exactly payloadBytesMax bytes and refuses one byte more', () => {
    const options = { payloadBytesMax: 10 };
    expect(only(`PUB a 10\r\n${'x'.repeat(10)}\r\n`, options)).toMatchObject({ type: 'Pub' });
    expect(errorOf('PUB a 11\r\n', options)).toEqual({ message: ERROR_TEXT.maxPayload, close: true });
  });

  it('counts an HPUB header block and payload together against payloadBytesMax, as nats-server does', () => {
    const options = { payloadBytesMax: 20 };
    const block = 'NATS/1.0\r\nA: b\r\n\r\n';
    expect(only(`HPUB a ${block.length} 20\r\n${block}${'x'.repeat(20 - block.length)}\r\n`, options)).toMatchObject({ type: 'HPub' });
    expect(errorOf(`HPUB a ${block.length} 21\r\n`, options)).toEqual({ message: ERROR_TEXT.maxPayload, close: true });
  });

  it('limits the header block on its own with headerBytesMax', () => {
    const options = { headerBytesMax: 18 };
    const block = 'NATS/1.0\r\nA: b\r\n\r\n';
    expect(block).toHaveLength(18);
    expect(only(`HPUB a 18 18\r\n${block}\r\n`, options)).toMatchObject({ type: 'HPub' });
    expect(errorOf('HPUB a 19 19\r\n', options)).toEqual({ message: ERROR_TEXT.maxPayload, close: true });
  });

  it('refuses nonsensical limits as a programmer error', () => {
    expect(() => new ClientParser({ controlLineBytesMax: 4 })).toThrow();
    expect(() => new ClientParser({ payloadBytesMax: -1 })).toThrow();
    expect(() => new ClientParser({ headerBytesMax: 1.5 })).toThrow();
  });
});

describe('ClientParser: the chorus extensions (docs/protocol.md)', () => {
  it('parses XSUB in its three forms, keywords in any case', () => {
    expect(parse('XSUB orders.* 1 FIRST\r\nxsub orders 2 from 5\r\nXSUB > 3 Durable billing-1\r\n')).toEqual([
      { type: 'XSub', subject: 'orders.*', sid: '1', start: { kind: 'first' } },
      { type: 'XSub', subject: 'orders', sid: '2', start: { kind: 'offset', offset: 5 } },
      { type: 'XSub', subject: '>', sid: '3', start: { kind: 'durable', consumer: 'billing-1' } },
    ]);
  });

  it('parses ORDERED after any start, with the default reorder bound or the one given', () => {
    expect(parse('XSUB orders.* 1 FIRST ORDERED\r\nXSUB orders.* 2 FROM 3 ordered 250\r\nXSUB > 3 DURABLE c ORDERED 0\r\n')).toEqual([
      { type: 'XSub', subject: 'orders.*', sid: '1', start: { kind: 'first' }, ordered: true, reorderBoundMs: 100 },
      { type: 'XSub', subject: 'orders.*', sid: '2', start: { kind: 'offset', offset: 3 }, ordered: true, reorderBoundMs: 250 },
      { type: 'XSub', subject: '>', sid: '3', start: { kind: 'durable', consumer: 'c' }, ordered: true, reorderBoundMs: 0 },
    ]);
    const [refused] = parse('XSUB orders.* 1 FIRST ORDERED soon\r\n');
    expect(refused).toMatchObject({
      type: 'ProtocolError',
      message: 'Invalid Arguments: XSUB <subject> <sid> FIRST | FROM <offset> | DURABLE <consumer> [ORDERED [<bound ms>]]',
      detail: 'XSUB ORDERED bound "soon" is not a whole number of ms from 0 to 60000',
    });
  });

  it('parses ACK, STATUS and HISTORY', () => {
    expect(parse('HISTORY orders @1764158400000 5\r\n')).toEqual([{ type: 'History', topic: 'orders', from: { kind: 'time', timeMs: 1764158400000 }, limit: 5 }]);
    expect(parse('ACK billing orders 7\r\nSTATUS\r\nHISTORY orders 1 100\n')).toEqual([
      { type: 'Ack', consumer: 'billing', topic: 'orders', offset: 7 },
      { type: 'Status' },
      { type: 'History', topic: 'orders', from: { kind: 'offset', offset: 1 }, limit: 100 },
    ]);
  });

  it('refuses bad extension arguments with a usage line, and keeps the connection open', () => {
    const cases = [
      'XSUB orders 1\r\n',
      'XSUB orders 1 LATEST\r\n',
      'XSUB orders 1 FROM 0\r\n',
      'XSUB orders 1 FROM x\r\n',
      'XSUB orders 1 FIRST 5\r\n',
      'XSUB orders 1 DURABLE bad.name\r\n',
      'XSUB orders 1 FIRST ORDERED 60001\r\n',
      'XSUB orders 1 FIRST ORDERED -5\r\n',
      'XSUB orders 1 ORDERED 5\r\n',
      'ACK billing orders\r\n',
      'ACK billing orders -1\r\n',
      'STATUS now\r\n',
      'HISTORY orders 0 10\r\n',
      'HISTORY orders 1 ten\r\n',
    ];
    for (const input of cases) {
      const outputs = parse(`${input}PING\r\n`);
      expect(outputs, input).toHaveLength(2);
      expect(outputs[0], input).toMatchObject({ type: 'ProtocolError', closeConnection: false });
      expect((outputs[0] as { message: string }).message, input).toMatch(/^Invalid Arguments: [A-Z]+ /);
      expect(outputs[1], input).toEqual({ type: 'Ping' });
    }
  });

  it('refuses a wildcard where a topic is needed, and a bad subscription subject', () => {
    expect(errorOf('ACK c orders.* 1\r\n')).toEqual({ message: ERROR_TEXT.invalidPublishSubject, close: false });
    expect(errorOf('HISTORY > 1 1\r\n')).toEqual({ message: ERROR_TEXT.invalidPublishSubject, close: false });
    expect(errorOf('XSUB a..b 1 FIRST\r\n')).toEqual({ message: ERROR_TEXT.invalidSubject, close: false });
  });
});
