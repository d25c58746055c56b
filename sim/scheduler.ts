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
 */
export class Scheduler<E extends Scheduled> {
  private readonly heap: E[] = [];
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
    event.time = this.nowValue + Math.floor(delay);
    event.seq = this.nextSeq++;
    const heap = this.heap;
    let index = heap.length;
    heap.push(event);
    while (index > 0) {
      const parentIndex = (index - 1) >> 1;
      const parent = heap[parentIndex]!;
      if (parent.time < event.time || (parent.time === event.time && parent.seq < event.seq)) break;
      heap[index] = parent;
      index = parentIndex;
    }
    heap[index] = event;
    return event;
  }

  /** The time of the next event, or undefined when the queue is empty. */
  peekTime(): number | undefined {
    return this.heap[0]?.time;
  }

  /** Removes the next event and moves the clock to its time. */
  pop(): E | undefined {
    const heap = this.heap;
    const top = heap[0];
    if (top === undefined) return undefined;
    const last = heap.pop()!;
    if (heap.length > 0) this.siftDown(last);
    this.nowValue = top.time;
    return top;
  }

  /** Moves the clock forward with no event, for "run until time T" when the queue is quiet. */
  advanceTo(time: number): void {
    if (time < this.nowValue) throw new Error(`time cannot go back from ${this.nowValue} to ${time}`);
    const next = this.peekTime();
    if (next !== undefined && next < time) throw new Error(`advanceTo(${time}) would skip an event at ${next}`);
    this.nowValue = time;
  }

  private siftDown(event: E): void {
    const heap = this.heap;
    const length = heap.length;
    let index = 0;
    for (;;) {
      let child = 2 * index + 1;
      if (child >= length) break;
      const right = child + 1;
      if (right < length) {
        const a = heap[child]!;
        const b = heap[right]!;
        if (b.time < a.time || (b.time === a.time && b.seq < a.seq)) child = right;
      }
      const smallest = heap[child]!;
      if (event.time < smallest.time || (event.time === smallest.time && event.seq < smallest.seq)) break;
      heap[index] = smallest;
      index = child;
    }
    heap[index] = event;
  }
}
