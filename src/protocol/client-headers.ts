// The NATS/1.0 header block carried by HPUB and HMSG (ADR-4):
//
//   NATS/1.0[ <3-digit status>[ <description>]]\r\n
//   Name: value\r\n          (zero or more; a name may repeat)
//   \r\n
//
// The block's declared length includes the final blank line. A block of zero
// bytes is allowed on the wire (the official JavaScript client sends
// `HPUB subject 0 <n>` for an empty header object) and means "no headers".
//
// Decoding is strict where the format is unambiguous (the version line, the
// closing blank line, a colon on every field line, names of printable ASCII
// without a colon) and lenient where clients differ: spaces and tabs around a
// value are trimmed, as the Go and JavaScript clients do.

import { assert } from '../raft/assert.js';
import { EMPTY_HEADER_BLOCK, type HeaderBlock } from './client-commands.js';

const VERSION = 'NATS/1.0';
const CRLF = '\r\n';
const STATUS_CODE = /^[0-9]{3}$/;
/** Printable ASCII except ':' (RFC 822 field names, as nats.js checks them). */
const FIELD_NAME = /^[\x21-\x39\x3b-\x7e]+$/;

/** Whether `name` may be a header name in a NATS/1.0 header block. */
export function isHeaderName(name: string): boolean {
  return FIELD_NAME.test(name);
}
const LINE_BREAK = /[\r\n]/;

const encoder = new TextEncoder();
const strictDecoder = new TextDecoder('utf-8', { fatal: true });

export type HeaderDecodeResult =
  | { readonly ok: true; readonly block: HeaderBlock }
  | { readonly ok: false; readonly reason: string };

/** Parse a header block. Never throws: a malformed block yields a reason. */
export function decodeHeaderBlock(bytes: Uint8Array): HeaderDecodeResult {
  if (bytes.length === 0) return { ok: true, block: EMPTY_HEADER_BLOCK };
  let text: string;
  try {
    text = strictDecoder.decode(bytes);
  } catch {
    return { ok: false, reason: 'header block is not valid UTF-8' };
  }
  if (!text.endsWith(CRLF + CRLF)) return { ok: false, reason: 'header block does not end with an empty line' };
  const lines = text.slice(0, -(CRLF.length * 2)).split(CRLF);
  const status = parseStatusLine(lines[0] as string);
  if (status === undefined) return { ok: false, reason: `header block does not start with a valid ${VERSION} line` };
  const fields = new Map<string, string[]>();
  for (const line of lines.slice(1)) {
    const failure = addField(fields, line);
    if (failure !== undefined) return { ok: false, reason: failure };
  }
  const block: HeaderBlock =
    status.code === undefined
      ? { statusDescription: '', fields }
      : { statusCode: status.code, statusDescription: status.description, fields };
  return { ok: true, block };
}

/*
 * The version line, parsed by hand rather than by one regular expression: a
 * lazy group followed by optional trailing blanks backtracks quadratically on
 * a long run of spaces, and these bytes come from clients.
 */
function parseStatusLine(line: string): { code?: number; description: string } | undefined {
  if (!line.startsWith(VERSION) || LINE_BREAK.test(line)) return undefined;
  const afterVersion = line.slice(VERSION.length);
  if (afterVersion.length > 0 && !isBlank(afterVersion.charCodeAt(0))) return undefined;
  const rest = trimBlanks(afterVersion);
  if (rest.length === 0) return { description: '' };
  const code = rest.slice(0, 3);
  const afterCode = rest.slice(3);
  if (!STATUS_CODE.test(code)) return undefined;
  if (afterCode.length > 0 && !isBlank(afterCode.charCodeAt(0))) return undefined;
  return { code: Number(code), description: trimBlanks(afterCode) };
}

/** Adds one `Name: value` line to `fields`; returns why it is malformed, if it is. */
function addField(fields: Map<string, string[]>, line: string): string | undefined {
  if (LINE_BREAK.test(line)) return 'header line contains a bare CR or LF';
  const colon = line.indexOf(':');
  if (colon < 0) return 'header line has no colon';
  const name = line.slice(0, colon);
  if (!FIELD_NAME.test(name)) return 'header name is empty or has a character outside printable ASCII';
  const value = trimBlanks(line.slice(colon + 1));
  const values = fields.get(name);
  if (values === undefined) fields.set(name, [value]);
  else values.push(value);
  return undefined;
}

/**
 * Encode a header block. The block must be encodable (a programmer error
 * otherwise, so this asserts): names of printable ASCII without ':', values
 * and description without CR or LF, a status code of three digits. Values are
 * written as given; decoding trims surrounding spaces and tabs, so only values
 * without them round-trip exactly; the same holds for the status description.
 */
export function encodeHeaderBlock(block: HeaderBlock): Uint8Array {
  let text = VERSION + statusSuffix(block) + CRLF;
  for (const [name, values] of block.fields) {
    assert(FIELD_NAME.test(name), `header name ${JSON.stringify(name)} is not printable ASCII without ':'`);
    for (const value of values) {
      assert(!LINE_BREAK.test(value), `header ${name} has a value with CR or LF`);
      text += `${name}: ${value}${CRLF}`;
    }
  }
  return encoder.encode(text + CRLF);
}

function statusSuffix(block: HeaderBlock): string {
  if (block.statusCode === undefined) {
    assert(block.statusDescription === '', 'a header status description needs a status code');
    return '';
  }
  const code = block.statusCode;
  assert(Number.isInteger(code) && code >= 100 && code <= 999, `header status ${code} is not three digits`);
  assert(!LINE_BREAK.test(block.statusDescription), 'header status description has CR or LF');
  return block.statusDescription === '' ? ` ${code}` : ` ${code} ${block.statusDescription}`;
}

const SPACE = 0x20;
const TAB = 0x09;

function isBlank(code: number): boolean {
  return code === SPACE || code === TAB;
}

/** Strips spaces and tabs from both ends, in linear time (see parseStatusLine). */
function trimBlanks(text: string): string {
  let start = 0;
  let end = text.length;
  while (start < end && isBlank(text.charCodeAt(start))) start += 1;
  while (end > start && isBlank(text.charCodeAt(end - 1))) end -= 1;
  return text.slice(start, end);
}
