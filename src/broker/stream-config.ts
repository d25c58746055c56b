// A stream's configuration: its name, the subjects it captures, and the limits
// that decide what it keeps. Modelled on JetStream's StreamConfig, so a user
// who knows JetStream knows these: the external form (cluster.yaml, the CLI's
// --json, the admin protocol) spells every field as JetStream does
// (max_msgs, max_age, discard, ...), with durations in nanoseconds in JSON as
// JetStream's API has them. Inside, the fields are camelCase and durations are
// milliseconds, the unit of the leader timestamps that limits are measured in.
//
// Limits follow JetStream's conventions: -1 means unlimited for the counts and
// sizes (0 is taken as -1, as nats-server does), 0 means unlimited for
// max_age, and the duplicate window defaults to two minutes and never exceeds
// max_age when that is set.
//
// Only subjects a stream captures are stored. Two streams may never capture the
// same subject, so a published subject belongs to at most one stream and the
// choice never depends on the order streams were made in.

import { isValidSubject } from '../protocol/client-subjects.js';

export type DiscardPolicy = 'old' | 'new';

export interface StreamConfig {
  readonly name: string;
  /** Subject patterns, NATS wildcards allowed; never empty. */
  readonly subjects: readonly string[];
  /** Messages kept; -1 for no limit. */
  readonly maxMsgs: number;
  /** Bytes kept (see storedMessageBytes); -1 for no limit. */
  readonly maxBytes: number;
  /** Milliseconds of leader time a message is kept; 0 for no limit. */
  readonly maxAgeMs: number;
  /** Messages kept per subject; -1 for no limit. */
  readonly maxMsgsPerSubject: number;
  /** Bytes of one message (see storedMessageBytes); -1 for no limit. */
  readonly maxMsgSize: number;
  /** At a limit, 'old' removes the oldest messages and 'new' refuses the publish. */
  readonly discard: DiscardPolicy;
  /** Milliseconds of leader time a Nats-Msg-Id is remembered in this stream. */
  readonly duplicateWindowMs: number;
  /** Nodes holding the stream. Only the whole cluster is accepted for now. */
  readonly replicas: number;
}

/** JetStream's default duplicate window: two minutes. */
export const DEFAULT_DUPLICATE_WINDOW_MS = 120_000;
/** Bytes of a stream name, as JetStream limits it. */
export const STREAM_NAME_BYTES_MAX = 255;
/** Subjects one stream may list. */
export const STREAM_SUBJECTS_MAX = 256;
/**
 * Subjects never stored, whatever a stream says: chorus's own ($CHORUS.) and
 * request/reply inboxes (_INBOX.). A stream may not name a subject inside them;
 * a wildcard that reaches into them (such as '>') captures everything else.
 */
export const RESERVED_SUBJECT_PREFIXES: readonly string[] = ['$CHORUS.', '_INBOX.'];

const UNLIMITED = -1;
const NANOS_PER_MS = 1_000_000;

/** Every field a config may name, in the external (JetStream) spelling. */
export const STREAM_CONFIG_FIELDS = [
  'name',
  'subjects',
  'max_msgs',
  'max_bytes',
  'max_age',
  'max_msgs_per_subject',
  'max_msg_size',
  'discard',
  'duplicate_window',
  'num_replicas',
] as const;

/** The fields an update may change; JetStream refuses to change the others. */
export const STREAM_EDITABLE_FIELDS: readonly (keyof StreamConfig)[] = [
  'subjects',
  'maxMsgs',
  'maxBytes',
  'maxAgeMs',
  'maxMsgsPerSubject',
  'maxMsgSize',
  'discard',
  'duplicateWindowMs',
];

/** A config with JetStream's defaults for every field not given. */
export function streamConfigWithDefaults(fields: Partial<StreamConfig> & { readonly name: string }, replicas: number): StreamConfig {
  const maxAgeMs = fields.maxAgeMs ?? 0;
  const window = fields.duplicateWindowMs ?? DEFAULT_DUPLICATE_WINDOW_MS;
  return normalizeStreamConfig({
    name: fields.name,
    subjects: fields.subjects ?? [fields.name],
    maxMsgs: fields.maxMsgs ?? UNLIMITED,
    maxBytes: fields.maxBytes ?? UNLIMITED,
    maxAgeMs,
    maxMsgsPerSubject: fields.maxMsgsPerSubject ?? UNLIMITED,
    maxMsgSize: fields.maxMsgSize ?? UNLIMITED,
    discard: fields.discard ?? 'old',
    duplicateWindowMs: maxAgeMs > 0 && fields.duplicateWindowMs === undefined ? Math.min(window, maxAgeMs) : window,
    replicas: fields.replicas ?? replicas,
  });
}

/** Takes 0 as unlimited for counts and sizes, as nats-server does. */
export function normalizeStreamConfig(config: StreamConfig): StreamConfig {
  const unlimitedIfZero = (value: number): number => (value === 0 ? UNLIMITED : value);
  return {
    ...config,
    maxMsgs: unlimitedIfZero(config.maxMsgs),
    maxBytes: unlimitedIfZero(config.maxBytes),
    maxMsgsPerSubject: unlimitedIfZero(config.maxMsgsPerSubject),
    maxMsgSize: unlimitedIfZero(config.maxMsgSize),
  };
}

/** Every problem with a config on its own (not against other streams), each a sentence naming the field. */
export function streamConfigProblems(config: StreamConfig): string[] {
  const problems: string[] = [];
  const nameProblem = streamNameProblem(config.name);
  if (nameProblem !== undefined) problems.push(nameProblem);
  problems.push(...subjectProblems(config.subjects));
  const limits: [string, number][] = [
    ['max_msgs', config.maxMsgs],
    ['max_bytes', config.maxBytes],
    ['max_msgs_per_subject', config.maxMsgsPerSubject],
    ['max_msg_size', config.maxMsgSize],
  ];
  for (const [field, value] of limits) {
    if (!Number.isSafeInteger(value) || value < UNLIMITED) problems.push(`${field} must be -1 (no limit) or a positive integer, got ${value}`);
  }
  for (const [field, value] of [['max_age', config.maxAgeMs], ['duplicate_window', config.duplicateWindowMs]] as const) {
    if (!Number.isSafeInteger(value) || value < 0) problems.push(`${field} must be a whole number of milliseconds, 0 or more, got ${value}`);
  }
  if (config.maxAgeMs > 0 && config.duplicateWindowMs > config.maxAgeMs) {
    problems.push(`duplicate_window (${config.duplicateWindowMs} ms) must not exceed max_age (${config.maxAgeMs} ms)`);
  }
  if (config.discard !== 'old' && config.discard !== 'new') problems.push(`discard must be "old" or "new", got ${JSON.stringify(config.discard)}`);
  if (!Number.isSafeInteger(config.replicas) || config.replicas < 1) problems.push(`num_replicas must be a positive integer, got ${config.replicas}`);
  return problems;
}

/** Why a name cannot name a stream, or undefined. JetStream's rule: no spaces, '.', '*', '>' or path separators. */
export function streamNameProblem(name: string): string | undefined {
  if (typeof name !== 'string' || name.length === 0) return 'a stream needs a name';
  if (new TextEncoder().encode(name).length > STREAM_NAME_BYTES_MAX) return `stream name ${JSON.stringify(name)} is longer than ${STREAM_NAME_BYTES_MAX} bytes`;
  if (/[\s.*>/\\]/u.test(name) || /\p{Cc}/u.test(name)) {
    return `stream name ${JSON.stringify(name)} may not contain spaces, '.', '*', '>', '/', '\\' or control characters`;
  }
  return undefined;
}

function subjectProblems(subjects: readonly string[]): string[] {
  if (!Array.isArray(subjects) || subjects.length === 0) return ['subjects must list at least one subject'];
  if (subjects.length > STREAM_SUBJECTS_MAX) return [`subjects lists ${subjects.length}, more than ${STREAM_SUBJECTS_MAX}`];
  const problems: string[] = [];
  subjects.forEach((subject, i) => {
    if (typeof subject !== 'string' || !isValidSubject(subject)) {
      problems.push(`subjects[${i}] ${JSON.stringify(subject)} is not a valid subject`);
      return;
    }
    const reserved = RESERVED_SUBJECT_PREFIXES.find((prefix) => subject.startsWith(prefix) || `${subject}.` === prefix);
    if (reserved !== undefined) problems.push(`subjects[${i}] ${subject} is under ${reserved}, which is never stored`);
    for (let j = 0; j < i; j++) {
      const earlier = subjects[j]!;
      if (isValidSubject(earlier) && subjectsOverlap(earlier, subject)) problems.push(`subjects[${i}] ${subject} overlaps subjects[${j}] ${earlier}`);
    }
  });
  return problems;
}

/**
 * Whether some literal subject matches both patterns. Token by token: two
 * literals must be equal, '*' meets any one token, and '>' meets any one or
 * more tokens, so it overlaps whatever still has a token left.
 */
export function subjectsOverlap(a: string, b: string): boolean {
  const left = a.split('.');
  const right = b.split('.');
  for (let i = 0; ; i++) {
    if (i === left.length || i === right.length) return left.length === right.length;
    const x = left[i]!;
    const y = right[i]!;
    if (x === '>' || y === '>') return true;
    if (x !== '*' && y !== '*' && x !== y) return false;
  }
}

/** The first pair of subjects by which two streams would capture one subject, or undefined. */
export function overlappingSubjects(a: StreamConfig, b: StreamConfig): { readonly ours: string; readonly theirs: string } | undefined {
  for (const ours of a.subjects) {
    for (const theirs of b.subjects) if (subjectsOverlap(ours, theirs)) return { ours, theirs };
  }
  return undefined;
}

/** The fields an update would change that may not change, in external spelling. */
export function uneditableChanges(before: StreamConfig, after: StreamConfig): string[] {
  const changed: string[] = [];
  if (before.name !== after.name) changed.push('name');
  if (before.replicas !== after.replicas) changed.push('num_replicas');
  return changed;
}

// ---- The external form, spelled as JetStream spells it.

/** A config as JSON, in JetStream's field names and units (durations in nanoseconds). */
export interface StreamConfigJson {
  readonly name: string;
  readonly subjects: readonly string[];
  readonly max_msgs: number;
  readonly max_bytes: number;
  readonly max_age: number;
  readonly max_msgs_per_subject: number;
  readonly max_msg_size: number;
  readonly discard: DiscardPolicy;
  readonly duplicate_window: number;
  readonly num_replicas: number;
}

export function streamConfigToJson(config: StreamConfig): StreamConfigJson {
  return {
    name: config.name,
    subjects: [...config.subjects],
    max_msgs: config.maxMsgs,
    max_bytes: config.maxBytes,
    max_age: config.maxAgeMs * NANOS_PER_MS,
    max_msgs_per_subject: config.maxMsgsPerSubject,
    max_msg_size: config.maxMsgSize,
    discard: config.discard,
    duplicate_window: config.duplicateWindowMs * NANOS_PER_MS,
    num_replicas: config.replicas,
  };
}

export type StreamConfigParse = { readonly ok: true; readonly config: StreamConfig } | { readonly ok: false; readonly problems: readonly string[] };

/**
 * Reads a config from JSON-like data in JetStream's spelling: durations are
 * nanoseconds (a number) or a duration text such as "90s", "15m", "1h" or
 * "500ms"; fields not given take JetStream's defaults. Unknown fields and
 * values of the wrong type are refused, each named.
 */
export function streamConfigFromJson(value: unknown, replicas: number): StreamConfigParse {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return { ok: false, problems: ['a stream config must be an object'] };
  const record = value as Record<string, unknown>;
  const problems: string[] = [];
  for (const key of Object.keys(record)) {
    if (!(STREAM_CONFIG_FIELDS as readonly string[]).includes(key)) problems.push(`unknown field ${JSON.stringify(key)} (fields: ${STREAM_CONFIG_FIELDS.join(', ')})`);
  }
  const integer = (key: string): number | undefined => {
    const field = record[key];
    if (field === undefined) return undefined;
    if (typeof field !== 'number' || !Number.isSafeInteger(field)) {
      problems.push(`${key} must be an integer, got ${JSON.stringify(field)}`);
      return undefined;
    }
    return field;
  };
  const duration = (key: string): number | undefined => {
    const field = record[key];
    if (field === undefined) return undefined;
    const ms = durationToMs(field);
    if (ms === undefined) problems.push(`${key} must be nanoseconds (an integer) or a duration such as "90s", "15m" or "1h", got ${JSON.stringify(field)}`);
    return ms;
  };
  const name = record.name;
  if (typeof name !== 'string') problems.push(`name must be a string, got ${JSON.stringify(name)}`);
  const subjects = record.subjects;
  if (subjects !== undefined && (!Array.isArray(subjects) || !subjects.every((s) => typeof s === 'string'))) {
    problems.push(`subjects must be a list of strings, got ${JSON.stringify(subjects)}`);
  }
  const discard = record.discard;
  if (discard !== undefined && discard !== 'old' && discard !== 'new') problems.push(`discard must be "old" or "new", got ${JSON.stringify(discard)}`);
  const fields = {
    maxMsgs: integer('max_msgs'),
    maxBytes: integer('max_bytes'),
    maxAgeMs: duration('max_age'),
    maxMsgsPerSubject: integer('max_msgs_per_subject'),
    maxMsgSize: integer('max_msg_size'),
    duplicateWindowMs: duration('duplicate_window'),
    replicas: integer('num_replicas'),
  };
  if (problems.length > 0) return { ok: false, problems };
  const defined = Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== undefined)) as Partial<StreamConfig>;
  const config = streamConfigWithDefaults(
    { ...defined, name: name as string, ...(subjects === undefined ? {} : { subjects: subjects as string[] }), ...(discard === undefined ? {} : { discard: discard as DiscardPolicy }) },
    replicas,
  );
  const invalid = streamConfigProblems(config);
  return invalid.length > 0 ? { ok: false, problems: invalid } : { ok: true, config };
}

const DURATION_UNITS_MS: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** Nanoseconds, or a text such as "1h30m", "90s", "500ms", as whole milliseconds; undefined when neither. */
export function durationToMs(value: unknown): number | undefined {
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value) || value < 0 || value % NANOS_PER_MS !== 0) return undefined;
    return value / NANOS_PER_MS;
  }
  if (typeof value !== 'string') return undefined;
  const text = value.trim();
  if (text === '0') return 0;
  const parts = [...text.matchAll(/(\d+)(ms|s|m|h|d)/gy)];
  if (parts.length === 0 || parts.map((part) => part[0]).join('') !== text) return undefined;
  let ms = 0;
  for (const part of parts) ms += Number(part[1]) * DURATION_UNITS_MS[part[2]!]!;
  return Number.isSafeInteger(ms) ? ms : undefined;
}
