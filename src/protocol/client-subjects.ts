// Subject rules for the client protocol.
//
// A subject is one or more tokens separated by '.'. No token is empty. No
// character is whitespace (Unicode spaces included) or an ASCII control
// character. The wildcards '*' (one token) and '>' (one or more trailing
// tokens) are only wildcards when they are a whole token, and '>' only as the
// last token.
//
// Where chorus is stricter than nats-server, on purpose: nats-server treats a
// '*' or '>' inside a longer token ('foo*.bar') as a literal character, and
// checks publish subjects only in pedantic mode. The protocol documentation
// calls such subjects invalid, and a broker that stores subjects in a
// replicated log is better off refusing them at the door, so chorus refuses a
// wildcard character anywhere but as a whole token, and refuses a publish
// subject with any wildcard.

const TOKEN_SEPARATOR = '.';
const WILDCARD_ONE = '*';
const WILDCARD_TAIL = '>';

/** A subject a client may subscribe to: wildcards allowed as whole tokens, '>' last. */
export function isValidSubject(subject: string): boolean {
  if (subject.length === 0) return false;
  const tokens = subject.split(TOKEN_SEPARATOR);
  for (let index = 0; index < tokens.length; index++) {
    const token = tokens[index] as string;
    if (!isValidToken(token)) return false;
    if (token === WILDCARD_TAIL && index !== tokens.length - 1) return false;
  }
  return true;
}

/** A subject a client may publish to (or name as a reply subject): valid, and literal. */
export function isValidPublishSubject(subject: string): boolean {
  return isValidSubject(subject) && !subject.includes(WILDCARD_ONE) && !subject.includes(WILDCARD_TAIL);
}

/** Whitespace of any kind (Unicode included) and the ASCII control characters. */
const FORBIDDEN_IN_TOKEN = /[\s\x00-\x1f\x7f]/u;

function isValidToken(token: string): boolean {
  if (token.length === 0) return false;
  if (FORBIDDEN_IN_TOKEN.test(token)) return false;
  if (token.length > 1 && (token.includes(WILDCARD_ONE) || token.includes(WILDCARD_TAIL))) return false;
  return true;
}
