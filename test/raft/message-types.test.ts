import { describe, expect, it } from 'vitest';
import { appendRequest, appendResponse, heartbeat, heartbeatResponse, timeoutNow, voteRequest, voteResponse } from '../../src/raft/messages.js';
import { RAFT_MESSAGE_TYPE_CODES, RAFT_MESSAGE_TYPES, raftMessageTypeCode, type RaftMessage } from '../../src/raft/types.js';

/** The fields a message really carries: those its builder did not leave undefined. */
function definedKeys(message: RaftMessage): string[] {
  return Object.entries(message)
    .filter(([, value]) => value !== undefined)
    .map(([key]) => key)
    .sort();
}

describe('message types', () => {
  it('the switch and the table give every type the same code', () => {
    for (const type of RAFT_MESSAGE_TYPES) expect(raftMessageTypeCode(type)).toBe(RAFT_MESSAGE_TYPE_CODES[type]);
  });

  it('each builder sets exactly the fields of its type, and all share one key order', () => {
    const header = ['from', 'group', 'term', 'to', 'type'];
    const built: [RaftMessage, string[]][] = [
      [voteRequest(1, 1, 2, 3, true, 4, 5), ['lastLogIndex', 'lastLogTerm', 'preVote', 'transfer']],
      [voteResponse(1, 1, 2, 3, false, true), ['granted', 'preVote']],
      [appendRequest(1, 1, 2, 3, 4, 5, [], 6), ['entries', 'leaderCommit', 'prevLogIndex', 'prevLogTerm']],
      [appendResponse(1, 1, 2, 3, false, 0, 4, 5, 6), ['conflictIndex', 'conflictTerm', 'matchIndex', 'rejectedIndex', 'success']],
      [heartbeat(1, 1, 2, 3, 4, 5), ['commit', 'seq']],
      [heartbeatResponse(1, 1, 2, 3, 4, 5, 6), ['lastIndex', 'lastTerm', 'seq']],
      [timeoutNow(1, 1, 2, 3), []],
    ];
    const order = Object.keys(built[0]![0]);
    for (const [message, fields] of built) {
      expect(definedKeys(message)).toEqual([...header, ...fields].sort());
      expect(Object.keys(message)).toEqual(order);
    }
  });
});
