// A simulated client that purges streams at planned times, through the same
// JetStream API subject a real client would use, and records each purge and
// its outcome in the client history: the history checker then allows exactly
// the removals a purge that may have happened explains.
//
// One try per purge: a purge that times out or fails may or may not have taken
// effect, which the history says, and that is what purges under faults test.

import type { HistoryRecorder } from './history.js';
import type { PlannedPurge } from './broker-workload.js';
import { topicStreamName } from './broker-workload.js';
import { Connection, otherNode, parseJson, type ClientLink } from './clients.js';
import type { SimRandom } from './random.js';
import type { ServerFrame } from '../src/protocol/server-parser.js';

const encoder = new TextEncoder();
/** Failures after which the purge may still take effect: it reached a leader, whose answer was lost. */
const MAYBE_TAKEN: ReadonlySet<unknown> = new Set(['timeout', 'leader-changed']);

export class SimPurger {
  purged = 0;
  private stopped = false;
  private sequence = 0;

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
    const inbox = `_INBOX.${this.options.id}.${++this.sequence}`;
    let op: number | undefined;
    let settled = false;
    const connection = Connection.open(
      this.link,
      otherNode(this.random, this.link.nodeIds, undefined),
      (frame) => onFrame(frame),
      () => finish(() => this.history.purgeTimeout({ ...this.at(connection!), op: op! })),
    );
    if (connection === undefined) {
      // The node it picked is down: pick again a little later.
      this.link.after(50, 'purger', () => this.purge(purge));
      return;
    }
    const finish = (record: () => void): void => {
      if (settled || op === undefined || this.stopped) return;
      settled = true;
      record();
      connection.close();
    };
    const onFrame = (frame: ServerFrame): void => {
      if (frame.type !== 'Msg' || frame.subject !== inbox) return;
      const reply = parseJson(frame.payload) ?? {};
      const error = reply.error as { description?: string; reason?: string } | undefined;
      if (error === undefined && typeof reply.purged === 'number') {
        this.purged++;
        finish(() => this.history.purgeOk({ ...this.at(connection), op: op!, purged: reply.purged as number }));
      } else {
        // A refusal for good, or no leader to take it at all, left the stream as it was.
        const retryable = MAYBE_TAKEN.has(error?.reason);
        finish(() => this.history.purgeFail({ ...this.at(connection), op: op!, error: error?.description ?? 'unreadable answer', retryable }));
      }
    };
    op = this.history.purgeInvoke({ ...this.at(connection), topic: purge.topic, ...(purge.keep === undefined ? {} : { keep: purge.keep }) });
    const body = encoder.encode(JSON.stringify(purge.keep === undefined ? {} : { keep: purge.keep }));
    connection.write(`SUB ${inbox} 1\r\nPUB $JS.API.STREAM.PURGE.${topicStreamName(purge.topic)} ${inbox} ${body.length}\r\n`);
    connection.write(body);
    connection.write('\r\n');
    this.link.after(this.options.timeoutMs, 'purge-timeout', () => finish(() => this.history.purgeTimeout({ ...this.at(connection), op: op! })));
  }

  private at(connection: Connection): { timeMs: number; client: string; node: number } {
    return { timeMs: this.link.nowMs(), client: this.options.id, node: connection.node };
  }
}
