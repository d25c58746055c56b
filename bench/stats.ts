import * as path from 'node:path';

/** The median of a list of numbers; benchmarks quote medians because these machines are noisy. */
export function median(values: readonly number[]): number {
  if (values.length === 0) throw new Error('median of nothing');
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

export function formatRate(perSecond: number): string {
  if (perSecond >= 1e6) return `${(perSecond / 1e6).toFixed(2)} M`;
  if (perSecond >= 1e3) return `${(perSecond / 1e3).toFixed(1)} k`;
  return perSecond.toFixed(1);
}

/** A mistake on a benchmark's command line, reported without a stack trace. */
export class OptionError extends Error {}

/**
 * Reads a benchmark's `--name value` options. Every name must be a key of
 * `integers` (positive integers, with those defaults) or one of `strings`; a
 * misspelt or unknown option is an error rather than ignored, since ignoring it
 * would run a long benchmark on defaults nobody asked for.
 */
export function parseOptions<I extends string, S extends string = never>(
  argv: readonly string[],
  integers: Record<I, number>,
  strings: readonly S[] = [],
): Record<I, number> & Partial<Record<S, string>> {
  const known = [...Object.keys(integers), ...strings];
  const values: Record<string, number | string> = { ...integers };
  for (let i = 0; i < argv.length; i += 2) {
    const flag = argv[i]!;
    const name = flag.startsWith('--') ? flag.slice(2) : undefined;
    if (name === undefined || !known.includes(name)) {
      throw new OptionError(`unknown option ${JSON.stringify(flag)}; the options are ${known.map((option) => `--${option}`).join(', ')}`);
    }
    const value = argv[i + 1];
    if (value === undefined || value.startsWith('--')) throw new OptionError(`--${name} needs a value`);
    if ((strings as readonly string[]).includes(name)) {
      values[name] = value;
      continue;
    }
    const number = Number(value);
    if (!/^[0-9]+$/.test(value) || !Number.isSafeInteger(number) || number < 1) {
      throw new OptionError(`--${name} must be a positive integer, got ${JSON.stringify(value)}`);
    }
    values[name] = number;
  }
  return values as Record<I, number> & Partial<Record<S, string>>;
}

/** Ends a benchmark over a mistake on its command line: the script's name and what is wrong, status 2. */
export function exitWithUsageError(message: string): never {
  console.error(`${path.basename(process.argv[1] ?? 'bench')}: ${message}`);
  process.exit(2);
}

/**
 * parseOptions over this process's arguments; a mistake prints what is wrong
 * and exits with status 2.
 */
export function readOptions<I extends string, S extends string = never>(
  integers: Record<I, number>,
  strings: readonly S[] = [],
): Record<I, number> & Partial<Record<S, string>> {
  try {
    return parseOptions(process.argv.slice(2), integers, strings);
  } catch (error) {
    if (!(error instanceof OptionError)) throw error;
    exitWithUsageError(error.message);
  }
}
