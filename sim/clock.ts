/**
 * A node's local clock in the simulation: an offset from true simulated time and a
 * drift rate, so each node's tick timer fires at its own skewed pace.
 */
export class SimClock {
  constructor(
    public offsetUs: number,
    public driftPpm: number,
  ) {}

  /** The node's reading of its clock at true time `nowUs`. */
  localTimeUs(nowUs: number): number {
    return nowUs * (1 + this.driftPpm / 1_000_000) + this.offsetUs;
  }

  /** True time that passes while the local clock advances by `localUs`. */
  trueDurationUs(localUs: number): number {
    return localUs / (1 + this.driftPpm / 1_000_000);
  }
}
