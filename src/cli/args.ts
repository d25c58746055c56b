/** A command-line mistake: printed as a clear message with usage, exit code 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}

const DURATION_UNITS_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Parses durations like `500ms`, `30s`, `2m`, `1h` or `1.5s` into milliseconds. */
export function parseDuration(text: string, optionName: string): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/.exec(text.trim());
  if (match === null) {
    throw new UsageError(`${optionName} must be a duration such as 500ms, 30s, 2m or 1h; got '${text}'`);
  }
  const value = Number(match[1]) * DURATION_UNITS_MS[match[2]!]!;
  if (!(value > 0)) throw new UsageError(`${optionName} must be longer than zero; got '${text}'`);
  return value;
}

/** Parses a whole number within [min, max]. */
export function parseInteger(text: string, optionName: string, min: number, max: number): number {
  if (!/^-?\d+$/.test(text.trim())) throw new UsageError(`${optionName} must be a whole number; got '${text}'`);
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new UsageError(`${optionName} must be from ${min} to ${max}; got ${text}`);
  }
  return value;
}
