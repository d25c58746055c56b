// A strict reader of Prometheus's text exposition format (version 0.0.4), so
// that a test can tell a scrape that Prometheus would take from one it would
// refuse: every sample belongs to a family declared by a TYPE line before it,
// names and labels follow the format's grammar, values are numbers, and a
// histogram has its _bucket, _sum and _count series with a +Inf bucket equal
// to its count. It throws on the first line that breaks a rule, naming it.

export type MetricType = 'counter' | 'gauge' | 'histogram' | 'summary' | 'untyped';

export interface Sample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

export interface Family {
  readonly name: string;
  readonly type: MetricType;
  readonly help: string;
  readonly samples: Sample[];
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const TYPES: readonly string[] = ['counter', 'gauge', 'histogram', 'summary', 'untyped'];

export function parsePrometheusText(text: string): Map<string, Family> {
  const families = new Map<string, Family>();
  if (text.length > 0 && !text.endsWith('\n')) throw new Error('the exposition does not end with a newline');
  const lines = text.split('\n').slice(0, -1);
  lines.forEach((line, index) => {
    const at = `line ${index + 1} (${JSON.stringify(line.slice(0, 80))})`;
    if (line.trim() === '') return;
    if (line.startsWith('#')) return readComment(line, at, families);
    const sample = readSample(line, at);
    const family = familyOf(sample.name, families);
    if (family === undefined) throw new Error(`${at}: sample ${sample.name} has no TYPE line before it`);
    family.samples.push(sample);
  });
  for (const family of families.values()) if (family.type === 'histogram') checkHistogram(family);
  return families;
}

/** The value of the one sample of `name` whose labels include `labels`; throws unless exactly one matches. */
export function sampleValue(families: Map<string, Family>, name: string, labels: Readonly<Record<string, string>> = {}): number {
  const family = familyOf(name, families);
  const matching = (family?.samples ?? []).filter((sample) => sample.name === name && Object.entries(labels).every(([key, value]) => sample.labels[key] === value));
  if (matching.length !== 1) throw new Error(`${matching.length} samples of ${name} ${JSON.stringify(labels)}, expected one`);
  return matching[0]!.value;
}

function readComment(line: string, at: string, families: Map<string, Family>): void {
  const parts = /^# (HELP|TYPE) (\S+) ?(.*)$/.exec(line);
  if (parts === null) return; // Other comments are allowed and mean nothing.
  const [, kind, name, rest] = parts as unknown as [string, string, string, string];
  if (!METRIC_NAME.test(name)) throw new Error(`${at}: bad metric name ${name}`);
  const existing = families.get(name);
  if (kind === 'TYPE') {
    if (!TYPES.includes(rest)) throw new Error(`${at}: unknown type ${rest}`);
    if (existing !== undefined && existing.samples.length > 0) throw new Error(`${at}: TYPE of ${name} after its samples`);
    families.set(name, { name, type: rest as MetricType, help: existing?.help ?? '', samples: existing?.samples ?? [] });
  } else {
    families.set(name, { name, type: existing?.type ?? 'untyped', help: rest, samples: existing?.samples ?? [] });
  }
}

function readSample(line: string, at: string): Sample {
  const head = /^([a-zA-Z_:][a-zA-Z0-9_:]*)/.exec(line);
  if (head === null) throw new Error(`${at}: no metric name`);
  const name = head[1]!;
  let rest = line.slice(name.length);
  const labels: Record<string, string> = {};
  if (rest.startsWith('{')) {
    const end = readLabels(rest, labels, at);
    rest = rest.slice(end);
  }
  const fields = rest.trim().split(/\s+/);
  if (!rest.startsWith(' ') || fields.length < 1 || fields.length > 2) throw new Error(`${at}: expected a value (and optionally a timestamp) after the name`);
  const value = readValue(fields[0]!, at);
  if (fields.length === 2 && !/^-?\d+$/.test(fields[1]!)) throw new Error(`${at}: bad timestamp ${fields[1]}`);
  return { name, labels, value };
}

/** Reads `{a="x",b="y"}` at the start of `text` into `labels`; returns where it ends. */
function readLabels(text: string, labels: Record<string, string>, at: string): number {
  let position = 1;
  while (text[position] !== '}') {
    const name = /^([^=]+)="/.exec(text.slice(position));
    if (name === null || !LABEL_NAME.test(name[1]!)) throw new Error(`${at}: bad label at ${JSON.stringify(text.slice(position, position + 20))}`);
    position += name[0].length;
    let value = '';
    for (;;) {
      const char = text[position];
      if (char === undefined) throw new Error(`${at}: unterminated label value`);
      position++;
      if (char === '"') break;
      if (char === '\\') {
        const escaped = text[position++];
        if (escaped === 'n') value += '\n';
        else if (escaped === '\\' || escaped === '"') value += escaped;
        else throw new Error(`${at}: bad escape \\${escaped ?? ''}`);
      } else {
        value += char;
      }
    }
    if (name[1]! in labels) throw new Error(`${at}: label ${name[1]} twice`);
    labels[name[1]!] = value;
    if (text[position] === ',') position++;
    else if (text[position] !== '}') throw new Error(`${at}: expected , or } after a label`);
  }
  return position + 1;
}

function readValue(text: string, at: string): number {
  if (text === '+Inf') return Infinity;
  if (text === '-Inf') return -Infinity;
  if (text === 'NaN') return NaN;
  if (!/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(text)) throw new Error(`${at}: bad value ${text}`);
  return Number(text);
}

/** The family a sample belongs to: its own name, or a histogram's or summary's with the suffix taken off. */
function familyOf(name: string, families: Map<string, Family>): Family | undefined {
  const own = families.get(name);
  if (own !== undefined) return own;
  for (const suffix of ['_bucket', '_sum', '_count']) {
    if (!name.endsWith(suffix)) continue;
    const family = families.get(name.slice(0, -suffix.length));
    if (family !== undefined && (family.type === 'histogram' || (family.type === 'summary' && suffix !== '_bucket'))) return family;
  }
  return undefined;
}

function checkHistogram(family: Family): void {
  const series = new Map<string, { buckets: { le: number; count: number }[]; count?: number; sum?: number }>();
  for (const sample of family.samples) {
    const { le, ...rest } = sample.labels;
    const key = JSON.stringify(Object.entries(rest).sort());
    const entry = series.get(key) ?? { buckets: [] };
    series.set(key, entry);
    if (sample.name === `${family.name}_bucket`) {
      if (le === undefined) throw new Error(`${family.name}: a bucket without le`);
      entry.buckets.push({ le: readValue(le, family.name), count: sample.value });
    } else if (sample.name === `${family.name}_count`) entry.count = sample.value;
    else if (sample.name === `${family.name}_sum`) entry.sum = sample.value;
    else throw new Error(`${family.name}: ${sample.name} is not a histogram series`);
  }
  for (const [key, entry] of series) {
    const inf = entry.buckets.find((bucket) => bucket.le === Infinity);
    if (inf === undefined || entry.count === undefined || entry.sum === undefined) throw new Error(`${family.name} ${key}: needs a +Inf bucket, _count and _sum`);
    if (inf.count !== entry.count) throw new Error(`${family.name} ${key}: the +Inf bucket (${inf.count}) is not the count (${entry.count})`);
    const sorted = [...entry.buckets].sort((a, b) => a.le - b.le);
    for (let i = 1; i < sorted.length; i++) {
      if (sorted[i]!.count < sorted[i - 1]!.count) throw new Error(`${family.name} ${key}: buckets are not cumulative`);
    }
  }
}
