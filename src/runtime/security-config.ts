// The security sections of cluster.yaml (docs/security.md):
//
//   authorization:            # clients must say who they are in CONNECT
//     token: s3cret           # either one shared token (plain or bcrypt) ...
//     users:                  # ... or named users, never both
//       - user: alice
//         password: $2a$11$...            # bcrypt (chorus passwd) or plain text
//         permissions:
//           publish: [orders.>]           # a list is the allow list
//           subscribe: { allow: [orders.>, _INBOX.>], deny: [orders.secret] }
//   tls:                      # PEM files, relative to the file's folder
//     cert: certs/node.pem
//     key: certs/node-key.pem
//     ca: certs/ca.pem        # the authority the nodes' (and clients') certificates come from
//     clients: true           # the client port requires TLS (NATS's tls_required)
//     peers: true             # nodes speak to each other over TLS, each checking the other's certificate
//     verifyClients: false    # clients must present a certificate the CA signed
//
// A node may name its own certificate: nodes[].tls: { cert, key }.

import * as fs from 'node:fs';
import * as path from 'node:path';
import type { ClientAuthOptions, ClientUser, Permissions, SubjectPermission } from '../node/client-auth.js';
import { isValidSubject } from '../protocol/client-subjects.js';
import { describe, type FieldPath, type FieldReader } from './yaml-fields.js';

export interface TlsConfig {
  /** Absolute paths of PEM files. */
  readonly cert: string;
  readonly key: string;
  readonly ca: string | undefined;
  /** The client port requires TLS. */
  readonly clients: boolean;
  /** Peer connections use TLS, and each side checks the other's certificate against `ca`. */
  readonly peers: boolean;
  /** Clients must present a certificate `ca` signed. */
  readonly verifyClients: boolean;
}

/** A node's own certificate and key, when it names them (absolute paths). */
export interface TlsFiles {
  readonly cert: string;
  readonly key: string;
}

const NO_PERMISSION: SubjectPermission = { allow: [], deny: [] };

export function readAuthorization(reader: FieldReader, value: unknown): ClientAuthOptions | undefined {
  if (value === undefined || value === null) return undefined;
  const at = ['authorization'];
  if (!isMapping(value)) {
    reader.problem(at, `must be a mapping with token or users, got ${describe(value)}`);
    return undefined;
  }
  reader.unknownKeys(at, value, ['token', 'users']);
  if (value.token !== undefined && value.users !== undefined) {
    reader.problem(at, 'give either token or users, not both (a client proves itself one way)');
    return undefined;
  }
  if (value.token !== undefined) return { kind: 'token', token: secretField(reader, [...at, 'token'], value.token) };
  if (!Array.isArray(value.users) || value.users.length === 0) {
    reader.problem([...at, 'users'], `must be a list of at least one user (or give token instead), got ${describe(value.users)}`);
    return undefined;
  }
  const users: ClientUser[] = [];
  const seen = new Map<string, number>();
  value.users.forEach((item: unknown, index) => {
    const userAt = [...at, 'users', index];
    if (!isMapping(item)) {
      reader.problem(userAt, `must be a mapping with user, password and optionally permissions, got ${describe(item)}`);
      return;
    }
    reader.unknownKeys(userAt, item, ['user', 'password', 'permissions']);
    const user = reader.string([...userAt, 'user'], item.user);
    const earlier = seen.get(user);
    if (earlier !== undefined) reader.problem([...userAt, 'user'], `${user} is already a user, at users[${earlier}]`);
    seen.set(user, index);
    users.push({ user, password: secretField(reader, [...userAt, 'password'], item.password), permissions: readPermissions(reader, [...userAt, 'permissions'], item.permissions) });
  });
  return { kind: 'users', users };
}

function secretField(reader: FieldReader, at: FieldPath, value: unknown): string {
  // A number-looking secret reads as a number in YAML: take its text rather than refuse it.
  if (typeof value === 'number') return String(value);
  return reader.string(at, value);
}

function readPermissions(reader: FieldReader, at: FieldPath, value: unknown): Permissions | undefined {
  if (value === undefined || value === null) return undefined;
  if (!isMapping(value)) {
    reader.problem(at, `must be a mapping with publish and/or subscribe, got ${describe(value)}`);
    return undefined;
  }
  reader.unknownKeys(at, value, ['publish', 'subscribe']);
  return { publish: readSubjectPermission(reader, [...at, 'publish'], value.publish), subscribe: readSubjectPermission(reader, [...at, 'subscribe'], value.subscribe) };
}

/**
 * A list of subjects is the allow list, as in nats-server; a mapping gives
 * allow and deny. Absent: everything is allowed.
 */
function readSubjectPermission(reader: FieldReader, at: FieldPath, value: unknown): SubjectPermission {
  if (value === undefined || value === null) return NO_PERMISSION;
  if (Array.isArray(value)) return { allow: subjectList(reader, at, value), deny: [] };
  if (typeof value === 'string') return { allow: subjectList(reader, at, [value]), deny: [] };
  if (!isMapping(value)) {
    reader.problem(at, `must be a list of subjects or a mapping with allow and deny, got ${describe(value)}`);
    return NO_PERMISSION;
  }
  reader.unknownKeys(at, value, ['allow', 'deny']);
  const list = (key: 'allow' | 'deny'): string[] => {
    const field = value[key];
    if (field === undefined || field === null) return [];
    if (typeof field === 'string') return subjectList(reader, [...at, key], [field]);
    if (!Array.isArray(field)) {
      reader.problem([...at, key], `must be a list of subjects, got ${describe(field)}`);
      return [];
    }
    return subjectList(reader, [...at, key], field);
  };
  return { allow: list('allow'), deny: list('deny') };
}

function subjectList(reader: FieldReader, at: FieldPath, values: readonly unknown[]): string[] {
  const subjects: string[] = [];
  values.forEach((subject, index) => {
    if (typeof subject === 'string' && isValidSubject(subject)) subjects.push(subject);
    else reader.problem([...at, index], `must be a subject (tokens separated by '.', wildcards * and > as whole tokens), got ${describe(subject)}`);
  });
  return subjects;
}

export function readTls(reader: FieldReader, value: unknown, baseDir: string): TlsConfig | undefined {
  if (value === undefined || value === null) return undefined;
  const at = ['tls'];
  if (!isMapping(value)) {
    reader.problem(at, `must be a mapping with cert, key and ca, got ${describe(value)}`);
    return undefined;
  }
  reader.unknownKeys(at, value, ['cert', 'key', 'ca', 'clients', 'peers', 'verifyClients']);
  const flag = (key: 'clients' | 'peers' | 'verifyClients', fallback: boolean): boolean => {
    const field = value[key];
    if (field === undefined) return fallback;
    if (typeof field === 'boolean') return field;
    reader.problem([...at, key], `must be true or false, got ${describe(field)}`);
    return fallback;
  };
  const config: TlsConfig = {
    cert: pemFile(reader, [...at, 'cert'], value.cert, baseDir),
    key: pemFile(reader, [...at, 'key'], value.key, baseDir),
    ca: value.ca === undefined ? undefined : pemFile(reader, [...at, 'ca'], value.ca, baseDir),
    clients: flag('clients', true),
    peers: flag('peers', true),
    verifyClients: flag('verifyClients', false),
  };
  if (config.ca === undefined && config.peers) reader.problem([...at, 'ca'], "is needed when tls.peers is true: each node checks the other nodes' certificates against it");
  if (config.ca === undefined && config.verifyClients) reader.problem([...at, 'ca'], "is needed when tls.verifyClients is true: clients' certificates are checked against it");
  return config;
}

/** nodes[].tls: this node's own certificate and key, in place of the cluster's. */
export function readNodeTls(reader: FieldReader, at: FieldPath, value: unknown, baseDir: string): TlsFiles | undefined {
  if (value === undefined || value === null) return undefined;
  if (!isMapping(value)) {
    reader.problem(at, `must be a mapping with cert and key, got ${describe(value)}`);
    return undefined;
  }
  reader.unknownKeys(at, value, ['cert', 'key']);
  return { cert: pemFile(reader, [...at, 'cert'], value.cert, baseDir), key: pemFile(reader, [...at, 'key'], value.key, baseDir) };
}

/** A PEM file's absolute path; it must be readable now, so a typo is said before any node starts. */
function pemFile(reader: FieldReader, at: FieldPath, value: unknown, baseDir: string): string {
  const name = reader.string(at, value);
  if (name === '') return '';
  const file = path.resolve(baseDir, name);
  try {
    fs.accessSync(file, fs.constants.R_OK);
  } catch (error) {
    reader.problem(at, `cannot read ${name}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
  return file;
}

function isMapping(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
