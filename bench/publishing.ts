// Publishing through the official `nats` client with PubAcks, as the
// real-mode benchmarks measure it: shared by the publish-path comparison and the failover benchmark of bench:real.

import type { NatsConnection } from 'nats';

/** What every benchmark publishes: 128 bytes, as the issue's and nats' own benchmarks do. */
export const BENCH_PAYLOAD = new Uint8Array(128).fill(0x61);

export interface Round {
  readonly rate: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
}

export function percentile(sorted: readonly number[], fraction: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(fraction * sorted.length))]!;
}

/** Publishes `count` messages with `inFlight` publishers each awaiting its PubAck; the rate and the latencies. */
export async function publishRound(nc: NatsConnection, subject: string, count: number, inFlight: number, tag: string): Promise<Round> {
  const js = nc.jetstream();
  const latencies: number[] = [];
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (next < count) {
        const i = next++;
        const sent = performance.now();
        await js.publish(subject, BENCH_PAYLOAD, { msgID: `${tag}-${i}` });
        latencies.push(performance.now() - sent);
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  return { rate: count / seconds, p50Ms: percentile(latencies, 0.5), p99Ms: percentile(latencies, 0.99) };
}
