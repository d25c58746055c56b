import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

// DESIGN.md: the cores are pure. Time enters as ticks, randomness as a seeded
// source handed to a constructor, and I/O through the driver. This test reads
// every core source file and fails on anything that reaches past that.

const CORE_FOLDERS = ['src/raft', 'src/broker', 'src/clock', 'src/node', 'src/protocol', 'src/storage'];

const FORBIDDEN: readonly { pattern: RegExp; why: string }[] = [
  { pattern: /\bDate\.now\b|\bnew Date\b/, why: 'reads the wall clock' },
  { pattern: /\bperformance\.now\b/, why: 'reads the wall clock' },
  { pattern: /\bMath\.random\b/, why: 'uses global randomness' },
  { pattern: /\bcrypto\.(getRandomValues|randomUUID|randomBytes)\b/, why: 'uses global randomness' },
  { pattern: /\b(setTimeout|setInterval|setImmediate|queueMicrotask)\b/, why: 'uses a timer' },
  { pattern: /\bprocess\./, why: 'touches the process' },
  { pattern: /from\s+['"]node:|require\(|import\(\s*['"]/, why: 'imports a Node module or loads code at run time' },
  { pattern: /from\s+['"](fs|net|os|path|child_process|http|https|dgram|worker_threads|timers|seedrandom)['"]/, why: 'imports an I/O or randomness module' },
  { pattern: /\bfetch\(|\bWebSocket\b/, why: 'does network I/O' },
];

/** The offending lines of one source text, ignoring comment lines. */
export function impureLines(source: string): { line: number; text: string; why: string }[] {
  const found: { line: number; text: string; why: string }[] = [];
  source.split('\n').forEach((text, index) => {
    const trimmed = text.trim();
    if (trimmed.startsWith('//') || trimmed.startsWith('*') || trimmed.startsWith('/*')) return;
    for (const rule of FORBIDDEN) {
      if (rule.pattern.test(text)) found.push({ line: index + 1, text: trimmed, why: rule.why });
    }
  });
  return found;
}

function sourceFiles(folder: string): string[] {
  let entries: string[];
  try {
    entries = readdirSync(folder);
  } catch {
    return [];
  }
  return entries.flatMap((name) => {
    const path = join(folder, name);
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return path.endsWith('.ts') ? [path] : [];
  });
}

describe('purity of the cores', () => {
  it('finds no clock, randomness, timer, process or I/O use in any core file', () => {
    const root = process.cwd();
    const files = CORE_FOLDERS.flatMap((folder) => sourceFiles(join(root, folder)));
    expect(files.length).toBeGreaterThan(0);
    const offences = files.flatMap((file) =>
      impureLines(readFileSync(file, 'utf8')).map((hit) => `${relative(root, file)}:${hit.line} ${hit.why}: ${hit.text}`),
    );
    expect(offences).toEqual([]);
  });

  it('the scan itself flags each kind of impurity (so it can fail)', () => {
    const samples = [
      'const now = Date.now();',
      'const t = performance.now();',
      'const r = Math.random();',
      'setTimeout(() => {}, 1);',
      "import { readFileSync } from 'node:fs';",
      'const cwd = process.cwd();',
      "import seedrandom from 'seedrandom';",
    ];
    for (const sample of samples) expect(impureLines(sample), sample).toHaveLength(1);
    expect(impureLines('// Date.now() is mentioned in a comment only')).toEqual([]);
  });
});
