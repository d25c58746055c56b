// chorus stream add|ls|info|edit|rm|purge: stream management against a running
// cluster, through the same JetStream API subjects the official clients use
// (src/node/stream-api.ts). Every subcommand takes --json for the API's own
// answer, and --server host:port or -c cluster.yaml to find a node.

import { parseArgs } from 'node:util';
import { durationToMs } from '../broker/stream-config.js';
import type { ChorusClient } from '../runtime/client.js';
import { UsageError, parseInteger } from './args.js';
import { COMMON_OPTIONS, help, TIMEOUT_MS, withClient, type Common } from './client-commands.js';
import type { CliIo } from './io.js';

export const STREAM_HELP = `Usage: chorus stream <command> [options]

Streams decide what is stored: only subjects a stream captures are kept, with
its limits; every other subject is NATS core (delivered, not kept).

  chorus stream add <name> --subjects A[,B...] [limits]
  chorus stream ls
  chorus stream info <name> [--per-subject]     --per-subject counts the messages of each subject
  chorus stream edit <name> [--subjects A[,B...]] [limits]
  chorus stream rm <name>
  chorus stream purge <name> [--subject S] [--seq N | --keep N]
                                                 --seq N removes messages below sequence N

Limits (JetStream's, -1 for none):
  --max-msgs N  --max-bytes N  --max-age DURATION  --max-msgs-per-subject N
  --max-msg-size N  --discard old|new  --duplicate-window DURATION
  Durations as 90s, 15m, 24h, 500ms; 0 for no max-age.

Every command takes --json (print the API's answer as JSON), --server
host:port, or -c cluster.yaml (default: the built-in cluster's first node).`;

const API = '$JS.API.STREAM.';

const LIMIT_OPTIONS = {
  subjects: { type: 'string' },
  'max-msgs': { type: 'string' },
  'max-bytes': { type: 'string' },
  'max-age': { type: 'string' },
  'max-msgs-per-subject': { type: 'string' },
  'max-msg-size': { type: 'string' },
  discard: { type: 'string' },
  'duplicate-window': { type: 'string' },
} as const;

interface Values extends Common {
  json?: boolean | undefined;
  [option: string]: string | boolean | undefined;
}

export async function streamCommand(argv: readonly string[], io: CliIo): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === undefined || sub === '--help' || sub === '-h') return help(io, STREAM_HELP);
  const { values, positionals } = parseArgs({
    args: rest,
    options: {
      ...COMMON_OPTIONS,
      ...LIMIT_OPTIONS,
      json: { type: 'boolean' },
      'per-subject': { type: 'boolean' },
      subject: { type: 'string' },
      seq: { type: 'string' },
      keep: { type: 'string' },
    },
    allowPositionals: true,
  });
  if (values.help === true) return help(io, STREAM_HELP);
  const v = values as Values;
  switch (sub) {
    case 'ls':
      expectArguments(positionals, 0, 'ls');
      return call(v, io, `${API}LIST`, {}, printList);
    case 'add':
      return call(v, io, `${API}CREATE.${nameOf(positionals, 'add')}`, { name: positionals[0], ...limitsFrom(v, true) }, printInfo);
    case 'info': {
      const body = v['per-subject'] === true ? { subjects_filter: '>' } : {};
      return call(v, io, `${API}INFO.${nameOf(positionals, 'info')}`, body, printInfo);
    }
    case 'edit':
      return edit(nameOf(positionals, 'edit'), v, io);
    case 'rm':
      return call(v, io, `${API}DELETE.${nameOf(positionals, 'rm')}`, {}, (answer, out) => out(`deleted stream ${positionals[0]!}`));
    case 'purge':
      return call(v, io, `${API}PURGE.${nameOf(positionals, 'purge')}`, purgeBody(v), (answer, out) => out(`purged ${String(answer.purged)} messages from ${positionals[0]!}`));
    default:
      throw new UsageError(`unknown stream command '${sub}' (add, ls, info, edit, rm, purge)`);
  }
}

/** An edit sends the whole config, as JetStream's update does: the current one with the options laid over it. */
async function edit(name: string, values: Values, io: CliIo): Promise<number> {
  const changes = limitsFrom(values, false);
  if (Object.keys(changes).length === 0) throw new UsageError('edit changes nothing: give --subjects or a limit');
  const result = await withClient(values, io, async (client) => {
    const current = await apiRequest(client, `${API}INFO.${name}`, {});
    if (current.error !== undefined) return current;
    return apiRequest(client, `${API}UPDATE.${name}`, { ...(current.config as Record<string, unknown>), ...changes });
  });
  return report(result, values, io, printInfo);
}

type Printer = (answer: Record<string, unknown>, out: (line: string) => void) => void;

async function call(values: Values, io: CliIo, subject: string, body: unknown, print: Printer): Promise<number> {
  const result = await withClient(values, io, (client) => apiRequest(client, subject, body));
  return report(result, values, io, print);
}

function report(answer: Record<string, unknown> | undefined, values: Values, io: CliIo, print: Printer): number {
  if (answer === undefined) return 1;
  if (values.json === true) io.out(JSON.stringify(answer, null, 2));
  const error = answer.error as { description?: string; err_code?: number; code?: number } | undefined;
  if (error !== undefined) {
    if (values.json !== true) io.err(`chorus stream: ${error.description ?? 'failed'} (code ${String(error.code)}, err_code ${String(error.err_code)})`);
    return 1;
  }
  if (values.json !== true) print(answer, (line) => io.out(line));
  return 0;
}

async function apiRequest(client: ChorusClient, subject: string, body: unknown): Promise<Record<string, unknown>> {
  return client.request(subject, new Uint8Array(0), new TextEncoder().encode(JSON.stringify(body)), TIMEOUT_MS);
}

function printList(answer: Record<string, unknown>, out: (line: string) => void): void {
  const streams = (answer.streams ?? []) as Record<string, unknown>[];
  if (streams.length === 0) {
    out('no streams: every subject is NATS core (delivered, not kept)');
    return;
  }
  const rows = [['stream', 'subjects', 'messages', 'bytes', 'first', 'last']];
  for (const stream of streams) {
    const config = stream.config as Record<string, unknown>;
    const state = stream.state as Record<string, unknown>;
    rows.push([String(config.name), (config.subjects as string[]).join(','), String(state.messages), String(state.bytes), String(state.first_seq), String(state.last_seq)]);
  }
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => row[column]!.length)));
  for (const row of rows) out(row.map((cell, column) => cell.padEnd(widths[column]!)).join('  ').trimEnd());
}

function printInfo(answer: Record<string, unknown>, out: (line: string) => void): void {
  const config = answer.config as Record<string, unknown>;
  const state = answer.state as Record<string, unknown>;
  const limit = (value: unknown): string => (value === -1 || value === 0 ? 'none' : String(value));
  out(`stream ${String(config.name)}: subjects ${(config.subjects as string[]).join(', ')}`);
  out(`  messages ${String(state.messages)}, ${String(state.bytes)} bytes, sequences ${String(state.first_seq)} to ${String(state.last_seq)}, ${String(state.num_subjects)} subjects, ${String(state.consumer_count)} consumers`);
  out(`  limits: max_msgs ${limit(config.max_msgs)}, max_bytes ${limit(config.max_bytes)}, max_age ${ageText(config.max_age)}, max_msgs_per_subject ${limit(config.max_msgs_per_subject)}, max_msg_size ${limit(config.max_msg_size)}, discard ${String(config.discard)}, duplicate_window ${ageText(config.duplicate_window)}`);
  const subjects = state.subjects as Record<string, number> | undefined;
  if (subjects !== undefined) for (const [subject, count] of Object.entries(subjects)) out(`  ${subject}\t${count}`);
}

function ageText(nanos: unknown): string {
  if (typeof nanos !== 'number' || nanos === 0) return 'none';
  const ms = nanos / 1_000_000;
  return ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`;
}

/** The API fields the options name; `add` requires --subjects. */
function limitsFrom(values: Values, adding: boolean): Record<string, unknown> {
  const fields: Record<string, unknown> = {};
  const subjects = values.subjects;
  if (typeof subjects === 'string') fields.subjects = subjects.split(',').map((subject) => subject.trim()).filter((subject) => subject.length > 0);
  else if (adding) throw new UsageError('add needs --subjects, the subjects the stream captures (comma-separated)');
  const integers: [string, string][] = [
    ['max-msgs', 'max_msgs'],
    ['max-bytes', 'max_bytes'],
    ['max-msgs-per-subject', 'max_msgs_per_subject'],
    ['max-msg-size', 'max_msg_size'],
  ];
  for (const [option, field] of integers) {
    const value = values[option];
    if (typeof value === 'string') fields[field] = parseInteger(value, `--${option}`, -1, Number.MAX_SAFE_INTEGER);
  }
  for (const [option, field] of [['max-age', 'max_age'], ['duplicate-window', 'duplicate_window']] as const) {
    const value = values[option];
    if (typeof value !== 'string') continue;
    const ms = durationToMs(value);
    if (ms === undefined) throw new UsageError(`--${option} must be a duration such as 90s, 15m, 24h or 500ms, got '${value}'`);
    fields[field] = ms * 1_000_000;
  }
  const discard = values.discard;
  if (typeof discard === 'string') {
    if (discard !== 'old' && discard !== 'new') throw new UsageError(`--discard must be old or new, got '${discard}'`);
    fields.discard = discard;
  }
  return fields;
}

function purgeBody(values: Values): Record<string, unknown> {
  const body: Record<string, unknown> = {};
  if (typeof values.subject === 'string') body.filter = values.subject;
  if (typeof values.seq === 'string' && typeof values.keep === 'string') throw new UsageError('purge takes --seq or --keep, not both');
  if (typeof values.seq === 'string') body.seq = parseInteger(values.seq, '--seq', 1, Number.MAX_SAFE_INTEGER);
  if (typeof values.keep === 'string') body.keep = parseInteger(values.keep, '--keep', 0, Number.MAX_SAFE_INTEGER);
  return body;
}

function nameOf(positionals: readonly string[], sub: string): string {
  expectArguments(positionals, 1, sub);
  return positionals[0]!;
}

function expectArguments(positionals: readonly string[], count: number, sub: string): void {
  if (positionals.length !== count) {
    throw new UsageError(`stream ${sub} takes ${count === 0 ? 'no arguments' : 'a stream name'}, got ${positionals.length} arguments`);
  }
}
