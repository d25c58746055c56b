// What a node logs of its own accord: elections, leadership changes, refusals
// to lead, limits hit and slow consumers. The core keeps no log (it must stay
// pure), so the runner calls afterStep() once per pump and this compares what
// the core shows now with what it showed last time; a change is one line.
// docs/real-mode.md lists every event and what it means.

import type { BrokerNode } from '../node/broker-node.js';
import type { CommandFailed } from '../node/peer-messages.js';
import { NO_NODE, type Role } from '../raft/types.js';
import type { Logger } from './logger.js';

/** A limit hit again within this long after its last line is counted, not logged, so a flood is a line every few seconds. */
const REPEAT_QUIET_MS = 10_000;

export class NodeEvents {
  private role: Role;
  private term: number;
  private leader: number;
  private refusal: string | undefined;
  private slowConsumers: number;
  private authRefusals: number;
  /** limit -> when its last line went out, and how many hits since. */
  private readonly limits = new Map<string, { loggedMs: number; since: number }>();

  constructor(
    private readonly core: BrokerNode,
    private readonly logger: Logger,
    private readonly onLeaderChange: () => void,
  ) {
    const raft = core.raft;
    this.role = raft.role();
    this.term = raft.term();
    this.leader = raft.leader();
    this.refusal = raft.leadershipRefused();
    this.slowConsumers = core.slowConsumerCount;
    this.authRefusals = core.authRefusalCount;
  }

  /** Logs what changed since the last call. Cheap when nothing did: a handful of comparisons. */
  afterStep(): void {
    const raft = this.core.raft;
    const role = raft.role();
    const term = raft.term();
    const leader = raft.leader();
    if (role !== this.role || term !== this.term || leader !== this.leader) this.raftChanged(role, term, leader);
    const refusal = raft.leadershipRefused();
    if (refusal !== this.refusal) {
      this.refusal = refusal;
      if (refusal !== undefined) this.logger.warn('refuses-to-lead', `refuses to lead: ${refusal}`, { reason: refusal });
      else this.logger.info('may-lead', 'may lead again: its clock is back within maxClockOffsetMs of the majority');
    }
    const slow = this.core.slowConsumerCount;
    if (slow > this.slowConsumers) {
      const cut = slow - this.slowConsumers;
      this.slowConsumers = slow;
      this.logger.warn('slow-consumer', `cut ${cut === 1 ? 'a client' : `${cut} clients`} as a slow consumer (over node.sessionPendingBytesMax of unsent output); ${slow} since start`, { cut, total: slow });
    }
    const refused = this.core.authRefusalCount;
    if (refused > this.authRefusals) this.clientsRefused(refused);
  }

  /**
   * Clients refused for bad or missing credentials: the first at once, then a
   * line a minute at most with the count since, so that someone guessing
   * passwords cannot flood the log too.
   */
  private clientsRefused(total: number): void {
    const nowMs = Date.now();
    const entry = this.limits.get('auth');
    const fresh = total - this.authRefusals;
    this.authRefusals = total;
    if (entry !== undefined && nowMs - entry.loggedMs < REPEAT_QUIET_MS) {
      entry.since += fresh;
      return;
    }
    const count = fresh + (entry?.since ?? 0);
    this.logger.warn('auth-refused', `refused ${count === 1 ? 'a client' : `${count} clients`} with missing or wrong credentials (Authorization Violation); ${total} since start`, { refused: count, total });
    this.limits.set('auth', { loggedMs: nowMs, since: 0 });
  }

  /** A publish from a client of this node failed: a limit it hit is logged, other failures are the client's to see. */
  publishFailed(failure: CommandFailed, nowMs: number): void {
    if (failure.reason !== 'overloaded' && failure.reason !== 'too-large') return;
    const entry = this.limits.get(failure.reason);
    if (entry !== undefined && nowMs - entry.loggedMs < REPEAT_QUIET_MS) {
      entry.since++;
      return;
    }
    const earlier = entry === undefined || entry.since === 0 ? '' : ` (and ${entry.since} more since the last such line)`;
    this.logger.warn('limit-hit', `refused a publish, ${failure.reason}: ${failure.message}${earlier}`, { limit: failure.reason, detail: failure.message, repeats: entry?.since ?? 0 });
    this.limits.set(failure.reason, { loggedMs: nowMs, since: 0 });
  }

  private raftChanged(role: Role, term: number, leader: number): void {
    const termFields = { role, term, leader };
    if (role !== this.role && (role === 'precandidate' || role === 'candidate')) {
      const how = role === 'precandidate' ? `asks for pre-votes for term ${term + 1}` : `campaigns for votes in term ${term}`;
      this.logger.info('election', `started an election: ${how}`, termFields);
    }
    const self = this.core.raft.id;
    if (leader !== this.leader) {
      this.onLeaderChange();
      if (leader === self) this.logger.info('leader-changed', `became leader in term ${term}`, termFields);
      else if (this.leader === self) this.logger.info('leader-changed', `stepped down as leader in term ${term}${leader === NO_NODE ? '' : `; n${leader} leads`}`, termFields);
      else if (leader !== NO_NODE) this.logger.info('leader-changed', `follows n${leader} as leader in term ${term}`, termFields);
      else this.logger.info('leader-changed', `lost its leader n${this.leader} in term ${term}; no leader known`, termFields);
    } else if (term !== this.term) {
      this.logger.debug('term-changed', `moved to term ${term} as ${role}`, termFields);
    }
    this.role = role;
    this.term = term;
    this.leader = leader;
  }
}
