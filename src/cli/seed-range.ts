import { UsageError } from './args.js';

/** `A..B`, both whole numbers, A <= B. */
export function parseSeedRange(text: string): { from: number; to: number } {
  const match = /^(\d+)\.\.(\d+)$/.exec(text);
  if (match === null) throw new UsageError(`--seeds must be a range A..B, got '${text}'`);
  const [from, to] = [Number(match[1]), Number(match[2])];
  if (to < from) throw new UsageError(`--seeds ${from}..${to} is empty`);
  return { from, to };
}
