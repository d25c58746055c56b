// Simulated clients that manage streams through the protocol, as a user's
// program would, on JetStream's API subjects: one creates the workload's
// streams before the publishers start, another purges streams at planned
// times and records each purge and its outcome in the client history, so the
// history checker allows exactly the removals a purge that may have happened
// explains. Both run under the same faults as every other client.

import type { HistoryRecorder } from './history.js';
import type { PlannedPurge } from './broker-workload.js';
import { topicStreamName } from './broker-workload.js';
import { Connection, otherNode, parseJson, type ClientLink } from './clients.js';
import type { SimRandom } from './random.js';
import { streamConfigToJson, type StreamConfig } from '../src/broker/stream-config.js';
import type { NodeId } from '../src/raft/types.js';

const encoder = new TextEncoder();
/** Failures after which a change may still take effect: it reached a leader, whose answer was lost. */
const MAYBE_TAKEN: ReadonlySet<unknown> = new Set(['timeout', 'leader-changed']);

type Answer = { readonly kind: 'reply'; readonly body: Record<string, unknown> } | { readonly kind: 'timeout' };

/**
 * Sends one API request from a fresh connection to some node, and calls back
 * once with the answer, or a timeout (the connection dying counts as one).
 * Returns the node, or undefined when the node it picked is down.
 */
function apiRequest(
  link: ClientLink,
  random: SimRandom,
  inbox: string,
  subject: string,
  body: unknown,
  timeoutMs: number,
  onAnswer: (answer: Answer) => void,
): NodeId | undefined {
  let settled = false;
  const settle = (answer: Answer): void => {
    if (settled) return;
    settled = true;
    connection?.close();
    onAnswer(answer);
  };
  const connection = Connection.open(
    link,
    otherNode(random, link.nodeIds, undefined),
    (frame) => {
      if (frame.type === 'Msg' && frame.subject === inbox) settle({ kind: 'reply', body: parseJson(frame.payload) ?? {} });
    },
    () => settle({ kind: 'timeout' }),
  );
  if (connection === undefined) return undefined;
  const bytes = encoder.encode(JSON.stringify(body));
  connection.write(`SUB ${inbox} 1\r\nPUB ${subject} ${inbox} ${bytes.length}\r\n`);
  connection.write(bytes);
  connection.write('\r\n');
  link.after(timeoutMs, 'api-timeout', () => settle({ kind: 'timeout' }));
  return connection.node;
}

/** Creates the workload's streams, retrying each until the cluster has it, then says so once. */
export class SimStreamCreator {
  private pending: StreamConfig[];
  private stopped = false;
  private requests = 0;

  constructor(
    private readonly link: ClientLink,
    private readonly random: SimRandom,
    private readonly options: { readonly id: string; readonly streams: readonly StreamConfig[]; readonly timeoutMs: number },
  ) {
    this.pending = [...options.streams];
  }

  start(onReady: () => void): void {
    this.createNext(onReady);
  }

  stop(): void {
    this.stopped = true;
  }

  private createNext(onReady: () => void): void {
    if (this.stopped) return;
    const config = this.pending[0];
    if (config === undefined) return onReady();
    const inbox = `_INBOX.${this.options.id}.${++this.requests}`;
    const node = apiRequest(this.link, this.random, inbox, `$JS.API.STREAM.CREATE.${config.name}`, streamConfigToJson(config), this.options.timeoutMs, (answer) => {
      // Created, or created by an earlier try whose answer was lost (the same config again is no change).
      if (answer.kind === 'reply' && answer.body.error === undefined) this.pending = this.pending.slice(1);
      this.link.after(answer.kind === 'reply' && answer.body.error === undefined ? 0 : 100, 'stream-creator', () => this.createNext(onReady));
    });
    if (node === undefined) this.link.after(50, 'stream-creator', () => this.createNext(onReady));
  }
}

/** Purges streams at planned times, one try each: a purge that fails or times out may or may not have happened. */
export class SimPurger {
  purged = 0;
  private stopped = false;
  private requests = 0;

  constructor(
    private readonly link: ClientLink,
    private readonly history: HistoryRecorder,
    private readonly random: SimRandom,
    private readonly options: { readonly id: string; readonly purges: readonly PlannedPurge[]; readonly timeoutMs: number },
  ) {}

  start(): void {
    for (const purge of this.options.purges) this.link.after(purge.atMs - this.link.nowMs(), 'purger', () => this.purge(purge));
  }

  stop(): void {
    this.stopped = true;
  }

  private purge(purge: PlannedPurge): void {
    if (this.stopped) return;
    const inbox = `_INBOX.${this.options.id}.${++this.requests}`;
    const body = purge.keep === undefined ? {} : { keep: purge.keep };
    let op: number | undefined;
    const node = apiRequest(this.link, this.random, inbox, `$JS.API.STREAM.PURGE.${topicStreamName(purge.topic)}`, body, this.options.timeoutMs, (answer) => {
      if (this.stopped || op === undefined || node === undefined) return;
      const at = { timeMs: this.link.nowMs(), client: this.options.id, node, op };
      if (answer.kind === 'timeout') return this.history.purgeTimeout(at);
      const error = answer.body.error as { description?: string; reason?: string } | undefined;
      if (error === undefined && typeof answer.body.purged === 'number') {
        this.purged++;
        return this.history.purgeOk({ ...at, purged: answer.body.purged });
      }
      // A refusal for good, or no leader to take it at all, left the stream as it was.
      this.history.purgeFail({ ...at, error: error?.description ?? 'unreadable answer', retryable: MAYBE_TAKEN.has(error?.reason) });
    });
    if (node === undefined) {
      // The node it picked is down: pick again a little later.
      this.link.after(50, 'purger', () => this.purge(purge));
      return;
    }
    op = this.history.purgeInvoke({ timeMs: this.link.nowMs(), client: this.options.id, node, topic: purge.topic, ...(purge.keep === undefined ? {} : { keep: purge.keep }) });
  }
}
