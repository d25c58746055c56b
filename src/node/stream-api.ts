// Stream management over the client protocol, on JetStream's API subjects, so
// that the official clients' stream managers (nats.js's jsm.streams) and
// chorus's own CLI speak to chorus as they speak to nats-server:
//
//   $JS.API.INFO                        account info (stream count, storage)
//   $JS.API.STREAM.CREATE.<name>        body: a StreamConfig       -> stream_create_response
//   $JS.API.STREAM.UPDATE.<name>        body: a StreamConfig       -> stream_update_response
//   $JS.API.STREAM.INFO.<name>          body: {"subjects_filter"}? -> stream_info_response
//   $JS.API.STREAM.NAMES                body: {"subject"}?         -> stream_names_response
//   $JS.API.STREAM.LIST                 body: {"subject"}?         -> stream_list_response
//   $JS.API.STREAM.DELETE.<name>                                   -> stream_delete_response
//   $JS.API.STREAM.PURGE.<name>         body: {"filter","seq","keep"}? -> stream_purge_response
//
// Requests are parsed here into a write (a StreamCommand the node proposes
// through the log) or a read (answered once a read barrier is applied on the
// answering node, so a read after a write sees it, whichever node serves it).
// Responses are built here from the node's applied state, in JetStream's
// shapes and error codes; the node only routes. Everything here is pure.

import type { StreamCommand } from '../broker/commands.js';
import type { BrokerStateMachine } from '../broker/state-machine.js';
import type { Stream } from '../broker/stream.js';
import { streamConfigFromJson, streamConfigToJson } from '../broker/stream-config.js';
import { subjectsOverlap } from '../broker/stream-config.js';
import { isValidSubject } from '../protocol/client-subjects.js';

export const JS_API_PREFIX = '$JS.API.';

export type StreamApiRequest =
  | { readonly kind: 'write'; readonly op: 'create' | 'update' | 'delete' | 'purge'; readonly name: string; readonly command: StreamCommand }
  | { readonly kind: 'read'; readonly op: 'info'; readonly name: string; readonly subjectsFilter: string | undefined }
  | { readonly kind: 'read'; readonly op: 'names' | 'list'; readonly subject: string | undefined; readonly offset: number }
  | { readonly kind: 'read'; readonly op: 'account' }
  | { readonly kind: 'refused'; readonly response: Uint8Array };

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const TYPE_PREFIX = 'io.nats.jetstream.api.v1.';
/** JetStream's zero time, which its clients read as "none". */
const NO_TIME = '0001-01-01T00:00:00Z';
/** Streams one NAMES or LIST answer holds, as nats-server pages them. */
const PAGE_STREAMS_MAX = 1024;
/** Subjects one INFO with subjects_filter lists, as nats-server caps them. */
const INFO_SUBJECTS_MAX = 100_000;

const RESPONSE_TYPES = {
  create: 'stream_create_response',
  update: 'stream_update_response',
  delete: 'stream_delete_response',
  purge: 'stream_purge_response',
  info: 'stream_info_response',
  names: 'stream_names_response',
  list: 'stream_list_response',
  account: 'account_info_response',
} as const;

/** Reads an API request, or says at once why it cannot be served. */
export function parseStreamApiRequest(subject: string, payload: Uint8Array, clusterSize: number): StreamApiRequest {
  const tokens = subject.slice(JS_API_PREFIX.length).split('.');
  if (tokens.length === 1 && tokens[0] === 'INFO') return { kind: 'read', op: 'account' };
  if (tokens[0] !== 'STREAM' || tokens.length < 2) return refused('account', 400, 10003, `unknown API subject ${subject}`);
  const verb = tokens[1]!;
  const body = parseBody(payload);
  if (body === undefined) return refused(opOf(verb), 400, 10025, 'bad request: the body is not a JSON object');
  if (verb === 'NAMES' || verb === 'LIST') {
    const { subject: filter, offset } = body;
    if (filter !== undefined && (typeof filter !== 'string' || !isValidSubject(filter))) return refused(opOf(verb), 400, 10025, `bad request: subject ${JSON.stringify(filter)} is not a subject`);
    if (offset !== undefined && (typeof offset !== 'number' || !Number.isSafeInteger(offset) || offset < 0)) {
      return refused(opOf(verb), 400, 10025, `bad request: offset must be a non-negative integer, got ${JSON.stringify(offset)}`);
    }
    return { kind: 'read', op: verb === 'NAMES' ? 'names' : 'list', subject: filter as string | undefined, offset: (offset as number | undefined) ?? 0 };
  }
  const name = tokens.slice(2).join('.');
  if (tokens.length !== 3 || name.length === 0) return refused(opOf(verb), 400, 10003, `${subject}: the subject must end with one stream name`);
  switch (verb) {
    case 'CREATE':
    case 'UPDATE':
      return configRequest(verb === 'CREATE' ? 'create' : 'update', name, body, clusterSize);
    case 'INFO': {
      const filter = body.subjects_filter;
      if (filter !== undefined && (typeof filter !== 'string' || !isValidSubject(filter))) return refused('info', 400, 10025, `bad request: subjects_filter ${JSON.stringify(filter)} is not a subject`);
      return { kind: 'read', op: 'info', name, subjectsFilter: filter as string | undefined };
    }
    case 'DELETE':
      return { kind: 'write', op: 'delete', name, command: { type: 'StreamDelete', name } };
    case 'PURGE':
      return purgeRequest(name, body);
    default:
      return refused('account', 400, 10003, `unknown API subject ${subject}`);
  }
}

function configRequest(op: 'create' | 'update', name: string, body: Record<string, unknown>, clusterSize: number): StreamApiRequest {
  if (body.name !== undefined && body.name !== name) return refused(op, 400, 10056, 'stream name in subject does not match request');
  const parsed = streamConfigFromJson({ ...body, name }, clusterSize);
  if (!parsed.ok) return refused(op, 400, 10052, `invalid stream config: ${parsed.problems.join('; ')}`);
  if (parsed.config.replicas !== clusterSize) {
    return refused(op, 400, 10052, `num_replicas must be the cluster's size, ${clusterSize}, for now; got ${parsed.config.replicas}`);
  }
  const command: StreamCommand = op === 'create' ? { type: 'StreamCreate', config: parsed.config } : { type: 'StreamUpdate', config: parsed.config };
  return { kind: 'write', op, name, command };
}

function purgeRequest(name: string, body: Record<string, unknown>): StreamApiRequest {
  const { filter, seq, keep } = body;
  if (filter !== undefined && (typeof filter !== 'string' || !isValidSubject(filter))) return refused('purge', 400, 10025, `bad request: filter ${JSON.stringify(filter)} is not a subject`);
  for (const [field, value] of [['seq', seq], ['keep', keep]] as const) {
    if (value !== undefined && (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0)) {
      return refused('purge', 400, 10025, `bad request: ${field} must be a non-negative integer, got ${JSON.stringify(value)}`);
    }
  }
  if (seq !== undefined && keep !== undefined) return refused('purge', 400, 10003, 'bad request: a purge takes seq or keep, not both');
  const command: StreamCommand = {
    type: 'StreamPurge',
    name,
    ...(filter === undefined ? {} : { filter: filter as string }),
    ...(seq === undefined || seq === 0 ? {} : { upToSeq: seq as number }),
    ...(keep === undefined ? {} : { keep: keep as number }),
  };
  return { kind: 'write', op: 'purge', name, command };
}

/** The answer to a read, or to a write once applied on this node, from its applied state. */
export function streamApiResponse(request: Exclude<StreamApiRequest, { kind: 'refused' }>, state: BrokerStateMachine, leader: string, purged = 0): Uint8Array {
  switch (request.op) {
    case 'account': {
      const totals = state.totals();
      return reply('account', { memory: 0, storage: totals.bytes, streams: totals.streams, consumers: 0, limits: { max_memory: -1, max_storage: -1, max_streams: state.options.streamsMax, max_consumers: -1 }, api: { total: 0, errors: 0 } });
    }
    case 'names': {
      const names = matchingStreams(state, request.subject).map((stream) => stream.name);
      const page = names.slice(request.offset, request.offset + PAGE_STREAMS_MAX);
      return reply('names', { total: names.length, offset: request.offset, limit: PAGE_STREAMS_MAX, streams: page });
    }
    case 'list': {
      const streams = matchingStreams(state, request.subject);
      const page = streams.slice(request.offset, request.offset + PAGE_STREAMS_MAX).map((stream) => streamInfo(stream, state, leader, undefined));
      return reply('list', { total: streams.length, offset: request.offset, limit: PAGE_STREAMS_MAX, streams: page });
    }
    case 'delete':
      return reply('delete', { success: true });
    case 'purge':
      return reply('purge', { success: true, purged });
    case 'info':
    case 'create':
    case 'update': {
      const stream = state.stream(request.name);
      if (stream === undefined) return streamApiError(request.op, 404, 10059, 'stream not found');
      return reply(request.op, streamInfo(stream, state, leader, request.op === 'info' ? request.subjectsFilter : undefined));
    }
  }
}

/**
 * JetStream's error response for an API request. A failure of the cluster
 * rather than of the request also names chorus's reason (as a PubAck error
 * does): 'timeout' and 'leader-changed' mean the change may still happen,
 * any other reason that it did not.
 */
export function streamApiError(op: StreamApiOp, code: number, errCode: number, description: string, reason?: string): Uint8Array {
  return reply(op, { error: { code, err_code: errCode, description, ...(reason === undefined ? {} : { reason }) } });
}

export type StreamApiOp = keyof typeof RESPONSE_TYPES;

/** A stream's config and state, as JetStream's StreamInfo has them. */
function streamInfo(stream: Stream, state: BrokerStateMachine, leader: string, subjectsFilter: string | undefined): Record<string, unknown> {
  const info = stream.info();
  const streamState: Record<string, unknown> = {
    messages: info.messages,
    bytes: info.bytes,
    first_seq: info.firstSeq,
    first_ts: isoTime(info.firstTimestampMs),
    last_seq: info.lastSeq,
    last_ts: isoTime(info.lastTimestampMs),
    num_subjects: info.subjects,
    consumer_count: state.consumerCount(stream),
  };
  if (subjectsFilter !== undefined) {
    const counts = stream.subjectCounts(subjectsFilter).slice(0, INFO_SUBJECTS_MAX);
    streamState.subjects = Object.fromEntries(counts.map(({ subject, messages }) => [subject, messages]));
  }
  return { config: streamConfigToJson(stream.config), created: isoTime(stream.createdMs), state: streamState, cluster: { leader } };
}

function matchingStreams(state: BrokerStateMachine, subject: string | undefined): Stream[] {
  const streams = state.streamList();
  if (subject === undefined) return streams;
  return streams.filter((stream) => stream.config.subjects.some((pattern) => subjectsOverlap(pattern, subject)));
}

function reply(op: StreamApiOp, body: Record<string, unknown>): Uint8Array {
  return encoder.encode(JSON.stringify({ type: TYPE_PREFIX + RESPONSE_TYPES[op], ...body }));
}

function refused(op: StreamApiOp, code: number, errCode: number, description: string): StreamApiRequest {
  return { kind: 'refused', response: streamApiError(op, code, errCode, description) };
}

function opOf(verb: string): StreamApiOp {
  const ops: Record<string, StreamApiOp> = { CREATE: 'create', UPDATE: 'update', DELETE: 'delete', PURGE: 'purge', INFO: 'info', NAMES: 'names', LIST: 'list' };
  return ops[verb] ?? 'account';
}

/** An empty body is `{}`, as the clients send it for reads. */
function parseBody(payload: Uint8Array): Record<string, unknown> | undefined {
  const text = decoder.decode(payload).trim();
  if (text.length === 0) return {};
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Milliseconds since the epoch as ISO 8601 in UTC, computed rather than
 * through Date, which the cores do not touch (test/purity.test.ts). The date
 * comes from the day count by the usual civil-calendar arithmetic over
 * 400-year eras of 146,097 days.
 */
export function isoTime(ms: number | undefined): string {
  if (ms === undefined) return NO_TIME;
  const days = Math.floor(ms / 86_400_000);
  const msOfDay = ms - days * 86_400_000;
  const shifted = days + 719_468; // days from 0000-03-01, so leap days fall at the end of a year
  const era = Math.floor(shifted / 146_097);
  const dayOfEra = shifted - era * 146_097;
  const yearOfEra = Math.floor((dayOfEra - Math.floor(dayOfEra / 1460) + Math.floor(dayOfEra / 36_524) - Math.floor(dayOfEra / 146_096)) / 365);
  const dayOfYear = dayOfEra - (365 * yearOfEra + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100));
  const monthFromMarch = Math.floor((5 * dayOfYear + 2) / 153);
  const day = dayOfYear - Math.floor((153 * monthFromMarch + 2) / 5) + 1;
  const month = monthFromMarch < 10 ? monthFromMarch + 3 : monthFromMarch - 9;
  const year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0);
  const pad = (value: number, width: number): string => String(value).padStart(width, '0');
  const clock = `${pad(Math.floor(msOfDay / 3_600_000), 2)}:${pad(Math.floor(msOfDay / 60_000) % 60, 2)}:${pad(Math.floor(msOfDay / 1000) % 60, 2)}.${pad(msOfDay % 1000, 3)}`;
  return `${pad(year, 4)}-${pad(month, 2)}-${pad(day, 2)}T${clock}Z`;
}
