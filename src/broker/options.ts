// The limits of the broker's replicated state machine, as named options.
//
// Every replica must apply the log with the SAME options: a limit decides
// whether a publish is stored or rejected, so two replicas with different
// limits would diverge, and a replica restarted with a changed limit would
// replay old commands to a different state. The node core passes one
// cluster-wide value; putting the options in the log is an open question.

/** Longest string the command encoding carries behind a u16 length prefix. */
export const SHORT_STRING_BYTES_MAX = 0xffff;

export interface BrokerOptions {
  /** Bytes of one message's payload. */
  readonly payloadBytesMax: number;
  /** Bytes of one message's header block, as headerBlockBytes() counts them. */
  readonly headerBytesMax: number;
  /** UTF-8 bytes of a topic name. */
  readonly topicNameBytesMax: number;
  /** Streams that may exist at once. */
  readonly streamsMax: number;
  /** UTF-8 bytes of a message id (the Nats-Msg-Id header). */
  readonly msgIdBytesMax: number;
  /**
   * The duplicate window of streams whose config names none (their
   * duplicate_window), in leader milliseconds: how long a message id is
   * remembered from the publish that stored it.
   */
  readonly dedupWindowMs: number;
  /** Message ids one stream remembers at once. A new id beyond this is rejected. */
  readonly dedupEntriesMax: number;
  /** UTF-8 bytes of a durable consumer name. */
  readonly consumerNameBytesMax: number;
  /** Stored (consumer, topic) offsets, over all consumers. */
  readonly consumerOffsetsMax: number;
  /** Messages one history read returns at most; a larger limit is clamped to this. */
  readonly historyMessagesMax: number;
}

/*
 * Defaults: NATS's 2-minute JetStream duplicate window, and a payload limit
 * chosen so that the largest valid Publish still encodes within the Raft
 * core's default commandBytesMax of 1 MiB (test/broker/commands.test.ts checks
 * it with publishEncodedBytesMax).
 */
export const DEFAULT_BROKER_OPTIONS: BrokerOptions = {
  payloadBytesMax: 960 * 1024,
  headerBytesMax: 16 * 1024,
  topicNameBytesMax: 256,
  streamsMax: 1_000,
  msgIdBytesMax: 256,
  dedupWindowMs: 120_000,
  dedupEntriesMax: 1_000_000,
  consumerNameBytesMax: 128,
  consumerOffsetsMax: 100_000,
  historyMessagesMax: 10_000,
};

/** Options are checked once, loudly: a bad option is a programmer error. Returns every problem found. */
export function validateBrokerOptions(options: BrokerOptions): string[] {
  const problems: string[] = [];
  for (const key of Object.keys(DEFAULT_BROKER_OPTIONS) as (keyof BrokerOptions)[]) {
    const value = options[key];
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1) {
      problems.push(`${key} must be a positive safe integer, got ${String(value)}`);
    }
  }
  // These fields travel behind u16 lengths; a limit above that would admit commands we cannot encode.
  const shortStrings: (keyof BrokerOptions)[] = ['topicNameBytesMax', 'msgIdBytesMax', 'consumerNameBytesMax'];
  for (const key of shortStrings) {
    if (options[key] > SHORT_STRING_BYTES_MAX) {
      problems.push(`${key} (${options[key]}) must be at most ${SHORT_STRING_BYTES_MAX}, the u16 length the encoding uses`);
    }
  }
  return problems;
}
