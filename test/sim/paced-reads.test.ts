import { describe, expect, it } from 'vitest';
import { checkHistory } from '../../sim/history-checker.js';
import { HistoryRecorder, historyFromJSON, historyToJSON, messageRef, type History } from '../../sim/history.js';

// HISTORY pacing: with an output budget, a node answers a read with as many
// messages as fit in the room left in the reader's budget (at least one). The
// history says the budget (outputBytesMax), and the checker allows a short
// answer only where the budget could have cut it, and only a true prefix.

const PAYLOAD = 'x'.repeat(40);
const COUNT = 10;

function pacedHistory(returned: readonly number[], outputBytesMax: number | undefined): History {
  const budget = outputBytesMax === undefined ? {} : { outputBytesMax };
  const r = new HistoryRecorder({ nodes: [1], dedupWindowMs: 1000, historyMessagesMax: 100, ...budget });
  let t = 0;
  for (let offset = 1; offset <= COUNT; offset++) {
    const op = r.publishInvoke({ timeMs: ++t, client: 'p1', node: 1, topic: 't', msgId: `m${offset}`, attempt: 1, payload: `${PAYLOAD}${offset}` });
    r.publishOk({ timeMs: ++t, op, offset, duplicate: false });
  }
  const op = r.historyReadInvoke({ timeMs: ++t, client: 'reader', node: 1, topic: 't', from: 1, limit: COUNT });
  r.historyReadOk({ timeMs: ++t, op, lastOffset: COUNT, messages: returned.map((offset) => messageRef(offset, `${PAYLOAD}${offset}`, `m${offset}`)) });
  const log = Array.from({ length: COUNT }, (_, k) => messageRef(k + 1, `${PAYLOAD}${k + 1}`, `m${k + 1}`));
  r.recordFinalLogs(++t, [{ node: 1, topics: [{ topic: 't', messages: log }] }]);
  return r.history();
}

const properties = (history: History): string[] => checkHistory(history).map((v) => v.property);

describe('history reads paced to the output budget', () => {
  it('allows a short answer that is a prefix of the read when the budget could not hold it all', () => {
    expect(properties(pacedHistory([1, 2, 3], 1024))).toEqual([]);
    expect(properties(pacedHistory([1, 2, 3], 2048))).toEqual([]);
  });

  it('holds a read to its whole page when the history names no budget, or one the page fits in many times', () => {
    expect(properties(pacedHistory([1, 2, 3], undefined))).toEqual(['History Read Mismatch']);
    expect(properties(pacedHistory([1, 2, 3], 4 * 1024 * 1024))).toEqual(['History Read Mismatch']);
  });

  it('catches a paced answer that skips a message, is empty, or is shorter than the budget makes it', () => {
    expect(properties(pacedHistory([1, 3, 4], 1024))).toEqual(['History Read Mismatch']);
    expect(properties(pacedHistory([], 1024))).toEqual(['History Read Mismatch']);
    // At least 1024 bytes of room, and two of these messages take well under that.
    expect(properties(pacedHistory([1], 2048))).toEqual(['History Read Mismatch']);
  });

  it('keeps the budget through a JSON round trip, and refuses a bad one', () => {
    const history = pacedHistory([1, 2, 3], 1024);
    expect(historyFromJSON(historyToJSON(history)).outputBytesMax).toBe(1024);
    const bad = historyToJSON(history).replace('"outputBytesMax": 1024', '"outputBytesMax": -1');
    expect(() => historyFromJSON(bad)).toThrow(/outputBytesMax must be a positive integer/);
  });
});
