// The JSON a sharded `sim sweep` or `sim fuzz` writes (--json FILE), and the
// checks `sim merge` makes before joining parts: that they come from one
// campaign (the same command, seed range, scenario files and build), that
// they were split the same way, and that every shard is there exactly once.

import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { RunCoverage } from '../../sim/coverage.js';
import { formatShard, shardSeeds, type Shard } from './shard.js';

export const PART_FORMAT = 'chorus-campaign-part';
export const PART_VERSION = 1;

export interface CampaignScenario {
  readonly name: string;
  readonly file: string;
  /** SHA-256 of the file's text: an edited scenario is another campaign. */
  readonly sha256: string;
}

/** What makes two parts parts of the same campaign. */
export interface Campaign {
  readonly seeds: { readonly from: number; readonly to: number };
  /** The scenarios a sweep ran, in the order it ran them; empty for fuzz. */
  readonly scenarios: readonly CampaignScenario[];
  readonly build: string;
}

export interface SweepResult {
  readonly scenario: string;
  readonly file: string;
  readonly seed: number;
  readonly passed: boolean;
  readonly traceHash: string;
  /** The first problem of a failed run; empty when it passed. */
  readonly problem: string;
  /** What the run exercised; absent when the run could not be made. */
  readonly coverage?: RunCoverage;
}

export interface FuzzResult {
  readonly seed: number;
  readonly passed: boolean;
  /** The first problem of a failed run; empty when it passed. */
  readonly problem: string;
  /** How many faults the seed drew. */
  readonly faults: number;
  /** What the seed's run exercised (its whole schedule, before shrinking). */
  readonly coverage?: RunCoverage;
  /** For a failed run: its schedule shrunk, as a scenario file's text. */
  readonly shrunk?: { readonly faults: number; readonly runs: number; readonly problem: string; readonly scenarioYaml: string };
}

interface PartCommon {
  readonly format: typeof PART_FORMAT;
  readonly version: typeof PART_VERSION;
  readonly campaign: Campaign;
  readonly shard: Shard;
  /** Wall time the part took, for the merged summary only. */
  readonly wallMs: number;
}

export type CampaignPart = (PartCommon & { readonly kind: 'sweep'; readonly results: readonly SweepResult[] }) | (PartCommon & { readonly kind: 'fuzz'; readonly results: readonly FuzzResult[] });

/** A campaign's parts joined: every result once, in the order an unsharded run reports them. */
export type MergedCampaign =
  | { readonly kind: 'sweep'; readonly campaign: Campaign; readonly shardCount: number; readonly wallMs: number; readonly results: readonly SweepResult[] }
  | { readonly kind: 'fuzz'; readonly campaign: Campaign; readonly shardCount: number; readonly wallMs: number; readonly results: readonly FuzzResult[] };

/** A part that cannot be read or merged; the message names the file and what is wrong. */
export class PartError extends Error {
  override name = 'PartError';
}

export function writePart(file: string, part: CampaignPart): void {
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, `${JSON.stringify(part, null, 1)}\n`);
}

export function readPart(file: string): CampaignPart {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new PartError(`${file}: cannot read: ${(error as Error).message}`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new PartError(`${file}: not JSON; a part is what 'chorus sim sweep --json FILE' or 'chorus sim fuzz --json FILE' writes`);
  }
  const part = value as Partial<CampaignPart> | null;
  if (part === null || typeof part !== 'object' || part.format !== PART_FORMAT) throw new PartError(`${file}: not a chorus campaign part (no "format": "${PART_FORMAT}")`);
  if (part.version !== PART_VERSION) throw new PartError(`${file}: part format version ${String(part.version)}, this chorus reads version ${PART_VERSION}`);
  if ((part.kind !== 'sweep' && part.kind !== 'fuzz') || part.campaign === undefined || part.shard === undefined || !Array.isArray(part.results)) {
    throw new PartError(`${file}: a part needs kind, campaign, shard and results`);
  }
  return part as CampaignPart;
}

/** Sweep results in report order: by scenario as the campaign lists them, then by seed. */
export function sortSweepResults(results: readonly SweepResult[], scenarios: readonly CampaignScenario[]): SweepResult[] {
  const order = new Map(scenarios.map((scenario, index) => [scenario.file, index]));
  return [...results].sort((a, b) => (order.get(a.file) ?? -1) - (order.get(b.file) ?? -1) || a.seed - b.seed);
}

/**
 * Joins the parts of one campaign. Throws PartError naming the files when they
 * come from different campaigns, were split differently, overlap, leave a
 * shard out, or hold other results than their shard's seeds.
 */
export function mergeParts(parts: readonly { readonly file: string; readonly part: CampaignPart }[]): MergedCampaign {
  const first = parts[0];
  if (first === undefined) throw new PartError('no parts to merge');
  for (const other of parts.slice(1)) checkSameCampaign(first, other);
  const shardCount = first.part.shard.count;
  checkShardsComplete(parts, shardCount);
  for (const { file, part } of parts) checkResultsMatchShard(file, part);
  const wallMs = parts.reduce((sum, { part }) => sum + part.wallMs, 0);
  const campaign = first.part.campaign;
  if (first.part.kind === 'sweep') {
    const results = parts.flatMap(({ part }) => (part.kind === 'sweep' ? part.results : []));
    return { kind: 'sweep', campaign, shardCount, wallMs, results: sortSweepResults(results, campaign.scenarios) };
  }
  const results = parts.flatMap(({ part }) => (part.kind === 'fuzz' ? part.results : []));
  return { kind: 'fuzz', campaign, shardCount, wallMs, results: [...results].sort((a, b) => a.seed - b.seed) };
}

type NamedPart = { readonly file: string; readonly part: CampaignPart };

function checkSameCampaign(a: NamedPart, b: NamedPart): void {
  const differ = (what: string, left: string, right: string): PartError =>
    new PartError(`${a.file} and ${b.file} are parts of different campaigns: ${what} ${left} in the first, ${right} in the second`);
  if (a.part.kind !== b.part.kind) throw differ('the command is', `sim ${a.part.kind}`, `sim ${b.part.kind}`);
  const seeds = (part: CampaignPart): string => `${part.campaign.seeds.from}..${part.campaign.seeds.to}`;
  if (seeds(a.part) !== seeds(b.part)) throw differ('the seeds are', seeds(a.part), seeds(b.part));
  const files = (part: CampaignPart): string => part.campaign.scenarios.map((s) => s.file).join(', ') || '(none)';
  if (files(a.part) !== files(b.part)) throw differ('the scenarios are', files(a.part), files(b.part));
  for (const [index, scenario] of a.part.campaign.scenarios.entries()) {
    const theirs = b.part.campaign.scenarios[index]!;
    if (scenario.sha256 !== theirs.sha256) throw differ(`${scenario.file} has`, `content ${scenario.sha256.slice(0, 12)}`, `content ${theirs.sha256.slice(0, 12)}`);
  }
  if (a.part.campaign.build !== b.part.campaign.build) throw differ('the build of chorus is', a.part.campaign.build, b.part.campaign.build);
  if (a.part.shard.count !== b.part.shard.count) throw differ('the number of shards is', String(a.part.shard.count), String(b.part.shard.count));
}

function checkShardsComplete(parts: readonly NamedPart[], count: number): void {
  const byIndex = new Map<number, string>();
  for (const { file, part } of parts) {
    const earlier = byIndex.get(part.shard.index);
    if (earlier !== undefined) throw new PartError(`shard ${formatShard(part.shard)} is given twice: ${earlier} and ${file}`);
    byIndex.set(part.shard.index, file);
  }
  const missing: string[] = [];
  for (let index = 1; index <= count; index++) if (!byIndex.has(index)) missing.push(`${index}/${count}`);
  if (missing.length > 0) throw new PartError(`the campaign has ${count} shards, and ${missing.length === 1 ? `shard ${missing[0]} is` : `shards ${missing.join(', ')} are`} missing`);
}

/** A part must hold exactly one result per seed of its shard (and, for a sweep, per scenario). */
function checkResultsMatchShard(file: string, part: CampaignPart): void {
  const { from, to } = part.campaign.seeds;
  const expected = new Set<string>();
  const seeds = shardSeeds(from, to, part.shard);
  if (part.kind === 'sweep') for (const scenario of part.campaign.scenarios) for (const seed of seeds) expected.add(`${scenario.file} ${seed}`);
  else for (const seed of seeds) expected.add(String(seed));
  const seen = part.kind === 'sweep' ? part.results.map((r) => `${r.file} ${r.seed}`) : part.results.map((r) => String(r.seed));
  const unique = new Set(seen);
  const complete = unique.size === seen.length && unique.size === expected.size && [...unique].every((key) => expected.has(key));
  if (!complete) throw new PartError(`${file}: its ${seen.length} results are not the ${expected.size} runs of shard ${formatShard(part.shard)} of seeds ${from}..${to}; run that shard again`);
}
