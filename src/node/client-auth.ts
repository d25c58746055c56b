// Client authentication and authorization, as nats-server does them in
// CONNECT: either one shared token (`auth_token`), or named users with a
// password (`user`, `pass`), each user with optional publish and subscribe
// permissions on subjects.
//
// A stored secret is either plain text or a bcrypt hash (`$2a$`, `$2b$`,
// `$2y$`), as in nats-server's configuration. The core compares plain
// secrets itself; a bcrypt comparison costs tens of milliseconds of CPU on
// purpose, so the core never runs one: it hands the pair to its driver
// (BrokerNode.takeCredentialChecks) and waits for the verdict, holding the
// client's later commands meanwhile. That keeps the core pure and keeps one
// slow hash from stalling every other connection and the Raft heartbeats.
//
// Permissions follow nats-server's rules. A subject is allowed when the allow
// list is empty or one of its patterns covers it, and no deny pattern covers
// it. A SUB must be covered by the allow list as a whole (subscribing to
// `orders.>` needs an allow pattern that covers all of it); a SUB that only
// overlaps a deny pattern is accepted, and the denied subjects are filtered
// out of its deliveries.

import { subjectMatches } from '../broker/subjects.js';
import { isValidSubject } from '../protocol/client-subjects.js';

export interface SubjectPermission {
  /** Patterns a subject must fall under; empty allows every subject. */
  readonly allow: readonly string[];
  /** Patterns a subject must not fall under; they win over allow. */
  readonly deny: readonly string[];
}

export interface Permissions {
  readonly publish: SubjectPermission;
  readonly subscribe: SubjectPermission;
}

export interface ClientUser {
  readonly user: string;
  /** Plain text, or a bcrypt hash. */
  readonly password: string;
  /** Undefined: the user may publish and subscribe to everything. */
  readonly permissions: Permissions | undefined;
}

/** How clients prove who they are. Exactly one of token and users is set. */
export type ClientAuthOptions =
  | { readonly kind: 'token'; readonly token: string }
  | { readonly kind: 'users'; readonly users: readonly ClientUser[] };

/** nats-server's error for a client that fails to authenticate or speaks before it has. */
export const AUTHORIZATION_VIOLATION = 'Authorization Violation';

/**
 * What a CONNECT's credentials come to: accepted (with the user's
 * permissions), refused, or waiting on a bcrypt comparison the driver must
 * run.
 */
export type CredentialVerdict =
  | { readonly kind: 'accepted'; readonly user: string; readonly permissions: Permissions | undefined }
  | { readonly kind: 'refused' }
  | { readonly kind: 'hashed'; readonly user: string; readonly permissions: Permissions | undefined; readonly given: string; readonly hash: string };

const BCRYPT_PREFIX = /^\$2[aby]\$\d\d\$/;

export function isBcryptHash(secret: string): boolean {
  return BCRYPT_PREFIX.test(secret);
}

/** Judges CONNECT's credentials against the configured ones. Never throws. */
export function judgeCredentials(auth: ClientAuthOptions, connect: { readonly user?: string; readonly pass?: string; readonly authToken?: string }): CredentialVerdict {
  if (auth.kind === 'token') {
    return compareSecret('', undefined, connect.authToken, auth.token);
  }
  const user = connect.user === undefined ? undefined : auth.users.find((candidate) => candidate.user === connect.user);
  if (user === undefined) return { kind: 'refused' };
  return compareSecret(user.user, user.permissions, connect.pass, user.password);
}

function compareSecret(user: string, permissions: Permissions | undefined, given: string | undefined, stored: string): CredentialVerdict {
  if (given === undefined) return { kind: 'refused' };
  if (isBcryptHash(stored)) return { kind: 'hashed', user, permissions, given, hash: stored };
  return sameText(given, stored) ? { kind: 'accepted', user, permissions } : { kind: 'refused' };
}

/**
 * Equality that looks at every character of the stored secret whatever the
 * given one is, so the time it takes says nothing about how long a prefix
 * matched.
 */
function sameText(given: string, stored: string): boolean {
  let difference = given.length ^ stored.length;
  for (let i = 0; i < stored.length; i++) difference |= (given.charCodeAt(i) || 0) ^ stored.charCodeAt(i);
  return difference === 0;
}

/** A literal subject a client publishes to: allowed by the user's permissions? */
export function mayPublish(permissions: Permissions | undefined, subject: string): boolean {
  if (permissions === undefined) return true;
  const { allow, deny } = permissions.publish;
  if (allow.length > 0 && !allow.some((pattern) => subjectMatches(pattern, subject))) return false;
  return !deny.some((pattern) => subjectMatches(pattern, subject));
}

/**
 * A subscription subject (wildcards allowed): may it be made at all? Every
 * subject it could match must be allowed, and it must not lie wholly inside a
 * deny pattern. Overlapping a deny pattern is not refused here; see
 * mayReceive.
 */
export function maySubscribe(permissions: Permissions | undefined, subject: string): boolean {
  if (permissions === undefined) return true;
  const { allow, deny } = permissions.subscribe;
  if (allow.length > 0 && !allow.some((pattern) => subjectWithin(subject, pattern))) return false;
  return !deny.some((pattern) => subjectWithin(subject, pattern));
}

/** A message's literal subject: may this user's subscriptions be handed it? */
export function mayReceive(permissions: Permissions | undefined, subject: string): boolean {
  if (permissions === undefined || permissions.subscribe.deny.length === 0) return true;
  return !permissions.subscribe.deny.some((pattern) => subjectMatches(pattern, subject));
}

/**
 * True when every subject `inner` can match is matched by `outer`, both being
 * patterns: token by token, `>` in outer covers whatever remains (one token or
 * more), `*` in outer covers any single token of inner but not a `>`, and a
 * literal covers only itself.
 */
export function subjectWithin(inner: string, outer: string): boolean {
  if (!isValidSubject(inner) || !isValidSubject(outer)) return false;
  const innerTokens = inner.split('.');
  const outerTokens = outer.split('.');
  for (let i = 0; i < outerTokens.length; i++) {
    const token = outerTokens[i]!;
    if (token === '>') return innerTokens.length > i;
    const innerToken = innerTokens[i];
    if (innerToken === undefined || innerToken === '>') return false;
    if (token !== '*' && token !== innerToken) return false;
  }
  return innerTokens.length === outerTokens.length;
}

/** nats-server's wording of a refused publish. */
export function publishViolation(subject: string): string {
  return `Permissions Violation for Publish to "${subject}"`;
}

/** nats-server's wording of a refused subscription, naming the queue group when there is one. */
export function subscribeViolation(subject: string, queue?: string): string {
  return queue === undefined ? `Permissions Violation for Subscription to "${subject}"` : `Permissions Violation for Subscription to "${subject}" using queue "${queue}"`;
}
