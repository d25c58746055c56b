import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type ClientCommand,
  type SubscriptionStart,
  type ClientParseOutput,
  type ConnectOptions,
  EMPTY_HEADER_BLOCK,
  type HeaderBlock,
} from '../../src/protocol/client-commands.js';
import { encodeClientCommand } from '../../src/protocol/client-command-encoder.js';
import { connectOptionsToJson } from '../../src/protocol/client-connect.js';
import { encodeHeaderBlock } from '../../src/protocol/client-headers.js';
import { ClientParser, type ClientParserOptions } from '../../src/protocol/client-parser.js';
import { concat } from '../support/bytes.js';

// Property tests in the manner of nats.js's parser tests: a stream of client
// commands, written with random letter case, separators and line endings,
// parses to the same commands however it is split (whole, at random points,
// one byte at a time). Then fuzz: arbitrary and mutated bytes never throw,
// always terminate, and are split-independent too, errors included.

const text = new TextEncoder();

// ---- generators -----------------------------------------------------------

const tokenArb = fc.oneof(
  { weight: 5, arbitrary: fc.stringMatching(/^[A-Za-z0-9_$-]{1,8}$/) },
  { weight: 1, arbitrary: fc.constantFrom('ü', 'über', '日本', 'a\u00e9') },
);
const literalSubjectArb = fc.array(tokenArb, { minLength: 1, maxLength: 4 }).map((tokens) => tokens.join('.'));
const wildcardSubjectArb = fc
  .tuple(fc.array(fc.oneof(tokenArb, fc.constant('*')), { minLength: 1, maxLength: 4 }), fc.boolean())
  .map(([tokens, tail]) => (tail ? [...tokens, '>'] : tokens).join('.'));
const sidArb = fc.stringMatching(/^[A-Za-z0-9]{1,6}$/);
const payloadArb = fc.oneof(
  fc.uint8Array({ maxLength: 48 }),
  fc.constantFrom(text.encode('\r\n'), text.encode('PING\r\n'), text.encode('\r\n\r\n')),
);

/** Strings the header encoder accepts and the decoder returns unchanged. */
const headerValueArb = fc
  .string({ unit: 'grapheme', maxLength: 12 })
  .filter((value) => !/[\r\n]/.test(value) && value === value.replace(/^[ \t]+|[ \t]+$/g, ''));
const headerNameArb = fc.stringMatching(/^[!-9;-~]{1,10}$/);

const headerBlockArb: fc.Arbitrary<HeaderBlock> = fc
  .record({
    status: fc.option(fc.record({ code: fc.integer({ min: 100, max: 999 }), description: headerValueArb }), { nil: undefined }),
    fields: fc.uniqueArray(fc.tuple(headerNameArb, fc.array(headerValueArb, { minLength: 1, maxLength: 3 })), {
      selector: ([name]) => name,
      maxLength: 4,
    }),
  })
  .map(({ status, fields }) => {
    const map = new Map(fields);
    return status === undefined
      ? { statusDescription: '', fields: map }
      : { statusCode: status.code, statusDescription: status.description, fields: map };
  });

const connectArb: fc.Arbitrary<ConnectOptions> = fc.record(
  {
    verbose: fc.boolean(),
    pedantic: fc.boolean(),
    echo: fc.boolean(),
    headers: fc.boolean(),
    noResponders: fc.boolean(),
    protocol: fc.integer({ min: 0, max: 3 }),
    name: fc.string({ unit: 'binary', maxLength: 10 }),
    lang: fc.constantFrom('nats.js', 'go', 'c'),
    user: fc.string({ maxLength: 8 }),
    authToken: fc.string({ maxLength: 8 }),
  },
  { requiredKeys: [] },
);

const replyArb = fc.option(literalSubjectArb, { nil: undefined });
const withReply = <T extends object>(command: T, replyTo: string | undefined): T =>
  replyTo === undefined ? command : { ...command, replyTo };

const consumerArb = fc.stringMatching(/^[A-Za-z0-9_-]{1,12}$/);
// The parser reads counts of up to 15 digits exactly; longer ones are over every limit.
const offsetArb = fc.oneof(fc.integer({ min: 1, max: 1000 }), fc.constant(999_999_999_999_999));
const startArb: fc.Arbitrary<SubscriptionStart> = fc.oneof(
  fc.constant<SubscriptionStart>({ kind: 'first' }),
  offsetArb.map((offset): SubscriptionStart => ({ kind: 'offset', offset })),
  consumerArb.map((consumer): SubscriptionStart => ({ kind: 'durable', consumer })),
);

const commandArb: fc.Arbitrary<ClientCommand> = fc.oneof(
  connectArb.map((options): ClientCommand => ({ type: 'Connect', options })),
  fc
    .tuple(literalSubjectArb, replyArb, payloadArb)
    .map(([subject, replyTo, payload]): ClientCommand => withReply({ type: 'Pub', subject, payload }, replyTo)),
  fc.tuple(literalSubjectArb, replyArb, fc.option(headerBlockArb, { nil: undefined }), payloadArb).map(
    ([subject, replyTo, block, payload]): ClientCommand =>
      withReply(
        {
          type: 'HPub',
          subject,
          headerBytes: block === undefined ? new Uint8Array() : encodeHeaderBlock(block),
          headers: block ?? EMPTY_HEADER_BLOCK,
          payload,
        },
        replyTo,
      ),
  ),
  fc
    .tuple(wildcardSubjectArb, fc.option(sidArb, { nil: undefined }), sidArb)
    .map(([subject, queue, sid]): ClientCommand => (queue === undefined ? { type: 'Sub', subject, sid } : { type: 'Sub', subject, queue, sid })),
  fc
    .tuple(sidArb, fc.option(fc.nat({ max: 1_000_000 }), { nil: undefined }))
    .map(([sid, max]): ClientCommand => (max === undefined ? { type: 'Unsub', sid } : { type: 'Unsub', sid, max })),
  fc.constant<ClientCommand>({ type: 'Ping' }),
  fc.constant<ClientCommand>({ type: 'Pong' }),
  fc
    .tuple(wildcardSubjectArb, sidArb, startArb, fc.option(fc.nat({ max: 60_000 }), { nil: undefined }))
    .map(([subject, sid, start, bound]): ClientCommand => ({ type: 'XSub', subject, sid, start, ...(bound === undefined ? {} : { ordered: true as const, reorderBoundMs: bound }) })),
  fc
    .tuple(consumerArb, literalSubjectArb, offsetArb)
    .map(([consumer, topic, offset]): ClientCommand => ({ type: 'Ack', consumer, topic, offset })),
  fc.constant<ClientCommand>({ type: 'Status' }),
  fc
    .tuple(literalSubjectArb, fc.oneof(offsetArb.map((offset) => ({ kind: 'offset' as const, offset })), fc.nat().map((timeMs) => ({ kind: 'time' as const, timeMs }))), fc.nat({ max: 100_000 }))
    .map(([topic, from, limit]): ClientCommand => ({ type: 'History', topic, from, limit })),
);

/** How one command is written: all the variation the protocol allows. */
interface Style {
  readonly caseMask: number;
  readonly separator: string;
  readonly trailing: string;
  readonly lineEnd: string;
  readonly connectGlued: boolean;
}

const styleArb: fc.Arbitrary<Style> = fc.record({
  caseMask: fc.nat({ max: 255 }),
  separator: fc.constantFrom(' ', '\t', '  ', ' \t ', '\t\t'),
  trailing: fc.constantFrom('', ' ', '\t', ' \t'),
  lineEnd: fc.constantFrom('\r\n', '\r\n', '\n'),
  connectGlued: fc.boolean(),
});

// ---- writing commands with a style -----------------------------------------

function styledVerb(verb: string, caseMask: number): string {
  return [...verb].map((ch, i) => ((caseMask >> i) & 1 ? ch.toLowerCase() : ch.toUpperCase())).join('');
}

function controlLine(command: ClientCommand): { verb: string; args: string[] } {
  switch (command.type) {
    case 'Connect':
      return { verb: 'connect', args: [connectOptionsToJson(command.options)] };
    case 'Pub':
      return { verb: 'pub', args: [command.subject, ...opt(command.replyTo), String(command.payload.length)] };
    case 'HPub': {
      const total = command.headerBytes.length + command.payload.length;
      return { verb: 'hpub', args: [command.subject, ...opt(command.replyTo), String(command.headerBytes.length), String(total)] };
    }
    case 'Sub':
      return { verb: 'sub', args: [command.subject, ...opt(command.queue), command.sid] };
    case 'Unsub':
      return { verb: 'unsub', args: [command.sid, ...opt(command.max === undefined ? undefined : String(command.max))] };
    case 'Ping':
      return { verb: 'ping', args: [] };
    case 'Pong':
      return { verb: 'pong', args: [] };
    case 'XSub':
      return { verb: 'xsub', args: [command.subject, command.sid, ...startArgs(command.start), ...(command.ordered ? ['Ordered', String(command.reorderBoundMs)] : [])] };
    case 'Ack':
      return { verb: 'ack', args: [command.consumer, command.topic, String(command.offset)] };
    case 'Status':
      return { verb: 'status', args: [] };
    case 'History':
      return { verb: 'history', args: [command.topic, command.from.kind === 'offset' ? String(command.from.offset) : `@${command.from.timeMs}`, String(command.limit)] };
  }
}

/** The start words, in a mixed letter case: keywords are read in any case. */
function startArgs(start: SubscriptionStart): string[] {
  switch (start.kind) {
    case 'first':
      return ['first'];
    case 'offset':
      return ['From', String(start.offset)];
    case 'durable':
      return ['DURABLE', start.consumer];
  }
}

function opt(value: string | undefined): string[] {
  return value === undefined ? [] : [value];
}

function writeStyled(command: ClientCommand, style: Style): Uint8Array {
  const { verb, args } = controlLine(command);
  const glue = command.type === 'Connect' && style.connectGlued ? '' : style.separator;
  const head = args.length === 0 ? styledVerb(verb, style.caseMask) : styledVerb(verb, style.caseMask) + glue + args.join(style.separator);
  const line = text.encode(head + style.trailing + style.lineEnd);
  if (command.type === 'Pub') return concat([line, command.payload, text.encode('\r\n')]);
  if (command.type === 'HPub') return concat([line, command.headerBytes, command.payload, text.encode('\r\n')]);
  return line;
}


// ---- feeding ----------------------------------------------------------------

/** Outputs as plain data, so equal streams compare equal whatever buffers back them. */
function normalize(outputs: readonly ClientParseOutput[]): unknown[] {
  return outputs.map((output) => {
    switch (output.type) {
      case 'Pub':
        return { ...output, payload: Array.from(output.payload) };
      case 'HPub':
        return {
          ...output,
          headerBytes: Array.from(output.headerBytes),
          payload: Array.from(output.payload),
          headers: { ...output.headers, fields: [...output.headers.fields] },
        };
      default:
        return output;
    }
  });
}

function feedChunks(chunks: readonly Uint8Array[], options?: ClientParserOptions): ClientParseOutput[] {
  const parser = new ClientParser(options);
  return chunks.flatMap((chunk) => parser.feed(chunk));
}

function splitAt(bytes: Uint8Array, cuts: readonly number[]): Uint8Array[] {
  const points = [...new Set(cuts.map((cut) => cut % (bytes.length + 1)))].sort((a, b) => a - b);
  const chunks: Uint8Array[] = [];
  let start = 0;
  for (const point of [...points, bytes.length]) {
    chunks.push(bytes.subarray(start, point));
    start = point;
  }
  return chunks;
}

function oneByteAtATime(bytes: Uint8Array): Uint8Array[] {
  return Array.from(bytes, (_, i) => bytes.subarray(i, i + 1));
}

const cutsArb = fc.array(fc.nat(), { maxLength: 12 });

// ---- properties -------------------------------------------------------------

describe('ClientParser over any split of a command stream', () => {
  it('parses styled command streams to the commands, whole, split at random, and byte by byte', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(commandArb, styleArb), { maxLength: 12 }), cutsArb, (written, cuts) => {
        const commands = written.map(([command]) => command);
        const bytes = concat(written.map(([command, style]) => writeStyled(command, style)));
        const expected = normalize(commands);
        expect(normalize(feedChunks([bytes]))).toEqual(expected);
        expect(normalize(feedChunks(splitAt(bytes, cuts)))).toEqual(expected);
        expect(normalize(feedChunks(oneByteAtATime(bytes)))).toEqual(expected);
      }),
      { numRuns: 300 },
    );
  });

  it('parses what encodeClientCommand writes back to the same command', () => {
    fc.assert(
      fc.property(commandArb, (command) => {
        expect(normalize(feedChunks([encodeClientCommand(command)]))).toEqual(normalize([command]));
      }),
      { numRuns: 300 },
    );
  });
});

// ---- fuzz -------------------------------------------------------------------

/** A valid stream with a few bytes overwritten, inserted or deleted. */
const mutatedStreamArb = fc
  .tuple(
    fc.array(fc.tuple(commandArb, styleArb), { minLength: 1, maxLength: 6 }),
    fc.array(fc.tuple(fc.nat(), fc.nat({ max: 255 }), fc.constantFrom('set', 'insert', 'delete')), { minLength: 1, maxLength: 4 }),
  )
  .map(([written, edits]) => {
    const bytes = Array.from(concat(written.map(([command, style]) => writeStyled(command, style))));
    for (const [at, value, kind] of edits) {
      const index = at % (bytes.length + 1);
      if (kind === 'set' && index < bytes.length) bytes[index] = value;
      if (kind === 'insert') bytes.splice(index, 0, value);
      if (kind === 'delete') bytes.splice(index, 1);
    }
    return Uint8Array.from(bytes);
  });

/** Lines of real verbs with plausible arguments and bodies, mostly wrong in some way. */
const protocolishBytesArb = fc
  .array(
    fc.tuple(
      fc.constantFrom('PUB', 'HPUB', 'SUB', 'UNSUB', 'PING', 'PONG', 'CONNECT', 'pub', 'hPub', 'Sub'),
      fc.array(fc.constantFrom('a.b', 'a', '*', '>', '0', '1', '2', '5', '12', '14', '{}', 'q', '..', 'x'), { maxLength: 4 }),
      fc.constantFrom('\r\n', '\n', '', '\r'),
      fc.constantFrom('', 'ab', 'NATS/1.0\r\n\r\n', '\r\n', 'x\r\n', 'NATS/1.0\r\nA: b\r\n\r\nxy\r\n'),
    ),
    { maxLength: 8 },
  )
  .map((lines) => text.encode(lines.map(([verb, args, end, body]) => [verb, ...args].join(' ') + end + body).join('')));

const anyInputArb = fc.oneof(fc.uint8Array({ maxLength: 200 }), mutatedStreamArb, protocolishBytesArb);
const smallLimits: ClientParserOptions = { controlLineBytesMax: 40, payloadBytesMax: 30, headerBytesMax: 20 };

describe('ClientParser under fuzz', () => {
  it('never throws, ends any closing error stream, and gives the same outputs for every split', () => {
    fc.assert(
      fc.property(anyInputArb, cutsArb, fc.boolean(), (bytes, cuts, tight) => {
        const options = tight ? smallLimits : undefined;
        const whole = feedChunks([bytes], options);
        const closing = whole.findIndex((output) => output.type === 'ProtocolError' && output.closeConnection);
        if (closing >= 0) expect(closing).toBe(whole.length - 1);
        expect(normalize(feedChunks(splitAt(bytes, cuts), options))).toEqual(normalize(whole));
        expect(normalize(feedChunks(oneByteAtATime(bytes), options))).toEqual(normalize(whole));
      }),
      { numRuns: 1500 },
    );
  });

  it('stays silent after a closing error, whatever follows', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (more) => {
        const parser = new ClientParser();
        expect(parser.feed(text.encode('NOPE\r\n'))).toHaveLength(1);
        expect(parser.feed(more)).toEqual([]);
        expect(parser.feed(text.encode('PING\r\n'))).toEqual([]);
      }),
      { numRuns: 100 },
    );
  });

  it('gets through a large buffer of noise, and a huge declared payload, promptly', () => {
    let state = 12345;
    const noise = Uint8Array.from({ length: 1 << 20 }, () => {
      state = (state * 1103515245 + 12345) >>> 0;
      return state >>> 24;
    });
    const outputs = new ClientParser().feed(noise);
    expect(outputs.length).toBeLessThanOrEqual(1);
    const parser = new ClientParser();
    expect(parser.feed(text.encode(`PUB a ${1 << 20}\r\n`))).toEqual([]);
    for (let i = 0; i < 16; i++) expect(parser.feed(new Uint8Array(1 << 16))).toEqual([]);
    expect(parser.feed(text.encode('\r\nPING\r\n')).map((o) => o.type)).toEqual(['Pub', 'Ping']);
  });
});
