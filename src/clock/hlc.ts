// A hybrid logical clock (Kulkarni, Demirbas, Madappa, Avva and Leone, 2014):
// a timestamp (l, c) where l follows the largest physical time seen, by this
// node or in any message it received, and c orders events that share an l.
// HLC timestamps never go backwards on a node, respect causality (a message's
// receipt is later than its send), and stay within the clock offset of
// physical time, however the physical clocks are skewed.
//
// Pure: physical time comes in as an argument, so the same calls give the
// same timestamps in the simulator and in real mode.

export interface HlcTimestamp {
  /** The physical part, in milliseconds: the largest physical time seen. */
  readonly l: number;
  /** The logical part: events with the same l, in order. */
  readonly c: number;
}

export const HLC_ZERO: HlcTimestamp = { l: 0, c: 0 };

/** Orders two timestamps: negative when a is earlier, 0 when equal, positive when later. */
export function compareHlc(a: HlcTimestamp, b: HlcTimestamp): number {
  return a.l !== b.l ? a.l - b.l : a.c - b.c;
}

export class HybridLogicalClock {
  private current: HlcTimestamp;

  constructor(initial: HlcTimestamp = HLC_ZERO) {
    this.current = initial;
  }

  /** The last timestamp handed out or received. */
  get last(): HlcTimestamp {
    return this.current;
  }

  /** A local event or a send, at physical time `physicalMs`: the paper's send rule. */
  now(physicalMs: number): HlcTimestamp {
    const pt = wholeMs(physicalMs);
    const l = Math.max(this.current.l, pt);
    this.current = { l, c: l === this.current.l ? this.current.c + 1 : 0 };
    return this.current;
  }

  /** Receiving a message stamped `remote` at physical time `physicalMs`: the paper's receive rule. */
  receive(remote: HlcTimestamp, physicalMs: number): HlcTimestamp {
    const pt = wholeMs(physicalMs);
    const local = this.current;
    const l = Math.max(local.l, remote.l, pt);
    let c: number;
    if (l === local.l && l === remote.l) c = Math.max(local.c, remote.c) + 1;
    else if (l === local.l) c = local.c + 1;
    else if (l === remote.l) c = remote.c + 1;
    else c = 0;
    this.current = { l, c };
    return this.current;
  }

  /**
   * Takes in a timestamp without an event of its own (a stamp read from the
   * replicated log): later stamps from this clock will be later than it.
   */
  witness(seen: HlcTimestamp): void {
    if (compareHlc(seen, this.current) > 0) this.current = seen;
  }

  /**
   * The next timestamp later than both this clock and `floor`: what a leader
   * stamps a publish with when the client sent its own timestamp, so the
   * message is ordered after what the client had seen.
   */
  after(floor: HlcTimestamp, physicalMs: number): HlcTimestamp {
    return this.receive(floor, physicalMs);
  }
}

/** Physical readings in whole milliseconds, never below 0: clocks may read fractions, and skewed ones before the epoch. */
function wholeMs(physicalMs: number): number {
  return Number.isFinite(physicalMs) ? Math.max(0, Math.floor(physicalMs)) : 0;
}
