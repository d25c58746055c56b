// The scheduler's raw speed: events scheduled and popped per second with a queue
// that holds about as many pending events as a busy simulated cluster does.
import { SimRandom } from '../sim/random.js';
import { Scheduler, type Scheduled } from '../sim/scheduler.js';
import { formatRate, median, readOptions } from './stats.js';

interface RawEvent extends Scheduled {
  node: number;
}

function runOnce(eventCount: number, pending: number, random: SimRandom): number {
  const scheduler = new Scheduler<RawEvent>();
  for (let i = 0; i < pending; i++) scheduler.schedule({ time: 0, seq: 0, node: i }, random.between(0, 10_000));
  // Delays are drawn up front so that the timed loop measures the queue, not the PRNG.
  const delays = new Float64Array(4096);
  for (let i = 0; i < delays.length; i++) delays[i] = random.between(0, 10_000);
  const started = performance.now();
  for (let i = 0; i < eventCount; i++) {
    const event = scheduler.pop()!;
    scheduler.schedule(event, delays[i & 4095]!);
  }
  return eventCount / ((performance.now() - started) / 1000);
}

const { runs, events, pending } = readOptions({ runs: 7, events: 5_000_000, pending: 1000 });
const random = SimRandom.stream(1, 'bench');
runOnce(events / 5, pending, random);
const rates: number[] = [];
for (let run = 0; run < runs; run++) rates.push(runOnce(events, pending, random));
console.log(`scheduler: ${events} events per run with ${pending} pending, ${runs} runs`);
console.log(`  runs:   ${rates.map((rate) => formatRate(rate)).join(', ')} events/s`);
console.log(`  median: ${formatRate(median(rates))} raw events per second (target >= 5 M)`);
