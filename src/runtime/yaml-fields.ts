// Reading YAML files people write (cluster.yaml, scenarios) field by field:
// every problem is collected, not just the first, and each names the file,
// the line and the field, e.g. `cluster.yaml:9: nodes[1].clientPort: must be
// an integer from 1 to 65535, got 0`.

import { LineCounter, parseDocument, type Document } from 'yaml';

export class YamlFieldError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(problems.join('\n'));
    this.name = 'YamlFieldError';
  }
}

export type FieldPath = readonly (string | number)[];

/** Parses YAML text; syntax errors throw YamlFieldError with their lines. */
export function parseYamlFields(text: string, file: string): { reader: FieldReader; root: unknown } {
  const lineCounter = new LineCounter();
  const document = parseDocument(text, { lineCounter, prettyErrors: false });
  if (document.errors.length > 0) {
    throw new YamlFieldError(document.errors.map((error) => `${file}:${lineCounter.linePos(error.pos[0]).line}: ${error.message.split('\n')[0]}`));
  }
  return { reader: new FieldReader(file, document, lineCounter), root: document.toJS() };
}

/** Reads fields, collecting every problem with the line it is on. */
export class FieldReader {
  private readonly problems: string[] = [];

  constructor(
    readonly file: string,
    private readonly document: Document,
    private readonly lineCounter: LineCounter,
  ) {}

  problem(at: FieldPath, message: string): void {
    this.problems.push(`${this.file}:${this.lineOf(at)}: ${formatPath(at)}: ${message}`);
  }

  throwIfProblems(): void {
    if (this.problems.length > 0) throw new YamlFieldError(this.problems);
  }

  unknownKeys(at: FieldPath, value: Record<string, unknown>, known: readonly string[]): void {
    for (const key of Object.keys(value)) {
      if (!known.includes(key)) this.problem([...at, key], `unknown field (known: ${known.join(', ')})`);
    }
  }

  string(at: FieldPath, value: unknown): string {
    if (typeof value === 'string' && value.length > 0) return value;
    this.problem(at, `must be a non-empty string, got ${describe(value)}`);
    return '';
  }

  integer(at: FieldPath, value: unknown, min: number, max: number): number {
    if (typeof value === 'number' && Number.isInteger(value) && value >= min && value <= max) return value;
    this.problem(at, `must be an integer from ${min} to ${max}, got ${describe(value)}`);
    return min;
  }

  /** A mapping over defaults: every key must be a known one, of the default's type. */
  section<T extends object>(at: FieldPath, value: unknown, defaults: T): T {
    if (value === undefined || value === null) return { ...defaults };
    if (typeof value !== 'object' || Array.isArray(value)) {
      this.problem(at, `must be a mapping, got ${describe(value)}`);
      return { ...defaults };
    }
    const fields = value as Record<string, unknown>;
    this.unknownKeys(at, fields, Object.keys(defaults));
    const merged: Record<string, unknown> = { ...(defaults as Record<string, unknown>) };
    for (const [key, field] of Object.entries(fields)) {
      const expected = typeof (defaults as Record<string, unknown>)[key];
      if (expected === 'undefined') continue;
      if (typeof field !== expected) this.problem([...at, key], `must be a ${expected}, got ${describe(field)}`);
      else merged[key] = field;
    }
    return merged as T;
  }

  /** The line of the deepest part of `at` that exists in the file. */
  private lineOf(at: FieldPath): number {
    for (let length = at.length; length >= 0; length--) {
      const node = length === 0 ? this.document.contents : this.document.getIn(at.slice(0, length), true);
      const range = (node as { range?: [number, number, number] } | null | undefined)?.range;
      if (range !== undefined) return this.lineCounter.linePos(range[0]).line;
    }
    return 1;
  }
}

function formatPath(at: FieldPath): string {
  return at.reduce<string>((text, part) => (typeof part === 'number' ? `${text}[${part}]` : text === '' ? part : `${text}.${part}`), '');
}

/** A value as a problem line quotes it: JSON, or "nothing" for a field that is absent. */
export function describe(value: unknown): string {
  if (value === undefined) return 'nothing';
  return JSON.stringify(value) ?? String(value);
}
