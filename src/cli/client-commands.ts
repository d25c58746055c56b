// chorus pub, sub, history and status: a person's tools against a running
// cluster. Each takes --server host:port (default: the first node of the
// cluster configuration, or 127.0.0.1:4222).

import { parseArgs } from 'node:util';
import * as fs from 'node:fs';
import { ChorusClient, parseServer, type ClientSecurity } from '../runtime/client.js';
import { UsageError, parseInteger } from './args.js';
import type { CliIo } from './io.js';
import { clusterConfigFrom } from './real-config.js';
import { REORDER_BOUND_MS_MAX } from '../protocol/client-commands.js';
import { LATE_HEADER } from '../node/replies.js';

export const TIMEOUT_MS = 10_000;
const decoder = new TextDecoder();

/** What every client command's help says of connecting to a node that requires credentials or TLS. */
const SECURITY_HELP = `
A node that requires credentials (docs/security.md) takes --user and
--password, or --token; the environment variables CHORUS_USER,
CHORUS_PASSWORD and CHORUS_TOKEN keep them off the command line. Over TLS,
--tls-ca names the PEM file of the authority the node's certificate comes
from (by default the cluster configuration's tls.ca, else the system's).`;

export const PUB_HELP = `Usage: chorus pub <topic> <message> [--id MSGID] [--server host:port]

Publishes one message. To a subject a stream captures, it prints the PubAck:
the stream, the message's sequence, and whether it was a duplicate of an
earlier message with the same --id. To any other subject it publishes as NATS
core (delivered to the subscribers of the moment, not stored) and says so.
${SECURITY_HELP}`;

export const SUB_HELP = `Usage: chorus sub <subject> [--from N | --first | --durable NAME] [--ordered [--reorder-bound MS]] [--count N] [--server host:port]

Subscribes and prints each message as it arrives: offset, topic, payload.
Wildcards * and > work. --from N and --first replay stored messages first;
--durable NAME resumes after NAME's last acknowledgement and acknowledges each
message printed. --ordered (with one of those three) merges the matching
topics in timestamp order, holding a message back at most --reorder-bound ms
(default 100); a message marked late is printed with "late" after it. Stops
after --count messages, or on Ctrl-C.
${SECURITY_HELP}`;

export const HISTORY_HELP = `Usage: chorus history <topic> [--from N] [--limit N] [--server host:port]

Prints the committed messages of a topic from an offset (default 1), up to a
limit (default 100), over as many HISTORY reads as the node's paging takes.
${SECURITY_HELP}`;

export const STATUS_HELP = `Usage: chorus status [-c cluster.yaml] [--server host:port]

Prints a table of the cluster's nodes: role, term, leader, commit index, how
far each lags the highest commit index, and its clock's measured offset from
the majority's (a node too far off refuses to lead). With --server, asks that
one node.
${SECURITY_HELP}`;

export interface Common {
  server?: string | undefined;
  config?: string | undefined;
  help?: boolean | undefined;
  user?: string | undefined;
  password?: string | undefined;
  token?: string | undefined;
  'tls-ca'?: string | undefined;
}

export const COMMON_OPTIONS = {
  server: { type: 'string' },
  config: { type: 'string', short: 'c' },
  help: { type: 'boolean', short: 'h' },
  user: { type: 'string' },
  password: { type: 'string' },
  token: { type: 'string' },
  'tls-ca': { type: 'string' },
} as const;



/**
 * The credentials and TLS authority of a client command: flags first, then
 * the environment, and the cluster configuration's CA when the command goes
 * by that configuration.
 */
function securityOf(values: Common): ClientSecurity {
  const user = values.user ?? process.env.CHORUS_USER;
  const password = values.password ?? process.env.CHORUS_PASSWORD;
  const token = values.token ?? process.env.CHORUS_TOKEN;
  if (user !== undefined && token !== undefined) throw new UsageError('give --user (with --password) or --token, not both');
  if (password !== undefined && user === undefined) throw new UsageError('--password goes with --user');
  let caFile = values['tls-ca'];
  if (caFile === undefined && (values.server === undefined || values.config !== undefined)) caFile = clusterConfigFrom(values.config).tls?.ca;
  let tlsCa: Buffer | undefined;
  if (caFile !== undefined) {
    try {
      tlsCa = fs.readFileSync(caFile);
    } catch (error) {
      throw new UsageError(`--tls-ca: cannot read ${caFile}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
    }
  }
  return { user, password, token, tlsCa };
}

function serverOf(values: Common): { host: string; port: number } {
  if (values.server !== undefined) {
    try {
      return parseServer(values.server);
    } catch (error) {
      throw new UsageError((error as Error).message);
    }
  }
  const first = clusterConfigFrom(values.config).nodes[0]!;
  return { host: first.host, port: first.clientPort };
}

export async function withClient<T>(values: Common, io: CliIo, action: (client: ChorusClient) => Promise<T>): Promise<T | undefined> {
  const { host, port } = serverOf(values);
  const security = securityOf(values);
  let client: ChorusClient;
  try {
    client = await ChorusClient.connect(host, port, 5000, security);
  } catch (error) {
    io.err(`chorus: ${(error as Error).message}`);
    return undefined;
  }
  try {
    return await action(client);
  } catch (error) {
    io.err(`chorus: ${(error as Error).message}`);
    return undefined;
  } finally {
    client.close();
  }
}

export async function pubCommand(argv: readonly string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseArgs({ args: [...argv], options: { ...COMMON_OPTIONS, id: { type: 'string' } }, allowPositionals: true });
  if (values.help === true) return help(io, PUB_HELP);
  if (positionals.length !== 2) throw new UsageError(`pub takes a topic and a message, got ${positionals.length} arguments`);
  const [topic, message] = positionals as [string, string];
  const payload = new TextEncoder().encode(message);
  const result = await withClient(values, io, async (client) => {
    // A subject no stream captures is NATS core: it gets no PubAck, so ask first.
    const streams = await client.request('$JS.API.STREAM.NAMES', new Uint8Array(0), new TextEncoder().encode(JSON.stringify({ subject: topic })), TIMEOUT_MS);
    if (Array.isArray(streams.streams) && streams.streams.length === 0) {
      client.publishCore(topic, payload);
      await client.flush(TIMEOUT_MS);
      return { core: true };
    }
    return client.publish(topic, payload, values.id, TIMEOUT_MS);
  });
  if (result === undefined) return 1;
  if (result.core === true) {
    io.out(`published ${topic} as NATS core: no stream captures it, so it went to the subscribers of the moment and was not stored`);
    return 0;
  }
  if (typeof result.seq === 'number') {
    io.out(`published to ${String(result.stream)} at offset ${result.seq}${result.duplicate === true ? ' (duplicate of an earlier message with this id)' : ''}`);
    return 0;
  }
  io.err(`chorus pub: ${JSON.stringify(result.error ?? result)}`);
  return 1;
}

export async function subCommand(argv: readonly string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseArgs({
    args: [...argv],
    options: {
      ...COMMON_OPTIONS,
      from: { type: 'string' },
      first: { type: 'boolean' },
      durable: { type: 'string' },
      ordered: { type: 'boolean' },
      'reorder-bound': { type: 'string' },
      count: { type: 'string' },
    },
    allowPositionals: true,
  });
  if (values.help === true) return help(io, SUB_HELP);
  if (positionals.length !== 1) throw new UsageError(`sub takes one subject, got ${positionals.length} arguments`);
  const starts = [values.from !== undefined, values.first === true, values.durable !== undefined].filter(Boolean).length;
  if (starts > 1) throw new UsageError('choose one of --from, --first and --durable');
  if (values.ordered === true && starts === 0) throw new UsageError('--ordered needs one of --from, --first and --durable');
  if (values['reorder-bound'] !== undefined && values.ordered !== true) throw new UsageError('--reorder-bound goes with --ordered');
  const ordered =
    values.ordered !== true
      ? ''
      : ` ORDERED${values['reorder-bound'] === undefined ? '' : ` ${parseInteger(values['reorder-bound'], '--reorder-bound', 0, REORDER_BOUND_MS_MAX)}`}`;
  const count = values.count === undefined ? Number.POSITIVE_INFINITY : parseInteger(values.count, '--count', 1, Number.MAX_SAFE_INTEGER);
  const subject = positionals[0]!;
  const start =
    values.from !== undefined
      ? `XSUB ${subject} 1 FROM ${parseInteger(values.from, '--from', 1, Number.MAX_SAFE_INTEGER)}`
      : values.first === true
        ? `XSUB ${subject} 1 FIRST`
        : values.durable !== undefined
          ? `XSUB ${subject} 1 DURABLE ${values.durable}`
          : `SUB ${subject} 1`;
  const line = `${start}${ordered}`;
  const result = await withClient(values, io, async (client) => {
    client.write(`${line}\r\n`);
    let received = 0;
    const stop = new Promise<'stop'>((resolve) => process.once('SIGINT', () => resolve('stop')));
    while (received < count) {
      const frame = await Promise.race([client.next((f) => (f.type === 'Msg' && f.sid === '1') || f.type === 'Err', 24 * 3600 * 1000), stop]);
      if (frame === 'stop') break;
      if (frame.type === 'Err') {
        io.err(`chorus sub: ${frame.message}`);
        return 1;
      }
      if (frame.type !== 'Msg') continue;
      const offset = /^\$CHORUS\.(?:MSG|ACK\.[^.]+)\.(\d+)\./.exec(frame.replyTo ?? '')?.[1] ?? '?';
      const late = frame.headers.fields.has(LATE_HEADER) ? '\tlate' : '';
      io.out(`${offset}\t${frame.subject}\t${decoder.decode(frame.payload)}${late}`);
      if (values.durable !== undefined && frame.replyTo !== undefined) client.write(`PUB ${frame.replyTo} 0\r\n\r\n`);
      received++;
    }
    return 0;
  });
  return result ?? 1;
}

export async function historyCommand(argv: readonly string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseArgs({ args: [...argv], options: { ...COMMON_OPTIONS, from: { type: 'string' }, limit: { type: 'string' } }, allowPositionals: true });
  if (values.help === true) return help(io, HISTORY_HELP);
  if (positionals.length !== 1) throw new UsageError(`history takes one topic, got ${positionals.length} arguments`);
  const from = values.from === undefined ? 1 : parseInteger(values.from, '--from', 1, Number.MAX_SAFE_INTEGER);
  const limit = values.limit === undefined ? 100 : parseInteger(values.limit, '--limit', 0, 1_000_000);
  const result = await withClient(values, io, (client) => client.historyPaged(positionals[0]!, from, limit, TIMEOUT_MS));
  if (result === undefined) return 1;
  for (const entry of result.entries) io.out(`${entry.offset}\t${new Date(entry.timestampMs).toISOString()}\t${decoder.decode(entry.payload)}`);
  io.out(`(${result.entries.length} messages; the topic's last offset is ${result.lastOffset})`);
  return 0;
}

export async function statusCommand(argv: readonly string[], io: CliIo): Promise<number> {
  const { values } = parseArgs({ args: [...argv], options: COMMON_OPTIONS, allowPositionals: false });
  if (values.help === true) return help(io, STATUS_HELP);
  const targets =
    values.server !== undefined
      ? [{ name: values.server, ...serverOf(values) }]
      : clusterConfigFrom(values.config).nodes.map((node) => ({ name: `n${node.id}`, host: node.host, port: node.clientPort }));
  const security = securityOf(values);
  const rows = await Promise.all(
    targets.map(async (target) => {
      try {
        const client = await ChorusClient.connect(target.host, target.port, 2000, security);
        try {
          return { target, status: await client.status(2000) };
        } finally {
          client.close();
        }
      } catch (error) {
        return { target, error: (error as Error).message };
      }
    }),
  );
  const highest = Math.max(0, ...rows.map((row) => (row.status === undefined ? 0 : Number(row.status.commitIndex))));
  const table = [['node', 'address', 'role', 'term', 'leader', 'commit', 'lag', 'clock', 'streams', 'messages']];
  for (const row of rows) {
    const address = `${row.target.host}:${row.target.port}`;
    if (row.status === undefined) {
      table.push([row.target.name, address, 'down', ...Array<string>(table[0]!.length - 3).fill('-')]);
      continue;
    }
    const status = row.status;
    const commit = Number(status.commitIndex);
    const streams = (status.streams ?? {}) as { streams?: number; messages?: number };
    const cells = [String(streams.streams ?? 0), String(streams.messages ?? 0)];
    table.push([`n${String(status.node)}`, address, String(status.role), String(status.term), String(status.leader || '-'), String(commit), String(highest - commit), clockCell(status.clock), ...cells]);
  }
  const widths = table[0]!.map((_, column) => Math.max(...table.map((row) => row[column]!.length)));
  for (const row of table) io.out(row.map((cell, column) => cell.padEnd(widths[column]!)).join('  ').trimEnd());
  // Why a node is down goes to stderr, a line each, so the table keeps one cell per column.
  for (const row of rows) if (row.status === undefined) io.err(`chorus: ${row.target.name}: ${row.error ?? 'no status'}`);
  return rows.some((row) => row.status === undefined) ? 1 : 0;
}

/** The node's clock offset from the majority's, and whether it refuses to lead because of it. */
function clockCell(clock: unknown): string {
  const fields = (clock ?? {}) as { offsetFromMajorityMs?: number | null; refusesToLead?: string | null };
  if (typeof fields.offsetFromMajorityMs !== 'number') return '?';
  const offset = `${fields.offsetFromMajorityMs >= 0 ? '+' : ''}${fields.offsetFromMajorityMs.toFixed(0)}ms`;
  return fields.refusesToLead ? `${offset} (won't lead)` : offset;
}

export function help(io: CliIo, text: string): number {
  io.out(text);
  return 0;
}
