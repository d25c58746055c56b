// `chorus sim merge`: joins the JSON parts that the shards of one sweep or
// fuzz campaign wrote into what one machine running the whole campaign would
// have printed: one table, one list of failing seeds with their replay
// commands, and one HTML index.

import { mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { UsageError } from './args.js';
import { renderCampaignHtml } from './campaign-html.js';
import { coverageLines, failureCount, fuzzFailureLines, sweepFailureLines, sweepTable, writeFoundScenarios } from './campaign-output.js';
import { mergeParts, PartError, readPart, type MergedCampaign } from './campaign-part.js';
import type { CliIo } from './io.js';

export const MERGE_HELP = `Usage: chorus sim merge <part.json | folder>... [--html FILE] [--found DIR]

Joins the parts that the shards of one campaign wrote ('chorus sim sweep' or
'chorus sim fuzz' with --shard K/N --json FILE) into one table, one list of
failing seeds with the commands that replay them, and an HTML index (default
FILE: reports/campaign.html). A folder stands for every .json file under it.
Parts of different campaigns (another command, seed range, scenario file or
build of chorus) are refused, and so is a set of parts that leaves a shard
out or holds one twice. Fuzz parts carry the scenarios their failing seeds
shrank to; they are written to DIR (default scenarios/found). Exit status 0
when every run passed, 1 when some failed, 2 when the parts cannot be merged.`;

export function simMerge(argv: readonly string[], io: CliIo): number {
  const { values, positionals } = parseArgs({
    args: [...argv],
    options: { html: { type: 'string' }, found: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
    allowPositionals: true,
  });
  if (values.help === true) {
    io.out(MERGE_HELP);
    return 0;
  }
  if (positionals.length === 0) throw new UsageError('merge takes the parts to join: JSON files, or folders holding them');
  const htmlFile = values.html ?? join('reports', 'campaign.html');
  const foundDir = values.found ?? join('scenarios', 'found');
  let merged: MergedCampaign;
  try {
    const files = positionals.flatMap(partFiles);
    merged = mergeParts(files.map((file) => ({ file, part: readPart(file) })));
  } catch (error) {
    if (!(error instanceof PartError)) throw error;
    io.err(`chorus sim merge: ${error.message}`);
    return 2;
  }
  const { from, to } = merged.campaign.seeds;
  const shards = `${merged.shardCount} shard${merged.shardCount === 1 ? '' : 's'}`;
  io.out(`chorus sim merge: sim ${merged.kind} of seeds ${from}..${to} from ${shards}, build ${merged.campaign.build}`);
  const wall = `${(merged.wallMs / 1000).toFixed(1)}s of wall time in all`;
  if (merged.kind === 'sweep') {
    io.out(sweepTable(merged.campaign.scenarios, merged.results));
    for (const line of coverageLines(merged.results)) io.out(line);
    io.out(`${merged.results.length} runs on ${shards}, ${wall}`);
    for (const line of sweepFailureLines(merged.results)) io.out(line);
  } else {
    writeFoundScenarios(foundDir, merged.results);
    for (const line of coverageLines(merged.results)) io.out(line);
    for (const line of fuzzFailureLines(merged.results, foundDir)) io.out(line);
    io.out(`${merged.results.length} seeds fuzzed on ${shards}, ${wall}: ${failureCount(merged.results)}`);
  }
  mkdirSync(dirname(htmlFile), { recursive: true });
  writeFileSync(htmlFile, renderCampaignHtml(merged, foundDir));
  io.out(`HTML index: ${htmlFile}`);
  return merged.results.some((r) => !r.passed) ? 1 : 0;
}

/** A part file as given, or every .json file under a folder, in name order. */
function partFiles(path: string): string[] {
  let isFolder: boolean;
  try {
    isFolder = statSync(path).isDirectory();
  } catch {
    throw new PartError(`${path}: no such file or folder`);
  }
  if (!isFolder) return [path];
  const files = readdirSync(path, { recursive: true, encoding: 'utf8' })
    .filter((name) => name.endsWith('.json'))
    .sort()
    .map((name) => join(path, name));
  if (files.length === 0) throw new PartError(`${path}: a folder without any .json part`);
  return files;
}
