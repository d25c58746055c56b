// The state machine stores only subjects a stream captures. Most tests of
// offsets, dedup and consumers speak of topics; this gives each topic a stream
// of its own on first use, as the simulator's workload does, so that a topic's
// offsets (its stream's sequences) count 1, 2, 3 as those tests expect.

import type { BrokerCommand } from '../../src/broker/commands.js';
import type { ApplyResult, BrokerStateMachine } from '../../src/broker/state-machine.js';
import { streamConfigWithDefaults } from '../../src/broker/stream-config.js';

/** The stream a topic gets: named after it, upper-cased, '.' as '_'. */
export function topicStreamName(topic: string): string {
  return topic.toUpperCase().replaceAll('.', '_');
}

const PLAIN_TOPIC = /^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/;

function topicStream(topic: string, duplicateWindowMs: number): BrokerCommand {
  return { type: 'StreamCreate', config: streamConfigWithDefaults({ name: topicStreamName(topic), subjects: [topic], duplicateWindowMs }, 3) };
}

/**
 * Applies `command` at the next index, creating its topic's stream first (at
 * the index before) if none captures it. A creation the state machine refuses
 * (streamsMax) leaves the command to meet its own refusal.
 */
export function applyWithTopicStream(machine: BrokerStateMachine, command: BrokerCommand): ApplyResult {
  if ((command.type === 'Publish' || command.type === 'ConsumerAck') && machine.streamFor(command.topic) === undefined && PLAIN_TOPIC.test(command.topic)) {
    machine.apply(machine.appliedIndex + 1, topicStream(command.topic, machine.options.dedupWindowMs));
  }
  return machine.apply(machine.appliedIndex + 1, command);
}

/** The same commands with a StreamCreate for each plain topic before its first use, as one log for several replicas. */
export function withTopicStreams(commands: readonly BrokerCommand[], duplicateWindowMs: number): BrokerCommand[] {
  const seen = new Set<string>();
  const log: BrokerCommand[] = [];
  for (const command of commands) {
    if ((command.type === 'Publish' || command.type === 'ConsumerAck') && !seen.has(command.topic) && PLAIN_TOPIC.test(command.topic)) {
      seen.add(command.topic);
      log.push(topicStream(command.topic, duplicateWindowMs));
    }
    log.push(command);
  }
  return log;
}
