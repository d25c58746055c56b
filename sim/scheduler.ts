/** Anything the scheduler orders: by time, then by the order it was scheduled in. */
export interface Scheduled {
  /** Simulated time in microseconds. */
  time: number;
  /** Assigned by the scheduler; breaks ties so that equal times run in scheduling order. */
  seq: number;
}

/**
 * The discrete-event queue: a binary min-heap ordered by (time, seq). Because seq
 * is unique and increasing, the order of events is total and so is the run.
 *
 * The keys live beside the heap in typed arrays, slot for slot: comparing them
 * there reads raw doubles, while an event's own time field, once it outgrows a
 * small integer (after about 18 simulated minutes), is a boxed number. Events
 * still carry their time and seq for everyone else to read.
 */
export class Scheduler<E extends Scheduled> {
  private readonly heap: E[] = [];
  private times = new Float64Array(256);
  private seqs = new Float64Array(256);
  private nextSeq = 0;
  /** Invariant: never decreases; every queued event has time >= now. */
  private nowValue = 0;

  now(): number {
    return this.nowValue;
  }

  size(): number {
    return this.heap.length;
  }

  /** Queues an event `delay` microseconds from now (rounded down to whole microseconds). */
  schedule(event: E, delay: number): E {
    if (!(delay >= 0)) throw new Error(`schedule with a negative or NaN delay: ${delay}`);
    const time = this.nowValue + Math.floor(delay);
    const seq = this.nextSeq++;
    event.time = time;
    event.seq = seq;
    const heap = this.heap;
    let index = heap.length;
    if (index === this.times.length) this.grow();
    const times = this.times;
    const seqs = this.seqs;
    heap.push(event);
    while (index > 0) {
      const parentIndex = (index - 1) >> 1;
      const parentTime = times[parentIndex]!;
      if (parentTime < time || (parentTime === time && seqs[parentIndex]! < seq)) break;
      heap[index] = heap[parentIndex]!;
      times[index] = parentTime;
      seqs[index] = seqs[parentIndex]!;
      index = parentIndex;
    }
    heap[index] = event;
    times[index] = time;
    seqs[index] = seq;
    return event;
  }

  /** The time of the next event, or undefined when the queue is empty. */
  peekTime(): number | undefined {
    return this.heap.length === 0 ? undefined : this.times[0];
  }

  /** Removes the next event and moves the clock to its time. */
  pop(): E | undefined {
    const heap = this.heap;
    const top = heap[0];
    if (top === undefined) return undefined;
    this.nowValue = this.times[0]!;
    const last = heap.pop()!;
    const length = heap.length;
    if (length > 0) this.siftDown(last, this.times[length]!, this.seqs[length]!);
    return top;
  }

  /** Moves the clock forward with no event, for "run until time T" when the queue is quiet. */
  advanceTo(time: number): void {
    if (time < this.nowValue) throw new Error(`time cannot go back from ${this.nowValue} to ${time}`);
    const next = this.peekTime();
    if (next !== undefined && next < time) throw new Error(`advanceTo(${time}) would skip an event at ${next}`);
    this.nowValue = time;
  }

  /** Puts `event`, whose keys are (time, seq), into the hole at the root and sifts it down. */
  private siftDown(event: E, time: number, seq: number): void {
    const heap = this.heap;
    const times = this.times;
    const seqs = this.seqs;
    const length = heap.length;
    let index = 0;
    for (;;) {
      let child = 2 * index + 1;
      if (child >= length) break;
      const right = child + 1;
      if (right < length) {
        const a = times[child]!;
        const b = times[right]!;
        if (b < a || (b === a && seqs[right]! < seqs[child]!)) child = right;
      }
      const childTime = times[child]!;
      if (time < childTime || (time === childTime && seq < seqs[child]!)) break;
      heap[index] = heap[child]!;
      times[index] = childTime;
      seqs[index] = seqs[child]!;
      index = child;
    }
    heap[index] = event;
    times[index] = time;
    seqs[index] = seq;
  }

  private grow(): void {
    const times = new Float64Array(this.times.length * 2);
    times.set(this.times);
    this.times = times;
    const seqs = new Float64Array(this.seqs.length * 2);
    seqs.set(this.seqs);
    this.seqs = seqs;
  }
}
