// Matching subscriptions to topics, with NATS wildcard semantics
// (docs.nats.io, "Subject-Based Messaging"):
//
//   - tokens are separated by '.', and compared exactly (case-sensitive);
//   - '*' as a whole token matches exactly one token, whatever it is;
//   - '>' as the last token matches one or more further tokens (so 'foo.>'
//     matches 'foo.bar' and 'foo.bar.baz' but not 'foo', and '>' alone
//     matches every subject).
//
// Which strings are subjects at all is decided by src/protocol/client-subjects.ts,
// reused here so the broker and the wire agree: a pattern must be a valid
// subject and a topic a valid literal one. That module is stricter than
// nats-server in one place (a '*' or '>' inside a longer token is refused, not
// taken literally), so such a pattern matches nothing here.

import { isValidPublishSubject, isValidSubject } from '../protocol/client-subjects.js';
import { assert } from '../raft/assert.js';

const SEPARATOR = '.';
const WILDCARD_ONE = '*';
const WILDCARD_TAIL = '>';

/** True when `pattern` (wildcards allowed) matches the literal `topic`. Invalid input matches nothing. */
export function subjectMatches(pattern: string, topic: string): boolean {
  if (!isValidSubject(pattern) || !isValidPublishSubject(topic)) return false;
  const patternTokens = pattern.split(SEPARATOR);
  const topicTokens = topic.split(SEPARATOR);
  for (let i = 0; i < patternTokens.length; i++) {
    const token = patternTokens[i] as string;
    // '>' is always last (validation guarantees it) and needs at least one token left to match.
    if (token === WILDCARD_TAIL) return topicTokens.length > i;
    if (i >= topicTokens.length) return false;
    if (token !== WILDCARD_ONE && token !== topicTokens[i]) return false;
  }
  return patternTokens.length === topicTokens.length;
}

/** One level of the token trie. Invariant: a node with no items and no children is pruned. */
interface TrieNode<T> {
  readonly literals: Map<string, TrieNode<T>>;
  star: TrieNode<T> | undefined;
  /** Items whose pattern ends at this node. */
  readonly exact: Set<T>;
  /** Items whose pattern is this node's path followed by '>'. */
  readonly tail: Set<T>;
}

function emptyNode<T>(): TrieNode<T> {
  return { literals: new Map(), star: undefined, exact: new Set(), tail: new Set() };
}

function isEmptyNode<T>(node: TrieNode<T>): boolean {
  return node.literals.size === 0 && node.star === undefined && node.exact.size === 0 && node.tail.size === 0;
}

/**
 * An index of items (subscriptions, say) by their subject pattern, answering
 * "which items match this topic" in time proportional to the topic's tokens
 * and the trie paths that can match, not to the number of patterns: at each
 * token only the literal child, the '*' child and the '>' set are visited.
 *
 * An item may be held under several patterns; match() lists it once. match()
 * lists items in an order that is a function of the additions and removals
 * made, so replicas that build the same index deliver in the same order.
 */
export class SubjectIndex<T> {
  private readonly root: TrieNode<T> = emptyNode();
  private count = 0;

  /** The number of (pattern, item) pairs held. */
  get size(): number {
    return this.count;
  }

  /** Adds `item` under `pattern`; false when the pair was already held. An invalid pattern is a programmer error. */
  add(pattern: string, item: T): boolean {
    assert(isValidSubject(pattern), `subscription pattern ${JSON.stringify(pattern)} is not a valid subject`);
    let node = this.root;
    const tokens = pattern.split(SEPARATOR);
    for (let i = 0; i < tokens.length; i++) {
      const token = tokens[i] as string;
      if (token === WILDCARD_TAIL) return this.addTo(node.tail, item);
      node = childFor(node, token);
    }
    return this.addTo(node.exact, item);
  }

  /** Removes `item` from under `pattern`; false when the pair was not held. */
  remove(pattern: string, item: T): boolean {
    if (!isValidSubject(pattern)) return false;
    const removed = removeFrom(this.root, pattern.split(SEPARATOR), 0, item);
    if (removed) this.count -= 1;
    return removed;
  }

  /** The distinct items whose pattern matches the literal `topic`; none for an invalid topic. */
  match(topic: string): T[] {
    if (!isValidPublishSubject(topic)) return [];
    const found = new Set<T>();
    collect(this.root, topic.split(SEPARATOR), 0, found);
    return [...found];
  }

  private addTo(set: Set<T>, item: T): boolean {
    if (set.has(item)) return false;
    set.add(item);
    this.count += 1;
    return true;
  }
}

function childFor<T>(node: TrieNode<T>, token: string): TrieNode<T> {
  if (token === WILDCARD_ONE) {
    node.star ??= emptyNode();
    return node.star;
  }
  let child = node.literals.get(token);
  if (child === undefined) {
    child = emptyNode();
    node.literals.set(token, child);
  }
  return child;
}

function collect<T>(node: TrieNode<T>, tokens: readonly string[], depth: number, found: Set<T>): void {
  if (depth === tokens.length) {
    for (const item of node.exact) found.add(item);
    return;
  }
  // At least one token remains, which is what '>' needs.
  for (const item of node.tail) found.add(item);
  const literal = node.literals.get(tokens[depth] as string);
  if (literal !== undefined) collect(literal, tokens, depth + 1, found);
  if (node.star !== undefined) collect(node.star, tokens, depth + 1, found);
}

/** Removes the pair below `node` and prunes the nodes it leaves empty, so removal gives memory back. */
function removeFrom<T>(node: TrieNode<T>, tokens: readonly string[], depth: number, item: T): boolean {
  if (depth === tokens.length) return node.exact.delete(item);
  const token = tokens[depth] as string;
  if (token === WILDCARD_TAIL) return node.tail.delete(item);
  const child = token === WILDCARD_ONE ? node.star : node.literals.get(token);
  if (child === undefined) return false;
  const removed = removeFrom(child, tokens, depth + 1, item);
  if (removed && isEmptyNode(child)) {
    if (token === WILDCARD_ONE) node.star = undefined;
    else node.literals.delete(token);
  }
  return removed;
}
