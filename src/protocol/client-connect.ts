// The JSON argument of CONNECT, checked the way nats-server's json.Unmarshal
// into its ClientOpts struct checks it: the text must be one JSON object; a
// known field of the wrong type is an error; JSON null leaves a field unset;
// unknown fields are ignored (so newer clients can send options we do not
// know yet).

import type { ConnectOptions } from './client-commands.js';

type FieldKind = 'boolean' | 'string' | 'integer';

/** Wire name, TypeScript name, and the JSON type the wire field must have. */
const FIELDS: readonly (readonly [string, keyof ConnectOptions, FieldKind])[] = [
  ['verbose', 'verbose', 'boolean'],
  ['pedantic', 'pedantic', 'boolean'],
  ['tls_required', 'tlsRequired', 'boolean'],
  ['echo', 'echo', 'boolean'],
  ['headers', 'headers', 'boolean'],
  ['no_responders', 'noResponders', 'boolean'],
  ['protocol', 'protocol', 'integer'],
  ['name', 'name', 'string'],
  ['lang', 'lang', 'string'],
  ['version', 'version', 'string'],
  ['user', 'user', 'string'],
  ['pass', 'pass', 'string'],
  ['auth_token', 'authToken', 'string'],
  ['jwt', 'jwt', 'string'],
  ['nkey', 'nkey', 'string'],
  ['sig', 'sig', 'string'],
];

export type ConnectParseResult =
  | { readonly ok: true; readonly options: ConnectOptions }
  | { readonly ok: false; readonly reason: string };

/** Parse CONNECT's argument text. Never throws. */
export function parseConnectOptions(text: string): ConnectParseResult {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    const why = error instanceof Error ? error.message : 'unparseable';
    return { ok: false, reason: `CONNECT argument is not valid JSON (${why})` };
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    return { ok: false, reason: 'CONNECT argument must be a JSON object' };
  }
  const source = parsed as Record<string, unknown>;
  const options: Record<string, boolean | string | number> = {};
  for (const [wireName, name, kind] of FIELDS) {
    if (!Object.hasOwn(source, wireName)) continue;
    const value = source[wireName];
    if (value === null) continue;
    if (!hasKind(value, kind)) {
      return { ok: false, reason: `CONNECT option "${wireName}" must be ${article(kind)} ${kind}` };
    }
    options[name] = value;
  }
  return { ok: true, options: options as ConnectOptions };
}

function hasKind(value: unknown, kind: FieldKind): value is boolean | string | number {
  switch (kind) {
    case 'boolean':
      return typeof value === 'boolean';
    case 'string':
      return typeof value === 'string';
    case 'integer':
      return typeof value === 'number' && Number.isSafeInteger(value);
  }
}

function article(kind: FieldKind): string {
  return kind === 'integer' ? 'an' : 'a';
}

/** The CONNECT JSON for `options`, under the wire names (the inverse of parseConnectOptions). */
export function connectOptionsToJson(options: ConnectOptions): string {
  const wire: Record<string, boolean | string | number> = {};
  for (const [wireName, name] of FIELDS) {
    const value = options[name];
    if (value !== undefined) wire[wireName] = value;
  }
  return JSON.stringify(wire);
}
